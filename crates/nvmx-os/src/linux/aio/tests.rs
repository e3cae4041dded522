//! Engine-level tests of `libaio`, on files opened by the file backend,
//! without a `Device` or a `Queue` (those are covered by `tests/device/aio.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion};

use super::LibAio;
use crate::posix_aio::testutil::{BS, open_sync, params, readable, round_trip, run, rw, tmp_file};
use nvmx_core::be::{AsyncEngine, EngineSink, SyncIo};
use nvmx_core::buf::Buffer;
use nvmx_core::error::{Error, Result};
use nvmx_core::opts::Options;
use nvmx_core::uri::Uri;

fn engine(sync: &Arc<dyn SyncIo>, opts: &Options, capacity: u32) -> Result<LibAio> {
    LibAio::new(&params(sync, opts, capacity))
}

/// Whether it ran: with `direct`, the file system may refuse O_DIRECT.
fn round_trips_in(dir: &std::path::Path, direct: bool, user_ring: bool) -> bool {
    let f = tmp_file(dir, "rt", 4 << 20);
    let (sync, opts) = match open_sync(&f.0, direct) {
        Ok(x) => x,
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("{} does not support O_DIRECT ({e})", dir.display());
            return false;
        }
        Err(e) => panic!("open {}: {e}", f.0.display()),
    };
    for (cap, seed) in [(1u32, 1u64), (32, 2), (128, 3)] {
        let mut eng = engine(&sync, &opts, cap).expect("engine");
        assert!(
            eng.reaps_in_user_space(),
            "this kernel's ring should be readable"
        );
        if !user_ring {
            eng.disable_user_reaping();
        }
        round_trip(&mut eng, cap, 2048, seed);
    }
    true
}

/// Runs `f` with O_DIRECT in the temp directory and in /dev/shm: a file
/// system may refuse O_DIRECT (`f` returns false), but not both here.
fn direct_somewhere(f: impl Fn(&std::path::Path) -> bool) {
    let mut ran = false;
    for dir in [std::env::temp_dir(), "/dev/shm".into()] {
        if dir.is_dir() {
            ran |= f(&dir);
        }
    }
    assert!(
        ran,
        "neither the temp directory nor /dev/shm takes O_DIRECT"
    );
}

#[test]
fn round_trip_buffered_in_tmp_at_qd_1_32_128() {
    assert!(round_trips_in(&std::env::temp_dir(), false, true));
}

#[test]
fn round_trip_direct_in_tmp_or_dev_shm_at_qd_1_32_128() {
    direct_somewhere(|dir| round_trips_in(dir, true, true));
}

#[test]
fn round_trip_buffered_in_dev_shm_at_qd_1_32_128() {
    let shm = std::path::Path::new("/dev/shm");
    assert!(shm.is_dir(), "no /dev/shm");
    assert!(round_trips_in(shm, false, true));
}

#[test]
fn round_trip_reaping_with_io_getevents_only() {
    direct_somewhere(|dir| round_trips_in(dir, true, false));
}

#[test]
fn user_space_reaping_keeps_the_kernel_request_count_right() {
    // Far more requests than the ring holds, all reaped in user space: if
    // the kernel did not notice the consumed events, io_submit would fail
    // with EAGAIN once the ring's worth had been used.
    let f = tmp_file(&std::env::temp_dir(), "many", 1 << 20);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 8).unwrap();
    let jobs = (0..20_000u64)
        .map(|i| {
            (
                rw(NvmOpcode::READ, i % 2048, 0),
                Some(Buffer::new(BS).unwrap()),
            )
        })
        .collect();
    let res = run(&mut eng, 8, jobs);
    assert!(
        res.iter().all(|(_, r)| r.is_ok()),
        "{:?}",
        res.iter().find(|(_, r)| r.is_err()).map(|x| &x.1)
    );
}

