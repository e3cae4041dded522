//! The door commands come in: [`RamCtrl`]'s [`SyncIo`] and [`Admin`]
//! implementations, which run each command by its opcode and namespace
//! and turn the handler's result into a completion.

use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion};

use super::ctrl::RamCtrl;
use super::ctrl::features::Features;
use super::errlog::ErrorRecord;
use super::fail::{Exec, Fail, NSID_ALL, SQID_ADMIN, SQID_IO};
use super::fault::Admit;
use super::ns::NsKind;
use super::{directive, features, format, identify, log, nvm, zoned};
use nvmx_core::be::{Admin, DataBuf, Offer, SyncIo};
use nvmx_core::error::{Error, Result};

impl RamCtrl {
    /// Runs an I/O command; `Ok` holds completion dwords 0 and 1 (Zone
    /// Append returns an LBA in both).
    fn exec_io(
        &self,
        cmd: &Command,
        data: DataBuf<'_>,
        meta: DataBuf<'_>,
    ) -> std::result::Result<u64, Fail> {
        // Flush may name every namespace; RAM has nothing to write back.
        if cmd.nsid == NSID_ALL && cmd.opc == nvmx_spec::opcode::NvmOpcode::FLUSH.0 {
            return Ok(0);
        }
        let ns = self.namespace(cmd.nsid).ok_or_else(Fail::namespace)?;
        match ns.kind {
            NsKind::Nvm => nvm::exec(self, &ns, cmd, data, meta).map(u64::from),
            NsKind::Zoned => zoned::exec(self, &ns, cmd, data, meta),
            NsKind::Kv => super::kv::exec(self, &ns, cmd, data).map(u64::from),
        }
    }

    /// Turns a handler's result into the completion, recording failures.
    fn complete(
        &self,
        cmd: &Command,
        sqid: u16,
        r: std::result::Result<u64, Fail>,
    ) -> Result<Completion> {
        let mut cpl = match r {
            Ok(dw) => {
                let mut cpl = Completion::success(dw as u32);
                cpl.cdw1 = (dw >> 32) as u32;
                cpl
            }
            Err(Fail::Host(e)) => return Err(e),
            Err(Fail::Status(f)) => {
                self.error_log().record(ErrorRecord {
                    count: 0,
                    sqid,
                    cid: cmd.cid,
                    status: f.status,
                    param: f.param.map_or(0xffff, |(byte, bit)| {
                        u16::from(byte) | u16::from(bit & 0x7) << 8
                    }),
                    lba: f.lba.unwrap_or(0),
                    nsid: cmd.nsid,
                    csi: match (sqid, self.namespace(cmd.nsid)) {
                        (SQID_IO, Some(ns)) => ns.kind.csi().0,
                        _ => 0,
                    },
                    opc: cmd.opc,
                });
                Completion::with_status(f.status)
            }
        };
        cpl.cid = cmd.cid;
        cpl.sqid = sqid;
        Ok(cpl)
    }
}

