//! Admin command dispatch.
//!
//! The ramdisk takes Identify, Get Log Page, Get Features, Set Features,
//! Format NVM and Sanitize. Every other admin opcode (queue management,
//! ...) completes with Invalid Command Opcode.

use nvmx_spec::Command;
use nvmx_spec::opcode::AdminOpcode;

use super::ctrl::{Exec, Fail, RamCtrl};
use super::{features, identify, log};
use nvmx_core::be::DataBuf;
use nvmx_core::error::Error;

/// The admin opcodes [`exec`] runs, for the Commands Supported and Effects log.
pub(super) const SUPPORTED: &[AdminOpcode] = &[
    AdminOpcode::GET_LOG_PAGE,
    AdminOpcode::IDENTIFY,
    AdminOpcode::SET_FEATURES,
    AdminOpcode::GET_FEATURES,
    AdminOpcode::FORMAT_NVM,
    AdminOpcode::SANITIZE,
    AdminOpcode::DIRECTIVE_SEND,
    AdminOpcode::DIRECTIVE_RECV,
];

/// Runs the admin command `cmd`.
pub(super) fn exec(ctrl: &RamCtrl, cmd: &Command, data: DataBuf<'_>) -> Exec {
    match AdminOpcode(cmd.opc) {
        AdminOpcode::IDENTIFY => identify::exec(ctrl, cmd, data),
        AdminOpcode::GET_LOG_PAGE => log::exec(ctrl, cmd, data),
        AdminOpcode::GET_FEATURES => features::get(ctrl, cmd, data),
        AdminOpcode::SET_FEATURES => features::set(ctrl, cmd, data),
        AdminOpcode::FORMAT_NVM => super::format::format(ctrl, cmd),
        AdminOpcode::SANITIZE => super::format::sanitize(ctrl, cmd),
        AdminOpcode::DIRECTIVE_SEND => super::directive::send(ctrl, cmd, data),
        AdminOpcode::DIRECTIVE_RECV => super::directive::recv(ctrl, cmd, data),
        _ => Err(Fail::opcode()),
    }
}

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
