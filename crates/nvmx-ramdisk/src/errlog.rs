//! The Error Information log: the controller's memory of failed commands.
//!
//! Every command that completes with an error status is recorded with a
//! unique, incrementing error count (starting at 1), its queue and command
//! identifiers, status, the field of the command at fault and the first
//! LBA involved. The last [`ErrorLog::CAPACITY`] records are kept; Get Log
//! Page returns them newest first.

use std::collections::VecDeque;

use nvmx_spec::Status;

/// One failed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ErrorRecord {
    /// Unique error count, from 1.
    pub count: u64,
    /// Submission queue the command came from (0 admin, 1 I/O).
    pub sqid: u16,
    /// Command identifier.
    pub cid: u16,
    /// The status it completed with.
    pub status: Status,
    /// Parameter error location: byte (bits 7:0) and bit (bits 10:8) of
    /// the command; 0xffff when no single field is at fault.
    pub param: u16,
    /// First LBA that saw the error (0 when none).
    pub lba: u64,
    /// Namespace of the command.
    pub nsid: u32,
    /// Command set of the command (0 for admin and NVM commands).
    pub csi: u8,
    /// Opcode of the command.
    pub opc: u8,
}

/// The ring of recent errors and the lifetime count.
#[derive(Debug, Default)]
pub(super) struct ErrorLog {
    count: u64,
    ring: VecDeque<ErrorRecord>,
}

impl ErrorLog {
    /// Entries kept (Identify Controller ELPE + 1).
    pub const CAPACITY: usize = 64;

    /// Records a failure, giving it the next error count, which is returned.
    pub fn record(&mut self, mut r: ErrorRecord) -> u64 {
        self.count = self.count.wrapping_add(1).max(1);
        r.count = self.count;
        if self.ring.len() == Self::CAPACITY {
            self.ring.pop_front();
        }
        self.ring.push_back(r);
        self.count
    }

    /// Errors recorded since the controller was created.
    pub fn total(&self) -> u64 {
        self.count
    }

    /// The kept records, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &ErrorRecord> {
        self.ring.iter().rev()
    }
}
