//! `nvme`: the Linux NVMe driver's passthrough ioctls, as sync and admin
//! interfaces.
//!
//! The kernel exposes each NVMe controller as a character device
//! (`/dev/nvmeX`) and each namespace twice: as a block device
//! (`/dev/nvmeXnY`) and as a "generic" character device (`/dev/ngXnY`),
//! which exists even for command sets the block layer cannot serve (Key
//! Value, zoned namespaces on kernels without ZNS support). All three accept
//! passthrough ioctls that carry one NVMe command with user buffers:
//!
//! - I/O commands go through `NVME_IOCTL_IO64_CMD` (and
//!   `NVME_IOCTL_IO64_CMD_VEC` for scattered data), admin commands through
//!   `NVME_IOCTL_ADMIN64_CMD`; both return completion dwords 0 and 1.
//! - The ioctl's return value is 0 on success, the NVMe status field (15
//!   bits, without the phase tag) when the device failed the command, and
//!   -1 with `errno` when the kernel could not run it at all.
//! - The kernel decides the transfer direction from the opcode: bit 0 set
//!   means host to device, anything else device to host. This interface
//!   refuses a read-only buffer for a command the kernel would write into.
//! - The kernel fills in PRP/SGL and fused flags itself, so `Command::flags`
//!   is not passed on (the kernel refuses non-zero flags).
//!
//! **Transfer limit.** The kernel maps a passthrough buffer into one
//! request, so one command may move at most the queue's `max_hw_sectors`
//! (`/sys/block/nvmeXnY/queue/max_hw_sectors_kb`); larger ones fail with a
//! bare EINVAL. When that attribute can be read, larger transfers are
//! refused up front with an error naming the limit. It can be smaller than
//! the controller's MDTS (the driver also caps it by its own maximum), so
//! callers splitting I/O should take the smaller of the two. Controller
//! nodes have no such attribute and are not checked.
//!
//! **Controller nodes.** `/dev/nvmeX` has no namespace of its own:
//! `NVME_IOCTL_ID` fails there, the device type is
//! [`DevType::NvmeController`] and the nsid commands go to is `--dev-nsid`.
//! Admin commands work. The 64-bit I/O ioctls do not exist there; the
//! kernel serves I/O on a controller node only through the older
//! `NVME_IOCTL_IO_CMD` (32-bit result, completion dword 1 lost) and only
//! when the controller has exactly one namespace, so that is what I/O on a
//! controller node uses, with vectored commands gathered through one
//! buffer. With several namespaces the kernel refuses (EINVAL), which is
//! reported naming the namespace nodes to open instead.
//!
//! Controller reset, subsystem reset and namespace rescan are ioctls too;
//! they are methods of [`NvmeDev`] and need a controller node.

pub mod ioctl;
mod regs;

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nvmx_spec::identify::{Cns, NsIdDescriptorIter};
use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::{Command, Completion};

use self::ioctl::{
    NVME_IOCTL_ADMIN64_CMD, NVME_IOCTL_ID, NVME_IOCTL_IO_CMD, NVME_IOCTL_IO64_CMD,
    NVME_IOCTL_IO64_CMD_VEC, NVME_IOCTL_RESCAN, NVME_IOCTL_RESET, NVME_IOCTL_SUBSYS_RESET,
};
pub use self::ioctl::{NvmePassthruCmd, NvmePassthruCmd64};
pub use self::regs::read_registers;
use crate::linux::dev::sysfs::{self, NodeType};
use nvmx_core::be::config::BackendConfig;
use nvmx_core::be::xfer_check::{self, FormatCache};
use nvmx_core::be::{Admin, Backend, DataBuf, DataVec, SyncIo};
use nvmx_core::caps::Caps;
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};
use nvmx_core::opts::Options;
use nvmx_core::uri::{Target, Uri};

/// The `emu` configuration: NVMe passthrough ioctls, emulated async.
pub static EMU: BackendConfig = BackendConfig {
    name: "emu",
    descr: "NVMe driver ioctls on /dev/ngXnY, /dev/nvmeXnY and /dev/nvmeX; emulated async (runs commands when poked)",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "emu",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: "linux",
    mem_id: "heap",
    open,
    new_engine: crate::cbi::emu::new_engine,
};

