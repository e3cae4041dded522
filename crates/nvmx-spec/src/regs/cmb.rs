//! The Controller Memory Buffer registers: location (CMBLOC) and size
//! (CMBSZ).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::bits32;

/// Controller Memory Buffer Location, CMBLOC (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cmbloc(pub u32);

impl Cmbloc {
    /// Base indicator register (BIR): which BAR holds the buffer.
    pub const fn bir(self) -> u8 {
        bits32(self.0, 0, 3) as u8
    }

    /// Offset (OFST), in units of [`Cmbsz::unit_nbytes`].
    pub const fn ofst(self) -> u32 {
        bits32(self.0, 12, 20)
    }
}

/// Controller Memory Buffer Size, CMBSZ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cmbsz(pub u32);

impl Cmbsz {
    /// Submission queue support (SQS).
    pub const fn sqs(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Completion queue support (CQS).
    pub const fn cqs(self) -> bool {
        bits32(self.0, 1, 1) == 1
    }

    /// PRP/SGL list support (LISTS).
    pub const fn lists(self) -> bool {
        bits32(self.0, 2, 1) == 1
    }

    /// Read data support (RDS).
    pub const fn rds(self) -> bool {
        bits32(self.0, 3, 1) == 1
    }

    /// Write data support (WDS).
    pub const fn wds(self) -> bool {
        bits32(self.0, 4, 1) == 1
    }

    /// Size units (SZU): `4 KiB * 16 ^ SZU`.
    pub const fn szu(self) -> u8 {
        bits32(self.0, 8, 4) as u8
    }

    /// The size unit in bytes (0 for reserved SZU values).
    pub const fn unit_nbytes(self) -> u64 {
        match self.szu() {
            s @ 0..=6 => 4096 << (4 * s as u32),
            _ => 0,
        }
    }

    /// Size (SZ), in size units.
    pub const fn sz(self) -> u32 {
        bits32(self.0, 12, 20)
    }

    /// Size of the controller memory buffer in bytes.
    pub const fn nbytes(self) -> u64 {
        self.sz() as u64 * self.unit_nbytes()
    }
}
