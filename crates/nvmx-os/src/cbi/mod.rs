//! Portable interfaces that run on every platform ("common backend
//! implementations"): the `emu`, `thrpool` and `nil` async engines.

pub mod emu;
pub mod nil;
#[cfg(target_os = "linux")]
pub(crate) mod notify;
pub mod thrpool;

use nvmx_spec::{Command, Completion};

use nvmx_core::be::{Direction, Offer, RawBuf, SyncIo};
use nvmx_core::error::Result;

/// Runs a command captured by an async engine through a sync interface.
///
/// # Safety
/// `data` and `meta` must be valid and exclusively the caller's for the
/// duration of the call (the queue guarantees this for in-flight slots).
pub(crate) unsafe fn run_sync(
    sync: &dyn SyncIo,
    cmd: &Command,
    data: RawBuf,
    meta: RawBuf,
) -> Result<Completion> {
    let dir = Direction::of_opcode(cmd.opc);
    let mut cmd = *cmd;
    // SAFETY: forwarded from this function's contract.
    let (d, m) = unsafe { (data.as_data_buf(dir), meta.as_data_buf(dir)) };
    sync.cmd_io(&mut cmd, d, m)
}

/// Runs a command captured by an async engine through a sync interface
/// that may hold it without a completion ([`SyncIo::cmd_io_queued`]):
/// `Ok(None)` when it does.
///
/// # Safety
/// As for [`run_sync`]: `data` and `meta` must be valid and exclusively
/// the caller's for the duration of the call.
pub(crate) unsafe fn run_queued(
    sync: &dyn SyncIo,
    cmd: &Command,
    data: RawBuf,
    meta: RawBuf,
    offer: Offer,
) -> Result<Option<Completion>> {
    let dir = Direction::of_opcode(cmd.opc);
    let mut cmd = *cmd;
    // SAFETY: forwarded from this function's contract.
    let (d, m) = unsafe { (data.as_data_buf(dir), meta.as_data_buf(dir)) };
    sync.cmd_io_queued(&mut cmd, d, m, offer)
}
