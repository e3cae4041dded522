//! Device enumeration's entries: what NVMe devices this system has,
//! without opening them. [`crate::enumerate()`] picks this platform's
//! scanner; each platform fills the list its own way (Linux walks sysfs,
//! FreeBSD lists `/dev` and asks only `nda` disks which namespace they
//! are); ramdisks and files are named by URI and never enumerated.

use serde::Serialize;

use nvmx_core::ident::DevType;

/// What kind of node or function an entry is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EnumKind {
    /// A controller character device, `/dev/nvmeX`.
    Controller,
    /// A namespace block device, `/dev/nvmeXnY`.
    NamespaceBlock,
    /// A namespace generic character device, `/dev/ngXnY`.
    NamespaceChar,
    /// An NVMe PCI function not bound to the kernel's NVMe driver.
    PciFunction,
    /// A Windows physical drive, `\\.\PhysicalDriveN` (NVMe or not:
    /// `transport` names its bus).
    PhysicalDrive,
}

/// One enumerated device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnumEntry {
    /// The URI that opens it: a `/dev` path, or a PCI address for a
    /// function without a kernel NVMe driver.
    pub uri: String,
    /// What kind of node it is.
    pub kind: EnumKind,
    /// Device type: a controller or a namespace.
    pub dtype: DevType,
    /// Namespace identifier; 0 for controllers and PCI functions.
    pub nsid: u32,
    /// Command set identifier; 0xff when unknown.
    pub csi: u8,
    /// The kernel driver bound to the PCI function, if any.
    pub kernel_driver: Option<String>,
    /// Subsystem NQN (empty when unknown).
    pub subnqn: String,
    /// PCI address `DDDD:BB:DD.F`, for PCIe devices.
    pub pci: Option<String>,
    /// The controller's kernel name (`nvme0`), when it has one.
    pub ctrl: Option<String>,
    /// Transport (`pcie`, `tcp`, `rdma`, `fc`, `loop`), when known; on
    /// Windows the storage bus type (`nvme`, `sata`, `usb`, ...).
    pub transport: Option<String>,
    /// Model number (empty when unknown).
    pub model: String,
    /// Serial number (empty when unknown).
    pub serial: String,
    /// Firmware revision (empty when unknown).
    pub firmware: String,
}
