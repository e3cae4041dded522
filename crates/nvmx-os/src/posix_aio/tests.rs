//! Engine-level tests of `posix`, on files opened by the file backend,
//! without a `Device` or a `Queue` (those are covered by `tests/device/aio.rs`).

use std::sync::Arc;

use nvmx_spec::Command;
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{sc, sct};

use super::PosixAio;
use super::testutil::{BS, open_sync, params, round_trip, run, rw, tmp_file};
use nvmx_core::be::{AsyncEngine, EngineSink, RawBuf, SyncIo};
use nvmx_core::buf::Buffer;
use nvmx_core::error::{Error, Result};
use nvmx_core::opts::Options;
use nvmx_core::uri::Uri;

fn engine(sync: &Arc<dyn SyncIo>, opts: &Options, capacity: u32) -> Result<PosixAio> {
    PosixAio::new(&params(sync, opts, capacity))
}

/// Whether it ran: with `direct`, the file system may refuse O_DIRECT.
fn round_trips_in(dir: &std::path::Path, direct: bool) -> bool {
    let f = tmp_file(dir, "rt", 4 << 20);
    let (sync, opts) = match open_sync(&f.0, direct) {
        Ok(x) => x,
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("{} does not support O_DIRECT ({e})", dir.display());
            return false;
        }
        Err(e) => panic!("open {}: {e}", f.0.display()),
    };
    for (cap, seed) in [(1u32, 11u64), (32, 12), (128, 13)] {
        let mut eng = engine(&sync, &opts, cap).expect("engine");
        round_trip(&mut eng, cap, 1024, seed);
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
    assert!(ran, "neither the temp directory nor /dev/shm takes O_DIRECT");
}

#[test]
fn round_trip_buffered_in_tmp_at_qd_1_32_128() {
    assert!(round_trips_in(&std::env::temp_dir(), false));
}

#[test]
fn round_trip_direct_in_tmp_or_dev_shm_at_qd_1_32_128() {
    direct_somewhere(|dir| round_trips_in(dir, true));
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs /dev/shm: Linux hosts and the QEMU guest have it"
)]
fn round_trip_buffered_in_dev_shm_at_qd_1_32_128() {
    let shm = std::path::Path::new("/dev/shm");
    assert!(shm.is_dir(), "no /dev/shm");
    assert!(round_trips_in(shm, false));
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
        let st = r.as_ref().expect("a status, not an error").status();
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
        matches!(e, Error::ShortBuffer { len: 512, need: 2048, .. }),
        "{e}"
    );
    let e = res[1].1.as_ref().unwrap_err();
    assert!(matches!(e, Error::ShortBuffer { len: 0, need: 512, .. }), "{e}");
}

#[test]
fn flush_write_zeroes_and_unknown_opcodes_complete() {
    let f = tmp_file(&std::env::temp_dir(), "misc", 1 << 20);
    let (sync, opts) = open_sync(&f.0, false).unwrap();
    let mut eng = engine(&sync, &opts, 8).unwrap();
    let mut fill = Buffer::new(8 * BS).unwrap();
    fill.fill("anum").unwrap();
    run(&mut eng, 8, vec![(rw(NvmOpcode::WRITE, 0, 7), Some(fill))])[0]
        .1
        .as_ref()
        .unwrap();
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
    assert!(!eng.flush_is_sync, "aio_fsync(O_DSYNC) is supported here");
    assert!(res[1].1.as_ref().unwrap().is_success(), "write zeroes");
    let st = res[2].1.as_ref().unwrap().status();
    assert_eq!(
        (st.sct, st.sc),
        (sct::GENERIC, sc::INVALID_OPCODE),
        "unknown opcode answered by psync"
    );
    let (b, r) = run(
        &mut eng,
        8,
        vec![(
            rw(NvmOpcode::READ, 0, 7),
            Some(Buffer::new(8 * BS).unwrap()),
        )],
    )
    .pop()
    .unwrap();
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
                    interface: "posix",
                    ..
                }
            ),
            "{e}"
        );
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
fn wait_reports_a_finished_request_and_returns_at_once_when_idle() {
    let f = tmp_file(&std::env::temp_dir(), "wait", 1 << 20);
    let (sync, opts) = open_sync(&f.0, true).unwrap();
    let mut eng = engine(&sync, &opts, 2).unwrap();
    let mut buf = Buffer::new(BS).unwrap();
    // SAFETY: `buf` outlives the request, which is reaped below.
    unsafe { eng.submit(1, &rw(NvmOpcode::READ, 3, 0), buf.raw_parts(), RawBuf::NONE) }.unwrap();
    let mut got = Vec::new();
    let t = std::time::Instant::now();
    while got.is_empty() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "the read finished"
        );
        eng.wait(std::time::Duration::from_secs(1), &mut EngineSink::from_fn(&mut |s, r| {
            got.push((s, r))
        }))
        .unwrap();
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 1);
    assert!(got[0].1.as_ref().unwrap().is_success());
    let t = std::time::Instant::now();
    let n = eng
        .wait(std::time::Duration::from_secs(5), &mut EngineSink::from_fn(&mut |_, _| {}))
        .unwrap();
    assert_eq!(n, 0);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "nothing in flight: no wait"
    );
    drop(eng);
    drop(buf);
}

