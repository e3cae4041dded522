//! mem `windows`: buffers from `VirtualAlloc`.
//!
//! Unbuffered I/O (`FILE_FLAG_NO_BUFFERING`, and every transfer to a
//! physical drive) needs buffers aligned to the sector size. Virtual
//! memory is page aligned (4 KiB, larger than any sector) and comes zeroed,
//! which is what [`Memory::alloc`] promises.

use std::ptr::NonNull;

use windows_sys::Win32::System::Memory::{
    MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_READWRITE, VirtualAlloc, VirtualFree,
};

use nvmx_core::buf::{Memory, RawAlloc};
use nvmx_core::error::{Error, Result};

/// The mem interface id.
pub const ID: &str = "windows";

/// Page-aligned, zeroed memory from `VirtualAlloc`.
#[derive(Debug, Default)]
pub struct WindowsMemory;

// SAFETY: `alloc` returns a fresh committed VirtualAlloc region of at
// least `len` bytes, which the system zeroes and page-aligns (clauses 1,
// 2), with no device address (3); VirtualAlloc and VirtualFree serve any
// thread (4).
unsafe impl Memory for WindowsMemory {
    fn id(&self) -> &'static str {
        ID
    }

    fn alloc(&self, len: usize) -> Result<RawAlloc> {
        if len == 0 {
            return Err(Error::invalid("buffer size", "0 bytes"));
        }
        // SAFETY: a null address lets the system choose; the call takes no
        // other pointers and returns null on failure.
        let p = unsafe {
            VirtualAlloc(
                std::ptr::null(),
                len,
                MEM_COMMIT | MEM_RESERVE,
                PAGE_READWRITE,
            )
        };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| {
            Error::io(
                "VirtualAlloc",
                format!("{len} bytes"),
                std::io::Error::last_os_error(),
            )
        })?;
        Ok(RawAlloc {
            ptr,
            len,
            io_addr: None,
        })
    }

    unsafe fn free(&self, a: RawAlloc) {
        // SAFETY: `a.ptr` is the base of a region from VirtualAlloc above
        // (the caller's contract), released whole (size 0) and not used
        // again.
        let ok = unsafe { VirtualFree(a.ptr.as_ptr().cast(), 0, MEM_RELEASE) };
        debug_assert!(ok != 0, "VirtualFree of a region VirtualAlloc gave");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned_zeroed_and_writable() {
        let m = WindowsMemory;
        for len in [1usize, 512, 4096, 1 << 20] {
            let a = m.alloc(len).unwrap();
            assert_eq!(a.ptr.as_ptr() as usize % nvmx_core::buf::BUF_ALIGN, 0);
            // SAFETY: `a` is `len` bytes of fresh memory of ours.
            let s = unsafe { std::slice::from_raw_parts_mut(a.ptr.as_ptr(), len) };
            assert!(s.iter().all(|&b| b == 0));
            s.fill(0x5a);
            // SAFETY: from this interface, not used after.
            unsafe { m.free(a) };
        }
        assert!(matches!(m.alloc(0), Err(nvmx_core::Error::Invalid { .. })));
    }
}
