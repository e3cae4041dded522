//! Copy (also called Simple Copy): source range descriptors and the command
//! view (NVM command set 1.0, "Copy command").
//!
//! The data buffer holds `nr + 1` source range entries of the format the
//! command names in DESFMT: format 0h for 16b guard protection information
//! (32 bytes each), format 1h for 32b and 64b guard (40 bytes each). The
//! controller copies them, in order, to consecutive blocks from `sdlba`.
//!
//! Byte order of the expected tags: the 16-bit and 32-bit tags are read as
//! little-endian like the rest of the command set (as Linux and QEMU do);
//! the 80-bit storage-and-reference field of format 1h is big-endian, as in
//! the protection information it is compared with. Implementations have
//! disagreed on this, so the fields are public for callers that need the
//! other order.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::opcode::NvmOpcode;

/// Copy descriptor format 0h: 16b guard protection information.
pub const DESFMT_0: u8 = 0x0;
/// Copy descriptor format 1h: 32b or 64b guard protection information.
pub const DESFMT_1: u8 = 0x1;

/// Source range entry, descriptor format 0h (NVM command set 1.0, figure
/// "Copy – Source Range Entries Descriptor Format 0h"): 32 bytes.
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
pub struct CopySourceRangeFormat0 {
    #[serde(skip)]
    /// Reserved.
    pub rsvd0: [u8; 8],
    /// Starting LBA of the source range.
    pub slba: u64,
    /// Number of logical blocks, zero-based.
    pub nlb: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd18: [u8; 6],
    /// Expected initial logical block reference tag (EILBRT), or storage and reference tag.
    pub eilbrt: u32,
    /// Expected logical block application tag (ELBAT).
    pub elbat: u16,
    /// Expected logical block application tag mask (ELBATM).
    pub elbatm: u16,
}

const _: () = assert!(core::mem::size_of::<CopySourceRangeFormat0>() == 32);

impl CopySourceRangeFormat0 {
    /// A range of `nlb + 1` blocks from `slba` (`nlb` zero-based), with no tags.
    pub const fn new(slba: u64, nlb: u16) -> Self {
        Self {
            rsvd0: [0; 8],
            slba,
            nlb,
            rsvd18: [0; 6],
            eilbrt: 0,
            elbat: 0,
            elbatm: 0,
        }
    }

    /// Number of logical blocks as a count.
    pub const fn nblocks(&self) -> u32 {
        self.nlb as u32 + 1
    }
}

/// Source range entry, descriptor format 1h (NVM command set 1.0, figure
/// "Copy – Source Range Entries Descriptor Format 1h"): 40 bytes.
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
pub struct CopySourceRangeFormat1 {
    #[serde(skip)]
    /// Reserved.
    pub rsvd0: [u8; 8],
    /// Starting LBA of the source range.
    pub slba: u64,
    /// Number of logical blocks, zero-based.
    pub nlb: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd18: [u8; 8],
    /// Expected logical block storage tag and initial reference tag
    /// (ELBST_EILBRT): 80 bits, big-endian.
    pub elbt: [u8; 10],
    /// Expected logical block application tag (ELBAT).
    pub elbat: u16,
    /// Expected logical block application tag mask (ELBATM).
    pub elbatm: u16,
}

const _: () = assert!(core::mem::size_of::<CopySourceRangeFormat1>() == 40);

impl CopySourceRangeFormat1 {
    /// A range of `nlb + 1` blocks from `slba` (`nlb` zero-based), with no tags.
    pub const fn new(slba: u64, nlb: u16) -> Self {
        Self {
            rsvd0: [0; 8],
            slba,
            nlb,
            rsvd18: [0; 8],
            elbt: [0; 10],
            elbat: 0,
            elbatm: 0,
        }
    }

    /// Number of logical blocks as a count.
    pub const fn nblocks(&self) -> u32 {
        self.nlb as u32 + 1
    }

