//! `nil`: completes every command at once with success and moves no data.
//!
//! It measures what the library itself costs per command: submit, track,
//! reap, hand back. The completion ring is allocated once at queue creation.

use std::collections::VecDeque;

use nvmx_spec::{Command, Completion};

use crate::be::{AsyncEngine, EngineParams, EngineSink, RawBuf};
use crate::error::Result;

/// The `nil` engine: a FIFO of finished slots.
pub struct Nil {
    done: VecDeque<u32>,
    #[cfg(target_os = "linux")]
    notify: Option<super::notify::Notifier>,
}

/// Creates a `nil` engine.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Nil {
        done: VecDeque::with_capacity(p.capacity as usize),
        #[cfg(target_os = "linux")]
        notify: None,
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
        self.done.push_back(slot);
        #[cfg(target_os = "linux")]
        if let Some(n) = &self.notify {
            n.signal();
        }
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let n = match self.notify.take() {
            Some(n) => n,
            None => super::notify::Notifier::new()?,
        };
        if !self.done.is_empty() {
            n.signal();
        }
        let fd = n.fd();
        self.notify = Some(n);
        Ok(Some(fd))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        #[cfg(target_os = "linux")]
        if let Some(nt) = &self.notify {
            nt.clear();
        }
        let n = if max == 0 {
            self.done.len()
        } else {
            self.done.len().min(max as usize)
        };
        #[cfg(target_os = "linux")]
        if n < self.done.len()
            && let Some(nt) = &self.notify
        {
            nt.signal();
        }
        for slot in self.done.drain(..n) {
            sink(slot, Ok(Completion::success(0)));
        }
        Ok(n as u32)
    }
}
