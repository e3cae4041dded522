//! The Error Information log page (LID 0x01).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::status::Status;

/// An Error Information log entry (LID 0x01; NVMe 2.0 base, Get Log Page): 64 bytes.
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
pub struct ErrorInfoEntry {
    /// Error count: a unique, incrementing identifier; 0 marks an unused entry.
    pub error_count: u64,
    /// Submission queue identifier of the failed command.
    pub sqid: u16,
    /// Command identifier of the failed command.
    pub cid: u16,
    /// Phase tag (bit 0) and status field (bits 15:1) of the completion.
    pub status_field: u16,
    /// Parameter error location: byte (bits 7:0) and bit (bits 10:8) in the command.
    pub parm_error_location: u16,
    /// First LBA that saw the error.
    pub lba: u64,
    /// Namespace of the error.
    pub nsid: u32,
    /// Vendor specific information available: the log page with that LID holds more.
    pub vs: u8,
    /// Transport type (TRTYPE).
    pub trtype: u8,
    /// Command set identifier of the failed command, where reported.
    pub csi: u8,
    /// Opcode of the failed command, where reported.
    pub opc: u8,
    /// Command specific information.
    pub cs: u64,
    /// Transport type specific information.
    pub trtype_spec_info: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd42: [u8; 22],
}

const _: () = assert!(core::mem::size_of::<ErrorInfoEntry>() == 64);

impl ErrorInfoEntry {
    /// The decoded status of the failed command.
    pub const fn status(&self) -> Status {
        Status::from_raw(self.status_field >> 1)
    }

    /// Whether this entry holds an error (a non-zero error count).
    pub const fn is_valid(&self) -> bool {
        self.error_count != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn error_info_entry_offsets_match_base_spec() {
        assert_eq!(offset_of!(ErrorInfoEntry, sqid), 8);
        assert_eq!(offset_of!(ErrorInfoEntry, status_field), 12);
        assert_eq!(offset_of!(ErrorInfoEntry, lba), 16);
        assert_eq!(offset_of!(ErrorInfoEntry, nsid), 24);
        assert_eq!(offset_of!(ErrorInfoEntry, trtype), 29);
        assert_eq!(offset_of!(ErrorInfoEntry, cs), 32);
        assert_eq!(offset_of!(ErrorInfoEntry, trtype_spec_info), 40);
    }

    #[test]
    fn error_info_status_drops_the_phase_bit() {
        let e = ErrorInfoEntry {
            error_count: 1,
            status_field: 0x0181 << 1 | 1,
            ..Default::default()
        };
        let st = e.status();
        assert_eq!(st.sct, 1);
        assert_eq!(st.sc, 0x81);
        assert!(e.is_valid());
    }
}
