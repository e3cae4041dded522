//! Buffers: aligned memory the device can read and write.
//!
//! A [`Buffer`] comes from the device's memory interface ([`Memory`]): plain
//! aligned heap memory for kernel interfaces, DMA-mapped memory for the
//! user-space driver. Either way it is page aligned, so it serves direct
//! I/O, and it may carry the I/O address the device uses to reach it.
//! Queues take ownership of buffers while commands are in flight and hand
//! them back with the completion.

use std::alloc::Layout;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Alignment of every buffer: one 4 KiB page, enough for direct I/O on any
/// logical block size nvmx meets and for PRP entries.
pub const BUF_ALIGN: usize = 4096;

/// One allocation from a [`Memory`] interface: a description, like a raw
/// pointer. Building one is safe; nothing trusts it except as the return
/// value of an `unsafe impl` of [`Memory::alloc`], whose contract makes
/// the promises, and as the argument of the unsafe [`Memory::free`].
#[derive(Debug, Clone, Copy)]
pub struct RawAlloc {
    /// Start of the memory.
    pub ptr: NonNull<u8>,
    /// Size in bytes (at least what was asked).
    pub len: usize,
    /// The device-visible address, when the interface has one.
    pub io_addr: Option<u64>,
}

/// A memory interface: where buffers come from.
///
/// # Safety
/// [`Buffer`] turns what [`Memory::alloc`] returns into slices and hands
/// its address to the kernel and to devices, so an implementation
/// promises, for every `Ok(a)` that `alloc(len)` returns:
/// 1. `a.ptr .. a.ptr + a.len` is one allocation of at least `len` bytes,
///    valid for reads and writes, initialized (zeroed), and aligned to
///    [`BUF_ALIGN`];
/// 2. nothing else reads or writes that memory, and it stays valid, until
///    `a` is passed to [`Memory::free`] on the same interface (the buffer
///    keeps the interface alive until then);
/// 3. `a.io_addr`, when present, is the address at which the device
///    reaches exactly that memory (the user-space driver puts it in PRP
///    and SGL entries);
/// 4. `alloc` and `free` may be called from any thread.
pub unsafe trait Memory: Send + Sync {
    /// The interface id (`heap`, ...).
    fn id(&self) -> &'static str;

    /// Allocates `len` bytes (len > 0) aligned to [`BUF_ALIGN`], zeroed.
    fn alloc(&self, len: usize) -> Result<RawAlloc>;

    /// Returns memory from [`Memory::alloc`].
    ///
    /// # Safety
    /// `a` must come from `alloc` on this interface and not be used after.
    unsafe fn free(&self, a: RawAlloc);
}

/// Page-aligned heap memory (mem interface `heap`).
#[derive(Debug, Default)]
pub struct HeapMemory;

// SAFETY: `alloc` returns a fresh zeroed allocation of exactly `len`
// bytes with BUF_ALIGN alignment from the global allocator (clauses 1,
// 2), has no device address (3), and the allocator serves any thread (4).
unsafe impl Memory for HeapMemory {
    fn id(&self) -> &'static str {
        "heap"
    }

    fn alloc(&self, len: usize) -> Result<RawAlloc> {
        // Layout refuses sizes that round up past isize::MAX.
        let layout = Layout::from_size_align(len, BUF_ALIGN).map_err(|_| {
            Error::too_large(
                "buffer",
                len as u64,
                (isize::MAX as usize - (BUF_ALIGN - 1)) as u64,
                "bytes one allocation holds",
            )
        })?;
        if len == 0 {
            return Err(Error::invalid("buffer size", "0 bytes"));
        }
        // SAFETY: the layout has a non-zero size (checked above).
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(p).ok_or_else(|| {
            Error::io(
                "alloc",
                format!("{len} bytes of heap memory"),
                std::io::Error::from(std::io::ErrorKind::OutOfMemory),
            )
        })?;
        Ok(RawAlloc {
            ptr,
            len,
            io_addr: None,
        })
    }

    unsafe fn free(&self, a: RawAlloc) {
        // SAFETY: `a` came from `alloc` above with this exact layout, which
        // was valid then, and the caller promises not to use it again.
        unsafe {
            std::alloc::dealloc(
                a.ptr.as_ptr(),
                Layout::from_size_align_unchecked(a.len, BUF_ALIGN),
            )
        }
    }
}

/// A raw buffer address handed to an [`AsyncEngine`](crate::be::AsyncEngine): the queue keeps the
/// memory alive and untouched until the engine reports the completion.
///
/// Like a raw pointer, building one is safe and using one is not: only the
/// unsafe [`AsyncEngine::submit`](crate::be::AsyncEngine::submit) and
/// [`RawBuf::as_data_buf`] take one, and their callers promise the memory
/// is valid.
#[derive(Clone, Copy, Debug)]
pub struct RawBuf {
    /// Start of the buffer (null when there is none).
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// The [`Buffer`]'s process-unique id (0: none), so an
    /// engine can tell a buffer it registered with the kernel from a new
    /// one at the same address.
    pub id: u64,
}

impl RawBuf {
    /// No buffer.
    pub const NONE: RawBuf = RawBuf {
        ptr: std::ptr::null_mut(),
        len: 0,
        id: 0,
    };

    /// Whether this is the empty buffer.
    pub fn is_none(&self) -> bool {
        self.ptr.is_null()
    }
}

/// The id of the next buffer (see `Buffer::id`).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An owned, aligned, zero-initialized byte buffer.
///
/// One pointer wide: the buffer moves into a queue at submit and back out
/// with the completion, so its handle is kept to a word and the details
/// live in a small header allocated with it.
pub struct Buffer {
    inner: Box<BufInner>,
}

