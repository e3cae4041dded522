//! The CLI on Windows (run under Wine in CI): `info` and `lblk` on files
//! through the Windows configurations, and `enum` listing physical drives.
#![cfg(windows)]

mod common;

use common::*;

#[test]
fn info_on_a_file_shows_the_windows_interfaces() {
    let s = Scratch::new("wininfo");
    let img = s.file("ns.img", &vec![0u8; 1 << 20]);
    let y = ok(&["info", &img]);
    assert!(y.contains("name: 'iocp_file'"), "{y}");
    for line in [
        "dev: {id: 'windows'}",
        "admin: {id: 'file'}",
        "sync: {id: 'file'}",
        "async: {id: 'iocp'}",
        "mem: {id: 'windows'}",
    ] {
        assert!(y.contains(line), "{line:?} not in {y}");
    }
    assert_eq!(yaml_value(&y, "dtype"), Some("4"), "{y}");
}

#[test]
fn lblk_write_then_read_on_a_file_through_each_windows_engine() {
    let s = Scratch::new("winlblk");
    let input: Vec<u8> = (0..4096u32).map(|i| (i * 13 % 251) as u8).collect();
    let input_path = s.file("in.bin", &input);
    for be in ["iocp_file", "iocp_th_file", "thrpool_file", "emu_file"] {
        let img = s.file(&format!("{be}.img"), &vec![0u8; 1 << 20]);
        ok(&[
            "lblk",
            "write",
            &img,
            "--slba",
            "3",
            "--nlb",
            "7",
            "--data-input",
            &input_path,
            "--be",
            be,
        ]);
        let out = s.path(&format!("{be}.out"));
        ok(&[
            "lblk",
            "read",
            &img,
            "--slba",
            "3",
            "--nlb",
            "7",
            "--data-output",
            &out,
            "--be",
            be,
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), input, "{be}");
        // The bytes landed at slba 3 in the file itself.
        let raw = std::fs::read(&img).unwrap();
        assert_eq!(&raw[3 * 512..3 * 512 + 4096], &input[..], "{be}");
    }
}

#[test]
fn lblk_refuses_a_range_beyond_a_file_and_unknown_configurations() {
    let s = Scratch::new("winbad");
    let img = s.file("ns.img", &vec![0u8; 64 << 10]);
    let out = s.path("out.bin");
    fails(
        &[
            "lblk",
            "read",
            &img,
            "--slba",
            "1000",
            "--nlb",
            "0",
            "--data-output",
            &out,
        ],
        &["LBA"],
    );
    fails(&["info", &img, "--be", "io_uring_file"], &["iocp_file"]);
}

#[test]
fn enum_lists_physical_drives_with_their_bus() {
    let j = json(&["enum"]);
    let list = j["nvmx_enumeration"].as_array().expect("a list");
    for e in list {
        assert_eq!(e["kind"], "physical_drive", "{e}");
        assert!(e["transport"].is_string(), "{e}");
    }
}

#[test]
fn info_on_a_drive_without_stornvme_names_what_failed() {
    // Wine's drive 0 is no NVMe drive under StorNVMe: forcing an nvme
    // configuration fails with the reason; reads are never attempted.
    let y = fails(&["info", r"\\.\PhysicalDrive0", "--be", "emu"], &["emu"]);
    assert!(
        y.contains("Windows NVMe driver") || y.contains("PhysicalDrive0"),
        "{y}"
    );
}