/// The `thrpool` configuration: NVMe passthrough ioctls from a thread pool.
pub static THRPOOL: BackendConfig = BackendConfig {
    name: "thrpool",
    descr: "NVMe driver ioctls on /dev/ngXnY, /dev/nvmeXnY and /dev/nvmeX; async by a thread pool",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "thrpool",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: "linux",
    mem_id: "heap",
    open,
    new_engine: crate::cbi::thrpool::new_engine,
};

/// The `nil` configuration: NVMe passthrough ioctls for sync and admin;
/// async completes at once without I/O, to measure overhead.
pub static NIL: BackendConfig = BackendConfig {
    name: "nil",
    descr: "NVMe driver ioctls for sync and admin; async completes at once without I/O (nil), to measure overhead",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "nil",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: "linux",
    mem_id: "heap",
    open,
    new_engine: crate::cbi::nil::new_engine,
};

/// The largest transfer the kernel accepts in one passthrough command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferLimit {
    /// The limit in bytes.
    pub nbytes: u64,
    /// The sysfs attribute it was read from.
    pub source: PathBuf,
}

impl TransferLimit {
    /// Reads `max_hw_sectors_kb` from a block queue directory.
    pub fn from_queue_dir(queue: &Path) -> Option<TransferLimit> {
        let source = queue.join("max_hw_sectors_kb");
        let kb = sysfs::read_u64(&source)?;
        let nbytes = kb.checked_mul(1024).filter(|n| *n > 0)?;
        Some(TransferLimit { nbytes, source })
    }

    /// Refuses a transfer of `nbytes` above the limit, naming the limit.
    pub fn check(&self, nbytes: u64) -> Result<()> {
        if nbytes > self.nbytes {
            // The limit's name is the sysfs attribute it came from.
            return Err(Error::too_large(
                "transfer",
                nbytes,
                self.nbytes,
                "max_hw_sectors_kb, bytes per passthrough command",
            ));
        }
        Ok(())
    }
}

/// An open NVMe device node: a namespace (`/dev/ngXnY`, `/dev/nvmeXnY`) or
/// a controller (`/dev/nvmeX`).
#[derive(Debug)]
pub struct NvmeDev {
    file: File,
    path: String,
    /// The namespace of the node; `None` for a controller node.
    nsid: Option<u32>,
    limit: Option<TransferLimit>,
    sysfs_dir: Option<PathBuf>,
    io_timeout_ms: u32,
    admin_timeout_ms: u32,
    /// Namespace formats, for checking raw commands against their
    /// buffers: the kernel maps the buffer's length, the device moves
    /// what the command says.
    formats: FormatCache,
}

/// Opens an NVMe namespace or controller node (configurations `emu`,
/// `thrpool`, `nil`, and the async ones over the `nvme` interfaces).
///
/// The identity reports the node's own nsid for a namespace; for a
/// controller node the device type is [`DevType::NvmeController`] and the
/// nsid is `opts.nsid` (`--dev-nsid`). The command set comes from the
/// namespace's identification descriptors (Identify CNS 0x03), NVM when
/// the device does not report one; the subsystem NQN from sysfs.
pub fn open(uri: &Uri, opts: &Options) -> Result<Backend> {
    match uri.target {
        Target::CharDevice | Target::BlockDevice { nvme: true } => {}
        _ => {
            return Err(Error::invalid(
                "URI",
                format!(
                    "{:?} is not an NVMe device node (/dev/ngXnY, /dev/nvmeXnY, /dev/nvmeX)",
                    uri.raw
                ),
            ));
        }
    }
    let dev = Arc::new(NvmeDev::open(&uri.base, opts)?);
    let (dtype, nsid) = match dev.nsid {
        Some(n) => (DevType::NvmeNamespace, n),
        None => (DevType::NvmeController, opts.nsid),
    };
    let csi = dev.command_set(nsid).unwrap_or(0);
    let subnqn = dev.subnqn().unwrap_or_default();
    Ok(Backend {
        sync: dev.clone(),
        admin: dev,
        ident: Ident {
            uri: uri.raw.clone(),
            dtype,
            nsid,
            csi,
            subnqn,
        },
    })
}

