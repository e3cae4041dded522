//! Runs the built `nvmx` binary and checks its output, exit status and
//! error messages.

mod common;
use common::*;

use std::process::Command;

#[test]
fn library_info_lists_the_backend_configurations() {
    let y = ok(&["library-info"]);
    assert!(
        y.starts_with("# nvmx library information\nver: {major: "),
        "{y}"
    );
    assert!(y.contains("\nbuild:\n"), "{y}");
    assert!(y.contains("\nplatform:\n  name: '"), "{y}");
    assert!(y.contains("name: 'ramdisk'"), "{y}");
    assert!(y.contains("name: 'emu_file'"), "{y}");

    let j: serde_json::Value =
        serde_json::from_str(&ok(&["library-info", "--output", "json"])).expect("JSON");
    let names: Vec<&str> = j["platform"]["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert!(
        names.contains(&"ramdisk") && names.contains(&"emu_file"),
        "{names:?}"
    );
    assert_eq!(j["ver"]["major"].as_u64(), Some(0));
    let rd = j["platform"]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "ramdisk")
        .unwrap();
    assert_eq!(rd["caps"], 0x10);
    assert_eq!(rd["caps_names"], "RAMDISK");
}

#[test]
fn info_prints_the_device_in_xnvme_shape() {
    let y = ok(&["info", "64MiB"]);
    assert!(
        y.starts_with("nvmx_dev:\n  ident:\n    uri: '64MiB'\n"),
        "{y}"
    );
    for section in ["  be:\n", "  opts:\n", "  geo:\n"] {
        assert!(y.contains(section), "{section:?} missing in {y}");
    }
    assert_eq!(yaml_value(&y, "dtype"), Some("5"), "{y}");
    assert_eq!(yaml_value(&y, "nsect"), Some("131072"), "{y}");
    assert_eq!(yaml_value(&y, "nbytes"), Some("512"), "{y}");
    assert_eq!(yaml_value(&y, "tbytes"), Some("67108864"), "{y}");
    // Which ramdisk configuration is the default is the library's choice.
    assert!(
        yaml_value(&y, "be").is_some_and(|b| b.starts_with("'ramdisk")),
        "{y}"
    );
    assert!(y.contains("sync: {id: 'ramdisk'}"), "{y}");
}

#[test]
fn info_follows_the_ramdisk_lba_format() {
    let y = ok(&["info", "64MiB?lbaf=2"]);
    assert_eq!(yaml_value(&y, "nbytes"), Some("4096"), "{y}");
    assert_eq!(yaml_value(&y, "nsect"), Some("16384"), "{y}");
    let y = ok(&["lblk", "info", "64MiB?lbaf=2"]);
    assert_eq!(yaml_value(&y, "nbytes"), Some("4096"), "{y}");
}

#[test]
fn info_as_json() {
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["--output", "json", "info", "64MiB"])).expect("JSON");
    assert_eq!(j["nvmx_dev"]["geo"]["nsect"], 131072);
    assert_eq!(j["nvmx_dev"]["ident"]["dtype"], 5);
    assert_eq!(j["nvmx_dev"]["ident"]["nsid"], 1);
    let dev = &j["nvmx_dev"];
    let name = dev["be"]["attr"]["name"].as_str().expect("be.attr.name");
    assert!(name.starts_with("ramdisk"), "{name}");
    // opts carries the names that were chosen.
    assert_eq!(dev["opts"]["be"], name);
    assert_eq!(dev["opts"]["async"], dev["be"]["async"]["id"]);
    assert_eq!(dev["be"]["attr"]["caps"], 0x10);
}

#[test]
fn backend_options_pick_the_configuration() {
    let y = ok(&["info", "64MiB", "--be", "ramdisk_thrpool"]);
    assert!(y.contains("async: {id: 'thrpool'}"), "{y}");
    let y = ok(&["info", "64MiB", "--async", "emu"]);
    assert!(
        y.contains("name: 'ramdisk_emu'") || y.contains("'ramdisk_emu'"),
        "{y}"
    );
}

