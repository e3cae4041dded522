//! FreeBSD: the backend configurations in priority order (first match
//! wins), defined in [`crate::be::freebsd::configs`] so that their
//! selection is tested on every Unix host.

pub use super::unix::classify_path;
pub use crate::be::freebsd::configs::CONFIGS;

/// The dev interface id of this platform.
pub const DEV_ID: &str = crate::be::freebsd::DEV_ID;

/// Why the device at `path` is in use (a mounted file system, ...), so
/// that tools refuse to write to it. Not checked on this platform yet:
/// always `None`.
pub fn in_use(path: &str) -> Option<String> {
    let _ = path;
    None
}
