//! `libaio`: Linux native asynchronous I/O (the `io_submit` family), called
//! through raw system calls rather than the libaio C library.
//!
//! # What it does with each command
//!
//! Linux AIO reads and writes bytes at offsets of a file descriptor; it
//! knows nothing of NVMe. So:
//! - **Read** and **Write** become `IOCB_CMD_PREAD` / `IOCB_CMD_PWRITE` of
//!   `(nlb + 1) * lba_nbytes` bytes at byte offset `slba << ssw`. A data
//!   buffer shorter than that completes the command with
//!   [`Error::ShortBuffer`] naming both sizes. A separate metadata buffer has
//!   no place in them: the queue refuses one (`carries_metadata`).
//! - **Flush** becomes `IOCB_CMD_FDSYNC`. Where the kernel refuses that for
//!   the descriptor (`EINVAL`: kernels before 4.18, or files without an
//!   `fsync` method), the command runs through the device's sync interface
//!   instead, and so does every later Flush on this queue.
//! - **Every other opcode** (Write Zeroes, Dataset Management, Compare, ...)
//!   has no AIO counterpart. It runs synchronously through the device's
//!   sync interface when submitted, and its completion is reported at the
//!   next poke like any other.
//!
//! # Submission and completion
//!
//! Submitting only fills the next entry of a preallocated `iocb` array; a
//! poke (or wait) hands the whole batch to the kernel in one `io_submit`,
//! so a burst of submits costs one system call. Completions are read from
//! the completion ring the kernel maps into the process, without a system
//! call, when the ring's header is one this code recognises (see
//! `sys.rs`); otherwise through `io_getevents`. A wait blocks in
//! `io_getevents` for at least one event.
//!
//! Results: a transfer of the full length succeeds; a short read means the
//! range runs past the end of the file or device and completes with LBA
//! Out of Range, as the sync interface answers; a short write is an error
//! naming the count; a negative result is the OS error, e.g.
//! `libaio pread fd 5: Invalid argument`.
//!
//! # Options
//!
//! - `direct`: applies to the file's open, and AIO is truly asynchronous
//!   only with it; buffered AIO completes inside `io_submit`.
//! - `poll_io` and `poll_sq` are refused: the kernel clears `RWF_HIPRI` on
//!   AIO requests (nothing would poll for them) and AIO has no submission
//!   thread. io_uring has both.
//! - `register_files` and `register_buffers` have no AIO counterpart and
//!   are ignored.
//!
//! # Completion notification
//!
//! After [`AsyncEngine::completion_fd`] is first called, every request
//! handed to the kernel carries `IOCB_FLAG_RESFD` with that eventfd, so the
//! kernel itself signals each completion. Requests already in flight
//! without the flag keep the descriptor signalled at every poke until they
//! are reaped, so an event loop never sleeps on them.
//!
//! Nothing is allocated and no lock is taken per command: the `iocb`
//! batch, the pointer array for `io_submit`, the event array and the list
//! of synchronously finished commands are sized to the queue's capacity
//! when the engine is created.

pub(crate) mod sys;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};

use self::sys::{
    IOCB_CMD_FDSYNC, IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_FLAG_RESFD, IoContext, IoEvent, Iocb,
};
use crate::cbi::notify::Notifier;
use crate::cbi::run_sync;
use nvmx_core::be::config::BackendConfig;
use nvmx_core::be::plan::{RwGeo, RwPlan, lba_out_of_range, plan_rw};
use nvmx_core::be::{AsyncEngine, DataBuf, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::caps::Caps;
use nvmx_core::error::{Error, Result};

/// The `libaio_file` configuration: a file as a namespace, with `psync`
/// for sync commands, synthesized admin data, and Linux AIO for queues.
pub static LIBAIO_FILE: BackendConfig = BackendConfig {
    name: "libaio_file",
    descr: "File as a namespace: positional I/O, async by Linux AIO (io_submit)",
    caps: Caps::FILE,
    async_id: "libaio",
    sync_id: "psync",
    admin_id: "file_as_ns",
    dev_id: "linux",
    mem_id: "heap",
    open: crate::file::open,
    new_engine,
};

/// What the kernel was asked to do for a slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Op {
    #[default]
    Read,
    Write,
    Fdsync,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "libaio pread",
            Op::Write => "libaio pwrite",
            Op::Fdsync => "libaio fdsync",
        }
    }
}

