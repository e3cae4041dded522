//! What the user-space driver needs from the machine: the controller's
//! registers (BAR0) and memory the controller can reach by DMA.
//!
//! The driver (controller bring-up, queue pairs, PRPs and SGLs) is safe
//! Rust over this trait. Three implementations stand behind it: vfio-pci
//! (IOMMU mappings), uio_pci_generic (pinned memory, physical addresses)
//! and an in-process emulated controller for tests without a device.

use std::ptr::NonNull;
use std::sync::Arc;

use nvmx_core::error::Result;

/// One NVMe PCI function, as the driver sees it.
///
/// # Safety
///
/// The driver's `unsafe` code reads and writes the memory this trait hands
/// out and gives its addresses to a device that writes them at any time,
/// so an implementation must keep this contract:
///
/// 1. Every [`DmaRegion`] from [`alloc_dma`](Self::alloc_dma) describes
///    memory of this process that is valid for reads and writes of
///    [`DmaRegion::len`] bytes from [`DmaRegion::as_ptr`], page aligned
///    (4096), zeroed, not reachable through any other Rust reference, and
///    stays so until the region's release function runs (it runs when the
///    region is dropped, never when the driver leaks it on purpose).
/// 2. The region's length is at least the length asked for.
/// 3. [`DmaRegion::iova`] is the address at which the controller reaches
///    the region's first byte, and the region is contiguous for the
///    controller: byte `i` of the region is at `iova + i`.
/// 4. [`translate`](Self::translate) returns `Some(a)` only when
///    `vaddr..vaddr + len` lies inside one live region of this backing,
///    and then `a` is the controller's address of `vaddr` under rule 3.
/// 5. The register accessors touch only the device's registers: they never
///    read or write memory of the process, whatever the offset.
///
/// A device is trusted to access only the addresses the driver gives it;
/// the driver keeps memory alive (or leaks it) as long as the device may
/// use it.
pub unsafe trait DeviceBacking: Send + Sync + 'static {
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
    /// page aligned, contiguous in the controller's address space (rules
    /// 1-3 of the contract).
    fn alloc_dma(&self, len: usize) -> Result<DmaRegion>;

    /// The controller's address (IOVA or physical) of host address
    /// `vaddr`, when `vaddr..vaddr + len` lies in DMA memory of this
    /// backing and is contiguous for the controller (rule 4). Callers ask
    /// page by page; `None` makes the driver bounce the data through its
    /// own DMA memory.
    fn translate(&self, vaddr: usize, len: usize) -> Option<u64>;
}

/// Memory a [`DeviceBacking`] allocated for DMA. Freed through the
/// backing's release function when dropped, unless the driver leaked it
/// because the device may still write it.
pub struct DmaRegion {
    ptr: NonNull<u8>,
    len: usize,
    iova: u64,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
    owner: Option<Arc<dyn Send + Sync>>,
    leaked: bool,
}

// SAFETY: a DmaRegion owns its memory exclusively, like a Box<[u8]>; the
// controller writes into it only at the driver's request.
unsafe impl Send for DmaRegion {}
// SAFETY: shared access reads only.
unsafe impl Sync for DmaRegion {}

impl DmaRegion {
    /// A region of `len` bytes at `ptr` in this process and `iova` for the
    /// controller. `release` runs when the region drops (not when it is
    /// leaked); `owner` is kept alive until then.
    ///
    /// # Safety
    /// `ptr..ptr + len` and `iova` must satisfy rules 1-3 of the
    /// [`DeviceBacking`] contract until `release` runs (or forever, if the
    /// region is leaked).
    pub unsafe fn new(
        ptr: NonNull<u8>,
        len: usize,
        iova: u64,
        release: Option<Box<dyn FnOnce() + Send + Sync>>,
        owner: Option<Arc<dyn Send + Sync>>,
    ) -> DmaRegion {
        DmaRegion {
            ptr,
            len,
            iova,
            release,
            owner,
            leaked: false,
        }
    }

    /// Start of the memory in this process.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Length in bytes (a multiple of 4096).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty (never, for a backing's region).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The controller's address of the first byte.
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// Keeps the memory (and its IOMMU mapping or pinning) for the rest of
    /// the process instead of releasing it when the region drops: for
    /// memory a device that could not be stopped may still write.
    pub(crate) fn leak(&mut self) {
        self.leaked = true;
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        if self.leaked {
            std::mem::forget(self.release.take());
            std::mem::forget(self.owner.take());
            return;
        }
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