#[test]
fn identify_controller_and_namespace() {
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["idfy-ctrlr", "64MiB", "--output", "json"])).expect("JSON");
    let mn = j["idfy_ctrlr"]["mn"].as_str().expect("mn is a string");
    assert!(mn.contains("nvmx"), "{mn}");

    let y = ok(&["idfy-ns", "64MiB"]);
    assert!(y.starts_with("idfy_ns:\n"), "{y}");
    assert_eq!(yaml_value(&y, "nsze"), Some("131072"), "{y}");

    // Raw idfy with a CNS, and the 4096 bytes written out.
    let s = Scratch::new("idfy");
    let out = s.path("ctrlr.bin");
    let y = ok(&["idfy", "64MiB", "--cns", "0x1", "--data-output", &out]);
    assert!(y.contains("\nidfy_ctrlr:\n"), "{y}");
    let raw = std::fs::read(&out).expect("data-output written");
    assert_eq!(raw.len(), 4096);
    let y = ok(&["idfy", "64MiB", "--cns", "0"]);
    assert!(y.contains("\nidfy_ns:\n"), "{y}");
}

/// No NVMe device on the test hosts (Linux, macOS); on Windows (Wine) the
/// physical drives are listed, see `windows_cli.rs`.
#[cfg(not(windows))]
#[test]
fn enumeration_is_an_empty_list() {
    assert_eq!(ok(&["enum"]), "nvmx_enumeration: []\n");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["enum", "--output", "json"])).expect("JSON");
    assert_eq!(j["nvmx_enumeration"], serde_json::json!([]));
}

#[test]
fn read_of_unwritten_blocks_gives_zeroes() {
    let y = ok(&["lblk", "read", "64MiB", "--slba", "0x10", "--nlb", "0"]);
    assert!(
        y.starts_with("# lblk read: slba 0x10 nlb 0 (1 blocks, 512 bytes)\nlblk_read:\n"),
        "{y}"
    );
    assert_eq!(yaml_value(&y, "nbytes"), Some("512"), "{y}");
    assert!(y.contains("- '0000: 00 00 00 00"), "{y}");

    let s = Scratch::new("read");
    let out = s.path("data.bin");
    let y = ok(&[
        "lblk",
        "read",
        "64MiB?lbaf=2",
        "--slba",
        "3",
        "--nlb",
        "7",
        "--data-output",
        &out,
    ]);
    assert!(!y.contains("head:"), "{y}");
    let data = std::fs::read(&out).expect("data-output written");
    assert_eq!(data.len(), 8 * 4096);
    assert!(data.iter().all(|&b| b == 0));
}

#[test]
fn write_and_write_zeros_report_ok() {
    let y = ok(&["lblk", "write", "64MiB", "--slba", "0", "--nlb", "3"]);
    assert!(y.contains("anum"), "the pattern is named: {y}");
    assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");
    assert_eq!(yaml_value(&y, "nbytes"), Some("2048"), "{y}");

    let s = Scratch::new("write");
    let input = s.file("in.bin", &[0xa5; 1024]);
    let y = ok(&[
        "lblk",
        "write",
        "64MiB",
        "--slba",
        "8",
        "--nlb",
        "1",
        "--data-input",
        &input,
    ]);
    assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");

    let y = ok(&[
        "lblk",
        "write-zeros",
        "64MiB",
        "--slba",
        "0",
        "--nlb",
        "0xff",
    ]);
    assert_eq!(yaml_value(&y, "nblocks"), Some("256"), "{y}");
    assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");
}

#[test]
fn compare_against_zeroes() {
    let s = Scratch::new("compare");
    let zeros = s.file("zeros.bin", &[0; 4096]);
    let y = ok(&[
        "lblk",
        "compare",
        "64MiB",
        "--slba",
        "0",
        "--nlb",
        "7",
        "--data-input",
        &zeros,
    ]);
    assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");

    let mut ones = vec![0u8; 4096];
    ones[1000] = 1;
    let ones = s.file("ones.bin", &ones);
    fails_with(
        1,
        &[
            "lblk",
            "compare",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "7",
            "--data-input",
            &ones,
        ],
        &["compare failed", "Compare Failure"],
    );
}

