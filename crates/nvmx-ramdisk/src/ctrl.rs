//! The controller: state shared by all commands, and the door they come in.
//!
//! [`RamCtrl`] implements both [`SyncIo`] and [`Admin`]. Each command runs
//! to completion on the calling thread; commands from several threads run
//! in parallel, serialized only where they touch the same chunk of blocks
//! (see the media module), the error log or the feature settings.
//!
//! A command handler returns `Ok(dword 0)` or a [`Fail`]: either an NVMe
//! status, which becomes an error completion and an error log entry, or a
//! host-side [`Error`] for requests the device never gets to see — data or
//! metadata buffers shorter than the command describes (a real controller
//! would fault on memory the host did not provide; nvmx reports the
//! caller's mistake as `Error::ShortBuffer` rather than a made-up status).

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion, Status};

use super::errlog::{ErrorLog, ErrorRecord};
use super::fault::Admit;
use super::features::Features;
use super::ns::{Namespace, NsKind};
use super::params::Params;
use super::stats::Stats;
use super::{admin, nvm, zoned};
use nvmx_core::be::{Admin, DataBuf, Offer, SyncIo};
use nvmx_core::error::{Error, Result};

/// The ramdisk's one namespace identifier.
pub(super) const NSID: u32 = 1;
/// The namespace identifier that means every namespace.
pub(super) const NSID_ALL: u32 = 0xffff_ffff;
/// PCI vendor id reported in Identify Controller: "NV" in ASCII, a made-up
/// value for a controller that has no PCI function.
pub(super) const VID: u16 = 0x4e56;
/// IEEE OUI, most significant byte first: a locally administered (made-up)
/// value.
pub(super) const IEEE_OUI_BE: [u8; 3] = [0x0a, 0x4e, 0x56];
/// Queue identifier recorded for admin commands.
pub(super) const SQID_ADMIN: u16 = 0;
/// Queue identifier recorded for I/O commands.
pub(super) const SQID_IO: u16 = 1;

/// Byte offsets of command fields, for the parameter error location.
pub(super) mod field {
    /// Opcode (CDW0 byte 0).
    pub const OPC: u8 = 0;
    /// Namespace identifier.
    pub const NSID: u8 = 4;
    /// Command dword 10.
    pub const CDW10: u8 = 40;
    /// Command dword 11.
    pub const CDW11: u8 = 44;
    /// Command dword 12.
    pub const CDW12: u8 = 48;
    /// Command dword 14.
    pub const CDW14: u8 = 56;
}

/// A failed command, as a device reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Failed {
    /// Completion status.
    pub status: Status,
    /// First LBA involved, when there is one.
    pub lba: Option<u64>,
    /// Parameter error location (byte, bit) of the command field at fault.
    pub param: Option<(u8, u8)>,
}

/// Why a command handler did not succeed.
#[derive(Debug)]
pub(super) enum Fail {
    /// The device completes the command with an error status.
    Status(Failed),
    /// The request never reached the device: the call returns this error.
    Host(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Host(e)
    }
}

impl Fail {
    /// A status that will not succeed on retry (DNR set).
    pub fn dnr(sct: u8, sc: u8) -> Fail {
        Fail::Status(Failed {
            status: Status::new(sct, sc).dnr(),
            lba: None,
            param: None,
        })
    }

    /// A status that might succeed on retry (DNR clear).
    pub fn retry(sct: u8, sc: u8) -> Fail {
        Fail::Status(Failed {
            status: Status::new(sct, sc),
            lba: None,
            param: None,
        })
    }

    /// Invalid Field in Command, pointing at byte `byte` of the command.
    pub fn field(byte: u8) -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_FIELD).at(byte, 0)
    }

    /// Invalid Namespace or Format.
    pub fn namespace() -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT).at(field::NSID, 0)
    }

    /// Invalid Command Opcode.
    pub fn opcode() -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_OPCODE).at(field::OPC, 0)
    }

    /// Records the first LBA involved.
    pub fn lba(mut self, lba: u64) -> Fail {
        if let Fail::Status(f) = &mut self {
            f.lba = Some(lba);
        }
        self
    }

    /// Records the command field at fault.
    pub fn at(mut self, byte: u8, bit: u8) -> Fail {
        if let Fail::Status(f) = &mut self {
            f.param = Some((byte, bit));
        }
        self
    }
}

/// What a handler returns: completion dword 0, or why it failed.
pub(super) type Exec = std::result::Result<u32, Fail>;

