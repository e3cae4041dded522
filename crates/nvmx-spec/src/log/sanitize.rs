//! The Sanitize Status log page (LID 0x81).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::zeroed_default;

/// Sanitize status values (SSTAT bits 2:0) of [`SanitizeStatusLog`].
pub mod sanitize_status {
    /// The NVM subsystem has never been sanitized.
    pub const NEVER: u8 = 0x0;
    /// The last sanitize operation completed successfully.
    pub const COMPLETED: u8 = 0x1;
    /// A sanitize operation is in progress.
    pub const IN_PROGRESS: u8 = 0x2;
    /// The last sanitize operation failed.
    pub const FAILED: u8 = 0x3;
    /// Completed successfully with no-deallocate after sanitize.
    pub const COMPLETED_NO_DEALLOC: u8 = 0x4;
}

/// Sanitize Status log (LID 0x81; NVMe 2.0 base, figure "Sanitize Status Log Page"): 512 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct SanitizeStatusLog {
    /// Sanitize progress (SPROG): fraction complete, numerator over 65536.
    pub sprog: u16,
    /// Sanitize status (SSTAT): status bits 2:0, overwrite passes bits 7:3,
    /// global data erased bit 8.
    pub sstat: u16,
    /// Command dword 10 of the last Sanitize command (SCDW10).
    pub scdw10: u32,
    /// Estimated time for overwrite, seconds (`u32::MAX` = unknown).
    pub eto: u32,
    /// Estimated time for block erase, seconds.
    pub etbe: u32,
    /// Estimated time for crypto erase, seconds.
    pub etce: u32,
    /// Estimated time for overwrite with no-deallocate, seconds.
    pub etond: u32,
    /// Estimated time for block erase with no-deallocate, seconds.
    pub etbend: u32,
    /// Estimated time for crypto erase with no-deallocate, seconds.
    pub etcend: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd32: [u8; 480],
}

const _: () = assert!(core::mem::size_of::<SanitizeStatusLog>() == 512);

impl SanitizeStatusLog {
    /// Status of the most recent sanitize operation, see [`sanitize_status`].
    pub const fn status(&self) -> u8 {
        (self.sstat & 0x7) as u8
    }

    /// Progress of a sanitize in progress, in percent.
    pub const fn progress_percent(&self) -> u32 {
        self.sprog as u32 * 100 / 65536
    }

    /// Whether global data has been erased since the last sanitize (SSTAT bit 8).
    pub const fn global_data_erased(&self) -> bool {
        self.sstat >> 8 & 1 == 1
    }
}

zeroed_default!(SanitizeStatusLog);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn sanitize_log_offsets_match_base_spec() {
        assert_eq!(offset_of!(SanitizeStatusLog, sstat), 2);
        assert_eq!(offset_of!(SanitizeStatusLog, scdw10), 4);
        assert_eq!(offset_of!(SanitizeStatusLog, eto), 8);
        assert_eq!(offset_of!(SanitizeStatusLog, etcend), 28);
        let log = SanitizeStatusLog {
            sprog: 0x8000,
            sstat: 0x102,
            ..Default::default()
        };
        assert_eq!(log.status(), sanitize_status::IN_PROGRESS);
        assert_eq!(log.progress_percent(), 50);
        assert!(log.global_data_erased());
    }
}
