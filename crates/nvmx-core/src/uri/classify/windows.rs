//! Path classification on Windows: `\\.\PhysicalDriveN` names a drive,
//! anything else that exists is a file.

use crate::error::{Error, Result};
use crate::uri::Target;

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
