//! Runs `nvmx xdd` and `nvmx file` and checks the bytes they move, what
//! they print, and how they refuse bad input.
//!
//! A ramdisk lives inside one process, so what `xdd` writes to one cannot
//! be read back by another run; copies through ramdisks are checked
//! in-process by the unit tests of `cmd_xdd`. Here the data checks go
//! through files.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Reproducible bytes that differ from block to block.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The `anum` pattern the `file` subcommands write.
fn anum(len: usize) -> Vec<u8> {
    const ANUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    ANUM.iter().cycle().take(len).copied().collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Asserts that `got` equals `want`, naming the first differing byte.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: byte {i} is {:#04x}, expected {:#04x}",
            got[i], want[i]
        );
    }
}

// --- xdd ------------------------------------------------------------------

#[test]
fn xdd_sync_and_async_copy_a_file_byte_for_byte() {
    let s = Scratch::new("copy");
    let bytes = data(1_000_003, 1);
    let input = s.file("in", &bytes);
    for mode in ["sync", "async"] {
        let out = s.path(mode);
        let y = ok(&[
            "xdd",
            mode,
            "--data-input",
            &input,
            "--data-output",
            &out,
            "--data-nbytes",
            "1000003",
        ]);
        assert_same(&s.read(mode), &bytes, mode);
        assert!(
            y.starts_with(&format!("# xdd {mode}: 1000003 bytes")),
            "{y}"
        );
        assert_eq!(yaml_value(&y, "mode"), Some(&*format!("'{mode}'")), "{y}");
        assert_eq!(yaml_value(&y, "data_nbytes"), Some("1000003"), "{y}");
        assert_eq!(yaml_value(&y, "iosize"), Some("131072"), "{y}");
        assert_eq!(yaml_value(&y, "nchunks"), Some("8"), "{y}");
        assert_eq!(
            yaml_value(&y, "be_input"),
            Some(&*format!("'{FILE_DEFAULT_BE}'")),
            "{y}"
        );
        let qdepth = if mode == "async" { "8" } else { "1" };
        assert_eq!(yaml_value(&y, "qdepth"), Some(qdepth), "{y}");
        assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");
        for key in ["elapsed_secs", "mb_per_sec"] {
            let v = yaml_value(&y, key).expect(key);
            assert!(v.parse::<f64>().is_ok_and(|f| f >= 0.0), "{key}: {v}");
        }
    }
}

#[test]
fn xdd_async_through_every_file_configuration() {
    let s = Scratch::new("configs");
    let bytes = data(300_001, 2);
    let input = s.file("in", &bytes);
    let mut configs = vec!["emu_file", "thrpool_file"];
    if cfg!(target_os = "linux") {
        configs.extend(["io_uring_file", "libaio_file", "posix_file"]);
    }
    if cfg!(windows) {
        configs.extend(["iocp_file", "iocp_th_file"]);
    }
    for be in configs {
        for qdepth in ["1", "3", "16"] {
            let name = format!("{be}-{qdepth}");
            let out = s.path(&name);
            let j = parse_json(&ok(&[
                "xdd",
                "async",
                "--data-input",
                &input,
                "--data-output",
                &out,
                "--data-nbytes",
                "300001",
                "--iosize",
                "8K",
                "--qdepth",
                qdepth,
                "--be",
                be,
                "--output",
                "json",
            ]));
            assert_same(&s.read(&name), &bytes, &name);
            assert_eq!(j["xdd"]["be_input"], be);
            assert_eq!(j["xdd"]["be_output"], be);
            assert_eq!(j["xdd"]["iosize"], 8192);
            assert_eq!(j["xdd"]["nchunks"], 37);
            assert_eq!(j["xdd"]["qdepth"], qdepth.parse::<u64>().unwrap());
        }
    }
    // --async picks the file configuration that has it.
    let out = s.path("async-thrpool");
    let j = parse_json(&ok(&[
        "xdd",
        "async",
        "--data-input",
        &input,
        "--data-output",
        &out,
        "--data-nbytes",
        "300001",
        "--async",
        "thrpool",
        "--output",
        "json",
    ]));
    assert_eq!(j["xdd"]["be_output"], "thrpool_file");
    assert_same(&s.read("async-thrpool"), &bytes, "--async thrpool");
}

