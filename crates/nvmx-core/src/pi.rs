//! End-to-end data protection: generating and verifying protection
//! information (PI) on the host, and reads and writes that ask the
//! controller to insert, strip and check it.
//!
//! A namespace formatted with protection information keeps, in the
//! metadata of every logical block, a tuple of
//!
//! - a **guard**: a CRC of the block's data (and of any metadata bytes that
//!   precede the tuple): CRC-16 T10-DIF in the 8-byte 16b guard format,
//!   CRC-64 NVMe in the 16-byte 64b guard format;
//! - an **application tag**, opaque to the controller, checked under a
//!   mask;
//! - a **reference tag**, tying the block to its address. The PI type says
//!   how: type 1 holds the low bits of the LBA; type 2 holds the command's
//!   initial logical block reference tag (ILBRT), incremented block by
//!   block; type 3 does not define it and it is never checked.
//!
//! The tuple sits in the first bytes of the metadata when the namespace
//! was formatted with PIL (DPS bit 3), in the last bytes otherwise. An
//! application tag of FFFFh disables every check of that block (type 1 and
//! 2); type 3 needs the reference tag all ones as well.
//!
//! [`PiLayout`] describes where the tuples are, from a [`Geometry`];
//! [`generate`] and [`verify`] work on a whole transfer, with metadata in a
//! separate buffer or interleaved with the data (extended LBA).
//! The facade's `Device::write_pi` and `Device::read_pi` send the PRACT
//! and PRCHK bits and the tags ([`PiIo`]) with the command.

use nvmx_spec::cmd::IoFlags;
use nvmx_spec::pi::{Pi16, Pi64, PiFormat, PiType, crc16_t10dif, crc64_nvme_update};
use zerocopy::{FromBytes, IntoBytes};

use crate::error::{Error, Result};
use crate::geo::Geometry;
pub use crate::pi_mismatch::{PiField, PiMismatch};

/// Where the protection information of each block sits and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiLayout {
    /// PI type: 1, 2 or 3.
    pub pi_type: PiType,
    /// PI format: 16b or 64b guard (32b guard is not handled).
    pub format: PiFormat,
    /// The tuple is in the first bytes of the metadata (DPS PIP / pi_loc);
    /// in the last bytes otherwise.
    pub first: bool,
    /// Data bytes per block.
    pub ds: usize,
    /// Metadata bytes per block.
    pub ms: usize,
    /// Metadata interleaved with the data (extended LBA).
    pub extended: bool,
}

impl PiLayout {
    /// The layout of a namespace's geometry; an error when the namespace
    /// is not formatted with protection information, or with a format
    /// nvmx does not handle (32b guard, metadata too short for the tuple).
    pub fn from_geometry(g: &Geometry) -> Result<PiLayout> {
        let l = PiLayout {
            pi_type: g.pi_type,
            format: g.pi_format,
            first: g.pi_loc != 0,
            ds: g.nbytes as usize,
            ms: g.nbytes_oob as usize,
            extended: g.lba_extended,
        };
        l.check()?;
        Ok(l)
    }

    /// Checks that the layout is one nvmx can generate and verify.
    pub fn check(&self) -> Result<()> {
        if !matches!(self.pi_type, PiType::TYPE1 | PiType::TYPE2 | PiType::TYPE3) {
            return Err(Error::unsupported(
                "namespace",
                format!(
                    "protection information: PI type {} is not 1, 2 or 3; the namespace is not formatted with protection information",
                    self.pi_type.0
                ),
            ));
        }
        if !matches!(self.format, PiFormat::GUARD16 | PiFormat::GUARD64) {
            return Err(Error::unsupported(
                "nvmx",
                format!(
                    "PI format {}; it handles 16b guard (0) and 64b guard (2)",
                    self.format.0
                ),
            ));
        }
        if self.ms < self.tuple_nbytes() {
            return Err(Error::invalid(
                "protection information",
                format!(
                    "{} metadata bytes per block cannot hold a {}-byte PI tuple",
                    self.ms,
                    self.tuple_nbytes()
                ),
            ));
        }
        Ok(())
    }

