//! End-to-end protection information (NVM command set 1.0, "End-to-end Data Protection").
//!
//! A namespace formatted with protection information carries, in each
//! logical block's metadata, a tuple of a guard (a CRC of the block's
//! data), an application tag and a reference tag (plus, in the newer
//! formats, a storage tag). Unlike everything else in NVMe these tuples are
//! **big-endian** on the media, so the layouts here keep their fields as
//! byte arrays and convert in the accessors.
//!
//! The three guard CRCs are provided table-driven, with tables built at
//! compile time: [`crc16_t10dif`] (16b guard), [`crc32c`] (32b guard) and
//! [`crc64_nvme`] (64b guard).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::opcode::open_enum;

open_enum! {
    /// Protection information type (DPS bits 2:0 of Identify Namespace).
    PiType: u8 {
        /// Protection information disabled.
        NONE = 0, "None";
        /// Type 1: reference tag checked against the LBA.
        TYPE1 = 1, "Type 1";
        /// Type 2: reference tag checked against the command's initial tag.
        TYPE2 = 2, "Type 2";
        /// Type 3: reference tag not checked.
        TYPE3 = 3, "Type 3";
    }
}

open_enum! {
    /// Protection information format (PIF, bits 8:7 of an extended LBA format).
    PiFormat: u8 {
        /// 16b guard protection information: CRC-16 T10-DIF guard, 8-byte tuple.
        GUARD16 = 0, "16b Guard";
        /// 32b guard protection information: CRC-32C guard, 16-byte tuple.
        GUARD32 = 1, "32b Guard";
        /// 64b guard protection information: CRC-64 NVMe guard, 16-byte tuple.
        GUARD64 = 2, "64b Guard";
    }
}

impl PiFormat {
    /// Size in bytes of the protection information tuple of this format.
    pub const fn tuple_nbytes(self) -> usize {
        match self {
            Self::GUARD16 => 8,
            _ => 16,
        }
    }
}

/// The 16b guard protection information tuple (NVM command set 1.0,
/// "16b Guard Protection Information"): 8 bytes, big-endian fields.
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
pub struct Pi16 {
    /// Guard: CRC-16 T10-DIF of the block's data, big-endian.
    pub guard: [u8; 2],
    /// Logical block application tag, big-endian.
    pub apptag: [u8; 2],
    /// Logical block reference tag, big-endian.
    pub reftag: [u8; 4],
}

const _: () = assert!(core::mem::size_of::<Pi16>() == 8);

impl Pi16 {
    /// A tuple from its three values.
    pub const fn new(guard: u16, apptag: u16, reftag: u32) -> Self {
        Self {
            guard: guard.to_be_bytes(),
            apptag: apptag.to_be_bytes(),
            reftag: reftag.to_be_bytes(),
        }
    }

    /// A tuple protecting `data` (the block's data and any metadata bytes
    /// that precede the tuple).
    pub const fn generate(data: &[u8], apptag: u16, reftag: u32) -> Self {
        Self::new(crc16_t10dif(0, data), apptag, reftag)
    }

    /// The guard value.
    pub const fn guard(&self) -> u16 {
        u16::from_be_bytes(self.guard)
    }

    /// Sets the guard value.
    pub fn set_guard(&mut self, v: u16) {
        self.guard = v.to_be_bytes();
    }

    /// The application tag.
    pub const fn apptag(&self) -> u16 {
        u16::from_be_bytes(self.apptag)
    }

    /// Sets the application tag.
    pub fn set_apptag(&mut self, v: u16) {
        self.apptag = v.to_be_bytes();
    }

    /// The reference tag.
    pub const fn reftag(&self) -> u32 {
        u32::from_be_bytes(self.reftag)
    }

    /// Sets the reference tag.
    pub fn set_reftag(&mut self, v: u32) {
        self.reftag = v.to_be_bytes();
    }
}

/// The 32b guard protection information tuple (NVM command set 1.0,
/// "32b Guard Protection Information"): 16 bytes;
/// the last 80 bits hold the storage tag and the reference tag, big-endian.
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
pub struct Pi32 {
    /// Guard: CRC-32C of the block's data, big-endian.
    pub guard: [u8; 4],
    /// Logical block application tag, big-endian.
    pub apptag: [u8; 2],
    /// Storage and reference space: storage tag in the upper STS bits,
    /// reference tag below, big-endian.
    pub srtag: [u8; 10],
}

