//! The kernel and C-library async engines on files, through `Device` and
//! `Queue`: `libaio_file` (Linux AIO, Linux only) and `posix_file` (POSIX
//! aio, every Unix).

#![cfg(unix)]

use crate::common;

use std::path::Path;

use nvmx::buf::{fill_random, first_difference};
use nvmx::spec::Command;
use nvmx::spec::opcode::NvmOpcode;
use nvmx::spec::status::{sc, sct};
use nvmx::{Device, Error, Options, Queue};

/// The configurations under test on this platform, with their async ids.
fn configs() -> Vec<(&'static str, &'static str)> {
    vec![
        #[cfg(target_os = "linux")]
        ("libaio_file", "libaio"),
        ("posix_file", "posix"),
    ]
}

fn temp_in(dir: &Path, tag: &str, nbytes: u64) -> common::TempFile {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = dir.join(format!(
        "nvmx-aio-test-{}-{tag}-{}.img",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&p).expect("create temp file");
    f.set_len(nbytes).expect("size temp file");
    common::TempFile(p)
}

/// Opens `path` with configuration `be`; `None` (after saying why) when
/// `direct` is asked and the filesystem refuses O_DIRECT.
fn open(be: &str, path: &Path, direct: bool) -> Option<Device> {
    let opts = Options {
        be: Some(be.into()),
        direct,
        ..Default::default()
    };
    match Device::open(&path.to_string_lossy(), &opts) {
        Ok(d) => {
            assert_eq!(d.config().name, be);
            Some(d)
        }
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("{} refuses O_DIRECT: {e}", path.display());
            None
        }
        Err(e) => panic!("{be}: open {}: {e}", path.display()),
    }
}

/// Writes `nblocks` blocks through the queue (8 per command) keeping it
/// full, reads them back and compares.
fn round_trip(be: &str, q: &mut Queue, nblocks: u64, seed: u64) {
    const PER: u16 = 8;
    let dev = q.device().clone();
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let n = nblocks / u64::from(PER);
    let mut next = 0;
    let mut done = 0;
    while done < n {
        while next < n {
            let mut b = dev.alloc(usize::from(PER) * bs).unwrap();
            fill_random(&mut b, seed ^ next);
            match q.write(next * u64::from(PER), PER - 1, b, None, next) {
                Ok(()) => next += 1,
                Err(r) => {
                    assert!(matches!(r.error, Error::Busy { .. }), "{be}: {}", r.error);
                    break;
                }
            }
        }
        if q.poke(0).unwrap() == 0 {
            q.wait().unwrap();
        }
        while let Some(c) = q.pop() {
            c.result
                .unwrap_or_else(|e| panic!("{be}: write {}: {e}", c.tag));
            done += 1;
        }
    }
    let (mut next, mut done) = (0, 0);
    while done < n {
        while next < n {
            let b = dev.alloc(usize::from(PER) * bs).unwrap();
            match q.read(next * u64::from(PER), PER - 1, b, None, next) {
                Ok(()) => next += 1,
                Err(r) => {
                    assert!(matches!(r.error, Error::Busy { .. }), "{be}: {}", r.error);
                    break;
                }
            }
        }
        if q.poke(0).unwrap() == 0 {
            q.wait().unwrap();
        }
        while let Some(c) = q.pop() {
            c.result
                .unwrap_or_else(|e| panic!("{be}: read {}: {e}", c.tag));
            let mut want = vec![0u8; usize::from(PER) * bs];
            fill_random(&mut want, seed ^ c.tag);
            let got = c.data.expect("the buffer comes back");
            assert_eq!(
                first_difference(&got, &want),
                None,
                "{be}: read {} at qd {}",
                c.tag,
                q.capacity()
            );
            done += 1;
        }
    }
    assert_eq!(q.outstanding(), 0);
}

/// Round trips through every configuration in `dir`; how many ran (with
/// `direct`, the file system may refuse O_DIRECT).
fn round_trips_in(dir: &Path, direct: bool) -> usize {
    let mut ran = 0;
    for (be, id) in configs() {
        let f = temp_in(dir, be, 8 << 20);
        let Some(dev) = open(be, &f.0, direct) else {
            continue;
        };
        for (cap, seed) in [(1, 1u64), (32, 2), (128, 3)] {
            let mut q = dev.queue(cap).unwrap();
            assert_eq!(q.engine_id(), id);
            round_trip(be, &mut q, 2048, seed);
        }
        ran += 1;
    }
    ran
}

