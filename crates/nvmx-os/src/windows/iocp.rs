//! async `iocp` and `iocp_th`: overlapped `ReadFile`/`WriteFile` reaped
//! from an I/O completion port.
//!
//! Each queue reopens the device's file or drive for overlapped I/O
//! (`ReOpenFile` with `FILE_FLAG_OVERLAPPED`, plus `FILE_FLAG_NO_BUFFERING`
//! with `--direct`) and associates that handle with a completion port of
//! its own, so queues never see each other's completions. Every slot owns
//! one `OVERLAPPED`, in a table allocated once, so the address the kernel
//! writes to stays put while the request is in flight; a completion's
//! `OVERLAPPED` pointer leads back to its slot. Completions are reaped in
//! batches with `GetQueuedCompletionStatusEx`: by the caller when it pokes
//! or waits (`iocp`), or by a poller thread that forwards them over a
//! channel (`iocp_th`).
//!
//! NVM Read and Write become overlapped reads and writes at `slba << ssw`
//! (a short transfer is resubmitted for the rest; reading at or past the
//! end of a file answers LBA Out of Range, as the file interface does).
//! Every other opcode (flush, compare, write zeroes, FUA writes, ...) runs
//! through the device's sync interface and is reported at the next poke.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};
use windows_sys::Win32::Foundation::{
    ERROR_HANDLE_EOF, ERROR_IO_PENDING, GetLastError, HANDLE, STATUS_END_OF_FILE, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::IO::{
    CancelIoEx, GetOverlappedResult, GetQueuedCompletionStatusEx, OVERLAPPED, OVERLAPPED_ENTRY,
    PostQueuedCompletionStatus,
};

use super::sys;
use crate::cbi::run_sync;
use nvmx_core::be::plan::{Refused, RwGeo, lba_out_of_range, plan_rw};
use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::error::{Error, Result};

/// The async interface id of the caller-reaped engine.
pub const ID: &str = "iocp";
/// The async interface id of the engine with a poller thread.
pub const ID_TH: &str = "iocp_th";

/// Completion key the poller thread is told to stop with (the file's own
/// completions carry key 0).
const STOP_KEY: usize = usize::MAX;

/// How long dropping an engine with requests still in flight waits for
/// their cancellation before it leaks the slot table instead.
const DROP_CANCEL_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// One slot: its `OVERLAPPED` first, so a pointer to it is a pointer to
/// the slot, then what the engine needs to finish or resubmit it.
#[repr(C)]
struct Slot {
    ov: OVERLAPPED,
    kind: Kind,
    buf: *mut u8,
    len: u32,
    done: u32,
    off: u64,
    pending: bool,
}

impl Slot {
    fn idle() -> Slot {
        Slot {
            // SAFETY: OVERLAPPED is plain data; all zeroes is its initial
            // state.
            ov: unsafe { std::mem::zeroed() },
            kind: Kind::Read,
            buf: std::ptr::null_mut(),
            len: 0,
            done: 0,
            off: 0,
            pending: false,
        }
    }
}

/// The handles a queue owns: the overlapped file handle and its port.
struct Port {
    file: OwnedHandle,
    port: OwnedHandle,
}

/// The poller thread of `iocp_th` and the channel it forwards on.
struct Poller {
    rx: crossbeam_channel::Receiver<Reaped>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A dequeued completion: the `OVERLAPPED` address and the byte count.
#[derive(Clone, Copy, Debug)]
struct Reaped {
    ov: usize,
    bytes: u32,
}

/// The `iocp` / `iocp_th` engine.
pub struct Iocp {
    id: &'static str,
    io: Arc<Port>,
    sync: Arc<dyn SyncIo>,
    geo: RwGeo,
    slots: Box<[UnsafeCell<Slot>]>,
    early: VecDeque<(u32, Result<Completion>)>,
    entries: Vec<OVERLAPPED_ENTRY>,
    /// Dequeued completions being finished (kept to reuse its capacity).
    reaped: Vec<Reaped>,
    inflight: u32,
    poller: Option<Poller>,
}

// SAFETY: the raw pointers in the slots address buffers of the queue's
// in-flight slots, which only this engine (and the kernel on its behalf)
// touches until the slot is reported; moving the engine to another thread
// moves that exclusive access with it. The handles are Send.
unsafe impl Send for Iocp {}

/// Creates an `iocp` engine (the caller reaps).
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Iocp::new(ID, p, false)?))
}

/// Creates an `iocp_th` engine (a poller thread reaps).
pub fn new_engine_th(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Iocp::new(ID_TH, p, true)?))
}

