//! The io_uring engines on this host: `io_uring_file` through devices and
//! queues on files in tmpfs and in the temp directory, both engines driven
//! directly through `EngineParams`, and the `io_uring_cmd` marshalling that
//! can be checked without an NVMe device.

#![cfg(target_os = "linux")]

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

// --- through a device and a queue -------------------------------------------

#[test]
fn queue_round_trip_at_qd_1_32_128_on_tmpfs_and_temp_dir() {
    for dir in dirs() {
        let f = temp_in(&dir, "rt", 8 << 20);
        let dev = open(f.path(), &opts_with(|_| {}));
        for cap in [1, 32, 128] {
            let mut q = dev.queue(cap).unwrap();
            assert_eq!(q.engine_id(), "io_uring");
            roundtrip(&mut q, 300, 0);
            roundtrip(&mut q, 256, 7);
            assert_eq!(q.outstanding(), 0);
        }
        // What the queue wrote, the sync path reads.
        let mut back = vec![0u8; 8 * BS];
        dev.read(8, 7, &mut back, None).unwrap();
        let mut want = vec![0u8; 8 * BS];
        fill_random(&mut want, 8);
        assert_eq!(first_difference(&back, &want), None, "{}", dir.display());
    }
}

#[test]
fn direct_io_round_trip_where_the_file_system_allows_it() {
    let mut ran = 0;
    for dir in [
        PathBuf::from("/var/tmp"),
        std::env::temp_dir(),
        PathBuf::from("/dev/shm"),
    ] {
        if !dir.is_dir() {
            continue;
        }
        let f = temp_in(&dir, "direct", 4 << 20);
        let dev = match Device::open(f.path(), &opts_with(|o| o.direct = true)) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: O_DIRECT open failed: {e}", dir.display());
                continue;
            }
        };
        let mut q = dev.queue(32).unwrap();
        roundtrip(&mut q, 128, 0);
        roundtrip(&mut q, 128, 7);
        ran += 1;
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

#[test]
fn poll_sq_round_trip() {
    let f = temp_in(&std::env::temp_dir(), "sqpoll", 4 << 20);
    let dev = open(f.path(), &opts_with(|o| o.poll_sq = true));
    let mut q = dev.queue(32).unwrap();
    roundtrip(&mut q, 200, 0);
    roundtrip(&mut q, 64, 3);
}

#[test]
fn register_files_round_trip_with_and_without_poll_sq() {
    for sq in [false, true] {
        let f = temp_in(&std::env::temp_dir(), "regfile", 4 << 20);
        let dev = open(
            f.path(),
            &opts_with(|o| {
                o.register_files = true;
                o.poll_sq = sq;
            }),
        );
        let mut q = dev.queue(16).unwrap();
        roundtrip(&mut q, 100, 1);
    }
}

// --- --defer_taskrun ----------------------------------------------------------

/// The ring is enabled by its first system call, so a queue made on one
/// thread and used on another works: the user becomes the single issuer.
#[test]
fn defer_taskrun_round_trip_on_a_queue_made_on_another_thread() {
    for dir in dirs() {
        let f = temp_in(&dir, "defer", 4 << 20);
        let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = true));
        let mut q = dev.queue(32).unwrap();
        std::thread::spawn(move || {
            roundtrip(&mut q, 300, 0);
            roundtrip(&mut q, 64, 7);
            drop(q);
        })
        .join()
        .unwrap();
        // A new queue on this thread owns its own ring.
        let mut q = dev.queue(8).unwrap();
        roundtrip(&mut q, 40, 1);
    }
}

