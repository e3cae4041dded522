//! What the Sanitize Status log reports (Sanitize in the format module).

/// What the Sanitize Status log reports.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SanitizeState {
    /// SSTAT bits 7:0: status and completed overwrite passes.
    pub sstat: u8,
    /// CDW10 of the last Sanitize.
    pub scdw10: u32,
    /// The 512-byte write counter when the last sanitize completed: no user
    /// data written since while it has not moved.
    pub written_at: u64,
}