const _: () = assert!(core::mem::size_of::<Pi32>() == 16);

impl Pi32 {
    /// The guard value.
    pub const fn guard(&self) -> u32 {
        u32::from_be_bytes(self.guard)
    }

    /// Sets the guard value.
    pub fn set_guard(&mut self, v: u32) {
        self.guard = v.to_be_bytes();
    }

    /// The application tag.
    pub const fn apptag(&self) -> u16 {
        u16::from_be_bytes(self.apptag)
    }

    /// Sets the application tag.
    pub fn set_apptag(&mut self, v: u16) {
        self.apptag = v.to_be_bytes();
    }

    /// The 80-bit storage and reference space.
    pub const fn srtag(&self) -> u128 {
        let mut v = 0u128;
        let mut i = 0;
        while i < 10 {
            v = v << 8 | self.srtag[i] as u128;
            i += 1;
        }
        v
    }

    /// Sets the 80-bit storage and reference space (upper bits of `v` are dropped).
    pub fn set_srtag(&mut self, v: u128) {
        let b = v.to_be_bytes();
        self.srtag.copy_from_slice(&b[6..]);
    }
}

/// The 64b guard protection information tuple (NVM command set 1.0,
/// "64b Guard Protection Information"): 16 bytes;
/// the last 48 bits hold the storage tag and the reference tag, big-endian.
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
pub struct Pi64 {
    /// Guard: CRC-64 NVMe of the block's data, big-endian.
    pub guard: [u8; 8],
    /// Logical block application tag, big-endian.
    pub apptag: [u8; 2],
    /// Storage and reference space: storage tag in the upper STS bits,
    /// reference tag below, big-endian.
    pub srtag: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<Pi64>() == 16);

impl Pi64 {
    /// A tuple from its values; `srtag` is the 48-bit storage and reference space.
    pub const fn new(guard: u64, apptag: u16, srtag: u64) -> Self {
        let s = srtag.to_be_bytes();
        Self {
            guard: guard.to_be_bytes(),
            apptag: apptag.to_be_bytes(),
            srtag: [s[2], s[3], s[4], s[5], s[6], s[7]],
        }
    }

    /// A tuple protecting `data` (the block's data and any metadata bytes
    /// that precede the tuple).
    pub const fn generate(data: &[u8], apptag: u16, srtag: u64) -> Self {
        Self::new(crc64_nvme(data), apptag, srtag)
    }

    /// The guard value.
    pub const fn guard(&self) -> u64 {
        u64::from_be_bytes(self.guard)
    }

    /// Sets the guard value.
    pub fn set_guard(&mut self, v: u64) {
        self.guard = v.to_be_bytes();
    }

    /// The application tag.
    pub const fn apptag(&self) -> u16 {
        u16::from_be_bytes(self.apptag)
    }

    /// Sets the application tag.
    pub fn set_apptag(&mut self, v: u16) {
        self.apptag = v.to_be_bytes();
    }

    /// The 48-bit storage and reference space.
    pub const fn srtag(&self) -> u64 {
        let s = self.srtag;
        u64::from_be_bytes([0, 0, s[0], s[1], s[2], s[3], s[4], s[5]])
    }

    /// Sets the 48-bit storage and reference space (upper bits of `v` are dropped).
    pub fn set_srtag(&mut self, v: u64) {
        self.srtag.copy_from_slice(&v.to_be_bytes()[2..]);
    }

    /// The reference tag: the low `48 - sts` bits of the storage and
    /// reference space, for a storage tag size of `sts` bits.
    pub const fn reftag(&self, sts: u8) -> u64 {
        let bits = 48u32.saturating_sub(sts as u32);
        if bits == 0 {
            0
        } else {
            self.srtag() & (u64::MAX >> (64 - bits))
        }
    }