#[test]
fn read_past_the_end_completes_with_lba_out_of_range() {
    let f = tmp_file(&std::env::temp_dir(), "eof", 16 * BS as u64);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 4).unwrap();
    let jobs = vec![
        (rw(NvmOpcode::READ, 16, 0), Some(Buffer::new(BS).unwrap())),
        (
            rw(NvmOpcode::READ, 14, 3),
            Some(Buffer::new(4 * BS).unwrap()),
        ),
        (rw(NvmOpcode::READ, 15, 0), Some(Buffer::new(BS).unwrap())),
    ];
    let res = run(&mut eng, 4, jobs);
    for (i, (_, r)) in res.iter().take(2).enumerate() {
        let c = r.as_ref().expect("a status, not an error");
        let st = c.status();
        assert_eq!(
            (st.sct, st.sc),
            (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
            "read {i}"
        );
    }
    assert!(
        res[2].1.as_ref().unwrap().is_success(),
        "the last block reads"
    );
}

#[test]
fn short_buffer_completes_with_an_error_naming_both_sizes() {
    let f = tmp_file(&std::env::temp_dir(), "short", 1 << 20);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 2).unwrap();
    let jobs = vec![
        (rw(NvmOpcode::WRITE, 0, 3), Some(Buffer::new(BS).unwrap())),
        (rw(NvmOpcode::READ, 0, 0), None),
    ];
    let res = run(&mut eng, 2, jobs);
    let e = res[0].1.as_ref().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                len: 512,
                need: 2048,
                ..
            }
        ),
        "{e}"
    );
    let e = res[1].1.as_ref().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                len: 0,
                need: 512,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn flush_write_zeroes_and_unknown_opcodes_complete_through_the_queue() {
    let f = tmp_file(&std::env::temp_dir(), "misc", 1 << 20);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 8).unwrap();
    let mut fill = Buffer::new(8 * BS).unwrap();
    fill.fill("anum").unwrap();
    let jobs = vec![(rw(NvmOpcode::WRITE, 0, 7), Some(fill))];
    run(&mut eng, 8, jobs)[0].1.as_ref().unwrap();
    let mut wz = Command::new(NvmOpcode::WRITE_ZEROES.0, 1);
    wz.set_cdw10_11(2);
    wz.cdw12 = 3;
    let jobs = vec![
        (Command::new(NvmOpcode::FLUSH.0, 1), None),
        (wz, None),
        (Command::new(0x7f, 1), None),
    ];
    let res = run(&mut eng, 8, jobs);
    assert!(res[0].1.as_ref().unwrap().is_success(), "flush");
    assert!(res[1].1.as_ref().unwrap().is_success(), "write zeroes");
    let st = res[2].1.as_ref().unwrap().status();
    assert_eq!(
        (st.sct, st.sc),
        (sct::GENERIC, sc::INVALID_OPCODE),
        "unknown opcode answered by psync"
    );
    let jobs = vec![(
        rw(NvmOpcode::READ, 0, 7),
        Some(Buffer::new(8 * BS).unwrap()),
    )];
    let (b, r) = run(&mut eng, 8, jobs).pop().unwrap();
    r.unwrap();
    let b = b.unwrap();
    assert!(
        b[2 * BS..6 * BS].iter().all(|&x| x == 0),
        "zeroed blocks 2..6"
    );
    assert!(
        b[..2 * BS].iter().chain(&b[6 * BS..]).all(|&x| x != 0),
        "the rest kept"
    );
}

#[test]
fn flush_on_dev_shm_completes() {
    let shm = std::path::Path::new("/dev/shm");
    assert!(shm.is_dir(), "no /dev/shm");
    let f = tmp_file(shm, "flush", 1 << 16);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 2).unwrap();
    let res = run(
        &mut eng,
        2,
        vec![(Command::new(NvmOpcode::FLUSH.0, 1), None)],
    );
    assert!(res[0].1.as_ref().unwrap().is_success());
}

