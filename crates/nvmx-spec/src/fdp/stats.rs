//! The FDP Statistics log page (LID 0x22).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::ser;

/// The FDP Statistics log page (LID 0x22): 64 bytes of 128-bit counters.
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
pub struct FdpStatsLog {
    /// Host bytes with metadata written (HBMW).
    #[serde(serialize_with = "ser::u128_le")]
    pub hbmw: [u8; 16],
    /// Media bytes with metadata written (MBMW).
    #[serde(serialize_with = "ser::u128_le")]
    pub mbmw: [u8; 16],
    /// Media bytes erased (MBE).
    #[serde(serialize_with = "ser::u128_le")]
    pub mbe: [u8; 16],
    #[serde(skip)]
    /// Reserved.
    pub rsvd48: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<FdpStatsLog>() == 64);

impl FdpStatsLog {
    /// Host bytes with metadata written.
    pub const fn hbmw(&self) -> u128 {
        u128::from_le_bytes(self.hbmw)
    }

    /// Media bytes with metadata written.
    pub const fn mbmw(&self) -> u128 {
        u128::from_le_bytes(self.mbmw)
    }

    /// Media bytes erased.
    pub const fn mbe(&self) -> u128 {
        u128::from_le_bytes(self.mbe)
    }
}