/// A used queue moved to another thread answers an error naming the
/// option, and loses nothing: back on its owner it completes what was
/// submitted meanwhile, with the data.
#[test]
fn defer_taskrun_queue_moved_after_use_fails_clearly_and_loses_nothing() {
    use std::sync::mpsc::channel;
    let f = temp_in(&std::env::temp_dir(), "defer-move", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = true));
    let (to_main, from_owner) = channel::<Queue>();
    let (to_owner, from_main) = channel::<Queue>();
    let owner = std::thread::spawn(move || {
        let mut q = from_main.recv().unwrap();
        roundtrip(&mut q, 16, 0);
        to_main.send(q).unwrap();
        let mut q = from_main.recv().unwrap();
        assert_eq!(
            q.drain().unwrap(),
            4,
            "the four reads complete on the owner"
        );
        let mut tags = Vec::new();
        while let Some(c) = q.pop() {
            tags.push(check_read(c, BS));
        }
        tags.sort_unstable();
        assert_eq!(tags, [0, 1, 2, 3]);
    });
    to_owner.send(dev.queue(8).unwrap()).unwrap();
    let mut q = from_owner.recv().unwrap();
    for lba in 0..4 {
        q.read(lba, 0, dev.alloc(BS).unwrap(), None, lba).unwrap();
    }
    for e in [q.drain().unwrap_err(), q.poke(0).unwrap_err()] {
        let msg = e.to_string();
        assert!(
            msg.contains("--defer_taskrun") && msg.contains("another thread"),
            "{msg}"
        );
    }
    assert_eq!(q.outstanding(), 4);
    to_owner.send(q).unwrap();
    owner.join().unwrap();
}

#[test]
fn defer_taskrun_with_poll_sq_is_refused_naming_both() {
    let f = temp_in(&std::env::temp_dir(), "defer-sq", 1 << 20);
    let dev = open(
        f.path(),
        &opts_with(|o| {
            o.defer_taskrun = true;
            o.poll_sq = true;
        }),
    );
    let e = dev.queue(8).unwrap_err();
    assert!(
        matches!(&e, Error::Conflict { what: "options", why } if why.contains("defer_taskrun") && why.contains("poll_sq")),
        "{e}"
    );
}

#[test]
fn poll_io_without_direct_is_refused_with_a_clear_error() {
    let f = temp_in(&std::env::temp_dir(), "iopoll", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.poll_io = true));
    let e = dev.queue(8).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let m = e.to_string();
    assert!(m.contains("poll_io") && m.contains("--direct"), "{m}");
}

