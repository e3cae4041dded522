//! A host-side protection information check that failed: which block,
//! which field, what was expected and what was found. Apart from `pi` so
//! that the error type can carry it without importing the PI code.

/// The field of a tuple that failed a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiField {
    /// The guard (a CRC of the data).
    Guard,
    /// The application tag.
    AppTag,
    /// The reference tag.
    RefTag,
}

impl std::fmt::Display for PiField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PiField::Guard => "guard",
            PiField::AppTag => "application tag",
            PiField::RefTag => "reference tag",
        })
    }
}

/// A block whose protection information does not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "protection information mismatch in block {block} (LBA {lba:#x}): {field} expected {expected:#x}, found {found:#x}"
)]
pub struct PiMismatch {
    /// Index of the block in the transfer (0 is the first).
    pub block: u64,
    /// Its LBA.
    pub lba: u64,
    /// The field that failed.
    pub field: PiField,
    /// The value the check expected (masked, for the application tag).
    pub expected: u64,
    /// The value found (masked, for the application tag).
    pub found: u64,
}
