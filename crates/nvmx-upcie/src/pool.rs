//! A cache of driver-owned DMA memory: PRP list pages, SGL segments and
//! bounce buffers are taken from it per command and given back when the
//! command completes, so a command does not cost an allocation (an IOMMU
//! mapping, a pinned page) each time.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use super::backing::{DeviceBacking, DmaRegion};
use nvmx_core::error::Result;

/// Largest region kept for reuse.
const MAX_POOLED: usize = 1 << 20;
/// Regions kept per size.
const PER_SIZE: usize = 16;

/// Reusable DMA regions by size (powers of two from 4 KiB).
pub(crate) struct DmaPool {
    /// Where regions come from, and the translation for host buffers.
    pub backing: Arc<dyn DeviceBacking>,
    free: Mutex<HashMap<usize, Vec<DmaRegion>>>,
}

impl DmaPool {
    /// An empty pool over `backing`.
    pub fn new(backing: Arc<dyn DeviceBacking>) -> Arc<DmaPool> {
        Arc::new(DmaPool {
            backing,
            free: Mutex::new(HashMap::new()),
        })
    }

    /// The size class a request of `len` bytes is served from: a power
    /// of two from 4 KiB.
    fn class(len: usize) -> usize {
        len.max(4096).next_power_of_two()
    }

    /// A region of at least `len` bytes (contents unspecified).
    pub fn get(self: &Arc<Self>, len: usize) -> Result<Pooled> {
        let class = Self::class(len);
        if class > MAX_POOLED {
            return Ok(Pooled {
                region: Some(self.backing.alloc_dma(len)?),
                pool: None,
                class,
            });
        }
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&class)
            .and_then(Vec::pop);
        let region = match reused {
            Some(r) => r,
            None => self.backing.alloc_dma(class)?,
        };
        Ok(Pooled {
            region: Some(region),
            pool: Some(Arc::clone(self)),
            class,
        })
    }

    /// Keeps `r` for the next request of its size class. The class, not
    /// the region's length, is the key: a backing may hand out more than
    /// asked for (a whole 2 MiB hugepage), and the region must be found
    /// again by the next request of the same size.
    fn put(&self, class: usize, r: DmaRegion) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let list = free.entry(class).or_default();
        if list.len() < PER_SIZE {
            list.push(r);
        }
    }
}

/// A region from a [`DmaPool`], given back when dropped.
pub(crate) struct Pooled {
    region: Option<DmaRegion>,
    pool: Option<Arc<DmaPool>>,
    class: usize,
}

impl Deref for Pooled {
    type Target = DmaRegion;
    fn deref(&self) -> &DmaRegion {
        // Only `drop` takes the region out.
        self.region.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let (Some(r), Some(p)) = (self.region.take(), self.pool.as_ref()) {
            p.put(self.class, r);
        }
    }
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.region.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::EmuBacking;

    /// A backing that rounds every allocation up to a 2 MiB hugepage, as
    /// uio and vfio do: its regions must still be found again.
    #[test]
    fn regions_larger_than_asked_for_are_reused() {
        let emu = Arc::new(EmuBacking::new("1MiB").unwrap().with_hugepage_regions(true));
        let pool = DmaPool::new(emu.clone());
        for len in [8192, 4096, 100_000] {
            drop(pool.get(len).unwrap());
            let n = emu.stats().dma_allocs;
            for _ in 0..10 {
                let r = pool.get(len).unwrap();
                assert!(r.len() >= len);
            }
            assert_eq!(emu.stats().dma_allocs, n, "{len}: no new mapping");
        }
    }
}