#[test]
fn poll_io_with_direct_works_or_says_the_file_cannot_be_polled() {
    let mut ran = 0;
    for dir in [std::env::temp_dir(), PathBuf::from("/dev/shm")] {
        if !dir.is_dir() {
            continue;
        }
        let f = temp_in(&dir, "iopoll-direct", 1 << 20);
        let Ok(dev) = Device::open(
            f.path(),
            &opts_with(|o| {
                o.poll_io = true;
                o.direct = true;
            }),
        ) else {
            println!("{}: no O_DIRECT", dir.display());
            continue;
        };
        let mut q = dev.queue(8).unwrap();
        let mut b = dev.alloc(BS).unwrap();
        b.fill("p").unwrap();
        q.write(3, 0, b, None, 0).unwrap();
        q.read(3, 0, dev.alloc(BS).unwrap(), None, 1).unwrap();
        q.drain().unwrap();
        // Each command either works or says this file cannot be polled (a
        // file system may poll some commands and not others).
        let mut order = Vec::new();
        while let Some(c) = q.pop() {
            order.push(c.tag);
            match c.result {
                Ok(_) => {
                    if c.tag == 1 {
                        let d = c.data.unwrap();
                        assert!(d.iter().all(|&x| x == b'p') || d.iter().all(|&x| x == 0));
                    }
                    println!("{} tag {}: polled I/O works", dir.display(), c.tag);
                }
                Err(e) => {
                    let m = e.to_string();
                    assert!(
                        matches!(*e, Error::Unsupported { .. }) && m.contains("poll_io"),
                        "{m}"
                    );
                    println!("{} tag {}: {m}", dir.display(), c.tag);
                }
            }
        }
        order.sort_unstable();
        assert_eq!(order, [0, 1]);
        assert!(
            dev.queue(8).unwrap().completion_fd().is_err(),
            "a polled queue has no completion fd"
        );
        ran += 1;
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

/// `--register_buffers` with a new buffer for every command: more
/// distinct buffers than the fixed table holds, so slots are registered
/// again and again (and some commands go without one); every byte checks.
#[test]
fn register_buffers_round_trip_with_fresh_buffers() {
    let mut direct_ran = 0;
    for dir in dirs() {
        for direct in [false, true] {
            let f = temp_in(&dir, "regbuf", 1 << 20);
            let dev = match Device::open(
                f.path(),
                &opts_with(|o| {
                    o.register_buffers = true;
                    o.direct = direct;
                }),
            ) {
                Ok(d) => d,
                // Only O_DIRECT may be refused, by the file system.
                Err(e) if direct => {
                    println!("{}: no O_DIRECT: {e}", dir.display());
                    continue;
                }
                Err(e) => panic!("{}: buffered open: {e}", dir.display()),
            };
            let mut q = dev.queue(32).unwrap();
            roundtrip(&mut q, 256, 0);
            roundtrip(&mut q, 64, 3);
            direct_ran += usize::from(direct);
        }
    }
    assert!(direct_ran > 0, "no directory here takes O_DIRECT");
}

/// `--register_buffers` the way a benchmark loop uses it: the same 16
/// buffers for 2000 commands, each read checked against what was written
/// there; then a buffer dropped and a new one (likely at the same address)
/// must not be served by the old registration.
#[test]
fn register_buffers_reused_buffers_read_back_what_was_written() {
    let f = temp_in(
        &std::path::PathBuf::from("/dev/shm"),
        "regbuf-reuse",
        256 * BS as u64,
    );
    let dev = open(f.path(), &opts_with(|o| o.register_buffers = true));
    let mut q = dev.queue(16).unwrap();
    let mut bufs: Vec<_> = (0..16).map(|_| Some(dev.alloc(BS).unwrap())).collect();
    let mut written = [0u64; 256];
    for round in 1..=125u64 {
        // 16 writes of fresh content, then 16 reads of the same blocks.
        for (i, b) in bufs.iter_mut().enumerate() {
            let lba = (round * 37 + i as u64 * 16) % 256;
            let mut buf = b.take().unwrap();
            written[lba as usize] = round * 1000 + lba;
            fill_random(&mut buf, written[lba as usize]);
            q.write(lba, 0, buf, None, i as u64).unwrap();
        }
        q.drain().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
            bufs[c.tag as usize] = c.data;
        }
        for (i, b) in bufs.iter_mut().enumerate() {
            let lba = (round * 37 + i as u64 * 16) % 256;
            let mut buf = b.take().unwrap();
            buf.fill("z").unwrap();
            q.read(lba, 0, buf, None, i as u64 | lba << 32).unwrap();
        }
        q.drain().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
            let lba = c.tag >> 32;
            let mut want = vec![0u8; BS];
            fill_random(&mut want, written[lba as usize]);
            let d = c.data.unwrap();
            assert_eq!(first_difference(&d, &want), None, "round {round} lba {lba}");
            bufs[(c.tag & 0xffff_ffff) as usize] = Some(d);
        }
    }
    // A new buffer in place of a dropped one reads into its own memory.
    drop(bufs);
    let b = dev.alloc(BS).unwrap();
    q.read(0, 0, b, None, 0).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    c.result.unwrap();
    let mut want = vec![0u8; BS];
    fill_random(&mut want, written[0]);
    assert!(written[0] != 0);
    assert_eq!(first_difference(&c.data.unwrap(), &want), None);
}

