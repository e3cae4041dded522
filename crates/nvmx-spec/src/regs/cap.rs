//! Controller Capabilities (CAP).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::bits64;

/// Controller Capabilities, CAP (NVMe 2.0 base, controller properties).
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
pub struct Cap(pub u64);

/// Command sets supported bits of [`Cap::css`].
pub mod cap_css {
    /// NVM command set.
    pub const NVM: u8 = 1 << 0;
    /// One or more I/O command sets (select them with CC.CSS = 110b).
    pub const IO_COMMAND_SETS: u8 = 1 << 6;
    /// No I/O command set: admin only.
    pub const NO_IO: u8 = 1 << 7;
}

impl Cap {
    /// Maximum queue entries supported (MQES), zero-based.
    pub const fn mqes(self) -> u16 {
        bits64(self.0, 0, 16) as u16
    }

    /// Maximum entries per I/O queue as a count (`MQES + 1`).
    pub const fn max_queue_entries(self) -> u32 {
        self.mqes() as u32 + 1
    }

    /// Contiguous queues required (CQR).
    pub const fn cqr(self) -> bool {
        bits64(self.0, 16, 1) == 1
    }

    /// Arbitration mechanism supported (AMS): bit 0 weighted round robin, bit 1 vendor.
    pub const fn ams(self) -> u8 {
        bits64(self.0, 17, 2) as u8
    }

    /// Timeout (TO), in 500 ms units: worst case time to wait for CSTS.RDY.
    pub const fn to(self) -> u8 {
        bits64(self.0, 24, 8) as u8
    }

    /// The CSTS.RDY timeout in milliseconds.
    pub const fn timeout_ms(self) -> u32 {
        self.to() as u32 * 500
    }

    /// Doorbell stride (DSTRD): doorbells are `4 << DSTRD` bytes apart.
    pub const fn dstrd(self) -> u8 {
        bits64(self.0, 32, 4) as u8
    }

    /// Doorbell stride in bytes.
    pub const fn doorbell_stride_bytes(self) -> usize {
        4 << self.dstrd()
    }

    /// NVM subsystem reset supported (NSSRS).
    pub const fn nssrs(self) -> bool {
        bits64(self.0, 36, 1) == 1
    }

    /// Command sets supported (CSS), see [`cap_css`].
    pub const fn css(self) -> u8 {
        bits64(self.0, 37, 8) as u8
    }

    /// Boot partition support (BPS).
    pub const fn bps(self) -> bool {
        bits64(self.0, 45, 1) == 1
    }

    /// Controller power scope (CPS).
    pub const fn cps(self) -> u8 {
        bits64(self.0, 46, 2) as u8
    }

    /// Memory page size minimum (MPSMIN): `2 ^ (12 + MPSMIN)` bytes.
    pub const fn mpsmin(self) -> u8 {
        bits64(self.0, 48, 4) as u8
    }

    /// Minimum memory page size in bytes.
    pub const fn mpsmin_nbytes(self) -> u64 {
        1 << (12 + self.mpsmin() as u32)
    }

    /// Memory page size maximum (MPSMAX): `2 ^ (12 + MPSMAX)` bytes.
    pub const fn mpsmax(self) -> u8 {
        bits64(self.0, 52, 4) as u8
    }

    /// Maximum memory page size in bytes.
    pub const fn mpsmax_nbytes(self) -> u64 {
        1 << (12 + self.mpsmax() as u32)
    }

    /// Persistent memory region supported (PMRS).
    pub const fn pmrs(self) -> bool {
        bits64(self.0, 56, 1) == 1
    }

    /// Controller memory buffer supported (CMBS).
    pub const fn cmbs(self) -> bool {
        bits64(self.0, 57, 1) == 1
    }

    /// NVM subsystem shutdown supported (NSSS).
    pub const fn nsss(self) -> bool {
        bits64(self.0, 58, 1) == 1
    }

    /// Controller ready modes supported (CRMS): bit 0 with media, bit 1 independent of media.
    pub const fn crms(self) -> u8 {
        bits64(self.0, 59, 2) as u8
    }
}
