//! Path classification shared by the Unix platforms.

use std::os::unix::fs::FileTypeExt;

use crate::error::{Error, Result};
use crate::uri::Target;

/// Classifies an existing path; `Ok(None)` when nothing exists there.
pub fn classify_path(path: &str) -> Result<Option<Target>> {
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // Not a path at all (e.g. "host:port" under a missing directory).
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) => return Err(Error::io("stat", path, e)),
    };
    let ft = md.file_type();
    let name = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    Ok(Some(if ft.is_file() {
        Target::File { exists: true }
    } else if ft.is_dir() {
        return Err(Error::invalid(
            "URI",
            format!("{path:?} is a directory, not a device or file"),
        ));
    } else if ft.is_block_device() {
        Target::BlockDevice {
            nvme: name.starts_with("nvme") || name.starts_with("nda"),
        }
    } else if ft.is_char_device() {
        Target::CharDevice
    } else {
        return Err(Error::invalid(
            "URI",
            format!("{path:?} is neither a file nor a device"),
        ));
    }))
}
