//! Typed admin functions on [`Device`]: Identify (any CNS, and the
//! namespace and controller lists), Get Log Page, Get and Set Features.
//! Admin commands are synchronous.

use nvmx_spec::Command;
use nvmx_spec::Completion;
use nvmx_spec::identify::{Cns, ControllerList, Identify, NamespaceList};
use nvmx_spec::log::{GetLogPage, LogPageId, numd_for_nbytes};
use nvmx_spec::opcode::AdminOpcode;
use zerocopy::FromBytes;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

impl Device {
    /// Identify with the given CNS, controller id, nsid and CSI into `buf`
    /// (4096 bytes).
    pub fn identify(&self, cns: u8, nsid: u32, csi: u8, buf: &mut [u8]) -> Result<Completion> {
        if buf.len() < 4096 {
            return Err(Error::short_buffer("identify", buf.len() as u64, 4096));
        }
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
        cmd.cdw10 = u32::from(cns);
        cmd.cdw11 = u32::from(csi) << 24;
        self.cmd_admin(&mut cmd, DataBuf::In(&mut buf[..4096]))
    }

    /// Identify with every field of the command settable: CNS, NSID,
    /// CNTID, CNS specific identifier, CSI and UUID index. `buf` must hold
    /// 4096 bytes.
    pub fn identify_with(&self, id: &Identify, buf: &mut [u8]) -> Result<Completion> {
        if buf.len() < 4096 {
            return Err(Error::short_buffer("identify", buf.len() as u64, 4096));
        }
        if id.uuid > 0x7f {
            return Err(Error::out_of_range(
                "UUID index",
                format!("{}; the field has 7 bits (0-127)", id.uuid),
            ));
        }
        let mut cmd = id.to_command();
        self.cmd_admin(&mut cmd, DataBuf::In(&mut buf[..4096]))
    }

    /// Every active namespace of the controller (Identify CNS 0x02, read
    /// 1024 identifiers at a time until a list comes back short).
    pub fn active_namespaces(&self) -> Result<Vec<u32>> {
        let mut all = Vec::new();
        let mut buf = vec![0u8; 4096];
        let mut after = 0u32;
        loop {
            let id = Identify {
                nsid: after,
                cns: Cns::ACTIVE_NSID_LIST,
                ..Identify::controller()
            };
            self.identify_with(&id, &mut buf)?;
            let list = NamespaceList::read_from_bytes(&buf[..])
                .map_err(|_| Error::bad_reply("Identify", "short namespace list"))?;
            let before = all.len();
            all.extend(list.iter());
            let got = all.len() - before;
            match all.last() {
                Some(&last) if got == 1024 && last < 0xffff_fffe => after = last,
                _ => return Ok(all),
            }
        }
    }

    /// The controllers of the NVM subsystem with an id at or above
    /// `from` (Identify CNS 0x13), or, with `nsid`, those attached to that
    /// namespace (CNS 0x12).
    pub fn controller_list(&self, nsid: Option<u32>, from: u16) -> Result<Vec<u16>> {
        let id = Identify {
            nsid: nsid.unwrap_or(0),
            cns: if nsid.is_some() {
                Cns::NS_CONTROLLER_LIST
            } else {
                Cns::CONTROLLER_LIST
            },
            cntid: from,
            ..Identify::controller()
        };
        let mut buf = vec![0u8; 4096];
        self.identify_with(&id, &mut buf)?;
        let list = ControllerList::read_from_bytes(&buf[..])
            .map_err(|_| Error::bad_reply("Identify", "short controller list"))?;
        Ok(list.ids().to_vec())
    }

    /// Get Log Page with every field of the command settable (LID, LSP,
    /// LSI, offset or index, RAE, CSI, UUID, nsid): `glp.numd` is set from
    /// `buf`, which must be a non-zero multiple of 4 bytes; a byte offset
    /// must be a multiple of 4.
    pub fn get_log(&self, glp: &GetLogPage, buf: &mut [u8]) -> Result<Completion> {
        if buf.is_empty() || !buf.len().is_multiple_of(4) {
            return Err(Error::invalid(
                "log buffer",
                format!("{} bytes; must be a non-zero multiple of 4", buf.len()),
            ));
        }
        if !glp.ot && !glp.lpo.is_multiple_of(4) {
            return Err(Error::misaligned(
                "log page offset",
                format!("{} is not a multiple of 4", glp.lpo),
            ));
        }
        if glp.lsp > 0x7f {
            return Err(Error::out_of_range(
                "log specific field",
                format!("{:#x} does not fit LSP's 7 bits", glp.lsp),
            ));
        }
        if glp.uuid > 0x7f {
            return Err(Error::out_of_range(
                "UUID index",
                format!("{}; the field has 7 bits (0-127)", glp.uuid),
            ));
        }
        let mut g = *glp;
        g.numd = numd_for_nbytes(buf.len());
        let mut cmd = g.to_command();
        self.cmd_admin(&mut cmd, DataBuf::In(buf))
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
        let glp = GetLogPage {
            lsp,
            lpo,
            rae,
            ..GetLogPage::new(LogPageId(lid), nsid, buf.len())
        };
        self.get_log(&glp, buf)
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
            return Err(Error::out_of_range(
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
