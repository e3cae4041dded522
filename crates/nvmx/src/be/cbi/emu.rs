//! `emu`: emulated async. Submitting only records the command; poking runs
//! the recorded commands, in order, through the device's sync interface.
//!
//! It gives every sync-only interface a queue, at the cost of doing the I/O
//! on the caller's thread when it pokes.

use std::collections::VecDeque;
use std::sync::Arc;

use nvmx_spec::Command;

use super::run_sync;
use crate::be::{AsyncEngine, EngineParams, EngineSink, RawBuf, SyncIo};
use crate::error::Result;

struct Pending {
    slot: u32,
    cmd: Command,
    data: RawBuf,
    meta: RawBuf,
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

impl AsyncEngine for Emu {
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
        #[cfg(target_os = "linux")]
        self.notify.reaping(n < self.pending.len());
        for _ in 0..n {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            // SAFETY: `submit`'s contract keeps the buffers valid and ours
            // until this slot is reported, which happens right after.
            let res = unsafe { run_sync(&*self.sync, &p.cmd, p.data, p.meta) };
            sink(p.slot, res);
        }
        Ok(n as u32)
    }
}
