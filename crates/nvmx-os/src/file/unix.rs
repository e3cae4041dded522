//! Unix file calls: open flags, positional and vectored I/O.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;

use nvmx_core::opts::Options;

/// Opens `path` as the options say.
pub fn open(path: &str, opts: &Options) -> io::Result<File> {
    let mut oo = OpenOptions::new();
    oo.read(opts.mode.readable()).write(opts.mode.writable());
    if opts.create {
        oo.create(true).mode(opts.create_mode);
    }
    if opts.truncate {
        oo.truncate(true);
    }
    let mut flags = 0;
    if opts.direct {
        flags |= direct_flag()?;
    }
    oo.custom_flags(flags);
    oo.open(path)
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "android"))]
fn direct_flag() -> io::Result<i32> {
    Ok(libc::O_DIRECT)
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "android")))]
fn direct_flag() -> io::Result<i32> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--direct: this platform has no O_DIRECT",
    ))
}

/// Reads exactly `buf.len()` bytes at `off`; end of file is an error.
pub fn read_exact_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<()> {
    f.read_exact_at(buf, off)
}

/// Writes all of `buf` at `off`.
pub fn write_all_at(f: &File, buf: &[u8], off: u64) -> io::Result<()> {
    f.write_all_at(buf, off)
}

fn offset(off: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(off).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Fills every slice in order from `off`, with `preadv` and retries on
/// short reads.
pub fn read_vectored_exact_at(
    f: &File,
    iov: &mut [IoSliceMut<'_>],
    mut off: u64,
) -> io::Result<()> {
    let mut iov = iov;
    while !iov.is_empty() {
        let cnt = iov.len().min(1024) as libc::c_int;
        // SAFETY: IoSliceMut is ABI-compatible with iovec on Unix, the
        // slices are valid and exclusively borrowed for the call, and
        // `cnt` does not exceed their number.
        let n = unsafe { libc::preadv(f.as_raw_fd(), iov.as_ptr().cast(), cnt, offset(off)?) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        off += n as u64;
        IoSliceMut::advance_slices(&mut iov, n as usize);
    }
    Ok(())
}

/// Writes every slice in order from `off`, with `pwritev` and retries on
/// short writes.
pub fn write_vectored_all_at(f: &File, iov: &[IoSlice<'_>], mut off: u64) -> io::Result<()> {
    // advance_slices needs a mutable list; copying the descriptors (not
    // the data) keeps the caller's untouched.
    let mut owned: Vec<IoSlice<'_>> = iov.to_vec();
    let mut iov = &mut owned[..];
    while !iov.is_empty() {
        let cnt = iov.len().min(1024) as libc::c_int;
        // SAFETY: IoSlice is ABI-compatible with iovec on Unix, the slices
        // are valid for reads for the call, and `cnt` does not exceed them.
        let n = unsafe { libc::pwritev(f.as_raw_fd(), iov.as_ptr().cast(), cnt, offset(off)?) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        off += n as u64;
        IoSlice::advance_slices(&mut iov, n as usize);
    }
    Ok(())
}
