//! The io_uring engines on this host: `io_uring_file` through devices and
//! queues on files in tmpfs and in the temp directory, both engines driven
//! directly through `EngineParams`, and the `io_uring_cmd` marshalling that
//! can be checked without an NVMe device.

#![cfg(target_os = "linux")]

mod commands;
mod completion;
mod defer_taskrun;
mod engine;
mod passthru;
mod queue;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx::be::linux::uring::{cmd, nvme_uring, rw};
use nvmx::be::{AsyncEngine, DataBuf, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx::buf::{fill_random, first_difference};
use nvmx::spec::cmd::NvmRw;
use nvmx::spec::status::{sc, sc_media, sct};
use nvmx::spec::{Command, Completion};
use nvmx::{Device, Error, Options, Queue, Uri};

use crate::common;

const BS: usize = 512;

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl TempFile {
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

/// A fresh sparse file of `nbytes` in `dir`.
fn temp_in(dir: &std::path::Path, tag: &str, nbytes: u64) -> TempFile {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = dir.join(format!(
        "nvmx-uring-{}-{tag}-{}.img",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&p).expect("create temp file");
    f.set_len(nbytes).expect("size temp file");
    TempFile(p)
}

/// The directories tested: tmpfs (when present) and the temp directory.
fn dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        v.push(shm);
    }
    v.push(std::env::temp_dir());
    v
}

fn opts_with(f: impl FnOnce(&mut Options)) -> Options {
    let mut o = Options {
        be: Some("io_uring_file".into()),
        ..Default::default()
    };
    f(&mut o);
    o
}

fn open(path: &str, opts: &Options) -> Device {
    let dev =
        Device::open(path, opts).unwrap_or_else(|e| panic!("open {path} with {:?}: {e}", opts.be));
    assert_eq!(dev.config().name, "io_uring_file");
    dev
}

/// Writes `nblocks` blocks one command each keeping the queue full, reads
/// them back the same way, and checks every byte.
fn roundtrip(q: &mut Queue, nblocks: u64, nlb: u16) {
    let dev = q.device().clone();
    let n = (usize::from(nlb) + 1) * BS;
    let step = u64::from(nlb) + 1;
    let mut next = 0;
    while next < nblocks || q.outstanding() > 0 {
        while next < nblocks {
            let mut b = dev.alloc(n).unwrap();
            fill_random(&mut b, next);
            match q.write(next, nlb, b, None, next) {
                Ok(()) => next += step,
                Err(r) => {
                    assert!(matches!(r.error, Error::Busy { .. }), "{}", r.error);
                    break;
                }
            }
        }
        if q.outstanding() == q.capacity() || next >= nblocks {
            q.wait().unwrap();
        }
        while let Some(c) = q.pop() {
            c.result
                .unwrap_or_else(|e| panic!("write at {}: {e}", c.tag));
        }
    }
    let mut next = 0;
    let mut checked = 0;
    while next < nblocks || q.outstanding() > 0 {
        while next < nblocks {
            match q.read(next, nlb, dev.alloc(n).unwrap(), None, next) {
                Ok(()) => next += step,
                Err(r) => {
                    assert!(matches!(r.error, Error::Busy { .. }), "{}", r.error);
                    break;
                }
            }
        }
        if q.outstanding() == q.capacity() || next >= nblocks {
            q.wait().unwrap();
        }
        while let Some(c) = q.pop() {
            check_read(c, n);
            checked += 1;
        }
    }
    assert_eq!(checked, nblocks.div_ceil(step));
}

/// Checks a read's completion: success, and the `n` bytes `roundtrip`
/// wrote at its tag's LBA. Returns the tag.
fn check_read(c: nvmx::Completed, n: usize) -> u64 {
    c.result
        .unwrap_or_else(|e| panic!("read at {}: {e}", c.tag));
    let mut want = vec![0u8; n];
    fill_random(&mut want, c.tag);
    assert_eq!(
        first_difference(&c.data.unwrap(), &want),
        None,
        "lba {}",
        c.tag
    );
    c.tag
}

fn raw(v: &mut [u8]) -> RawBuf {
    RawBuf {
        ptr: v.as_mut_ptr(),
        len: v.len(),
        id: 0,
    }
}

// --- a rough number ---------------------------------------------------------

/// 4 KiB random reads on a 1 GiB tmpfs file at queue depth 32 for ~3 s.
/// Run with `cargo test --release --test device linux_uring::bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_randread_4k_qd32_tmpfs() {
    let dir = PathBuf::from(std::env::var("NVMX_BENCH_DIR").unwrap_or_else(|_| "/dev/shm".into()));
    let nbytes: u64 = 1 << 30;
    let f = temp_in(&dir, "bench", 0);
    {
        use std::io::Write;
        let mut w =
            std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(&f.0).unwrap());
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..(nbytes >> 20) {
            w.write_all(&chunk).unwrap();
        }
    }
    let direct = std::env::var("NVMX_BENCH_DIRECT").is_ok();
    let sq = std::env::var("NVMX_BENCH_SQPOLL").is_ok();
    let dev = open(
        f.path(),
        &opts_with(|o| {
            o.direct = direct;
            o.poll_sq = sq;
        }),
    );
    let qd = 32;
    let mut q = dev.queue(qd).unwrap();
    let nblk = nbytes / 4096;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bufs: Vec<nvmx::Buffer> = (0..qd).map(|_| dev.alloc(4096).unwrap()).collect();
    let mut ios = 0u64;
    let t = Instant::now();
    let mut submit = |q: &mut Queue, b: nvmx::Buffer| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        q.read((x % nblk) * 8, 7, b, None, 0).unwrap();
    };
    for _ in 0..qd {
        submit(&mut q, bufs.pop().unwrap());
    }
    while t.elapsed() < Duration::from_secs(3) {
        // Block in the kernel when nothing is ready, as fio does, instead
        // of spinning against the io-wq workers for the CPU.
        if q.poke(0).unwrap() == 0 {
            q.wait().unwrap();
        }
        while let Some(c) = q.pop() {
            c.result.unwrap();
            ios += 1;
            submit(&mut q, c.data.unwrap());
        }
    }
    q.drain().unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "io_uring_file 4KiB randread qd{qd} direct={direct} sqpoll={sq}: {:.0} IOPS",
        ios as f64 / s
    );
}