    /// Bytes of one PI tuple: 8 (16b guard) or 16 (64b guard).
    pub const fn tuple_nbytes(&self) -> usize {
        self.format.tuple_nbytes()
    }

    /// Offset of the tuple inside a block's metadata.
    pub const fn tuple_offset(&self) -> usize {
        if self.first {
            0
        } else {
            self.ms.saturating_sub(self.tuple_nbytes())
        }
    }

    /// Bits of the reference tag: 32 (16b guard) or 48 (64b guard, no
    /// storage tag).
    pub const fn reftag_bits(&self) -> u32 {
        match self.format {
            PiFormat::GUARD16 => 32,
            _ => 48,
        }
    }

    /// The all-ones reference tag of this format.
    pub const fn reftag_mask(&self) -> u64 {
        u64::MAX >> (64 - self.reftag_bits())
    }

    /// Whether the metadata is nothing but the tuple, the case where PRACT
    /// makes the controller insert and strip it so no metadata crosses the
    /// bus.
    pub const fn ms_is_tuple(&self) -> bool {
        self.ms == self.tuple_nbytes()
    }

    /// The reference tag expected in block `i` of a command at `slba`
    /// whose initial reference tag is `ilbrt`.
    pub const fn expected_reftag(&self, slba: u64, ilbrt: u64, i: u64) -> u64 {
        match self.pi_type {
            PiType::TYPE1 => slba.wrapping_add(i) & self.reftag_mask(),
            PiType::TYPE2 => ilbrt.wrapping_add(i) & self.reftag_mask(),
            _ => ilbrt & self.reftag_mask(),
        }
    }

    /// Decodes the tuple at the start of `t`; `None` when `t` is shorter
    /// than a tuple.
    pub fn decode(&self, t: &[u8]) -> Option<PiTuple> {
        let t = t.get(..self.tuple_nbytes())?;
        Some(match self.format {
            PiFormat::GUARD16 => {
                let pi = Pi16::read_from_bytes(t).ok()?;
                PiTuple {
                    guard: u64::from(pi.guard()),
                    apptag: pi.apptag(),
                    reftag: u64::from(pi.reftag()),
                }
            }
            _ => {
                let pi = Pi64::read_from_bytes(t).ok()?;
                PiTuple {
                    guard: pi.guard(),
                    apptag: pi.apptag(),
                    reftag: pi.reftag(0),
                }
            }
        })
    }

    /// Encodes a tuple into the first [`Self::tuple_nbytes`] bytes of `t`;
    /// an error when `t` is shorter.
    pub fn encode(&self, pi: PiTuple, t: &mut [u8]) -> Result<()> {
        let len = t.len();
        let Some(t) = t.get_mut(..self.tuple_nbytes()) else {
            return Err(Error::short_buffer(
                "PI tuple",
                len as u64,
                self.tuple_nbytes() as u64,
            ));
        };
        match self.format {
            PiFormat::GUARD16 => {
                let tuple = Pi16::new(pi.guard as u16, pi.apptag, pi.reftag as u32);
                t.copy_from_slice(tuple.as_bytes());
            }
            _ => t.copy_from_slice(Pi64::new(pi.guard, pi.apptag, pi.reftag).as_bytes()),
        }
        Ok(())
    }

    /// Bytes per block in the data buffer.
    fn data_stride(&self) -> usize {
        if self.extended {
            self.ds + self.ms
        } else {
            self.ds
        }
    }

    /// Checks the layout and the buffers of a transfer of `n` blocks.
    fn check_buffers(&self, n: usize, data_len: usize, meta_len: Option<usize>) -> Result<()> {
        self.check()?;
        let too_many = || {
            let stride = self.data_stride().max(self.ms).max(1);
            Error::too_large(
                "block count",
                n as u64,
                (usize::MAX / stride) as u64,
                "blocks whose bytes fit in memory",
            )
        };
        let need = n.checked_mul(self.data_stride()).ok_or_else(too_many)?;
        n.checked_mul(self.ms).ok_or_else(too_many)?;
        if data_len < need {
            return Err(Error::short_buffer("data", data_len as u64, need as u64));
        }
        if !self.extended {
            let mneed = n * self.ms;
            match meta_len {
                Some(m) if m >= mneed => {}
                Some(m) => {
                    return Err(Error::short_buffer("metadata", m as u64, mneed as u64));
                }
                // The format keeps metadata apart from the data: a missing
                // buffer is a buffer of 0 bytes.
                None => return Err(Error::short_buffer("metadata", 0, mneed as u64)),
            }
        }
        Ok(())
    }
}