/// Per-slot state of a request handed to (or waiting for) the kernel.
#[derive(Clone, Copy, Debug, Default)]
struct SlotInfo {
    op: Op,
    /// Bytes the request must transfer to succeed.
    nbytes: u64,
    /// For running a refused fdsync as a sync Flush.
    nsid: u32,
    /// Submitted with `IOCB_FLAG_RESFD`.
    resfd: bool,
}

/// The `libaio` engine. See the [module docs](self).
pub struct LibAio {
    // Declared first so it drops first: io_destroy waits for requests in
    // flight before anything else here goes away.
    ctx: IoContext,
    sync: Arc<dyn SyncIo>,
    fd: RawFd,
    geo: RwGeo,
    /// Requests not yet handed to the kernel: `batch[..nbatch]`.
    batch: Box<[Iocb]>,
    nbatch: usize,
    /// Scratch array of pointers into `batch` for `io_submit`.
    ptrs: Box<[*mut Iocb]>,
    events: Box<[IoEvent]>,
    slots: Box<[SlotInfo]>,
    /// Requests the kernel holds.
    inflight: u32,
    /// Of those, how many were submitted without `IOCB_FLAG_RESFD`.
    unflagged: u32,
    /// Commands finished without the kernel, reported at the next poke.
    done: VecDeque<(u32, Result<Completion>)>,
    notify: Option<Notifier>,
    /// The kernel refused fdsync on this descriptor: Flush runs sync.
    flush_is_sync: bool,
}

// SAFETY: the only fields that are not Send are the raw pointers in `ptrs`,
// which point into this engine's own `batch` and are rebuilt right before
// each io_submit; the buffers the iocbs name belong to the queue's
// in-flight slots, and moving the engine moves the exclusive right to them.
unsafe impl Send for LibAio {}

/// Creates a `libaio` engine on the device's file descriptor.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    nvmx_core::be::refuse_extended_lba("libaio", p)?;
    Ok(Box::new(LibAio::new(p)?))
}

impl LibAio {
    /// Creates the engine: checks the options, takes the sync interface's
    /// descriptor, sets up a context for `capacity` requests and
    /// preallocates every array.
    pub fn new(p: &EngineParams<'_>) -> Result<LibAio> {
        if p.opts.poll_io {
            return Err(Error::unsupported(
                "libaio",
                "polled completions (poll_io): the kernel clears RWF_HIPRI on AIO requests, so \
                 nothing polls for them; use an io_uring configuration for poll_io",
            ));
        }
        if p.opts.poll_sq {
            return Err(Error::unsupported(
                "libaio",
                "submission polling (poll_sq): Linux AIO has no kernel submission thread; use an \
                 io_uring configuration for poll_sq",
            ));
        }
        let fd = p.sync.raw_fd().ok_or_else(|| {
            Error::unsupported(
                "libaio",
                format!(
                    "queues over sync interface {:?}: it has no file descriptor to submit AIO to",
                    p.sync.id()
                ),
            )
        })?;
        let cap = p.capacity.max(1);
        let ctx = IoContext::new(cap).map_err(|e| {
            let what = format!("context for {cap} requests");
            if e.raw_os_error() == Some(libc::EAGAIN) {
                let hint = io::Error::new(
                    e.kind(),
                    format!("{e}; the system-wide limit /proc/sys/fs/aio-max-nr is reached"),
                );
                Error::io("io_setup", what, hint)
            } else if e.raw_os_error() == Some(libc::ENOSYS) {
                Error::unsupported(
                    "libaio",
                    "this kernel: it was built without AIO (io_setup: ENOSYS)",
                )
            } else {
                Error::io("io_setup", what, e)
            }
        })?;
        let n = cap as usize;
        Ok(LibAio {
            ctx,
            sync: Arc::clone(p.sync),
            fd,
            geo: RwGeo::unbounded(p.ssw, p.lba_nbytes),
            batch: vec![Iocb::default(); n].into_boxed_slice(),
            nbatch: 0,
            ptrs: vec![std::ptr::null_mut(); n].into_boxed_slice(),
            events: vec![IoEvent::default(); n].into_boxed_slice(),
            slots: vec![SlotInfo::default(); n].into_boxed_slice(),
            inflight: 0,
            unflagged: 0,
            done: VecDeque::with_capacity(n),
            notify: None,
            flush_is_sync: false,
        })
    }

