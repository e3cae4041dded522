//! Test helpers shared by the engine-level tests of `posix` and `libaio`:
//! temporary files, a file-backed sync interface, and a driver that pushes
//! commands through an [`AsyncEngine`] the way a queue does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};

use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::buf::{Buffer, fill_random, first_difference};
use nvmx_core::error::Result;
use nvmx_core::opts::Options;
use nvmx_core::uri::Uri;

/// Logical block size of a file namespace.
pub const BS: usize = 512;

/// A file removed when dropped.
pub struct TmpFile(pub PathBuf);

impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh sparse file of `nbytes` in `dir`.
pub fn tmp_file(dir: &Path, tag: &str, nbytes: u64) -> TmpFile {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = dir.join(format!(
        "nvmx-aio-{}-{tag}-{}.img",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&p).expect("create temp file");
    f.set_len(nbytes).expect("size temp file");
    TmpFile(p)
}

/// Opens `path` with the file backend; its sync interface and options.
pub fn open_sync(path: &Path, direct: bool) -> Result<(Arc<dyn SyncIo>, Options)> {
    let opts = Options {
        direct,
        ..Default::default()
    };
    let uri = Uri::parse(&path.to_string_lossy())?;
    let be = crate::file::open(&uri, &opts)?;
    Ok((be.sync, opts))
}

/// Engine parameters for a file namespace (512-byte blocks).
pub fn params<'a>(sync: &'a Arc<dyn SyncIo>, opts: &'a Options, capacity: u32) -> EngineParams<'a> {
    EngineParams {
        sync,
        capacity,
        ssw: 9,
        lba_nbytes: BS as u32,
        opts,
    }
}

/// An NVM Read or Write command.
pub fn rw(opc: NvmOpcode, slba: u64, nlb: u16) -> Command {
    NvmRw {
        opc: opc.0,
        nsid: 1,
        slba,
        nlb,
        ..Default::default()
    }
    .to_command()
}

/// A job's buffer and result.
pub type Outcome = (Option<Buffer>, Result<Completion>);

/// Runs `jobs` through `eng`, keeping up to `cap` in flight, and returns
/// each job's buffer and result in job order.
pub fn run(
    eng: &mut dyn AsyncEngine,
    cap: u32,
    jobs: Vec<(Command, Option<Buffer>)>,
) -> Vec<Outcome> {
    let n = jobs.len();
    let mut out: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut slots: Vec<Option<(usize, Option<Buffer>)>> = (0..cap).map(|_| None).collect();
    let mut free: Vec<u32> = (0..cap).rev().collect();
    let mut jobs: std::collections::VecDeque<_> = jobs.into_iter().enumerate().collect();
    let mut left = n;
    let deadline = Instant::now() + Duration::from_secs(60);
    while left > 0 {
        while let Some(&slot) = free.last() {
            let Some((i, (cmd, buf))) = jobs.pop_front() else {
                break;
            };
            let entry = slots[slot as usize].insert((i, buf));
            let raw = entry.1.as_mut().map_or(RawBuf::NONE, Buffer::raw_parts);
            // SAFETY: the buffer stays in `slots` (its heap memory does not
            // move) and is not touched until the engine reports the slot;
            // the slot is free.
            match unsafe { eng.submit(slot, &cmd, raw, RawBuf::NONE) } {
                Ok(()) => {
                    free.pop();
                }
                Err(nvmx_core::Error::Busy { .. }) => {
                    // Not taken: put the job back in front and reap first.
                    let (i, buf) = slots[slot as usize].take().expect("just inserted");
                    jobs.push_front((i, (cmd, buf)));
                    break;
                }
                Err(e) => panic!("submit: {e}"),
            }
        }
        let mut finished = Vec::new();
        let got = eng
            .poke(
                0,
                &mut EngineSink::from_fn(&mut |s, r| finished.push((s, r))),
            )
            .expect("poke");
        if got == 0 {
            eng.wait(
                Duration::from_millis(100),
                &mut EngineSink::from_fn(&mut |s, r| finished.push((s, r))),
            )
            .expect("wait");
        }
        for (slot, res) in finished {
            let (i, buf) = slots[slot as usize]
                .take()
                .expect("reported slot was in flight");
            out[i] = Some((buf, res));
            free.push(slot);
            left -= 1;
        }
        if Instant::now() > deadline {
            // Buffers may still be written: leak them before failing.
            std::mem::forget(slots);
            panic!("{left} commands did not complete in 60 s");
        }
    }
    out.into_iter()
        .map(|o| o.expect("every job completed"))
        .collect()
}

/// Writes `nblocks` blocks (8 per command) with pseudo-random data, reads
/// them back and compares, at queue depth `cap`.
pub fn round_trip(eng: &mut dyn AsyncEngine, cap: u32, nblocks: u64, seed: u64) {
    const PER: u64 = 8;
    let jobs = (0..nblocks / PER)
        .map(|c| {
            let mut b = Buffer::new(PER as usize * BS).unwrap();
            fill_random(&mut b, seed ^ c);
            (rw(NvmOpcode::WRITE, c * PER, PER as u16 - 1), Some(b))
        })
        .collect();
    for (i, (_, r)) in run(eng, cap, jobs).into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("write {i} at qd {cap}: {e}"));
    }
    let jobs = (0..nblocks / PER)
        .map(|c| {
            (
                rw(NvmOpcode::READ, c * PER, PER as u16 - 1),
                Some(Buffer::new(PER as usize * BS).unwrap()),
            )
        })
        .collect();
    for (c, (b, r)) in run(eng, cap, jobs).into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("read {c} at qd {cap}: {e}"));
        let mut want = vec![0u8; PER as usize * BS];
        fill_random(&mut want, seed ^ c as u64);
        let b = b.expect("buffer back");
        assert_eq!(
            first_difference(&want, &b),
            None,
            "read {c} at qd {cap}: data differs"
        );
    }
}

/// Whether `fd` becomes readable within `ms` milliseconds.
pub fn readable(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd for the duration of the call.
    let r = unsafe { libc::poll(&raw mut p, 1, ms) };
    r == 1 && p.revents & libc::POLLIN != 0
}
