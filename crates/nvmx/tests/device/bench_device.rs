//! A measurement, not a test (ignored by default): random 4 KiB reads at
//! queue depth 32 through one configuration on one device, printing IOPS
//! and CPU time per I/O. testrig/vm/guest-upcie.sh runs it on the same
//! emulated controller through io_uring_cmd and then through the
//! user-space driver, and prints the ratio; only ratios between paths
//! mean anything under an emulated controller.
//!
//!   NVMX_BENCH_URI=/dev/ng0n1 NVMX_BENCH_BE=io_uring_cmd [NVMX_BENCH_NSID=1]
//!   [NVMX_BENCH_SECS=5] cargo test -p nvmx --test device bench_device:: -- --ignored --nocapture

// CPU time comes from getrusage: Unix only.
#![cfg(unix)]

use std::time::{Duration, Instant};

use nvmx::{Device, Options};

use crate::common;

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    assert_eq!(r, 0, "getrusage");
    // SAFETY: getrusage succeeded, so the struct is initialised.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[test]
#[ignore = "needs a device to measure (NVMX_BENCH_URI), a measurement: run by testrig/vm/guest-suite-upcie.sh"]
fn randread_4k_qd32() {
    let Some(uri) = common::env_var(common::BENCH, "NVMX_BENCH_URI") else {
        return;
    };
    let mut opts = Options {
        be: std::env::var("NVMX_BENCH_BE").ok(),
        ..Default::default()
    };
    if let Ok(n) = std::env::var("NVMX_BENCH_NSID") {
        opts.nsid = n.parse().expect("NVMX_BENCH_NSID is a number");
    }
    let secs: u64 = std::env::var("NVMX_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dev = Device::open(&uri, &opts).unwrap();
    let g = dev.geometry().unwrap().clone();
    let nlb = (4096 / g.lba_nbytes).max(1) as u16 - 1;
    let span = (g.nsect / (u64::from(nlb) + 1)).min(1 << 16);
    let qd = 32;
    let mut q = dev.queue(qd).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % span) * (u64::from(nlb) + 1)
    };
    for _ in 0..qd {
        q.read(next(), nlb, dev.alloc(4096).unwrap(), None, 0)
            .unwrap();
    }
    let (t, c) = (Instant::now(), cpu_time());
    let mut ios = 0u64;
    while t.elapsed() < Duration::from_secs(secs) {
        q.wait().unwrap();
        while let Some(done) = q.pop() {
            done.result.unwrap();
            ios += 1;
            q.read(next(), nlb, done.data.unwrap(), None, 0).unwrap();
        }
    }
    let (wall, cpu) = (t.elapsed(), cpu_time() - c);
    q.drain().unwrap();
    println!(
        "bench: be={} uri={uri} iops={:.0} cpu_ns_per_io={:.0}",
        dev.config().name,
        ios as f64 / wall.as_secs_f64(),
        cpu.as_nanos() as f64 / ios.max(1) as f64
    );
}
