//! Runs the `nvmx` admin subcommands (log, log-erri, log-health,
//! feature-get/set, padc, pioc, dsm, ctrlr-reset, subsystem-reset,
//! ns-rescan, show-regs) on the ramdisk and checks output and errors.

mod common;
use common::*;

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nvmx-cli-admin-{}-{name}", std::process::id()))
}

#[test]
fn log_health_decodes_the_smart_log() {
    let out = ok(&["log-health", "1GiB"]);
    assert!(out.starts_with("health:\n"), "{out}");
    for k in [
        "temperature_kelvin:",
        "avail_spare: 100",
        "power_on_hours:",
        "media_errors: 0",
    ] {
        assert!(out.contains(k), "{k} in {out}");
    }
    let json = ok(&["log-health", "1GiB", "--output", "json"]);
    assert!(
        json.contains("\"health\"") && json.contains("\"avail_spare\": 100"),
        "{json}"
    );
}

#[test]
fn log_reads_any_page_raw_or_decoded_and_saves_it() {
    let f = tmp("log.bin");
    let out = ok(&[
        "log",
        "1GiB",
        "--lid",
        "0x5",
        "--data-nbytes",
        "4096",
        "--data-output",
        f.to_str().unwrap(),
    ]);
    assert!(
        out.contains("name: 'Commands Supported and Effects'"),
        "{out}"
    );
    let raw = std::fs::read(&f).unwrap();
    std::fs::remove_file(&f).ok();
    assert_eq!(raw.len(), 4096);
    // Identify (admin opcode 0x06) is supported: its effects entry has CSUPP.
    assert_eq!(raw[6 * 4] & 1, 1, "identify is listed as supported");
    let out = ok(&["log", "1GiB", "--lid", "2", "--data-nbytes", "512"]);
    assert!(
        out.starts_with("# get log page") && out.contains("health:"),
        "{out}"
    );
    // With an offset the page is shown raw.
    let out = ok(&[
        "log",
        "1GiB",
        "--lid",
        "2",
        "--lpo-nbytes",
        "4",
        "--data-nbytes",
        "8",
    ]);
    assert!(
        out.contains("lpo_nbytes: 4") && out.contains("nbytes: 8"),
        "{out}"
    );
    fails_with(
        1,
        &["log", "1GiB", "--lid", "2", "--data-nbytes", "6"],
        &["--data-nbytes", "multiple of 4"],
    );
    fails_with(
        1,
        &["log", "1GiB", "--lid", "2", "--lpo-nbytes", "2"],
        &["--lpo-nbytes"],
    );
    // A log the ramdisk does not have: the status is named.
    fails_with(
        1,
        &["log", "1GiB", "--lid", "0x70"],
        &["get log page", "Invalid Log Page"],
    );
}

#[test]
fn log_erri_reads_the_error_log_within_its_size() {
    let out = ok(&["log-erri", "1GiB"]);
    assert!(
        out.contains("entries read") && out.contains("erri: []"),
        "{out}"
    );
    fails_with(1, &["log-erri", "1GiB", "--limit", "0"], &["--limit"]);
    fails_with(
        1,
        &["log-erri", "1GiB", "--limit", "100000"],
        &["--limit", "ELPE"],
    );
}

#[test]
fn feature_get_decodes_known_features_and_capabilities() {
    let out = ok(&["feature-get", "1GiB", "--fid", "0x7"]);
    assert!(
        out.contains("name: 'Number of Queues'") && out.contains("nsqa:"),
        "{out}"
    );
    let out = ok(&["feature-get", "1GiB", "--fid", "0x6", "--sel", "3"]);
    assert!(out.contains("changeable: true"), "{out}");
    fails_with(
        1,
        &["feature-get", "1GiB", "--fid", "0x6", "--sel", "4"],
        &["--sel"],
    );
    fails_with(
        1,
        &["feature-get", "1GiB", "--fid", "0xfe"],
        &["get features", "Invalid Field"],
    );
}

#[test]
fn feature_set_changes_what_feature_get_reads() {
    // Each run is a new ramdisk, so set and check in one process is not
    // possible from the CLI: check the set's echo and a refused save.
    let out = ok(&["feature-set", "1GiB", "--fid", "0x6", "--feat", "0"]);
    assert!(
        out.contains("name: 'Volatile Write Cache'") && out.contains("save: false"),
        "{out}"
    );
    fails_with(
        1,
        &[
            "feature-set",
            "1GiB",
            "--fid",
            "0x6",
            "--feat",
            "1",
            "--save",
        ],
        &["set features"],
    );
    fails_with(
        1,
        &[
            "feature-set",
            "1GiB",
            "--fid",
            "0x6",
            "--feat",
            "1",
            "--data-nbytes",
            "4",
        ],
        &["--data-input"],
    );
}

