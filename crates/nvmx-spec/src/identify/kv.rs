//! The I/O command set specific Identify Namespace data structure of the
//! Key Value command set (CNS 0x05, CSI 0x01) and its KV formats.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, zeroed_default};

/// A KV format data structure (KV command set 1.0, figure "KV Format Data Structure"): 16 bytes.
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
pub struct KvFormat {
    /// Maximum key length in bytes (KML).
    pub kml: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd2: u8,
    /// Additional format options: relative performance in bits 1:0.
    pub fopt: u8,
    /// Maximum value length in bytes (MVL).
    pub mvl: u32,
    /// Maximum number of keys (MNK); 0 = no limit reported.
    pub mnk: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd12: [u8; 4],
}

const _: () = assert!(core::mem::size_of::<KvFormat>() == 16);

/// I/O command set specific Identify Namespace data structure for the Key
/// Value command set (KV command set 1.0, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x01.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyKvNamespace {
    /// Namespace size in bytes (NSZE).
    pub nsze: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd8: [u8; 8],
    /// Namespace utilization in bytes (NUSE).
    pub nuse: u64,
    /// Namespace features (NSFEAT).
    pub nsfeat: u8,
    /// Number of KV formats (NKVF), zero-based.
    pub nkvf: u8,
    /// Namespace multi-path I/O and namespace sharing capabilities (NMIC).
    pub nmic: u8,
    /// Reservation capabilities (RESCAP).
    pub rescap: u8,
    /// Format progress indicator (FPI).
    pub fpi: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd29: [u8; 3],
    /// Namespace optimal value granularity in bytes (NOVG).
    pub novg: u32,
    /// ANA group identifier (ANAGRPID).
    pub anagrpid: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd40: [u8; 3],
    /// Namespace attributes (NSATTR).
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
    /// KV formats 0 to 15 (only `nkvf + 1` are valid).
    pub kvf: [KvFormat; 16],
    #[serde(skip)]
    /// Reserved.
    pub rsvd328: [u8; 3512],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 256],
}

const _: () = assert!(core::mem::size_of::<IdentifyKvNamespace>() == IDENTIFY_NBYTES);

impl IdentifyKvNamespace {
    /// The valid KV formats (`nkvf + 1` of them).
    pub fn kv_formats(&self) -> &[KvFormat] {
        &self.kvf[..(self.nkvf as usize + 1).min(16)]
    }
}

zeroed_default!(IdentifyKvNamespace);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn command_set_specific_offsets_match_their_specs() {
        // KV command set 1.0: KV namespace and KV format.
        assert_eq!(offset_of!(IdentifyKvNamespace, nuse), 16);
        assert_eq!(offset_of!(IdentifyKvNamespace, nkvf), 25);
        assert_eq!(offset_of!(IdentifyKvNamespace, novg), 32);
        assert_eq!(offset_of!(IdentifyKvNamespace, nguid), 48);
        assert_eq!(offset_of!(IdentifyKvNamespace, kvf), 72);
        assert_eq!(offset_of!(KvFormat, mvl), 4);
        assert_eq!(offset_of!(KvFormat, mnk), 8);
    }
}
