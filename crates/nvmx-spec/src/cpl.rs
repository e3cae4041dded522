//! The 16-byte completion queue entry.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::status::Status;

/// A completion queue entry (NVMe 2.0 base, figure 89).
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
// 8-byte aligned (the size stays 16, no padding): a `Result` or record
// holding a completion then keeps it at an 8-byte offset, and the compiler
// moves it in two aligned words instead of pieces that stall the CPU's
// store forwarding when read back (see nvmx's `Completed`).
#[repr(C, align(8))]
pub struct Completion {
    /// Dword 0: command specific result (e.g. the LBA a Zone Append wrote).
    pub cdw0: u32,
    /// Dword 1: command specific.
    pub cdw1: u32,
    /// Submission queue head pointer.
    pub sqhd: u16,
    /// Submission queue identifier.
    pub sqid: u16,
    /// Command identifier.
    pub cid: u16,
    /// Phase tag (bit 0) and status field (bits 15:1).
    pub status: u16,
}

const _: () = assert!(core::mem::size_of::<Completion>() == 16);
const _: () = assert!(core::mem::align_of::<Completion>() == 8);

impl Completion {
    /// A successful completion carrying `cdw0`.
    pub const fn success(cdw0: u32) -> Self {
        Self {
            cdw0,
            cdw1: 0,
            sqhd: 0,
            sqid: 0,
            cid: 0,
            status: 0,
        }
    }

    /// A completion with the given status and no result.
    pub const fn with_status(status: Status) -> Self {
        Self {
            cdw0: 0,
            cdw1: 0,
            sqhd: 0,
            sqid: 0,
            cid: 0,
            status: status.to_raw() << 1,
        }
    }

    /// The phase tag the controller wrote (bit 0 of the status half-word).
    pub const fn phase(&self) -> bool {
        self.status & 1 == 1
    }

    /// The decoded status field.
    pub const fn status(&self) -> Status {
        Status::from_raw(self.status >> 1)
    }

    /// Whether the command succeeded (status code and type both zero).
    pub const fn is_success(&self) -> bool {
        self.status().is_success()
    }

    /// Dwords 0 and 1 as one 64-bit result (Zone Append's assigned LBA).
    pub const fn result64(&self) -> u64 {
        self.cdw0 as u64 | (self.cdw1 as u64) << 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn completion_field_offsets_match_base_spec_figure_89() {
        assert_eq!(offset_of!(Completion, cdw0), 0);
        assert_eq!(offset_of!(Completion, sqhd), 8);
        assert_eq!(offset_of!(Completion, sqid), 10);
        assert_eq!(offset_of!(Completion, cid), 12);
        assert_eq!(offset_of!(Completion, status), 14);
    }

    #[test]
    fn status_and_phase_decode_from_dword3() {
        // DW3 = status 0x4281 << 16: DNR set, SCT 0 (generic), SC 0x40, phase 1.
        let mut raw = [0u8; 16];
        raw[14..16].copy_from_slice(&0x8081u16.to_le_bytes());
        let cpl = Completion::read_from_bytes(&raw[..]).unwrap();
        assert!(cpl.phase());
        let st = cpl.status();
        assert_eq!(st.sc, 0x40);
        assert_eq!(st.sct, 0);
        assert!(st.dnr);
        assert!(!cpl.is_success());
    }

    #[test]
    fn result64_joins_dw0_and_dw1() {
        let cpl = Completion {
            cdw0: 0x10,
            cdw1: 0x2,
            ..Default::default()
        };
        assert_eq!(cpl.result64(), 0x2_0000_0010);
    }
}