/// What a character node is, from its sysfs class.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeKind {
    Controller,
    Namespace,
    /// sysfs could not tell: decide by `NVME_IOCTL_ID`.
    Unknown,
}

fn classify_char(dir: Option<&Path>, name: &str) -> std::result::Result<NodeKind, String> {
    match dir
        .and_then(|d| sysfs::link_name(&d.join("subsystem")))
        .as_deref()
    {
        Some("nvme") => Ok(NodeKind::Controller),
        Some("nvme-generic") => Ok(NodeKind::Namespace),
        Some(other) => Err(format!(
            "a character device of class {other:?}, not an NVMe node"
        )),
        None if name.starts_with("ng") || name.starts_with("nvme") => Ok(NodeKind::Unknown),
        None => Err(
            "not an NVMe character device (no sysfs entry, and not named ngXnY or nvmeX)".into(),
        ),
    }
}

/// The queue directory whose `max_hw_sectors_kb` limits passthrough on a
/// namespace node. A generic node `ngXnY` shares the queue of its block
/// sibling `nvmeXnY`.
fn queue_dir_of(sys: &Path, ty: NodeType, dir: &Path) -> Option<PathBuf> {
    match ty {
        NodeType::Block => sysfs::queue_dir(dir),
        NodeType::Char => {
            let name = dir.file_name()?.to_str()?;
            let (x, y) = sysfs::parse_ns_name(name, "ng")?;
            let sibling = format!("nvme{x}n{y}");
            let near = dir.parent()?.join(&sibling).join("queue");
            if near.is_dir() {
                return Some(near);
            }
            let far = sys.join("block").join(&sibling).join("queue");
            far.is_dir().then_some(far)
        }
    }
}

fn timeout_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Whether the kernel writes into the user buffer of a command with this
/// opcode: the NVMe driver treats every opcode with bit 0 clear as a
/// transfer from the device.
pub const fn kernel_writes_buffer(opc: u8) -> bool {
    opc & 1 == 0
}

/// The user address and length of a buffer, refusing a read-only buffer
/// the kernel would write into.
fn user_buf(buf: &mut DataBuf<'_>, opc: u8, what: &'static str) -> Result<(u64, u32)> {
    let (addr, len) = match buf {
        DataBuf::None => return Ok((0, 0)),
        DataBuf::Out([]) => return Ok((0, 0)),
        DataBuf::Out(b) => {
            if kernel_writes_buffer(opc) {
                return Err(Error::invalid(
                    what,
                    format!(
                        "opcode {opc:#04x} moves data from the device, so its buffer must be writable (DataBuf::In)"
                    ),
                ));
            }
            (b.as_ptr() as u64, b.len())
        }
        DataBuf::In([]) => return Ok((0, 0)),
        DataBuf::In(b) => (b.as_mut_ptr() as u64, b.len()),
    };
    let len = u32::try_from(len)
        .map_err(|_| Error::too_large(what, len as u64, u32::MAX.into(), "bytes per command"))?;
    Ok((addr, len))
}

/// The passthrough structure for `cmd` with the given buffers.
fn passthru64(
    cmd: &Command,
    data: (u64, u32),
    meta: (u64, u32),
    timeout_ms: u32,
) -> NvmePassthruCmd64 {
    NvmePassthruCmd64 {
        opcode: cmd.opc,
        flags: 0,
        rsvd1: 0,
        nsid: cmd.nsid,
        cdw2: cmd.cdw2,
        cdw3: cmd.cdw3,
        metadata: meta.0,
        addr: data.0,
        metadata_len: meta.1,
        data_len: data.1,
        cdw10: cmd.cdw10,
        cdw11: cmd.cdw11,
        cdw12: cmd.cdw12,
        cdw13: cmd.cdw13,
        cdw14: cmd.cdw14,
        cdw15: cmd.cdw15,
        timeout_ms,
        rsvd2: 0,
        result: 0,
    }
}

