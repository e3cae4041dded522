//! The I/O command set specific Identify Controller and Namespace data
//! structures of the Zoned Namespace command set (CNS 0x06 and 0x05, CSI 0x02).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, zeroed_default};

/// I/O command set specific Identify Controller data structure for the
/// Zoned Namespace command set (ZNS 1.1, "I/O Command Set Specific Identify Controller"):
/// CNS 0x06, CSI 0x02.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyZonedController {
    /// Zone Append size limit (ZASL), a power of two in units of CAP.MPSMIN; 0 = MDTS.
    pub zasl: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 4095],
}

const _: () = assert!(core::mem::size_of::<IdentifyZonedController>() == IDENTIFY_NBYTES);

/// A zoned LBA format extension (ZNS 1.1, figure "LBA Format Extension Data Structure"): 16 bytes.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(C)]
pub struct ZonedLbaFormatExt {
    /// Zone size in logical blocks (ZSZE).
    pub zsze: u64,
    /// Zone descriptor extension size, in 64 B units (ZDES).
    pub zdes: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd9: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<ZonedLbaFormatExt>() == 16);

impl ZonedLbaFormatExt {
    /// Zone descriptor extension size in bytes.
    pub const fn zdes_nbytes(&self) -> usize {
        self.zdes as usize * 64
    }
}

/// I/O command set specific Identify Namespace data structure for the
/// Zoned Namespace command set (ZNS 1.1, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x02.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyZonedNamespace {
    /// Zone operation characteristics (ZOC): bit 0 variable capacity, bit 1 zone active excursions.
    pub zoc: u16,
    /// Optional zoned command support (OZCS): bit 0 read across zone boundaries, bit 1 ZRWA.
    pub ozcs: u16,
    /// Maximum active resources (MAR), zero-based; `u32::MAX` = no limit.
    pub mar: u32,
    /// Maximum open resources (MOR), zero-based; `u32::MAX` = no limit.
    pub mor: u32,
    /// Reset recommended limit in seconds (RRL).
    pub rrl: u32,
    /// Finish recommended limit in seconds (FRL).
    pub frl: u32,
    /// Reset recommended limit 1 (RRL1).
    pub rrl1: u32,
    /// Reset recommended limit 2 (RRL2).
    pub rrl2: u32,
    /// Reset recommended limit 3 (RRL3).
    pub rrl3: u32,
    /// Finish recommended limit 1 (FRL1).
    pub frl1: u32,
    /// Finish recommended limit 2 (FRL2).
    pub frl2: u32,
    /// Finish recommended limit 3 (FRL3).
    pub frl3: u32,
    /// Number of zone random write area resources (NUMZRWA), zero-based.
    pub numzrwa: u32,
    /// ZRWA flush granularity in logical blocks (ZRWAFG).
    pub zrwafg: u16,
    /// ZRWA size in logical blocks (ZRWASZ).
    pub zrwasz: u16,
    /// ZRWA capability (ZRWACAP): bit 0 explicit ZRWA flush.
    pub zrwacap: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd53: [u8; 2763],
    /// Zoned LBA format extensions, parallel to [`IdentifyNamespace::lbaf`](super::IdentifyNamespace::lbaf).
    #[serde(serialize_with = "ser::seq")]
    pub lbafe: [ZonedLbaFormatExt; 64],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 256],
}

const _: () = assert!(core::mem::size_of::<IdentifyZonedNamespace>() == IDENTIFY_NBYTES);

zeroed_default!(IdentifyZonedController, IdentifyZonedNamespace);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn command_set_specific_offsets_match_their_specs() {
        // ZNS 1.1: zoned namespace and LBA format extension.
        assert_eq!(offset_of!(IdentifyZonedNamespace, mar), 4);
        assert_eq!(offset_of!(IdentifyZonedNamespace, frl), 16);
        assert_eq!(offset_of!(IdentifyZonedNamespace, numzrwa), 44);
        assert_eq!(offset_of!(IdentifyZonedNamespace, zrwacap), 52);
        assert_eq!(offset_of!(IdentifyZonedNamespace, lbafe), 2816);
        assert_eq!(offset_of!(IdentifyZonedNamespace, vs), 3840);
        assert_eq!(offset_of!(ZonedLbaFormatExt, zdes), 8);
    }
}
