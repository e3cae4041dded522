//! The Identify Namespace data structure of the NVM command set (CNS 0x00)
//! and its LBA formats.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, zeroed_default};
use crate::pi::PiType;

/// An LBA format descriptor (NVM command set 1.0, figure "LBA Format Data Structure"): 4 bytes.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(C)]
pub struct LbaFormat {
    /// Metadata size in bytes per logical block (MS).
    pub ms: u16,
    /// LBA data size as a power of two (LBADS); 0 means the format is unused.
    pub lbads: u8,
    /// Relative performance (RP, bits 1:0): 0 best, 3 degraded.
    pub rp: u8,
}

const _: () = assert!(core::mem::size_of::<LbaFormat>() == 4);

impl LbaFormat {
    /// Logical block data size in bytes; 0 for an unused or invalid format.
    pub const fn data_size(&self) -> u64 {
        if self.lbads < 9 || self.lbads >= 64 {
            0
        } else {
            1 << self.lbads
        }
    }

    /// Relative performance (bits 1:0 of `rp`).
    pub const fn relative_performance(&self) -> u8 {
        self.rp & 0x3
    }
}

/// Identify Namespace data structure of the NVM command set (NVM command
/// set 1.0, figure "Identify Namespace Data Structure, NVM Command Set"):
/// CNS 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNamespace {
    /// Namespace size in logical blocks (NSZE).
    pub nsze: u64,
    /// Namespace capacity in logical blocks (NCAP).
    pub ncap: u64,
    /// Namespace utilization in logical blocks (NUSE).
    pub nuse: u64,
    /// Namespace features (NSFEAT).
    pub nsfeat: u8,
    /// Number of LBA formats (NLBAF), zero-based.
    pub nlbaf: u8,
    /// Formatted LBA size (FLBAS): format index bits 3:0 and 6:5, extended LBA bit 4.
    pub flbas: u8,
    /// Metadata capabilities (MC).
    pub mc: u8,
    /// End-to-end data protection capabilities (DPC).
    pub dpc: u8,
    /// End-to-end data protection type settings (DPS): type bits 2:0, PI first bit 3.
    pub dps: u8,
    /// Namespace multi-path I/O and namespace sharing capabilities (NMIC).
    pub nmic: u8,
    /// Reservation capabilities (RESCAP).
    pub rescap: u8,
    /// Format progress indicator (FPI).
    pub fpi: u8,
    /// Deallocate logical block features (DLFEAT).
    pub dlfeat: u8,
    /// Namespace atomic write unit normal (NAWUN), zero-based.
    pub nawun: u16,
    /// Namespace atomic write unit power fail (NAWUPF), zero-based.
    pub nawupf: u16,
    /// Namespace atomic compare and write unit (NACWU), zero-based.
    pub nacwu: u16,
    /// Namespace atomic boundary size normal (NABSN), zero-based.
    pub nabsn: u16,
    /// Namespace atomic boundary offset (NABO).
    pub nabo: u16,
    /// Namespace atomic boundary size power fail (NABSPF), zero-based.
    pub nabspf: u16,
    /// Namespace optimal I/O boundary in logical blocks (NOIOB).
    pub noiob: u16,
    /// NVM capacity in bytes (NVMCAP), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub nvmcap: [u8; 16],
    /// Namespace preferred write granularity (NPWG), zero-based.
    pub npwg: u16,
    /// Namespace preferred write alignment (NPWA), zero-based.
    pub npwa: u16,
    /// Namespace preferred deallocate granularity (NPDG), zero-based.
    pub npdg: u16,
    /// Namespace preferred deallocate alignment (NPDA), zero-based.
    pub npda: u16,
    /// Namespace optimal write size (NOWS), zero-based.
    pub nows: u16,
    /// Maximum single source range length for Copy (MSSRL).
    pub mssrl: u16,
    /// Maximum copy length (MCL).
    pub mcl: u32,
    /// Maximum source range count for Copy (MSRC), zero-based.
    pub msrc: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd81: u8,
    /// Number of unique capability LBA formats (NULBAF).
    pub nulbaf: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd83: [u8; 9],
    /// ANA group identifier (ANAGRPID).
    pub anagrpid: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd96: [u8; 3],
    /// Namespace attributes (NSATTR): bit 0 write protected.
    pub nsattr: u8,
    /// NVM set identifier (NVMSETID).
    pub nvmsetid: u16,
    /// Endurance group identifier (ENDGID).
    pub endgid: u16,
    /// Namespace globally unique identifier (NGUID).
    #[serde(serialize_with = "ser::hex")]
    pub nguid: [u8; 16],
    /// IEEE extended unique identifier (EUI64).
    #[serde(serialize_with = "ser::hex")]
    pub eui64: [u8; 8],
    /// LBA formats 0 to 63 (only `nlbaf + 1` are valid; see [`Self::lbafs`]).
    #[serde(serialize_with = "ser::seq")]
    pub lbaf: [LbaFormat; 64],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 3712],
}

const _: () = assert!(core::mem::size_of::<IdentifyNamespace>() == IDENTIFY_NBYTES);

impl IdentifyNamespace {
    /// Index of the LBA format the namespace is formatted with.
    ///
    /// FLBAS bits 3:0 hold the low bits; bits 6:5 hold the two high bits,
    /// which only count when the namespace reports more than 16 formats.
    pub const fn flbas_index(&self) -> usize {
        let low = (self.flbas & 0xf) as usize;
        if self.nlbaf >= 16 {
            low | (((self.flbas >> 5) & 0x3) as usize) << 4
        } else {
            low
        }
    }