#[test]
fn xdd_tails_and_offsets_copy_exactly_the_range() {
    let s = Scratch::new("tails");
    let bytes = data(20_000, 3);
    let input = s.file("in", &bytes);
    // Odd sizes: shorter than a block, just over, not a multiple of the
    // iosize, reaching the input's partial last block.
    for (nbytes, offset) in [
        (1, 0),
        (511, 0),
        (513, 512),
        (4097, 1024),
        (18_976, 1024),
        (20_000, 0),
    ] {
        for mode in ["sync", "async"] {
            let name = format!("out-{mode}-{nbytes}-{offset}");
            let out = s.path(&name);
            // An older, longer file is cut to offset + nbytes.
            s.file(&name, &[0xee; 30_000]);
            let (n, o) = (nbytes.to_string(), offset.to_string());
            ok(&[
                "xdd",
                mode,
                "--data-input",
                &input,
                "--data-output",
                &out,
                "--data-nbytes",
                &n,
                "--offset",
                &o,
                "--iosize",
                "1024",
            ]);
            let got = s.read(&name);
            assert_eq!(got.len(), offset + nbytes, "{name}: output length");
            assert_same(
                &got[offset..],
                &bytes[offset..offset + nbytes],
                &format!("{name}: copied range"),
            );
            assert!(
                got[..offset].iter().all(|&b| b == 0xee),
                "{name}: bytes before --offset changed"
            );
        }
    }
}

#[test]
fn xdd_with_ramdisks() {
    let s = Scratch::new("ramdisk");
    let input = s.file("in", &data(100_000, 4));
    // File to ramdisk: the copy runs and reports; the data stays in the
    // process (checked in-process by the unit tests).
    let y = ok(&[
        "xdd",
        "async",
        "--data-input",
        &input,
        "--data-output",
        "1MiB?lbaf=2",
        "--data-nbytes",
        "100000",
    ]);
    assert!(
        yaml_value(&y, "be_output").is_some_and(|b| b.starts_with("'ramdisk")),
        "{y}"
    );
    // A fresh ramdisk reads as zeroes.
    let out = s.path("zeroes");
    ok(&[
        "xdd",
        "sync",
        "--data-input",
        "64KiB",
        "--data-output",
        &out,
        "--data-nbytes",
        "5000",
    ]);
    assert_same(&s.read("zeroes"), &[0; 5000], "ramdisk to file");
}

/// Each end's role sets its access mode: `--rdonly`, `--wronly` (even
/// both) do not stop the output from being written.
#[test]
fn xdd_ends_take_their_mode_from_their_role() {
    let s = Scratch::new("mode");
    let input = s.file("in", &data(5000, 9));
    for flags in [&["--rdonly"][..], &["--wronly"], &["--rdonly", "--wronly"]] {
        let out = s.path("out");
        let mut args = vec![
            "xdd",
            "sync",
            "--data-input",
            &input,
            "--data-output",
            &out,
            "--data-nbytes",
            "5000",
        ];
        args.extend_from_slice(flags);
        ok(&args);
        assert_same(&s.read("out"), &data(5000, 9), &format!("{flags:?}"));
    }
}

