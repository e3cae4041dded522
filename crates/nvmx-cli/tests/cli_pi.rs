//! Runs the built `nvmx` binary: `format`, `sanitize`, `log-sanitize` and
//! `lblk write-read-pi`, on ramdisks (which live in the one process, so
//! each command shows its effect in its own output), and in the QEMU guest
//! on the PI1 namespace when `NVMX_DEV_PI1_CDEV` is set.

mod common;
use common::*;

#[test]
fn write_read_pi_round_trips_for_each_type_and_guard() {
    for uri in [
        "4MiB?lbaf=1&pi=1",
        "4MiB?lbaf=1&pi=2&ext=1",
        "4MiB?lbaf=4&pi=3&pil=1",
        "4MiB?lbaf=5&pi=1",
        "4MiB?lbaf=6&pi=2&ext=1",
    ] {
        for pract in [false, true] {
            let mut args = vec![
                "lblk",
                "write-read-pi",
                uri,
                "--slba",
                "0x10",
                "--nlb",
                "3",
                "--apptag",
                "0xbeef",
                "--apptag_mask",
                "0xff00",
            ];
            if pract {
                args.push("--pract");
            }
            let v = json(&args);
            let r = &v["lblk_write_read_pi"];
            assert_eq!(r["status"], "ok", "{uri} {v}");
            assert_eq!(r["pi_verified"], true, "{uri}");
            assert_eq!(r["first_tuple"]["apptag"], 0xbeef, "{uri}");
            if uri.contains("pi=1") {
                assert_eq!(
                    r["first_tuple"]["reftag"], 0x10,
                    "{uri}: type 1 reftag is the LBA"
                );
            }
        }
    }
    // YAML output names the format.
    let y = ok(&[
        "lblk",
        "write-read-pi",
        "4MiB?lbaf=5&pi=1",
        "--slba",
        "0",
        "--nlb",
        "0",
    ]);
    assert!(y.contains("pi_format: '64b guard'"), "{y}");
}

#[test]
fn write_read_pi_refuses_namespaces_without_pi_and_bad_checks() {
    fails(
        &[
            "lblk",
            "write-read-pi",
            "4MiB?lbaf=1",
            "--slba",
            "0",
            "--nlb",
            "0",
        ],
        &["not formatted with protection information"],
    );
    fails(
        &[
            "lblk",
            "write-read-pi",
            "4MiB?lbaf=1&pi=1",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--prchk",
            "0x8",
        ],
        &["--prchk 0x8"],
    );
}

#[test]
fn format_needs_force_and_prints_the_new_geometry() {
    fails(&["format", "8MiB", "--lbafl", "3"], &["--force"]);
    let v = json(&[
        "format", "8MiB", "--lbafl", "3", "--pi", "1", "--pil", "1", "--mset", "1", "--ses", "1",
        "--force",
    ]);
    let g = &v["format"]["geometry"];
    assert_eq!(g["nbytes"], 4096, "{v}");
    assert_eq!(g["nbytes_oob"], 8);
    assert_eq!(g["nsect"], 2048);
    assert_eq!(g["lba_extended"], true);
    assert_eq!(
        (g["pi_type"].clone(), g["pi_loc"].clone()),
        (1.into(), 1.into())
    );
    fails(
        &["format", "8MiB", "--lbafl", "9", "--force"],
        &["format failed", "Invalid Format"],
    );
    fails(&["format", "8MiB", "--pi", "4", "--force"], &["pi"]);
    fails(&["format", "8MiB", "--mset", "2", "--force"], &["--mset 2"]);
}

#[test]
fn sanitize_needs_force_and_reports_the_log() {
    fails(
        &["sanitize", "8MiB", "--sanact", "2"],
        &["--force", "every namespace in the NVM subsystem"],
    );
    fails(
        &["sanitize", "8MiB", "--sanact", "7", "--force"],
        &["sanact"],
    );
    let v = json(&[
        "sanitize",
        "8MiB",
        "--sanact",
        "3",
        "--ovrpat",
        "0xdeadbeef",
        "--owpass",
        "3",
        "--nodas",
        "1",
        "--force",
    ]);
    let l = &v["log_sanitize"];
    assert_eq!(l["status"], "completed without deallocation", "{v}");
    assert_eq!(l["overwrite_passes"], 3);
    assert_eq!(l["scdw10"], 0x233);
    let v = json(&["log-sanitize", "8MiB"]);
    assert_eq!(v["log_sanitize"]["status"], "never sanitized");
    assert_eq!(v["log_sanitize"]["sprog"], 0xffff);
    assert!(v["log_sanitize"].get("progress_percent").is_none());
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn write_read_pi_and_format_on_the_qemu_pi1_namespace() {
    let Some(cdev) = env::env_var(env::GUEST, "NVMX_DEV_PI1_CDEV") else {
        return;
    };
    for be in ["emu", "io_uring_cmd"] {
        for pract in [false, true] {
            let mut args = vec![
                "lblk",
                "write-read-pi",
                &cdev,
                "--slba",
                "8",
                "--nlb",
                "7",
                "--be",
                be,
            ];
            if pract {
                args.push("--pract");
            }
            let v = json(&args);
            assert_eq!(v["lblk_write_read_pi"]["status"], "ok", "{be}: {v}");
        }
    }
    fails(&["format", &cdev], &["--force"]);
    // Same format again (512+8, PI type 1) with a user data erase.
    let idfy = json(&["idfy-ns", &cdev]);
    let flbas = idfy["idfy_ns"]["flbas"].as_u64().unwrap_or(0);
    let lbafl = (flbas & 0xf).to_string();
    let v = json(&[
        "format", &cdev, "--lbafl", &lbafl, "--pi", "1", "--ses", "1", "--force",
    ]);
    assert_eq!(v["format"]["geometry"]["pi_type"], 1, "{v}");
    assert_eq!(v["format"]["geometry"]["nbytes"], 512);
}