    /// Whether metadata is transferred at the end of each logical block
    /// (extended LBA, FLBAS bit 4) rather than in a separate buffer.
    pub const fn extended_lba(&self) -> bool {
        self.flbas & 0x10 != 0
    }

    /// The LBA format in use.
    pub const fn active_lbaf(&self) -> LbaFormat {
        self.lbaf[self.flbas_index() & 0x3f]
    }

    /// The valid LBA formats (`nlbaf + 1` of them).
    pub fn lbafs(&self) -> &[LbaFormat] {
        &self.lbaf[..(self.nlbaf as usize + 1).min(64)]
    }

    /// Logical block data size in bytes of the format in use.
    pub const fn lba_nbytes(&self) -> u64 {
        self.active_lbaf().data_size()
    }

    /// Metadata bytes per logical block of the format in use.
    pub const fn metadata_nbytes(&self) -> u16 {
        self.active_lbaf().ms
    }

    /// Protection information type the namespace is formatted with (DPS bits 2:0).
    pub const fn pi_type(&self) -> PiType {
        PiType(self.dps & 0x7)
    }

    /// Whether protection information sits in the first bytes of the
    /// metadata rather than the last (DPS bit 3).
    pub const fn pi_first(&self) -> bool {
        self.dps & 0x8 != 0
    }

    /// NVM capacity in bytes.
    pub const fn nvmcap(&self) -> u128 {
        u128::from_le_bytes(self.nvmcap)
    }

    /// Whether the namespace is thin provisioned (NSFEAT bit 0).
    pub const fn thin_provisioned(&self) -> bool {
        self.nsfeat & 0x1 != 0
    }
}

zeroed_default!(IdentifyNamespace);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn identify_namespace_offsets_match_nvm_spec() {
        assert_eq!(offset_of!(IdentifyNamespace, nsze), 0);
        assert_eq!(offset_of!(IdentifyNamespace, nuse), 16);
        assert_eq!(offset_of!(IdentifyNamespace, nlbaf), 25);
        assert_eq!(offset_of!(IdentifyNamespace, flbas), 26);
        assert_eq!(offset_of!(IdentifyNamespace, dps), 29);
        assert_eq!(offset_of!(IdentifyNamespace, dlfeat), 33);
        assert_eq!(offset_of!(IdentifyNamespace, noiob), 46);
        assert_eq!(offset_of!(IdentifyNamespace, nvmcap), 48);
        assert_eq!(offset_of!(IdentifyNamespace, npwg), 64);
        assert_eq!(offset_of!(IdentifyNamespace, mssrl), 74);
        assert_eq!(offset_of!(IdentifyNamespace, mcl), 76);
        assert_eq!(offset_of!(IdentifyNamespace, msrc), 80);
        assert_eq!(offset_of!(IdentifyNamespace, nulbaf), 82);
        assert_eq!(offset_of!(IdentifyNamespace, anagrpid), 92);
        assert_eq!(offset_of!(IdentifyNamespace, nsattr), 99);
        assert_eq!(offset_of!(IdentifyNamespace, nvmsetid), 100);
        assert_eq!(offset_of!(IdentifyNamespace, endgid), 102);
        assert_eq!(offset_of!(IdentifyNamespace, nguid), 104);
        assert_eq!(offset_of!(IdentifyNamespace, eui64), 120);
        assert_eq!(offset_of!(IdentifyNamespace, lbaf), 128);
        assert_eq!(offset_of!(IdentifyNamespace, vs), 384);
    }

    #[test]
    fn flbas_index_uses_upper_bits_only_beyond_16_formats() {
        let mut ns = IdentifyNamespace::default();
        ns.lbaf[1] = LbaFormat {
            ms: 8,
            lbads: 12,
            rp: 0,
        };
        ns.lbaf[17] = LbaFormat {
            ms: 0,
            lbads: 9,
            rp: 0,
        };
        ns.flbas = 0x1 | 0x10 | 0x20; // index 1, extended, upper bits 01
        ns.nlbaf = 3;
        assert_eq!(ns.flbas_index(), 1);
        assert!(ns.extended_lba());
        assert_eq!(ns.lba_nbytes(), 4096);
        assert_eq!(ns.metadata_nbytes(), 8);
        assert_eq!(ns.lbafs().len(), 4);
        ns.nlbaf = 20;
        assert_eq!(ns.flbas_index(), 17);
        assert_eq!(ns.active_lbaf().data_size(), 512);
    }

    #[test]
    fn pi_settings_decode_from_dps() {
        let mut ns = IdentifyNamespace {
            dps: 0x8 | 0x1,
            ..Default::default()
        };
        assert_eq!(ns.pi_type(), PiType::TYPE1);
        assert!(ns.pi_first());
        ns.dps = 0x3;
        assert_eq!(ns.pi_type(), PiType::TYPE3);
        assert!(!ns.pi_first());
    }

    #[test]
    fn lba_format_data_size_rejects_unused_formats() {
        assert_eq!(LbaFormat::default().data_size(), 0);
        assert_eq!(
            LbaFormat {
                ms: 0,
                lbads: 9,
                rp: 2
            }
            .data_size(),
            512
        );
        assert_eq!(
            LbaFormat {
                ms: 0,
                lbads: 9,
                rp: 2
            }
            .relative_performance(),
            2
        );
    }

    #[test]
    fn identifiers_serialize_as_hex() {
        let ns = IdentifyNamespace {
            eui64: [0, 1, 2, 3, 0xa, 0xb, 0xc, 0xff],
            ..Default::default()
        };
        let v = serde_json::to_value(ns).unwrap();
        assert_eq!(v["eui64"], "000102030a0b0cff");
        assert_eq!(v["lbaf"].as_array().unwrap().len(), 64);
    }
}
