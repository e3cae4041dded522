//! Fault injection: a ramdisk controller that goes fatal, or that stops
//! completing I/O commands.
//!
//! ## `fatal_after=N`: a controller that goes fatal
//!
//! With `fatal_after=N` in the URI the controller executes N I/O commands
//! and then fails: the controller status register
//! reports Controller Fatal Status (CSTS.CFS) and every later command is
//! refused, I/O and admin alike, before it touches any data, with an
//! error that says so. A controller reset (`nvmx ctrlr-reset`,
//! `Device::controller_reset`) recovers it, as a reset recovers real hardware; the fault
//! fires once.
//!
//! This lets callers test what their code does when a device dies under
//! it: nothing panics, commands fail by name, and data written before the
//! failure is intact after the reset.
//!
//! ## `stall_after=N`: commands that never complete
//!
//! With `stall_after=N` the controller executes N I/O commands and then
//! hangs: every later I/O command is accepted and held, untouched, without
//! a completion, until a controller reset. Admin commands still complete,
//! so the host can see and reset the controller. What a caller sees:
//!
//! - the sync path (`Device::read`, `Device::write`, ...) waits for the
//!   device's command timeout (`command-timeout`) and answers
//!   [`Error::Timeout`] naming the command; the command never runs;
//! - a queue's command stays in flight: `Queue::wait` and `Queue::drain`
//!   answer [`Error::Timeout`] after the command timeout, and dropping the
//!   queue leaks its buffers instead of freeing memory a device might
//!   still write (see `crate::queue`);
//! - a controller reset releases the held commands: each completes with
//!   Commands Aborted due to SQ Deletion (a reset deletes the I/O queues),
//!   having touched no data, and the controller executes commands again.
//!   The fault fires once.
//!
//! How a command is held depends on who runs it: a `thrpool` worker
//! blocks in the controller until the reset; `emu`, which runs commands on
//! the caller's thread when poked, is told the command is held and offers
//! it again on its next poke (see [`nvmx_core::be::SyncIo::cmd_io_queued`]).
//! The `nil` engine (`--be ramdisk`) never reaches the controller, so the
//! fault cannot fire through its queues.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nvmx_core::error::{Error, Result};

/// The injected faults of one controller and the state they drive.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// I/O commands to execute before going fatal (`fatal_after`), if any.
    fatal_after: Option<u64>,
    /// I/O commands started so far, while the fault is armed.
    started: AtomicU64,
    /// The controller is fatal (CSTS.CFS).
    fatal: AtomicBool,
    /// The fault fired once; a reset disarms it.
    spent: AtomicBool,
    /// I/O commands to execute before hanging (`stall_after`), if any.
    stall_after: Option<u64>,
    /// I/O commands admitted so far, while the stall is armed.
    admitted: AtomicU64,
    /// The stall, and what the held commands wait on.
    hang: Hang,
}

/// The state of the `stall_after` fault: whether the controller hangs,
/// and a condition variable its held commands wait on.
#[derive(Debug, Default)]
struct Hang {
    state: Mutex<HangState>,
    released: Condvar,
}

/// Whether the controller hangs, and how many resets it has seen.
#[derive(Debug, Default, Clone, Copy)]
struct HangState {
    /// The controller holds every I/O command (the stall fired).
    hung: bool,
    /// The stall fired once; it does not fire again.
    spent: bool,
    /// Controller resets so far: a held command is released by the next.
    resets: u64,
}

/// What the controller does with an I/O command under the `stall_after`
/// fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admit {
    /// Execute it.
    Run,
    /// Hold it: the controller hangs.
    Hold,
    /// It was held and a reset released it: complete it with Commands
    /// Aborted due to SQ Deletion, without touching data.
    Abort,
}

impl Faults {
    /// Faults armed by the URI parameters.
    pub fn new(fatal_after: Option<u64>, stall_after: Option<u64>) -> Faults {
        Faults {
            fatal_after,
            stall_after,
            ..Faults::default()
        }
    }

