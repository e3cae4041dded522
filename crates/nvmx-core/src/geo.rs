//! Device geometry: the numbers a program needs to address a namespace,
//! derived from Identify data by xNVMe's rules.

use nvmx_spec::opcode::Csi;
use nvmx_spec::pi::{PiFormat, PiType};
use serde::Serialize;

/// What kind of addressing the namespace has.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum GeoType {
    /// Not known (e.g. a controller handle).
    #[serde(rename = "XNVME_GEO_UNKNOWN")]
    Unknown,
    /// Conventional random-access logical blocks.
    #[serde(rename = "XNVME_GEO_CONVENTIONAL")]
    Conventional,
    /// Zoned namespace.
    #[serde(rename = "XNVME_GEO_ZONED")]
    Zoned,
    /// Key-value namespace.
    #[serde(rename = "XNVME_GEO_KV")]
    Kv,
}

/// Geometry of an opened namespace, with xNVMe's field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Geometry {
    /// Addressing type.
    #[serde(rename = "type")]
    pub geo_type: GeoType,
    /// Parallel unit groups (1 for NVMe).
    pub npugrp: u32,
    /// Parallel units per group (1 for NVMe).
    pub npunit: u32,
    /// Number of zones (1 for a conventional namespace).
    pub nzone: u32,
    /// Number of logical blocks (Identify Namespace NSZE).
    pub nsect: u64,
    /// Data bytes per logical block.
    pub nbytes: u32,
    /// Metadata bytes per logical block.
    pub nbytes_oob: u32,
    /// Total data bytes (`nsect * nbytes`).
    pub tbytes: u64,
    /// Largest transfer of one command, in bytes.
    pub mdts_nbytes: u32,
    /// Bytes per logical block in the data buffer: `nbytes`, plus
    /// `nbytes_oob` when metadata is interleaved (extended LBA).
    pub lba_nbytes: u32,
    /// Whether metadata is interleaved with data (extended LBA).
    pub lba_extended: bool,
    /// log2 of `nbytes`: shift from LBAs to bytes.
    pub ssw: u32,
    /// Protection information type ([`PiType::NONE`] or types 1-3); prints
    /// as its number.
    pub pi_type: PiType,
    /// Protection information location: 1 = first bytes of metadata.
    pub pi_loc: u8,
    /// Protection information format ([`PiFormat::GUARD16`],
    /// [`PiFormat::GUARD64`], ...); prints as its number.
    pub pi_format: PiFormat,
}

/// The Identify fields geometry is derived from.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoInputs {
    /// Command set of the namespace (NVM, KV, Zoned, or the file pseudo
    /// command set).
    pub csi: Csi,
    /// Identify Namespace NSZE.
    pub nsze: u64,
    /// LBADS of the active format (log2 of the data size).
    pub lbads: u8,
    /// MS of the active format (metadata bytes).
    pub ms: u16,
    /// FLBAS bit 4: metadata at the end of each block's data.
    pub flbas_extended: bool,
    /// Protection information type (Identify Namespace DPS bits 2:0).
    pub pi_type: PiType,
    /// Protection information in the first bytes of the metadata
    /// (Identify Namespace DPS bit 3).
    pub pi_first: bool,
    /// Extended LBA format PIF (NVM command set Identify Namespace).
    pub pif: PiFormat,
    /// Identify Controller MDTS (a power of two of the minimum page size).
    pub mdts: u8,
    /// Minimum memory page size in bytes (CAP.MPSMIN; 4096 when unknown).
    pub mpsmin_nbytes: u32,
    /// Zones in a zoned namespace.
    pub nzone: u32,
}

/// Largest command transfer nvmx uses when the controller reports no limit
/// (MDTS 0): 1 MiB, as xNVMe does.
pub const MDTS_UNLIMITED_NBYTES: u32 = 1 << 20;

impl Geometry {
    /// Derives the geometry from Identify fields.
    pub fn derive(i: &GeoInputs) -> Geometry {
        // LBADS below 9 is not allowed by the spec; treat it as 512 B rather
        // than shifting by garbage.
        let ssw = u32::from(i.lbads.clamp(9, 31));
        let nbytes = 1u32 << ssw;
        let nbytes_oob = u32::from(i.ms);
        let lba_extended = i.flbas_extended && nbytes_oob > 0;
        let mps = if i.mpsmin_nbytes == 0 {
            4096
        } else {
            i.mpsmin_nbytes
        };
        let mdts_nbytes = if i.mdts == 0 {
            MDTS_UNLIMITED_NBYTES
        } else {
            (u64::from(mps) << i.mdts.min(20)).min(u64::from(u32::MAX)) as u32
        };
        let geo_type = match i.csi {
            Csi::ZONED => GeoType::Zoned,
            Csi::KV => GeoType::Kv,
            Csi::NVM | Csi::FS => GeoType::Conventional,
            _ => GeoType::Unknown,
        };
        Geometry {
            geo_type,
            npugrp: 1,
            npunit: 1,
            nzone: i.nzone.max(1),
            nsect: i.nsze,
            nbytes,
            nbytes_oob,
            tbytes: i.nsze.saturating_mul(u64::from(nbytes)),
            mdts_nbytes,
            lba_nbytes: nbytes + if lba_extended { nbytes_oob } else { 0 },
            lba_extended,
            ssw,
            pi_type: i.pi_type,
            pi_loc: u8::from(i.pi_first),
            pi_format: i.pif,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventional_4k_with_extended_metadata() {
        let g = Geometry::derive(&GeoInputs {
            nsze: 1000,
            lbads: 12,
            ms: 8,
            flbas_extended: true,
            pi_type: PiType::TYPE1,
            pi_first: true,
            mdts: 5,
            ..Default::default()
        });
        assert_eq!(g.geo_type, GeoType::Conventional);
        assert_eq!(g.nbytes, 4096);
        assert_eq!(g.lba_nbytes, 4104);
        assert_eq!(g.tbytes, 4096 * 1000);
        assert_eq!(g.ssw, 12);
        assert_eq!(g.mdts_nbytes, 4096 << 5);
        assert_eq!((g.pi_type, g.pi_loc), (PiType::TYPE1, 1));
    }

    #[test]
    fn pi_fields_print_as_numbers() {
        let g = Geometry::derive(&GeoInputs {
            lbads: 9,
            ms: 16,
            pi_type: PiType::TYPE2,
            pi_first: true,
            pif: PiFormat::GUARD64,
            ..Default::default()
        });
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(
            (&v["pi_type"], &v["pi_loc"], &v["pi_format"]),
            (&2.into(), &1.into(), &2.into())
        );
    }

    #[test]
    fn mdts_zero_means_one_mib_and_separate_metadata_is_not_extended() {
        let g = Geometry::derive(&GeoInputs {
            nsze: 8,
            lbads: 9,
            ms: 8,
            ..Default::default()
        });
        assert_eq!(g.mdts_nbytes, 1 << 20);
        assert_eq!(g.lba_nbytes, 512);
        assert!(!g.lba_extended);
    }

    #[test]
    fn zoned_and_kv_types() {
        let z = Geometry::derive(&GeoInputs {
            csi: Csi::ZONED,
            lbads: 12,
            nzone: 16,
            ..Default::default()
        });
        assert_eq!((z.geo_type, z.nzone), (GeoType::Zoned, 16));
        let k = Geometry::derive(&GeoInputs {
            csi: Csi::KV,
            lbads: 12,
            ..Default::default()
        });
        assert_eq!(k.geo_type, GeoType::Kv);
    }
}
