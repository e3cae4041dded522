//! `emu`: emulated async. Submitting only records the command; poking runs
//! the recorded commands, in order, through the device's sync interface.
//!
//! It gives every sync-only interface a queue, at the cost of doing the I/O
//! on the caller's thread when it pokes.
//!
//! A device may hold a command without completing it (the ramdisk's
//! `stall_after` fault, see [`SyncIo::cmd_io_queued`]): the command stays
//! first in line, in flight, and is offered again on the next poke; the
//! commands behind it wait for it, in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nvmx_spec::Command;

use super::run_queued;
use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, Offer, RawBuf, SyncIo};
use nvmx_core::error::Result;

struct Pending {
    slot: u32,
    cmd: Command,
    data: RawBuf,
    meta: RawBuf,
    /// The device held it when it was last offered.
    held: bool,
}

/// The `emu` engine.
pub struct Emu {
    sync: Arc<dyn SyncIo>,
    pending: VecDeque<Pending>,
    #[cfg(target_os = "linux")]
    notify: super::notify::LazyNotifier,
}

// SAFETY: the raw buffers in `pending` are owned by the queue's in-flight
// slots and only touched by this engine; moving the engine to another thread
// moves that exclusive access with it.
unsafe impl Send for Emu {}

/// Creates an `emu` engine over the device's sync interface.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Emu {
        sync: Arc::clone(p.sync),
        pending: VecDeque::with_capacity(p.capacity as usize),
        #[cfg(target_os = "linux")]
        notify: Default::default(),
    }))
}

// SAFETY: commands run on the caller's thread inside `poke`/`wait` and
// are reported after the sync call that used their buffers returned (a
// held command keeps its slot until a later offer completes it); a
// refused `submit` keeps nothing (clauses 1-3).
unsafe impl AsyncEngine for Emu {
    fn id(&self) -> &'static str {
        "emu"
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        self.pending.push_back(Pending {
            slot,
            cmd: *cmd,
            data,
            meta,
            held: false,
        });
        #[cfg(target_os = "linux")]
        self.notify.signal();
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let pending = !self.pending.is_empty();
        Ok(Some(self.notify.fd(pending)?))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let n = if max == 0 {
            self.pending.len()
        } else {
            self.pending.len().min(max as usize)
        };
        let mut done = 0u32;
        for _ in 0..n {
            let Some(mut p) = self.pending.pop_front() else {
                break;
            };
            let offer = if p.held { Offer::Again } else { Offer::First };
            // SAFETY: `submit`'s contract keeps the buffers valid and ours
            // until this slot is reported, which happens right after, or
            // later when the device holds the command.
            match unsafe { run_queued(&*self.sync, &p.cmd, p.data, p.meta, offer) } {
                Ok(None) => {
                    p.held = true;
                    self.pending.push_front(p);
                    break;
                }
                Ok(Some(cpl)) => sink.complete(p.slot, Ok(cpl)),
                Err(e) => sink.complete(p.slot, Err(e)),
            }
            done += 1;
        }
        // Commands left to run keep the notifier signalled; a held one
        // does not (nothing will complete until the device lets it go).
        #[cfg(target_os = "linux")]
        self.notify
            .reaping(self.pending.front().is_some_and(|p| !p.held));
        Ok(done)
    }

    /// Polls until a completion or the timeout; while the device holds the
    /// first command, it sleeps a millisecond between offers instead of
    /// spinning.
    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Ready completions cost no clock read.
        let n = self.poke(0, sink)?;
        if n > 0 {
            return Ok(n);
        }
        let start = Instant::now();
        loop {
            let n = self.poke(0, sink)?;
            let left = timeout.saturating_sub(start.elapsed());
            if n > 0 || left.is_zero() {
                return Ok(n);
            }
            if self.pending.front().is_some_and(|p| p.held) {
                std::thread::sleep(left.min(Duration::from_millis(1)));
            } else {
                std::thread::yield_now();
            }
        }
    }
}
