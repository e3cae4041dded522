//! dev `windows`: enumeration of physical drives.
//!
//! Opens `\\.\PhysicalDrive0` to `\\.\PhysicalDrive63` with no access
//! rights (enough for the query IOCTLs, and allowed without
//! administrator rights), asks each for its storage device descriptor and
//! lists the drives that answer, with their bus type; those on the NVMe
//! bus are listed as NVMe namespaces. Numbers may have gaps (a removed
//! drive), so every number is tried.

use std::fs::OpenOptions;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;

use crate::enumerate::{EnumEntry, EnumKind};
use nvmx_core::error::Result;
use nvmx_core::ident::DevType;

/// Highest drive number tried, plus one.
pub const MAX_DRIVES: u32 = 64;

/// The physical drives of this system.
pub fn enumerate() -> Result<Vec<EnumEntry>> {
    let mut v = Vec::new();
    for i in 0..MAX_DRIVES {
        let path = format!(r"\\.\PhysicalDrive{i}");
        // Access 0: query only; the handle cannot read or write.
        let Ok(f) = OpenOptions::new().access_mode(0).open(&path) else {
            continue;
        };
        let Ok(d) = super::disk::descriptor(f.as_raw_handle(), &path) else {
            continue;
        };
        let nvme = d.is_nvme();
        v.push(EnumEntry {
            uri: path,
            kind: EnumKind::PhysicalDrive,
            dtype: if nvme {
                DevType::NvmeNamespace
            } else {
                DevType::BlockDevice
            },
            nsid: u32::from(nvme),
            csi: if nvme { 0 } else { 0xff },
            kernel_driver: None,
            subnqn: String::new(),
            pci: None,
            ctrl: None,
            transport: Some(super::diskinfo::bus_type_name(d.bus_type).to_string()),
            model: d.model(),
            serial: d.serial.clone(),
            firmware: d.revision.clone(),
        });
    }
    Ok(v)
}