/// Waits up to `ms` for completions on `port`, filling `entries`; returns
/// how many were dequeued (0 on timeout).
fn dequeue(port: &OwnedHandle, entries: &mut [OVERLAPPED_ENTRY], ms: u32) -> io::Result<usize> {
    let mut n = 0u32;
    // SAFETY: `entries` is valid for writes of its length, `n` is a valid
    // u32, the port is open; not alertable.
    let ok = unsafe {
        GetQueuedCompletionStatusEx(
            port.as_raw_handle() as HANDLE,
            entries.as_mut_ptr(),
            entries.len() as u32,
            &mut n,
            ms,
            0,
        )
    };
    if ok == 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(WAIT_TIMEOUT as i32) {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(n as usize)
}

fn empty_entry() -> OVERLAPPED_ENTRY {
    OVERLAPPED_ENTRY {
        lpCompletionKey: 0,
        lpOverlapped: std::ptr::null_mut(),
        Internal: 0,
        dwNumberOfBytesTransferred: 0,
    }
}

impl Iocp {
    fn new(id: &'static str, p: &EngineParams<'_>, threaded: bool) -> Result<Iocp> {
        let h = p.sync.raw_handle().ok_or_else(|| {
            Error::unsupported(
                id,
                format!(
                    "this device: overlapped I/O needs a file or drive handle; the {} interface has none",
                    p.sync.id()
                ),
            )
        })?;
        nvmx_core::be::refuse_extended_lba(id, p)?;
        let file = sys::reopen_overlapped(h, p.opts.direct)
            .map_err(|e| Error::io("ReOpenFile (overlapped)", p.sync.id(), e))?;
        let port = sys::completion_port_for(&file)
            .map_err(|e| Error::io("CreateIoCompletionPort", p.sync.id(), e))?;
        let io = Arc::new(Port { file, port });
        let cap = p.capacity as usize;
        let poller = if threaded {
            let (tx, rx) = crossbeam_channel::bounded(cap);
            let io2 = Arc::clone(&io);
            let thread = std::thread::Builder::new()
                .name("nvmx-iocp".into())
                .spawn(move || poll_port(&io2, cap, &tx))
                .map_err(|e| Error::io("spawn", "iocp_th poller thread", e))?;
            Some(Poller {
                rx,
                thread: Some(thread),
            })
        } else {
            None
        };
        Ok(Iocp {
            id,
            io,
            sync: Arc::clone(p.sync),
            // Overlapped I/O moves data only: blocks of `1 << ssw` bytes.
            geo: RwGeo::unbounded(p.ssw, 1u32.checked_shl(p.ssw).unwrap_or(0)),
            slots: (0..cap).map(|_| UnsafeCell::new(Slot::idle())).collect(),
            early: VecDeque::with_capacity(cap),
            entries: vec![empty_entry(); cap],
            reaped: Vec::with_capacity(cap),
            inflight: 0,
            poller,
        })
    }

    fn slot_ptr(&self, slot: u32) -> *mut Slot {
        self.slots[slot as usize].get()
    }

    /// The slot an `OVERLAPPED` address belongs to, if it is one of ours.
    fn slot_of(&self, ov: usize) -> Option<u32> {
        let base = self.slots.as_ptr() as usize;
        let size = std::mem::size_of::<UnsafeCell<Slot>>();
        let off = ov.checked_sub(base)?;
        let i = off / size;
        (off % size == 0 && i < self.slots.len()).then_some(i as u32)
    }

    /// Issues the not yet transferred part of a slot's read or write.
    /// An immediate failure is queued as the slot's completion.
    ///
    /// # Safety
    /// The slot's buffer must be valid and exclusively the engine's until
    /// the slot is reported.
    unsafe fn start(&mut self, slot: u32) {
        let s = self.slot_ptr(slot);
        // SAFETY: the slot is not pending (nothing of the kernel's refers
        // to it), so the engine has it to itself; the buffer arithmetic
        // stays inside the slot's buffer (`done < len`).
        let (kind, buf, len, off) = unsafe {
            let off = (*s).off + u64::from((*s).done);
            (*s).ov = std::mem::zeroed();
            (*s).ov.Anonymous.Anonymous.Offset = off as u32;
            (*s).ov.Anonymous.Anonymous.OffsetHigh = (off >> 32) as u32;
            (
                (*s).kind,
                (*s).buf.add((*s).done as usize),
                (*s).len - (*s).done,
                off,
            )
        };
        let h = self.io.file.as_raw_handle() as HANDLE;
        // SAFETY: `buf..buf+len` is the rest of the slot's buffer, valid
        // and the engine's until the slot is reported (the caller's
        // contract); the OVERLAPPED lives in the slot table, which is
        // never moved or freed while a request is pending.
        let ok = unsafe {
            match kind {
                Kind::Read => ReadFile(h, buf, len, std::ptr::null_mut(), &raw mut (*s).ov),
                Kind::Write => WriteFile(h, buf, len, std::ptr::null_mut(), &raw mut (*s).ov),
            }
        };
        // SAFETY: GetLastError has no preconditions.
        let err = unsafe { GetLastError() };
        if ok != 0 || err == ERROR_IO_PENDING {
            // A completion packet comes either way (the handle does not
            // skip the port on synchronous success).
            // SAFETY: the engine's own slot bookkeeping.
            unsafe { (*s).pending = true };
            self.inflight += 1;
            return;
        }
        let res = if kind == Kind::Read && err == ERROR_HANDLE_EOF {
            Ok(lba_out_of_range())
        } else {
            let op = if kind == Kind::Read {
                "ReadFile"
            } else {
                "WriteFile"
            };
            Err(Error::io(
                op,
                format!("offset {off}"),
                io::Error::from_raw_os_error(err as i32),
            ))
        };
        self.early.push_back((slot, res));
    }

    /// Finishes a dequeued completion: the slot's result, or `None` when
    /// the rest of a short transfer was issued again.
    fn finish(&mut self, r: Reaped) -> Option<(u32, Result<Completion>)> {
        let slot = self.slot_of(r.ov)?;
        let s = self.slot_ptr(slot);
        // SAFETY: the packet for this OVERLAPPED was dequeued, so the
        // kernel is done with the slot; it is the engine's again.
        let (pending, kind, status, len) =
            unsafe { ((*s).pending, (*s).kind, (*s).ov.Internal as i32, (*s).len) };
        if !pending {
            return None;
        }
        // SAFETY: as above.
        unsafe { (*s).pending = false };
        self.inflight -= 1;
        let op = if kind == Kind::Read {
            "ReadFile"
        } else {
            "WriteFile"
        };
        if status != 0 {
            if kind == Kind::Read && status == STATUS_END_OF_FILE {
                return Some((slot, Ok(lba_out_of_range())));
            }
            let mut n = 0u32;
            // SAFETY: the request is complete (its packet was dequeued),
            // so not waiting is fine; this only turns its status into a
            // Win32 error code.
            unsafe {
                GetOverlappedResult(
                    self.io.file.as_raw_handle() as HANDLE,
                    &raw const (*s).ov,
                    &mut n,
                    0,
                )
            };
            let e = io::Error::last_os_error();
            if kind == Kind::Read && e.raw_os_error() == Some(ERROR_HANDLE_EOF as i32) {
                return Some((slot, Ok(lba_out_of_range())));
            }
            return Some((slot, Err(Error::io(op, self.id, e))));
        }
        if r.bytes == 0 {
            return Some((
                slot,
                match kind {
                    Kind::Read => Ok(lba_out_of_range()),
                    Kind::Write => Err(Error::io(
                        op,
                        self.id,
                        io::Error::new(io::ErrorKind::WriteZero, "wrote nothing"),
                    )),
                },
            ));
        }
        // SAFETY: the engine's own bookkeeping of a slot it holds.
        let done = unsafe {
            (*s).done = (*s).done.saturating_add(r.bytes).min(len);
            (*s).done
        };
        if done == len {
            return Some((slot, Ok(Completion::success(0))));
        }
        // SAFETY: the slot is still in flight (not reported), so the queue
        // keeps its buffer valid and the engine's.
        unsafe { self.start(slot) };
        None
    }

    fn take_early(&mut self, max: u32, sink: &mut EngineSink<'_>) -> u32 {
        let mut n = 0;
        while max == 0 || n < max {
            let Some((slot, res)) = self.early.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        n
    }

    /// Reaps what is ready, or waits up to `ms` for something.
    fn reap(&mut self, max: u32, ms: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let mut n = self.take_early(max, sink);
        if n > 0 && max != 0 && n >= max {
            return Ok(n);
        }
        if self.inflight == 0 {
            return Ok(n);
        }
        let want = if max == 0 {
            self.entries.len()
        } else {
            ((max - n) as usize).min(self.entries.len())
        };
        let ms = if n > 0 { 0 } else { ms };
        // Steady state allocates nothing: the list keeps its capacity.
        let mut got = std::mem::take(&mut self.reaped);
        if let Some(p) = &self.poller {
            let first = if ms == 0 {
                p.rx.try_recv().ok()
            } else {
                p.rx.recv_timeout(Duration::from_millis(u64::from(ms))).ok()
            };
            if let Some(r) = first {
                got.push(r);
                while got.len() < want {
                    match p.rx.try_recv() {
                        Ok(r) => got.push(r),
                        Err(_) => break,
                    }
                }
            }
        } else {
            let k = match dequeue(&self.io.port, &mut self.entries[..want], ms) {
                Ok(k) => k,
                Err(e) => {
                    self.reaped = got;
                    return Err(Error::io("GetQueuedCompletionStatusEx", self.id, e));
                }
            };
            got.extend(self.entries[..k].iter().map(|e| Reaped {
                ov: e.lpOverlapped as usize,
                bytes: e.dwNumberOfBytesTransferred,
            }));
        }
        for r in got.drain(..) {
            if let Some((slot, res)) = self.finish(r) {
                sink.complete(slot, res);
                n += 1;
            }
        }
        self.reaped = got;
        Ok(n)
    }
}

/// The `iocp_th` poller: forwards every completion of the port until told
/// to stop (a packet with [`STOP_KEY`]) or the engine is gone.
fn poll_port(io: &Port, cap: usize, tx: &crossbeam_channel::Sender<Reaped>) {
    let mut entries = vec![empty_entry(); cap.max(1)];
    loop {
        let Ok(k) = dequeue(&io.port, &mut entries, 100) else {
            return;
        };
        for e in &entries[..k] {
            if e.lpCompletionKey == STOP_KEY {
                return;
            }
            let r = Reaped {
                ov: e.lpOverlapped as usize,
                bytes: e.dwNumberOfBytesTransferred,
            };
            if tx.send(r).is_err() {
                return;
            }
        }
    }
}

// SAFETY: a slot is reported when the completion port hands back its
// OVERLAPPED with the whole transfer done (or failed), or from `early` for
// commands that never reached the kernel; `submit` returns `Err` before a
// read or write is started (clauses 1-3).
unsafe impl AsyncEngine for Iocp {
    fn id(&self) -> &'static str {
        self.id
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
            _ => {
                // No overlapped call has this command's meaning: run it
                // now through the sync interface, report it at the next
                // poke.
                // SAFETY: `submit`'s contract makes the buffers valid and
                // ours until the slot is reported, and it has not been.
                let res = unsafe { run_sync(&*self.sync, cmd, data, meta) };
                self.early.push_back((slot, res));
                return Ok(());
            }
        };
        let plan = plan_rw(cmd, data, &self.geo).map_err(Refused::completion);
        let (off, len) = match plan.map(|p| (p.off, u32::try_from(p.len))) {
            Ok((off, Ok(len))) => (off, len),
            Ok((_, Err(_))) => {
                let e = Error::TooLarge {
                    what: "transfer",
                    len: u64::from(cmd.cdw12 & 0xffff) + 1,
                    limit: u64::from(u32::MAX.checked_shr(self.geo.ssw).unwrap_or(0)),
                    limit_name: "blocks one overlapped request moves",
                };
                self.early.push_back((slot, Err(e)));
                return Ok(());
            }
            Err(res) => {
                self.early.push_back((slot, res));
                return Ok(());
            }
        };
        let s = self.slot_ptr(slot);
        // SAFETY: the slot is not in flight (the queue's contract), so the
        // engine has it to itself.
        unsafe {
            (*s).kind = kind;
            (*s).buf = data.ptr;
            (*s).len = len;
            (*s).done = 0;
            (*s).off = off;
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { self.start(slot) };
        Ok(())
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        self.reap(max, 0, sink)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        let ms = u32::try_from(timeout.as_millis())
            .unwrap_or(u32::MAX - 1)
            .max(1);
        self.reap(0, ms, sink)
    }
}

impl Drop for Iocp {
    fn drop(&mut self) {
        if self.inflight > 0 {
            // The queue waits for its commands before it lets an engine go,
            // so this is a last resort: cancel what is left and wait for
            // the kernel to let go of the slots.
            // SAFETY: the handle is open; a null OVERLAPPED cancels every
            // request of this thread and others on the handle.
            unsafe { CancelIoEx(self.io.file.as_raw_handle() as HANDLE, std::ptr::null()) };
            let start = Instant::now();
            let mut ignore = |_: u32, _: Result<Completion>| {};
            let mut sink = EngineSink::from_fn(&mut ignore);
            while self.inflight > 0 && start.elapsed() < DROP_CANCEL_WAIT {
                if self.reap(0, 100, &mut sink).is_err() {
                    break;
                }
            }
            if self.inflight > 0 {
                // The kernel may still write to the OVERLAPPEDs and
                // buffers: leak the table rather than free it.
                std::mem::forget(std::mem::take(&mut self.slots));
            }
        }
        if let Some(mut p) = self.poller.take() {
            // SAFETY: the port is open; a packet with the stop key and no
            // OVERLAPPED is only ever read by the poller thread.
            unsafe {
                PostQueuedCompletionStatus(
                    self.io.port.as_raw_handle() as HANDLE,
                    0,
                    STOP_KEY,
                    std::ptr::null(),
                )
            };
            drop(p.rx);
            if let Some(t) = p.thread.take() {
                let _ = t.join();
            }
        }
    }
}