    /// The storage tag: the upper `sts` bits of the storage and reference space.
    pub const fn storage_tag(&self, sts: u8) -> u64 {
        let sts = if sts > 48 { 48 } else { sts as u32 };
        if sts == 0 {
            0
        } else {
            self.srtag() >> (48 - sts)
        }
    }
}

const fn crc16_table(poly: u16) -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                crc << 1 ^ poly
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

const fn crc32_reflected_table(poly: u32) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                crc >> 1 ^ poly
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

const fn crc64_reflected_table(poly: u64) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                crc >> 1 ^ poly
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// CRC-16 T10-DIF polynomial 0x8BB7, processed MSB first.
const CRC16_T10DIF: [u16; 256] = crc16_table(0x8bb7);
/// CRC-32C (Castagnoli) polynomial 0x1EDC6F41, bit-reversed for LSB-first processing.
const CRC32C: [u32; 256] = crc32_reflected_table(0x82f6_3b78);
/// CRC-64 NVMe polynomial 0xAD93D23594C93659, bit-reversed for LSB-first processing.
const CRC64_NVME: [u64; 256] = crc64_reflected_table(0x9a6c_9329_ac4b_c9b5);

/// CRC-16 T10-DIF, the 16b guard: polynomial 0x8BB7, not reflected, no
/// final XOR. Pass 0 as `seed` to start, or a previous result to continue
/// over more bytes (e.g. metadata that precedes the tuple).
pub const fn crc16_t10dif(seed: u16, bytes: &[u8]) -> u16 {
    let mut crc = seed;
    let mut i = 0;
    while i < bytes.len() {
        crc = crc << 8 ^ CRC16_T10DIF[((crc >> 8) as u8 ^ bytes[i]) as usize];
        i += 1;
    }
    crc
}

/// CRC-32C continued from a previous result `crc` (0 to start).
pub const fn crc32c_update(crc: u32, bytes: &[u8]) -> u32 {
    let mut state = !crc;
    let mut i = 0;
    while i < bytes.len() {
        state = state >> 8 ^ CRC32C[(state as u8 ^ bytes[i]) as usize];
        i += 1;
    }
    !state
}

/// CRC-32C (Castagnoli), the 32b guard: reflected, initial value and final
/// XOR all ones.
pub const fn crc32c(bytes: &[u8]) -> u32 {
    crc32c_update(0, bytes)
}

/// CRC-64 NVMe continued from a previous result `crc` (0 to start).
pub const fn crc64_nvme_update(crc: u64, bytes: &[u8]) -> u64 {
    let mut state = !crc;
    let mut i = 0;
    while i < bytes.len() {
        state = state >> 8 ^ CRC64_NVME[(state as u8 ^ bytes[i]) as usize];
        i += 1;
    }
    !state
}

