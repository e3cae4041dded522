//! Buffers in DMA memory: nvmx's `Memory` interface over a backing, so
//! `Device::alloc` hands out buffers the controller reaches directly
//! (their I/O address is the backing's IOVA, and no bounce is needed).

#![deny(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::backing::{DeviceBacking, DmaRegion};
use crate::buf::{Memory, RawAlloc};
use crate::error::{Error, Result};

/// The `upcie` memory interface.
pub struct DmaMemory {
    backing: Arc<dyn DeviceBacking>,
    live: Mutex<HashMap<usize, DmaRegion>>,
}

impl DmaMemory {
    /// Memory from `backing`.
    pub fn new(backing: Arc<dyn DeviceBacking>) -> DmaMemory {
        DmaMemory {
            backing,
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
        if r.len < len || !(r.ptr.as_ptr() as usize).is_multiple_of(crate::buf::BUF_ALIGN) {
            return Err(Error::invalid(
                "DMA memory",
                format!(
                    "{}: asked for {len} page-aligned bytes, got {} at {:p}",
                    self.backing.name(),
                    r.len,
                    r.ptr
                ),
            ));
        }
        let a = RawAlloc {
            ptr: r.ptr,
            len,
            io_addr: Some(r.iova),
        };
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(r.ptr.as_ptr() as usize, r);
        Ok(a)
    }

    // The trait makes `free` an unsafe method; its body needs no unsafe
    // code (the region is found by address and dropped).
    #[allow(unsafe_code)]
    unsafe fn free(&self, a: RawAlloc) {
        // Dropping the region releases it.
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(a.ptr.as_ptr() as usize));
    }
}
