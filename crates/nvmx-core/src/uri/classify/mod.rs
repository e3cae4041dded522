//! What an existing path is (a file, a block or character device), so a
//! URI can be classified. One implementation per OS family, chosen at
//! compile time; the facade's `platform` module re-exports it. A part of
//! [`crate::uri`]: only the URI parser asks.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::classify_path;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::classify_path;

/// Classifies an existing path; on this platform nothing is classified,
/// so every URI that is not a ramdisk or PCI address names a file.
#[cfg(not(any(unix, windows)))]
pub fn classify_path(path: &str) -> crate::error::Result<Option<crate::uri::Target>> {
    let _ = path;
    Ok(None)
}
