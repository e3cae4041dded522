//! Typed admin functions on [`Device`]: Identify, Get Log Page, Get and
//! Set Features. Admin commands are synchronous.

use nvmx_spec::Command;
use nvmx_spec::Completion;
use nvmx_spec::opcode::AdminOpcode;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

impl Device {
    /// Identify with the given CNS, controller id, nsid and CSI into `buf`
    /// (4096 bytes).
    pub fn identify(&self, cns: u8, nsid: u32, csi: u8, buf: &mut [u8]) -> Result<Completion> {
        if buf.len() < 4096 {
            return Err(Error::invalid(
                "identify buffer",
                format!("{} bytes; Identify returns 4096", buf.len()),
            ));
        }
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
        cmd.cdw10 = u32::from(cns);
        cmd.cdw11 = u32::from(csi) << 24;
        self.cmd_admin(&mut cmd, DataBuf::In(&mut buf[..4096]))
    }

    /// Get Log Page `lid` into `buf` (a multiple of 4 bytes), starting at
    /// byte offset `lpo`, with log specific field `lsp` and Retain
    /// Asynchronous Event `rae`.
    pub fn get_log_page(
        &self,
        lid: u8,
        lsp: u8,
        lpo: u64,
        nsid: u32,
        rae: bool,
        buf: &mut [u8],
    ) -> Result<Completion> {
        if buf.is_empty() || !buf.len().is_multiple_of(4) {
            return Err(Error::invalid(
                "log buffer",
                format!("{} bytes; must be a non-zero multiple of 4", buf.len()),
            ));
        }
        if !lpo.is_multiple_of(4) {
            return Err(Error::invalid(
                "log page offset",
                format!("{lpo} is not a multiple of 4"),
            ));
        }
        let numd = (buf.len() / 4 - 1) as u32;
        let mut cmd = Command::new(AdminOpcode::GET_LOG_PAGE.0, nsid);
        cmd.cdw10 = u32::from(lid)
            | (u32::from(lsp & 0x7f) << 8)
            | (u32::from(rae) << 15)
            | ((numd & 0xffff) << 16);
        cmd.cdw11 = numd >> 16;
        cmd.cdw12 = lpo as u32;
        cmd.cdw13 = (lpo >> 32) as u32;
        self.cmd_admin(&mut cmd, DataBuf::In(buf))
    }

    /// Get Features `fid` with select `sel` (0 current, 1 default, 2
    /// saved, 3 supported capabilities); the value is in the completion's
    /// `cdw0`, and some features also fill `buf`.
    pub fn get_features(
        &self,
        fid: u8,
        sel: u8,
        nsid: u32,
        cdw11: u32,
        buf: Option<&mut [u8]>,
    ) -> Result<Completion> {
        if sel > 3 {
            return Err(Error::invalid(
                "select",
                format!("{sel}; 0 current, 1 default, 2 saved, 3 capabilities"),
            ));
        }
        let mut cmd = Command::new(AdminOpcode::GET_FEATURES.0, nsid);
        cmd.cdw10 = u32::from(fid) | (u32::from(sel) << 8);
        cmd.cdw11 = cdw11;
        self.cmd_admin(&mut cmd, buf.map_or(DataBuf::None, DataBuf::In))
    }

    /// Set Features `fid` to `cdw11` (and `cdw12`, `buf` for features that
    /// take them); `save` makes the value persist across resets.
    pub fn set_features(
        &self,
        fid: u8,
        nsid: u32,
        cdw11: u32,
        cdw12: u32,
        save: bool,
        buf: Option<&[u8]>,
    ) -> Result<Completion> {
        let mut cmd = Command::new(AdminOpcode::SET_FEATURES.0, nsid);
        cmd.cdw10 = u32::from(fid) | (u32::from(save) << 31);
        cmd.cdw11 = cdw11;
        cmd.cdw12 = cdw12;
        self.cmd_admin(&mut cmd, buf.map_or(DataBuf::None, DataBuf::Out))
    }
}
