//! Opened devices.
//!
//! [`Device::open`] classifies the URI, selects a backend configuration
//! (see [`crate::be::config`]) and opens it. Identify data and geometry are
//! read lazily, on first use, and kept. A `Device` is a cheap handle: clones
//! share the open device, and queues hold a clone, so a device stays open
//! while any of its queues lives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use nvmx_spec::identify::{IdentifyController, IdentifyNamespace};
use nvmx_spec::opcode::{Csi, KvOpcode, NvmOpcode};
use nvmx_spec::pi::{PiFormat, PiType};
use nvmx_spec::{Command, Completion};
use serde::Serialize;
use zerocopy::FromBytes;

use crate::be::config::BackendConfig;
use crate::be::{Admin, DataBuf, DataVec, SyncIo};
use crate::buf::{Buffer, HeapMemory, Memory};
use crate::error::{Error, Result};
use crate::geo::{GeoInputs, Geometry};
use crate::ident::{DevType, Ident};
use crate::opts::{OpenMode, Options};
use crate::uri::Uri;

/// Identify data read once per device.
struct Identity {
    ctrlr: Box<IdentifyController>,
    ns: Option<Box<IdentifyNamespace>>,
    geo: Geometry,
}

struct Inner {
    ident: Ident,
    opts: Options,
    config: &'static BackendConfig,
    sync: Arc<dyn SyncIo>,
    admin: Arc<dyn Admin>,
    mem: Arc<dyn Memory>,
    identity: OnceLock<Identity>,
    /// Set by [`Device::format`]: the cached identity no longer describes
    /// the namespace.
    stale: AtomicBool,
}

/// An open NVMe device, namespace, file or ramdisk.
#[derive(Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("ident", &self.inner.ident)
            .field("be", &self.inner.config.name)
            .finish()
    }
}

/// The interfaces a device was opened with, by id.
#[derive(Clone, Debug, Serialize)]
pub struct BackendIds {
    /// Configuration name.
    pub be: &'static str,
    /// Dev interface.
    pub dev: &'static str,
    /// Admin interface.
    pub admin: &'static str,
    /// Sync interface.
    pub sync: &'static str,
    /// Async interface.
    #[serde(rename = "async")]
    pub async_id: &'static str,
    /// Mem interface.
    pub mem: &'static str,
    /// Configuration description.
    pub descr: &'static str,
    /// Configuration capabilities.
    pub caps: crate::caps::Caps,
}

impl Device {
    /// Opens `uri` with `opts`: classifies the URI, selects the first
    /// backend configuration that fits, and opens it.
    pub fn open(uri: &str, opts: &Options) -> Result<Device> {
        opts.validate()?;
        let uri = Uri::parse(uri)?;
        let (config, be) = crate::be::config::select(&uri, opts)?;
        Ok(Device::from_backend(be, config, opts))
    }

    /// Builds a device from a backend opened outside configuration
    /// selection (the user-space driver's emulated controller in tests):
    /// `config` names the interfaces and creates queue engines.
    pub fn from_backend(
        be: crate::be::Backend,
        config: &'static BackendConfig,
        opts: &Options,
    ) -> Device {
        let mut opts = opts.clone();
        // Write the chosen names back, as xNVMe does, so callers can see
        // what was picked.
        opts.be = Some(config.name.into());
        opts.async_ = Some(config.async_id.into());
        opts.sync = Some(config.sync_id.into());
        opts.admin = Some(config.admin_id.into());
        opts.mem = Some(config.mem_id.into());
        let mem = be.sync.memory().unwrap_or_else(|| Arc::new(HeapMemory));
        Device {
            inner: Arc::new(Inner {
                ident: be.ident,
                opts,
                config,
                sync: be.sync,
                admin: be.admin,
                mem,
                identity: OnceLock::new(),
                stale: AtomicBool::new(false),
            }),
        }
    }