/// The completion of a passthrough ioctl that returned `ret >= 0`: the
/// return value is the 15-bit NVMe status field (0 for success) and
/// `result` holds completion dwords 0 and 1. The phase tag is 0.
pub const fn completion_from_ioctl(ret: i32, result: u64) -> Completion {
    let mut cpl = Completion::success(result as u32);
    cpl.cdw1 = (result >> 32) as u32;
    cpl.status = ((ret as u32 & 0x7fff) as u16) << 1;
    cpl
}

/// Issues an ioctl that takes no argument; returns its non-negative result.
fn ioctl_noarg(fd: RawFd, req: u32) -> io::Result<i32> {
    // SAFETY: `req` is an `_IO` request of the NVMe driver: it has no
    // argument, so the kernel reads and writes no user memory; a wrong fd
    // only makes the call fail.
    let ret = unsafe { libc::ioctl(fd, req as libc::Ioctl) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `NVME_IOCTL_ID`: the namespace identifier of an open namespace node
/// (character or block). Fails with ENOTTY on a controller node and on
/// devices that are not NVMe.
pub fn ns_id(file: &File) -> io::Result<u32> {
    let n = ioctl_noarg(file.as_raw_fd(), NVME_IOCTL_ID)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n != 0)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))
}

/// Opens a device node with the access mode of `opts`. Creation and
/// truncation do not apply to device nodes and are ignored. `--direct`
/// opens a namespace block device with O_DIRECT: passthrough ignores it,
/// but the async engines that read and write that descriptor (io_uring,
/// libaio, posix) then bypass the page cache, which `--poll_io` needs.
fn open_node(path: &str, opts: &Options) -> io::Result<File> {
    let mut flags = libc::O_CLOEXEC;
    if opts.direct && std::fs::metadata(path).is_ok_and(|m| m.file_type().is_block_device()) {
        flags |= libc::O_DIRECT;
    }
    std::fs::OpenOptions::new()
        .read(opts.mode.readable())
        .write(opts.mode.writable())
        .custom_flags(flags)
        .open(path)
}

impl NvmeDev {
    /// Opens `path`, which must be an NVMe namespace or controller node.
    pub fn open(path: &str, opts: &Options) -> Result<NvmeDev> {
        Self::open_at(Path::new(sysfs::SYSFS), path, opts)
    }

    fn open_at(sys: &Path, path: &str, opts: &Options) -> Result<NvmeDev> {
        let file = open_node(path, opts).map_err(|e| Error::io("open", path, e))?;
        let md = file.metadata().map_err(|e| Error::io("stat", path, e))?;
        let ft = md.file_type();
        let ty = if ft.is_char_device() {
            NodeType::Char
        } else if ft.is_block_device() {
            NodeType::Block
        } else {
            return Err(Error::invalid(
                "URI",
                format!("{path:?} is not a device node"),
            ));
        };
        let dir = sysfs::node_dir(sys, ty, md.rdev());
        let name = Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let kind = match ty {
            NodeType::Block => NodeKind::Namespace,
            NodeType::Char => classify_char(dir.as_deref(), name)
                .map_err(|why| Error::invalid("URI", format!("{path:?}: {why}")))?,
        };
        let nsid = match kind {
            NodeKind::Controller => None,
            NodeKind::Namespace => Some(ns_id(&file).map_err(|e| {
                let hint = io::Error::new(e.kind(), format!("{e} (is this an NVMe namespace?)"));
                Error::io("NVME_IOCTL_ID", path, hint)
            })?),
            NodeKind::Unknown => match ns_id(&file) {
                Ok(n) => Some(n),
                Err(_) if name.starts_with("nvme") => None,
                Err(e) => return Err(Error::io("NVME_IOCTL_ID", path, e)),
            },
        };
        let limit = match (&dir, nsid) {
            (Some(d), Some(_)) => {
                queue_dir_of(sys, ty, d).and_then(|q| TransferLimit::from_queue_dir(&q))
            }
            _ => None,
        };
        Ok(NvmeDev {
            file,
            path: path.to_string(),
            nsid,
            limit,
            sysfs_dir: dir,
            io_timeout_ms: timeout_ms(opts.command_timeout),
            admin_timeout_ms: timeout_ms(opts.admin_timeout),
            formats: FormatCache::default(),
        })
    }

