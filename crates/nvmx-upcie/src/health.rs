//! Whether the controller can still be trusted with memory.
//!
//! The rule of the driver: a command's memory (the caller's buffers,
//! bounce buffers, PRP-list and SGL pages, queue rings) goes back to its
//! owner only once the command completed or the controller is known to be
//! disabled (CSTS.RDY = 0 after CC.EN = 0). When a reset cannot establish
//! that, the controller is marked failed by name and *untrusted*: memory
//! it may still write is leaked on purpose from then on, until a later
//! reset disables it after all.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use nvmx_core::error::Error;

/// The controller's failure state, shared by the controller, its queues
/// and its buffer allocator.
#[derive(Debug)]
pub(crate) struct Health {
    name: String,
    failed: Mutex<Option<String>>,
    untrusted: AtomicBool,
}

impl Health {
    /// A healthy controller called `name`.
    pub fn new(name: &str) -> Health {
        Health {
            name: name.to_string(),
            failed: Mutex::new(None),
            untrusted: AtomicBool::new(false),
        }
    }

    /// Marks the controller failed for `why`; `untrusted` when it may
    /// still write memory. Returns the error to report.
    pub fn fail(&self, why: String, untrusted: bool) -> Error {
        if untrusted {
            self.untrusted.store(true, Ordering::Release);
        }
        *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(why.clone());
        Error::ControllerFailed {
            name: self.name.clone(),
            why,
        }
    }

    /// After a reset that disabled the controller: it writes no memory
    /// any more.
    pub fn disabled(&self) {
        self.untrusted.store(false, Ordering::Release);
    }

    /// After a reset that brought the controller back: commands run again.
    pub fn recovered(&self) {
        *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Whether the device may write memory the driver no longer tracks:
    /// memory freed now is leaked instead.
    pub fn untrusted(&self) -> bool {
        self.untrusted.load(Ordering::Acquire)
    }

    /// The error for a command on a failed controller, or `None`.
    pub fn check(&self) -> Option<Error> {
        let why = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some(Error::ControllerFailed {
            name: self.name.clone(),
            why,
        })
    }
}
