//! The directive settings of the ramdisk's namespace (commands in the
//! directive module).

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The namespace's directive settings.
#[derive(Debug, Default)]
pub(crate) struct DirState {
    /// The Streams directive is enabled.
    pub(crate) streams: bool,
    /// Streams allocated to the namespace (NSA).
    pub(crate) allocated: u16,
    /// Open stream identifiers.
    pub(crate) open: BTreeSet<u16>,
}

/// Directive state of the ramdisk's namespace.
#[derive(Debug, Default)]
pub(crate) struct Directives {
    state: Mutex<DirState>,
}

impl Directives {
    pub(crate) fn state(&self) -> MutexGuard<'_, DirState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