#[test]
fn reads_past_the_end_answer_lba_out_of_range() {
    let f = temp_in(&std::env::temp_dir(), "eof", 64 * BS as u64);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(4).unwrap();
    // Wholly past the end, and straddling it (one block read, then EOF).
    for (slba, nlb) in [(64u64, 0u16), (1000, 3), (63, 1)] {
        q.read(
            slba,
            nlb,
            dev.alloc((usize::from(nlb) + 1) * BS).unwrap(),
            None,
            slba,
        )
        .unwrap();
    }
    q.drain().unwrap();
    let mut n = 0;
    while let Some(c) = q.pop() {
        let e = c.result.unwrap_err();
        let st = e.status().unwrap_or_else(|| panic!("slba {}: {e}", c.tag));
        assert_eq!(
            (st.sct, st.sc),
            (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
            "slba {}",
            c.tag
        );
        n += 1;
    }
    assert_eq!(n, 3);
    // Offsets no file can have: overflowing 64 bits, ending past the
    // largest file offset, and one that would read as -1 ("the current
    // position") to the kernel.
    for slba in [
        u64::MAX >> 4,
        u64::MAX >> 9,
        (i64::MAX as u64) >> 9,
        u64::MAX,
    ] {
        let cmd = NvmRw {
            opc: 0x02,
            nsid: 1,
            slba,
            nlb: 0,
            ..Default::default()
        }
        .to_command();
        q.submit(cmd, Some(dev.alloc(BS).unwrap()), None, slba)
            .unwrap();
        q.drain().unwrap();
        let c = q.pop().unwrap();
        let st = c
            .result
            .unwrap_err()
            .status()
            .unwrap_or_else(|| panic!("slba {slba:#x}: no status"));
        assert_eq!(st.sc, sc::LBA_OUT_OF_RANGE, "slba {slba:#x}");
    }
}

#[test]
fn a_short_buffer_completes_with_an_error_naming_both_sizes() {
    let f = temp_in(&std::env::temp_dir(), "short", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(4).unwrap();
    let cmd = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    let mut b = dev.alloc(BS).unwrap();
    b.fill("u").unwrap();
    q.submit(cmd, Some(b), None, 1).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    let e = c.result.unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(
            *e,
            Error::ShortBuffer {
                len: 512,
                need: 4096,
                ..
            }
        ),
        "{m}"
    );
    assert!(
        c.data.unwrap().iter().all(|&x| x == b'u'),
        "the buffer is untouched"
    );
    // No buffer at all for a write.
    let cmd = NvmRw {
        opc: 0x01,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    q.submit(cmd, None, None, 2).unwrap();
    q.drain().unwrap();
    assert!(matches!(
        q.pop().unwrap().result.map_err(|e| *e),
        Err(Error::ShortBuffer { len: 0, .. })
    ));
}

#[test]
fn other_opcodes_run_through_the_sync_interface() {
    let f = temp_in(&std::env::temp_dir(), "other", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(8).unwrap();
    let mut b = dev.alloc(8 * BS).unwrap();
    b.fill("w").unwrap();
    let expect = b.to_vec();
    q.write(16, 7, b, None, 0).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
    // Compare: equal, then different.
    let cmp = NvmRw {
        opc: 0x05,
        nsid: 1,
        slba: 16,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    q.submit(
        cmp,
        Some(nvmx::Buffer::from_slice(&expect).unwrap()),
        None,
        1,
    )
    .unwrap();
    let mut other = expect.clone();
    other[100] ^= 1;
    q.submit(
        cmp,
        Some(nvmx::Buffer::from_slice(&other).unwrap()),
        None,
        2,
    )
    .unwrap();
    // Write Zeroes on the second half, and a Flush (fsync through the ring).
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 20,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    q.submit(wz, None, None, 3).unwrap();
    q.submit(Command::new(0x00, 1), None, None, 4).unwrap();
    q.drain().unwrap();
    let mut seen = [false; 5];
    while let Some(c) = q.pop() {
        seen[c.tag as usize] = true;
        match c.tag {
            2 => {
                let st = c.result.unwrap_err().status().unwrap();
                assert_eq!((st.sct, st.sc), (sct::MEDIA, sc_media::COMPARE_FAILURE));
            }
            _ => {
                c.result.unwrap_or_else(|e| panic!("tag {}: {e}", c.tag));
            }
        }
    }
    assert_eq!(seen, [false, true, true, true, true]);
    let mut back = vec![0u8; 8 * BS];
    dev.read(16, 7, &mut back, None).unwrap();
    assert!(back[..4 * BS].iter().all(|&x| x == b'w'));
    assert!(back[4 * BS..].iter().all(|&x| x == 0));
}

#[test]
fn completion_fd_becomes_readable_and_poke_clears_it() {
    completion_fd_round(false);
}

/// With `--defer_taskrun` the kernel signals the eventfd when it queues
/// completion work, and only a poke on the owning thread turns the work
/// into completions: an event loop must still never stall.
#[test]
fn completion_fd_with_defer_taskrun_becomes_readable_and_poke_clears_it() {
    completion_fd_round(true);
}

fn completion_fd_round(defer: bool) {
    let f = temp_in(&std::env::temp_dir(), "cfd", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = defer));
    let mut q = dev.queue(32).unwrap();
    let fd = q
        .completion_fd()
        .unwrap()
        .expect("io_uring has a completion fd");
    assert_eq!(
        q.completion_fd().unwrap(),
        Some(fd),
        "the same fd every time"
    );
    let readable = |ms: i32| {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        assert!(r >= 0, "poll: {}", std::io::Error::last_os_error());
        r == 1 && p.revents & libc::POLLIN != 0
    };
    assert!(!readable(0), "nothing submitted");
    for i in 0..32 {
        q.read(i, 0, dev.alloc(BS).unwrap(), None, i).unwrap();
    }
    // Queued, not yet submitted: the fd asks for the poke that submits.
    assert!(readable(0), "queued commands make the fd readable");
    let mut got = 0;
    let start = Instant::now();
    while got < 32 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "completions never signalled"
        );
        got += q.poke(0).unwrap();
        if got < 32 {
            assert!(
                readable(5000),
                "fd not readable with {} in flight",
                32 - got
            );
        }
    }
    // The kernel may signal the eventfd after the CQE is visible (it defers
    // the signal when a worker completes the request), so a late wake-up is
    // allowed: it must find nothing and must die out.
    let mut spurious = 0;
    while readable(20) {
        assert_eq!(q.poke(0).unwrap(), 0, "a late wake-up found work");
        spurious += 1;
        assert!(spurious < 3, "the fd stays readable with nothing to reap");
    }
    // Commands run at submit time (Write Zeroes) signal it too.
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    q.submit(wz, None, None, 99).unwrap();
    assert!(readable(1000));
    assert_eq!(q.poke(0).unwrap(), 1);
    assert!(!readable(0));
}

#[test]
fn dropping_a_queue_with_32_reads_in_flight_waits_for_them() {
    let f = temp_in(&std::env::temp_dir(), "dropq", 4 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    for _ in 0..3 {
        let mut q = dev.queue(32).unwrap();
        for i in 0..32 {
            q.read(i * 8, 7, dev.alloc(8 * BS).unwrap(), None, i)
                .unwrap();
        }
        q.poke(1).unwrap();
        let t = Instant::now();
        drop(q);
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    let mut q = dev.queue(32).unwrap();
    roundtrip(&mut q, 64, 0);
}

#[test]
fn poke_with_a_limit_reaps_no_more_than_asked() {
    let f = temp_in(&std::env::temp_dir(), "max", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(16).unwrap();
    for i in 0..16 {
        q.read(i, 0, dev.alloc(BS).unwrap(), None, i).unwrap();
    }
    let mut total = 0;
    let start = Instant::now();
    while total < 16 {
        assert!(start.elapsed() < Duration::from_secs(10));
        let n = q.poke(3).unwrap();
        assert!(n <= 3);
        total += n;
    }
    assert_eq!(q.outstanding(), 0);
}

// --- engines driven directly ------------------------------------------------

/// The psync interface of a file, with the parameters of a 512-byte
/// namespace, for engine-level tests.
struct Rig {
    sync: Arc<dyn SyncIo>,
    opts: Options,
    _f: TempFile,
}

impl Rig {
    fn new(tag: &str, opts: Options) -> Rig {
        let f = temp_in(&std::env::temp_dir(), tag, 1 << 20);
        let uri = Uri::parse(f.path()).unwrap();
        let be = nvmx::be::file::open(&uri, &opts).unwrap();
        Rig {
            sync: be.sync,
            opts,
            _f: f,
        }
    }

    fn params(&self, capacity: u32) -> EngineParams<'_> {
        EngineParams {
            sync: &self.sync,
            capacity,
            ssw: 9,
            lba_nbytes: BS as u32,
            opts: &self.opts,
        }
    }
}

fn raw(v: &mut [u8]) -> RawBuf {
    RawBuf {
        ptr: v.as_mut_ptr(),
        len: v.len(),
        id: 0,
    }
}

fn wait_all(e: &mut dyn AsyncEngine, n: u32) -> Vec<(u32, nvmx::Result<Completion>)> {
    let mut got = Vec::new();
    let start = Instant::now();
    while (got.len() as u32) < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "engine lost completions"
        );
        e.wait(
            Duration::from_millis(100),
            &mut EngineSink::from_fn(&mut |s, r| got.push((s, r))),
        )
        .unwrap();
    }
    got
}

#[test]
fn engine_wait_returns_after_the_timeout_with_nothing_in_flight() {
    for sq in [false, true] {
        let rig = Rig::new(
            "wait",
            Options {
                poll_sq: sq,
                ..Default::default()
            },
        );
        let mut e = rw::new_engine(&rig.params(8)).unwrap();
        let t = Instant::now();
        let n = e
            .wait(
                Duration::from_millis(150),
                &mut EngineSink::from_fn(&mut |_, _| panic!("nothing was submitted")),
            )
            .unwrap();
        let el = t.elapsed();
        assert_eq!(n, 0);
        assert!(
            el >= Duration::from_millis(140) && el < Duration::from_secs(3),
            "waited {el:?}"
        );
    }
}

#[test]
fn engine_write_read_with_own_buffers() {
    let rig = Rig::new("eng", Options::default());
    let mut e = rw::new_engine(&rig.params(4)).unwrap();
    assert_eq!(e.id(), "io_uring");
    let mut w = vec![0u8; 4 * BS];
    fill_random(&mut w, 5);
    let mut r = vec![0u8; 4 * BS];
    let wc = NvmRw {
        opc: 0x01,
        nsid: 1,
        slba: 10,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `w` outlives the engine's use of it (we wait for slot 0
    // before touching it) and nothing else accesses it meanwhile.
    unsafe { e.submit(0, &wc, raw(&mut w), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    assert_eq!(got[0].0, 0);
    got.into_iter()
        .for_each(|(_, r)| assert!(r.unwrap().is_success()));
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 10,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    // SAFETY: as above, for `r` and slot 3.
    unsafe { e.submit(3, &rc, raw(&mut r), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    assert_eq!(got[0].0, 3);
    assert_eq!(first_difference(&w, &r), None);
}

#[test]
fn engine_explains_a_misaligned_direct_buffer() {
    let rig = Rig::new(
        "misaligned",
        Options {
            direct: true,
            ..Default::default()
        },
    );
    let mut e = rw::new_engine(&rig.params(4)).unwrap();
    let mut v = vec![0u8; 2 * BS + 8];
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `v` stays alive and untouched until slot 0 is reported.
    unsafe { e.submit(0, &rc, raw(&mut v[1..=BS]), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    match &got[0].1 {
        Err(
            err @ Error::Misaligned {
                what: "data buffer",
                ..
            },
        ) => {
            let m = err.to_string();
            assert!(m.contains("Device::alloc"), "{m}");
        }
        // A kernel and device that take any alignment are fine too.
        Ok(_) => println!("misaligned direct read accepted here"),
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn engine_needs_a_file_descriptor() {
    struct NoFd;
    impl SyncIo for NoFd {
        fn id(&self) -> &'static str {
            "nofd"
        }
        fn cmd_io(
            &self,
            _: &mut Command,
            _: DataBuf<'_>,
            _: DataBuf<'_>,
        ) -> nvmx::Result<Completion> {
            Ok(Completion::success(0))
        }
    }
    let sync: Arc<dyn SyncIo> = Arc::new(NoFd);
    let opts = Options::default();
    let p = EngineParams {
        sync: &sync,
        capacity: 4,
        ssw: 9,
        lba_nbytes: 512,
        opts: &opts,
    };
    for (ctor, id) in [
        (rw::new_engine as nvmx::be::EngineCtor, "io_uring"),
        (cmd::new_engine, "io_uring_cmd"),
    ] {
        let m = ctor(&p).err().expect("refused").to_string();
        assert!(
            m.contains(&format!("{id} needs a file descriptor; nofd has none")),
            "{m}"
        );
    }
}

#[test]
fn io_uring_cmd_on_a_regular_file_reports_the_kernels_refusal() {
    for reg in [false, true] {
        let rig = Rig::new(
            "ucmd",
            Options {
                register_files: reg,
                ..Default::default()
            },
        );
        let mut e = cmd::new_engine(&rig.params(8)).unwrap();
        assert_eq!(e.id(), "io_uring_cmd");
        let mut d = vec![0u8; BS];
        let rc = NvmRw {
            opc: 0x02,
            nsid: 1,
            slba: 0,
            nlb: 0,
            ..Default::default()
        }
        .to_command();
        // SAFETY: `d` stays alive and untouched until slot 5 is reported.
        unsafe { e.submit(5, &rc, raw(&mut d), RawBuf::NONE) }.unwrap();
        let got = wait_all(&mut *e, 1);
        assert_eq!(got[0].0, 5);
        let err = got.into_iter().next().unwrap().1.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    op: "io_uring_cmd",
                    ..
                }
            ),
            "{err}"
        );
        // A regular file has no uring_cmd handler.
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{err}");
        assert!(d.iter().all(|&x| x == 0));
    }
}

#[test]
fn io_uring_cmd_refuses_short_buffers_before_the_kernel() {
    let rig = Rig::new("ucmd-short", Options::default());
    let mut e = cmd::new_engine(&rig.params(4)).unwrap();
    let mut d = vec![0u8; BS];
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 1,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `d` stays alive and untouched until slot 1 is reported.
    unsafe { e.submit(1, &rc, raw(&mut d), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    let m = got[0].1.as_ref().unwrap_err().to_string();
    assert!(m.contains("512") && m.contains("1024"), "{m}");
}

// --- io_uring_cmd marshalling -----------------------------------------------

#[test]
fn nvme_uring_cmd_layout_is_72_bytes_in_an_80_byte_area() {
    assert_eq!(std::mem::size_of::<nvme_uring::NvmeUringCmd>(), 72);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, metadata), 16);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, addr), 24);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, data_len), 36);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, cdw10), 40);
    assert_eq!(
        std::mem::offset_of!(nvme_uring::NvmeUringCmd, timeout_ms),
        64
    );
    assert_eq!(nvme_uring::CMD_AREA_NBYTES, 80);
    // _IOWR: read|write direction, 72-byte argument, type 'N'.
    assert_eq!(nvme_uring::NVME_URING_CMD_IO & 0xff, 0x80);
    assert_eq!((nvme_uring::NVME_URING_CMD_IO >> 8) & 0xff, u32::from(b'N'));
    assert_eq!(
        nvme_uring::NVME_URING_CMD_IO_VEC,
        nvme_uring::NVME_URING_CMD_IO + 1
    );
}

