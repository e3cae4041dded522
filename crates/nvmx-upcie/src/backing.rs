//! What the user-space driver needs from the machine: the controller's
//! registers (BAR0) and memory the controller can reach by DMA.
//!
//! The driver (controller bring-up, queue pairs, PRPs and SGLs) is safe
//! Rust over this trait. Three implementations stand behind it: vfio-pci
//! (IOMMU mappings), uio_pci_generic (pinned memory, physical addresses)
//! and an in-process emulated controller for tests without a device.

use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::Result;

/// One NVMe PCI function, as the driver sees it.
pub trait DeviceBacking: Send + Sync + 'static {
    /// A name for messages: the PCI address, or `emulated`.
    fn name(&self) -> &str;

    /// Reads the 32-bit register at byte offset `off` of BAR0.
    fn read32(&self, off: usize) -> u32;

    /// Writes the 32-bit register at byte offset `off` of BAR0. Doorbells
    /// are register writes too.
    fn write32(&self, off: usize, value: u32);

    /// Reads a 64-bit register as two 32-bit reads, low half first, as the
    /// NVMe specification allows for CAP, ASQ and ACQ.
    fn read64(&self, off: usize) -> u64 {
        u64::from(self.read32(off)) | (u64::from(self.read32(off + 4)) << 32)
    }

    /// Writes a 64-bit register as two 32-bit writes, low half first.
    fn write64(&self, off: usize, value: u64) {
        self.write32(off, value as u32);
        self.write32(off + 4, (value >> 32) as u32);
    }

    /// Allocates `len` bytes of zeroed memory the controller can reach,
    /// page aligned, contiguous in the controller's address space.
    fn alloc_dma(&self, len: usize) -> Result<DmaRegion>;

    /// The controller's address (IOVA or physical) of host address
    /// `vaddr`, when `vaddr..vaddr + len` lies in DMA memory of this
    /// backing and is contiguous for the controller. Callers ask page by
    /// page; `None` makes the driver bounce the data through its own DMA
    /// memory.
    fn translate(&self, vaddr: usize, len: usize) -> Option<u64>;
}

/// Memory a [`DeviceBacking`] allocated for DMA. Freed through the
/// backing's release function when dropped.
pub struct DmaRegion {
    /// Start of the memory in this process.
    pub ptr: NonNull<u8>,
    /// Length in bytes (a multiple of 4096).
    pub len: usize,
    /// The controller's address of `ptr`.
    pub iova: u64,
    /// Releases the memory (unmaps, unpins, frees) when the region drops.
    pub release: Option<Box<dyn FnOnce() + Send + Sync>>,
    /// Keeps whatever owns the mapping (container, file) alive.
    pub owner: Option<Arc<dyn Send + Sync>>,
}

// SAFETY: a DmaRegion owns its memory exclusively, like a Box<[u8]>; the
// controller writes into it only at the driver's request.
unsafe impl Send for DmaRegion {}
// SAFETY: shared access reads only.
unsafe impl Sync for DmaRegion {}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        if let Some(f) = self.release.take() {
            f();
        }
    }
}

impl std::fmt::Debug for DmaRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaRegion")
            .field("len", &self.len)
            .field("iova", &format_args!("{:#x}", self.iova))
            .finish()
    }
}
