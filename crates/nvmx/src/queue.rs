//! Async queues.
//!
//! A [`Queue`] carries up to `capacity` commands in flight on one device.
//! It owns the buffers of every in-flight command: [`Queue::submit`] takes
//! them by value and the [`Completed`] record gives them back, so safe code
//! can never free or touch memory the device may still write.
//!
//! The loop is: submit until [`Error::Busy`] (the buffers come back in the
//! [`Rejected`]), [`Queue::poke`] to reap, take completions with
//! [`Queue::pop`] (or have [`Queue::poke_with`] pass them to a closure),
//! and [`Queue::drain`] at the end.
//!
//! Reaping records only the slot and the status; the buffers stay in the
//! slot and the [`Completed`] record is built once, where it is popped.
//! That keeps the per-command cost to a few stores. If a submission needs
//! the slot of a completion not yet popped, that completion is moved out
//! to a side list first, so completions never block submissions and
//! [`Error::Busy`] always means `capacity` commands in flight.
//!
//! Dropping a queue with commands in flight waits for them, bounded by the
//! device's command timeout (not at all when a wait on the queue already
//! timed out and nothing completed since); if they still have not
//! completed, their buffers are leaked rather than freed, because the
//! device may write them later.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nvmx_spec::Command;
use nvmx_spec::cmd::NvmRw;
use nvmx_spec::opcode::NvmOpcode;

use crate::be::{AsyncEngine, EngineParams, EngineSink, RawBuf};
use crate::buf::Buffer;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::opts::OpenMode;
pub use nvmx_core::slots::{Completed, Rejected};
use nvmx_core::slots::{ReadyRing, Reaper, Slot, SlotTable, take_slot};

/// Largest queue capacity plus one: capacities are powers of two below 4096.
pub const CAPACITY_LIMIT: u32 = 4096;

/// An async queue on a device. See the [module docs](self).
///
/// Submission returns `Result<(), Rejected>`; `Rejected` is large because
/// it carries the buffers back by value. Boxing it would allocate on every
/// "busy", which is ordinary control flow in a submit loop, so the large
/// error is kept on purpose (clippy's `result_large_err` is allowed on the
/// impl for that reason).
pub struct Queue {
    // Field order matters: the engine must drop (join workers) before the
    // slots free their buffers; `Drop` drains first anyway.
    engine: Box<dyn AsyncEngine>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    ready: ReadyRing,
    /// Reaped completions moved out of their slots for a submission that
    /// needed one; all are older than those in `ready`.
    parked: VecDeque<Completed>,
    capacity: u32,
    outstanding: u32,
    timeout: Duration,
    /// A wait timed out and nothing completed since: the device is not
    /// answering, and dropping the queue does not wait for it again.
    timed_out: bool,
    fast: RwFast,
    /// The device's namespace, copied so a command costs no pointer chase.
    nsid: u32,
    dev: Device,
}

/// What a plain read or write is checked against, copied from the
/// device's geometry and options when the queue is created, so the
/// common case costs a few compares. Anything the fast check does not
/// pass goes through the device's full check, which names the problem.
#[derive(Clone, Copy, Debug)]
struct RwFast {
    /// Blocks in the namespace (0: never take the fast path).
    nsect: u64,
    lba_nbytes: u64,
    mdts_nbytes: u64,
    mode: OpenMode,
}

impl RwFast {
    fn of(dev: &Device) -> RwFast {
        let o = dev.opts();
        match dev.geometry() {
            // Files grow and formats with separate metadata need more
            // checks: the full check serves them.
            Ok(g)
                if dev.dtype() != crate::ident::DevType::FsFile
                    && (g.nbytes_oob == 0 || g.lba_extended) =>
            {
                RwFast {
                    nsect: g.nsect,
                    lba_nbytes: u64::from(g.lba_nbytes),
                    mdts_nbytes: u64::from(g.mdts_nbytes),
                    mode: o.mode,
                }
            }
            _ => RwFast {
                nsect: 0,
                lba_nbytes: 0,
                mdts_nbytes: 0,
                mode: OpenMode::ReadWrite,
            },
        }
    }

