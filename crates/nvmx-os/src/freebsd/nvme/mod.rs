//! `nvme` on FreeBSD: the NVMe driver's `NVME_PASSTHROUGH_CMD` ioctl as
//! sync and admin interfaces.
//!
//! FreeBSD's `nvme(4)` driver makes one character device per controller
//! (`/dev/nvme0`) and one per namespace (`/dev/nvme0ns1`); with
//! `hw.nvme.use_nvd=0` (the default on current FreeBSD) each namespace is
//! also a CAM disk, `/dev/nda0`. All of them take `NVME_PASSTHROUGH_CMD`
//! with a `struct nvme_pt_command` ([`ioctl::NvmePtCommand`]), but what the
//! driver does with it depends on the node:
//!
//! - on a **controller** node the command is an *admin* command, sent to
//!   the namespace the command names;
//! - on a **namespace** node (or `nda`) it is an *I/O* command, and the
//!   driver puts the node's own namespace into it.
//!
//! So this interface keeps two descriptors. A namespace node runs I/O
//! itself and admin commands through its controller node, found with
//! `NVME_GET_NSID` (which names the controller, `nvme0`, and the
//! namespace). A controller node runs admin commands itself and I/O
//! through the namespace node `/dev/nvmeXnsN` of `--dev-nsid`, when that
//! exists; without one, I/O is refused rather than sent down the admin
//! queue, where its opcode would mean a different command ([`route`]).
//! Where `NVME_GET_NSID` is not answered (`ENOTTY`: controller nodes of
//! older kernels, or kernels whose `SPECNAMELEN` was 63, which gives the
//! request another number), `nvmeX` and `nvmeXnsY` nodes are recognised
//! by name ([`ident_from_name`]); `nda` disks cannot be.
//!
//! On `nvme(4)` nodes the ioctl returns 0 when the command ran, whatever
//! its NVMe status; the status and completion dword 0 come back in the
//! structure ([`ioctl::completion_from_pt`]). Dword 1 does not come back.
//! An `nda` disk (`sys/cam/nvme/nvme_da.c`) runs the command through CAM
//! and copies no completion back: a command the device failed returns
//! `EIO` (reported naming the namespace node that would show the status,
//! [`cam_error_hint`]), and dword 0 of a successful one reads as 0. CAM
//! attaches `nda` only to namespaces without metadata.
//!
//! **Metadata.** `struct nvme_pt_command` has a data buffer and no
//! metadata pointer, and the driver builds the command's data pointers
//! itself, so a separate metadata buffer cannot reach the device: it is
//! refused, naming why ([`ioctl::refuse_metadata`]). Extended-LBA formats
//! carry their metadata in the data buffer and work.
//!
//! **Transfer limit.** The driver fails a buffer longer than the
//! controller's maximum transfer with `EIO`; where the kernel reports that
//! maximum (`NVME_GET_MAX_XFER_SIZE`, newer kernels) longer buffers are
//! refused up front, naming the limit.

pub mod ioctl;
#[cfg(target_os = "freebsd")]
mod sys;
#[cfg(test)]
mod tests;

#[cfg(target_os = "freebsd")]
pub use sys::{NvmeDev, open};

/// Opens an NVMe node as a backend: FreeBSD's driver ioctls exist only
/// there, so elsewhere this refuses (the FreeBSD configuration list
/// compiles, and its selection is tested, on every Unix host).
#[cfg(not(target_os = "freebsd"))]
pub fn open(
    uri: &nvmx_core::uri::Uri,
    opts: &nvmx_core::opts::Options,
) -> nvmx_core::error::Result<nvmx_core::be::Backend> {
    let _ = opts;
    Err(nvmx_core::error::Error::unsupported(
        "nvme",
        format!(
            "{}: FreeBSD's NVMe driver ioctls (NVME_PASSTHROUGH_CMD) exist only on FreeBSD",
            uri.raw
        ),
    ))
}

/// The controller node of a controller named `cdev` (as `NVME_GET_NSID`
/// names it): `nvme0` → `/dev/nvme0`.
pub fn controller_node(cdev: &str) -> String {
    format!("/dev/{cdev}")
}

/// The namespace node of namespace `nsid` on controller `cdev`:
/// (`nvme0`, 1) → `/dev/nvme0ns1`.
pub fn namespace_node(cdev: &str, nsid: u32) -> String {
    format!("/dev/{cdev}ns{nsid}")
}

/// What a node's name says that `NVME_GET_NSID` would: its controller's
/// name and its namespace (0 for a controller node). `None` for names
/// that do not say (`nda` disks, anything else).
pub fn ident_from_name(path: &str) -> Option<(String, u32)> {
    use super::dev::{NodeName, parse_node_name};
    match parse_node_name(path)? {
        NodeName::Controller { ctrl } => Some((format!("nvme{ctrl}"), 0)),
        NodeName::Namespace { ctrl, nsid } => Some((format!("nvme{ctrl}"), nsid)),
        NodeName::Nda { .. } => None,
    }
}

/// Where a device's commands go, decided from what `NVME_GET_NSID` said
/// about the node opened: each is a node path, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    /// The node I/O commands go to.
    pub io: std::result::Result<String, String>,
    /// The node admin commands go to.
    pub admin: std::result::Result<String, String>,
    /// The namespace of the node opened; `None` for a controller node.
    pub nsid: Option<u32>,
}

/// Routes the commands of the node opened at `path`, of which
/// `NVME_GET_NSID` said: controller `cdev` (when it named one) and
/// namespace `node_nsid` (0 for a controller node). `dev_nsid` is
/// `--dev-nsid`, the namespace I/O on a controller node is for.
pub fn route(path: &str, cdev: Option<&str>, node_nsid: u32, dev_nsid: u32) -> Routing {
    if node_nsid != 0 {
        let admin = match cdev {
            Some(c) => Ok(controller_node(c)),
            None => Err(format!(
                "admin commands for {path}: the driver did not name its controller"
            )),
        };
        return Routing {
            io: Ok(path.to_string()),
            admin,
            nsid: Some(node_nsid),
        };
    }
    let io = match cdev {
        _ if dev_nsid == 0 || dev_nsid == u32::MAX => Err(format!(
            "I/O on controller node {path}: --dev-nsid {dev_nsid:#x} names no single namespace"
        )),
        Some(c) => Ok(namespace_node(c, dev_nsid)),
        None => Err(format!(
            "I/O on controller node {path}: the driver did not name the controller; open a \
             namespace node (/dev/nvmeXnsY)"
        )),
    };
    Routing {
        io,
        admin: Ok(path.to_string()),
        nsid: None,
    }
}

/// What to add to an error of the passthrough ioctl on an `nda` disk
/// (`cam`): CAM turns a failed NVMe status into `EIO` without the status.
pub fn cam_error_hint(cam: bool, errno: Option<i32>, eio: i32) -> Option<&'static str> {
    (cam && errno == Some(eio)).then_some(
        "the device failed the command or CAM could not run it; nda disks return no NVMe \
         status, the namespace node /dev/nvmeXnsY does",
    )
}

/// Refuses a transfer of `nbytes` above the driver's limit `max`, when
/// known, naming the limit and where it came from.
pub fn check_transfer(max: Option<u64>, nbytes: u64) -> nvmx_core::error::Result<()> {
    match max {
        Some(m) if nbytes > m => Err(nvmx_core::error::Error::too_large(
            "transfer",
            nbytes,
            m,
            "NVME_GET_MAX_XFER_SIZE, bytes per command",
        )),
        _ => Ok(()),
    }
}
