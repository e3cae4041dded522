//! The 64-byte submission queue entry and typed views of it.
//!
//! [`Command`] is the raw entry (NVMe 2.0 base, figure 88). The typed views
//! in this module ([`NvmRw`], ...) and in the command-set modules
//! ([`crate::zoned`], [`crate::kv`], [`crate::fdp`], [`crate::identify`],
//! [`crate::log`], [`crate::feature`]) each know where their fields live in
//! the command dwords: build one, call `to_command()`, or decode a received
//! command with `from_command()`.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A submission queue entry: 16 dwords, 64 bytes.
///
/// The data pointer (`dptr`) and metadata pointer (`mptr`) are filled in by
/// the backend that carries the command (a kernel ioctl, the userspace
/// driver); users set the opcode, the nsid and the command dwords.
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
pub struct Command {
    /// Opcode (CDW0 bits 7:0).
    pub opc: u8,
    /// Fused operation (bits 1:0) and PRP or SGL data transfer (bits 7:6).
    pub flags: u8,
    /// Command identifier (CDW0 bits 31:16).
    pub cid: u16,
    /// Namespace identifier.
    pub nsid: u32,
    /// Command dword 2 (command specific).
    pub cdw2: u32,
    /// Command dword 3 (command specific).
    pub cdw3: u32,
    /// Metadata pointer.
    pub mptr: u64,
    /// Data pointer: PRP entry 1, or the first half of an SGL descriptor.
    pub prp1: u64,
    /// Data pointer: PRP entry 2, or the second half of an SGL descriptor.
    pub prp2: u64,
    /// Command dword 10.
    pub cdw10: u32,
    /// Command dword 11.
    pub cdw11: u32,
    /// Command dword 12.
    pub cdw12: u32,
    /// Command dword 13.
    pub cdw13: u32,
    /// Command dword 14.
    pub cdw14: u32,
    /// Command dword 15.
    pub cdw15: u32,
}

const _: () = assert!(core::mem::size_of::<Command>() == 64);

/// PSDT values (CDW0 bits 15:14): how the data pointer is to be read.
pub mod psdt {
    /// PRPs are used for this transfer.
    pub const PRP: u8 = 0b00;
    /// SGLs are used; the metadata pointer is a contiguous buffer address.
    pub const SGL_MPTR_CONTIG: u8 = 0b01;
    /// SGLs are used; the metadata pointer addresses an SGL segment.
    pub const SGL_MPTR_SGL: u8 = 0b10;
}

impl Command {
    /// A command with only an opcode and an nsid set.
    pub const fn new(opc: u8, nsid: u32) -> Self {
        Self {
            opc,
            flags: 0,
            cid: 0,
            nsid,
            cdw2: 0,
            cdw3: 0,
            mptr: 0,
            prp1: 0,
            prp2: 0,
            cdw10: 0,
            cdw11: 0,
            cdw12: 0,
            cdw13: 0,
            cdw14: 0,
            cdw15: 0,
        }
    }

    /// Command dword 0 as one value (opcode, flags, command identifier).
    pub const fn cdw0(&self) -> u32 {
        self.opc as u32 | (self.flags as u32) << 8 | (self.cid as u32) << 16
    }

    /// The PRP-or-SGL selector (PSDT, CDW0 bits 15:14).
    pub const fn psdt(&self) -> u8 {
        self.flags >> 6
    }

    /// Sets the PRP-or-SGL selector (PSDT).
    pub fn set_psdt(&mut self, psdt: u8) {
        self.flags = (self.flags & 0x3f) | ((psdt & 0x3) << 6);
    }

    /// The fused-operation field (CDW0 bits 9:8).
    pub const fn fuse(&self) -> u8 {
        self.flags & 0x3
    }

    /// Command dwords 10 to 15 as an array, in order.
    pub const fn cdw10_15(&self) -> [u32; 6] {
        [
            self.cdw10, self.cdw11, self.cdw12, self.cdw13, self.cdw14, self.cdw15,
        ]
    }

    /// Reads the 64-bit value held in CDW10 (low) and CDW11 (high), the
    /// place most commands keep their starting LBA.
    pub const fn cdw10_11(&self) -> u64 {
        self.cdw10 as u64 | (self.cdw11 as u64) << 32
    }

    /// Writes a 64-bit value into CDW10 (low) and CDW11 (high).
    pub fn set_cdw10_11(&mut self, v: u64) {
        self.cdw10 = v as u32;
        self.cdw11 = (v >> 32) as u32;
    }
}

/// Control flags of NVM I/O commands (CDW12 bits 31:16).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct IoFlags(pub u16);

impl IoFlags {
    /// Protection information check: reference tag (PRCHK bit 0).
    pub const PRCHK_REFTAG: Self = Self(1 << 10);
    /// Protection information check: application tag (PRCHK bit 1).
    pub const PRCHK_APPTAG: Self = Self(1 << 11);
    /// Protection information check: guard (PRCHK bit 2).
    pub const PRCHK_GUARD: Self = Self(1 << 12);
    /// Protection information action (PRACT).
    pub const PRACT: Self = Self(1 << 13);
    /// Force unit access.
    pub const FUA: Self = Self(1 << 14);
    /// Limited retry.
    pub const LR: Self = Self(1 << 15);
    /// No flags.
    pub const NONE: Self = Self(0);

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The PRINFO field (PRACT and PRCHK, bits 13:10) as a 4-bit value.
    pub const fn prinfo(self) -> u8 {
        ((self.0 >> 10) & 0xf) as u8
    }
}