    /// True when a read (`write` false) or write of `nlb + 1` blocks at
    /// `slba` from `data_len` bytes without metadata needs no more checks.
    #[inline]
    fn passes(&self, write: bool, slba: u64, nlb: u16, data_len: usize) -> bool {
        let n = u64::from(nlb) + 1;
        let need = n * self.lba_nbytes;
        slba < self.nsect
            && n <= self.nsect - slba
            && data_len as u64 >= need
            && need <= self.mdts_nbytes
            && (if write {
                self.mode.writable()
            } else {
                self.mode.readable()
            })
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("engine", &self.engine.id())
            .field("capacity", &self.capacity)
            .field("outstanding", &self.outstanding)
            .finish()
    }
}

/// Checks a queue capacity: a power of two, at least 1, below 4096.
/// Above the limit is [`Error::TooLarge`], 0 or not a power of two
/// [`Error::Invalid`].
pub fn check_capacity(capacity: u32) -> Result<()> {
    if capacity >= CAPACITY_LIMIT {
        return Err(Error::too_large(
            "queue capacity",
            capacity.into(),
            (CAPACITY_LIMIT / 2).into(),
            "commands per queue",
        ));
    }
    if capacity == 0 || !capacity.is_power_of_two() {
        return Err(Error::invalid(
            "queue capacity",
            format!(
                "{capacity} is not a power of two between 1 and {}",
                CAPACITY_LIMIT / 2
            ),
        ));
    }
    Ok(())
}

impl Device {
    /// Creates an async queue with room for `capacity` commands (a power of
    /// two below 4096), run by the configuration's async interface.
    pub fn queue(&self, capacity: u32) -> Result<Queue> {
        Queue::new(self, capacity)
    }
}

#[allow(clippy::result_large_err)]
impl Queue {
    pub(crate) fn new(dev: &Device, capacity: u32) -> Result<Queue> {
        check_capacity(capacity)?;
        if dev.opts().command_timeout.is_zero() {
            return Err(crate::opts::zero_timeout("command-timeout"));
        }
        let geo = dev.geometry()?;
        let params = EngineParams {
            sync: dev.sync_arc(),
            capacity,
            ssw: geo.ssw,
            lba_nbytes: geo.lba_nbytes,
            opts: dev.opts(),
        };
        let engine = (dev.config().new_engine)(&params)?;
        Ok(Queue {
            engine,
            slots: (0..capacity).map(|_| Slot::default()).collect(),
            // Pop from the end: slot 0 is handed out first.
            free: (0..capacity).rev().collect(),
            ready: ReadyRing::new(capacity),
            parked: VecDeque::new(),
            capacity,
            outstanding: 0,
            timeout: dev.opts().command_timeout,
            timed_out: false,
            fast: RwFast::of(dev),
            nsid: dev.nsid(),
            dev: dev.clone(),
        })
    }

