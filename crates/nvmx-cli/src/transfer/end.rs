//! One end of a transfer: an open device with its role, block size and
//! largest transfer.

use std::path::PathBuf;

use nvmx::uri::Target;
use nvmx::{DevType, Device, OpenMode, Uri};

use crate::args::DevArgs;
use crate::error::{CliError, CliResult};

/// Which way an [`End`] is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read from: opened read-only, must exist.
    Input,
    /// Written to: opened read-write, a missing file is created.
    Output,
}

impl Role {
    /// The option naming this end in messages.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Input => "--data-input",
            Role::Output => "--data-output",
        }
    }
}

/// One end of a transfer: an open device and what the copy needs of it.
pub struct End {
    /// The open device.
    pub dev: Device,
    /// The URI as given.
    pub uri: String,
    /// How this end is used.
    pub role: Role,
    /// Bytes per logical block.
    pub blk: u64,
    /// Largest transfer of one command, in bytes.
    pub mdts: u64,
    /// The path, when this end is a regular file.
    pub file: Option<PathBuf>,
    /// Whether opening created the file.
    pub created: bool,
}

impl End {
    /// Opens `uri` for `role` with the device options in `args`; the access
    /// mode and file creation follow the role, whatever `args` say.
    pub fn open(uri: &str, args: &DevArgs, role: Role) -> CliResult<End> {
        let flag = role.flag();
        let parsed = Uri::parse(uri).map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        if role == Role::Input && parsed.target == (Target::File { exists: false }) {
            return Err(CliError::new(format!(
                "{flag} {uri}: no such file or device"
            )));
        }
        // The role sets the mode, so mode flags in `args` (even conflicting
        // ones) are not applied.
        let mut o = DevArgs {
            rdonly: false,
            wronly: false,
            rdwr: false,
            ..args.clone()
        }
        .to_options()?;
        match role {
            Role::Input => {
                o.mode = OpenMode::ReadOnly;
                o.create = false;
                o.truncate = false;
            }
            Role::Output => {
                args.check_not_in_use(uri)?;
                o.mode = OpenMode::ReadWrite;
                o.create = matches!(parsed.target, Target::File { .. });
            }
        }
        let dev = Device::open(uri, &o).map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        let g = dev
            .geometry()
            .map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        if g.nbytes_oob > 0 {
            return Err(CliError::new(format!(
                "{flag} {uri}: the namespace format carries {} metadata bytes per block; \
                 only formats without metadata can be copied",
                g.nbytes_oob
            )));
        }
        let file = (dev.dtype() == DevType::FsFile).then(|| PathBuf::from(&parsed.base));
        Ok(End {
            blk: u64::from(g.lba_nbytes),
            mdts: u64::from(g.mdts_nbytes),
            dev,
            uri: uri.to_string(),
            role,
            created: role == Role::Output && parsed.target == (Target::File { exists: false }),
            file,
        })
    }

    /// Bytes this end holds now: a file's size, a device's capacity.
    pub fn capacity(&self) -> CliResult<u64> {
        match &self.file {
            Some(p) => std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| CliError::file(&format!("{} stat", self.role.flag()), p, &e)),
            None => Ok(self.dev.geometry()?.tbytes),
        }
    }

    /// The same open device, used the other way round (e.g. to read back
    /// what was written).
    pub fn with_role(&self, role: Role) -> End {
        End {
            dev: self.dev.clone(),
            uri: self.uri.clone(),
            role,
            blk: self.blk,
            mdts: self.mdts,
            file: self.file.clone(),
            created: false,
        }
    }

    /// Passes `r` on; when it is an error and opening created this file,
    /// removes the file first, so a refused command leaves nothing behind.
    pub fn undo_create<T>(&self, r: CliResult<T>) -> CliResult<T> {
        if r.is_err()
            && self.created
            && let Some(p) = &self.file
        {
            let _ = std::fs::remove_file(p);
        }
        r
    }

    /// Refuses anything but a regular file (for `nvmx file`).
    pub fn require_file(&self) -> CliResult {
        if self.file.is_none() {
            return Err(self.err(
                "not a regular file; `nvmx file` works on files (use `nvmx xdd` for devices and ramdisks)",
            ));
        }
        Ok(())
    }

    pub(super) fn err(&self, msg: impl std::fmt::Display) -> CliError {
        CliError::new(format!("{} {}: {msg}", self.role.flag(), self.uri))
    }

    /// For a regular output file: cuts or extends it to `len` bytes.
    pub fn set_file_len(&self, len: u64) -> CliResult {
        let Some(p) = &self.file else {
            return Ok(());
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .and_then(|f| f.set_len(len))
            .map_err(|e| CliError::file(&format!("{} resize", self.role.flag()), p, &e))
    }
}
