//! Version (VS).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Version, VS (NVMe 2.0 base, controller properties); also the VER field of Identify Controller.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(transparent)]
#[serde(transparent)]
pub struct Version(pub u32);

impl Version {
    /// A version from its parts.
    pub const fn new(mjr: u16, mnr: u8, ter: u8) -> Self {
        Self((mjr as u32) << 16 | (mnr as u32) << 8 | ter as u32)
    }

    /// Major version (MJR).
    pub const fn mjr(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Minor version (MNR).
    pub const fn mnr(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Tertiary version (TER).
    pub const fn ter(self) -> u8 {
        self.0 as u8
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}.{}", self.mjr(), self.mnr(), self.ter())
    }
}
