//! `io_uring`: NVM Read and Write become `IORING_OP_READ`/`IORING_OP_WRITE`
//! on the device's file descriptor, Flush becomes `IORING_OP_FSYNC`
//! (data sync). See [the module docs](super) for what else it does and
//! does not do.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use io_uring::types::FsyncFlags;
use io_uring::{cqueue, opcode, squeue};
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};

use super::fixed::FixedBufs;
use super::ring::{Ring, with_target};
use crate::cbi::run_sync;
use nvmx_core::be::plan::{RwGeo, RwPlan, lba_out_of_range, plan_rw};
use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::error::{Error, Result};

/// The async interface id.
pub const ID: &str = "io_uring";

/// Largest byte count one read or write may move: Linux transfers at most
/// `0x7ffff000` bytes per call and stops there, which would only turn into
/// a resubmission of the rest.
pub const MAX_RW_NBYTES: u64 = 0x7fff_f000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Fsync,
}

/// What the engine remembers of an in-flight slot, to check and finish
/// its completion (and resubmit the rest of a short transfer).
#[derive(Clone, Copy, Debug)]
struct Inflight {
    kind: Kind,
    buf: *mut u8,
    len: u32,
    done: u32,
    off: u64,
    /// The fixed buffer the command names (`--register_buffers`).
    fixed: Option<u16>,
}

impl Inflight {
    const IDLE: Inflight = Inflight {
        kind: Kind::Fsync,
        buf: std::ptr::null_mut(),
        len: 0,
        done: 0,
        off: 0,
        fixed: None,
    };
}

/// The `io_uring` engine.
pub struct UringRw {
    ring: Ring<squeue::Entry, cqueue::Entry>,
    sync: Arc<dyn SyncIo>,
    geo: RwGeo,
    slots: Box<[Inflight]>,
    /// Completions decided at submit time (commands run through the sync
    /// interface, refused commands), reported at the next poke.
    early: VecDeque<(u32, Result<Completion>)>,
    /// Slots whose transfer came back short, to resubmit after a reap.
    resubmit: Vec<u32>,
    file: FileInfo,
    fixed: Option<FixedBufs>,
}

/// What completions are judged and named by.
struct FileInfo {
    label: String,
    iopoll: bool,
    direct: bool,
}

// SAFETY: the raw pointers in `slots` address buffers of the queue's
// in-flight slots, which only this engine (and the kernel on its behalf)
// touches until the slot is reported; moving the engine to another thread
// moves that exclusive access with it. The ring itself is Send.
unsafe impl Send for UringRw {}

/// Creates an `io_uring` engine on the descriptor of the device's sync
/// interface.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    let fd = p.sync.raw_fd().ok_or_else(|| {
        Error::unsupported(
            ID,
            format!(
                "this device: io_uring needs a file descriptor; {} has none",
                p.sync.id()
            ),
        )
    })?;
    nvmx_core::be::refuse_extended_lba(ID, p)?;
    let direct = is_direct(fd);
    if p.opts.poll_io && !direct {
        return Err(Error::unsupported(
            ID,
            format!(
                "poll_io without --direct: polled completions (IOPOLL) need a file opened with O_DIRECT, and {} is not",
                super::ring::fd_label(fd)
            ),
        ));
    }
    let ring = Ring::new(ID, fd, p.capacity, p.opts)?;
    let fixed = ring.fixed_bufs(p.capacity, p.opts)?;
    let cap = p.capacity as usize;
    Ok(Box::new(UringRw {
        sync: Arc::clone(p.sync),
        geo: RwGeo::unbounded(p.ssw, p.lba_nbytes),
        slots: vec![Inflight::IDLE; cap].into_boxed_slice(),
        early: VecDeque::with_capacity(cap),
        resubmit: Vec::with_capacity(cap),
        file: FileInfo {
            label: ring.label().to_string(),
            iopoll: ring.iopoll(),
            direct,
        },
        fixed,
        ring,
    }))
}

/// The alignment below which a direct-I/O EINVAL is blamed on the buffer.
const ALIGN_HINT: usize = 512;

fn is_direct(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: F_GETFL takes no pointer argument; an invalid fd only makes
    // it return -1.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    fl >= 0 && fl & libc::O_DIRECT != 0
}

impl UringRw {
    /// Gives back the fixed buffer of a slot that will not complete
    /// through the ring.
    fn release_fixed(&mut self, slot: u32) {
        if let (Some(f), Some(i)) = (self.fixed.as_mut(), self.slots[slot as usize].fixed.take()) {
            f.release(i);
        }
    }

    fn complete_early(&mut self, slot: u32, res: Result<Completion>) {
        self.early.push_back((slot, res));
        self.ring.signal();
    }

