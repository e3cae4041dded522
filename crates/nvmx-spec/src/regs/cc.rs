//! Controller Configuration (CC).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{bits32, set32};

/// I/O command set selection values of [`Cc::css`].
pub mod cc_css {
    /// NVM command set.
    pub const NVM: u8 = 0b000;
    /// All supported I/O command sets.
    pub const ALL_IO: u8 = 0b110;
    /// Admin command set only.
    pub const ADMIN_ONLY: u8 = 0b111;
}

/// Shutdown notification values of [`Cc::shn`].
pub mod shn {
    /// No notification.
    pub const NONE: u8 = 0b00;
    /// Normal shutdown.
    pub const NORMAL: u8 = 0b01;
    /// Abrupt shutdown.
    pub const ABRUPT: u8 = 0b10;
}

/// Controller Configuration, CC (NVMe 2.0 base, controller properties).
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
pub struct Cc(pub u32);

impl Cc {
    /// Enable (EN).
    pub const fn en(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Sets enable (EN).
    pub fn set_en(&mut self, v: bool) {
        self.0 = set32(self.0, 0, 1, v as u32);
    }

    /// I/O command set selected (CSS), see [`cc_css`].
    pub const fn css(self) -> u8 {
        bits32(self.0, 4, 3) as u8
    }

    /// Sets the I/O command set selected (CSS).
    pub fn set_css(&mut self, v: u8) {
        self.0 = set32(self.0, 4, 3, v as u32);
    }

    /// Memory page size (MPS): `2 ^ (12 + MPS)` bytes.
    pub const fn mps(self) -> u8 {
        bits32(self.0, 7, 4) as u8
    }

    /// Sets the memory page size (MPS).
    pub fn set_mps(&mut self, v: u8) {
        self.0 = set32(self.0, 7, 4, v as u32);
    }

    /// Arbitration mechanism selected (AMS).
    pub const fn ams(self) -> u8 {
        bits32(self.0, 11, 3) as u8
    }

    /// Sets the arbitration mechanism selected (AMS).
    pub fn set_ams(&mut self, v: u8) {
        self.0 = set32(self.0, 11, 3, v as u32);
    }

    /// Shutdown notification (SHN), see [`shn`].
    pub const fn shn(self) -> u8 {
        bits32(self.0, 14, 2) as u8
    }

    /// Sets the shutdown notification (SHN).
    pub fn set_shn(&mut self, v: u8) {
        self.0 = set32(self.0, 14, 2, v as u32);
    }

    /// I/O submission queue entry size (IOSQES), as log2 bytes.
    pub const fn iosqes(self) -> u8 {
        bits32(self.0, 16, 4) as u8
    }

    /// Sets the I/O submission queue entry size (IOSQES).
    pub fn set_iosqes(&mut self, v: u8) {
        self.0 = set32(self.0, 16, 4, v as u32);
    }

    /// I/O completion queue entry size (IOCQES), as log2 bytes.
    pub const fn iocqes(self) -> u8 {
        bits32(self.0, 20, 4) as u8
    }

    /// Sets the I/O completion queue entry size (IOCQES).
    pub fn set_iocqes(&mut self, v: u8) {
        self.0 = set32(self.0, 20, 4, v as u32);
    }

    /// Controller ready independent of media enable (CRIME).
    pub const fn crime(self) -> bool {
        bits32(self.0, 24, 1) == 1
    }

    /// Sets controller ready independent of media enable (CRIME).
    pub fn set_crime(&mut self, v: bool) {
        self.0 = set32(self.0, 24, 1, v as u32);
    }
}
