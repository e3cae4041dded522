//! The `linux` dev interface: finding NVMe devices.
//!
//! [`enumerate`] lists, without opening anything, what sysfs knows:
//!
//! - every controller of the kernel's NVMe driver (`/sys/class/nvme/nvmeX`,
//!   node `/dev/nvmeX`), with its model, serial, firmware, transport,
//!   subsystem NQN, and for PCIe its PCI address and bound driver;
//! - every namespace, twice when the kernel makes both nodes: the block
//!   device `/dev/nvmeXnY` (`/sys/class/block`) and the generic character
//!   device `/dev/ngXnY` (`/sys/class/nvme-generic`), which also exists
//!   for command sets the block layer does not serve (those have no block
//!   device, and their command set is reported unknown, 0xff). The nsid is
//!   sysfs's `nsid`; the command set is sysfs's `csi` where the kernel has
//!   it, else Zoned for a host-managed block queue and NVM otherwise. With
//!   native multipath, namespaces hang under the subsystem
//!   (`nvme-subsysN`); they are attributed to its first controller;
//! - every NVMe PCI function (class code 0x010802) that is **not** bound to
//!   the `nvme` driver, with the driver it is bound to (vfio-pci,
//!   uio_pci_generic) or none, for user-space drivers.
//!
//! Per-path nodes (`nvmeXcYnZ`) and partitions are not listed.
//! [`enumerate_at`] takes the sysfs root as a parameter, so the walk is
//! tested against a fake tree.

pub mod inuse;
pub mod sysfs;

pub use crate::enumerate::{EnumEntry, EnumKind};
use std::path::{Path, PathBuf};

use nvmx_core::error::{Error, Result};
use nvmx_core::ident::DevType;
use nvmx_core::uri::PciAddr;

/// PCI class code of an NVM Express controller (mass storage, NVM, NVMe).
const PCI_CLASS_NVME: u64 = 0x01_08_02;

/// What is known about one controller.
#[derive(Clone, Debug, Default)]
struct CtrlInfo {
    name: String,
    subnqn: String,
    model: String,
    serial: String,
    firmware: String,
    transport: Option<String>,
    pci: Option<String>,
    driver: Option<String>,
}

impl CtrlInfo {
    fn read(dir: &Path, name: &str) -> CtrlInfo {
        let attr = |n: &str| sysfs::read_attr(&dir.join(n)).unwrap_or_default();
        let pci = sysfs::link_name(&dir.join("device"))
            .and_then(|b| PciAddr::parse(&b).ok())
            .map(|a| a.to_string());
        let driver = pci
            .as_ref()
            .and_then(|_| sysfs::link_name(&dir.join("device").join("driver")));
        CtrlInfo {
            name: name.to_string(),
            subnqn: attr("subsysnqn"),
            model: attr("model"),
            serial: attr("serial"),
            firmware: attr("firmware_rev"),
            transport: sysfs::read_attr(&dir.join("transport")),
            pci,
            driver,
        }
    }

    fn entry(&self, uri: String, kind: EnumKind, dtype: DevType, nsid: u32, csi: u8) -> EnumEntry {
        EnumEntry {
            uri,
            kind,
            dtype,
            nsid,
            csi,
            kernel_driver: self.driver.clone(),
            subnqn: self.subnqn.clone(),
            pci: self.pci.clone(),
            ctrl: (!self.name.is_empty()).then(|| self.name.clone()),
            transport: self.transport.clone(),
            model: self.model.clone(),
            serial: self.serial.clone(),
            firmware: self.firmware.clone(),
        }
    }
}

/// The names in a sysfs directory; none when it does not exist.
fn list(dir: &Path) -> Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("readdir", dir.display().to_string(), e)),
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// The controller a namespace directory belongs to: its parent when that
/// is a controller, or the first controller of its parent subsystem.
fn owner(ns_dir: &Path) -> CtrlInfo {
    let Some(parent) = ns_dir.parent() else {
        return CtrlInfo::default();
    };
    let pname = parent.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if sysfs::parse_numbered(pname, "nvme").is_some() {
        return CtrlInfo::read(parent, pname);
    }
    // A multipath head under nvme-subsysN: the subsystem links its
    // controllers by name.
    let mut ctrls: Vec<(u32, String)> = list(parent)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| Some((sysfs::parse_numbered(&n, "nvme")?, n)))
        .collect();
    ctrls.sort();
    let mut info = match ctrls.first() {
        Some((_, n)) => CtrlInfo::read(&parent.join(n), n),
        None => CtrlInfo::default(),
    };
    if let Some(nqn) = sysfs::read_attr(&parent.join("subsysnqn")) {
        info.subnqn = nqn;
    }
    info
}