#[test]
fn xdd_direct_io() {
    let mut ran = 0;
    let mut dirs = vec![std::env::temp_dir()];
    if Path::new("/dev/shm").is_dir() {
        dirs.push(PathBuf::from("/dev/shm"));
    }
    for dir in dirs {
        let s = Scratch::in_dir(&dir, "direct");
        let bytes = data(150_000, 5);
        let input = s.file("in", &bytes);
        for mode in ["sync", "async"] {
            let out = s.path(mode);
            let args = [
                "xdd",
                mode,
                "--data-input",
                &input,
                "--data-output",
                &out,
                "--data-nbytes",
                "150000",
                "--iosize",
                "64K",
                "--direct",
            ];
            let o = nvmx(&args);
            if !o.status.success() {
                let err = stderr(&o);
                // tmpfs and some other filesystems refuse O_DIRECT.
                assert!(err.contains("Invalid argument"), "{}: {err}", dir.display());
                println!("{} refuses O_DIRECT ({})", dir.display(), err.trim());
                break;
            }
            assert_same(&s.read(mode), &bytes, &format!("--direct {mode}"));
            ran += 1;
        }
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

#[test]
fn xdd_refuses_bad_input() {
    let s = Scratch::new("errors");
    let input = s.file("in", &data(10_000, 6));
    let out = s.path("out");
    let run = |extra: &[&str], nbytes: &str| -> Vec<String> {
        let mut v: Vec<String> = [
            "xdd",
            "sync",
            "--data-input",
            &input,
            "--data-output",
            &out,
            "--data-nbytes",
            nbytes,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let check = |args: Vec<String>, words: &[&str]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_with(1, &a, words)
    };
    let missing = s.path("missing");
    fails_with(
        1,
        &[
            "xdd",
            "sync",
            "--data-input",
            &missing,
            "--data-output",
            &out,
            "--data-nbytes",
            "512",
        ],
        &["--data-input", "missing", "no such file"],
    );
    assert!(
        !Path::new(&out).exists(),
        "output created for a failed copy"
    );
    check(run(&[], "10001"), &["--data-input", "10001", "holds 10000"]);
    check(run(&[], "0"), &["--data-nbytes 0"]);
    check(
        run(&["--iosize", "1000"], "512"),
        &["--iosize 1000", "512-byte"],
    );
    check(run(&["--iosize", "0"], "512"), &["--iosize 0"]);
    check(
        run(&["--iosize", "2M"], "512"),
        &["--iosize 2097152", "1048576"],
    );
    check(
        run(&["--offset", "100"], "512"),
        &["--offset 100", "512-byte"],
    );
    check(
        run(&["--offset", "9728"], "512"),
        &["--data-input", "needs 10240 bytes", "holds 10000"],
    );
    // Output devices do not grow.
    fails_with(
        1,
        &[
            "xdd",
            "sync",
            "--data-input",
            &input,
            "--data-output",
            "8KiB",
            "--data-nbytes",
            "10000",
        ],
        &["--data-output", "8KiB", "needs 10240", "holds 8192"],
    );
    // Block sizes of both ends count.
    fails_with(
        1,
        &[
            "xdd",
            "sync",
            "--data-input",
            &input,
            "--data-output",
            "64KiB?lbaf=2",
            "--data-nbytes",
            "512",
            "--iosize",
            "512",
        ],
        &["--iosize 512", "4096-byte"],
    );
    for q in ["0", "2049"] {
        fails_with(
            1,
            &[
                "xdd",
                "async",
                "--data-input",
                &input,
                "--data-output",
                &out,
                "--data-nbytes",
                "512",
                "--qdepth",
                q,
            ],
            &[&format!("--qdepth {q}"), "2048"],
        );
    }
    // A refused copy leaves no output file behind.
    assert!(!Path::new(&out).exists(), "refused copies created {out}");
    // Command lines that do not parse exit with 2.
    fails_with(
        2,
        &["xdd", "sync", "--data-input", &input, "--data-output", &out],
        &["--data-nbytes"],
    );
    fails_with(
        2,
        &[
            "xdd",
            "async",
            "--data-input",
            &input,
            "--data-output",
            &out,
            "--data-nbytes",
            "1TB",
        ],
        &["1TB", "unit"],
    );
    fails_with(
        2,
        &[
            "xdd",
            "async",
            "--data-input",
            &input,
            "--data-output",
            &out,
            "--data-nbytes",
            "512",
            "--qdepth",
            "many",
        ],
        &["--qdepth", "many"],
    );
}

// --- file -----------------------------------------------------------------

#[test]
fn file_write_read_round_trips() {
    let s = Scratch::new("write-read");
    let f = s.path("wr");
    let y = ok(&["file", "write-read", &f, "12345"]);
    assert!(y.starts_with("# file write-read: wrote 12345 bytes"), "{y}");
    assert_eq!(yaml_value(&y, "data_nbytes"), Some("12345"), "{y}");
    assert_eq!(yaml_value(&y, "data_pattern"), Some("'anum'"), "{y}");
    assert_eq!(yaml_value(&y, "status"), Some("'ok'"), "{y}");
    assert_same(&s.read("wr"), &anum(12345), "write-read file");
    let j = parse_json(&ok(&[
        "file",
        "write-read",
        &f,
        "100K",
        "--iosize",
        "4K",
        "--be",
        "thrpool_file",
        "--output",
        "json",
    ]));
    assert_eq!(j["file_write_read"]["data_nbytes"], 102_400);
    assert_eq!(j["file_write_read"]["nchunks"], 25);
    assert_eq!(j["file_write_read"]["be"], "thrpool_file");
    assert_same(&s.read("wr"), &anum(102_400), "write-read 100K");
}

#[test]
fn file_dumps_write_the_pattern() {
    let s = Scratch::new("dump");
    let nbytes = 100_001;
    let cases: &[(&str, &[&str])] = &[
        ("dump-sync", &[]),
        ("dump-async", &["--qdepth", "3"]),
        ("dump-sync-iovec", &["--vec-cnt", "3"]),
        ("dump-async-iovec", &["--vec-cnt", "16"]),
        ("dump-async", &["--be", "io_uring_file"]),
        ("dump-async", &["--be", "libaio_file"]),
        ("dump-async", &["--be", "posix_file"]),
        ("dump-sync-iovec", &["--be", "thrpool_file"]),
    ];
    for (i, (cmd, extra)) in cases.iter().enumerate() {
        // Configurations this platform does not have are not tried.
        let here = |be: &&str| nvmx::be::config::configs().iter().any(|c| c.name == *be);
        if extra.len() == 2 && extra[0] == "--be" && !here(&extra[1]) {
            continue;
        }
        let name = format!("{cmd}-{i}");
        let f = s.path(&name);
        let mut args = vec![
            "file",
            cmd,
            &f,
            "--data-nbytes",
            "100001",
            "--iosize",
            "8K",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        let j = parse_json(&ok(&args));
        let d = &j["file_dump"];
        assert_eq!(d["data_nbytes"], nbytes, "{name}");
        assert_eq!(d["nchunks"], 13, "{name}");
        assert_eq!(d["data_pattern"], "anum", "{name}");
        if cmd.ends_with("iovec") {
            assert!(d["vec_cnt"].as_u64().is_some(), "{name}: {d}");
        }
        if *cmd == "dump-async" {
            assert!(d["qdepth"].as_u64().is_some(), "{name}: {d}");
        }
        assert_same(&s.read(&name), &anum(nbytes), &name);
    }
}

#[test]
fn file_load_prints_size_and_checksum() {
    let s = Scratch::new("load");
    let bytes = data(70_007, 7);
    let f = s.file("in", &bytes);
    let sum = fnv1a(&bytes);
    for cmd in ["load-sync", "load-async"] {
        let j = parse_json(&ok(&[
            "file", cmd, &f, "--iosize", "4K", "--output", "json",
        ]));
        assert_eq!(j["file_load"]["data_nbytes"], 70_007, "{cmd}");
        assert_eq!(
            j["file_load"]["checksum_fnv1a"].as_u64(),
            Some(sum),
            "{cmd}"
        );
        let y = ok(&["file", cmd, &f, "--be", "thrpool_file"]);
        assert_eq!(
            yaml_value(&y, "checksum_fnv1a"),
            Some(&*format!("{sum:#x}")),
            "{y}"
        );
    }
    // Worker threads complete out of order; the checksum still folds the
    // chunks in file order.
    for be in ["thrpool_file", "posix_file"] {
        if be == "posix_file" && !cfg!(unix) {
            continue;
        }
        let j = parse_json(&ok(&[
            "file",
            "load-async",
            &f,
            "--be",
            be,
            "--iosize",
            "1K",
            "--qdepth",
            "16",
            "--output",
            "json",
        ]));
        assert_eq!(j["file_load"]["nchunks"], 69, "{be}");
        assert_eq!(j["file_load"]["checksum_fnv1a"].as_u64(), Some(sum), "{be}");
    }
    let empty = s.file("empty", b"");
    let j = parse_json(&ok(&["file", "load-async", &empty, "--output", "json"]));
    assert_eq!(j["file_load"]["data_nbytes"], 0);
    assert_eq!(j["file_load"]["checksum_fnv1a"].as_u64(), Some(fnv1a(b"")));
}

#[test]
fn file_copy_copies_whole_files() {
    let s = Scratch::new("file-copy");
    for (i, len) in [0usize, 1, 4096, 333_333].into_iter().enumerate() {
        let bytes = data(len, 8 + i as u64);
        let input = s.file(&format!("in{i}"), &bytes);
        for cmd in ["copy-sync", "copy-async"] {
            let name = format!("{cmd}-{i}");
            let out = s.path(&name);
            let j = parse_json(&ok(&[
                "file", cmd, &input, &out, "--iosize", "16K", "--output", "json",
            ]));
            assert_eq!(j["file_copy"]["data_nbytes"], len, "{name}");
            assert_same(&s.read(&name), &bytes, &name);
        }
    }
}

#[test]
fn file_refuses_bad_input() {
    let s = Scratch::new("file-errors");
    let f = s.file("in", &data(5000, 9));
    let missing = s.path("missing");
    fails_with(
        1,
        &["file", "load-sync", &missing],
        &["missing", "no such file"],
    );
    fails_with(
        1,
        &["file", "copy-async", &missing, &s.path("o")],
        &["missing", "no such file"],
    );
    fails_with(
        1,
        &["file", "load-sync", "64MiB"],
        &["64MiB", "not a regular file"],
    );
    fails_with(1, &["file", "write-read", &s.path("w"), "0"], &["nothing"]);
    fails_with(
        1,
        &["file", "dump-sync", &s.path("d"), "--data-nbytes", "0"],
        &["--data-nbytes 0"],
    );
    fails_with(
        1,
        &[
            "file",
            "dump-sync-iovec",
            &s.path("d"),
            "--data-nbytes",
            "512",
            "--vec-cnt",
            "0",
        ],
        &["--vec-cnt 0"],
    );
    fails_with(
        1,
        &["file", "load-async", &f, "--qdepth", "0"],
        &["--qdepth 0"],
    );
    fails_with(
        1,
        &["file", "load-sync", &f, "--iosize", "100"],
        &["--iosize 100", "512-byte"],
    );
    fails_with(2, &["file", "dump-sync", &s.path("d")], &["--data-nbytes"]);
    fails_with(2, &["file", "write-read", &s.path("w")], &["DATA_NBYTES"]);
    for made in ["w", "d", "o"] {
        assert!(
            !Path::new(&s.path(made)).exists(),
            "refused command created {made}"
        );
    }
}
