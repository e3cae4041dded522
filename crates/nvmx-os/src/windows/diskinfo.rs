//! What the disk stack says about a drive, as bytes: the storage device
//! descriptor (`STORAGE_DEVICE_DESCRIPTOR`: bus type, vendor, product,
//! serial), the drive geometry (`DISK_GEOMETRY_EX`), and the Identify data
//! the `block` admin interface synthesizes from them.
//!
//! Plain Rust on every platform (tested on any host); `sys.rs` issues the
//! IOCTLs on Windows. Layouts per the Windows SDK:
//!
//! | structure | fields used (offset) |
//! |---|---|
//! | `STORAGE_PROPERTY_QUERY` (12 bytes) | PropertyId (0), QueryType (4) |
//! | `STORAGE_DEVICE_DESCRIPTOR` | Version (0), Size (4), RemovableMedia (10), VendorIdOffset (12), ProductIdOffset (16), ProductRevisionOffset (20), SerialNumberOffset (24), BusType (28) |
//! | `DISK_GEOMETRY_EX` | Geometry.BytesPerSector (20), DiskSize (24) |
//! | `STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR` | BytesPerLogicalSector (16), BytesPerPhysicalSector (20) |

use nvmx_spec::identify::{IdentifyController, IdentifyNamespace};
use zerocopy::FromZeros;

use nvmx_core::error::{Error, Result};

/// `IOCTL_DISK_GET_DRIVE_GEOMETRY_EX`.
pub const IOCTL_DISK_GET_DRIVE_GEOMETRY_EX: u32 = 0x0007_00A0;
/// `sizeof(STORAGE_PROPERTY_QUERY)`.
pub const PROPERTY_QUERY_LEN: usize = 12;
/// Bytes of `DISK_GEOMETRY_EX` up to its variable part.
pub const DISK_GEOMETRY_EX_LEN: usize = 32;
/// `STORAGE_DEVICE_DESCRIPTOR` up to `RawDeviceProperties`.
pub const DEVICE_DESCRIPTOR_HEADER_LEN: usize = 36;
/// `sizeof(STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR)`.
pub const ACCESS_ALIGNMENT_LEN: usize = 28;
/// `BusTypeNvme`.
pub const BUS_TYPE_NVME: u32 = 0x11;

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// The `IOCTL_STORAGE_QUERY_PROPERTY` input of a standard query of
/// `property` (`StorageDeviceProperty`, `StorageAccessAlignmentProperty`).
pub fn standard_query(property: u32) -> [u8; PROPERTY_QUERY_LEN] {
    let mut q = [0u8; PROPERTY_QUERY_LEN];
    q[..4].copy_from_slice(&property.to_le_bytes());
    // QueryType 0: PropertyStandardQuery.
    q
}

/// The name of a `STORAGE_BUS_TYPE` value, lowercase.
pub fn bus_type_name(v: u32) -> &'static str {
    match v {
        0x01 => "scsi",
        0x02 => "atapi",
        0x03 => "ata",
        0x04 => "1394",
        0x05 => "ssa",
        0x06 => "fibre",
        0x07 => "usb",
        0x08 => "raid",
        0x09 => "iscsi",
        0x0a => "sas",
        0x0b => "sata",
        0x0c => "sd",
        0x0d => "mmc",
        0x0e => "virtual",
        0x0f => "file_backed_virtual",
        0x10 => "spaces",
        0x11 => "nvme",
        0x12 => "scm",
        0x13 => "ufs",
        0x14 => "nvmeof",
        _ => "unknown",
    }
}

/// What a `STORAGE_DEVICE_DESCRIPTOR` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceDescriptor {
    /// `STORAGE_BUS_TYPE`.
    pub bus_type: u32,
    /// Whether the media is removable.
    pub removable: bool,
    /// Vendor id string (trimmed).
    pub vendor: String,
    /// Product id string (trimmed).
    pub product: String,
    /// Product revision (trimmed).
    pub revision: String,
    /// Serial number (trimmed).
    pub serial: String,
}