impl core::ops::BitOr for IoFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Directive types, as carried in the DTYPE field of writes and in
/// Directive Send/Receive.
pub mod dtype {
    /// Identify directive.
    pub const IDENTIFY: u8 = 0x0;
    /// Streams directive.
    pub const STREAMS: u8 = 0x1;
    /// Data placement directive (Flexible Data Placement).
    pub const DATA_PLACEMENT: u8 = 0x2;
}

/// Typed view of the NVM commands that address an LBA range with data:
/// Read, Write, Compare, Write Zeroes, Write Uncorrectable, Verify (and Zone
/// Append, which has the same layout with the zone start in `slba`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct NvmRw {
    /// Opcode.
    pub opc: u8,
    /// Namespace identifier.
    pub nsid: u32,
    /// Starting LBA (CDW10-11).
    pub slba: u64,
    /// Number of logical blocks, zero-based (CDW12 bits 15:0): 0 means one block.
    pub nlb: u16,
    /// Control flags: FUA, LR, PRACT, PRCHK (CDW12 bits 31:16).
    pub flags: IoFlags,
    /// Directive type (CDW12 bits 23:20), for writes.
    pub dtype: u8,
    /// Directive specific (CDW13 bits 31:16): a stream id or a placement handle.
    pub dspec: u16,
    /// Initial logical block reference tag, low 32 bits (CDW14).
    pub reftag: u32,
    /// Logical block application tag (CDW15 bits 15:0).
    pub apptag: u16,
    /// Logical block application tag mask (CDW15 bits 31:16).
    pub appmask: u16,
}

impl NvmRw {
    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(self.opc, self.nsid);
        cmd.set_cdw10_11(self.slba);
        // DTYPE sits in CDW12 bits 23:20, inside the flags half-word, so it
        // is merged rather than overwritten.
        cmd.cdw12 =
            self.nlb as u32 | (self.flags.0 as u32) << 16 | ((self.dtype as u32 & 0xf) << 20);
        cmd.cdw13 = (self.dspec as u32) << 16;
        cmd.cdw14 = self.reftag;
        cmd.cdw15 = self.apptag as u32 | (self.appmask as u32) << 16;
        cmd
    }

    /// Decodes a submission entry as an LBA-range I/O command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            opc: cmd.opc,
            nsid: cmd.nsid,
            slba: cmd.cdw10_11(),
            nlb: cmd.cdw12 as u16,
            flags: IoFlags(((cmd.cdw12 >> 16) as u16) & 0xfc00),
            dtype: ((cmd.cdw12 >> 20) & 0xf) as u8,
            dspec: (cmd.cdw13 >> 16) as u16,
            reftag: cmd.cdw14,
            apptag: cmd.cdw15 as u16,
            appmask: (cmd.cdw15 >> 16) as u16,
        }
    }

    /// Number of logical blocks as a count (`nlb + 1`).
    pub const fn nblocks(&self) -> u32 {
        self.nlb as u32 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn command_field_offsets_match_base_spec_figure_88() {
        assert_eq!(offset_of!(Command, opc), 0);
        assert_eq!(offset_of!(Command, cid), 2);
        assert_eq!(offset_of!(Command, nsid), 4);
        assert_eq!(offset_of!(Command, cdw2), 8);
        assert_eq!(offset_of!(Command, mptr), 16);
        assert_eq!(offset_of!(Command, prp1), 24);
        assert_eq!(offset_of!(Command, prp2), 32);
        assert_eq!(offset_of!(Command, cdw10), 40);
        assert_eq!(offset_of!(Command, cdw15), 60);
    }

    #[test]
    fn command_bytes_round_trip() {
        let mut cmd = Command::new(0x02, 7);
        cmd.cid = 0xbeef;
        cmd.set_cdw10_11(0x1122_3344_5566_7788);
        let bytes = cmd.as_bytes();
        assert_eq!(bytes[0], 0x02);
        assert_eq!(&bytes[2..4], &[0xef, 0xbe]);
        assert_eq!(&bytes[40..48], &0x1122_3344_5566_7788u64.to_le_bytes());
        let back = Command::read_from_bytes(bytes).unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn nvm_rw_view_round_trips_every_field() {
        let rw = NvmRw {
            opc: 0x01,
            nsid: 1,
            slba: 0x00de_adbe_ef00,
            nlb: 7,
            flags: IoFlags::FUA | IoFlags::PRCHK_GUARD,
            dtype: dtype::DATA_PLACEMENT,
            dspec: 3,
            reftag: 0x1234,
            apptag: 0xabcd,
            appmask: 0xffff,
        };
        let cmd = rw.to_command();
        assert_eq!(cmd.cdw12 & 0xffff, 7);
        assert_eq!(cmd.cdw12 >> 30 & 1, 1, "FUA is CDW12 bit 30");
        assert_eq!(cmd.cdw12 >> 20 & 0xf, 2, "DTYPE is CDW12 bits 23:20");
        assert_eq!(NvmRw::from_command(&cmd), rw);
        assert_eq!(rw.nblocks(), 8);
    }

    #[test]
    fn psdt_sits_in_cdw0_bits_15_14() {
        let mut cmd = Command::new(1, 1);
        cmd.set_psdt(psdt::SGL_MPTR_CONTIG);
        assert_eq!(cmd.cdw0() >> 14 & 0x3, 1);
        assert_eq!(cmd.psdt(), 1);
    }
}