/// What a [`Buffer`] points to.
struct BufInner {
    raw: RawAlloc,
    /// Unique for the life of the process (never 0): engines that
    /// register buffers with the kernel key their tables by it, since an
    /// address can come back for another allocation.
    id: u64,
    mem: Arc<dyn Memory>,
}

// SAFETY: a Buffer owns its allocation exclusively (like a Box<[u8]>), and
// the Memory it frees through is Send + Sync.
unsafe impl Send for Buffer {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// Allocates `len` zeroed bytes from `mem`.
    pub fn new_in(mem: Arc<dyn Memory>, len: usize) -> Result<Buffer> {
        let raw = mem.alloc(len)?;
        // Clause 1 of `Memory`'s contract, checked where it costs two
        // compares, so a broken interface gives an error instead of a
        // short buffer.
        if raw.len < len || !(raw.ptr.as_ptr() as usize).is_multiple_of(BUF_ALIGN) {
            let id = mem.id();
            // SAFETY: `raw` came from `alloc` on `mem` and is not used again.
            unsafe { mem.free(raw) };
            return Err(Error::BadReply {
                from: "memory interface",
                why: format!(
                    "{id} gave {} bytes at {:p} for {len} bytes aligned to {BUF_ALIGN}",
                    raw.len, raw.ptr
                ),
            });
        }
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Buffer {
            inner: Box::new(BufInner { raw, mem, id }),
        })
    }

    /// Allocates `len` zeroed bytes of page-aligned heap memory.
    pub fn new(len: usize) -> Result<Buffer> {
        Buffer::new_in(Arc::new(HeapMemory), len)
    }

    /// Allocates a buffer holding a copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Result<Buffer> {
        let mut b = Buffer::new(bytes.len())?;
        b.copy_from_slice(bytes);
        Ok(b)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.inner.raw.len
    }

    /// Always false: buffers are never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The address the device uses, when the memory interface has one.
    pub fn io_addr(&self) -> Option<u64> {
        self.inner.raw.io_addr
    }

    /// The memory interface this buffer came from.
    pub fn mem_id(&self) -> &'static str {
        self.inner.mem.id()
    }

    /// Raw view for an async engine: pointer and length.
    pub fn raw_parts(&mut self) -> RawBuf {
        RawBuf {
            ptr: self.inner.raw.ptr.as_ptr(),
            len: self.inner.raw.len,
            id: self.inner.id,
        }
    }

    /// Fills the buffer: `"zero"`, `"anum"` (repeating 0-9a-zA-Z), `"rand-t"`
    /// (seeded pseudo-random, seed 0), or any single character repeated.
    pub fn fill(&mut self, content: &str) -> Result<()> {
        fill(self, content)
    }
}

/// Fills `buf` with a named pattern (see [`Buffer::fill`]).
pub fn fill(buf: &mut [u8], content: &str) -> Result<()> {
    const ANUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    match content {
        "zero" => buf.fill(0),
        "anum" => buf
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = ANUM[i % ANUM.len()]),
        "rand-t" => fill_random(buf, 0),
        c if c.chars().count() == 1 && c.is_ascii() => buf.fill(c.as_bytes()[0]),
        _ => {
            return Err(Error::invalid(
                "fill content",
                format!("{content:?}: use zero, anum, rand-t or a single ASCII character"),
            ));
        }
    }
    Ok(())
}

/// Fills `buf` with a reproducible pseudo-random sequence (xorshift64*).
pub fn fill_random(buf: &mut [u8], seed: u64) {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    for chunk in buf.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// The first byte offset where `a` and `b` differ, or `None` when equal.
/// Buffers of different lengths differ at the shorter one's end.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Number of differing bytes between two equally long buffers (xNVMe's
/// `buf_diff`); extra bytes of the longer one count as different.
pub fn count_differences(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len())
}

impl Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the allocation is live, `len` bytes long, zero-initialized
        // at allocation, and borrowed through `&self`.
        unsafe { std::slice::from_raw_parts(self.inner.raw.ptr.as_ptr(), self.inner.raw.len) }
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.inner.raw.ptr.as_ptr(), self.inner.raw.len) }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `self.inner.mem.alloc` and is dropped once.
        unsafe { self.inner.mem.free(self.inner.raw) }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("len", &self.inner.raw.len)
            .field("mem", &self.inner.mem.id())
            .field("io_addr", &self.inner.raw.io_addr)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned_and_zeroed() {
        for len in [1, 512, 4096, 4097, 1 << 20] {
            let b = Buffer::new(len).unwrap();
            assert_eq!(b.as_ptr() as usize % BUF_ALIGN, 0, "len {len}");
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn zero_length_is_an_error() {
        assert!(matches!(
            Buffer::new(0),
            Err(Error::Invalid { what: "buffer size", why }) if why == "0 bytes"
        ));
    }

    #[test]
    fn fill_patterns_and_diff_helpers() {
        let mut a = Buffer::new(100).unwrap();
        a.fill("anum").unwrap();
        assert_eq!(&a[..12], b"0123456789ab");
        let mut b = Buffer::from_slice(&a).unwrap();
        assert_eq!(first_difference(&a, &b), None);
        b[42] ^= 1;
        assert_eq!(first_difference(&a, &b), Some(42));
        assert_eq!(count_differences(&a, &b), 1);
        assert_eq!(first_difference(&a[..10], &b[..12]), Some(10));
        b.fill("x").unwrap();
        assert!(b.iter().all(|&c| c == b'x'));
        assert!(b.fill("xy").is_err());
        let mut r1 = [0u8; 37];
        let mut r2 = [0u8; 37];
        fill_random(&mut r1, 7);
        fill_random(&mut r2, 7);
        assert_eq!(r1, r2);
        fill_random(&mut r2, 8);
        assert_ne!(r1, r2);
    }
}
