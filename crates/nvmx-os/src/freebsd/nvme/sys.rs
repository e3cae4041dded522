//! The ioctl calls of the FreeBSD `nvme` interface. See the
//! [module docs](super).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use nvmx_spec::identify::{Cns, NsIdDescriptorIter};
use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::{Command, Completion};

use super::ioctl::{
    NVME_GET_MAX_XFER_SIZE, NVME_GET_NSID, NVME_PASSTHROUGH_CMD, NVME_RESET_CONTROLLER,
    NvmeGetNsid, NvmePtCommand, completion_from_pt, pt_buf, pt_command, refuse_metadata,
};
use super::{cam_error_hint, check_transfer, ident_from_name, route};
use crate::freebsd::dev::{NodeName, parse_node_name};
use nvmx_core::be::xfer_check::{self, FormatCache};
use nvmx_core::be::{Admin, Backend, DataBuf, Pseudo, SyncIo};
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};
use nvmx_core::opts::Options;
use nvmx_core::uri::{Target, Uri};

/// One open node and what it is for.
#[derive(Debug)]
struct Node {
    file: File,
    path: String,
    /// An `nda` disk: CAM runs the command and returns no completion.
    cam: bool,
}

impl Node {
    fn new(file: File, path: String) -> Node {
        let cam = matches!(parse_node_name(&path), Some(NodeName::Nda { .. }));
        Node { file, path, cam }
    }
}

/// An open NVMe node of FreeBSD's driver, as sync and admin interface.
#[derive(Debug)]
pub struct NvmeDev {
    /// The node opened by the URI.
    path: String,
    /// Where I/O commands go: a namespace node (the URI's, or for a
    /// controller node the one of `--dev-nsid`), or why there is none.
    io: std::result::Result<Node, String>,
    /// Where admin commands go: a controller node, or why there is none.
    admin: std::result::Result<Node, String>,
    /// The namespace of the URI's node; `None` for a controller node.
    nsid: Option<u32>,
    /// The driver's transfer limit, when the kernel reports it.
    max_xfer: Option<u64>,
    /// Namespace formats, for checking raw commands against their
    /// buffers.
    formats: FormatCache,
}

fn open_node(path: &str, opts: &Options) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(opts.mode.readable())
        .write(opts.mode.writable())
        .open(path)
}

