//! Rows of the bad-input catalogue (docs/BAD-INPUTS.md) the other CLI
//! tests do not cover: one `nvmx: error:` line naming the problem, a
//! non-zero exit, and a file left as it was.

#![cfg(unix)]

mod common;
use common::*;

use std::path::PathBuf;

/// A file in the temp directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, content: &[u8]) -> Self {
        let p = std::env::temp_dir().join(format!("nvmx-clibad-{}-{name}", std::process::id()));
        std::fs::write(&p, content).expect("scratch file");
        Scratch(p)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn malformed_pci_addresses_name_the_field() {
    fails(&["info", "0000:01:40.0"], &["PCI address", "device"]);
    fails(&["info", "0000:01:00.9"], &["PCI address", "function"]);
}

#[test]
fn malformed_ramdisk_sizes_and_parameters() {
    fails(&["info", "0MiB"], &["ramdisk size", "zero"]);
    fails(&["info", "64MiB?lbaf=99"], &["lbaf"]);
}

#[test]
fn a_zero_length_file_answers_lba_out_of_range() {
    let f = Scratch::new("zero.img", &[]);
    fails(
        &["lblk", "read", f.path(), "--slba", "0", "--nlb", "0"],
        &["LBA Out of Range"],
    );
    assert_eq!(std::fs::metadata(&f.0).unwrap().len(), 0, "file untouched");
}

#[test]
fn a_nonexistent_path_says_how_to_create_it() {
    fails(
        &[
            "lblk",
            "write-zeros",
            "/nonexistent-nvmx-dir/x.img",
            "--slba",
            "0",
            "--nlb",
            "0",
        ],
        &["x.img", "No such file", "--create"],
    );
}

#[test]
fn permission_denied_names_the_path() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        let f = Scratch::new("perm.img", &[0u8; 4096]);
        std::fs::set_permissions(&f.0, std::fs::Permissions::from_mode(0o000)).unwrap();
        fails(&["info", f.path()], &[f.path(), "ermission denied"]);
        return;
    }
    // Root ignores file modes: run the binary as nobody instead, from a copy
    // in a directory of the test's own (the target directory may sit under
    // one nobody cannot enter, as in a clone under a 0700 temp directory),
    // on a file in a subdirectory only root may enter.
    let dir = NobodyDir::new();
    let private = dir.0.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let img = private.join("perm.img");
    std::fs::write(&img, [0u8; 4096]).unwrap();
    let img = img.to_str().expect("utf-8 path");
    let o = dir.run_as_nobody(&["info", img]).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty());
    assert!(
        err.contains(img) && err.contains("ermission denied"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A directory every user may enter, holding a copy of the nvmx binary
/// that user nobody can run; removed when dropped.
struct NobodyDir(PathBuf);

impl NobodyDir {
    /// The first temp directory where nobody runs the copy (one under a
    /// directory nobody cannot enter, or mounted noexec, does not do).
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let mut tried = Vec::new();
        let bases = [
            std::env::temp_dir(),
            "/tmp".into(),
            "/var/tmp".into(),
            "/dev/shm".into(),
        ];
        for base in bases {
            let p = base.join(format!("nvmx-clibad-{}-nobody", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            if std::fs::create_dir(&p).is_err() {
                continue;
            }
            let d = NobodyDir(p);
            std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::copy(env!("CARGO_BIN_EXE_nvmx"), d.0.join("nvmx")).unwrap();
            match d.run_as_nobody(&["--version"]) {
                Ok(o) if o.status.success() => return d,
                Ok(o) => tried.push(format!("{}: {:?}", base.display(), o.status)),
                Err(e) => tried.push(format!("{}: {e}", base.display())),
            }
        }
        panic!("no temp directory where user nobody can run a copy of nvmx: {tried:?}");
    }

    fn run_as_nobody(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(self.0.join("nvmx"))
            .args(args)
            .current_dir(&self.0)
            .uid(65534)
            .gid(65534)
            .output()
    }
}

impl Drop for NobodyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_unknown_nsid_is_named() {
    fails(
        &["info", "64MiB", "--dev-nsid", "2"],
        &["dev-nsid", "does not exist"],
    );
}

#[test]
fn a_transfer_beyond_mdts_is_refused() {
    fails(
        &["lblk", "read", "64MiB?mdts=1", "--slba", "0", "--nlb", "16"],
        &["MDTS", "8192"],
    );
}

#[test]
fn data_input_shorter_than_the_blocks_leaves_the_file_as_it_was() {
    let f = Scratch::new("short.img", &[b'a'; 8192]);
    let short = Scratch::new("short.bin", &[b'x'; 1024]);
    fails(
        &[
            "lblk",
            "write",
            f.path(),
            "--slba",
            "0",
            "--nlb",
            "3",
            "--data-input",
            short.path(),
        ],
        &["--data-input", "1024 bytes"],
    );
    assert_eq!(std::fs::read(&f.0).unwrap(), vec![b'a'; 8192], "untouched");
}

#[test]
fn bad_perf_arguments_are_named() {
    fails(
        &[
            "perf", "run", "64MiB", "--qdepth", "1000000", "--count", "1",
        ],
        &["--qdepth", "2048"],
    );
    fails_with(
        2,
        &["perf", "run", "64MiB", "--qdepth", "x"],
        &["--qdepth", "not a number"],
    );
    fails_with(
        2,
        &["lblk", "read", "64MiB", "--slba", "0", "--nlb"],
        &["--nlb"],
    );
}

#[test]
fn a_controller_gone_fatal_is_one_error_line() {
    fails(
        &[
            "lblk",
            "read",
            "1MiB?fatal_after=0",
            "--slba",
            "0",
            "--nlb",
            "0",
        ],
        &["fatal", "CSTS.CFS", "reset the controller"],
    );
    fails(&["info", "1MiB?fatal_after=x"], &["fatal_after", "\"x\""]);
}

/// Runs `nvmx` like [`fails`], but kills it and fails the test if it has
/// not ended after two minutes: the point of the test is that it ends.
fn fails_without_hanging(args: &[&str], words: &[&str]) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_nvmx"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nvmx starts");
    let start = std::time::Instant::now();
    while child.try_wait().expect("nvmx status").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvmx {args:?} did not end: it hangs on a stalled device");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // It has ended; `fails` runs it again and checks the answer.
    fails(args, words);
}

#[test]
fn a_controller_that_stops_completing_ends_perf_with_a_timeout() {
    let uri = "64MiB?stall_after=100";
    for extra in [
        &["--qdepth", "8"][..],
        &["--qdepth", "8", "--be", "ramdisk_thrpool"][..],
        &["--iopattern", "verify", "--qdepth", "4"][..],
    ] {
        let mut args = vec![
            "perf",
            "run",
            uri,
            "--count",
            "1000",
            "--quiet",
            "--command-timeout",
            "200000",
        ];
        args.extend_from_slice(extra);
        fails_without_hanging(&args, &["timed out after 200 ms", uri]);
    }
    fails_without_hanging(
        &[
            "lblk",
            "read",
            "1MiB?stall_after=0",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--command-timeout",
            "100000",
        ],
        &["timed out after 100 ms", "Read", "stall_after"],
    );
    fails(
        &["info", "1MiB?stall_after=soon"],
        &["stall_after", "\"soon\""],
    );
}
