//! `nil`: completes every command at once with success and moves no data.
//!
//! It measures what the library itself costs per command: submit, track,
//! reap, hand back. The completion ring is allocated once at queue creation.

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::{Command, Completion};

use crate::be::{AsyncEngine, EngineParams, EngineSink, RawBuf};
use crate::error::Result;

/// The `nil` engine: finished slots in submission order.
pub struct Nil {
    done: Vec<u32>,
    #[cfg(target_os = "linux")]
    notify: super::notify::LazyNotifier,
}

/// Creates a `nil` engine.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Nil {
        done: Vec::with_capacity(p.capacity as usize),
        #[cfg(target_os = "linux")]
        notify: Default::default(),
    }))
}

impl AsyncEngine for Nil {
    fn id(&self) -> &'static str {
        "nil"
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        _cmd: &Command,
        _data: RawBuf,
        _meta: RawBuf,
    ) -> Result<()> {
        self.done.push(slot);
        #[cfg(target_os = "linux")]
        self.notify.signal();
        Ok(())
    }

    unsafe fn submit_rw(&mut self, slot: u32, _rw: &NvmRw, _data: RawBuf) -> Result<()> {
        self.done.push(slot);
        #[cfg(target_os = "linux")]
        self.notify.signal();
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let pending = !self.done.is_empty();
        Ok(Some(self.notify.fd(pending)?))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let n = if max == 0 {
            self.done.len()
        } else {
            self.done.len().min(max as usize)
        };
        #[cfg(target_os = "linux")]
        self.notify.reaping(n < self.done.len());
        if n == self.done.len() {
            // The common case: everything; no shifting of the rest.
            for &slot in &self.done {
                sink.complete(slot, Ok(Completion::success(0)));
            }
            self.done.clear();
        } else {
            for slot in self.done.drain(..n) {
                sink.complete(slot, Ok(Completion::success(0)));
            }
        }
        Ok(n as u32)
    }
}
