//! The host's data buffers as admin and I/O commands see them: checked to
//! be long enough, and writable where the controller returns data.

use nvmx_core::be::DataBuf;
use nvmx_core::error::Error;

/// The host's buffer for `need` bytes the controller returns, checked to
/// be writable and long enough; `what` names the command in the error.
pub(super) fn out_buf<'a>(
    data: &'a mut DataBuf<'_>,
    need: u64,
    what: &str,
) -> Result<&'a mut [u8], Error> {
    let len = data.len();
    let buf = data.as_mut_slice().ok_or_else(|| {
        Error::invalid(
            "data buffer",
            format!("{what} needs a buffer the device can write (DataBuf::In)"),
        )
    })?;
    if (len as u64) < need {
        return Err(Error::short_buffer("data", len as u64, need));
    }
    Ok(buf)
}

/// The host's buffer of `need` bytes for the controller to read.
pub(super) fn in_buf<'a>(data: &'a DataBuf<'_>, need: usize) -> Result<&'a [u8], Error> {
    let buf = data.as_slice();
    buf.get(..need)
        .ok_or_else(|| Error::short_buffer("data", buf.len() as u64, need as u64))
}