/// In the QEMU guest, whose NVMe driver gets poll queues
/// (`nvme.poll_queues=1` on the kernel command line, see
/// testrig/vm/guest-suite.sh): `--poll_io` (IOPOLL, completions reaped by
/// polling the device's queue) round-trips through io_uring_cmd on the
/// generic node and through io_uring with `--direct` on the block device
/// of the 512 B namespace.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn poll_io_round_trips_on_an_nvme_namespace_with_poll_queues() {
    let (Some(cdev), Some(bdev)) = (
        common::env_var(common::GUEST, "NVMX_DEV_NVM512_CDEV"),
        common::env_var(common::GUEST, "NVMX_DEV_NVM512_BDEV"),
    ) else {
        return;
    };
    let name = std::path::Path::new(&bdev)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let io_poll = std::fs::read_to_string(format!("/sys/block/{name}/queue/io_poll")).unwrap();
    assert_eq!(
        io_poll.trim(),
        "1",
        "{bdev} has no poll queues: the guest kernel needs nvme.poll_queues"
    );
    for (be, uri, direct) in [("io_uring_cmd", &cdev, false), ("io_uring", &bdev, true)] {
        let opts = Options {
            be: Some(be.into()),
            poll_io: true,
            direct,
            ..Default::default()
        };
        let dev = Device::open(uri, &opts).unwrap_or_else(|e| panic!("{be} on {uri}: {e}"));
        assert_eq!(dev.geometry().unwrap().lba_nbytes as usize, BS);
        for cap in [1, 16] {
            let mut q = dev.queue(cap).unwrap();
            assert_eq!(q.engine_id(), be);
            roundtrip(&mut q, 64, 0);
            roundtrip(&mut q, 64, 3);
        }
    }
}