impl SyncIo for RamCtrl {
    fn id(&self) -> &'static str {
        "ramdisk"
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        data: DataBuf<'_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        match self.faults.admit(false) {
            Admit::Run => {}
            Admit::Hold | Admit::Abort => {
                // The caller waits as the device's command timeout allows.
                if !self.faults.wait_release(Some(self.io_timeout)) {
                    return Err(Error::Timeout {
                        what: held_what(cmd.opc),
                        millis: self.io_timeout.as_millis() as u64,
                    });
                }
                return self.complete(cmd, SQID_IO, Err(aborted_by_reset()));
            }
        }
        self.faults.before_command(true)?;
        let r = self.exec_io(cmd, data, meta);
        self.complete(cmd, SQID_IO, r)
    }

    /// The `stall_after` fault holds commands here: a held command is
    /// `Ok(None)` for [`Offer::First`] and [`Offer::Again`], and holds the
    /// calling thread for [`Offer::Blocking`]. A reset releases it with
    /// Commands Aborted due to SQ Deletion.
    fn cmd_io_queued(
        &self,
        cmd: &mut Command,
        data: DataBuf<'_>,
        meta: DataBuf<'_>,
        offer: Offer,
    ) -> Result<Option<Completion>> {
        match (self.faults.admit(offer == Offer::Again), offer) {
            (Admit::Run, _) => {}
            (Admit::Hold, Offer::First | Offer::Again) => return Ok(None),
            (Admit::Hold, Offer::Blocking) => {
                self.faults.wait_release(None);
                return self
                    .complete(cmd, SQID_IO, Err(aborted_by_reset()))
                    .map(Some);
            }
            (Admit::Abort, _) => {
                return self
                    .complete(cmd, SQID_IO, Err(aborted_by_reset()))
                    .map(Some);
            }
        }
        self.faults.before_command(true)?;
        let r = self.exec_io(cmd, data, meta);
        self.complete(cmd, SQID_IO, r).map(Some)
    }
}

/// How a held command ends when a controller reset releases it: a reset
/// deletes the I/O submission queues, and the command with them.
fn aborted_by_reset() -> Fail {
    Fail::retry(sct::GENERIC, sc::ABORTED_SQ_DELETION)
}

/// What a sync caller waited for when a held command times out.
fn held_what(opc: u8) -> &'static str {
    use nvmx_spec::opcode::NvmOpcode;
    match NvmOpcode(opc) {
        NvmOpcode::READ => "a Read the ramdisk holds (stall_after; a controller reset releases it)",
        NvmOpcode::WRITE => {
            "a Write the ramdisk holds (stall_after; a controller reset releases it)"
        }
        _ => "an I/O command the ramdisk holds (stall_after; a controller reset releases it)",
    }
}

impl Admin for RamCtrl {
    fn id(&self) -> &'static str {
        "ramdisk"
    }

    fn cmd_admin(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion> {
        self.faults.before_command(false)?;
        let r = admin_exec(self, cmd, data).map(u64::from);
        self.complete(cmd, SQID_ADMIN, r)
    }

    /// A reset returns the features to their defaults, as a controller
    /// reset does to values that were not saved (the ramdisk saves none);
    /// the media, a namespace's contents, survive. There is nothing to
    /// rescan: the namespace never changes.
    fn pseudo(&self, op: nvmx_core::be::Pseudo) -> Result<()> {
        match op {
            nvmx_core::be::Pseudo::ControllerReset | nvmx_core::be::Pseudo::SubsystemReset => {
                *self.features() = Features::default();
                self.faults.reset();
                Ok(())
            }
            nvmx_core::be::Pseudo::NamespaceRescan => Ok(()),
        }
    }

    fn registers(&self) -> Result<nvmx_spec::regs::ControllerRegisters> {
        Ok(super::regs::registers(self))
    }
}

/// Runs the admin command `cmd`.
fn admin_exec(ctrl: &RamCtrl, cmd: &Command, data: DataBuf<'_>) -> Exec {
    match AdminOpcode(cmd.opc) {
        AdminOpcode::IDENTIFY => identify::exec(ctrl, cmd, data),
        AdminOpcode::GET_LOG_PAGE => log::exec(ctrl, cmd, data),
        AdminOpcode::GET_FEATURES => features::get(ctrl, cmd, data),
        AdminOpcode::SET_FEATURES => features::set(ctrl, cmd, data),
        AdminOpcode::FORMAT_NVM => format::format(ctrl, cmd),
        AdminOpcode::SANITIZE => format::sanitize(ctrl, cmd),
        AdminOpcode::DIRECTIVE_SEND => directive::send(ctrl, cmd, data),
        AdminOpcode::DIRECTIVE_RECV => directive::recv(ctrl, cmd, data),
        _ => Err(Fail::opcode()),
    }
}