/// The command set of a namespace block device's sysfs directory.
fn block_csi(dir: &Path) -> u8 {
    if let Some(c) = sysfs::read_u64(&dir.join("csi")).and_then(|c| u8::try_from(c).ok()) {
        return c;
    }
    match sysfs::read_attr(&dir.join("queue/zoned")).as_deref() {
        Some("host-managed") => nvmx_spec::opcode::Csi::ZONED.0,
        _ => nvmx_spec::opcode::Csi::NVM.0,
    }
}

fn nsid_of(dir: &Path) -> Option<u32> {
    sysfs::read_u64(&dir.join("nsid")).and_then(|n| u32::try_from(n).ok())
}

/// Lists the NVMe devices of this system (see the module documentation);
/// an empty list where there are none.
pub fn enumerate() -> Result<Vec<EnumEntry>> {
    enumerate_at(Path::new(sysfs::SYSFS))
}

/// [`enumerate`] over the sysfs tree mounted at `sys` (normally `/sys`).
pub fn enumerate_at(sys: &Path) -> Result<Vec<EnumEntry>> {
    let mut ctrls = Vec::new();
    let class_nvme = sys.join("class/nvme");
    for name in list(&class_nvme)? {
        let Some(x) = sysfs::parse_numbered(&name, "nvme") else {
            continue;
        };
        let dir = class_nvme.join(&name);
        let info = CtrlInfo::read(&dir, &name);
        ctrls.push((
            x,
            info.entry(
                format!("/dev/{name}"),
                EnumKind::Controller,
                DevType::NvmeController,
                0,
                0xff,
            ),
        ));
    }
    ctrls.sort_by_key(|(x, _)| *x);

    let mut nss: Vec<((u32, u32, EnumKind), EnumEntry)> = Vec::new();
    let class_block = sys.join("class/block");
    for name in list(&class_block)? {
        let Some((x, y)) = sysfs::parse_ns_name(&name, "nvme") else {
            continue;
        };
        let Ok(dir) = std::fs::canonicalize(class_block.join(&name)) else {
            continue;
        };
        let nsid = nsid_of(&dir).unwrap_or(0);
        let e = owner(&dir).entry(
            format!("/dev/{name}"),
            EnumKind::NamespaceBlock,
            DevType::NvmeNamespace,
            nsid,
            block_csi(&dir),
        );
        nss.push(((x, y, EnumKind::NamespaceBlock), e));
    }
    let class_generic = sys.join("class/nvme-generic");
    for name in list(&class_generic)? {
        let Some((x, y)) = sysfs::parse_ns_name(&name, "ng") else {
            continue;
        };
        let Ok(dir) = std::fs::canonicalize(class_generic.join(&name)) else {
            continue;
        };
        // The generic node's sibling block device, when the block layer
        // serves the namespace's command set.
        let sibling: Option<PathBuf> =
            std::fs::canonicalize(class_block.join(format!("nvme{x}n{y}"))).ok();
        let nsid = nsid_of(&dir)
            .or_else(|| sibling.as_deref().and_then(nsid_of))
            .unwrap_or(0);
        let csi = match sysfs::read_u64(&dir.join("csi")).and_then(|c| u8::try_from(c).ok()) {
            Some(c) => c,
            None => sibling.as_deref().map_or(0xff, block_csi),
        };
        let e = owner(&dir).entry(
            format!("/dev/{name}"),
            EnumKind::NamespaceChar,
            DevType::NvmeNamespace,
            nsid,
            csi,
        );
        nss.push(((x, y, EnumKind::NamespaceChar), e));
    }
    nss.sort_by_key(|(k, _)| *k);

    let mut pcis = Vec::new();
    let pci_devices = sys.join("bus/pci/devices");
    for name in list(&pci_devices)? {
        let dir = pci_devices.join(&name);
        if sysfs::read_u64(&dir.join("class")) != Some(PCI_CLASS_NVME) {
            continue;
        }
        let Ok(addr) = PciAddr::parse(&name) else {
            continue;
        };
        let driver = sysfs::link_name(&dir.join("driver"));
        if driver.as_deref() == Some("nvme") {
            continue;
        }
        let info = CtrlInfo {
            pci: Some(addr.to_string()),
            driver,
            ..Default::default()
        };
        pcis.push((
            addr,
            info.entry(
                addr.to_string(),
                EnumKind::PciFunction,
                DevType::NvmeController,
                0,
                0xff,
            ),
        ));
    }
    pcis.sort_by_key(|(a, _)| (a.domain, a.bus, a.dev, a.func));

    Ok(ctrls
        .into_iter()
        .map(|(_, e)| e)
        .chain(nss.into_iter().map(|(_, e)| e))
        .chain(pcis.into_iter().map(|(_, e)| e))
        .collect())
}

#[cfg(test)]
mod tests;
