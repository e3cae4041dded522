//! The driver's only `unsafe` code outside the backings: access to memory
//! the controller reads and writes behind the compiler's back.
//!
//! Rings, PRP lists and bounce buffers live in [`DmaRegion`]s. The
//! controller writes completion entries into them at any time, so reads
//! of entries are volatile and ordered with fences; the other accessors
//! copy bytes in or out. Every accessor checks its range against the
//! region and does nothing (or reports `false`) outside it, so a bad
//! offset is a failed check, never a stray write.
//!
//! [`Pages`] is owned, page-aligned heap memory: the emulated
//! controller's stand-in for DMA memory.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{Ordering, fence};

use nvmx_spec::{Command, Completion};
use zerocopy::{FromBytes, IntoBytes};

use super::backing::DmaRegion;

const PAGE: usize = 4096;

fn in_range(len: usize, off: usize, n: usize) -> bool {
    off.checked_add(n).is_some_and(|end| end <= len)
}

/// Copies `src` into `r` at byte offset `off`; false when out of range.
pub(crate) fn write(r: &DmaRegion, off: usize, src: &[u8]) -> bool {
    if !in_range(r.len, off, src.len()) {
        return false;
    }
    // SAFETY: the range lies inside the region (checked above), which is
    // live for as long as `r` is borrowed; `src` cannot overlap it since
    // the region is only reachable through raw pointers.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), r.ptr.as_ptr().add(off), src.len()) };
    fence(Ordering::Release);
    true
}

/// Copies bytes of `r` at byte offset `off` into `dst`; false when out of
/// range.
pub(crate) fn read(r: &DmaRegion, off: usize, dst: &mut [u8]) -> bool {
    if !in_range(r.len, off, dst.len()) {
        return false;
    }
    fence(Ordering::Acquire);
    // SAFETY: as in `write`, the source range is inside the live region.
    unsafe { std::ptr::copy_nonoverlapping(r.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len()) };
    true
}

/// Zeroes the whole region.
pub(crate) fn zero(r: &DmaRegion) {
    // SAFETY: `r.ptr..r.ptr + r.len` is the live region.
    unsafe { std::ptr::write_bytes(r.ptr.as_ptr(), 0, r.len) };
    fence(Ordering::Release);
}

/// Writes submission queue entry `index` (64 bytes each).
pub(crate) fn write_sqe(r: &DmaRegion, index: usize, cmd: &Command) -> bool {
    write(r, index * 64, cmd.as_bytes())
}

/// Reads completion queue entry `index` (16 bytes each) with volatile
/// loads, status half last so the rest is not older than the phase tag.
pub(crate) fn read_cqe(r: &DmaRegion, index: usize) -> Option<Completion> {
    let off = index * 16;
    if !in_range(r.len, off, 16) {
        return None;
    }
    let base = r.ptr.as_ptr().wrapping_add(off) as *const u32;
    let mut w = [0u32; 4];
    // SAFETY: the 16 bytes are inside the live region (checked above) and
    // 4-byte aligned (regions are page aligned, entries 16 bytes).
    w[3] = unsafe { base.add(3).read_volatile() };
    fence(Ordering::Acquire);
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
pub(crate) unsafe fn copy_to_raw(dst: crate::be::RawBuf, src: &[u8]) {
    let n = dst.len.min(src.len());
    if dst.ptr.is_null() || n == 0 {
        return;
    }
    // SAFETY: the caller guarantees the destination; `n` fits both.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.ptr, n) };
}