    fn hang_state(&self) -> std::sync::MutexGuard<'_, HangState> {
        self.hang
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Called for each I/O command before it runs (and again for a command
    /// offered again after it was held, with `held_before`): counts it
    /// toward `stall_after` and says whether the controller runs it, holds
    /// it, or aborts it because a reset released it.
    pub fn admit(&self, held_before: bool) -> Admit {
        let Some(n) = self.stall_after else {
            return Admit::Run;
        };
        let mut st = self.hang_state();
        if st.hung {
            return Admit::Hold;
        }
        if held_before {
            // It was held, and the controller no longer hangs: a reset
            // released it.
            return Admit::Abort;
        }
        if !st.spent && self.admitted.fetch_add(1, Ordering::AcqRel) >= n {
            st.hung = true;
            st.spent = true;
            return Admit::Hold;
        }
        Admit::Run
    }

    /// Holds the calling thread while the controller hangs, at most
    /// `timeout` (`None`: until a reset). Returns true when a reset
    /// released it, false when the timeout passed first.
    pub fn wait_release(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.hang_state();
        let resets = st.resets;
        while st.hung && st.resets == resets {
            st = match deadline {
                None => self
                    .hang
                    .released
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.hang
                        .released
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    /// Whether the controller holds its I/O commands (`stall_after` fired
    /// and no reset since).
    #[cfg(test)]
    pub fn is_hung(&self) -> bool {
        self.hang_state().hung
    }

    /// Called before each command (`io` for I/O commands): refuses it when
    /// the controller is fatal, and makes it fatal once `fatal_after` I/O
    /// commands have run.
    pub fn before_command(&self, io: bool) -> Result<()> {
        if let Some(n) = self.fatal_after
            && io
            && !self.spent.load(Ordering::Acquire)
            && self.started.fetch_add(1, Ordering::AcqRel) >= n
        {
            self.fatal.store(true, Ordering::Release);
            self.spent.store(true, Ordering::Release);
        }
        if self.fatal.load(Ordering::Acquire) {
            return Err(Error::controller_failed(
                "ramdisk",
                format!(
                    "Controller Fatal Status (CSTS.CFS, injected by fatal_after={}); \
                     reset the controller",
                    self.fatal_after.unwrap_or(0)
                ),
            ));
        }
        Ok(())
    }

    /// Whether the controller reports Controller Fatal Status.
    pub fn is_fatal(&self) -> bool {
        self.fatal.load(Ordering::Acquire)
    }

    /// A controller reset clears the fatal state and releases the held
    /// commands.
    pub fn reset(&self) {
        self.fatal.store(false, Ordering::Release);
        let mut st = self.hang_state();
        st.hung = false;
        st.resets = st.resets.wrapping_add(1);
        drop(st);
        self.hang.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_fatal_after_n_commands_and_a_reset_recovers_for_good() {
        let f = Faults::new(Some(2), None);
        assert!(f.before_command(true).is_ok());
        assert!(f.before_command(true).is_ok());
        let e = f.before_command(true).unwrap_err();
        assert!(
            matches!(&e, Error::ControllerFailed { why, .. } if why.contains("fatal_after=2")),
            "{e}"
        );
        assert!(f.is_fatal());
        assert!(f.before_command(true).is_err(), "stays fatal");
        f.reset();
        assert!(!f.is_fatal());
        for _ in 0..10 {
            f.before_command(true).unwrap();
        }
    }

    #[test]
    fn unarmed_never_fails() {
        let f = Faults::new(None, None);
        f.before_command(false).unwrap();
        for _ in 0..100 {
            f.before_command(true).unwrap();
            assert_eq!(f.admit(false), Admit::Run);
        }
        assert!(!f.is_fatal());
        assert!(!f.is_hung());
    }

    #[test]
    fn hangs_after_n_commands_until_a_reset_which_aborts_the_held_ones() {
        let f = Faults::new(None, Some(2));
        assert_eq!(f.admit(false), Admit::Run);
        assert_eq!(f.admit(false), Admit::Run);
        assert_eq!(f.admit(false), Admit::Hold);
        assert!(f.is_hung());
        assert_eq!(f.admit(false), Admit::Hold, "every later command is held");
        assert_eq!(f.admit(true), Admit::Hold, "offered again, still held");
        assert!(
            !f.wait_release(Some(Duration::from_millis(1))),
            "no reset: the wait times out"
        );
        f.reset();
        assert!(!f.is_hung());
        assert_eq!(f.admit(true), Admit::Abort, "held before the reset");
        for _ in 0..10 {
            assert_eq!(f.admit(false), Admit::Run, "the fault fires once");
        }
    }

    #[test]
    fn a_reset_wakes_a_thread_held_without_a_timeout() {
        let f = std::sync::Arc::new(Faults::new(None, Some(0)));
        assert_eq!(f.admit(false), Admit::Hold);
        let g = std::sync::Arc::clone(&f);
        let t = std::thread::spawn(move || g.wait_release(None));
        // Whether the thread waits already or not, the reset releases it:
        // `wait_release` looks at the hang state under the lock.
        f.reset();
        assert!(t.join().unwrap());
    }
}