/// One protection information tuple, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PiTuple {
    /// Guard (16 or 64 bits).
    pub guard: u64,
    /// Application tag.
    pub apptag: u16,
    /// Reference tag (32 or 48 bits).
    pub reftag: u64,
}

/// The tags of a command: what [`generate`] writes and [`verify`] expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PiTags {
    /// Initial logical block reference tag (ILBRT) for type 2 and 3; type
    /// 1 uses the LBA instead.
    pub ilbrt: u64,
    /// Logical block application tag (LBAT).
    pub apptag: u16,
    /// Application tag mask (LBATM): the bits of the tag that are checked.
    pub apptag_mask: u16,
}

/// Which fields a check looks at: the PRCHK bits of an I/O command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prchk(pub u8);

impl Prchk {
    /// Check the reference tag (PRCHK bit 0).
    pub const REFTAG: Prchk = Prchk(1);
    /// Check the application tag (PRCHK bit 1).
    pub const APPTAG: Prchk = Prchk(2);
    /// Check the guard (PRCHK bit 2).
    pub const GUARD: Prchk = Prchk(4);
    /// No checks.
    pub const NONE: Prchk = Prchk(0);
    /// Every check.
    pub const ALL: Prchk = Prchk(7);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Prchk) -> bool {
        self.0 & other.0 == other.0
    }

    /// The IoFlags bits (CDW12 bits 28:26).
    pub const fn flags(self) -> IoFlags {
        IoFlags(((self.0 & 0x7) as u16) << 10)
    }
}

impl core::ops::BitOr for Prchk {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Splits block `i` into (data and metadata before the tuple, the tuple).
fn block_parts<'a>(
    l: &PiLayout,
    i: usize,
    data: &'a [u8],
    meta: &'a [u8],
) -> (&'a [u8], &'a [u8], &'a [u8]) {
    if l.extended {
        let b = &data[i * (l.ds + l.ms)..(i + 1) * (l.ds + l.ms)];
        let (d, m) = b.split_at(l.ds);
        (d, &m[..l.tuple_offset()], &m[l.tuple_offset()..])
    } else {
        let d = &data[i * l.ds..(i + 1) * l.ds];
        let m = &meta[i * l.ms..(i + 1) * l.ms];
        (d, &m[..l.tuple_offset()], &m[l.tuple_offset()..])
    }
}

fn guard_of(l: &PiLayout, d: &[u8], pre: &[u8]) -> u64 {
    match l.format {
        PiFormat::GUARD16 => u64::from(crc16_t10dif(crc16_t10dif(0, d), pre)),
        _ => crc64_nvme_update(crc64_nvme_update(0, d), pre),
    }
}

/// Writes protection information into `n` blocks of a transfer starting at
/// `slba`: a guard over each block's data, `tags.apptag`, and the reference
/// tag the PI type asks for. Metadata goes into `meta` when the format
/// keeps it apart from the data, into `data` when it is extended.
pub fn generate(
    l: &PiLayout,
    slba: u64,
    n: usize,
    tags: &PiTags,
    data: &mut [u8],
    mut meta: Option<&mut [u8]>,
) -> Result<()> {
    l.check_buffers(n, data.len(), meta.as_ref().map(|m| m.len()))?;
    let off = l.tuple_offset();
    for i in 0..n {
        let tuple = {
            let (d, pre, _) = block_parts(l, i, data, meta.as_deref().unwrap_or(&[]));
            PiTuple {
                guard: guard_of(l, d, pre),
                apptag: tags.apptag,
                reftag: l.expected_reftag(slba, tags.ilbrt, i as u64),
            }
        };
        let t: &mut [u8] = if l.extended {
            let base = i * (l.ds + l.ms) + l.ds + off;
            &mut data[base..base + l.tuple_nbytes()]
        } else {
            let m = meta.as_deref_mut().unwrap_or(&mut []);
            let base = i * l.ms + off;
            &mut m[base..base + l.tuple_nbytes()]
        };
        l.encode(tuple, t)?;
    }
    Ok(())
}

