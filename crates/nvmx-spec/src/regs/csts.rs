//! Controller Status (CSTS).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::bits32;

/// Shutdown status values of [`Csts::shst`].
pub mod shst {
    /// Normal operation.
    pub const NORMAL: u8 = 0b00;
    /// Shutdown processing occurring.
    pub const OCCURRING: u8 = 0b01;
    /// Shutdown processing complete.
    pub const COMPLETE: u8 = 0b10;
}

/// Controller Status, CSTS (NVMe 2.0 base, controller properties).
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
pub struct Csts(pub u32);

impl Csts {
    /// Ready (RDY).
    pub const fn rdy(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Controller fatal status (CFS).
    pub const fn cfs(self) -> bool {
        bits32(self.0, 1, 1) == 1
    }

    /// Shutdown status (SHST), see [`shst`].
    pub const fn shst(self) -> u8 {
        bits32(self.0, 2, 2) as u8
    }

    /// NVM subsystem reset occurred (NSSRO).
    pub const fn nssro(self) -> bool {
        bits32(self.0, 4, 1) == 1
    }

    /// Processing paused (PP).
    pub const fn pp(self) -> bool {
        bits32(self.0, 5, 1) == 1
    }

    /// Shutdown type (ST): set when a subsystem shutdown is reported.
    pub const fn st(self) -> bool {
        bits32(self.0, 6, 1) == 1
    }
}