#[test]
fn marshal_a_read_with_data_and_metadata() {
    let mut data = vec![0u8; 8 * 4096];
    let mut meta = vec![0u8; 8 * 16];
    let mut c = NvmRw {
        opc: 0x02,
        nsid: 7,
        slba: 0x1_0000_0002,
        nlb: 7,
        reftag: 0xabcd,
        ..Default::default()
    }
    .to_command();
    c.cdw2 = 0x22;
    c.cdw3 = 0x33;
    c.cid = 0x1234;
    c.prp1 = 0xdead;
    let u = cmd::marshal(&c, raw(&mut data), raw(&mut meta), 4096).unwrap();
    assert_eq!(u.opcode, 0x02);
    assert_eq!(u.nsid, 7);
    assert_eq!((u.cdw2, u.cdw3), (0x22, 0x33));
    assert_eq!((u.cdw10, u.cdw11), (2, 1));
    assert_eq!(u.cdw12 & 0xffff, 7);
    assert_eq!(u.cdw14, 0xabcd);
    assert_eq!(u.addr, data.as_ptr() as u64);
    assert_eq!(u.data_len, 8 * 4096);
    assert_eq!(u.metadata, meta.as_ptr() as u64);
    assert_eq!(u.metadata_len, 8 * 16);
    assert_eq!(u.timeout_ms, 0);
    let area = u.to_cmd_area();
    assert_eq!(&area[24..32], &(data.as_ptr() as u64).to_le_bytes());
    // A larger buffer is cut to what the command moves.
    let mut big = vec![0u8; 16 * 4096];
    assert_eq!(
        cmd::marshal(&c, raw(&mut big), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        8 * 4096
    );
    // A shorter one is refused.
    assert!(cmd::marshal(&c, raw(&mut data[..4096]), RawBuf::NONE, 4096).is_err());
    // Commands without data carry no buffer, whatever was passed.
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 0,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    let u = cmd::marshal(&wz, raw(&mut data), RawBuf::NONE, 4096).unwrap();
    assert_eq!((u.addr, u.data_len), (0, 0));
    // DSM moves NR + 1 ranges of 16 bytes: the buffer is cut to them.
    let dsm = Command::new(0x09, 1);
    let mut ranges = vec![0u8; 64];
    assert_eq!(
        cmd::marshal(&dsm, raw(&mut ranges), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        16
    );
    // Vendor opcodes with data pass the whole buffer.
    let vendor = Command::new(0x82, 1);
    assert_eq!(
        cmd::marshal(&vendor, raw(&mut ranges), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        64
    );
}

#[test]
fn decode_a_passthrough_cqe() {
    let ok = nvme_uring::decode_completion(0, 0x5_0000_0100).unwrap();
    assert!(ok.is_success());
    assert_eq!(ok.result64(), 0x5_0000_0100);
    let bad = nvme_uring::decode_completion(i32::from(0x285u16), 0).unwrap();
    let st = bad.status();
    assert_eq!((st.sct, st.sc), (sct::MEDIA, sc_media::COMPARE_FAILURE));
    let e = nvme_uring::decode_completion(-libc::EIO, 0).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EIO));
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