#[test]
fn file_round_trip() {
    // Files as namespaces: write a pattern, read it back, compare.
    let s = Scratch::new("file");
    let img = s.file("ns.img", &vec![0u8; 1 << 20]);
    let y = ok(&["info", &img]);
    assert_eq!(yaml_value(&y, "dtype"), Some("4"), "{y}");
    assert!(y.contains(&format!("name: '{FILE_DEFAULT_BE}'")), "{y}");
    let input: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let input_path = s.file("in.bin", &input);
    ok(&[
        "lblk",
        "write",
        &img,
        "--slba",
        "2",
        "--nlb",
        "7",
        "--data-input",
        &input_path,
    ]);
    let out = s.path("out.bin");
    ok(&[
        "lblk",
        "read",
        &img,
        "--slba",
        "2",
        "--nlb",
        "7",
        "--data-output",
        &out,
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), input);
    ok(&[
        "lblk",
        "compare",
        &img,
        "--slba",
        "2",
        "--nlb",
        "7",
        "--data-input",
        &input_path,
    ]);
    fails_with(
        1,
        &[
            "lblk",
            "compare",
            &img,
            "--slba",
            "3",
            "--nlb",
            "7",
            "--data-input",
            &input_path,
        ],
        &["Compare Failure"],
    );

    // Without --data-input the pattern is written, and reads back.
    ok(&["lblk", "write", &img, "--slba", "0", "--nlb", "0"]);
    let y = ok(&["lblk", "read", &img, "--slba", "0", "--nlb", "0"]);
    assert!(
        y.contains("- '0000: 30 31 32 33 34 35 36 37 38 39 61 62"),
        "{y}"
    );

    // A file that does not exist is opened only with --create.
    let new = s.path("new.img");
    fails_with(1, &["info", &new], &["new.img"]);
    ok(&["info", &new, "--create"]);
    assert!(std::path::Path::new(&new).exists());
}

