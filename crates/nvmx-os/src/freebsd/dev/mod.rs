//! The `freebsd` dev interface: finding NVMe devices under `/dev`.
//!
//! FreeBSD has no sysfs; the NVMe driver's nodes are named after what they
//! are, so [`enumerate_at`] lists a device directory and keeps the names
//! that are NVMe nodes ([`parse_node_name`]):
//!
//! - `nvmeX`: a controller ([`EnumKind::Controller`]);
//! - `nvmeXnsY`: namespace Y of controller X, the driver's own character
//!   device ([`EnumKind::NamespaceChar`]);
//! - `ndaX`: the CAM disk of a namespace ([`EnumKind::NamespaceBlock`];
//!   FreeBSD disks are character devices too, but this one is the disk).
//!   Its controller and namespace are not in the name: on FreeBSD,
//!   `enumerate` asks each disk with `NVME_GET_NSID`, which opens it
//!   read-only; elsewhere (the tests) they stay unknown.
//!
//! Partitions (`nda0p1`), per-path nodes and everything else are skipped.
//! The listing is sorted: controllers, then namespaces, then the
//! disks, each by number.

use std::path::Path;

use crate::enumerate::{EnumEntry, EnumKind};
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::DevType;

/// An NVMe node name under `/dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeName {
    /// `nvmeX`: controller X.
    Controller {
        /// The controller's unit number.
        ctrl: u32,
    },
    /// `nvmeXnsY`: namespace Y of controller X.
    Namespace {
        /// The controller's unit number.
        ctrl: u32,
        /// The namespace identifier (1 or more).
        nsid: u32,
    },
    /// `ndaX`: NVMe disk X of CAM.
    Nda {
        /// The disk's unit number.
        unit: u32,
    },
}

/// A unit number as FreeBSD writes it: decimal digits, no sign, no
/// leading zero (except `0` itself).
fn unit(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses the name of an NVMe node, or a path ending in one
/// (`/dev/nvme0ns1`); `None` for anything else (partitions such as
/// `nda0p1`, namespace 0, other devices).
pub fn parse_node_name(name: &str) -> Option<NodeName> {
    let name = name.rsplit('/').next().unwrap_or(name);
    if let Some(rest) = name.strip_prefix("nda") {
        return unit(rest).map(|unit| NodeName::Nda { unit });
    }
    let rest = name.strip_prefix("nvme")?;
    match rest.split_once("ns") {
        None => unit(rest).map(|ctrl| NodeName::Controller { ctrl }),
        Some((c, n)) => {
            let ctrl = unit(c)?;
            let nsid = unit(n).filter(|n| *n != 0)?;
            Some(NodeName::Namespace { ctrl, nsid })
        }
    }
}

impl NodeName {
    /// The node's name (`nvme0`, `nvme0ns1`, `nda0`).
    pub fn name(&self) -> String {
        match self {
            NodeName::Controller { ctrl } => format!("nvme{ctrl}"),
            NodeName::Namespace { ctrl, nsid } => format!("nvme{ctrl}ns{nsid}"),
            NodeName::Nda { unit } => format!("nda{unit}"),
        }
    }

    /// The enumeration entry of this node under `dir`; controller and
    /// namespace of a disk come from `nda` when known.
    pub fn entry(&self, dir: &Path, nda: Option<(String, u32)>) -> EnumEntry {
        let uri = dir.join(self.name()).to_string_lossy().into_owned();
        let (kind, dtype, nsid, ctrl) = match *self {
            NodeName::Controller { ctrl } => (
                EnumKind::Controller,
                DevType::NvmeController,
                0,
                Some(format!("nvme{ctrl}")),
            ),
            NodeName::Namespace { ctrl, nsid } => (
                EnumKind::NamespaceChar,
                DevType::NvmeNamespace,
                nsid,
                Some(format!("nvme{ctrl}")),
            ),
            NodeName::Nda { .. } => {
                let (ctrl, nsid) = match nda {
                    Some((c, n)) => (Some(c), n),
                    None => (None, 0),
                };
                (EnumKind::NamespaceBlock, DevType::NvmeNamespace, nsid, ctrl)
            }
        };
        EnumEntry {
            uri,
            kind,
            dtype,
            nsid,
            csi: 0xff,
            kernel_driver: None,
            subnqn: String::new(),
            pci: None,
            ctrl,
            transport: None,
            model: String::new(),
            serial: String::new(),
            firmware: String::new(),
        }
    }
}

/// Lists the NVMe nodes in `dir`, sorted, without opening any;
/// `nda_info` is asked for the controller and namespace of each disk.
pub fn enumerate_at(
    dir: &Path,
    mut nda_info: impl FnMut(&Path) -> Option<(String, u32)>,
) -> Result<Vec<EnumEntry>> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::io("read_dir", dir.display().to_string(), e))?;
    let mut names: Vec<NodeName> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(parse_node_name))
        .collect();
    names.sort();
    Ok(names
        .iter()
        .map(|n| {
            let info = match n {
                NodeName::Nda { .. } => nda_info(&dir.join(n.name())),
                _ => None,
            };
            n.entry(dir, info)
        })
        .collect())
}

/// Lists the NVMe controllers, namespaces and disks under `/dev`.
#[cfg(target_os = "freebsd")]
pub fn enumerate() -> Result<Vec<EnumEntry>> {
    enumerate_at(Path::new("/dev"), sys::nda_info)
}

#[cfg(target_os = "freebsd")]
mod sys {
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use crate::freebsd::nvme::ioctl::{NVME_GET_NSID, NvmeGetNsid};

    /// The controller name and namespace of an NVMe disk, asked with
    /// `NVME_GET_NSID` on a read-only descriptor.
    pub(super) fn nda_info(path: &Path) -> Option<(String, u32)> {
        let f = std::fs::File::open(path).ok()?;
        let mut g = NvmeGetNsid::default();
        // SAFETY: NVME_GET_NSID is an _IOR request on a `struct
        // nvme_get_nsid`; `g` is one, exclusively borrowed for the call.
        let ret = unsafe {
            libc::ioctl(
                f.as_raw_fd(),
                libc::c_ulong::from(NVME_GET_NSID),
                &mut g as *mut NvmeGetNsid,
            )
        };
        if ret < 0 {
            return None;
        }
        Some((g.controller()?.to_string(), g.nsid))
    }
}

// The tests build FreeBSD `/dev` paths: Unix path rules.
#[cfg(all(test, unix))]
mod tests;