#[test]
fn poll_io_and_poll_sq_are_refused_by_name() {
    let f = tmp_file(&std::env::temp_dir(), "poll", 1 << 16);
    let (sync, _) = open_sync(&f.0, false).unwrap();
    for opts in [
        Options {
            poll_io: true,
            ..Default::default()
        },
        Options {
            poll_sq: true,
            ..Default::default()
        },
    ] {
        let e = engine(&sync, &opts, 4).err().expect("refused");
        assert!(
            matches!(
                e,
                Error::Unsupported {
                    interface: "libaio",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("io_uring"), "{e}");
    }
}

#[test]
fn a_sync_interface_without_a_descriptor_is_refused() {
    let uri = Uri::parse("1MiB").unwrap();
    let be = nvmx_ramdisk::open(&uri, &Options::default()).unwrap();
    let e = engine(&be.sync, &Options::default(), 4)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("no file descriptor"), "{e}");
}

#[test]
fn completion_fd_fires_for_submissions_and_completions_and_clears_on_poke() {
    let f = tmp_file(&std::env::temp_dir(), "cfd", 1 << 20);
    let (sync, opts) = open_sync(&f.0, true).unwrap();
    let mut eng = engine(&sync, &opts, 4).unwrap();
    let fd = eng
        .completion_fd()
        .unwrap()
        .expect("libaio has a completion fd");
    assert!(!readable(fd, 0), "nothing to do yet");
    let mut bufs: Vec<Buffer> = (0..4).map(|_| Buffer::new(BS).unwrap()).collect();
    for (slot, b) in bufs.iter_mut().enumerate() {
        // SAFETY: `bufs` outlives the engine's use of them (reaped below).
        unsafe {
            eng.submit(
                slot as u32,
                &rw(NvmOpcode::READ, slot as u64, 0),
                b.raw_parts(),
                nvmx_core::be::RawBuf::NONE,
            )
        }
        .unwrap();
    }
    assert!(readable(fd, 0), "a batch waits for a poke");
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got < 4 {
        assert!(Instant::now() < deadline, "completions did not arrive");
        if got > 0 || eng.nbatch > 0 || readable(fd, 1000) {
            got += eng
                .poke(
                    0,
                    &mut EngineSink::from_fn(&mut |_, r| r.map(drop).unwrap()),
                )
                .unwrap();
        }
        if got < 4 && eng.nbatch == 0 {
            assert!(
                readable(fd, 5000),
                "an in-flight request signals the eventfd"
            );
        }
    }
    assert!(
        eng.slots.iter().all(|s| s.resfd),
        "every request carried IOCB_FLAG_RESFD"
    );
    assert!(!readable(fd, 0), "poking cleared it");
    // A synchronously finished command also signals.
    // SAFETY: no buffers.
    unsafe {
        eng.submit(
            0,
            &Command::new(NvmOpcode::WRITE_ZEROES.0, 1),
            nvmx_core::be::RawBuf::NONE,
            nvmx_core::be::RawBuf::NONE,
        )
    }
    .unwrap();
    assert!(readable(fd, 0));
    assert_eq!(
        eng.poke(
            0,
            &mut EngineSink::from_fn(&mut |_, r| r.map(drop).unwrap())
        )
        .unwrap(),
        1
    );
    assert!(!readable(fd, 0));
}

#[test]
fn dropping_the_engine_with_requests_in_flight_waits_for_them() {
    let f = tmp_file(&std::env::temp_dir(), "drop", 1 << 20);
    let (sync, opts) = open_sync(&f.0, true).unwrap();
    let mut eng = engine(&sync, &opts, 32).unwrap();
    let mut bufs: Vec<Buffer> = (0..32).map(|_| Buffer::new(8 * BS).unwrap()).collect();
    for (slot, b) in bufs.iter_mut().enumerate() {
        // SAFETY: `bufs` is dropped after `eng`, whose drop (io_destroy)
        // waits for every request.
        unsafe {
            eng.submit(
                slot as u32,
                &rw(NvmOpcode::WRITE, 8 * slot as u64, 7),
                b.raw_parts(),
                nvmx_core::be::RawBuf::NONE,
            )
        }
        .unwrap();
    }
    assert!(
        eng.poke(1, &mut EngineSink::from_fn(&mut |_, _| {}))
            .unwrap()
            <= 1
    );
    drop(eng);
    drop(bufs);
}

/// A sync interface over /dev/null, whose file has no fsync method: the
/// kernel refuses AIO fdsync on it with EINVAL.
struct DevNull {
    f: std::fs::File,
    flushes: std::sync::atomic::AtomicU32,
}

impl SyncIo for DevNull {
    fn id(&self) -> &'static str {
        "devnull"
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        _data: nvmx_core::be::DataBuf<'_>,
        _meta: nvmx_core::be::DataBuf<'_>,
    ) -> Result<Completion> {
        assert_eq!(
            cmd.opc,
            NvmOpcode::FLUSH.0,
            "only flushes fall back to sync"
        );
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Completion::success(0))
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.f.as_raw_fd())
    }
}