/// An NVMe controller in memory with one NVM namespace.
///
/// Created by [`super::open`]; shared by the sync, admin and async
/// interfaces of a device. All methods take `&self` and may be called from
/// several threads at once.
pub struct RamCtrl {
    pub(super) params: Params,
    pub(super) subnqn: String,
    /// The namespace; Format NVM replaces it whole.
    pub(super) ns: RwLock<Arc<Namespace>>,
    /// Sanitize state, for the Sanitize Status log.
    pub(super) sanitize: Mutex<super::format::SanitizeState>,
    pub(super) errors: Mutex<ErrorLog>,
    pub(super) stats: Stats,
    pub(super) features: Mutex<Features>,
    /// When the controller was created (power-on hours, timestamp).
    pub(super) created: Instant,
    /// Flexible Data Placement, with `fdp=1`.
    pub(super) fdp: Option<super::fdp::Fdp>,
    /// The key-value pairs of a KV namespace, with `kv=1`.
    pub(super) kv: Option<super::kv::KvSpace>,
    /// Directive settings of the namespace.
    pub(super) directives: super::directive::Directives,
    /// Injected faults (`fatal_after`, `stall_after`).
    pub(super) faults: super::fault::Faults,
    /// How long the sync path waits for a command the controller holds
    /// (the device's `command-timeout`).
    pub(super) io_timeout: Duration,
}

impl std::fmt::Debug for RamCtrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.ns();
        f.debug_struct("RamCtrl")
            .field("subnqn", &self.subnqn)
            .field("nsze", &ns.nsze)
            .field("lbaf", &ns.lbaf)
            .field("extended", &ns.extended)
            .field("mdts", &self.params.mdts)
            .finish_non_exhaustive()
    }
}

impl RamCtrl {
    /// A controller shaped by `params`.
    pub(super) fn new(params: Params) -> Result<RamCtrl> {
        Ok(RamCtrl {
            subnqn: format!("nqn.2026-11.io.nvmx:ramdisk:{}", params.nbytes),
            ns: RwLock::new(Arc::new(match params.zoned {
                Some(z) => zoned::namespace(NSID, &params, z)?,
                None => Namespace::new_nvm(NSID, &params)?,
            })),
            sanitize: Mutex::new(super::format::SanitizeState::default()),
            params,
            errors: Mutex::new(ErrorLog::default()),
            stats: Stats::default(),
            features: Mutex::new(Features::default()),
            created: Instant::now(),
            fdp: params
                .fdp
                .enabled
                .then(|| super::fdp::Fdp::new(params.fdp, params.shape().ds, params.shape().ms)),
            kv: params.kv.then(super::kv::KvSpace::default),
            directives: Default::default(),
            faults: super::fault::Faults::new(params.fatal_after, params.stall_after),
            io_timeout: nvmx_core::opts::Options::default().command_timeout,
        })
    }

    /// Sets how long the sync path waits for a held command.
    pub(super) fn with_io_timeout(mut self, timeout: Duration) -> RamCtrl {
        self.io_timeout = timeout;
        self
    }

    /// The NVM subsystem NQN, as reported in Identify Controller.
    pub fn subnqn(&self) -> &str {
        &self.subnqn
    }

    /// The namespace's block shape for data transfers: bytes per block in
    /// the data buffer (data plus interleaved metadata) and bytes of
    /// separate metadata per block (0 when metadata is interleaved or
    /// absent).
    pub fn xfer_shape(&self) -> (u64, u64) {
        let ns = self.ns();
        let meta = if ns.separate_meta() { ns.ms() } else { 0 };
        (ns.host_block_bytes(), meta)
    }

    /// The one namespace, as it is now (a Format NVM replaces it).
    pub(super) fn ns(&self) -> Arc<Namespace> {
        Arc::clone(&self.ns.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the namespace (Format NVM, Sanitize); commands already
    /// running finish on the one they started on.
    pub(super) fn replace_ns(&self, ns: Namespace) {
        *self.ns.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ns);
    }

    /// The namespace `nsid` names, if it exists.
    pub(super) fn namespace(&self, nsid: u32) -> Option<Arc<Namespace>> {
        let ns = self.ns();
        (nsid == ns.nsid).then_some(ns)
    }

    /// The namespaces, in nsid order.
    pub(super) fn namespaces(&self) -> impl Iterator<Item = Arc<Namespace>> {
        std::iter::once(self.ns())
    }

    /// The error log, locked.
    pub(super) fn error_log(&self) -> std::sync::MutexGuard<'_, ErrorLog> {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The feature settings, locked.
    pub(super) fn features(&self) -> std::sync::MutexGuard<'_, Features> {
        self.features.lock().unwrap_or_else(PoisonError::into_inner)
    }

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
        let r = admin::exec(self, cmd, data).map(u64::from);
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
