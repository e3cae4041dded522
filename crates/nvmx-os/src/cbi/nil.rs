//! `nil`: completes every command at once with success and moves no data.
//!
//! It measures what the library itself costs per command: submit, track,
//! reap, hand back. The completion ring is allocated once at queue creation.

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::{Command, Completion};

use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, RawBuf};
use nvmx_core::error::Result;

/// The `nil` engine: finished slots in submission order.
pub struct Nil {
    /// One entry per queue slot: the queue never has more in flight, so
    /// a push needs no growth path.
    done: Box<[u32]>,
    /// Entries of `done` in use.
    len: usize,
    #[cfg(target_os = "linux")]
    notify: super::notify::LazyNotifier,
}

/// Creates a `nil` engine.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    Ok(Box::new(Nil {
        done: vec![0; p.capacity as usize].into_boxed_slice(),
        len: 0,
        #[cfg(target_os = "linux")]
        notify: Default::default(),
    }))
}

// SAFETY: `nil` never reads or writes the buffers (clauses 2, 3), and
// reports each accepted slot once, from `done` (clause 1).
unsafe impl AsyncEngine for Nil {
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
        self.finish(slot)
    }

    unsafe fn submit_rw(&mut self, slot: u32, _rw: &NvmRw, _data: RawBuf) -> Result<()> {
        self.finish(slot)
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let pending = self.len > 0;
        Ok(Some(self.notify.fd(pending)?))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let n = if max == 0 {
            self.len
        } else {
            self.len.min(max as usize)
        };
        #[cfg(target_os = "linux")]
        self.notify.reaping(n < self.len);
        for &slot in &self.done[..n] {
            sink.complete(slot, Ok(Completion::success(0)));
        }
        if n < self.len {
            // A partial reap: the rest move to the front, in order.
            self.done.copy_within(n..self.len, 0);
        }
        self.len -= n;
        Ok(n as u32)
    }
}

impl Nil {
    /// Records `slot` as finished.
    #[inline]
    fn finish(&mut self, slot: u32) -> Result<()> {
        let Some(e) = self.done.get_mut(self.len) else {
            return Err(overfull(slot));
        };
        *e = slot;
        self.len += 1;
        #[cfg(target_os = "linux")]
        self.notify.signal();
        Ok(())
    }
}

/// The queue handed out more slots than its capacity: a bug in the
/// queue, answered with an error rather than a panic.
#[cold]
#[inline(never)]
fn overfull(slot: u32) -> nvmx_core::error::Error {
    nvmx_core::error::Error::QueueFailed(format!(
        "nil engine: slot {slot} submitted with every slot already in flight"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nil(capacity: usize) -> Nil {
        Nil {
            done: vec![0; capacity].into_boxed_slice(),
            len: 0,
            #[cfg(target_os = "linux")]
            notify: Default::default(),
        }
    }

    /// Submits a read with no buffer in `slot`.
    fn submit(e: &mut Nil, slot: u32) -> Result<()> {
        // SAFETY: `RawBuf::NONE` names no memory, so there is nothing to
        // keep valid while the slot is in flight; each test hands out a
        // slot only while it is not in flight.
        unsafe { e.submit_rw(slot, &NvmRw::default(), RawBuf::NONE) }
    }

    fn poke(e: &mut Nil, max: u32) -> Vec<u32> {
        let mut got = Vec::new();
        let n = e
            .poke(
                max,
                &mut EngineSink::from_fn(&mut |slot, res| {
                    assert!(res.unwrap().is_success());
                    got.push(slot);
                }),
            )
            .unwrap();
        assert_eq!(n as usize, got.len());
        got
    }

    #[test]
    fn partial_pokes_keep_submission_order() {
        let mut e = nil(8);
        for slot in [5, 1, 7, 0, 3] {
            submit(&mut e, slot).unwrap();
        }
        assert_eq!(poke(&mut e, 2), [5, 1]);
        submit(&mut e, 6).unwrap();
        assert_eq!(poke(&mut e, 3), [7, 0, 3]);
        assert_eq!(poke(&mut e, 0), [6]);
        assert!(poke(&mut e, 0).is_empty());
    }

    #[test]
    fn more_slots_than_capacity_is_an_error_not_a_panic() {
        let mut e = nil(2);
        for slot in 0..2 {
            submit(&mut e, slot).unwrap();
        }
        let err = submit(&mut e, 2).unwrap_err();
        assert!(err.to_string().contains("slot 2"), "{err}");
        // The two in flight still complete.
        assert_eq!(poke(&mut e, 0), [0, 1]);
    }
}