#[test]
fn queue_round_trip_in_the_temp_dir_at_qd_1_32_128() {
    assert_eq!(
        round_trips_in(&std::env::temp_dir(), false),
        configs().len()
    );
}

/// O_DIRECT in the temp directory and on /dev/shm: a file system may
/// refuse it, but not both here.
#[test]
fn queue_round_trip_with_direct_io() {
    let mut ran = round_trips_in(&std::env::temp_dir(), true);
    if Path::new("/dev/shm").is_dir() {
        ran += round_trips_in(Path::new("/dev/shm"), true);
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs /dev/shm: Linux hosts and the QEMU guest have it"
)]
fn queue_round_trip_in_dev_shm_buffered() {
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "no /dev/shm");
    assert_eq!(round_trips_in(shm, false), configs().len());
}

#[test]
fn naming_the_async_interface_selects_the_file_configuration() {
    for (be, id) in configs() {
        let f = temp_in(&std::env::temp_dir(), "sel", 1 << 20);
        let opts = Options {
            async_: Some(id.into()),
            ..Default::default()
        };
        let dev = Device::open(&f.0.to_string_lossy(), &opts).unwrap();
        assert_eq!(dev.config().name, be);
        assert_eq!(dev.queue(4).unwrap().engine_id(), id);
    }
}

#[test]
fn flush_and_write_zeroes_complete_through_the_queue() {
    for (be, _) in configs() {
        let f = temp_in(&std::env::temp_dir(), "fz", 1 << 20);
        let dev = open(be, &f.0, false).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let mut q = dev.queue(8).unwrap();
        let mut b = dev.alloc(8 * bs).unwrap();
        b.fill("anum").unwrap();
        q.write(0, 7, b, None, 1).unwrap();
        q.drain().unwrap();
        q.pop().unwrap().result.unwrap();
        let mut wz = Command::new(NvmOpcode::WRITE_ZEROES.0, 0);
        wz.set_cdw10_11(2);
        wz.cdw12 = 3;
        q.submit(wz, None, None, 2).unwrap();
        q.submit(Command::new(NvmOpcode::FLUSH.0, 0), None, None, 3)
            .unwrap();
        q.drain().unwrap();
        let mut tags = Vec::new();
        while let Some(c) = q.pop() {
            c.result
                .unwrap_or_else(|e| panic!("{be}: tag {}: {e}", c.tag));
            tags.push(c.tag);
        }
        tags.sort_unstable();
        assert_eq!(tags, [2, 3], "{be}");
        let mut back = vec![0u8; 8 * bs];
        dev.read(0, 7, &mut back, None).unwrap();
        assert!(
            back[2 * bs..6 * bs].iter().all(|&x| x == 0),
            "{be}: blocks 2-5 zeroed"
        );
        assert!(
            back[..2 * bs]
                .iter()
                .chain(&back[6 * bs..])
                .all(|&x| x != 0),
            "{be}: the rest kept"
        );
    }
}