    /// The 80-bit expected storage and reference tag.
    pub const fn elbt(&self) -> u128 {
        let mut v = 0u128;
        let mut i = 0;
        while i < 10 {
            v = v << 8 | self.elbt[i] as u128;
            i += 1;
        }
        v
    }

    /// Sets the 80-bit expected storage and reference tag (upper bits of `v` are dropped).
    pub fn set_elbt(&mut self, v: u128) {
        self.elbt.copy_from_slice(&v.to_be_bytes()[6..]);
    }
}

/// Typed view of the Copy command. (Named for the "Simple Copy" feature, so
/// that it does not shadow the `Copy` trait in users' glob imports.)
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct SimpleCopy {
    /// Namespace identifier.
    pub nsid: u32,
    /// Starting destination LBA (SDLBA, CDW10-11).
    pub sdlba: u64,
    /// Number of source ranges, zero-based (NR, CDW12 bits 7:0).
    pub nr: u8,
    /// Descriptor format (DESFMT, CDW12 bits 11:8), see [`DESFMT_0`] and [`DESFMT_1`].
    pub desfmt: u8,
    /// Protection information field for the reads (PRINFOR, CDW12 bits 15:12).
    pub prinfor: u8,
    /// Directive type for the writes (DTYPE, CDW12 bits 23:20).
    pub dtype: u8,
    /// Storage tag check write (STCW, CDW12 bit 24).
    pub stcw: bool,
    /// Protection information field for the writes (PRINFOW, CDW12 bits 29:26).
    pub prinfow: u8,
    /// Force unit access (FUA, CDW12 bit 30).
    pub fua: bool,
    /// Limited retry (LR, CDW12 bit 31).
    pub lr: bool,
    /// Directive specific (DSPEC, CDW13 bits 31:16), e.g. a placement handle.
    pub dspec: u16,
    /// Initial logical block reference tag of the destination (CDW14).
    pub reftag: u32,
    /// Logical block application tag (LBAT, CDW15 bits 15:0).
    pub apptag: u16,
    /// Logical block application tag mask (LBATM, CDW15 bits 31:16).
    pub appmask: u16,
}

impl SimpleCopy {
    /// A copy of `nranges` (1 to 256) source ranges of format `desfmt` to `sdlba`.
    pub const fn new(nsid: u32, sdlba: u64, nranges: usize, desfmt: u8) -> Self {
        let nr = if nranges == 0 {
            0
        } else if nranges > 256 {
            255
        } else {
            (nranges - 1) as u8
        };
        Self {
            nsid,
            sdlba,
            nr,
            desfmt,
            prinfor: 0,
            dtype: 0,
            stcw: false,
            prinfow: 0,
            fua: false,
            lr: false,
            dspec: 0,
            reftag: 0,
            apptag: 0,
            appmask: 0,
        }
    }

    /// Number of source ranges as a count.
    pub const fn nranges(&self) -> usize {
        self.nr as usize + 1
    }

    /// Size in bytes of one source range entry of this command's format
    /// (0 for a format this crate does not know).
    pub const fn entry_nbytes(&self) -> usize {
        match self.desfmt {
            DESFMT_0 => core::mem::size_of::<CopySourceRangeFormat0>(),
            DESFMT_1 => core::mem::size_of::<CopySourceRangeFormat1>(),
            _ => 0,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::COPY.0, self.nsid);
        cmd.set_cdw10_11(self.sdlba);
        cmd.cdw12 = self.nr as u32
            | ((self.desfmt & 0xf) as u32) << 8
            | ((self.prinfor & 0xf) as u32) << 12
            | ((self.dtype & 0xf) as u32) << 20
            | (self.stcw as u32) << 24
            | ((self.prinfow & 0xf) as u32) << 26
            | (self.fua as u32) << 30
            | (self.lr as u32) << 31;
        cmd.cdw13 = (self.dspec as u32) << 16;
        cmd.cdw14 = self.reftag;
        cmd.cdw15 = self.apptag as u32 | (self.appmask as u32) << 16;
        cmd
    }