impl DeviceDescriptor {
    /// Whether the drive sits on the NVMe bus (StorNVMe or another NVMe
    /// miniport).
    pub fn is_nvme(&self) -> bool {
        self.bus_type == BUS_TYPE_NVME
    }

    /// Model text: vendor and product joined.
    pub fn model(&self) -> String {
        [self.vendor.as_str(), self.product.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A NUL-terminated string at `off` in `b` (0 means none).
fn c_string(b: &[u8], off: u32) -> String {
    let off = off as usize;
    if off == 0 || off >= b.len() {
        return String::new();
    }
    let s = &b[off..];
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).trim().to_string()
}

/// Parses a `STORAGE_DEVICE_DESCRIPTOR` of which `returned` bytes were
/// written.
pub fn parse_device_descriptor(b: &[u8], returned: usize) -> Result<DeviceDescriptor> {
    let b = &b[..returned.min(b.len())];
    if b.len() < DEVICE_DESCRIPTOR_HEADER_LEN {
        return Err(Error::bad_reply(
            "IOCTL_STORAGE_QUERY_PROPERTY",
            format!(
                "{} bytes, shorter than its {DEVICE_DESCRIPTOR_HEADER_LEN}-byte header",
                b.len()
            ),
        ));
    }
    Ok(DeviceDescriptor {
        bus_type: get32(b, 28),
        removable: b[10] != 0,
        vendor: c_string(b, get32(b, 12)),
        product: c_string(b, get32(b, 16)),
        revision: c_string(b, get32(b, 20)),
        serial: c_string(b, get32(b, 24)),
    })
}

/// What `DISK_GEOMETRY_EX` says: sector size and disk size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskGeometry {
    /// `Geometry.BytesPerSector`: the logical block size.
    pub bytes_per_sector: u32,
    /// `DiskSize` in bytes.
    pub disk_size: u64,
}

impl DiskGeometry {
    /// log2 of the sector size, checked to be a power of two of 512 bytes
    /// or more.
    pub fn ssw(&self) -> Result<u32> {
        let s = self.bytes_per_sector;
        if s < 512 || !s.is_power_of_two() {
            return Err(Error::bad_reply(
                "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX",
                format!("{s} bytes per sector is not a power of two of 512 or more"),
            ));
        }
        Ok(s.trailing_zeros())
    }
}

/// Parses a `DISK_GEOMETRY_EX` of which `returned` bytes were written.
pub fn parse_geometry_ex(b: &[u8], returned: usize) -> Result<DiskGeometry> {
    if returned < DISK_GEOMETRY_EX_LEN || b.len() < DISK_GEOMETRY_EX_LEN {
        return Err(Error::bad_reply(
            "IOCTL_DISK_GET_DRIVE_GEOMETRY_EX",
            format!(
                "{returned} bytes, shorter than the {DISK_GEOMETRY_EX_LEN} of DISK_GEOMETRY_EX"
            ),
        ));
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&b[24..32]);
    Ok(DiskGeometry {
        bytes_per_sector: get32(b, 20),
        disk_size: u64::from_le_bytes(size),
    })
}

/// Parses a `STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR`: (logical, physical)
/// sector sizes.
pub fn parse_access_alignment(b: &[u8], returned: usize) -> Option<(u32, u32)> {
    (returned >= ACCESS_ALIGNMENT_LEN && b.len() >= ACCESS_ALIGNMENT_LEN)
        .then(|| (get32(b, 16), get32(b, 20)))
}

/// Largest transfer the `block` interface announces (MDTS 8 with 4 KiB
/// pages: 1 MiB), a size every Windows disk stack takes in one request.
pub const BLOCK_MDTS: u8 = 8;

fn put_str(dst: &mut [u8], s: &str) {
    dst.fill(b' ');
    for (d, b) in dst.iter_mut().zip(s.bytes().filter(u8::is_ascii)) {
        *d = b;
    }
}

/// Identify Controller for a disk reached through the `block` interface:
/// model, serial and revision from the descriptor; one namespace; MDTS
/// [`BLOCK_MDTS`]; no optional commands.
pub fn block_identify_controller(d: &DeviceDescriptor) -> IdentifyController {
    let mut c = IdentifyController::new_zeroed();
    put_str(&mut c.sn, &d.serial);
    put_str(&mut c.mn, &d.model());
    put_str(&mut c.fr, &d.revision);
    c.mdts = BLOCK_MDTS;
    c.cntlid = 1;
    c.ver = 0x0002_0000;
    c.nn = 1;
    c.sqes = 0x66;
    c.cqes = 0x44;
    c
}

/// Identify Namespace for a disk: one LBA format of the disk's sector size
/// (and, when the physical sector is larger, NPWG/NPWA saying so),
/// size from `DiskSize`.
pub fn block_identify_namespace(
    g: &DiskGeometry,
    physical: Option<u32>,
) -> Result<IdentifyNamespace> {
    let ssw = g.ssw()?;
    let mut n = IdentifyNamespace::new_zeroed();
    let nsze = g.disk_size >> ssw;
    n.nsze = nsze;
    n.ncap = nsze;
    n.nuse = nsze;
    n.nlbaf = 0;
    n.flbas = 0;
    n.lbaf[0].lbads = ssw as u8;
    if let Some(p) = physical.filter(|&p| p > g.bytes_per_sector && p.is_power_of_two()) {
        // NOWS/NPWG/NPWA are zero-based counts of logical blocks, valid
        // when NSFEAT bit 4 is set.
        let blocks = (p >> ssw).saturating_sub(1).min(u32::from(u16::MAX)) as u16;
        n.nsfeat |= 1 << 4;
        n.npwg = blocks;
        n.npwa = blocks;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor as a SATA disk returns it: header, then the strings.
    fn recorded_sata_descriptor() -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b[0..4].copy_from_slice(&0x28u32.to_le_bytes()); // Version
        b[4..8].copy_from_slice(&128u32.to_le_bytes()); // Size
        b[8] = 0; // DeviceType: direct access
        b[10] = 0; // not removable
        b[12..16].copy_from_slice(&0u32.to_le_bytes()); // no vendor
        b[16..20].copy_from_slice(&40u32.to_le_bytes());
        b[20..24].copy_from_slice(&64u32.to_le_bytes());
        b[24..28].copy_from_slice(&80u32.to_le_bytes());
        b[28..32].copy_from_slice(&0x0bu32.to_le_bytes()); // BusTypeSata
        b[40..40 + 16].copy_from_slice(b"Example SSD 1TB\0");
        b[64..64 + 9].copy_from_slice(b"FW01    \0");
        b[80..80 + 13].copy_from_slice(b"  S3XYZ12345\0");
        b
    }

    #[test]
    fn device_descriptor_strings_and_bus_type_are_read_at_their_offsets() {
        let b = recorded_sata_descriptor();
        let d = parse_device_descriptor(&b, b.len()).unwrap();
        assert_eq!(d.bus_type, 0x0b);
        assert_eq!(bus_type_name(d.bus_type), "sata");
        assert!(!d.is_nvme());
        assert_eq!(d.vendor, "");
        assert_eq!(d.product, "Example SSD 1TB");
        assert_eq!(d.revision, "FW01");
        assert_eq!(d.serial, "S3XYZ12345");
        assert_eq!(d.model(), "Example SSD 1TB");
    }

    #[test]
    fn device_descriptor_shorter_than_its_header_is_refused() {
        let b = recorded_sata_descriptor();
        let e = parse_device_descriptor(&b, 20).unwrap_err();
        assert!(
            matches!(&e, Error::BadReply { why, .. } if why.contains("shorter than its 36-byte header")),
            "{e}"
        );
    }

    #[test]
    fn string_offsets_beyond_the_reply_read_as_empty() {
        let mut b = recorded_sata_descriptor();
        b[16..20].copy_from_slice(&4000u32.to_le_bytes());
        let d = parse_device_descriptor(&b, b.len()).unwrap();
        assert_eq!(d.product, "");
    }

    #[test]
    fn nvme_bus_type_is_recognised() {
        let mut b = recorded_sata_descriptor();
        b[28..32].copy_from_slice(&BUS_TYPE_NVME.to_le_bytes());
        let d = parse_device_descriptor(&b, b.len()).unwrap();
        assert!(d.is_nvme());
        assert_eq!(bus_type_name(d.bus_type), "nvme");
    }

    fn geometry_bytes(sector: u32, size: u64) -> Vec<u8> {
        let mut b = vec![0u8; DISK_GEOMETRY_EX_LEN + 8];
        b[0..8].copy_from_slice(&1000i64.to_le_bytes()); // Cylinders
        b[8..12].copy_from_slice(&12u32.to_le_bytes()); // FixedMedia
        b[12..16].copy_from_slice(&255u32.to_le_bytes());
        b[16..20].copy_from_slice(&63u32.to_le_bytes());
        b[20..24].copy_from_slice(&sector.to_le_bytes());
        b[24..32].copy_from_slice(&size.to_le_bytes());
        b
    }

    #[test]
    fn geometry_gives_sector_and_disk_size() {
        let b = geometry_bytes(4096, 1 << 40);
        let g = parse_geometry_ex(&b, b.len()).unwrap();
        assert_eq!(g.bytes_per_sector, 4096);
        assert_eq!(g.disk_size, 1 << 40);
        assert_eq!(g.ssw().unwrap(), 12);
        assert!(matches!(
            parse_geometry_ex(&b, 31),
            Err(Error::BadReply { .. })
        ));
    }

    #[test]
    fn odd_sector_sizes_are_refused_by_name() {
        let b = geometry_bytes(520, 1 << 30);
        let e = parse_geometry_ex(&b, b.len()).unwrap().ssw().unwrap_err();
        assert!(
            matches!(&e, Error::BadReply { why, .. } if why.contains("520 bytes per sector")),
            "{e}"
        );
    }

    #[test]
    fn synthesized_identify_matches_the_geometry() {
        let g = DiskGeometry {
            bytes_per_sector: 512,
            disk_size: 64 << 20,
        };
        let n = block_identify_namespace(&g, Some(4096)).unwrap();
        assert_eq!(n.nsze, (64 << 20) / 512);
        assert_eq!(n.lbaf[0].lbads, 9);
        assert_eq!(n.npwg, 7);
        assert_eq!(n.nsfeat & (1 << 4), 1 << 4);
        let d = parse_device_descriptor(&recorded_sata_descriptor(), 128).unwrap();
        let c = block_identify_controller(&d);
        assert_eq!(&c.mn[..15], b"Example SSD 1TB");
        assert_eq!(&c.sn[..10], b"S3XYZ12345");
        assert_eq!(c.nn, 1);
        assert_eq!(c.mdts, BLOCK_MDTS);
    }

    #[test]
    fn standard_query_names_the_property() {
        let q = standard_query(6);
        assert_eq!(q, [6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn access_alignment_gives_logical_and_physical_sectors() {
        let mut b = [0u8; ACCESS_ALIGNMENT_LEN];
        b[16..20].copy_from_slice(&512u32.to_le_bytes());
        b[20..24].copy_from_slice(&4096u32.to_le_bytes());
        assert_eq!(parse_access_alignment(&b, b.len()), Some((512, 4096)));
        assert_eq!(parse_access_alignment(&b, 8), None);
    }
}
