//! The library's error type.
//!
//! Every error names what was wrong in one line: the option, the value, the
//! path or the NVMe status. OS errors keep their `std::io::Error` and say
//! which operation on which path failed.

use std::fmt;
use std::io;

use nvmx_spec::{Completion, Status};

/// Result alias used across nvmx.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one backend configuration was not used when opening a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The configuration's name (`--be` value).
    pub config: &'static str,
    /// Why it was passed over or why its open failed.
    pub reason: String,
}

/// Errors returned by nvmx.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given by the caller is not acceptable.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The argument or option that was wrong (e.g. `queue capacity`).
        what: &'static str,
        /// What is wrong with it, including the value.
        why: String,
    },
    /// An operating-system call failed. Control characters in the path (a
    /// newline, an escape) are shown escaped, so the message stays one line.
    #[error("{op} {}: {source}", OneLine(.path))]
    Io {
        /// What was being done (e.g. `open`, `pread`).
        op: &'static str,
        /// The path or device it was done on.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The device completed the command with a non-success NVMe status.
    #[error("command {opcode:#04x} failed: {status}")]
    Status {
        /// The opcode of the failed command.
        opcode: u8,
        /// The decoded status.
        status: Status,
        /// The whole completion, for callers that need dword 0.
        cpl: Completion,
    },
    /// The queue has `capacity` commands outstanding; poke it and retry.
    #[error(
        "queue is full: {outstanding} of {capacity} commands outstanding; poke the queue to reap completions, then resubmit"
    )]
    Busy {
        /// Commands in flight.
        outstanding: u32,
        /// Queue capacity.
        capacity: u32,
    },
    /// The interface, or the device or namespace behind it, cannot do what
    /// was asked (an optional feature it lacks); the message says which.
    #[error("{interface} does not support {what}")]
    Unsupported {
        /// The interface id (e.g. `io_uring`, `psync`), or `namespace` /
        /// `controller` for a feature the device does not have.
        interface: &'static str,
        /// What it does not support.
        what: String,
    },
    /// No backend configuration could open the URI.
    #[error("cannot open {uri:?}: {}", RejectionList(.tried))]
    NoBackend {
        /// The URI as given.
        uri: String,
        /// Every configuration considered, with the reason it was not used.
        tried: Vec<Rejection>,
    },
    /// A wait took longer than its timeout.
    #[error("timed out after {millis} ms waiting for {what}")]
    Timeout {
        /// What was being waited for.
        what: &'static str,
        /// The timeout that expired.
        millis: u64,
    },
    /// A worker thread or a backend failed in a way that leaves the queue unusable.
    #[error("queue failed: {0}")]
    QueueFailed(String),
    /// An LBA, zone, index or count lies outside what the namespace or
    /// device has (for example `slba + nlb` past the last LBA).
    #[error("{what} out of range: {why}")]
    OutOfRange {
        /// What was out of range (e.g. `lba range`, `zone`).
        what: &'static str,
        /// The value and the bound it crossed.
        why: String,
    },
    /// A transfer or count is larger than a limit of the device, the
    /// interface or the platform (MDTS, a queue's capacity, `u32` bytes).
    #[error("{what} too large: {len} exceeds the limit of {limit} ({limit_name})")]
    TooLarge {
        /// What was too large (e.g. `transfer`).
        what: &'static str,
        /// The size asked for, in the unit of `limit`.
        len: u64,
        /// The limit that was hit.
        limit: u64,
        /// Which limit it is (e.g. `MDTS`, `bytes per command`).
        limit_name: &'static str,
    },
    /// A buffer is shorter than what its command moves.
    #[error("{what} buffer too short: {len} bytes, the command moves {need}")]
    ShortBuffer {
        /// Which buffer (e.g. `data`, `metadata`).
        what: &'static str,
        /// Its length in bytes.
        len: u64,
        /// The bytes the command moves.
        need: u64,
    },
    /// An offset, length or address does not have the alignment the
    /// interface needs.
    #[error("{what} misaligned: {why}")]
    Misaligned {
        /// What was misaligned (e.g. `buffer`, `offset`).
        what: &'static str,
        /// The value and the alignment it needs.
        why: String,
    },
    /// Options or arguments that cannot be used together.
    #[error("conflicting {what}: {why}")]
    Conflict {
        /// What conflicts (e.g. `options`).
        what: &'static str,
        /// Which values and why they cannot go together.
        why: String,
    },
    /// The device (or the OS on its behalf) answered with data that does
    /// not make sense: a malformed Identify page, an impossible geometry.
    #[error("bad reply from {from}: {why}")]
    BadReply {
        /// Who answered (e.g. `Identify Namespace`, `BLKGETSIZE64`).
        from: &'static str,
        /// What was wrong with the answer.
        why: String,
    },
    /// A handle no longer refers to what it did: a queue whose controller
    /// was reset, a device that was closed or removed.
    #[error("stale {what}: {why}")]
    Stale {
        /// The handle (e.g. `queue`).
        what: &'static str,
        /// What happened to it.
        why: String,
    },
    /// Data failed a protection information check on the host (see
    /// [`crate::pi::verify`]): the block, the field, expected and found.
    #[error(transparent)]
    PiMismatch(crate::pi_mismatch::PiMismatch),
    /// The controller is failed and will take no more commands: a reset
    /// did not complete, CSTS.CFS is set, or memory it may still write was
    /// withheld on purpose.
    #[error("controller {name} failed: {why}")]
    ControllerFailed {
        /// The controller's name (PCI address, device path).
        name: String,
        /// Why it is considered failed.
        why: String,
    },
}