    /// Decodes a submission entry as a Copy command.
    pub fn from_command(cmd: &Command) -> Self {
        let c12 = cmd.cdw12;
        Self {
            nsid: cmd.nsid,
            sdlba: cmd.cdw10_11(),
            nr: c12 as u8,
            desfmt: ((c12 >> 8) & 0xf) as u8,
            prinfor: ((c12 >> 12) & 0xf) as u8,
            dtype: ((c12 >> 20) & 0xf) as u8,
            stcw: c12 >> 24 & 1 == 1,
            prinfow: ((c12 >> 26) & 0xf) as u8,
            fua: c12 >> 30 & 1 == 1,
            lr: c12 >> 31 == 1,
            dspec: (cmd.cdw13 >> 16) as u16,
            reftag: cmd.cdw14,
            apptag: cmd.cdw15 as u16,
            appmask: (cmd.cdw15 >> 16) as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn format0_offsets_match_nvm_spec() {
        assert_eq!(offset_of!(CopySourceRangeFormat0, slba), 8);
        assert_eq!(offset_of!(CopySourceRangeFormat0, nlb), 16);
        assert_eq!(offset_of!(CopySourceRangeFormat0, eilbrt), 24);
        assert_eq!(offset_of!(CopySourceRangeFormat0, elbat), 28);
        assert_eq!(offset_of!(CopySourceRangeFormat0, elbatm), 30);
        assert_eq!(CopySourceRangeFormat0::new(0, 7).nblocks(), 8);
    }

    #[test]
    fn format1_offsets_match_nvm_spec() {
        assert_eq!(offset_of!(CopySourceRangeFormat1, slba), 8);
        assert_eq!(offset_of!(CopySourceRangeFormat1, nlb), 16);
        assert_eq!(offset_of!(CopySourceRangeFormat1, elbt), 26);
        assert_eq!(offset_of!(CopySourceRangeFormat1, elbat), 36);
        assert_eq!(offset_of!(CopySourceRangeFormat1, elbatm), 38);
    }

    #[test]
    fn format1_elbt_is_big_endian_80_bits() {
        let mut r = CopySourceRangeFormat1::new(0x10, 0);
        r.set_elbt(0x1234_5678_9abc);
        assert_eq!(
            &r.as_bytes()[26..36],
            &[0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]
        );
        assert_eq!(r.elbt(), 0x1234_5678_9abc);
    }

    #[test]
    fn copy_view_round_trips_every_field() {
        let c = SimpleCopy {
            nsid: 1,
            sdlba: 0x1_0000_0000,
            nr: 3,
            desfmt: DESFMT_1,
            prinfor: 0x9,
            dtype: 2,
            stcw: true,
            prinfow: 0x6,
            fua: true,
            lr: true,
            dspec: 7,
            reftag: 0x55,
            apptag: 0x1234,
            appmask: 0xffff,
        };
        let cmd = c.to_command();
        assert_eq!(cmd.opc, 0x19);
        assert_eq!((cmd.cdw10, cmd.cdw11), (0, 1));
        assert_eq!(cmd.cdw12 & 0xff, 3);
        assert_eq!(cmd.cdw12 >> 8 & 0xf, 1, "DESFMT is CDW12 bits 11:8");
        assert_eq!(cmd.cdw12 >> 12 & 0xf, 0x9, "PRINFOR is CDW12 bits 15:12");
        assert_eq!(cmd.cdw12 >> 26 & 0xf, 0x6, "PRINFOW is CDW12 bits 29:26");
        assert_eq!(cmd.cdw13, 7 << 16);
        assert_eq!(SimpleCopy::from_command(&cmd), c);
        assert_eq!(c.entry_nbytes(), 40);
        assert_eq!(SimpleCopy::new(1, 0, 2, DESFMT_0).nranges(), 2);
    }
}
