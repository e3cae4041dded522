//! The Windows calls of this backend that need `unsafe`: device IOCTLs,
//! reopening a handle for overlapped I/O, and completion ports. Each
//! function is one system call with its `SAFETY` reason; what the bytes
//! mean is decided in the portable modules (`stornvme`, `diskinfo`).

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};

use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_NO_BUFFERING, FILE_FLAG_OVERLAPPED, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, ReOpenFile,
};
use windows_sys::Win32::System::IO::{CreateIoCompletionPort, DeviceIoControl};

/// Sends `code` with `input`, reading the reply into `output`; returns the
/// bytes the driver wrote.
pub fn ioctl(h: RawHandle, code: u32, input: &[u8], output: &mut [u8]) -> io::Result<usize> {
    let (ilen, olen) = (len32(input.len())?, len32(output.len())?);
    let mut returned = 0u32;
    // SAFETY: both buffers are valid for their lengths for the whole call
    // (it is synchronous: no OVERLAPPED), `returned` is a valid u32, and
    // the handle is open (the caller's borrow keeps it so).
    let ok = unsafe {
        DeviceIoControl(
            h as HANDLE,
            code,
            input.as_ptr().cast(),
            ilen,
            output.as_mut_ptr().cast(),
            olen,
            &mut returned,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(returned as usize)
}

/// Sends `code` with `buf` as both input and output (the storage property
/// IOCTLs read their request from the start of the buffer they reply in).
pub fn ioctl_inout(h: RawHandle, code: u32, buf: &mut [u8]) -> io::Result<usize> {
    let len = len32(buf.len())?;
    let mut returned = 0u32;
    let p = buf.as_mut_ptr();
    // SAFETY: `p` is valid for reads and writes of `len` bytes for the
    // whole (synchronous) call; METHOD_BUFFERED IOCTLs copy the input
    // before they write the output, so one buffer may serve as both.
    let ok = unsafe {
        DeviceIoControl(
            h as HANDLE,
            code,
            p.cast_const().cast(),
            len,
            p.cast(),
            len,
            &mut returned,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(returned as usize)
}

fn len32(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer over 4 GiB"))
}

/// A second handle on the file or disk behind `h`, opened for overlapped
/// I/O (and unbuffered when `direct`): read-write if it can be, else
/// read-only.
pub fn reopen_overlapped(h: RawHandle, direct: bool) -> io::Result<OwnedHandle> {
    let flags = FILE_FLAG_OVERLAPPED | if direct { FILE_FLAG_NO_BUFFERING } else { 0 };
    let share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    let mut last = None;
    for access in [GENERIC_READ | GENERIC_WRITE, GENERIC_READ] {
        // SAFETY: `h` is an open handle (the caller's device keeps it
        // open); ReOpenFile takes no pointers and returns a new handle or
        // INVALID_HANDLE_VALUE.
        let n = unsafe { ReOpenFile(h as HANDLE, access, share, flags) };
        if n != INVALID_HANDLE_VALUE && !n.is_null() {
            // SAFETY: `n` is a fresh handle that nothing else owns.
            return Ok(unsafe { OwnedHandle::from_raw_handle(n as RawHandle) });
        }
        last = Some(io::Error::last_os_error());
    }
    Err(last.unwrap_or_else(|| io::Error::other("ReOpenFile failed")))
}

/// A new I/O completion port with `file` associated to it (completion key
/// 0).
pub fn completion_port_for(file: &OwnedHandle) -> io::Result<OwnedHandle> {
    // SAFETY: a null existing port asks for a new one; `file` is open and
    // was opened for overlapped I/O.
    let port = unsafe {
        CreateIoCompletionPort(file.as_raw_handle() as HANDLE, std::ptr::null_mut(), 0, 1)
    };
    if port.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `port` is a fresh handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(port as RawHandle) })
}