    /// Queues the not yet transferred part of a slot's read or write.
    ///
    /// # Safety
    /// The slot's buffer must be valid and exclusively the engine's until
    /// its completion is reported.
    unsafe fn push_rw(&mut self, slot: u32) -> Result<()> {
        let s = self.slots[slot as usize];
        // SAFETY: `done < len` and `len` bytes from `buf` are the slot's.
        let buf = unsafe { s.buf.add(s.done as usize) };
        let len = s.len - s.done;
        let off = s.off + u64::from(s.done);
        let e = match (s.kind, s.fixed) {
            (Kind::Read, None) => {
                with_target!(self.ring.target(), |t| opcode::Read::new(t, buf, len)
                    .offset(off)
                    .build())
            }
            (_, None) => with_target!(self.ring.target(), |t| opcode::Write::new(t, buf, len)
                .offset(off)
                .build()),
            (Kind::Read, Some(i)) => with_target!(self.ring.target(), |t| {
                opcode::ReadFixed::new(t, buf, len, i).offset(off).build()
            }),
            (_, Some(i)) => with_target!(self.ring.target(), |t| {
                opcode::WriteFixed::new(t, buf, len, i).offset(off).build()
            }),
        };
        // SAFETY: the entry names `len` bytes at `buf`, inside the slot's
        // buffer, which stays valid and untouched by anyone else until the
        // slot is reported (the caller's contract).
        unsafe { self.ring.push(&e.user_data(u64::from(slot))) }
    }