#[test]
fn reads_past_the_end_of_the_file_answer_lba_out_of_range() {
    for (be, _) in configs() {
        let f = temp_in(&std::env::temp_dir(), "eof", 64 * 512);
        let dev = open(be, &f.0, false).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let mut q = dev.queue(4).unwrap();
        // Entirely past the end, straddling it, and the last block.
        q.read(64, 0, dev.alloc(bs).unwrap(), None, 0).unwrap();
        q.read(62, 3, dev.alloc(4 * bs).unwrap(), None, 1).unwrap();
        q.read(63, 0, dev.alloc(bs).unwrap(), None, 2).unwrap();
        q.drain().unwrap();
        let mut seen = 0;
        while let Some(c) = q.pop() {
            seen += 1;
            assert!(c.data.is_some(), "{be}: the buffer comes back");
            if c.tag == 2 {
                c.result
                    .unwrap_or_else(|e| panic!("{be}: the last block reads: {e}"));
                continue;
            }
            let e = c.result.unwrap_err();
            let st = e
                .status()
                .unwrap_or_else(|| panic!("{be}: tag {}: {e}", c.tag));
            assert_eq!(
                (st.sct, st.sc),
                (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
                "{be}: tag {}",
                c.tag
            );
        }
        assert_eq!(seen, 3);
    }
}

#[test]
fn dropping_a_queue_with_32_in_flight_completes_them() {
    for (be, _) in configs() {
        for direct in [false, true] {
            let f = temp_in(&std::env::temp_dir(), "drop", 1 << 20);
            let Some(dev) = open(be, &f.0, direct) else {
                continue;
            };
            let bs = dev.geometry().unwrap().lba_nbytes as usize;
            {
                let mut q = dev.queue(32).unwrap();
                for i in 0..32u64 {
                    let mut b = dev.alloc(8 * bs).unwrap();
                    fill_random(&mut b, i);
                    q.write(8 * i, 7, b, None, i).unwrap();
                }
                assert_eq!(q.outstanding(), 32);
            }
            // An aligned buffer: the device may be open with O_DIRECT.
            let mut back = dev.alloc(8 * bs).unwrap();
            for i in 0..32u64 {
                dev.read(8 * i, 7, &mut back, None).unwrap();
                let mut want = vec![0u8; 8 * bs];
                fill_random(&mut want, i);
                assert_eq!(
                    first_difference(&back, &want),
                    None,
                    "{be} direct={direct}: write {i} landed"
                );
            }
        }
    }
}

#[test]
fn polled_io_is_refused_at_queue_creation() {
    for (be, id) in configs() {
        let f = temp_in(&std::env::temp_dir(), "poll", 1 << 16);
        let opts = Options {
            be: Some(be.into()),
            poll_io: true,
            ..Default::default()
        };
        let dev = Device::open(&f.0.to_string_lossy(), &opts).unwrap();
        let e = dev.queue(4).unwrap_err();
        assert!(
            matches!(e, Error::Unsupported { interface, .. } if interface == id),
            "{be}: {e}"
        );
        assert!(e.to_string().contains("poll_io"), "{be}: {e}");
    }
}

#[cfg(target_os = "linux")]
fn readable(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd for the duration of the call.
    let r = unsafe { libc::poll(&raw mut p, 1, ms) };
    r == 1 && p.revents & libc::POLLIN != 0
}

/// Pokes until the descriptor stays quiet. POSIX aio callbacks run on
/// their own threads after the request's status is visible, so one may
/// signal after the request was reaped: a spurious wake-up, which an event
/// loop absorbs with an empty poke. It must not keep firing.
#[cfg(target_os = "linux")]
fn settles(q: &mut Queue, fd: std::os::fd::RawFd) {
    for _ in 0..100 {
        if !readable(fd, 50) {
            return;
        }
        assert_eq!(q.poke(0).unwrap(), 0, "nothing left to reap");
    }
    panic!("the completion fd keeps firing with nothing in flight");
}

#[cfg(target_os = "linux")]
#[test]
fn completion_fd_drives_an_event_loop() {
    for (be, _) in configs() {
        for direct in [false, true] {
            let f = temp_in(&std::env::temp_dir(), "cfd", 1 << 20);
            let Some(dev) = open(be, &f.0, direct) else {
                continue;
            };
            let bs = dev.geometry().unwrap().lba_nbytes as usize;
            let mut q = dev.queue(16).unwrap();
            let fd = q.completion_fd().unwrap().expect("a completion fd");
            assert!(!readable(fd, 0), "{be}: an idle queue is not readable");
            for i in 0..16 {
                q.read(i, 0, dev.alloc(bs).unwrap(), None, i).unwrap();
            }
            let mut got = 0;
            while got < 16 {
                assert!(
                    readable(fd, 5000),
                    "{be} direct={direct}: readable while work is pending ({got} of 16 reaped)"
                );
                got += q.poke(0).unwrap();
            }
            while let Some(c) = q.pop() {
                c.result.unwrap();
            }
            settles(&mut q, fd);
            assert!(!readable(fd, 50), "{be} direct={direct}: quiet when idle");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn completion_fd_asked_with_requests_in_flight_still_wakes_for_them() {
    for (be, _) in configs() {
        let f = temp_in(&std::env::temp_dir(), "cfd2", 1 << 20);
        let dev = open(be, &f.0, false).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let mut q = dev.queue(8).unwrap();
        for i in 0..8 {
            q.read(i, 0, dev.alloc(bs).unwrap(), None, i).unwrap();
        }
        let fd = q.completion_fd().unwrap().expect("a completion fd");
        let mut got = 0;
        while got < 8 {
            assert!(readable(fd, 5000), "{be}: {got} of 8 reaped");
            got += q.poke(0).unwrap();
        }
        settles(&mut q, fd);
        assert!(!readable(fd, 50), "{be}: quiet when idle");
    }
}