    /// A new handle on the same open device (same backend, queues and
    /// memory) whose Identify data and geometry are read anew on first
    /// use: for after a Format NVM done other than by [`Device::format`].
    pub fn reidentify(&self) -> Device {
        let i = &self.inner;
        Device {
            inner: Arc::new(Inner {
                ident: i.ident.clone(),
                opts: i.opts.clone(),
                config: i.config,
                sync: Arc::clone(&i.sync),
                admin: Arc::clone(&i.admin),
                mem: Arc::clone(&i.mem),
                identity: OnceLock::new(),
                stale: AtomicBool::new(false),
            }),
        }
    }

    /// Whether a format through this handle made its geometry stale.
    #[inline]
    pub(crate) fn is_stale(&self) -> bool {
        self.inner.stale.load(Ordering::Acquire)
    }

    /// Marks this handle and its clones stale (see [`Device::format`]).
    pub(crate) fn mark_stale(&self) {
        self.inner.stale.store(true, Ordering::Release);
    }

    /// What was opened.
    pub fn ident(&self) -> &Ident {
        &self.inner.ident
    }

    /// The options in effect, with the chosen interface names filled in.
    pub fn opts(&self) -> &Options {
        &self.inner.opts
    }

    /// The backend configuration in use.
    pub fn config(&self) -> &'static BackendConfig {
        self.inner.config
    }

    /// The interface ids in use.
    pub fn backend_ids(&self) -> BackendIds {
        let c = self.inner.config;
        BackendIds {
            be: c.name,
            dev: c.dev_id,
            admin: self.inner.admin.id(),
            sync: self.inner.sync.id(),
            async_id: c.async_id,
            mem: self.inner.mem.id(),
            descr: c.descr,
            caps: c.caps,
        }
    }

    /// The namespace identifier commands go to.
    pub fn nsid(&self) -> u32 {
        self.inner.ident.nsid
    }

    /// The device type.
    pub fn dtype(&self) -> DevType {
        self.inner.ident.dtype
    }

    pub(crate) fn sync_arc(&self) -> &Arc<dyn SyncIo> {
        &self.inner.sync
    }

    fn identity(&self) -> Result<&Identity> {
        if self.inner.stale.load(Ordering::Acquire) {
            return Err(Error::stale(
                "device",
                "the namespace was formatted through this handle, so its Identify data and geometry are out of date; use the Device that format() returned",
            ));
        }
        if let Some(i) = self.inner.identity.get() {
            return Ok(i);
        }
        let id = self.read_identity()?;
        // Another thread may have won the race; both read the same data.
        Ok(self.inner.identity.get_or_init(|| id))
    }

    fn read_identity(&self) -> Result<Identity> {
        let mut buf = vec![0u8; 4096];
        self.identify(nvmx_spec::identify::Cns::CONTROLLER.0, 0, 0, &mut buf)?;
        let ctrlr = IdentifyController::read_from_bytes(&buf[..])
            .map(Box::new)
            .map_err(|_| {
                Error::bad_reply("Identify Controller", "short Identify Controller data")
            })?;
        // A controller handle opened with --dev-nsid serves that namespace.
        let is_ns = self.dtype() != DevType::NvmeController || self.nsid() != 0;
        let ns = if is_ns {
            buf.fill(0);
            self.identify(
                nvmx_spec::identify::Cns::NAMESPACE.0,
                self.nsid(),
                0,
                &mut buf,
            )?;
            Some(
                IdentifyNamespace::read_from_bytes(&buf[..])
                    .map(Box::new)
                    .map_err(|_| {
                        Error::bad_reply("Identify Namespace", "short Identify Namespace data")
                    })?,
            )
        } else {
            None
        };
        let mut inputs = GeoInputs {
            csi: Csi(self.inner.ident.csi),
            mdts: ctrlr.mdts,
            ..Default::default()
        };
        if let Some(ns) = &ns {
            let idx = ns.flbas_index();
            let lbaf = ns.active_lbaf();
            inputs.nsze = ns.nsze;
            inputs.lbads = lbaf.lbads;
            inputs.ms = lbaf.ms;
            inputs.flbas_extended = ns.extended_lba();
            inputs.pi_type = ns.pi_type();
            inputs.pi_first = ns.pi_first();
            inputs.pif = self.read_pif(ns, idx);
        }
        if let (Some(ns), true) = (&ns, inputs.csi == Csi::ZONED) {
            inputs.nzone = self.nzone(ns);
        }
        let geo = Geometry::derive(&inputs);
        Ok(Identity { ctrlr, ns, geo })
    }

    /// The protection information format of LBA format `idx`, from the
    /// NVM command set's Identify Namespace (CNS 5, CSI 0), for namespaces
    /// formatted with PI; 16b guard when there is none or the device
    /// does not answer CNS 5, as controllers before NVMe 2.0 do not.
    fn read_pif(&self, ns: &IdentifyNamespace, idx: usize) -> PiFormat {
        if ns.pi_type() == PiType::NONE || Csi(self.inner.ident.csi) != Csi::NVM {
            return PiFormat::GUARD16;
        }
        let mut buf = vec![0u8; 4096];
        let cns = nvmx_spec::identify::Cns::CSI_NAMESPACE.0;
        if self.identify(cns, self.nsid(), 0, &mut buf).is_err() {
            return PiFormat::GUARD16;
        }
        nvmx_spec::identify::IdentifyNvmNamespace::read_from_bytes(&buf[..])
            .map_or(PiFormat::GUARD16, |n| n.elba_format(idx).pif())
    }

    /// The namespace geometry (reads Identify on first use).
    pub fn geometry(&self) -> Result<&Geometry> {
        Ok(&self.identity()?.geo)
    }

    /// Identify Controller data (read on first use).
    pub fn identify_controller(&self) -> Result<&IdentifyController> {
        Ok(&self.identity()?.ctrlr)
    }

    /// Identify Namespace data (read on first use); an error on a
    /// controller handle opened without `--dev-nsid`.
    pub fn identify_namespace(&self) -> Result<&IdentifyNamespace> {
        self.identity()?.ns.as_deref().ok_or_else(|| {
            Error::invalid(
                "device",
                "a controller handle without --dev-nsid has no namespace; pass --dev-nsid or open a namespace",
            )
        })
    }

    /// Allocates a zeroed buffer of `len` bytes from the device's memory
    /// interface.
    pub fn alloc(&self, len: usize) -> Result<Buffer> {
        Buffer::new_in(Arc::clone(&self.inner.mem), len)
    }

    /// Allocates a buffer for `nlb + 1` logical blocks (data, or data and
    /// metadata when it is interleaved).
    pub fn alloc_blocks(&self, nlb: u16) -> Result<Buffer> {
        let g = self.geometry()?;
        self.alloc((usize::from(nlb) + 1) * g.lba_nbytes as usize)
    }

    /// Refuses commands the access mode forbids: writes on a device opened
    /// `rdonly`, reads on one opened `wronly`. The OS enforces this for
    /// files and devices; checking here makes the ramdisk and every other
    /// interface agree, and gives one message.
    pub(crate) fn check_access(&self, opc: u8) -> Result<()> {
        let o = &self.inner.opts;
        if o.mode == OpenMode::ReadOnly && writes_media(opc) {
            return Err(Error::conflict(
                "command",
                format!(
                    "opcode {opc:#04x} changes data, but the device was opened read-only (--rdonly)"
                ),
            ));
        }
        if o.mode == OpenMode::WriteOnly
            && crate::be::Direction::of_opcode(opc) == crate::be::Direction::FromDevice
        {
            return Err(Error::conflict(
                "command",
                format!(
                    "opcode {opc:#04x} reads data, but the device was opened write-only (--wronly)"
                ),
            ));
        }
        Ok(())
    }

    /// Runs an I/O command synchronously. A non-success status comes back
    /// as [`Error::Status`]. `cmd.nsid` 0 is replaced by the device's nsid.
    pub fn cmd_io(
        &self,
        cmd: &mut Command,
        data: DataBuf<'_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        if cmd.nsid == 0 {
            cmd.nsid = self.nsid();
        }
        let opc = cmd.opc;
        self.check_access(opc)?;
        let cpl = self.inner.sync.cmd_io(cmd, data, meta)?;
        Error::check(opc, cpl)
    }

    /// Runs an I/O command whose data is scattered over several buffers
    /// (vectored I/O). A non-success status comes back as [`Error::Status`].
    pub fn cmd_iov(
        &self,
        cmd: &mut Command,
        data: DataVec<'_, '_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        if cmd.nsid == 0 {
            cmd.nsid = self.nsid();
        }
        let opc = cmd.opc;
        self.check_access(opc)?;
        let cpl = self.inner.sync.cmd_iov(cmd, data, meta)?;
        Error::check(opc, cpl)
    }

    /// The device's admin interface.
    pub(crate) fn admin_if(&self) -> &dyn crate::be::Admin {
        &*self.inner.admin
    }

    /// Runs an admin command. A non-success status comes back as
    /// [`Error::Status`].
    pub fn cmd_admin(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion> {
        let opc = cmd.opc;
        let cpl = self.inner.admin.cmd_admin(cmd, data)?;
        Error::check(opc, cpl)
    }

    /// Checks an LBA-range I/O against the geometry before it is sent:
    /// range within the namespace, buffers large enough, transfer within
    /// MDTS, and a metadata buffer exactly where the format keeps metadata
    /// apart from the data (none for formats without metadata or with
    /// extended LBAs, whose data buffer carries it).
    pub fn check_lba_io(
        &self,
        slba: u64,
        nlb: u16,
        data_len: usize,
        meta_len: Option<usize>,
    ) -> Result<()> {
        self.check_lba_io_with(slba, nlb, data_len, meta_len, true)
    }

    /// [`Device::check_lba_io`], with the separate-metadata requirement
    /// left out when `meta_required` is false: for engines that read and
    /// write a block device, whose kernel keeps protection information
    /// itself.
    pub(crate) fn check_lba_io_with(
        &self,
        slba: u64,
        nlb: u16,
        data_len: usize,
        meta_len: Option<usize>,
        meta_required: bool,
    ) -> Result<()> {
        let g = self.geometry()?;
        let nblocks = u64::from(nlb) + 1;
        let end = slba.checked_add(nblocks);
        // A file grows on write and its size moves under a cached geometry:
        // the file interface checks reads against the live size instead.
        let limit = if self.dtype() == DevType::FsFile {
            u64::MAX
        } else {
            g.nsect
        };
        if end.is_none_or(|e| e > limit) {
            return Err(Error::out_of_range(
                "LBA",
                format!(
                    "slba {slba:#x} + {nblocks} blocks exceeds the namespace's {} blocks",
                    g.nsect
                ),
            ));
        }
        let need = nblocks * u64::from(g.lba_nbytes);
        if (data_len as u64) < need {
            return Err(Error::short_buffer("data", data_len as u64, need));
        }
        if need > u64::from(g.mdts_nbytes) {
            return Err(Error::too_large(
                "transfer",
                need,
                g.mdts_nbytes.into(),
                "MDTS bytes",
            ));
        }
        let separate = g.nbytes_oob > 0 && !g.lba_extended;
        if !separate && meta_len.is_some_and(|m| m > 0) {
            let why = if g.lba_extended {
                format!(
                    "the namespace format interleaves {} metadata bytes with each block's data \
                     (extended LBA): the data buffer carries them; pass no metadata buffer",
                    g.nbytes_oob
                )
            } else {
                "the namespace format has no metadata; pass no metadata buffer".to_string()
            };
            return Err(Error::conflict("metadata buffer", why));
        }
        if separate {
            let mneed = nblocks * u64::from(g.nbytes_oob);
            match meta_len {
                None if !meta_required => {}
                // A missing buffer is a buffer of 0 bytes.
                None => return Err(Error::short_buffer("metadata", 0, mneed)),
                Some(m) if (m as u64) < mneed => {
                    return Err(Error::short_buffer("metadata", m as u64, mneed));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether an I/O opcode changes what is stored: the host-to-controller
/// ones, plus those that change data without a transfer (Write
/// Uncorrectable, Write Zeroes, Copy, Zone Management Send, KV Delete).
pub fn writes_media(opc: u8) -> bool {
    crate::be::Direction::of_opcode(opc) == crate::be::Direction::ToDevice
        || matches!(
            NvmOpcode(opc),
            NvmOpcode::WRITE_UNCORRECTABLE | NvmOpcode::WRITE_ZEROES | NvmOpcode::COPY
        )
        || opc == KvOpcode::DELETE.0
}
