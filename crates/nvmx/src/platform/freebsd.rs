//! FreeBSD: the backend configurations in priority order.

use super::common;
use crate::be::config::BackendConfig;

pub use super::unix::classify_path;

/// The dev interface id of this platform.
pub const DEV_ID: &str = "freebsd";

/// FreeBSD configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &common::EMU_FILE,
    &common::THRPOOL_FILE,
    &crate::be::posix_aio::POSIX_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];

/// Why the device at `path` is in use (a mounted file system, ...), so
/// that tools refuse to write to it. Not checked on this platform yet:
/// always `None`.
pub fn in_use(path: &str) -> Option<String> {
    let _ = path;
    None
}
