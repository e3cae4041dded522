//! Windows: the backend configurations in priority order, and paths.

use super::common;
use crate::be::config::BackendConfig;
use crate::error::{Error, Result};
use crate::uri::Target;

/// The dev interface id of this platform.
pub const DEV_ID: &str = "windows";

/// Windows configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &common::EMU_FILE,
    &common::THRPOOL_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];

/// Classifies an existing path; `Ok(None)` when nothing exists there.
pub fn classify_path(path: &str) -> Result<Option<Target>> {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with(r"\\.\physicaldrive") {
        return Ok(Some(Target::BlockDevice { nvme: false }));
    }
    match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => Err(Error::invalid(
            "URI",
            format!("{path:?} is a directory, not a device or file"),
        )),
        Ok(_) => Ok(Some(Target::File { exists: true })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Ok(None),
    }
}

/// Why the device at `path` is in use (a mounted file system, ...), so
/// that tools refuse to write to it. Not checked on this platform yet:
/// always `None`.
pub fn in_use(path: &str) -> Option<String> {
    let _ = path;
    None
}