    /// The path the node was opened by.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this is a controller node (`/dev/nvmeX`).
    pub fn is_controller(&self) -> bool {
        self.nsid.is_none()
    }

    /// The namespace identifier of the node, asked with `NVME_IOCTL_ID`;
    /// an error on a controller node, which has none.
    pub fn nsid(&self) -> Result<u32> {
        ns_id(&self.file).map_err(|e| Error::io("NVME_IOCTL_ID", &self.path, e))
    }

    /// The kernel's transfer limit for one command, when known.
    pub fn transfer_limit(&self) -> Option<&TransferLimit> {
        self.limit.as_ref()
    }

    /// The node's sysfs directory, when found.
    pub fn sysfs_dir(&self) -> Option<&Path> {
        self.sysfs_dir.as_deref()
    }

    /// The subsystem NQN from sysfs (`subsysnqn` of the controller or
    /// subsystem the node belongs to).
    pub fn subnqn(&self) -> Option<String> {
        let dir = self.sysfs_dir.as_deref()?;
        sysfs::read_attr(&sysfs::find_up(dir, "subsysnqn", 1)?)
    }

    /// Resets the controller (`NVME_IOCTL_RESET`); needs a controller node
    /// and CAP_SYS_ADMIN.
    pub fn controller_reset(&self) -> Result<()> {
        self.pseudo(NVME_IOCTL_RESET, "NVME_IOCTL_RESET")
    }

    /// Resets the NVM subsystem (`NVME_IOCTL_SUBSYS_RESET`); needs a
    /// controller node, CAP_SYS_ADMIN and a controller that supports it.
    pub fn subsystem_reset(&self) -> Result<()> {
        self.pseudo(NVME_IOCTL_SUBSYS_RESET, "NVME_IOCTL_SUBSYS_RESET")
    }

    /// Makes the driver rescan the controller's namespaces
    /// (`NVME_IOCTL_RESCAN`); needs a controller node and CAP_SYS_ADMIN.
    pub fn rescan(&self) -> Result<()> {
        self.pseudo(NVME_IOCTL_RESCAN, "NVME_IOCTL_RESCAN")
    }