/// CRC-64 NVMe, the 64b guard: polynomial 0xAD93D23594C93659, reflected,
/// initial value and final XOR all ones.
pub const fn crc64_nvme(bytes: &[u8]) -> u64 {
    crc64_nvme_update(0, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: &[u8] = b"123456789";

    // Bit-at-a-time definitions, independent of the tables.
    fn crc16_bitwise(bytes: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in bytes {
            crc ^= (b as u16) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    crc << 1 ^ 0x8bb7
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    fn crc64_bitwise(bytes: &[u8]) -> u64 {
        // Non-reflected polynomial applied to bit-reversed input, then reversed back.
        let mut crc = u64::MAX;
        for &b in bytes {
            crc ^= (b.reverse_bits() as u64) << 56;
            for _ in 0..8 {
                crc = if crc & (1 << 63) != 0 {
                    crc << 1 ^ 0xad93_d235_94c9_3659
                } else {
                    crc << 1
                };
            }
        }
        !crc.reverse_bits()
    }

    fn pattern(f: impl Fn(usize) -> u8) -> std::vec::Vec<u8> {
        (0..4096).map(f).collect()
    }

    #[test]
    fn crc16_t10dif_matches_check_value() {
        assert_eq!(crc16_t10dif(0, CHECK), 0xd0db);
        assert_eq!(crc16_t10dif(0, &[0u8; 4096]), 0x0000);
    }

    #[test]
    fn crc32c_matches_check_and_nvm_spec_vector() {
        assert_eq!(crc32c(CHECK), 0xe306_9283);
        // NVM command set spec, 32b guard test vector: 4 KiB of zeroes.
        assert_eq!(crc32c(&[0u8; 4096]), 0x98f9_4189);
    }

    #[test]
    fn crc64_nvme_matches_check_and_nvm_spec_vectors() {
        assert_eq!(crc64_nvme(CHECK), 0xae8b_1486_0a79_9888);
        // NVM command set spec, 64b guard test vectors over 4 KiB.
        assert_eq!(crc64_nvme(&[0u8; 4096]), 0x6482_d367_eb22_b64e);
        assert_eq!(crc64_nvme(&[0xffu8; 4096]), 0xc0dd_ba73_02ec_a3ac);
        assert_eq!(crc64_nvme(&pattern(|i| i as u8)), 0x3e72_9f5f_6750_449c);
        assert_eq!(
            crc64_nvme(&pattern(|i| (4095 - i) as u8)),
            0x9a2d_f64b_8e9e_517e
        );
    }

    #[test]
    fn tables_agree_with_bitwise_definitions() {
        for data in [
            pattern(|i| (i * 7 + 3) as u8),
            pattern(|i| i as u8),
            pattern(|_| 0xff),
        ] {
            for len in [0, 1, 2, 17, 512, 4096] {
                assert_eq!(
                    crc16_t10dif(0, &data[..len]),
                    crc16_bitwise(&data[..len]),
                    "crc16 len {len}"
                );
                assert_eq!(
                    crc64_nvme(&data[..len]),
                    crc64_bitwise(&data[..len]),
                    "crc64 len {len}"
                );
            }
        }
    }

    #[test]
    fn crcs_continue_across_split_buffers() {
        let data = pattern(|i| (i >> 3) as u8);
        let (a, b) = data.split_at(1000);
        assert_eq!(crc16_t10dif(crc16_t10dif(0, a), b), crc16_t10dif(0, &data));
        assert_eq!(crc32c_update(crc32c(a), b), crc32c(&data));
        assert_eq!(crc64_nvme_update(crc64_nvme(a), b), crc64_nvme(&data));
    }

    #[test]
    fn pi16_fields_are_big_endian_on_the_media() {
        let pi = Pi16::new(0x1234, 0x5678, 0x9abc_def0);
        assert_eq!(
            pi.as_bytes(),
            &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]
        );
        assert_eq!(pi.reftag(), 0x9abc_def0);
        let g = Pi16::generate(CHECK, 0, 0);
        assert_eq!(g.guard(), 0xd0db);
        let mut p = Pi16::default();
        p.set_apptag(0xbeef);
        assert_eq!(p.apptag, [0xbe, 0xef]);
    }

    #[test]
    fn pi64_splits_storage_and_reference_space() {
        let pi = Pi64::new(0x0102_0304_0506_0708, 0xaabb, 0x1122_3344_5566);
        assert_eq!(&pi.as_bytes()[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            &pi.as_bytes()[8..],
            &[0xaa, 0xbb, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]
        );
        assert_eq!(pi.srtag(), 0x1122_3344_5566);
        assert_eq!(pi.reftag(0), 0x1122_3344_5566);
        assert_eq!(pi.reftag(16), 0x3344_5566);
        assert_eq!(pi.storage_tag(16), 0x1122);
        assert_eq!(pi.storage_tag(0), 0);
        assert_eq!(
            Pi64::generate(&[0u8; 4096], 0, 0).guard(),
            0x6482_d367_eb22_b64e
        );
    }

    #[test]
    fn pi32_srtag_is_80_bits() {
        let mut pi = Pi32::default();
        pi.set_srtag(0xffff_0102_0304_0506_0708_090a);
        assert_eq!(pi.srtag, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(pi.srtag(), 0x0102_0304_0506_0708_090a);
    }

    #[test]
    fn unknown_pi_values_round_trip() {
        assert_eq!(PiType(5).name(), None);
        assert_eq!(u8::from(PiFormat(3)), 3);
        assert_eq!(PiFormat::GUARD16.tuple_nbytes(), 8);
        assert_eq!(PiFormat::GUARD64.tuple_nbytes(), 16);
    }
}
