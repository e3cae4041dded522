//! A completion notifier for event loops: an `eventfd` that becomes
//! readable when a queue has something to reap.
//!
//! It is created only when the user asks for `Queue::completion_fd` (in the facade),
//! so queues that never ask pay nothing on the hot path.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nvmx_core::error::{Error, Result};

/// An eventfd used as a level-triggered "something to reap" flag.
#[derive(Debug)]
pub struct Notifier(OwnedFd);

impl Notifier {
    /// Creates a non-blocking, close-on-exec eventfd.
    pub fn new() -> Result<Notifier> {
        // SAFETY: eventfd takes no pointers; a negative return is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::io(
                "eventfd",
                "completion notifier",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(Notifier(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Marks the queue as having completions to reap.
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own descriptor. A
        // full counter (EAGAIN) already means "readable", so errors are moot.
        let _ = unsafe { libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Clears the flag; called when the queue is poked.
    pub fn clear(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking
        // descriptor; EAGAIN (nothing signalled) is fine.
        let _ = unsafe { libc::read(self.0.as_raw_fd(), (&raw mut v).cast(), 8) };
    }

    /// The descriptor to register with epoll/poll.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A notifier created on first request; until then every call is a no-op,
/// so engines without an event loop pay one branch per call.
#[derive(Debug, Default)]
pub struct LazyNotifier(Option<Notifier>);

impl LazyNotifier {
    /// Signals, if a notifier exists.
    #[inline]
    pub fn signal(&self) {
        if let Some(n) = &self.0 {
            signal_slow(n);
        }
    }

    /// Clears before reaping, then re-signals when `left` completions remain
    /// after the reap, so a level-triggered loop comes back for them.
    #[inline]
    pub fn reaping(&self, left: bool) {
        if let Some(n) = &self.0 {
            reaping_slow(n, left);
        }
    }

    /// The descriptor, creating it (signalled when `pending`) on first use.
    pub fn fd(&mut self, pending: bool) -> Result<RawFd> {
        if self.0.is_none() {
            let n = Notifier::new()?;
            if pending {
                n.signal();
            }
            self.0 = Some(n);
        }
        Ok(self.0.as_ref().map_or(-1, Notifier::fd))
    }
}

// The system calls stay out of line: a queue without an event loop then
// pays one test per call, and its engine's hot functions need no stack
// frame for them.
#[cold]
#[inline(never)]
fn signal_slow(n: &Notifier) {
    n.signal();
}

#[cold]
#[inline(never)]
fn reaping_slow(n: &Notifier, left: bool) {
    n.clear();
    if left {
        n.signal();
    }
}
