//! Fault injection: a ramdisk controller that goes fatal.
//!
//! With `fatal_after=N` in the URI the controller executes N I/O commands
//! and then fails: the controller status register
//! reports Controller Fatal Status (CSTS.CFS) and every later command is
//! refused, I/O and admin alike, before it touches any data, with an
//! error that says so. A controller reset (`nvmx ctrlr-reset`,
//! [`crate::Device::controller_reset`]) recovers it, as a reset recovers real hardware; the fault
//! fires once.
//!
//! This lets callers test what their code does when a device dies under
//! it: nothing panics, commands fail by name, and data written before the
//! failure is intact after the reset.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, Result};

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
}

impl Faults {
    /// Faults armed by the URI parameters.
    pub fn new(fatal_after: Option<u64>) -> Faults {
        Faults {
            fatal_after,
            ..Faults::default()
        }
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
            return Err(Error::QueueFailed(format!(
                "the ramdisk controller is fatal (CSTS.CFS, injected by fatal_after={}); \
                 reset the controller",
                self.fatal_after.unwrap_or(0)
            )));
        }
        Ok(())
    }

    /// Whether the controller reports Controller Fatal Status.
    pub fn is_fatal(&self) -> bool {
        self.fatal.load(Ordering::Acquire)
    }

    /// A controller reset clears the fatal state.
    pub fn reset(&self) {
        self.fatal.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_fatal_after_n_commands_and_a_reset_recovers_for_good() {
        let f = Faults::new(Some(2));
        assert!(f.before_command(true).is_ok());
        assert!(f.before_command(true).is_ok());
        let e = f.before_command(true).unwrap_err().to_string();
        assert!(e.contains("fatal") && e.contains("fatal_after=2"), "{e}");
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
        let f = Faults::new(None);
        f.before_command(false).unwrap();
        for _ in 0..100 {
            f.before_command(true).unwrap();
        }
        assert!(!f.is_fatal());
    }
}