#[test]
fn separate_metadata_formats() {
    let s = Scratch::new("meta");
    let y = ok(&["lblk", "write", "64MiB?lbaf=1", "--slba", "0", "--nlb", "1"]);
    assert_eq!(yaml_value(&y, "meta_nbytes"), Some("16"), "{y}");
    let mout = s.path("meta.bin");
    ok(&[
        "lblk",
        "read",
        "64MiB?lbaf=1",
        "--slba",
        "0",
        "--nlb",
        "1",
        "--meta-output",
        &mout,
    ]);
    assert_eq!(std::fs::read(&mout).expect("meta-output written").len(), 16);
    let zeros = s.file("zeros.bin", &[0; 1024]);
    fails_with(
        1,
        &[
            "lblk",
            "compare",
            "64MiB?lbaf=1",
            "--slba",
            "0",
            "--nlb",
            "1",
            "--data-input",
            &zeros,
        ],
        &["--meta-input"],
    );
    let mzeros = s.file("mzeros.bin", &[0; 16]);
    ok(&[
        "lblk",
        "compare",
        "64MiB?lbaf=1",
        "--slba",
        "0",
        "--nlb",
        "1",
        "--data-input",
        &zeros,
        "--meta-input",
        &mzeros,
    ]);
    let mshort = s.file("mshort.bin", &[0; 4]);
    fails_with(
        1,
        &[
            "lblk",
            "write",
            "64MiB?lbaf=1",
            "--slba",
            "0",
            "--nlb",
            "1",
            "--meta-input",
            &mshort,
        ],
        &["--meta-input", "4 bytes"],
    );
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nvmx"))
        .args(["idfy-ctrlr", "64MiB"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nvmx runs");
    // Close the pipe after reading nothing.
    drop(child.stdout.take());
    let status = child.wait().expect("nvmx exits");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr readable");
    assert!(status.success(), "{status:?} {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn bad_backend_and_interface_names_list_the_known_ones() {
    fails_with(
        1,
        &["info", "64MiB", "--be", "foo"],
        &["--be", "foo", "ramdisk", "emu_file"],
    );
    fails_with(
        1,
        &["info", "64MiB", "--async", "nope"],
        &["--async", "nope", "thrpool"],
    );
    fails_with(1, &["enum", "--be", ""], &["be", "empty"]);
}

#[test]
fn bad_uris() {
    fails_with(1, &["info", "1XB"], &["ramdisk size", "1XB"]);
    let s = Scratch::new("uris");
    fails_with(1, &["info", s.0.to_str().unwrap()], &["directory"]);
    let missing = s.path("does-not-exist.img");
    fails_with(1, &["info", &missing], &["does-not-exist.img"]);
}

#[test]
fn bad_numbers_and_missing_arguments_are_usage_errors() {
    fails_with(
        2,
        &["lblk", "read", "64MiB", "--slba", "zz", "--nlb", "0"],
        &["--slba", "zz", "not a number"],
    );
    fails_with(2, &["lblk", "read", "64MiB", "--slba", "0"], &["--nlb"]);
    fails_with(
        2,
        &["lblk", "read", "64MiB", "--slba", "0", "--nlb", "65536"],
        &["--nlb", "65535"],
    );
    fails_with(2, &["idfy", "64MiB"], &["--cns"]);
    fails_with(2, &["info"], &["URI"]);
    fails_with(
        2,
        &["info", "64MiB", "--output", "xml"],
        &["--output", "xml"],
    );
    fails_with(2, &["frobnicate"], &["frobnicate"]);
}

#[test]
fn bad_ranges_and_inputs() {
    fails_with(
        1,
        &["lblk", "read", "64MiB", "--slba", "131072", "--nlb", "0"],
        &["LBA out of range", "131072"],
    );
    fails_with(
        1,
        &[
            "lblk",
            "write-zeros",
            "64MiB",
            "--slba",
            "131071",
            "--nlb",
            "1",
        ],
        &["LBA out of range"],
    );
    let s = Scratch::new("inputs");
    let missing = s.path("missing.bin");
    fails_with(
        1,
        &[
            "lblk",
            "write",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--data-input",
            &missing,
        ],
        &["--data-input", "missing.bin"],
    );
    let short = s.file("short.bin", &[1; 100]);
    fails_with(
        1,
        &[
            "lblk",
            "write",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--data-input",
            &short,
        ],
        &["--data-input", "100 bytes", "512"],
    );
    fails_with(
        1,
        &[
            "lblk",
            "compare",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "1",
            "--data-input",
            &short,
        ],
        &["100 bytes"],
    );
    fails_with(
        1,
        &[
            "lblk",
            "write",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--data-input",
            s.0.to_str().unwrap(),
        ],
        &["directory"],
    );
    fails_with(
        1,
        &[
            "lblk",
            "read",
            "64MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--meta-output",
            &s.path("m.bin"),
        ],
        &["--meta-output", "metadata"],
    );
}

#[test]
fn bad_device_options() {
    fails_with(1, &["info", "64MiB", "--dev-nsid", "0"], &["dev-nsid"]);
    fails_with(
        1,
        &["info", "64MiB", "--dev-nsid", "one"],
        &["dev-nsid", "one"],
    );
    fails_with(
        1,
        &["info", "64MiB", "--create-mode", "xyz"],
        &["create-mode", "xyz"],
    );
    fails_with(
        1,
        &["info", "64MiB", "--rdonly", "--wronly"],
        &["rdonly", "wronly"],
    );
}

#[test]
fn help_and_version_succeed() {
    let h = ok(&["--help"]);
    for sub in [
        "enum",
        "info",
        "idfy",
        "idfy-ctrlr",
        "idfy-ns",
        "library-info",
        "lblk",
    ] {
        assert!(h.contains(sub), "{sub} missing from help");
    }
    let h = ok(&["lblk", "read", "--help"]);
    assert!(h.contains("zero-based"), "{h}");
    assert!(
        h.contains("--dev-nsid") && h.contains("--poll_io") && h.contains("--create-mode"),
        "{h}"
    );
    assert!(ok(&["--version"]).starts_with("nvmx "));
}
