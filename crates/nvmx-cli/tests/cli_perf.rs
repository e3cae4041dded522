//! `nvmx perf run`: the report's shape and figures, the verify pattern,
//! several queues and devices, and every bad input refused by name.

mod common;

use common::{fails, fails_with, json};

#[test]
fn randread_on_the_ramdisk_reports_every_figure() {
    let r = json(&[
        "perf", "run", "64MiB", "--be", "ramdisk", "--qdepth", "8", "--count", "5000", "--quiet",
    ]);
    let t = &r["total"];
    assert_eq!(t["ios"], 5000);
    assert!(t["iops"].as_f64().unwrap() > 0.0);
    assert!(t["mib_s"].as_f64().unwrap() > 0.0);
    // CPU time comes from getrusage (Unix); elsewhere it is left out.
    if cfg!(unix) {
        assert!(t["cpu_ns_per_io"].as_f64().unwrap() > 0.0);
    } else {
        assert!(t.get("cpu_ns_per_io").is_none(), "{t}");
    }
    let lat = &t["lat_ns"];
    let p = |k: &str| lat[k].as_u64().unwrap();
    assert!(p("min") <= p("p50") && p("p50") <= p("p99") && p("p99") <= p("max"));
    assert_eq!(t["errors"], 0);
    let jobs = r["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["engine"], "nil");
    assert_eq!(r["iopattern"], "randread");
}

#[test]
fn no_latency_leaves_the_histogram_out() {
    let r = json(&[
        "perf",
        "run",
        "8MiB",
        "--be",
        "ramdisk",
        "--count",
        "100",
        "--no-latency",
        "--quiet",
    ]);
    assert!(r["total"].get("lat_ns").is_none(), "{r}");
    assert!(r.get("clock").is_none(), "{r}");
}

#[test]
fn the_report_names_the_clock_and_both_clocks_time_alike() {
    let run = |clock: &str| {
        json(&[
            "perf",
            "run",
            "8MiB",
            "--be",
            "ramdisk_emu",
            "--count",
            "2000",
            "--clock",
            clock,
            "--quiet",
        ])
    };
    let m = run("monotonic");
    assert_eq!(m["clock"], "monotonic");
    let a = run("auto");
    let tsc = a["clock"] == "tsc";
    assert!(tsc || a["clock"] == "monotonic", "{a}");
    // Both clocks count nanoseconds: the same work's median latency is
    // within a factor of 20 either way (a unit error would be 1000x or a
    // clock-rate factor), never zero.
    let p50 = |r: &serde_json::Value| r["total"]["lat_ns"]["p50"].as_u64().unwrap();
    let (pm, pa) = (p50(&m), p50(&a));
    assert!(pm > 0 && pa > 0, "monotonic {pm} auto {pa}");
    assert!(
        pa < pm * 20 && pm < pa * 20,
        "monotonic {pm} ns, {} {pa} ns",
        a["clock"]
    );
}

#[test]
fn verify_writes_and_reads_back_every_block_on_two_queues_and_two_devices() {
    let r = json(&[
        "perf",
        "run",
        "4MiB",
        "4MiB?lbaf=2",
        "--be",
        "ramdisk_emu",
        "--iopattern",
        "verify",
        "--qdepth",
        "4",
        "--nqueues",
        "2",
        "--quiet",
    ]);
    let jobs = r["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4);
    // 4 MiB split over two queues: 512 commands of 4 KiB each, written
    // then read; every block checked (512 B blocks: 8 per command).
    assert_eq!(jobs[0]["ios"], 1024);
    assert_eq!(jobs[0]["verified_blocks"], 4096);
    assert_eq!(jobs[2]["verified_blocks"], 512);
    assert_eq!(r["total"]["mismatches"], 0);
}

#[test]
fn sequential_writes_then_reads_on_a_file_with_threads() {
    let dir = std::env::temp_dir().join(format!("nvmx-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("f");
    std::fs::write(&f, vec![0u8; 1 << 20]).unwrap();
    let fs = f.to_str().unwrap();
    for pat in ["write", "read", "randwrite", "verify"] {
        let r = json(&[
            "perf",
            "run",
            fs,
            "--be",
            "thrpool_file",
            "--iopattern",
            pat,
            "--qdepth",
            "3",
            "--count",
            "200",
            "--quiet",
        ]);
        assert_eq!(r["total"]["errors"], 0, "{pat}: {r}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// perf opens io_uring queues with DEFER_TASKRUN unless told not to; both
/// ways the verify pattern reads back every block it wrote, on one queue
/// and on two (two threads, each owning its ring).
#[cfg(target_os = "linux")]
#[test]
fn io_uring_verify_with_and_without_defer_taskrun() {
    let dir = std::env::temp_dir().join(format!("nvmx-perf-defer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("f");
    std::fs::write(&f, vec![0u8; 1 << 20]).unwrap();
    let fs = f.to_str().unwrap();
    for (extra, on) in [(None, true), (Some("--defer_taskrun=0"), false)] {
        for nq in ["1", "2"] {
            let mut args = vec![
                "perf",
                "run",
                fs,
                "--be",
                "io_uring_file",
                "--iopattern",
                "verify",
                "--qdepth",
                "16",
                "--nqueues",
                nq,
                "--quiet",
            ];
            args.extend(extra);
            let r = json(&args);
            assert_eq!(r["defer_taskrun"], on, "{args:?}: {r}");
            assert_eq!(r["total"]["errors"], 0, "{args:?}: {r}");
            assert_eq!(r["total"]["mismatches"], 0, "{args:?}: {r}");
            assert_eq!(r["jobs"][0]["engine"], "io_uring", "{r}");
            assert_eq!(
                r["jobs"][0]["verified_blocks"].as_u64().unwrap() * nq.parse::<u64>().unwrap(),
                2048,
                "{r}"
            );
        }
    }
    fails(
        &[
            "perf",
            "run",
            fs,
            "--be",
            "io_uring_file",
            "--defer_taskrun=2",
            "--count",
            "1",
        ],
        &["defer_taskrun", "\"2\""],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_inputs_are_refused_by_name() {
    let base = ["perf", "run", "8MiB", "--be", "ramdisk", "--count", "10"];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    fails(&with(&base, &["--qdepth", "0"]), &["--qdepth 0"]);
    fails(&with(&base, &["--qdepth", "5000"]), &["--qdepth 5000"]);
    fails(
        &with(&base, &["--iosize", "1000"]),
        &["--iosize 1000", "512-byte"],
    );
    fails(&with(&base, &["--iosize", "0"]), &["--iosize 0"]);
    fails(&with(&base, &["--nqueues", "0"]), &["--nqueues 0"]);
    fails(&with(&base, &["--cpulist", "3-1"]), &["backwards"]);
    fails(
        &with(&base, &["--iopattern", "verify"]),
        &["verify", "nil", "moves no data"],
    );
    fails(&["perf", "run", "8MiB", "--count", "0"], &["--count 0"]);
    fails_with(2, &with(&base, &["--clock", "sundial"]), &["sundial"]);
    fails_with(2, &["perf", "run", "8MiB", "--runtime", "0"], &["run time"]);
    fails_with(
        2,
        &["perf", "run", "8MiB", "--runtime", "1", "--count", "5"],
        &["--count"],
    );
    fails(
        &[
            "perf",
            "run",
            "64KiB",
            "--nqueues",
            "64",
            "--iosize",
            "4096",
        ],
        &["64 queues"],
    );
    fails(
        &["perf", "run", "/nonexistent/nvmx/dev"],
        &["/nonexistent/nvmx/dev"],
    );
    fails_with(2, &["perf", "run"], &["URI"]);
}

#[cfg(target_os = "linux")]
#[test]
fn cpulist_pins_the_threads() {
    let r = json(&[
        "perf",
        "run",
        "8MiB",
        "--be",
        "ramdisk",
        "--nqueues",
        "2",
        "--cpulist",
        "0",
        "--count",
        "100",
        "--quiet",
    ]);
    let jobs = r["jobs"].as_array().unwrap();
    assert!(jobs.iter().all(|j| j["cpu"] == 0), "{r}");
}
