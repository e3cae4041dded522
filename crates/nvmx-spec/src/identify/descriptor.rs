//! Namespace identification descriptors (CNS 0x03) and their walker.

use core::fmt;

use serde::Serialize;

use crate::opcode::{Csi, open_enum};

open_enum! {
    /// Namespace identifier types (NIDT) of a namespace identification
    /// descriptor (NVMe 2.0 base, figure "Namespace Identifier Type Values").
    NsIdType: u8 {
        /// IEEE extended unique identifier, 8 bytes.
        EUI64 = 0x1, "EUI64";
        /// Namespace globally unique identifier, 16 bytes.
        NGUID = 0x2, "NGUID";
        /// Namespace UUID, 16 bytes.
        UUID = 0x3, "UUID";
        /// Command set identifier, 1 byte.
        CSI = 0x4, "CSI";
    }
}

/// One namespace identification descriptor from a CNS 0x03 list,
/// borrowing its identifier bytes from the buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct NsIdDescriptor<'a> {
    /// Namespace identifier type (NIDT).
    pub nidt: NsIdType,
    /// Namespace identifier (NID), `NIDL` bytes long.
    #[serde(serialize_with = "ser_nid")]
    pub nid: &'a [u8],
}

fn ser_nid<S: serde::Serializer>(nid: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    struct Hex<'a>(&'a [u8]);
    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
    s.collect_str(&Hex(nid))
}

impl NsIdDescriptor<'_> {
    /// The command set identifier, if this is a CSI descriptor.
    pub fn csi(&self) -> Option<Csi> {
        match (self.nidt, self.nid) {
            (NsIdType::CSI, [csi, ..]) => Some(Csi(*csi)),
            _ => None,
        }
    }

    /// The 16-byte identifier, if this is an NGUID or UUID descriptor.
    pub fn id16(&self) -> Option<[u8; 16]> {
        match self.nidt {
            NsIdType::NGUID | NsIdType::UUID => self.nid.try_into().ok(),
            _ => None,
        }
    }

    /// The 8-byte identifier, if this is an EUI64 descriptor.
    pub fn eui64(&self) -> Option<[u8; 8]> {
        match self.nidt {
            NsIdType::EUI64 => self.nid.try_into().ok(),
            _ => None,
        }
    }
}

/// Walks a namespace identification descriptor list (CNS 0x03) without
/// allocating. Iteration stops at a descriptor of type 0, or at the first
/// descriptor that does not fit in the buffer.
#[derive(Clone, Debug)]
pub struct NsIdDescriptorIter<'a> {
    buf: &'a [u8],
}

impl<'a> NsIdDescriptorIter<'a> {
    /// Iterates the descriptors in `buf` (normally the 4096-byte Identify buffer).
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
}

impl<'a> Iterator for NsIdDescriptorIter<'a> {
    type Item = NsIdDescriptor<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // Header: NIDT (byte 0), NIDL (byte 1), two reserved bytes.
        let (&[nidt, nidl, _, _], rest) = self.buf.split_first_chunk::<4>()?;
        if nidt == 0 || rest.len() < nidl as usize {
            self.buf = &[];
            return None;
        }
        let (nid, rest) = rest.split_at(nidl as usize);
        self.buf = rest;
        Some(NsIdDescriptor {
            nidt: NsIdType(nidt),
            nid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_id_descriptors_are_walked_without_allocation() {
        let mut buf = [0u8; 64];
        buf[0] = 3; // UUID
        buf[1] = 16;
        buf[4..20].copy_from_slice(&[0xab; 16]);
        buf[20] = 4; // CSI
        buf[21] = 1;
        buf[24] = 2;
        let descs: std::vec::Vec<_> = NsIdDescriptorIter::new(&buf).collect();
        assert_eq!(descs.len(), 2);
        assert_eq!(descs[0].nidt, NsIdType::UUID);
        assert_eq!(descs[0].id16(), Some([0xab; 16]));
        assert_eq!(descs[1].csi(), Some(Csi::ZONED));
        // A descriptor claiming more bytes than remain ends the walk.
        let truncated = [2u8, 16, 0, 0, 1, 2];
        assert_eq!(NsIdDescriptorIter::new(&truncated).count(), 0);
    }
}
