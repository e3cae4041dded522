//! Helpers shared by the CLI tests: run the built `nvmx` binary and check
//! its exit status, output and error line.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Environment-bound tests: the same helpers as the library's tests.
#[path = "../../../nvmx/tests/common/env.rs"]
pub mod env;

/// The configuration files open with by default: `iocp_file` on Windows
/// (xNVMe's order there), `emu_file` elsewhere.
pub const FILE_DEFAULT_BE: &str = if cfg!(windows) {
    "iocp_file"
} else {
    "emu_file"
};

/// Runs `nvmx` with `args`.
///
/// Wine now and then fails to start a process with ERROR_INTERNAL_ERROR
/// (1359) when tests spawn many in parallel; that start is retried (the
/// program never ran, so nothing is repeated).
pub fn nvmx(args: &[&str]) -> Output {
    let mut attempt = 0;
    loop {
        match Command::new(env!("CARGO_BIN_EXE_nvmx")).args(args).output() {
            Ok(o) => return o,
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(1359) && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
            }
            Err(e) => panic!("nvmx {args:?} does not start: {e}"),
        }
    }
}

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// Runs `nvmx` expecting success and nothing on standard error; returns
/// standard output.
pub fn ok(args: &[&str]) -> String {
    let o = nvmx(args);
    let err = stderr(&o);
    assert!(o.status.success(), "nvmx {args:?} failed: {err}");
    assert!(err.is_empty(), "nvmx {args:?} wrote to stderr: {err}");
    stdout(&o)
}

/// Runs `nvmx` expecting exit status `code`, one line `nvmx: error: ...`
/// on standard error holding every word of `words`, and nothing on
/// standard output. Returns the line.
pub fn fails_with(code: i32, args: &[&str], words: &[&str]) -> String {
    let o = nvmx(args);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "nvmx {args:?}: stderr {err:?}, stdout {:?}",
        stdout(&o)
    );
    assert_eq!(
        err.lines().count(),
        1,
        "nvmx {args:?}: not one line: {err:?}"
    );
    assert!(err.ends_with('\n'), "{err:?}");
    assert!(err.starts_with("nvmx: error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "nvmx {args:?}: {w:?} not in {err:?}");
    }
    assert!(
        o.stdout.is_empty(),
        "nvmx {args:?} printed {:?}",
        stdout(&o)
    );
    err
}

/// [`fails_with`] exit status 1: a command that failed.
pub fn fails(args: &[&str], words: &[&str]) -> String {
    fails_with(1, args, words)
}

/// Runs `nvmx ... --output json` expecting success; the parsed output.
pub fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--output", "json"]);
    serde_json::from_str(&ok(&a)).expect("JSON output")
}

/// The value of the first `key: value` line of YAML output.
pub fn yaml_value<'a>(yaml: &'a str, key: &str) -> Option<&'a str> {
    yaml.lines()
        .find_map(|l| l.trim_start().strip_prefix(key)?.strip_prefix(": "))
}

/// A scratch directory for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after the process and `name` in the temp dir.
    pub fn new(name: &str) -> Self {
        Self::in_dir(&std::env::temp_dir(), name)
    }

    /// A fresh directory named after the process and `name` in `dir`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        let d = dir.join(format!("nvmx-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }

    /// The path of `name` in the directory, as a string.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("UTF-8 path").to_string()
    }

    /// Writes `content` to `name` and returns its path.
    pub fn file(&self, name: &str, content: &[u8]) -> String {
        std::fs::write(self.0.join(name), content).expect("write scratch file");
        self.path(name)
    }

    /// Reads `name` back.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.0.join(name)).expect("read scratch file")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
