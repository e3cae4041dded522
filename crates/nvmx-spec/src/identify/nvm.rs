//! The I/O command set specific Identify Controller and Namespace data
//! structures of the NVM command set (CNS 0x06 and 0x05, CSI 0x00).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, zeroed_default};
use crate::pi::PiFormat;

/// I/O command set specific Identify Controller data structure for the NVM
/// command set (NVM command set 1.0, "I/O Command Set Specific Identify Controller"):
/// CNS 0x06, CSI 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNvmController {
    /// Verify size limit (VSL), a power of two in units of CAP.MPSMIN; 0 = no limit.
    pub vsl: u8,
    /// Write Zeroes size limit (WZSL), as for `vsl`.
    pub wzsl: u8,
    /// Write Uncorrectable size limit (WUSL), as for `vsl`.
    pub wusl: u8,
    /// Dataset Management ranges limit (DMRL); 0 = no limit reported.
    pub dmrl: u8,
    /// Dataset Management range size limit in logical blocks (DMRSL).
    pub dmrsl: u32,
    /// Dataset Management size limit in logical blocks (DMSL).
    pub dmsl: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd16: [u8; 4080],
}

const _: () = assert!(core::mem::size_of::<IdentifyNvmController>() == IDENTIFY_NBYTES);

/// An extended LBA format (ELBAF) entry of [`IdentifyNvmNamespace`]
/// (NVM command set 1.0, figure "Extended LBA Format Data Structure"), decoded.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct ElbaFormat(pub u32);

impl ElbaFormat {
    /// Storage tag size in bits (STS, bits 6:0).
    pub const fn sts(self) -> u8 {
        (self.0 & 0x7f) as u8
    }

    /// Protection information format (PIF, bits 8:7).
    pub const fn pif(self) -> PiFormat {
        PiFormat(((self.0 >> 7) & 0x3) as u8)
    }
}

/// I/O command set specific Identify Namespace data structure for the NVM
/// command set (NVM command set 1.0, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNvmNamespace {
    /// Logical block storage tag mask (LBSTM).
    pub lbstm: u64,
    /// Protection information capabilities (PIC).
    pub pic: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd9: [u8; 3],
    /// Extended LBA formats 0 to 63, parallel to [`IdentifyNamespace::lbaf`](super::IdentifyNamespace::lbaf).
    #[serde(serialize_with = "ser::seq")]
    pub elbaf: [u32; 64],
    #[serde(skip)]
    /// Reserved.
    pub rsvd268: [u8; 3828],
}

const _: () = assert!(core::mem::size_of::<IdentifyNvmNamespace>() == IDENTIFY_NBYTES);

impl IdentifyNvmNamespace {
    /// The extended LBA format at `index`, decoded.
    pub const fn elba_format(&self, index: usize) -> ElbaFormat {
        ElbaFormat(self.elbaf[index & 0x3f])
    }

    /// Whether the 16b guard protection information format is supported (PIC bit 0).
    pub const fn supports_16b_guard(&self) -> bool {
        self.pic & 0x1 != 0
    }

    /// Whether storage tag check read is supported (PIC bit 1).
    pub const fn supports_stc_read(&self) -> bool {
        self.pic & 0x2 != 0
    }
}

zeroed_default!(IdentifyNvmController, IdentifyNvmNamespace);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn command_set_specific_offsets_match_their_specs() {
        // NVM command set 1.0: I/O command set specific controller and namespace.
        assert_eq!(offset_of!(IdentifyNvmController, dmrl), 3);
        assert_eq!(offset_of!(IdentifyNvmController, dmrsl), 4);
        assert_eq!(offset_of!(IdentifyNvmController, dmsl), 8);
        assert_eq!(offset_of!(IdentifyNvmNamespace, pic), 8);
        assert_eq!(offset_of!(IdentifyNvmNamespace, elbaf), 12);
    }

    #[test]
    fn elbaf_decodes_storage_tag_size_and_pi_format() {
        let f = ElbaFormat(0x2 << 7 | 16);
        assert_eq!(f.sts(), 16);
        assert_eq!(f.pif(), PiFormat::GUARD64);
    }
}
