//! Buffers in DMA memory: nvmx's `Memory` interface over a backing, so
//! `Device::alloc` hands out buffers the controller reaches directly
//! (their I/O address is the backing's IOVA, and no bounce is needed).

#![deny(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::backing::{DeviceBacking, DmaRegion};
use super::health::Health;
use nvmx_core::buf::{Memory, RawAlloc};
use nvmx_core::error::{Error, Result};

/// The `upcie` memory interface. A buffer freed while the controller is
/// untrusted (a reset could not stop it) is leaked, not unmapped: the
/// controller may still write it.
pub(crate) struct DmaMemory {
    backing: Arc<dyn DeviceBacking>,
    health: Arc<Health>,
    live: Mutex<HashMap<usize, DmaRegion>>,
}

impl DmaMemory {
    /// Memory from `backing` for the controller whose state `health` is.
    pub fn new(backing: Arc<dyn DeviceBacking>, health: Arc<Health>) -> DmaMemory {
        DmaMemory {
            backing,
            health,
            live: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for DmaMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaMemory")
            .field("backing", &self.backing.name())
            .finish_non_exhaustive()
    }
}

// SAFETY: `alloc` hands out a region the backing allocated for DMA and
// this interface keeps (in `live`) until `free`, after checking its length
// and alignment (clauses 1, 2); `io_addr` is the IOVA the backing mapped
// it at (3); the table is behind a mutex (4).
#[allow(unsafe_code)]
unsafe impl Memory for DmaMemory {
    fn id(&self) -> &'static str {
        "upcie"
    }

    fn alloc(&self, len: usize) -> Result<RawAlloc> {
        if len == 0 {
            return Err(Error::invalid("buffer size", "0 bytes"));
        }
        let r = self.backing.alloc_dma(len)?;
        let addr = r.as_ptr().as_ptr() as usize;
        if r.len() < len || !addr.is_multiple_of(nvmx_core::buf::BUF_ALIGN) {
            return Err(Error::BadReply {
                from: "DMA memory allocation",
                why: format!(
                    "{}: asked for {len} page-aligned bytes, got {} at {addr:#x}",
                    self.backing.name(),
                    r.len()
                ),
            });
        }
        let a = RawAlloc {
            ptr: r.as_ptr(),
            len,
            io_addr: Some(r.iova()),
        };
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(addr, r);
        Ok(a)
    }

    // The trait makes `free` an unsafe method; its body needs no unsafe
    // code (the region is found by address and dropped).
    #[allow(unsafe_code)]
    unsafe fn free(&self, a: RawAlloc) {
        // Dropping the region releases it, unless the controller may still
        // write it.
        let r = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(a.ptr.as_ptr() as usize));
        if let Some(mut r) = r
            && self.health.untrusted()
        {
            r.leak();
        }
    }
}
