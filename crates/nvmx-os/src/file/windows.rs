//! Windows file calls: open flags and positional I/O through std.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::windows::fs::{FileExt, OpenOptionsExt};

use nvmx_core::opts::Options;

/// FILE_FLAG_NO_BUFFERING: the Windows spelling of direct I/O.
const FILE_FLAG_NO_BUFFERING: u32 = 0x2000_0000;

/// Opens `path` as the options say.
pub fn open(path: &str, opts: &Options) -> io::Result<File> {
    let mut oo = OpenOptions::new();
    oo.read(opts.mode.readable()).write(opts.mode.writable());
    if opts.create {
        oo.create(true);
    }
    if opts.truncate {
        oo.truncate(true);
    }
    if opts.direct {
        oo.custom_flags(FILE_FLAG_NO_BUFFERING);
    }
    oo.open(path)
}

/// Reads exactly `buf.len()` bytes at `off`; end of file is an error.
pub fn read_exact_at(f: &File, mut buf: &mut [u8], mut off: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match f.seek_read(buf, off) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => {
                buf = &mut buf[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `off`.
pub fn write_all_at(f: &File, mut buf: &[u8], mut off: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match f.seek_write(buf, off) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                buf = &buf[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fills every slice in order from `off` (one positional read each).
pub fn read_vectored_exact_at(
    f: &File,
    iov: &mut [IoSliceMut<'_>],
    mut off: u64,
) -> io::Result<()> {
    for s in iov.iter_mut() {
        read_exact_at(f, s, off)?;
        off += s.len() as u64;
    }
    Ok(())
}

/// Writes every slice in order from `off` (one positional write each).
pub fn write_vectored_all_at(f: &File, iov: &[IoSlice<'_>], mut off: u64) -> io::Result<()> {
    for s in iov {
        write_all_at(f, s, off)?;
        off += s.len() as u64;
    }
    Ok(())
}
