//! The CLI's error: one line of text that names the problem.

use std::fmt;
use std::io;
use std::path::Path;

/// A failed subcommand, printed as `nvmx: error: <message>`.
#[derive(Debug)]
pub struct CliError {
    message: String,
    /// Standard output went away (e.g. `nvmx ... | head`): not worth a
    /// message.
    pub broken_pipe: bool,
}

/// Result of a subcommand.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            broken_pipe: false,
        }
    }

    /// A failed file operation, naming the operation and the path.
    pub fn file(op: &str, path: &Path, e: &io::Error) -> Self {
        Self::new(format!("{op} {}: {e}", path.display()))
    }

    /// An NVMe command that the device failed, as `<what> failed: <status>`
    /// (e.g. `compare failed: Compare Failure (sct 0x2, sc 0x85)`); other
    /// library errors keep their own message.
    pub fn command(what: &str, e: nvmx::Error) -> Self {
        match e.status() {
            Some(status) => Self::new(format!("{what} failed: {status}")),
            None => e.into(),
        }
    }

    /// The message on one line: line breaks inside a message (from an OS or
    /// a backend) become spaces, so stderr gets exactly one line.
    pub fn one_line(&self) -> String {
        self.message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<nvmx::Error> for CliError {
    /// Every library error, whatever its variant (a caller mistake such as
    /// `OutOfRange` or `TooLarge`, a `BadReply`, a `ControllerFailed`), is
    /// a failed command: its one-line message and exit status 1. Exit
    /// status 2 stays for command lines that do not parse, as documented.
    fn from(e: nvmx::Error) -> Self {
        Self::new(e.to_string())
    }
}

impl From<io::Error> for CliError {
    /// Errors writing the output to standard output.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self {
                message: "standard output closed".into(),
                broken_pipe: true,
            }
        } else {
            Self::new(format!("writing output: {e}"))
        }
    }
}
