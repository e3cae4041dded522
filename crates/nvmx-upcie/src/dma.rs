//! The driver's only `unsafe` code outside the backings: access to memory
//! the controller reads and writes behind the compiler's back.
//!
//! Rings, PRP lists and bounce buffers live in [`DmaRegion`]s. The
//! controller writes completion entries into them at any time, so reads
//! of entries are volatile; the other accessors copy bytes in or out.
//! Every accessor checks its range against the region and does nothing
//! (or reports `false`) outside it, so a bad offset is a failed check,
//! never a stray write.
//!
//! **Ordering against the device.** A `fence` orders memory between CPUs
//! only; the controller is not one of them. [`wmb`] orders the CPU's
//! stores to DMA memory before a later store to a register (the doorbell
//! that tells the controller to read them), and [`rmb`] orders the read
//! of a completion's phase tag before the reads of the data the
//! controller wrote. Covered platforms: x86 and x86-64, where stores and
//! loads to write-back memory are not reordered with uncached register
//! accesses (a compiler barrier is all that is needed), and AArch64, with
//! `dmb oshst` / `dmb oshld` (outer shareable: the domain devices are in).
//! The Linux backings refuse to open on other architectures.
//!
//! [`Pages`] is owned, page-aligned heap memory: the emulated
//! controller's stand-in for DMA memory.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{Ordering, compiler_fence, fence};

use nvmx_spec::{Command, Completion};
use zerocopy::{FromBytes, IntoBytes};

use super::backing::DmaRegion;

const PAGE: usize = 4096;

fn in_range(len: usize, off: usize, n: usize) -> bool {
    off.checked_add(n).is_some_and(|end| end <= len)
}

/// Orders earlier stores to DMA memory before later register writes (a
/// doorbell), for the device as well as for other CPUs.
#[inline]
pub(crate) fn wmb() {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a barrier instruction; it touches no memory or registers
    // Rust knows about.
    unsafe {
        std::arch::asm!("dmb oshst", options(nostack, preserves_flags))
    };
    fence(Ordering::Release);
    compiler_fence(Ordering::SeqCst);
}

/// Orders an earlier read of DMA memory the device wrote (a completion's
/// phase tag) before later reads of memory it wrote with it.
#[inline]
pub(crate) fn rmb() {
    compiler_fence(Ordering::SeqCst);
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as in `wmb`.
    unsafe {
        std::arch::asm!("dmb oshld", options(nostack, preserves_flags))
    };
    fence(Ordering::Acquire);
}

/// Copies `src` into `r` at byte offset `off`; false when out of range.
pub(crate) fn write(r: &DmaRegion, off: usize, src: &[u8]) -> bool {
    if !in_range(r.len(), off, src.len()) {
        return false;
    }
    // SAFETY: the range lies inside the region (checked above), which is
    // live for as long as `r` is borrowed (the DeviceBacking contract);
    // `src` cannot overlap it since the region is only reachable through
    // raw pointers.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), r.as_ptr().as_ptr().add(off), src.len()) };
    wmb();
    true
}

/// Copies `src` to the start of `r` and zeroes the rest of the region,
/// so a list page never holds entries of an earlier command; false when
/// `src` does not fit.
pub(crate) fn write_whole(r: &DmaRegion, src: &[u8]) -> bool {
    if src.len() > r.len() {
        return false;
    }
    // SAFETY: both ranges lie inside the live region (checked above).
    unsafe {
        let p = r.as_ptr().as_ptr();
        std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len());
        std::ptr::write_bytes(p.add(src.len()), 0, r.len() - src.len());
    }
    wmb();
    true
}

/// Copies bytes of `r` at byte offset `off` into `dst`; false when out of
/// range.
pub(crate) fn read(r: &DmaRegion, off: usize, dst: &mut [u8]) -> bool {
    if !in_range(r.len(), off, dst.len()) {
        return false;
    }
    rmb();
    // SAFETY: as in `write`, the source range is inside the live region.
    unsafe {
        std::ptr::copy_nonoverlapping(r.as_ptr().as_ptr().add(off), dst.as_mut_ptr(), dst.len())
    };
    true
}