    /// The async interface id running this queue.
    pub fn engine_id(&self) -> &'static str {
        self.engine.id()
    }

    /// How many commands may be in flight at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// How many commands are in flight (submitted, not yet reaped).
    pub fn outstanding(&self) -> u32 {
        self.outstanding
    }

    /// How many completions wait in [`Queue::pop`].
    pub fn ready(&self) -> usize {
        self.parked.len() + self.ready.len()
    }

    /// The device this queue runs on.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Submits a raw command with optional data and metadata buffers. The
    /// queue owns the buffers until the command completes. `tag` comes
    /// back in the [`Completed`] record.
    ///
    /// A full queue answers [`Error::Busy`]: poke, then submit again.
    pub fn submit(
        &mut self,
        cmd: Command,
        data: Option<Buffer>,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        if let Err(error) = self.dev.check_access(cmd.opc) {
            return Err(Rejected { error, data, meta });
        }
        if meta.as_ref().is_some_and(|m| !m.is_empty()) && !self.engine.carries_metadata(cmd.opc) {
            let error = Error::unsupported(
                self.engine.id(),
                format!(
                    "a separate metadata buffer: it turns opcode {:#04x} into plain file I/O, \
                     which has no place for one (a block device's kernel keeps protection \
                     information itself); pass none, or use an NVMe passthrough engine \
                     (io_uring_cmd, emu, thrpool)",
                    cmd.opc
                ),
            );
            return Err(Rejected { error, data, meta });
        }
        self.submit_unchecked(cmd, data, meta, tag)
    }

    /// Submits a command that passed the checks.
    #[inline]
    fn submit_unchecked(
        &mut self,
        cmd: Command,
        data: Option<Buffer>,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        let Some(slot) = self.free.pop().or_else(|| self.park_oldest()) else {
            return Err(self.busy(data, meta));
        };
        let s = &mut self.slots[slot as usize];
        s.tag = tag;
        s.opc = cmd.opc;
        s.data = data;
        s.meta = meta;
        let d = s.data.as_mut().map_or(RawBuf::NONE, Buffer::raw_parts);
        let m = s.meta.as_mut().map_or(RawBuf::NONE, Buffer::raw_parts);
        let mut cmd = cmd;
        if cmd.nsid == 0 {
            cmd.nsid = self.nsid;
        }
        // SAFETY: the buffers now live in slot `slot`, which the queue
        // neither reads nor frees until the engine reports that slot, and the
        // slot was free, so it is not in flight.
        match unsafe { self.engine.submit(slot, &cmd, d, m) } {
            Ok(()) => {
                self.outstanding += 1;
                Ok(())
            }
            Err(error) => Err(self.unwind(slot, error)),
        }
    }

    /// The answer to a submission when every slot is in flight.
    #[cold]
    #[inline(never)]
    fn busy(&self, data: Option<Buffer>, meta: Option<Buffer>) -> Rejected {
        Rejected {
            error: Error::Busy {
                outstanding: self.outstanding,
                capacity: self.capacity,
            },
            data,
            meta,
        }
    }

    /// Takes back a slot the engine refused, with its buffers.
    #[cold]
    #[inline(never)]
    fn unwind(&mut self, slot: u32, error: Error) -> Rejected {
        let s = &mut self.slots[slot as usize];
        let (data, meta) = (s.data.take(), s.meta.take());
        self.free.push(slot);
        Rejected { error, data, meta }
    }

    /// Reaps up to `max` completions (0: all that are ready) without
    /// blocking, into the ready list read by [`Queue::pop`]. Returns how
    /// many were reaped.
    #[inline]
    pub fn poke(&mut self, max: u32) -> Result<u32> {
        let Queue {
            engine,
            ready,
            outstanding,
            slots,
            ..
        } = self;
        let n = engine.poke(
            max,
            &mut EngineSink::queue(Reaper {
                ready,
                slots,
                outstanding,
            }),
        )?;
        if n > 0 {
            self.timed_out = false;
        }
        Ok(n)
    }

    /// Like [`Queue::poke`], but passes each completion to `f` instead of
    /// keeping it.
    pub fn poke_with(&mut self, max: u32, mut f: impl FnMut(Completed)) -> Result<u32> {
        // Completions an earlier `poke` kept go first, in order.
        while let Some(c) = self.pop() {
            f(c);
        }
        self.engine_poke(max, &mut f)
    }

    fn engine_poke(&mut self, max: u32, f: &mut dyn FnMut(Completed)) -> Result<u32> {
        let (engine, mut rest) = self.split();
        let mut each = |slot, res| f(rest.finish_slot(slot, res));
        let n = engine.poke(max, &mut EngineSink::from_fn(&mut each))?;
        if n > 0 {
            self.timed_out = false;
        }
        Ok(n)
    }

    /// A file descriptor that becomes readable when the queue has
    /// completions to reap, for epoll/poll-driven event loops. Register it,
    /// and when it fires call [`Queue::poke`], which clears it. `None` when
    /// the async interface has no such handle.
    #[cfg(target_os = "linux")]
    pub fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        self.engine.completion_fd()
    }

    /// Takes the oldest reaped completion, with its buffers; its slot is
    /// free again.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Completed> {
        if !self.parked.is_empty() {
            return self.parked.pop_front();
        }
        let r = self.ready.pop()?;
        Some(take_slot(&mut self.slots, &mut self.free, r))
    }

    /// Frees the slot of the oldest unpopped completion by moving it to
    /// the side list; `None` when every slot is in flight.
    #[cold]
    fn park_oldest(&mut self) -> Option<u32> {
        let r = self.ready.pop()?;
        let c = take_slot(&mut self.slots, &mut self.free, r);
        self.parked.push_back(c);
        self.free.pop()
    }

    /// Blocks until at least one command completes (or the command timeout
    /// passes: [`Error::Timeout`]), then reaps what is ready.
    pub fn wait(&mut self) -> Result<u32> {
        if self.outstanding == 0 {
            return Ok(0);
        }
        // The engine's wait returns at once when completions are ready
        // (io_uring submits and waits in one system call), so the first
        // round reads no clock; the deadline starts after it, which lets a
        // timeout fire up to one round (100 ms) late.
        let round = Duration::from_millis(100);
        let mut deadline: Option<Instant> = None;
        loop {
            let left = match deadline {
                None => self.timeout,
                Some(d) => d.saturating_duration_since(Instant::now()),
            };
            if left.is_zero() {
                self.timed_out = true;
                return Err(Error::Timeout {
                    what: "a command completion",
                    millis: self.timeout.as_millis() as u64,
                });
            }
            let Queue {
                engine,
                ready,
                outstanding,
                slots,
                ..
            } = self;
            let r = engine.wait(
                left.min(round),
                &mut EngineSink::queue(Reaper {
                    ready,
                    slots,
                    outstanding,
                }),
            );
            let n = r?;
            if n > 0 {
                self.timed_out = false;
                return Ok(n);
            }
            deadline.get_or_insert_with(|| Instant::now() + self.timeout);
        }
    }

    /// Waits until no command is in flight; the completions stay readable
    /// through [`Queue::pop`]. Returns how many were reaped.
    pub fn drain(&mut self) -> Result<u32> {
        let mut total = 0;
        while self.outstanding > 0 {
            total += self.wait()?;
        }
        Ok(total)
    }

    fn split(&mut self) -> (&mut dyn AsyncEngine, SlotTable<'_>) {
        (
            &mut *self.engine,
            SlotTable {
                slots: &mut self.slots,
                free: &mut self.free,
                outstanding: &mut self.outstanding,
            },
        )
    }

    // --- typed submissions -------------------------------------------------

    /// Submits an NVM Read of `nlb + 1` blocks at `slba` into `data`.
    #[inline]
    pub fn read(
        &mut self,
        slba: u64,
        nlb: u16,
        data: Buffer,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        self.submit_rw(NvmOpcode::READ.0, slba, nlb, data, meta, tag)
    }

    /// Submits an NVM Write of `nlb + 1` blocks at `slba` from `data`.
    #[inline]
    pub fn write(
        &mut self,
        slba: u64,
        nlb: u16,
        data: Buffer,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        self.submit_rw(NvmOpcode::WRITE.0, slba, nlb, data, meta, tag)
    }

    #[inline]
    fn submit_rw(
        &mut self,
        opc: u8,
        slba: u64,
        nlb: u16,
        data: Buffer,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        if meta.is_none()
            && self
                .fast
                .passes(opc == NvmOpcode::WRITE.0, slba, nlb, data.len())
            && !self.dev.is_stale()
        {
            return self.submit_rw_fast(opc, slba, nlb, data, tag);
        }
        self.submit_rw_checked(opc, slba, nlb, data, meta, tag)
    }

    /// A read or write that passed the fast check goes to the engine as an
    /// LBA range ([`AsyncEngine::submit_rw`]).
    #[inline]
    fn submit_rw_fast(
        &mut self,
        opc: u8,
        slba: u64,
        nlb: u16,
        data: Buffer,
        tag: u64,
    ) -> Result<(), Rejected> {
        let Some(slot) = self.free.pop().or_else(|| self.park_oldest()) else {
            return Err(self.busy(Some(data), None));
        };
        let s = &mut self.slots[slot as usize];
        s.tag = tag;
        s.opc = opc;
        // A free slot holds no buffers, so nothing is dropped here.
        debug_assert!(s.data.is_none() && s.meta.is_none());
        let d = s.data.insert(data).raw_parts();
        let rw = NvmRw {
            opc,
            nsid: self.nsid,
            slba,
            nlb,
            ..Default::default()
        };
        // SAFETY: the buffer now lives in slot `slot`, which the queue
        // neither reads nor frees until the engine reports that slot, and
        // the slot was free, so it is not in flight.
        match unsafe { self.engine.submit_rw(slot, &rw, d) } {
            Ok(()) => {
                self.outstanding += 1;
                Ok(())
            }
            Err(error) => Err(self.unwind(slot, error)),
        }
    }

    /// A read or write the fast check did not pass: the device's full
    /// check names what is wrong, or the command goes the general way.
    #[inline(never)]
    fn submit_rw_checked(
        &mut self,
        opc: u8,
        slba: u64,
        nlb: u16,
        data: Buffer,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        let meta_required = self.engine.carries_metadata(opc);
        if let Err(error) = self.dev.check_lba_io_with(
            slba,
            nlb,
            data.len(),
            meta.as_ref().map(|m| m.len()),
            meta_required,
        ) {
            return Err(Rejected {
                error,
                data: Some(data),
                meta,
            });
        }
        let cmd = self.rw_command(opc, slba, nlb);
        self.submit(cmd, Some(data), meta, tag)
    }

    /// The NVM Read or Write command for `nlb + 1` blocks at `slba` on
    /// this queue's namespace.
    #[inline]
    fn rw_command(&self, opc: u8, slba: u64, nlb: u16) -> Command {
        NvmRw {
            opc,
            nsid: self.nsid,
            slba,
            nlb,
            ..Default::default()
        }
        .to_command()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if self.outstanding == 0 {
            return;
        }
        // After a timed-out wait with nothing completed since, the device
        // had its command timeout already: one last look, no more waiting.
        let wait = if self.timed_out {
            Duration::ZERO
        } else {
            self.timeout
        };
        let deadline = Instant::now() + wait;
        if self.timed_out {
            let (engine, mut rest) = self.split();
            let mut each = |slot, res| drop(rest.finish_slot(slot, res));
            let _ = engine.poke(0, &mut EngineSink::from_fn(&mut each));
        }
        while self.outstanding > 0 && Instant::now() < deadline {
            let (engine, mut rest) = self.split();
            let mut each = |slot, res| drop(rest.finish_slot(slot, res));
            match engine.wait(
                Duration::from_millis(100),
                &mut EngineSink::from_fn(&mut each),
            ) {
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if self.outstanding > 0 {
            // The device may still write these buffers: leak them and the
            // engine rather than free memory under it.
            for s in self.slots.iter_mut() {
                std::mem::forget(s.data.take());
                std::mem::forget(s.meta.take());
            }
            let engine = std::mem::replace(&mut self.engine, Box::new(Leaked));
            std::mem::forget(engine);
        }
    }
}

/// Stands in for a leaked engine during drop.
struct Leaked;

// SAFETY: it accepts no command and reports none.
unsafe impl AsyncEngine for Leaked {
    fn id(&self) -> &'static str {
        "leaked"
    }
    unsafe fn submit(&mut self, _: u32, _: &Command, _: RawBuf, _: RawBuf) -> Result<()> {
        Err(Error::QueueFailed("queue is being dropped".into()))
    }
    fn poke(&mut self, _: u32, _: &mut EngineSink<'_>) -> Result<u32> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use nvmx_spec::Completion;

    /// Options built in code (not parsed) with a zero command timeout are
    /// refused when a queue is created, naming the option.
    #[test]
    fn a_zero_command_timeout_is_refused_at_queue_creation() {
        let o = Options {
            command_timeout: std::time::Duration::ZERO,
            ..Options::default()
        };
        let dev = Device::open("1MiB", &o).unwrap();
        let e = dev.queue(4).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfRange {
                    what: "command-timeout",
                    ..
                }
            ),
            "{e}"
        );
    }

    /// Refuses every command, so the queue's way back is exercised.
    struct Refuser;

    // SAFETY: it accepts no command and reports none.
    unsafe impl AsyncEngine for Refuser {
        fn id(&self) -> &'static str {
            "refuser"
        }
        unsafe fn submit(&mut self, _: u32, _: &Command, _: RawBuf, _: RawBuf) -> Result<()> {
            Err(Error::QueueFailed("refused on purpose".into()))
        }
        fn poke(&mut self, _: u32, _: &mut EngineSink<'_>) -> Result<u32> {
            Ok(0)
        }
    }

    fn queue_with(engine: Box<dyn AsyncEngine>, capacity: u32) -> (Device, Queue) {
        let mut o = Options::default();
        o.set("be", "ramdisk").unwrap();
        let dev = Device::open("64KiB", &o).unwrap();
        let mut q = dev.queue(capacity).unwrap();
        q.engine = engine;
        (dev, q)
    }

    /// A read the fast check passes but the engine refuses comes back with
    /// its own buffer and the engine's error, and its slot is free again:
    /// the queue still takes `capacity` commands afterwards.
    #[test]
    fn an_engine_refusal_hands_the_buffer_back_and_frees_the_slot() {
        let (dev, mut q) = queue_with(Box::new(Refuser), 2);
        for round in 0..5u8 {
            let mut b = dev.alloc(512).unwrap();
            b.iter_mut().for_each(|x| *x = round);
            let addr = b.as_ptr();
            let r = if round % 2 == 0 {
                q.read(1, 0, b, None, 7)
            } else {
                q.write(1, 0, b, None, 7)
            };
            let rej = r.unwrap_err();
            assert!(
                rej.error.to_string().contains("refused on purpose"),
                "{rej}"
            );
            let back = rej.data.expect("the data buffer comes back");
            assert_eq!(back.as_ptr(), addr, "the same buffer");
            assert!(back.iter().all(|&x| x == round), "untouched");
            assert_eq!(q.outstanding(), 0);
        }
        assert_eq!(q.free.len(), 2, "every slot is free again");
    }

    /// Keeps the commands it is given and completes them at the next poke.
    #[derive(Default)]
    struct Recorder {
        seen: std::sync::Arc<std::sync::Mutex<Vec<(u32, Command, usize)>>>,
        done: Vec<u32>,
    }

    // SAFETY: it never touches the buffers and reports each accepted slot
    // once, at the next poke.
    unsafe impl AsyncEngine for Recorder {
        fn id(&self) -> &'static str {
            "recorder"
        }
        unsafe fn submit(&mut self, slot: u32, cmd: &Command, d: RawBuf, _: RawBuf) -> Result<()> {
            self.seen.lock().unwrap().push((slot, *cmd, d.len));
            self.done.push(slot);
            Ok(())
        }
        fn poke(&mut self, _: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
            let n = self.done.len() as u32;
            for slot in self.done.drain(..) {
                sink.complete(slot, Ok(Completion::success(0)));
            }
            Ok(n)
        }
    }

    /// An engine without its own `submit_rw` gets, for a checked read or
    /// write, the NVM command with the queue's namespace, the LBA range
    /// and the buffer; the completion comes back with tag and buffer.
    #[test]
    fn the_default_submit_rw_sends_the_nvm_command() {
        let rec = Recorder::default();
        let seen = rec.seen.clone();
        let (dev, mut q) = queue_with(Box::new(rec), 4);
        let b = dev.alloc(1024).unwrap();
        let addr = b.as_ptr();
        q.read(3, 1, b, None, 42).unwrap();
        q.write(5, 0, dev.alloc(512).unwrap(), None, 43).unwrap();
        assert_eq!(q.drain().unwrap(), 2);
        let c = q.pop().unwrap();
        assert_eq!(c.tag, 42);
        assert!(c.result.is_ok());
        assert_eq!(c.data.unwrap().as_ptr(), addr);
        assert_eq!(q.pop().unwrap().tag, 43);
        let seen = seen.lock().unwrap();
        let (_, read, len) = seen[0];
        assert_eq!(
            (read.opc, read.nsid, read.cdw10_11(), read.cdw12, len),
            (0x02, dev.nsid(), 3, 1, 1024)
        );
        let (_, write, len) = seen[1];
        assert_eq!(
            (write.opc, write.nsid, write.cdw10_11(), write.cdw12, len),
            (0x01, dev.nsid(), 5, 0, 512)
        );
    }
}