/// A sync interface over any descriptor, for requests the C library
/// treats specially.
#[cfg(target_os = "linux")]
struct RawFile(std::fs::File);

#[cfg(target_os = "linux")]
impl SyncIo for RawFile {
    fn id(&self) -> &'static str {
        "raw"
    }

    fn cmd_io(
        &self,
        _: &mut Command,
        _: nvmx_core::be::DataBuf<'_>,
        _: nvmx_core::be::DataBuf<'_>,
    ) -> Result<nvmx_spec::Completion> {
        Ok(nvmx_spec::Completion::success(0))
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.0.as_raw_fd())
    }
}

#[cfg(target_os = "linux")]
#[test]
fn wait_times_out_while_a_request_blocks_then_reaps_it() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    use std::time::{Duration, Instant};

    // glibc retries a pread that fails with ESPIPE as a plain read, so a
    // read of an empty pipe stays in flight until data arrives.
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fresh descriptors from pipe(), each owned once.
    let (r, mut w) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let sync: Arc<dyn SyncIo> = Arc::new(RawFile(r));
    let opts = Options::default();
    let mut eng = engine(&sync, &opts, 2).unwrap();
    let mut buf = Buffer::new(BS).unwrap();
    // SAFETY: `buf` outlives the request: the pipe is written below, and
    // the request is reaped before `buf` drops.
    unsafe { eng.submit(0, &rw(NvmOpcode::READ, 0, 0), buf.raw_parts(), RawBuf::NONE) }.unwrap();
    let mut got = Vec::new();
    let t = Instant::now();
    let n = eng
        .wait(Duration::from_millis(50), &mut EngineSink::from_fn(&mut |s, r| got.push((s, r))))
        .unwrap();
    assert_eq!(n, 0, "{got:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(40),
        "waited the timeout"
    );
    w.write_all(&[7u8; BS]).unwrap();
    let t = Instant::now();
    while got.is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10), "the read finished");
        eng.wait(Duration::from_millis(100), &mut EngineSink::from_fn(&mut |s, r| got.push((s, r))))
            .unwrap();
    }
    assert_eq!(got.len(), 1);
    assert!(got[0].1.as_ref().unwrap().is_success());
    assert!(buf.iter().all(|&x| x == 7));
}

#[cfg(target_os = "linux")]
#[test]
fn a_request_the_library_fails_completes_with_the_os_error() {
    let f = tmp_file(&std::env::temp_dir(), "rdonly", 1 << 16);
    let sync: Arc<dyn SyncIo> = Arc::new(RawFile(std::fs::File::open(&f.0).unwrap()));
    let opts = Options::default();
    let mut eng = engine(&sync, &opts, 2).unwrap();
    let res = run(
        &mut eng,
        2,
        vec![(rw(NvmOpcode::WRITE, 0, 0), Some(Buffer::new(BS).unwrap()))],
    );
    let e = res[0].1.as_ref().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EBADF), "{e}");
    assert!(e.to_string().starts_with("aio_write fd "), "{e}");
}

#[cfg(target_os = "linux")]
#[test]
fn completion_fd_is_signalled_by_the_completion_callback() {
    use super::testutil::readable;

    let f = tmp_file(&std::env::temp_dir(), "cfd", 1 << 20);
    let (sync, opts) = open_sync(&f.0, true).unwrap();
    let mut eng = engine(&sync, &opts, 4).unwrap();
    let fd = eng
        .completion_fd()
        .unwrap()
        .expect("a completion fd on Linux");
    assert!(!readable(fd, 0), "nothing in flight");
    let mut bufs: Vec<Buffer> = (0..4).map(|_| Buffer::new(BS).unwrap()).collect();
    for (slot, b) in bufs.iter_mut().enumerate() {
        let cmd = rw(NvmOpcode::READ, slot as u64, 0);
        // SAFETY: `bufs` outlives the requests: all are reaped below.
        unsafe { eng.submit(slot as u32, &cmd, b.raw_parts(), RawBuf::NONE) }.unwrap();
    }
    assert_eq!(eng.unarmed, 0, "every request carries the callback");
    let mut got = 0;
    while got < 4 {
        assert!(readable(fd, 5000), "a callback signals ({got} of 4 reaped)");
        got += eng.poke(0, &mut EngineSink::from_fn(&mut |_, r| r.map(drop).unwrap())).unwrap();
    }
    drop(eng);
    drop(bufs);
}