/// Zeroes the whole region.
pub(crate) fn zero(r: &DmaRegion) {
    // SAFETY: `as_ptr()..as_ptr() + len()` is the live region.
    unsafe { std::ptr::write_bytes(r.as_ptr().as_ptr(), 0, r.len()) };
    wmb();
}

/// Writes submission queue entry `index` (64 bytes each), ordered before
/// the doorbell write that follows.
pub(crate) fn write_sqe(r: &DmaRegion, index: usize, cmd: &Command) -> bool {
    write(r, index * 64, cmd.as_bytes())
}

/// Reads completion queue entry `index` (16 bytes each) with volatile
/// loads, status half last so the rest is not older than the phase tag.
pub(crate) fn read_cqe(r: &DmaRegion, index: usize) -> Option<Completion> {
    let off = index * 16;
    if !in_range(r.len(), off, 16) {
        return None;
    }
    let base = r.as_ptr().as_ptr().wrapping_add(off) as *const u32;
    let mut w = [0u32; 4];
    // SAFETY: the 16 bytes are inside the live region (checked above) and
    // 4-byte aligned (regions are page aligned, entries 16 bytes).
    w[3] = unsafe { base.add(3).read_volatile() };
    rmb();
    for (i, slot) in w.iter_mut().enumerate().take(3) {
        // SAFETY: as above.
        *slot = unsafe { base.add(i).read_volatile() };
    }
    Completion::read_from_bytes(w.as_bytes()).ok()
}

/// Owned, zeroed, page-aligned heap memory standing in for DMA memory in
/// the emulated controller.
#[derive(Debug)]
pub(crate) struct Pages {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: Pages owns its allocation like a Box<[u8]>; all access goes
// through the bounds-checked copies below.
unsafe impl Send for Pages {}
// SAFETY: as above; concurrent copies model a device and a host touching
// the same DMA memory, which the driver's protocol keeps apart.
unsafe impl Sync for Pages {}

impl Pages {
    /// Allocates `len` bytes (rounded up to whole pages, at least one).
    pub(crate) fn new(len: usize) -> Option<Pages> {
        let len = len.max(1).checked_next_multiple_of(PAGE)?;
        let layout = Layout::from_size_align(len, PAGE).ok()?;
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        Some(Pages {
            ptr: NonNull::new(p)?,
            len,
        })
    }

    /// Start of the memory.
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Length in bytes (whole pages).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The pages as a DMA region at controller address `iova` (the
    /// emulated controller's `alloc_dma`); `release` runs when it drops.
    pub(crate) fn into_region(
        pages: std::sync::Arc<Pages>,
        iova: u64,
        release: Box<dyn FnOnce() + Send + Sync>,
    ) -> DmaRegion {
        let (ptr, len) = (pages.ptr, pages.len);
        // SAFETY: `pages` is a live, zeroed, page-aligned allocation of
        // `len` bytes that the region keeps alive (as its owner) and that
        // hands out no references; the caller maps `iova..iova + len` to
        // it until `release` runs.
        unsafe { DmaRegion::new(ptr, len, iova, Some(release), Some(pages)) }
    }

    /// Copies out bytes at `off`; false when out of range.
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> bool {
        if !in_range(self.len, off, dst.len()) {
            return false;
        }
        fence(Ordering::Acquire);
        // SAFETY: the source range is inside the live allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len())
        };
        true
    }

    /// Copies `src` in at `off`; false when out of range.
    pub(crate) fn write(&self, off: usize, src: &[u8]) -> bool {
        if !in_range(self.len, off, src.len()) {
            return false;
        }
        // SAFETY: the destination range is inside the live allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        };
        fence(Ordering::Release);
        true
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this size and page alignment.
        unsafe {
            std::alloc::dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.len, PAGE),
            )
        }
    }
}

/// Copies `src` into the host buffer `dst` of an in-flight async command.
///
/// # Safety
/// `dst.ptr..dst.ptr + dst.len` must be valid for writes and not accessed
/// by anyone else during the call (the async queue's submit contract).
pub(crate) unsafe fn copy_to_raw(dst: nvmx_core::be::RawBuf, src: &[u8]) {
    let n = dst.len.min(src.len());
    if dst.ptr.is_null() || n == 0 {
        return;
    }
    // SAFETY: the caller guarantees the destination; `n` fits both.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.ptr, n) };
}
