//! What an opened device is: its URI, device type, namespace and command set.

use serde::Serialize;

/// Device types (xNVMe's `dtype` values).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(into = "u8")]
#[repr(u8)]
pub enum DevType {
    /// Not known.
    Unknown = 0,
    /// An NVMe controller handle (`/dev/nvme0`, a PCIe function with nsid 0).
    NvmeController = 1,
    /// An NVMe namespace.
    NvmeNamespace = 2,
    /// A block device that is not NVMe.
    BlockDevice = 3,
    /// A regular file.
    FsFile = 4,
    /// An in-memory ramdisk.
    Ramdisk = 5,
}

impl From<DevType> for u8 {
    fn from(d: DevType) -> u8 {
        d as u8
    }
}

impl DevType {
    /// A short lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            DevType::Unknown => "unknown",
            DevType::NvmeController => "nvme_controller",
            DevType::NvmeNamespace => "nvme_namespace",
            DevType::BlockDevice => "block_device",
            DevType::FsFile => "fs_file",
            DevType::Ramdisk => "ramdisk",
        }
    }
}

/// Identification of an opened device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ident {
    /// The URI it was opened with.
    pub uri: String,
    /// Device type.
    pub dtype: DevType,
    /// Namespace identifier (0xffffffff for a controller handle).
    pub nsid: u32,
    /// Command set identifier of the namespace (0xff when unknown).
    pub csi: u8,
    /// Subsystem NQN, when known.
    pub subnqn: String,
}