#[test]
fn pioc_writes_and_reads_back_with_files() {
    let input = tmp("pioc.in");
    let output = tmp("pioc.out");
    let data: Vec<u8> = (0..512u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    // Write one block at LBA 0 then read it back: two processes, two
    // ramdisks, so use a file-backed namespace to keep the data.
    let img = tmp("pioc.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let img_s = img.to_str().unwrap();
    ok(&[
        "pioc",
        img_s,
        "--opcode",
        "0x01",
        "--cdw12",
        "0",
        "--data-input",
        input.to_str().unwrap(),
    ]);
    let out = ok(&[
        "pioc",
        img_s,
        "--opcode",
        "0x02",
        "--cdw12",
        "0",
        "--data-nbytes",
        "512",
        "--data-output",
        output.to_str().unwrap(),
        "--verbose",
    ]);
    assert!(
        out.contains("cpl: {cdw0: 0x0, cdw1: 0x0, status: 0x0}"),
        "{out}"
    );
    assert!(out.contains("cmd:") && out.contains("data_head:"), "{out}");
    assert_eq!(std::fs::read(&output).unwrap(), data);
    // Reading past the end: the status is named.
    fails_with(
        1,
        &[
            "pioc",
            img_s,
            "--opcode",
            "0x02",
            "--cdw10",
            "0x100000",
            "--data-nbytes",
            "512",
            "--data-output",
            output.to_str().unwrap(),
        ],
        &["I/O passthrough", "LBA Out of Range"],
    );
    for f in [&input, &output, &img] {
        std::fs::remove_file(f).ok();
    }
}

#[test]
fn passthrough_refuses_inconsistent_buffers_by_name() {
    let out = tmp("pt.out");
    let o = out.to_str().unwrap();
    fails_with(
        1,
        &[
            "pioc",
            "1GiB",
            "--opcode",
            "0x01",
            "--data-output",
            o,
            "--data-nbytes",
            "512",
        ],
        &["--data-output", "--data-input"],
    );
    fails_with(
        1,
        &["pioc", "1GiB", "--opcode", "0x02", "--data-input", o],
        &["--data-input", "--data-output"],
    );
    fails_with(
        1,
        &["pioc", "1GiB", "--opcode", "0x02", "--data-output", o],
        &["--data-output", "--data-nbytes"],
    );
    fails_with(
        1,
        &["pioc", "1GiB", "--opcode", "0x00", "--data-nbytes", "512"],
        &["transfers no data"],
    );
    fails_with(1, &["pioc", "1GiB", "--opcode", "0x03"], &["both ways"]);
    fails_with(
        1,
        &["pioc", "1GiB", "--opcode", "0x02", "--cdw6", "1"],
        &["--cdw6", "pointers"],
    );
    fails_with(
        1,
        &["padc", "1GiB", "--opcode", "0x06", "--meta-output", o],
        &["metadata"],
    );
    fails_with(
        1,
        &[
            "pioc",
            "1GiB",
            "--opcode",
            "0x01",
            "--data-input",
            "/nonexistent/nvmx",
        ],
        &["/nonexistent/nvmx"],
    );
}

#[test]
fn padc_runs_identify_and_unknown_opcodes_fail_with_the_status() {
    let f = tmp("padc.bin");
    let out = ok(&[
        "padc",
        "1GiB",
        "--opcode",
        "0x06",
        "--cdw10",
        "1",
        "--data-nbytes",
        "4096",
        "--data-output",
        f.to_str().unwrap(),
    ]);
    assert!(out.contains("status: 0x0"), "{out}");
    let id = std::fs::read(&f).unwrap();
    std::fs::remove_file(&f).ok();
    // Identify Controller: the model number at bytes 24..64 is set.
    assert!(id[24..64].iter().any(|&b| b != b' ' && b != 0));
    fails_with(
        1,
        &["padc", "1GiB", "--opcode", "0xc0"],
        &["admin passthrough", "Invalid Command Opcode"],
    );
}

#[test]
fn dsm_deallocates_a_range_and_checks_it() {
    let out = ok(&["dsm", "1GiB", "--slba", "0", "--llb", "8", "--ad"]);
    assert!(out.contains("ad true"), "{out}");
    fails_with(1, &["dsm", "1GiB", "--slba", "0", "--llb", "0"], &["--llb"]);
    fails_with(
        1,
        &["dsm", "1MiB", "--slba", "2040", "--llb", "16"],
        &["exceeds", "2048 blocks"],
    );
}

#[test]
fn controller_operations_and_registers() {
    assert!(ok(&["ctrlr-reset", "1GiB"]).contains("controller reset: done"));
    assert!(ok(&["subsystem-reset", "1GiB"]).contains("subsystem reset: done"));
    assert!(ok(&["ns-rescan", "1GiB"]).contains("namespace rescan: done"));
    let out = ok(&["show-regs", "1GiB"]);
    for k in [
        "regs:",
        "mqes: 1023",
        "nssrs: true",
        "vs: '2.0.0'",
        "rdy: true",
        "en: true",
    ] {
        assert!(out.contains(k), "{k} in {out}");
    }
    // A file has no controller: refused by name.
    let img = tmp("regs.img");
    std::fs::write(&img, vec![0u8; 4096]).unwrap();
    let i = img.to_str().unwrap();
    fails_with(1, &["show-regs", i], &["controller registers"]);
    fails_with(1, &["ctrlr-reset", i], &["controller reset"]);
    std::fs::remove_file(&img).ok();
}

/// As root on Linux: a loop device with a mounted ext4 file system is
/// refused for writes without --force, naming the mount point; reads
/// work; with --force nvmx goes ahead (the kernel itself may still refuse
/// some operations on a claimed device, which is reported as the OS
/// error, not as nvmx's refusal).
#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh"]
fn writes_to_a_mounted_device_need_force() {
    fn run(cmd: &str, args: &[&str]) -> Option<String> {
        let o = Command::new(cmd).args(args).output().ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }
    /// Unmounts, detaches and removes, even when an assertion fails.
    struct Rig {
        img: PathBuf,
        mnt: PathBuf,
        loopdev: Option<String>,
        mounted: bool,
    }
    impl Drop for Rig {
        fn drop(&mut self) {
            if self.mounted {
                run("umount", &[self.mnt.to_str().unwrap()]);
            }
            if let Some(l) = &self.loopdev {
                run("losetup", &["-d", l]);
            }
            std::fs::remove_file(&self.img).ok();
            std::fs::remove_dir_all(&self.mnt).ok();
        }
    }
    let mut rig = Rig {
        img: tmp("mounted.img"),
        mnt: tmp("mnt"),
        loopdev: None,
        mounted: false,
    };
    std::fs::write(&rig.img, vec![0u8; 8 << 20]).unwrap();
    std::fs::create_dir_all(&rig.mnt).unwrap();
    rig.loopdev = run("losetup", &["--find", "--show", rig.img.to_str().unwrap()]);
    let found = rig
        .loopdev
        .clone()
        .ok_or("cannot attach a loop device (not root?)");
    let Some(loopdev) = env::require_env(env::ROOT, found) else {
        return;
    };
    let m = rig.mnt.to_str().unwrap().to_string();
    rig.mounted = run("mkfs.ext4", &["-q", "-F", &loopdev]).is_some()
        && run("mount", &[&loopdev, &m]).is_some();
    if !rig.mounted {
        return env::missing(env::ROOT, "mkfs.ext4 or mount failed");
    }
    let range = ["--slba", "0", "--nlb", "0"];
    for sub in ["write", "write-zeros", "write-uncor"] {
        let args: Vec<&str> = ["lblk", sub, &loopdev].into_iter().chain(range).collect();
        fails_with(1, &args, &["refusing", "mounted at", &m, "--force"]);
    }
    fails_with(
        1,
        &["dsm", &loopdev, "--slba", "0", "--llb", "1", "--ad"],
        &["mounted at"],
    );
    fails_with(1, &["pioc", &loopdev, "--opcode", "0x08"], &["mounted at"]);
    let src = tmp("xdd.src");
    std::fs::write(&src, vec![1u8; 4096]).unwrap();
    let s = src.to_str().unwrap();
    fails_with(
        1,
        &[
            "xdd",
            "sync",
            "--data-input",
            s,
            "--data-output",
            &loopdev,
            "--data-nbytes",
            "4096",
        ],
        &["mounted at"],
    );
    std::fs::remove_file(&src).ok();
    ok(&["lblk", "read", &loopdev, "--slba", "0", "--nlb", "0"]);
    for sub in ["write", "write-zeros"] {
        let o = nvmx(&[
            "lblk", sub, &loopdev, "--slba", "0", "--nlb", "0", "--force",
        ]);
        let err = text(&o.stderr);
        assert!(
            o.status.success() || (!err.contains("refusing") && err.contains("os error")),
            "{sub} --force: {err}"
        );
    }
}

#[test]
fn idfy_cs_lists_the_command_set_combinations() {
    let out = ok(&["idfy-cs", "1GiB"]);
    assert!(
        out.contains("idfy_cs:") && out.contains("index: 0"),
        "{out}"
    );
    assert!(out.contains("iocsc: 0x1"), "NVM only: {out}");
}