/// Shows text on one line: control characters are written escaped
/// (`\n`, `\u{1b}`), everything else as it is.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

struct RejectionList<'a>(&'a [Rejection]);

impl fmt::Display for RejectionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("this platform has no backend configurations");
        }
        f.write_str("no backend configuration fits (")?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", r.config, r.reason)?;
        }
        f.write_str(")")
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::OutOfRange`].
    pub fn out_of_range(what: &'static str, why: impl Into<String>) -> Self {
        Error::OutOfRange {
            what,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::TooLarge`].
    pub fn too_large(what: &'static str, len: u64, limit: u64, limit_name: &'static str) -> Self {
        Error::TooLarge {
            what,
            len,
            limit,
            limit_name,
        }
    }

    /// Shorthand for [`Error::ShortBuffer`].
    pub fn short_buffer(what: &'static str, len: u64, need: u64) -> Self {
        Error::ShortBuffer { what, len, need }
    }

    /// Shorthand for [`Error::Misaligned`].
    pub fn misaligned(what: &'static str, why: impl Into<String>) -> Self {
        Error::Misaligned {
            what,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(what: &'static str, why: impl Into<String>) -> Self {
        Error::Conflict {
            what,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::BadReply`].
    pub fn bad_reply(from: &'static str, why: impl Into<String>) -> Self {
        Error::BadReply {
            from,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Stale`].
    pub fn stale(what: &'static str, why: impl Into<String>) -> Self {
        Error::Stale {
            what,
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::ControllerFailed`].
    pub fn controller_failed(name: impl Into<String>, why: impl Into<String>) -> Self {
        Error::ControllerFailed {
            name: name.into(),
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(op: &'static str, path: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(interface: &'static str, what: impl Into<String>) -> Self {
        Error::Unsupported {
            interface,
            what: what.into(),
        }
    }

    /// Turns a completion into `Ok` when it succeeded and into
    /// [`Error::Status`] otherwise.
    pub fn check(opcode: u8, cpl: Completion) -> Result<Completion> {
        if cpl.is_success() {
            Ok(cpl)
        } else {
            Err(Error::Status {
                opcode,
                status: cpl.status(),
                cpl,
            })
        }
    }

    /// The NVMe status, when this error is one.
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the caller asked for something wrong ([`Error::Invalid`],
    /// [`Error::OutOfRange`], [`Error::TooLarge`], [`Error::ShortBuffer`],
    /// [`Error::Misaligned`], [`Error::Conflict`]): the same call fails
    /// the same way on every backend, so retrying elsewhere does not help.
    pub fn is_caller_mistake(&self) -> bool {
        matches!(
            self,
            Error::Invalid { .. }
                | Error::OutOfRange { .. }
                | Error::TooLarge { .. }
                | Error::ShortBuffer { .. }
                | Error::Misaligned { .. }
                | Error::Conflict { .. }
        )
    }

    /// Whether the OS refused access (EACCES, EPERM, ERROR_ACCESS_DENIED).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
    }

    /// The OS error number, when this error carries one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// A command's error as [`crate::slots::Completed`] carries it: boxed, so the
/// record stays small. `?` turns it back into an [`Error`].
impl From<Box<Error>> for Error {
    fn from(e: Box<Error>) -> Error {
        *e
    }
}

/// A failed host-side PI check is an error of its own kind.
impl From<crate::pi_mismatch::PiMismatch> for Error {
    fn from(m: crate::pi_mismatch::PiMismatch) -> Error {
        Error::PiMismatch(m)
    }
}