    /// Whether completions are read from the kernel's ring in user space
    /// (no system call) rather than with `io_getevents`.
    pub fn reaps_in_user_space(&self) -> bool {
        self.ctx.reaps_in_user_space()
    }

    /// Sends every reap through `io_getevents`, for comparing the two ways
    /// of reaping.
    pub fn disable_user_reaping(&mut self) {
        self.ctx.disable_user_reaping();
    }

    fn where_(&self) -> String {
        format!("fd {}", self.fd)
    }

    fn sync_flush(&self, nsid: u32) -> Result<Completion> {
        let mut cmd = Command::new(NvmOpcode::FLUSH.0, nsid);
        self.sync.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Records a command that finished without the kernel.
    fn finish_now(&mut self, slot: u32, res: Result<Completion>) {
        self.done.push_back((slot, res));
        if let Some(n) = &self.notify {
            n.signal();
        }
    }

    /// Appends a request to the batch; hands the batch to the kernel when
    /// it is full.
    fn push(&mut self, slot: u32, info: SlotInfo, cb: Iocb) {
        self.slots[slot as usize] = info;
        self.batch[self.nbatch] = cb;
        self.nbatch += 1;
        if self.nbatch == 1
            && let Some(n) = &self.notify
        {
            // An event loop must come back and poke to get this submitted.
            n.signal();
        }
        if self.nbatch == self.batch.len() {
            self.flush();
        }
    }

    /// Hands the batch to the kernel. Requests the kernel refuses complete
    /// with the error; when it is out of resources with requests in flight,
    /// the rest wait for the next poke.
    fn flush(&mut self) {
        let mut start = 0;
        while start < self.nbatch {
            let n = self.nbatch - start;
            let resfd = self.notify.as_ref().map(|n| n.fd() as u32);
            let base = self.batch.as_mut_ptr();
            for i in 0..n {
                // SAFETY: `start + i < nbatch <= batch.len()`, so the
                // pointer stays inside the batch allocation.
                let cb = unsafe { base.add(start + i) };
                if let Some(fd) = resfd {
                    // SAFETY: `cb` points to a live iocb of the batch, and
                    // no reference to the batch is held across this loop.
                    unsafe {
                        (*cb).aio_flags |= IOCB_FLAG_RESFD;
                        (*cb).aio_resfd = fd;
                    }
                }
                self.ptrs[i] = cb;
            }
            // SAFETY: the pointers name initialised iocbs of our batch for
            // the call. Their buffers are the queue's in-flight slots, which
            // stay valid and untouched until each slot is reported, and we
            // report a slot only after its event is reaped (or, on drop,
            // io_destroy waits for it).
            match unsafe { self.ctx.submit(&mut self.ptrs[..n]) } {
                Ok(0) => break,
                Ok(k) => {
                    for cb in &self.batch[start..start + k] {
                        let flagged = cb.aio_flags & IOCB_FLAG_RESFD != 0;
                        if let Some(s) = self.slots.get_mut(cb.aio_data as usize) {
                            s.resfd = flagged;
                        }
                        if !flagged {
                            self.unflagged += 1;
                        }
                    }
                    self.inflight += k as u32;
                    start += k;
                }
                Err(e) => {
                    if e.raw_os_error() == Some(libc::EAGAIN) && self.inflight > 0 {
                        break;
                    }
                    let cb = self.batch[start];
                    let slot = cb.aio_data as u32;
                    let res = if cb.aio_lio_opcode == IOCB_CMD_FDSYNC
                        && e.raw_os_error() == Some(libc::EINVAL)
                    {
                        self.flush_is_sync = true;
                        let nsid = self.slots.get(slot as usize).map_or(1, |s| s.nsid);
                        self.sync_flush(nsid)
                    } else {
                        let op = self.slots.get(slot as usize).map_or(Op::Read, |s| s.op);
                        Err(Error::io(op.name(), self.where_(), e))
                    };
                    self.finish_now(slot, res);
                    start += 1;
                }
            }
        }
        self.batch.copy_within(start..self.nbatch, 0);
        self.nbatch -= start;
    }

    /// The result of one kernel event; updates the in-flight counts.
    fn finish_event(&mut self, ev: IoEvent) -> (u32, Result<Completion>) {
        let slot = ev.data as u32;
        let Some(info) = self.slots.get(slot as usize).copied() else {
            let e = format!(
                "the kernel reported a request libaio never made ({:#x})",
                ev.data
            );
            return (slot, Err(Error::QueueFailed(e)));
        };
        self.inflight = self.inflight.saturating_sub(1);
        if !info.resfd {
            self.unflagged = self.unflagged.saturating_sub(1);
        }
        if ev.res < 0 {
            let errno = i32::try_from(-ev.res).unwrap_or(libc::EIO);
            if info.op == Op::Fdsync && errno == libc::EINVAL {
                self.flush_is_sync = true;
                return (slot, self.sync_flush(info.nsid));
            }
            return (
                slot,
                Err(Error::io(
                    info.op.name(),
                    self.where_(),
                    io::Error::from_raw_os_error(errno),
                )),
            );
        }
        let got = ev.res as u64;
        if got == info.nbytes {
            return (slot, Ok(Completion::success(0)));
        }
        match info.op {
            // Regular files and block devices read short only at their end.
            Op::Read => (slot, Ok(lba_out_of_range())),
            _ => {
                let why = format!("short transfer: {got} of {} bytes", info.nbytes);
                (
                    slot,
                    Err(Error::io(
                        info.op.name(),
                        self.where_(),
                        io::Error::new(io::ErrorKind::WriteZero, why),
                    )),
                )
            }
        }
    }

    /// Reaps up to `limit` kernel events: without blocking (`block` None)
    /// or waiting up to `block` for at least one.
    fn reap(
        &mut self,
        limit: u32,
        block: Option<Duration>,
        sink: &mut EngineSink<'_>,
    ) -> Result<u32> {
        if self.inflight == 0 {
            return Ok(0);
        }
        let want = (limit as usize).min(self.events.len());
        let fd = self.fd;
        let failed = |e| Error::io("io_getevents", format!("fd {fd}"), e);
        let k = match block {
            None => match self.ctx.reap_user(&mut self.events[..want]) {
                Some(k) => k,
                None => self
                    .ctx
                    .get_events(0, &mut self.events[..want], Some(Duration::ZERO))
                    .map_err(failed)?,
            },
            Some(t) => self
                .ctx
                .get_events(1, &mut self.events[..want], Some(t))
                .map_err(failed)?,
        };
        for i in 0..k {
            let ev = self.events[i];
            let (slot, res) = self.finish_event(ev);
            sink.complete(slot, res);
        }
        Ok(k as u32)
    }
}

// SAFETY: a slot is reported from its io_event, when the kernel is done
// with the iocb's buffer, or from `done` for commands the kernel never
// took (run synchronously, refused by the planner or by io_submit);
// `submit` returns `Err` before anything names the buffers (clauses 1-3).
unsafe impl AsyncEngine for LibAio {
    fn id(&self) -> &'static str {
        "libaio"
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
                "queue slot",
                format!("{slot} is beyond the engine's {} slots", self.slots.len()),
            ));
        }
        if self.nbatch == self.batch.len() {
            // Only reachable when the kernel ran out of resources and the
            // batch could not drain: ask the caller to reap first.
            return Err(Error::Busy {
                outstanding: self.inflight + self.nbatch as u32,
                capacity: self.slots.len() as u32,
            });
        }
        let opc = NvmOpcode(cmd.opc);
        let (op, lio) = match opc {
            NvmOpcode::READ => (Op::Read, IOCB_CMD_PREAD),
            NvmOpcode::WRITE if !nvmx_core::be::is_fua(cmd) => (Op::Write, IOCB_CMD_PWRITE),
            NvmOpcode::FLUSH if !self.flush_is_sync => {
                let info = SlotInfo {
                    op: Op::Fdsync,
                    nbytes: 0,
                    nsid: cmd.nsid,
                    resfd: false,
                };
                let cb = Iocb {
                    aio_data: u64::from(slot),
                    aio_lio_opcode: IOCB_CMD_FDSYNC,
                    aio_fildes: self.fd as u32,
                    ..Default::default()
                };
                self.push(slot, info, cb);
                return Ok(());
            }
            _ => {
                // No AIO counterpart: run it now, report it at the next poke.
                // SAFETY: `submit`'s contract keeps both buffers valid and
                // ours until this slot is reported, which is later.
                let res = unsafe { run_sync(&*self.sync, cmd, data, meta) };
                self.finish_now(slot, res);
                return Ok(());
            }
        };
        let RwPlan { off, len: nbytes } = match plan_rw(cmd, data, &self.geo) {
            Ok(p) => p,
            Err(r) => {
                self.finish_now(slot, r.completion());
                return Ok(());
            }
        };
        let info = SlotInfo {
            op,
            nbytes,
            nsid: cmd.nsid,
            resfd: false,
        };
        let cb = Iocb {
            aio_data: u64::from(slot),
            aio_lio_opcode: lio,
            aio_fildes: self.fd as u32,
            aio_buf: data.ptr as usize as u64,
            aio_nbytes: nbytes,
            // The plan keeps `off + nbytes` within i64::MAX.
            aio_offset: off as i64,
            ..Default::default()
        };
        self.push(slot, info, cb);
        Ok(())
    }

    fn completion_fd(&mut self) -> Result<Option<RawFd>> {
        if self.notify.is_none() {
            self.notify = Some(Notifier::new()?);
        }
        let Some(n) = &self.notify else {
            return Ok(None);
        };
        if !self.done.is_empty() || self.nbatch > 0 || self.inflight > 0 {
            n.signal();
        }
        Ok(Some(n.fd()))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        // With the ring readable, the notifier is cleared after reaping and
        // re-checked against the ring: the kernel appends an event before it
        // signals the eventfd, so a signal eaten by the clear has its event
        // in the ring, seen below. This keeps completions that happened
        // during the poke (buffered I/O completes inside io_submit) from
        // leaving the descriptor readable with nothing to reap. Without the
        // ring there is nothing to re-check, so clear first instead.
        let ring = self.ctx.reaps_in_user_space();
        if !ring && let Some(nt) = &self.notify {
            nt.clear();
        }
        self.flush();
        let limit = if max == 0 { u32::MAX } else { max };
        let mut n = 0;
        while n < limit {
            let Some((slot, res)) = self.done.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        let r = if n < limit {
            self.reap(limit - n, None, sink)
        } else {
            Ok(0)
        };
        n += r.as_ref().copied().unwrap_or(0);
        if let Some(nt) = &self.notify {
            if ring {
                nt.clear();
            }
            let more = match self.ctx.ring_has_events() {
                Some(m) => m,
                None => n == limit && self.inflight > 0,
            };
            if more || !self.done.is_empty() || self.nbatch > 0 || self.unflagged > 0 {
                nt.signal();
            }
        }
        r.map(|_| n)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        let n = self.poke(0, sink)?;
        if n > 0 || self.inflight == 0 {
            return Ok(n);
        }
        let k = self.reap(u32::MAX, Some(timeout), sink)?;
        // The ring may hold more than io_getevents returned at once.
        Ok(k + if k > 0 {
            self.reap(u32::MAX, None, sink)?
        } else {
            0
        })
    }
}
