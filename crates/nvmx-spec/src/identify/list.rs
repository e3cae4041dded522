//! The identifier lists Identify returns: namespace ID lists and controller
//! lists.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, zeroed_default};

/// A namespace ID list (CNS 0x02, 0x07, 0x10, 0x1A; also the Changed
/// Namespace List log page): up to 1024 NSIDs in increasing order, ended
/// by the first zero entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NamespaceList {
    /// The NSIDs; entries after the first zero are unused.
    pub nsid: [u32; 1024],
}

const _: () = assert!(core::mem::size_of::<NamespaceList>() == IDENTIFY_NBYTES);

impl NamespaceList {
    /// The listed NSIDs, up to the first zero entry.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.nsid.iter().copied().take_while(|&id| id != 0)
    }

    /// Number of listed NSIDs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no NSID is listed.
    pub const fn is_empty(&self) -> bool {
        self.nsid[0] == 0
    }
}

impl Serialize for NamespaceList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A controller list (CNS 0x12, 0x13; NVMe 2.0 base, figure "Controller List Format"): a count
/// followed by up to 2047 controller identifiers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ControllerList {
    /// Number of identifiers (NUMID).
    pub numid: u16,
    /// Controller identifiers; only the first `numid` are valid.
    pub ids: [u16; 2047],
}

const _: () = assert!(core::mem::size_of::<ControllerList>() == IDENTIFY_NBYTES);

impl ControllerList {
    /// The valid controller identifiers.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..(self.numid as usize).min(2047)]
    }
}

impl Serialize for ControllerList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids())
    }
}

zeroed_default!(NamespaceList, ControllerList);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_list_stops_at_first_zero() {
        let mut list = NamespaceList::default();
        assert!(list.is_empty());
        list.nsid[..3].copy_from_slice(&[1, 2, 7]);
        list.nsid[5] = 9; // after the terminator: ignored
        assert_eq!(list.len(), 3);
        assert_eq!(serde_json::to_string(&list).unwrap(), "[1,2,7]");
    }

    #[test]
    fn controller_list_exposes_numid_entries() {
        let mut raw = [0u8; 4096];
        raw[0..2].copy_from_slice(&2u16.to_le_bytes());
        raw[2..4].copy_from_slice(&0x41u16.to_le_bytes());
        raw[4..6].copy_from_slice(&0x42u16.to_le_bytes());
        let l = ControllerList::read_from_bytes(&raw[..]).unwrap();
        assert_eq!(l.ids(), &[0x41, 0x42]);
    }
}