/// Checks the protection information of `n` blocks of a transfer starting
/// at `slba`, looking at the fields `checks` names, as a controller does
/// with PRCHK. A mismatch is an [`Error::PiMismatch`] naming the block, the
/// field and expected versus found (see [`find_mismatch`] for the values);
/// blocks with the escape values are skipped.
pub fn verify(
    l: &PiLayout,
    slba: u64,
    n: usize,
    tags: &PiTags,
    checks: Prchk,
    data: &[u8],
    meta: Option<&[u8]>,
) -> Result<()> {
    match find_mismatch(l, slba, n, tags, checks, data, meta)? {
        Some(m) => Err(m.into()),
        None => Ok(()),
    }
}

/// [`verify`], returning the first mismatch as a value.
pub fn find_mismatch(
    l: &PiLayout,
    slba: u64,
    n: usize,
    tags: &PiTags,
    checks: Prchk,
    data: &[u8],
    meta: Option<&[u8]>,
) -> Result<Option<PiMismatch>> {
    l.check_buffers(n, data.len(), meta.map(<[u8]>::len))?;
    for i in 0..n {
        let (d, pre, t) = block_parts(l, i, data, meta.unwrap_or(&[]));
        let Some(pi) = l.decode(t) else {
            continue;
        };
        if let Err(m) = check_tuple(l, slba, i as u64, tags, checks, pi, || guard_of(l, d, pre)) {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Checks one decoded tuple: the rules [`verify`] applies to each block,
/// shared with the ramdisk controller. `guard` computes the block's guard,
/// only when the guard is checked.
pub fn check_tuple(
    l: &PiLayout,
    slba: u64,
    i: u64,
    tags: &PiTags,
    checks: Prchk,
    pi: PiTuple,
    guard: impl FnOnce() -> u64,
) -> std::result::Result<(), PiMismatch> {
    if escaped(l, &pi) {
        return Ok(());
    }
    let lba = slba.wrapping_add(i);
    let fail = |field, expected, found| PiMismatch {
        block: i,
        lba,
        field,
        expected,
        found,
    };
    if checks.contains(Prchk::GUARD) {
        let want = guard();
        if want != pi.guard {
            return Err(fail(PiField::Guard, want, pi.guard));
        }
    }
    if checks.contains(Prchk::APPTAG) {
        let (want, found) = (tags.apptag & tags.apptag_mask, pi.apptag & tags.apptag_mask);
        if want != found {
            return Err(fail(PiField::AppTag, u64::from(want), u64::from(found)));
        }
    }
    if checks.contains(Prchk::REFTAG) && l.pi_type != PiType::TYPE3 {
        let want = l.expected_reftag(slba, tags.ilbrt, i);
        if want != pi.reftag {
            return Err(fail(PiField::RefTag, want, pi.reftag));
        }
    }
    Ok(())
}

/// Whether a tuple carries the escape values that turn its checks off.
pub fn escaped(l: &PiLayout, pi: &PiTuple) -> bool {
    pi.apptag == 0xffff && (l.pi_type != PiType::TYPE3 || pi.reftag == l.reftag_mask())
}

/// The guard of one block computed from its parts, for callers that keep
/// data and metadata apart (the ramdisk).
pub fn guard_over(l: &PiLayout, data: &[u8], meta_before_tuple: &[u8]) -> u64 {
    guard_of(l, data, meta_before_tuple)
}

/// How a read or write handles protection information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiIo {
    /// PRACT: the controller inserts PI on write and strips it on read.
    /// When the metadata is exactly the PI tuple, no metadata crosses the
    /// bus then: the data buffer holds only data and no metadata buffer is
    /// passed.
    pub pract: bool,
    /// PRCHK: the fields the controller checks. On a type 3 namespace the
    /// reference tag bit is not sent: type 3 defines no reference tag, and
    /// controllers answer the bit with Invalid Protection Information.
    pub prchk: Prchk,
    /// The command's tags: ILBRT (CDW14, and CDW3 bits 15:0 for the upper
    /// bits of a 48-bit tag), LBAT and LBATM (CDW15). For type 1 the
    /// initial reference tag sent is the low bits of `slba`, whatever
    /// `tags.ilbrt` holds.
    pub tags: PiTags,
}

impl Default for PiIo {
    fn default() -> Self {
        PiIo {
            pract: false,
            prchk: Prchk::ALL,
            tags: PiTags {
                ilbrt: 0,
                apptag: 0,
                apptag_mask: 0xffff,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(t: u8, f: PiFormat, first: bool, ms: usize, extended: bool) -> PiLayout {
        PiLayout {
            pi_type: PiType(t),
            format: f,
            first,
            ds: 512,
            ms,
            extended,
        }
    }

    #[test]
    fn type1_16b_tuple_matches_hand_computed_values() {
        // 512 zero bytes: CRC-16 T10-DIF 0; apptag 0x1234; reftag = LBA 7.
        let l = layout(1, PiFormat::GUARD16, false, 8, false);
        let mut data = vec![0u8; 512];
        let mut meta = vec![0u8; 8];
        let tags = PiTags {
            ilbrt: 0,
            apptag: 0x1234,
            apptag_mask: 0xffff,
        };
        generate(&l, 7, 1, &tags, &mut data, Some(&mut meta)).unwrap();
        assert_eq!(meta, [0, 0, 0x12, 0x34, 0, 0, 0, 7]);
        // "123456789" then zeroes: the guard continues over the block.
        data[..9].copy_from_slice(b"123456789");
        generate(&l, 7, 1, &tags, &mut data, Some(&mut meta)).unwrap();
        let g = crc16_t10dif(crc16_t10dif(0, b"123456789"), &[0u8; 503]);
        assert_eq!(&meta[..2], &g.to_be_bytes());
        verify(&l, 7, 1, &tags, Prchk::ALL, &data, Some(&meta)).unwrap();
    }

    #[test]
    fn type2_64b_extended_pi_first_round_trips_and_names_the_bad_field() {
        let l = PiLayout {
            ds: 4096,
            ..layout(2, PiFormat::GUARD64, true, 64, true)
        };
        let n = 3;
        let mut data: Vec<u8> = (0..n * (4096 + 64)).map(|i| (i % 251) as u8).collect();
        let tags = PiTags {
            ilbrt: 0x1_0000_0005,
            apptag: 0xbeef,
            apptag_mask: 0xff00,
        };
        generate(&l, 100, n, &tags, &mut data, None).unwrap();
        // Block 1's tuple: first 16 bytes of its metadata.
        let t = &data[4096 + 64 + 4096..][..16];
        let pi = l.decode(t).unwrap();
        assert_eq!(pi.reftag, 0x1_0000_0006);
        assert_eq!(pi.apptag, 0xbeef);
        assert_eq!(pi.guard, crc64_nvme_update(0, &data[4160..4160 + 4096]));
        verify(&l, 100, n, &tags, Prchk::ALL, &data, None).unwrap();
        // The mask hides the low byte of the apptag.
        let loose = PiTags {
            apptag: 0xbe00,
            ..tags
        };
        verify(&l, 100, n, &loose, Prchk::ALL, &data, None).unwrap();
        let wrong = PiTags {
            apptag: 0xaa00,
            ..tags
        };
        let e = verify(&l, 100, n, &wrong, Prchk::ALL, &data, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::PiMismatch(PiMismatch {
                    block: 0,
                    field: PiField::AppTag,
                    ..
                })
            ),
            "{e}"
        );
        data[4160 * 2 + 10] ^= 1;
        let e = verify(&l, 100, n, &tags, Prchk::ALL, &data, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::PiMismatch(PiMismatch {
                    block: 2,
                    field: PiField::Guard,
                    ..
                })
            ),
            "{e}"
        );
        verify(&l, 100, n, &tags, Prchk::REFTAG, &data, None).unwrap();
    }

    #[test]
    fn pi_last_covers_metadata_before_the_tuple() {
        let l = layout(1, PiFormat::GUARD16, false, 16, false);
        let data = vec![0xa5u8; 512];
        let mut meta = vec![0u8; 16];
        meta[..8].copy_from_slice(b"userdata");
        let mut d = data.clone();
        generate(&l, 0, 1, &PiTags::default(), &mut d, Some(&mut meta)).unwrap();
        let g = crc16_t10dif(crc16_t10dif(0, &data), b"userdata");
        assert_eq!(&meta[8..10], &g.to_be_bytes());
        meta[0] ^= 0xff;
        let e = verify(&l, 0, 1, &PiTags::default(), Prchk::GUARD, &d, Some(&meta)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::PiMismatch(PiMismatch {
                    field: PiField::Guard,
                    ..
                })
            ),
            "{e}"
        );
    }

    #[test]
    fn escape_values_turn_checks_off() {
        let l1 = layout(1, PiFormat::GUARD16, false, 8, false);
        let data = vec![1u8; 512];
        let meta = [0, 0, 0xff, 0xff, 0, 0, 0, 0];
        verify(
            &l1,
            9,
            1,
            &PiTags::default(),
            Prchk::ALL,
            &data,
            Some(&meta),
        )
        .unwrap();
        let l3 = layout(3, PiFormat::GUARD16, false, 8, false);
        let e = verify(
            &l3,
            9,
            1,
            &PiTags::default(),
            Prchk::GUARD,
            &data,
            Some(&meta),
        );
        assert!(e.is_err(), "type 3 needs the reftag all ones too");
        let meta = [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        verify(
            &l3,
            9,
            1,
            &PiTags::default(),
            Prchk::ALL,
            &data,
            Some(&meta),
        )
        .unwrap();
    }

    #[test]
    fn type3_never_checks_the_reftag_and_type1_does() {
        let l = layout(3, PiFormat::GUARD16, false, 8, false);
        let mut data = vec![3u8; 1024];
        let mut meta = vec![0u8; 16];
        generate(&l, 0, 2, &PiTags::default(), &mut data, Some(&mut meta)).unwrap();
        meta[15] = 0x77;
        verify(&l, 0, 2, &PiTags::default(), Prchk::ALL, &data, Some(&meta)).unwrap();
        let l1 = layout(1, PiFormat::GUARD16, false, 8, false);
        let e = find_mismatch(
            &l1,
            0,
            2,
            &PiTags::default(),
            Prchk::REFTAG,
            &data,
            Some(&meta),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (e.block, e.field, e.expected, e.found),
            (1, PiField::RefTag, 1, 0x77)
        );
    }

    #[test]
    fn bad_layouts_and_buffers_are_errors_not_panics() {
        let l = layout(0, PiFormat::GUARD16, false, 8, false);
        assert!(matches!(l.check(), Err(Error::Unsupported { .. })));
        let l = layout(1, PiFormat::GUARD64, false, 8, false);
        assert!(matches!(l.check(), Err(Error::Invalid { why, .. }) if why.contains("16-byte")));
        let l = layout(1, PiFormat::GUARD16, false, 8, false);
        let mut d = vec![0u8; 512];
        let tags = PiTags::default();
        let e = generate(&l, 0, 2, &tags, &mut d, None);
        assert!(matches!(
            e,
            Err(Error::ShortBuffer {
                len: 512,
                need: 1024,
                ..
            })
        ));
        let e = generate(&l, 0, 1, &tags, &mut d, None);
        assert!(matches!(
            e,
            Err(Error::ShortBuffer {
                what: "metadata",
                len: 0,
                need: 8
            })
        ));
        let e = generate(&l, 0, usize::MAX, &tags, &mut d, None);
        assert!(matches!(
            e,
            Err(Error::TooLarge {
                what: "block count",
                ..
            })
        ));
        let e = l.encode(PiTuple::default(), &mut [0u8; 4]);
        assert!(matches!(
            e,
            Err(Error::ShortBuffer {
                len: 4,
                need: 8,
                ..
            })
        ));
        assert_eq!(Prchk::ALL.flags().prinfo(), 0x7);
        assert_eq!(
            (Prchk::GUARD | Prchk::REFTAG).flags(),
            IoFlags::PRCHK_GUARD | IoFlags::PRCHK_REFTAG
        );
    }
}
