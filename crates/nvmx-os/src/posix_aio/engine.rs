//! The `posix` engine proper, on the platforms whose C library has POSIX
//! aio. See the [module docs](super).

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};

use super::check_opts;
use crate::cbi::run_sync;
use nvmx_core::be::plan::{RwGeo, RwPlan, lba_out_of_range, plan_rw};
use nvmx_core::be::{AsyncEngine, DataBuf, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::error::{Error, Result};

/// What the C library was asked to do for a slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Op {
    #[default]
    Read,
    Write,
    Fsync,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "aio_read",
            Op::Write => "aio_write",
            Op::Fsync => "aio_fsync",
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct SlotInfo {
    op: Op,
    /// Bytes the request must transfer to succeed.
    nbytes: u64,
    /// For running a refused aio_fsync as a sync Flush.
    nsid: u32,
    /// Started with a completion callback (Linux, after `completion_fd`).
    armed: bool,
}

/// The `posix` engine: one `aiocb` per queue slot.
pub struct PosixAio {
    /// One control block per slot, allocated once.
    ///
    /// While a request is in flight the C library (a helper thread on
    /// glibc and macOS, the kernel on FreeBSD) reads and writes its aiocb
    /// behind our back, so the aiocbs sit in `UnsafeCell`s and are only
    /// touched through raw pointers. They are pinned in the sense that
    /// matters here: the boxed slice is allocated when the engine is
    /// created and never resized, replaced or moved out, so moving the
    /// engine (or the `Box<dyn AsyncEngine>` holding it) moves only the
    /// pointer to the slice, never an aiocb. Drop waits for, or leaks,
    /// any aiocb still in flight.
    cbs: Box<[UnsafeCell<libc::aiocb>]>,
    /// The aiocb every request starts from: descriptor set, no signal.
    template: libc::aiocb,
    sync: Arc<dyn SyncIo>,
    fd: RawFd,
    geo: RwGeo,
    slots: Box<[SlotInfo]>,
    /// Slots whose aiocb the C library holds.
    inflight: Vec<u32>,
    /// Commands finished without aio, reported at the next poke.
    done: VecDeque<(u32, Result<Completion>)>,
    /// Scratch list for `aio_suspend`.
    list: Vec<*const libc::aiocb>,
    /// Requests in flight started without a completion callback.
    pub(super) unarmed: u32,
    /// The completion descriptor, once asked for.
    #[cfg(target_os = "linux")]
    notify: Option<Arc<crate::cbi::notify::Notifier>>,
    /// The C library refused aio_fsync: Flush runs sync.
    pub(super) flush_is_sync: bool,
    /// The kqueue completions are delivered to (the `kqueue` engine).
    #[cfg(target_os = "freebsd")]
    kq: Option<super::kqueue::sys::Kq>,
    /// Slots the kqueue reported finished, not yet collected.
    #[cfg(target_os = "freebsd")]
    ready: VecDeque<u32>,
}

// SAFETY: the raw pointers (in the aiocbs and `list`) point into this
// engine's own control blocks or to buffers of the queue's in-flight
// slots; the C library does not tie requests to the submitting thread, and
// moving the engine moves the exclusive right to all of them.
unsafe impl Send for PosixAio {}

fn timespec(d: Duration) -> libc::timespec {
    // SAFETY: timespec is plain integers (plus private padding on some
    // targets); all-zero is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    ts.tv_sec = libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX);
    ts.tv_nsec = d.subsec_nanos() as _;
    ts
}

impl PosixAio {
    /// Creates the engine: checks the options, takes the sync interface's
    /// descriptor and allocates one aiocb per slot.
    pub fn new(p: &EngineParams<'_>) -> Result<PosixAio> {
        check_opts(p)?;
        let fd = p.sync.raw_fd().ok_or_else(|| {
            Error::unsupported(
                "posix",
                format!(
                    "queues over sync interface {:?}: it has no file descriptor for aio",
                    p.sync.id()
                ),
            )
        })?;
        // SAFETY: aiocb is a C struct of integers, pointers and a sigevent
        // of integers; all-zero is a valid value of each.
        let mut template: libc::aiocb = unsafe { std::mem::zeroed() };
        template.aio_fildes = fd;
        template.aio_sigevent.sigev_notify = libc::SIGEV_NONE;
        let n = p.capacity.max(1) as usize;
        Ok(PosixAio {
            cbs: (0..n).map(|_| UnsafeCell::new(template)).collect(),
            template,
            sync: Arc::clone(p.sync),
            fd,
            geo: RwGeo {
                max_end: libc::off_t::MAX as u64,
                ..RwGeo::unbounded(p.ssw, p.lba_nbytes)
            },
            slots: vec![SlotInfo::default(); n].into_boxed_slice(),
            inflight: Vec::with_capacity(n),
            done: VecDeque::with_capacity(n),
            list: Vec::with_capacity(n),
            unarmed: 0,
            #[cfg(target_os = "linux")]
            notify: None,
            flush_is_sync: false,
            #[cfg(target_os = "freebsd")]
            kq: None,
            #[cfg(target_os = "freebsd")]
            ready: VecDeque::with_capacity(n),
        })
    }

    /// Creates the engine of the `kqueue` configurations: as [`Self::new`],
    /// with every request reporting its completion to a kqueue of the
    /// engine's own, which pokes and waits read in batches.
    #[cfg(target_os = "freebsd")]
    pub fn with_kqueue(p: &EngineParams<'_>) -> Result<PosixAio> {
        let mut e = Self::new(p)?;
        let kq = super::kqueue::sys::Kq::new(e.cbs.len() as u32)
            .map_err(|err| Error::io("kqueue", e.where_(), err))?;
        e.kq = Some(kq);
        Ok(e)
    }

    /// Moves finished requests the kqueue reports into `ready`, waiting
    /// up to `timeout` for the first; how many it reported.
    #[cfg(target_os = "freebsd")]
    fn fetch_ready(&mut self, timeout: Duration) -> Result<u32> {
        match &mut self.kq {
            Some(kq) => kq
                .fetch(timeout, &mut self.ready)
                .map_err(|e| Error::io("kevent", format!("fd {}", self.fd), e)),
            None => Ok(0),
        }
    }

    /// Collects up to `limit` of the requests the kqueue reported
    /// finished. A slot no longer in flight (reaped already, from an
    /// earlier report of the same request) or whose request is still
    /// running (a new one on a reused slot) is skipped: only requests
    /// `aio_error` calls finished are collected.
    #[cfg(target_os = "freebsd")]
    fn reap_ready(&mut self, limit: u32, sink: &mut EngineSink<'_>) -> u32 {
        let mut n = 0;
        while n < limit {
            let Some(slot) = self.ready.pop_front() else {
                break;
            };
            let Some(pos) = self.inflight.iter().position(|&s| s == slot) else {
                continue;
            };
            let Some((err, ret)) = self.status(slot) else {
                continue;
            };
            self.inflight.remove(pos);
            let info = self.slots[slot as usize];
            let res = self.result(info, err, ret);
            sink.complete(slot, res);
            n += 1;
        }
        n
    }

    fn where_(&self) -> String {
        format!("fd {}", self.fd)
    }

    fn sync_flush(&self, nsid: u32) -> Result<Completion> {
        let mut cmd = Command::new(NvmOpcode::FLUSH.0, nsid);
        self.sync.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Starts the request prepared in `cb` for `slot`. `Err` only when the
    /// library is out of room; other failures complete the slot.
    fn start(&mut self, slot: u32, mut info: SlotInfo, mut cb: libc::aiocb) -> Result<()> {
        info.armed = self.arm(slot, &mut cb);
        let p = self.cbs[slot as usize].get();
        // SAFETY: the slot is not in flight (submit's contract), so nothing
        // else accesses its aiocb; `p` is valid and aligned. The aiocb and
        // the buffer it names then stay in place until `poke` has seen the
        // request finish and called aio_return (or Drop waited for it): the
        // aiocb lives in our never-moved boxed slice and the buffer belongs
        // to the queue's in-flight slot.
        let r = unsafe {
            p.write(cb);
            match info.op {
                Op::Read => libc::aio_read(p),
                Op::Write => libc::aio_write(p),
                Op::Fsync => libc::aio_fsync(libc::O_DSYNC, p),
            }
        };
        // Read errno before anything else can change it.
        let e = (r != 0).then(io::Error::last_os_error);
        self.slots[slot as usize] = info;
        let Some(e) = e else {
            self.inflight.push(slot);
            if !info.armed {
                self.unarmed += 1;
            }
            return Ok(());
        };
        if info.armed {
            // SAFETY: armed just above, and the request did not start.
            unsafe { self.disarm(&cb) };
        }
        let errno = e.raw_os_error();
        if errno == Some(libc::EAGAIN) && !self.inflight.is_empty() {
            return Err(Error::Busy {
                outstanding: (self.inflight.len() + self.done.len()) as u32,
                capacity: self.cbs.len() as u32,
            });
        }
        let res = if info.op == Op::Fsync && errno == Some(libc::EINVAL) {
            self.flush_is_sync = true;
            self.sync_flush(info.nsid)
        } else {
            Err(Error::io(info.op.name(), self.where_(), e))
        };
        self.finish_now(slot, res);
        Ok(())
    }

    /// Records a command that finished without aio.
    fn finish_now(&mut self, slot: u32, res: Result<Completion>) {
        self.done.push_back((slot, res));
        self.signal();
    }

    /// Asks for a completion callback on `cb` when the completion
    /// descriptor exists; whether it did.
    #[cfg(target_os = "linux")]
    fn arm(&self, _slot: u32, cb: &mut libc::aiocb) -> bool {
        let Some(n) = &self.notify else { return false };
        super::linux::arm(cb, n);
        true
    }

    /// Takes back what `arm` gave a request that did not start.
    ///
    /// # Safety
    /// `cb` was armed and its request did not start.
    #[cfg(target_os = "linux")]
    unsafe fn disarm(&self, cb: &libc::aiocb) {
        // SAFETY: forwarded from this function's contract.
        unsafe { super::linux::disarm(cb) }
    }

    #[cfg(target_os = "linux")]
    fn signal(&self) {
        if let Some(n) = &self.notify {
            n.signal();
        }
    }

    /// On FreeBSD with a kqueue: asks for a kevent tagged with `slot`.
    #[cfg(target_os = "freebsd")]
    fn arm(&self, slot: u32, cb: &mut libc::aiocb) -> bool {
        let Some(kq) = &self.kq else { return false };
        kq.arm(&mut cb.aio_sigevent, slot);
        true
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    fn arm(&self, _: u32, _: &mut libc::aiocb) -> bool {
        false
    }

    /// Nothing is ever armed here.
    ///
    /// # Safety
    /// None needed; kept `unsafe` to match the Linux version.
    #[cfg(not(target_os = "linux"))]
    unsafe fn disarm(&self, _: &libc::aiocb) {}

    #[cfg(not(target_os = "linux"))]
    fn signal(&self) {}

    /// The result of a finished request: `err` from aio_error, `ret` from
    /// aio_return.
    fn result(&mut self, info: SlotInfo, err: i32, ret: isize) -> Result<Completion> {
        if err != 0 {
            if info.op == Op::Fsync && err == libc::EINVAL {
                self.flush_is_sync = true;
                return self.sync_flush(info.nsid);
            }
            return Err(Error::io(
                info.op.name(),
                self.where_(),
                io::Error::from_raw_os_error(err),
            ));
        }
        let got = ret as u64;
        if ret >= 0 && got == info.nbytes {
            return Ok(Completion::success(0));
        }
        match info.op {
            // Regular files and block devices read short only at their end.
            Op::Read if ret >= 0 => Ok(lba_out_of_range()),
            _ => {
                let why = format!("short transfer: {ret} of {} bytes", info.nbytes);
                Err(Error::io(
                    info.op.name(),
                    self.where_(),
                    io::Error::new(io::ErrorKind::WriteZero, why),
                ))
            }
        }
    }

    /// Collects up to `limit` finished requests, oldest first; the ones
    /// still running keep their submission order.
    fn reap(&mut self, limit: u32, sink: &mut EngineSink<'_>) -> u32 {
        let mut n = 0;
        let mut keep = 0;
        for i in 0..self.inflight.len() {
            let slot = self.inflight[i];
            if n < limit
                && let Some((err, ret)) = self.status(slot)
            {
                let info = self.slots[slot as usize];
                if !info.armed {
                    self.unarmed = self.unarmed.saturating_sub(1);
                }
                let res = self.result(info, err, ret);
                sink.complete(slot, res);
                n += 1;
                continue;
            }
            self.inflight[keep] = slot;
            keep += 1;
        }
        self.inflight.truncate(keep);
        n
    }

    /// `None` while the request on `slot` runs; then its error code and
    /// return value, collected (which ends the request's life in the
    /// library).
    fn status(&mut self, slot: u32) -> Option<(i32, isize)> {
        let p = self.cbs[slot as usize].get();
        // SAFETY: `p` is the aiocb of a request started on it and not yet
        // returned; aio_error only reads the library's status.
        let err = unsafe { libc::aio_error(p) };
        if err == libc::EINPROGRESS {
            return None;
        }
        if err < 0 {
            // Not a request the library knows (it has no status to return):
            // report why; it is not in flight either way.
            let errno = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL);
            return Some((errno, -1));
        }
        // SAFETY: the request on `p` has finished (aio_error said so) and
        // its status has not been collected yet; this frees the library's
        // record of it, after which nothing touches the aiocb.
        Some((err, unsafe { libc::aio_return(p) }))
    }
}

// SAFETY: a slot is reported after `aio_error` stops answering
// EINPROGRESS and `aio_return` collected the request, or from `done` for
// commands the C library never took; `submit` returns `Err` only when
// `aio_read`/`aio_write` refused the request (clauses 1-3).
unsafe impl AsyncEngine for PosixAio {
    fn id(&self) -> &'static str {
        #[cfg(target_os = "freebsd")]
        if self.kq.is_some() {
            return "kqueue";
        }
        "posix"
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
        if slot as usize >= self.cbs.len() {
            return Err(Error::out_of_range(
                "queue slot",
                format!("{slot} is beyond the engine's {} slots", self.cbs.len()),
            ));
        }
        let op = match NvmOpcode(cmd.opc) {
            NvmOpcode::READ => Op::Read,
            NvmOpcode::WRITE if !nvmx_core::be::is_fua(cmd) => Op::Write,
            NvmOpcode::FLUSH if !self.flush_is_sync => {
                let info = SlotInfo {
                    op: Op::Fsync,
                    nbytes: 0,
                    nsid: cmd.nsid,
                    armed: false,
                };
                return self.start(slot, info, self.template);
            }
            _ => {
                // No aio counterpart: run it now, report it at the next poke.
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
        let mut cb = self.template;
        cb.aio_buf = data.ptr.cast();
        cb.aio_nbytes = nbytes as libc::size_t;
        // The plan keeps `off + nbytes` within off_t.
        cb.aio_offset = off as libc::off_t;
        self.start(
            slot,
            SlotInfo {
                op,
                nbytes,
                nsid: cmd.nsid,
                armed: false,
            },
            cb,
        )
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<RawFd>> {
        if self.notify.is_none() {
            self.notify = Some(Arc::new(crate::cbi::notify::Notifier::new()?));
        }
        // Requests already in flight have no callback: keep the loop
        // coming back until they are reaped (see `poke`).
        if !self.done.is_empty() || !self.inflight.is_empty() {
            self.signal();
        }
        Ok(self.notify.as_ref().map(|n| n.fd()))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Clear first: a callback runs after its request's status is
        // visible, so one that signals after this clear is either for a
        // request reaped below (a spurious wake-up, harmless) or for one
        // still to reap (the wake-up the loop needs).
        #[cfg(target_os = "linux")]
        if let Some(nt) = &self.notify {
            nt.clear();
        }
        let limit = if max == 0 { u32::MAX } else { max };
        let mut n = 0;
        while n < limit {
            let Some((slot, res)) = self.done.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        #[cfg(target_os = "freebsd")]
        if self.kq.is_some() {
            if n < limit {
                // A failed kevent loses nothing: report what was reaped.
                if let Err(e) = self.fetch_ready(Duration::ZERO)
                    && n == 0
                    && self.ready.is_empty()
                {
                    return Err(e);
                }
                n += self.reap_ready(limit - n, sink);
            }
            return Ok(n);
        }
        if n < limit {
            n += self.reap(limit - n, sink);
        }
        let more = n == limit && !self.inflight.is_empty();
        if more || !self.done.is_empty() || self.unarmed > 0 {
            self.signal();
        }
        Ok(n)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        let n = self.poke(0, sink)?;
        if n > 0 || self.inflight.is_empty() {
            return Ok(n);
        }
        #[cfg(target_os = "freebsd")]
        if self.kq.is_some() {
            if self.fetch_ready(timeout)? == 0 {
                // Nothing reported in the whole wait: ask aio_error about
                // each request, so one whose event went missing is not
                // left in flight for ever.
                return Ok(self.reap(u32::MAX, sink));
            }
            return self.poke(0, sink);
        }
        self.list.clear();
        for &s in &self.inflight {
            self.list.push(self.cbs[s as usize].get().cast_const());
        }
        let ts = timespec(timeout);
        // SAFETY: `list` holds `len` pointers to aiocbs of requests in
        // flight, all inside our boxed slice, and lives across the call
        // with the timespec.
        let r =
            unsafe { libc::aio_suspend(self.list.as_ptr(), self.list.len() as libc::c_int, &ts) };
        if r != 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                // Timed out, or a signal: nothing finished.
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(0),
                _ => Err(Error::io("aio_suspend", self.where_(), e)),
            };
        }
        self.poke(0, sink)
    }
}

impl Drop for PosixAio {
    fn drop(&mut self) {
        // A queue drains before it drops its engine (and leaks the engine
        // when it cannot), so this only matters if that contract is broken:
        // never free an aiocb the library may still write.
        if self.inflight.is_empty() {
            return;
        }
        for &s in &self.inflight {
            // SAFETY: asks the library to cancel a request it holds on our
            // descriptor; the aiocb stays valid.
            let _ = unsafe { libc::aio_cancel(self.fd, self.cbs[s as usize].get()) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.inflight.is_empty() && Instant::now() < deadline {
            self.reap(u32::MAX, &mut EngineSink::from_fn(&mut |_, _| {}));
            if !self.inflight.is_empty() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if !self.inflight.is_empty() {
            std::mem::forget(std::mem::take(&mut self.cbs));
        }
    }
}