    fn pseudo(&self, req: u32, name: &'static str) -> Result<()> {
        match ioctl_noarg(self.file.as_raw_fd(), req) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) && !self.is_controller() => {
                Err(Error::unsupported(
                    "nvme",
                    format!(
                        "{name} on namespace node {}: open the controller node (/dev/nvmeX)",
                        self.path
                    ),
                ))
            }
            // The driver answers ENOTTY on a controller whose CAP.NSSRS is
            // clear: it has no NVM Subsystem Reset register to write.
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) && req == NVME_IOCTL_SUBSYS_RESET => {
                Err(Error::unsupported(
                    "nvme",
                    format!(
                        "{name} on {}: the controller does not support NVM subsystem reset \
                         (CAP.NSSRS is 0)",
                        self.path
                    ),
                ))
            }
            Err(e) => Err(Error::io(name, &self.path, e)),
        }
    }

    /// The command set of namespace `nsid`, from its identification
    /// descriptors; `None` when the device does not report one.
    fn command_set(&self, nsid: u32) -> Option<u8> {
        let mut buf = vec![0u8; nvmx_spec::identify::IDENTIFY_NBYTES];
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
        cmd.cdw10 = u32::from(Cns::NS_ID_DESCRIPTOR_LIST.0);
        let cpl = self.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).ok()?;
        if !cpl.is_success() {
            return None;
        }
        NsIdDescriptorIter::new(&buf)
            .find_map(|d| d.csi())
            .map(|c| c.0)
    }

    fn check_transfer(&self, nbytes: u64) -> Result<()> {
        match &self.limit {
            Some(l) => l.check(nbytes),
            None => Ok(()),
        }
    }

    fn ioctl_error(&self, name: &'static str, e: io::Error) -> Error {
        let errno = e.raw_os_error();
        if self.is_controller() && name == "NVME_IOCTL_IO_CMD" {
            let why = match errno {
                Some(libc::EINVAL) => Some(
                    "the kernel refuses it (EINVAL), as it does when the controller has more than one namespace",
                ),
                Some(libc::ENOTTY) => Some("the kernel has no namespace to send it to (ENOTTY)"),
                _ => None,
            };
            if let Some(why) = why {
                return Error::unsupported(
                    "nvme",
                    format!(
                        "I/O commands on controller node {}: {why}; open a namespace node \
                         (/dev/ngXnY or /dev/nvmeXnY)",
                        self.path
                    ),
                );
            }
        }
        Error::io(name, &self.path, e)
    }

    /// Runs one I/O command through a controller node's
    /// `NVME_IOCTL_IO_CMD`, which carries a 32-bit result only.
    ///
    /// # Safety
    /// As [`Self::submit`].
    unsafe fn submit_on_controller(&self, pt: &NvmePassthruCmd64) -> Result<Completion> {
        let mut pt32 = NvmePassthruCmd {
            opcode: pt.opcode,
            flags: 0,
            rsvd1: 0,
            nsid: pt.nsid,
            cdw2: pt.cdw2,
            cdw3: pt.cdw3,
            metadata: pt.metadata,
            addr: pt.addr,
            metadata_len: pt.metadata_len,
            data_len: pt.data_len,
            cdw10: pt.cdw10,
            cdw11: pt.cdw11,
            cdw12: pt.cdw12,
            cdw13: pt.cdw13,
            cdw14: pt.cdw14,
            cdw15: pt.cdw15,
            timeout_ms: pt.timeout_ms,
            result: 0,
        };
        // SAFETY: NVME_IOCTL_IO_CMD is an _IOWR request on a `struct
        // nvme_passthru_cmd`, and `pt32` is one, exclusively borrowed; it
        // names the same memory as `pt`, valid as the caller guarantees.
        let ret = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                NVME_IOCTL_IO_CMD as libc::Ioctl,
                &mut pt32 as *mut NvmePassthruCmd,
            )
        };
        if ret < 0 {
            return Err(self.ioctl_error("NVME_IOCTL_IO_CMD", io::Error::last_os_error()));
        }
        Ok(completion_from_ioctl(ret, u64::from(pt32.result)))
    }

    /// Runs one passthrough ioctl.
    ///
    /// # Safety
    /// Every address in `pt` (data, metadata, and for the vectored request
    /// the `iovec` array and the buffers it lists) must be valid for its
    /// length until this returns, and writable wherever the kernel writes
    /// ([`kernel_writes_buffer`]).
    unsafe fn submit(
        &self,
        req: u32,
        name: &'static str,
        pt: &mut NvmePassthruCmd64,
    ) -> Result<Completion> {
        // SAFETY: `req` is one of the NVMe driver's _IOWR requests on a
        // `struct nvme_passthru_cmd64`, and `pt` is one, exclusively
        // borrowed, which the kernel reads and writes back (`result`); the
        // memory it points to is valid as the caller guarantees.
        let ret = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                req as libc::Ioctl,
                pt as *mut NvmePassthruCmd64,
            )
        };
        if ret < 0 {
            return Err(self.ioctl_error(name, io::Error::last_os_error()));
        }
        Ok(completion_from_ioctl(ret, pt.result))
    }
}