#[test]
fn flush_falls_back_to_the_sync_interface_when_the_kernel_refuses_fdsync() {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    let dn = Arc::new(DevNull {
        f,
        flushes: Default::default(),
    });
    let sync: Arc<dyn SyncIo> = dn.clone();
    let opts = Options::default();
    let mut eng = engine(&sync, &opts, 4).unwrap();
    let flush = || (Command::new(NvmOpcode::FLUSH.0, 1), None);
    let res = run(&mut eng, 4, vec![flush()]);
    assert!(res[0].1.as_ref().unwrap().is_success());
    assert_eq!(
        dn.flushes.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "ran through sync"
    );
    assert!(eng.flush_is_sync, "remembered for later flushes");
    let res = run(&mut eng, 4, vec![flush(), flush()]);
    assert!(res.iter().all(|(_, r)| r.as_ref().unwrap().is_success()));
    assert_eq!(dn.flushes.load(std::sync::atomic::Ordering::Relaxed), 3);
    // Reads of /dev/null return 0 bytes: past the end.
    let res = run(
        &mut eng,
        4,
        vec![(rw(NvmOpcode::READ, 0, 0), Some(Buffer::new(BS).unwrap()))],
    );
    let st = res[0].1.as_ref().unwrap().status();
    assert_eq!((st.sct, st.sc), (sct::GENERIC, sc::LBA_OUT_OF_RANGE));
    // Writes to /dev/null succeed in full.
    let res = run(
        &mut eng,
        4,
        vec![(
            rw(NvmOpcode::WRITE, 0, 1),
            Some(Buffer::new(2 * BS).unwrap()),
        )],
    );
    assert!(res[0].1.as_ref().unwrap().is_success());
}

#[test]
fn a_request_the_kernel_refuses_completes_with_the_os_error() {
    // /dev/null opened read-only: io_submit refuses a write with EBADF.
    let f = std::fs::File::open("/dev/null").unwrap();
    let sync: Arc<dyn SyncIo> = Arc::new(DevNull {
        f,
        flushes: Default::default(),
    });
    let opts = Options::default();
    let mut eng = engine(&sync, &opts, 4).unwrap();
    let jobs = vec![
        (rw(NvmOpcode::WRITE, 0, 0), Some(Buffer::new(BS).unwrap())),
        (rw(NvmOpcode::READ, 0, 0), Some(Buffer::new(BS).unwrap())),
    ];
    let res = run(&mut eng, 4, jobs);
    let e = res[0].1.as_ref().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF), "{e}");
    assert!(e.to_string().starts_with("libaio pwrite fd "), "{e}");
    // The request after the refused one in the same batch still ran.
    let st = res[1].1.as_ref().unwrap().status();
    assert_eq!(
        (st.sct, st.sc),
        (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
        "0 bytes from /dev/null"
    );
}