/// `NVME_GET_NSID` on an open node: the controller's name and the
/// namespace (0 on a controller node).
fn get_nsid(fd: RawFd) -> io::Result<NvmeGetNsid> {
    let mut g = NvmeGetNsid::default();
    // SAFETY: NVME_GET_NSID is an _IOR request on a `struct nvme_get_nsid`;
    // `g` is one (layout pinned in `ioctl`), exclusively borrowed for the
    // call, and the kernel writes only inside it.
    let ret = unsafe {
        libc::ioctl(
            fd,
            libc::c_ulong::from(NVME_GET_NSID),
            &mut g as *mut NvmeGetNsid,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(g)
}

/// `NVME_GET_MAX_XFER_SIZE` on a controller node; `None` where the kernel
/// has no such request.
fn max_xfer(fd: RawFd) -> Option<u64> {
    let mut n: u64 = 0;
    // SAFETY: an _IOR request on a uint64_t; `n` is one, exclusively
    // borrowed for the call.
    let ret = unsafe {
        libc::ioctl(
            fd,
            libc::c_ulong::from(NVME_GET_MAX_XFER_SIZE),
            &mut n as *mut u64,
        )
    };
    (ret == 0 && n > 0).then_some(n)
}

fn get_nsid_error(path: &str, e: io::Error) -> Error {
    let hint = io::Error::new(e.kind(), format!("{e} (is this an NVMe node?)"));
    Error::io("NVME_GET_NSID", path, hint)
}

impl NvmeDev {
    /// Opens `path`, a controller node (`/dev/nvme0`), a namespace node
    /// (`/dev/nvme0ns1`) or an NVMe disk (`/dev/nda0`), and the node of
    /// the other kind that completes it.
    pub fn open(path: &str, opts: &Options) -> Result<NvmeDev> {
        let file = open_node(path, opts).map_err(|e| Error::io("open", path, e))?;
        let (cdev, node_nsid) = match get_nsid(file.as_raw_fd()) {
            Ok(g) => (g.controller().map(str::to_owned), g.nsid),
            // Not answered here (older kernels): the name may say.
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => match ident_from_name(path) {
                Some((c, n)) => (Some(c), n),
                None => return Err(get_nsid_error(path, e)),
            },
            Err(e) => return Err(get_nsid_error(path, e)),
        };
        let r = route(path, cdev.as_deref(), node_nsid, opts.nsid);
        let here = Node::new(file, path.to_string());
        // Opens the other node a route names; `what` says what it is for.
        let open_other = |route: std::result::Result<String, String>, what: &str| {
            let p = route?;
            open_node(&p, opts)
                .map(|file| Node::new(file, p.clone()))
                .map_err(|e| {
                    format!("{what} for {path} go through {p}, which could not be opened: {e}")
                })
        };
        let (io, admin) = match r.nsid {
            Some(_) => (Ok(here), open_other(r.admin, "admin commands")),
            None => (open_other(r.io, "I/O commands"), Ok(here)),
        };
        let nsid = r.nsid;
        let max_xfer = admin
            .as_ref()
            .ok()
            .and_then(|n| max_xfer(n.file.as_raw_fd()));
        Ok(NvmeDev {
            path: path.to_string(),
            io,
            admin,
            nsid,
            max_xfer,
            formats: FormatCache::default(),
        })
    }

    /// The path the device was opened by.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the URI named a controller node.
    pub fn is_controller(&self) -> bool {
        self.nsid.is_none()
    }

    /// The driver's transfer limit for one command, when known.
    pub fn max_transfer(&self) -> Option<u64> {
        self.max_xfer
    }

    /// Resets the controller (`NVME_RESET_CONTROLLER`).
    pub fn controller_reset(&self) -> Result<()> {
        let node = self.admin_node()?;
        // SAFETY: NVME_RESET_CONTROLLER is an _IO request: no argument, so
        // the kernel touches no user memory.
        let ret = unsafe {
            libc::ioctl(
                node.file.as_raw_fd(),
                libc::c_ulong::from(NVME_RESET_CONTROLLER),
            )
        };
        if ret < 0 {
            return Err(Error::io(
                "NVME_RESET_CONTROLLER",
                &node.path,
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn admin_node(&self) -> Result<&Node> {
        self.admin
            .as_ref()
            .map_err(|why| Error::unsupported("nvme", why.clone()))
    }

    fn io_node(&self) -> Result<&Node> {
        self.io
            .as_ref()
            .map_err(|why| Error::unsupported("nvme", why.clone()))
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

    /// Runs one passthrough request on `node`.
    ///
    /// # Safety
    /// `pt.buf` must be valid for `pt.len` bytes until this returns, and
    /// writable when `pt.is_read` is 1.
    unsafe fn submit(&self, node: &Node, pt: &mut NvmePtCommand) -> Result<Completion> {
        // SAFETY: NVME_PASSTHROUGH_CMD is an _IOWR request on a `struct
        // nvme_pt_command`; `pt` is one (layout pinned in `ioctl`),
        // exclusively borrowed, with a null driver_lock; the buffer it
        // names is valid as the caller guarantees, and the driver wires it
        // for the duration of the call.
        let ret = unsafe {
            libc::ioctl(
                node.file.as_raw_fd(),
                libc::c_ulong::from(NVME_PASSTHROUGH_CMD),
                pt as *mut NvmePtCommand,
            )
        };
        if ret < 0 {
            let e = io::Error::last_os_error();
            let e = match cam_error_hint(node.cam, e.raw_os_error(), libc::EIO) {
                Some(hint) => io::Error::new(e.kind(), format!("{e}: {hint}")),
                None => e,
            };
            return Err(Error::io("NVME_PASSTHROUGH_CMD", &node.path, e));
        }
        Ok(completion_from_pt(pt))
    }
}

impl SyncIo for NvmeDev {
    fn id(&self) -> &'static str {
        "nvme"
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.io.as_ref().ok().map(|n| n.file.as_raw_fd())
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        mut data: DataBuf<'_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        refuse_metadata(&meta)?;
        let node = self.io_node()?;
        let mut b = pt_buf(&mut data, cmd.opc)?;
        // The driver maps the buffer's length; the device moves what the
        // command says (and separate metadata has no place here).
        let format = self.formats.get(cmd.nsid, self);
        if let Some(n) = xfer_check::check_io(cmd, format.as_ref(), b.len as usize, 0)?.data {
            b.len = b.len.min(n as u32);
        }
        check_transfer(self.max_xfer, u64::from(b.len))?;
        let mut pt = pt_command(cmd, b);
        // SAFETY: `b` comes from the live borrow `data` with its length,
        // and `pt_buf` refused a read-only buffer the device would write.
        unsafe { self.submit(node, &mut pt) }
    }
}

impl Admin for NvmeDev {
    fn id(&self) -> &'static str {
        "nvme"
    }

    fn cmd_admin(&self, cmd: &mut Command, mut data: DataBuf<'_>) -> Result<Completion> {
        let node = self.admin_node()?;
        let mut b = pt_buf(&mut data, cmd.opc)?;
        if let Some(n) = xfer_check::check_admin("nvme", cmd, b.len as usize)? {
            b.len = b.len.min(n as u32);
        }
        check_transfer(self.max_xfer, u64::from(b.len))?;
        let mut pt = pt_command(cmd, b);
        // SAFETY: as in `cmd_io`.
        let r = unsafe { self.submit(node, &mut pt) };
        self.formats.note_admin(cmd.opc);
        r
    }

    fn pseudo(&self, op: Pseudo) -> Result<()> {
        match op {
            Pseudo::ControllerReset => self.controller_reset(),
            Pseudo::SubsystemReset | Pseudo::NamespaceRescan => Err(Error::unsupported(
                "nvme",
                format!("{op}: FreeBSD's NVMe driver has no ioctl for it"),
            )),
        }
    }
}

/// Opens an NVMe node as a [`Backend`] (the configurations over the
/// `nvme` sync and admin interfaces).
///
/// A namespace node reports its own namespace; a controller node is a
/// [`DevType::NvmeController`] whose nsid is `--dev-nsid`. The command set
/// comes from the namespace's identification descriptors, NVM when the
/// device does not report one.
pub fn open(uri: &Uri, opts: &Options) -> Result<Backend> {
    match uri.target {
        Target::CharDevice | Target::BlockDevice { nvme: true } => {}
        _ => {
            return Err(Error::invalid(
                "URI",
                format!(
                    "{:?} is not an NVMe device node (/dev/nvmeX, /dev/nvmeXnsY, /dev/ndaX)",
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
    Ok(Backend {
        sync: dev.clone(),
        admin: dev,
        ident: Ident {
            uri: uri.raw.clone(),
            dtype,
            nsid,
            csi,
            subnqn: String::new(),
        },
    })
}
