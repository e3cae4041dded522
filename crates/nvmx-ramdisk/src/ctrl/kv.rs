//! The key-value pairs of a KV namespace (commands in the kv module).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The key-value pairs of a KV namespace.
#[derive(Debug, Default)]
pub(crate) struct KvSpace {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl KvSpace {
    /// Deletes every pair (Format NVM, Sanitize).
    pub(crate) fn erase(&self) {
        self.map().clear();
    }

    pub(crate) fn map(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes of keys and values stored.
    pub(crate) fn used(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> u64 {
        map.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
    }
}