    fn reap(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let mut n = 0;
        while max == 0 || n < max {
            let Some((slot, res)) = self.early.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        if max == 0 || n < max {
            let left = if max == 0 { 0 } else { max - n };
            let (slots, resubmit, file, fixed) = (
                &mut self.slots,
                &mut self.resubmit,
                &self.file,
                &mut self.fixed,
            );
            n += self.ring.reap(left, |cqe| {
                let slot = cqe.user_data() as u32;
                let r = match slots.get_mut(slot as usize) {
                    Some(s) => {
                        let r = finish(s, slot, cqe.result(), file, resubmit);
                        if r.is_some()
                            && let (Some(f), Some(i)) = (fixed.as_mut(), s.fixed.take())
                        {
                            f.release(i);
                        }
                        r
                    }
                    None => Some(Err(Error::QueueFailed(format!(
                        "io_uring returned unknown user data {:#x}",
                        cqe.user_data()
                    )))),
                };
                match r {
                    Some(r) => {
                        sink.complete(slot, r);
                        true
                    }
                    None => false,
                }
            });
        }
        // Short transfers go in again, now that the ring is not borrowed.
        while let Some(slot) = self.resubmit.pop() {
            // SAFETY: the slot is still in flight (not reported), so the
            // queue keeps its buffer valid and untouched.
            if let Err(e) = unsafe { self.push_rw(slot) } {
                self.release_fixed(slot);
                sink.complete(slot, Err(e));
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Turns one CQE into its slot's result, or `None` when the rest of a
/// short transfer is to be queued again (the slot is then in `resubmit`).
fn finish(
    s: &mut Inflight,
    slot: u32,
    res: i32,
    file: &FileInfo,
    resubmit: &mut Vec<u32>,
) -> Option<Result<Completion>> {
    let label = file.label.as_str();
    let op = match s.kind {
        Kind::Read => "io_uring read",
        Kind::Write => "io_uring write",
        Kind::Fsync => "io_uring fsync",
    };
    if res < 0 {
        let errno = -res;
        // Direct I/O refuses misaligned memory with a bare EINVAL: say what
        // is wrong when that is the likely cause.
        let misaligned = s.kind != Kind::Fsync
            && (!(s.buf as usize).is_multiple_of(ALIGN_HINT)
                || !s.len.is_multiple_of(ALIGN_HINT as u32));
        if file.direct && errno == libc::EINVAL && misaligned {
            return Some(Err(Error::misaligned(
                "data buffer",
                format!(
                    "direct I/O on {label} needs an address and length aligned to the logical block size \
                     (got address {:p}, length {}); use a buffer from Device::alloc",
                    s.buf, s.len
                ),
            )));
        }
        if file.iopoll && matches!(errno, libc::EOPNOTSUPP | libc::EINVAL) {
            return Some(Err(Error::unsupported(
                ID,
                format!(
                    "poll_io on {label}: the kernel cannot poll this file for completions ({}); \
                     use --poll_io only with --direct on a file system or block device that supports polled I/O",
                    io::Error::from_raw_os_error(errno)
                ),
            )));
        }
        return Some(Err(Error::io(
            op,
            label,
            io::Error::from_raw_os_error(errno),
        )));
    }
    if s.kind == Kind::Fsync {
        return Some(Ok(Completion::success(0)));
    }
    let n = res as u32;
    if n == 0 {
        return Some(match s.kind {
            // Reading at or past the end of the file: those blocks do not
            // exist, as the psync interface answers.
            Kind::Read => Ok(lba_out_of_range()),
            _ => Err(Error::io(
                op,
                label,
                io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "wrote nothing with {} of {} bytes left",
                        s.len - s.done,
                        s.len
                    ),
                ),
            )),
        });
    }
    s.done = s.done.saturating_add(n).min(s.len);
    if s.done == s.len {
        return Some(Ok(Completion::success(0)));
    }
    // The queue never has more than `capacity` slots in flight, and
    // `resubmit` was sized for that: this does not allocate.
    resubmit.push(slot);
    None
}

// SAFETY: a slot is reported from its completion queue entry once the
// whole transfer is done (a short one is resubmitted, not reported), or
// from `early` for commands that never reached the ring; `submit` returns
// `Err` only when the entry was not pushed (clauses 1-3).
unsafe impl AsyncEngine for UringRw {
    fn id(&self) -> &'static str {
        ID
    }

    fn carries_metadata(&self, opc: u8) -> bool {
        !nvmx_core::be::is_plain_rw(opc)
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        if slot as usize >= self.slots.len() {
            return Err(Error::out_of_range(
                "slot",
                format!("{slot} is beyond the engine's {} slots", self.slots.len()),
            ));
        }
        let kind = match NvmOpcode(cmd.opc) {
            NvmOpcode::READ => Kind::Read,
            NvmOpcode::WRITE if !nvmx_core::be::is_fua(cmd) => Kind::Write,
            NvmOpcode::FLUSH => Kind::Fsync,
            _ => {
                // No io_uring operation has this command's meaning on a
                // plain descriptor: run it now through the sync interface,
                // report it at the next poke.
                // SAFETY: `submit`'s contract makes the buffers valid and
                // ours until the slot is reported, and it has not been.
                let res = unsafe { run_sync(&*self.sync, cmd, data, meta) };
                self.complete_early(slot, res);
                return Ok(());
            }
        };
        if kind == Kind::Fsync {
            self.slots[slot as usize] = Inflight {
                kind,
                ..Inflight::IDLE
            };
            let e = with_target!(self.ring.target(), |t| opcode::Fsync::new(t)
                .flags(FsyncFlags::DATASYNC)
                .build());
            // SAFETY: an fsync names no memory.
            return unsafe { self.ring.push(&e.user_data(u64::from(slot))) };
        }
        // Separate metadata has no place in a plain read or write; the queue
        // refuses it (`carries_metadata`) before it gets here.
        let _ = meta;
        let RwPlan { off, len } = match plan_rw(cmd, data, &self.geo) {
            Ok(p) => p,
            Err(r) => {
                self.complete_early(slot, r.completion());
                return Ok(());
            }
        };
        if len > MAX_RW_NBYTES {
            let e = Error::TooLarge {
                what: "transfer",
                len,
                limit: MAX_RW_NBYTES,
                limit_name: "io_uring bytes per command",
            };
            self.complete_early(slot, Err(e));
            return Ok(());
        }
        let fixed = match self.fixed.as_mut() {
            // SAFETY: the buffer stays valid while it is in flight (the
            // contract of `submit`), and a registration outliving it only
            // pins its old pages, which no later command names (the table
            // is keyed by buffer id).
            Some(f) => unsafe { f.acquire(&self.ring.submitter(), data.id, data.ptr, data.len) },
            None => None,
        };
        self.slots[slot as usize] = Inflight {
            kind,
            buf: data.ptr,
            len: len as u32,
            done: 0,
            off,
            fixed,
        };
        // SAFETY: `submit`'s contract keeps `data` valid and ours until the
        // slot is reported, and it is at least `len` bytes (checked above).
        let r = unsafe { self.push_rw(slot) };
        if r.is_err() {
            self.release_fixed(slot);
        }
        r
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let pending = !self.early.is_empty();
        self.ring.completion_fd(pending).map(Some)
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Flush before clearing: completions the submission itself posts
        // (inline ones) would otherwise leave the fd readable for nothing.
        // Whatever the kernel posts after the clear is seen by the reap or
        // signals again.
        self.ring.flush()?;
        self.ring.clear_notify();
        let n = self.reap(max, sink)?;
        if self.ring.notifying() && (!self.early.is_empty() || self.ring.cq_pending()) {
            self.ring.signal();
        }
        Ok(n)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Nothing to reap yet: one io_uring_enter submits what is queued
        // and waits, instead of a submitting poke and then a wait. (A
        // reap that only requeued short transfers returns 0; the queue's
        // wait calls again.)
        if self.early.is_empty() && !self.ring.cq_pending() {
            self.ring.wait(timeout)?;
        }
        self.poke(0, sink)
    }
}
