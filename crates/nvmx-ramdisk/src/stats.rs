//! Counters for the SMART / Health Information log page.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What the controller has done since it was created.
#[derive(Debug, Default)]
pub(super) struct Stats {
    /// Data read, in 512-byte units (Read, Compare and Verify).
    pub read_512: AtomicU64,
    /// Data written, in 512-byte units (Write and the destination of Copy).
    pub written_512: AtomicU64,
    /// Read and Compare commands completed.
    pub host_reads: AtomicU64,
    /// Write commands completed.
    pub host_writes: AtomicU64,
    /// Unrecovered data integrity errors (reads of uncorrectable blocks).
    pub media_errors: AtomicU64,
}

impl Stats {
    /// Counts `bytes` of data read, and a host read command if `command`.
    pub fn read(&self, bytes: u64, command: bool) {
        self.read_512.fetch_add(bytes / 512, Relaxed);
        if command {
            self.host_reads.fetch_add(1, Relaxed);
        }
    }

    /// Counts `bytes` of data written, and a host write command if `command`.
    pub fn written(&self, bytes: u64, command: bool) {
        self.written_512.fetch_add(bytes / 512, Relaxed);
        if command {
            self.host_writes.fetch_add(1, Relaxed);
        }
    }

    /// Counts an unrecovered read error.
    pub fn media_error(&self) {
        self.media_errors.fetch_add(1, Relaxed);
    }

    /// A 512-byte count in SMART data units: thousands of 512-byte units,
    /// rounded up.
    pub fn data_units(count_512: &AtomicU64) -> u128 {
        u128::from(count_512.load(Relaxed)).div_ceil(1000)
    }
}