impl SyncIo for NvmeDev {
    fn id(&self) -> &'static str {
        "nvme"
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        mut data: DataBuf<'_>,
        mut meta: DataBuf<'_>,
    ) -> Result<Completion> {
        let mut d = user_buf(&mut data, cmd.opc, "data buffer")?;
        let m = user_buf(&mut meta, cmd.opc, "metadata buffer")?;
        let format = self.formats.get(cmd.nsid, self);
        let need = xfer_check::check_io(cmd, format.as_ref(), d.1 as usize, m.1 as usize)?;
        if let Some(n) = need.data {
            // No more than the command moves (n <= d.1, checked above).
            d.1 = d.1.min(n as u32);
        }
        self.check_transfer(u64::from(d.1))?;
        let mut pt = passthru64(cmd, d, m, self.io_timeout_ms);
        if self.is_controller() {
            // SAFETY: as below.
            return unsafe { self.submit_on_controller(&pt) };
        }
        // SAFETY: `d` and `m` come from the live borrows `data` and `meta`
        // with their lengths, and `user_buf` refused read-only buffers the
        // kernel would write.
        unsafe { self.submit(NVME_IOCTL_IO64_CMD, "NVME_IOCTL_IO64_CMD", &mut pt) }
    }

    fn cmd_iov(
        &self,
        cmd: &mut Command,
        mut data: DataVec<'_, '_>,
        mut meta: DataBuf<'_>,
    ) -> Result<Completion> {
        let total = data.len() as u64;
        let (addr, count) = match &mut data {
            DataVec::In(v) => (v.as_mut_ptr() as u64, v.len()),
            DataVec::Out(v) => {
                if kernel_writes_buffer(cmd.opc) && total > 0 {
                    return Err(Error::invalid(
                        "data vector",
                        format!(
                            "opcode {:#04x} moves data from the device, so its buffers must be writable (DataVec::In)",
                            cmd.opc
                        ),
                    ));
                }
                (v.as_ptr() as u64, v.len())
            }
        };
        if count == 0 {
            return self.cmd_io(cmd, DataBuf::None, meta);
        }
        if self.is_controller() {
            // A controller node has no vectored I/O ioctl.
            return nvmx_core::be::gather_iov(self, cmd, data, meta);
        }
        let count = u32::try_from(count).map_err(|_| {
            Error::too_large(
                "data vector",
                count as u64,
                u32::MAX.into(),
                "buffers per command",
            )
        })?;
        let m = user_buf(&mut meta, cmd.opc, "metadata buffer")?;
        let format = self.formats.get(cmd.nsid, self);
        xfer_check::check_io(cmd, format.as_ref(), total as usize, m.1 as usize)?;
        self.check_transfer(total)?;
        let mut pt = passthru64(cmd, (addr, count), m, self.io_timeout_ms);
        // SAFETY: `addr` is the start of the borrowed slice of `count`
        // IoSlice/IoSliceMut values, which std guarantees to be laid out as
        // `struct iovec`; each points into a live borrow, mutable when the
        // kernel writes (checked above); `m` is as in `cmd_io`.
        let r = unsafe { self.submit(NVME_IOCTL_IO64_CMD_VEC, "NVME_IOCTL_IO64_CMD_VEC", &mut pt) };
        match r {
            // Kernels before the vectored ioctl (5.18) answer ENOTTY on a
            // namespace node: gather or scatter through one buffer instead.
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
                nvmx_core::be::gather_iov(self, cmd, data, meta)
            }
            r => r,
        }
    }
}

impl Admin for NvmeDev {
    fn id(&self) -> &'static str {
        "nvme"
    }

    fn cmd_admin(&self, cmd: &mut Command, mut data: DataBuf<'_>) -> Result<Completion> {
        let mut d = user_buf(&mut data, cmd.opc, "data buffer")?;
        if let Some(n) = xfer_check::check_admin("nvme", cmd, d.1 as usize)? {
            d.1 = d.1.min(n as u32);
        }
        let mut pt = passthru64(cmd, d, (0, 0), self.admin_timeout_ms);
        // SAFETY: `d` comes from the live borrow `data` with its length, and
        // `user_buf` refused a read-only buffer the kernel would write.
        let r = unsafe { self.submit(NVME_IOCTL_ADMIN64_CMD, "NVME_IOCTL_ADMIN64_CMD", &mut pt) };
        self.formats.note_admin(cmd.opc);
        r
    }

    fn pseudo(&self, op: nvmx_core::be::Pseudo) -> Result<()> {
        match op {
            nvmx_core::be::Pseudo::ControllerReset => self.controller_reset(),
            nvmx_core::be::Pseudo::SubsystemReset => self.subsystem_reset(),
            nvmx_core::be::Pseudo::NamespaceRescan => self.rescan(),
        }
    }

    fn registers(&self) -> Result<nvmx_spec::regs::ControllerRegisters> {
        let dir = self.sysfs_dir.as_deref().ok_or_else(|| {
            Error::unsupported(
                "nvme",
                format!("controller registers of {}: no sysfs entry", self.path),
            )
        })?;
        read_registers(dir)
    }
}

#[cfg(test)]
mod tests;
