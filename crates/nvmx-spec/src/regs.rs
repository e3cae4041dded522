//! Controller registers of the PCIe transport (NVMe 2.0 base, section 3.1).
//!
//! Each register is a newtype over its raw value with getters (and, for the
//! registers the host writes, setters). [`ControllerRegisters`] is the
//! layout of the register block from offset 0 up to the reserved area, so a
//! snapshot can be read straight out of a mapped BAR and serialized for
//! `show-regs`.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Register offsets from the start of BAR0 (NVMe 2.0 base, figure "Controller Registers").
pub mod offset {
    /// Controller Capabilities (64-bit).
    pub const CAP: usize = 0x00;
    /// Version.
    pub const VS: usize = 0x08;
    /// Interrupt Mask Set.
    pub const INTMS: usize = 0x0c;
    /// Interrupt Mask Clear.
    pub const INTMC: usize = 0x10;
    /// Controller Configuration.
    pub const CC: usize = 0x14;
    /// Controller Status.
    pub const CSTS: usize = 0x1c;
    /// NVM Subsystem Reset.
    pub const NSSR: usize = 0x20;
    /// Admin Queue Attributes.
    pub const AQA: usize = 0x24;
    /// Admin Submission Queue Base Address (64-bit).
    pub const ASQ: usize = 0x28;
    /// Admin Completion Queue Base Address (64-bit).
    pub const ACQ: usize = 0x30;
    /// Controller Memory Buffer Location.
    pub const CMBLOC: usize = 0x38;
    /// Controller Memory Buffer Size.
    pub const CMBSZ: usize = 0x3c;
    /// Boot Partition Information.
    pub const BPINFO: usize = 0x40;
    /// Boot Partition Read Select.
    pub const BPRSEL: usize = 0x44;
    /// Boot Partition Memory Buffer Location (64-bit).
    pub const BPMBL: usize = 0x48;
    /// Controller Memory Buffer Memory Space Control (64-bit).
    pub const CMBMSC: usize = 0x50;
    /// Controller Memory Buffer Status.
    pub const CMBSTS: usize = 0x58;
    /// Controller Memory Buffer Elasticity Buffer Size.
    pub const CMBEBS: usize = 0x5c;
    /// Controller Memory Buffer Sustained Write Throughput.
    pub const CMBSWTP: usize = 0x60;
    /// NVM Subsystem Shutdown.
    pub const NSSD: usize = 0x64;
    /// Controller Ready Timeouts.
    pub const CRTO: usize = 0x68;
    /// Persistent Memory Region Capabilities.
    pub const PMRCAP: usize = 0xe00;
    /// Persistent Memory Region Control.
    pub const PMRCTL: usize = 0xe04;
    /// Persistent Memory Region Status.
    pub const PMRSTS: usize = 0xe08;
    /// Persistent Memory Region Elasticity Buffer Size.
    pub const PMREBS: usize = 0xe0c;
    /// Persistent Memory Region Sustained Write Throughput.
    pub const PMRSWTP: usize = 0xe10;
    /// Persistent Memory Region Controller Memory Space Control Lower.
    pub const PMRMSCL: usize = 0xe14;
    /// Persistent Memory Region Controller Memory Space Control Upper.
    pub const PMRMSCU: usize = 0xe18;
    /// First doorbell: the admin submission queue tail doorbell.
    pub const DOORBELLS: usize = 0x1000;
}

/// Offset of the submission queue `qid` tail doorbell, for a doorbell
/// stride of `CAP.DSTRD`: `0x1000 + (2 * qid) * (4 << dstrd)`.
pub const fn sq_tail_doorbell(qid: u16, dstrd: u8) -> usize {
    offset::DOORBELLS + (2 * qid as usize) * (4usize << dstrd)
}

/// Offset of the completion queue `qid` head doorbell, for a doorbell
/// stride of `CAP.DSTRD`: `0x1000 + (2 * qid + 1) * (4 << dstrd)`.
pub const fn cq_head_doorbell(qid: u16, dstrd: u8) -> usize {
    offset::DOORBELLS + (2 * qid as usize + 1) * (4usize << dstrd)
}

const fn bits32(v: u32, lo: u32, width: u32) -> u32 {
    (v >> lo) & ((1 << width) - 1)
}

const fn bits64(v: u64, lo: u32, width: u32) -> u64 {
    (v >> lo) & ((1 << width) - 1)
}

const fn set32(v: u32, lo: u32, width: u32, field: u32) -> u32 {
    let mask = ((1 << width) - 1) << lo;
    (v & !mask) | ((field << lo) & mask)
}

/// Controller Capabilities, CAP (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cap(pub u64);

/// Command sets supported bits of [`Cap::css`].
pub mod cap_css {
    /// NVM command set.
    pub const NVM: u8 = 1 << 0;
    /// One or more I/O command sets (select them with CC.CSS = 110b).
    pub const IO_COMMAND_SETS: u8 = 1 << 6;
    /// No I/O command set: admin only.
    pub const NO_IO: u8 = 1 << 7;
}

impl Cap {
    /// Maximum queue entries supported (MQES), zero-based.
    pub const fn mqes(self) -> u16 {
        bits64(self.0, 0, 16) as u16
    }

    /// Maximum entries per I/O queue as a count (`MQES + 1`).
    pub const fn max_queue_entries(self) -> u32 {
        self.mqes() as u32 + 1
    }

    /// Contiguous queues required (CQR).
    pub const fn cqr(self) -> bool {
        bits64(self.0, 16, 1) == 1
    }

    /// Arbitration mechanism supported (AMS): bit 0 weighted round robin, bit 1 vendor.
    pub const fn ams(self) -> u8 {
        bits64(self.0, 17, 2) as u8
    }

    /// Timeout (TO), in 500 ms units: worst case time to wait for CSTS.RDY.
    pub const fn to(self) -> u8 {
        bits64(self.0, 24, 8) as u8
    }

    /// The CSTS.RDY timeout in milliseconds.
    pub const fn timeout_ms(self) -> u32 {
        self.to() as u32 * 500
    }

    /// Doorbell stride (DSTRD): doorbells are `4 << DSTRD` bytes apart.
    pub const fn dstrd(self) -> u8 {
        bits64(self.0, 32, 4) as u8
    }

    /// Doorbell stride in bytes.
    pub const fn doorbell_stride_bytes(self) -> usize {
        4 << self.dstrd()
    }

    /// NVM subsystem reset supported (NSSRS).
    pub const fn nssrs(self) -> bool {
        bits64(self.0, 36, 1) == 1
    }

    /// Command sets supported (CSS), see [`cap_css`].
    pub const fn css(self) -> u8 {
        bits64(self.0, 37, 8) as u8
    }

    /// Boot partition support (BPS).
    pub const fn bps(self) -> bool {
        bits64(self.0, 45, 1) == 1
    }

    /// Controller power scope (CPS).
    pub const fn cps(self) -> u8 {
        bits64(self.0, 46, 2) as u8
    }

    /// Memory page size minimum (MPSMIN): `2 ^ (12 + MPSMIN)` bytes.
    pub const fn mpsmin(self) -> u8 {
        bits64(self.0, 48, 4) as u8
    }

    /// Minimum memory page size in bytes.
    pub const fn mpsmin_nbytes(self) -> u64 {
        1 << (12 + self.mpsmin() as u32)
    }

    /// Memory page size maximum (MPSMAX): `2 ^ (12 + MPSMAX)` bytes.
    pub const fn mpsmax(self) -> u8 {
        bits64(self.0, 52, 4) as u8
    }

    /// Maximum memory page size in bytes.
    pub const fn mpsmax_nbytes(self) -> u64 {
        1 << (12 + self.mpsmax() as u32)
    }

    /// Persistent memory region supported (PMRS).
    pub const fn pmrs(self) -> bool {
        bits64(self.0, 56, 1) == 1
    }

    /// Controller memory buffer supported (CMBS).
    pub const fn cmbs(self) -> bool {
        bits64(self.0, 57, 1) == 1
    }

    /// NVM subsystem shutdown supported (NSSS).
    pub const fn nsss(self) -> bool {
        bits64(self.0, 58, 1) == 1
    }

    /// Controller ready modes supported (CRMS): bit 0 with media, bit 1 independent of media.
    pub const fn crms(self) -> u8 {
        bits64(self.0, 59, 2) as u8
    }
}

/// Version, VS (NVMe 2.0 base, controller properties); also the VER field of Identify Controller.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(transparent)]
#[serde(transparent)]
pub struct Version(pub u32);

impl Version {
    /// A version from its parts.
    pub const fn new(mjr: u16, mnr: u8, ter: u8) -> Self {
        Self((mjr as u32) << 16 | (mnr as u32) << 8 | ter as u32)
    }

    /// Major version (MJR).
    pub const fn mjr(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Minor version (MNR).
    pub const fn mnr(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Tertiary version (TER).
    pub const fn ter(self) -> u8 {
        self.0 as u8
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}.{}", self.mjr(), self.mnr(), self.ter())
    }
}

/// I/O command set selection values of [`Cc::css`].
pub mod cc_css {
    /// NVM command set.
    pub const NVM: u8 = 0b000;
    /// All supported I/O command sets.
    pub const ALL_IO: u8 = 0b110;
    /// Admin command set only.
    pub const ADMIN_ONLY: u8 = 0b111;
}

/// Shutdown notification values of [`Cc::shn`].
pub mod shn {
    /// No notification.
    pub const NONE: u8 = 0b00;
    /// Normal shutdown.
    pub const NORMAL: u8 = 0b01;
    /// Abrupt shutdown.
    pub const ABRUPT: u8 = 0b10;
}

/// Controller Configuration, CC (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cc(pub u32);

impl Cc {
    /// Enable (EN).
    pub const fn en(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Sets enable (EN).
    pub fn set_en(&mut self, v: bool) {
        self.0 = set32(self.0, 0, 1, v as u32);
    }

    /// I/O command set selected (CSS), see [`cc_css`].
    pub const fn css(self) -> u8 {
        bits32(self.0, 4, 3) as u8
    }

    /// Sets the I/O command set selected (CSS).
    pub fn set_css(&mut self, v: u8) {
        self.0 = set32(self.0, 4, 3, v as u32);
    }

    /// Memory page size (MPS): `2 ^ (12 + MPS)` bytes.
    pub const fn mps(self) -> u8 {
        bits32(self.0, 7, 4) as u8
    }

    /// Sets the memory page size (MPS).
    pub fn set_mps(&mut self, v: u8) {
        self.0 = set32(self.0, 7, 4, v as u32);
    }

    /// Arbitration mechanism selected (AMS).
    pub const fn ams(self) -> u8 {
        bits32(self.0, 11, 3) as u8
    }

    /// Sets the arbitration mechanism selected (AMS).
    pub fn set_ams(&mut self, v: u8) {
        self.0 = set32(self.0, 11, 3, v as u32);
    }

    /// Shutdown notification (SHN), see [`shn`].
    pub const fn shn(self) -> u8 {
        bits32(self.0, 14, 2) as u8
    }

    /// Sets the shutdown notification (SHN).
    pub fn set_shn(&mut self, v: u8) {
        self.0 = set32(self.0, 14, 2, v as u32);
    }

    /// I/O submission queue entry size (IOSQES), as log2 bytes.
    pub const fn iosqes(self) -> u8 {
        bits32(self.0, 16, 4) as u8
    }

    /// Sets the I/O submission queue entry size (IOSQES).
    pub fn set_iosqes(&mut self, v: u8) {
        self.0 = set32(self.0, 16, 4, v as u32);
    }

    /// I/O completion queue entry size (IOCQES), as log2 bytes.
    pub const fn iocqes(self) -> u8 {
        bits32(self.0, 20, 4) as u8
    }

    /// Sets the I/O completion queue entry size (IOCQES).
    pub fn set_iocqes(&mut self, v: u8) {
        self.0 = set32(self.0, 20, 4, v as u32);
    }

    /// Controller ready independent of media enable (CRIME).
    pub const fn crime(self) -> bool {
        bits32(self.0, 24, 1) == 1
    }

    /// Sets controller ready independent of media enable (CRIME).
    pub fn set_crime(&mut self, v: bool) {
        self.0 = set32(self.0, 24, 1, v as u32);
    }
}

/// Shutdown status values of [`Csts::shst`].
pub mod shst {
    /// Normal operation.
    pub const NORMAL: u8 = 0b00;
    /// Shutdown processing occurring.
    pub const OCCURRING: u8 = 0b01;
    /// Shutdown processing complete.
    pub const COMPLETE: u8 = 0b10;
}

/// Controller Status, CSTS (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Csts(pub u32);

impl Csts {
    /// Ready (RDY).
    pub const fn rdy(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Controller fatal status (CFS).
    pub const fn cfs(self) -> bool {
        bits32(self.0, 1, 1) == 1
    }

    /// Shutdown status (SHST), see [`shst`].
    pub const fn shst(self) -> u8 {
        bits32(self.0, 2, 2) as u8
    }

    /// NVM subsystem reset occurred (NSSRO).
    pub const fn nssro(self) -> bool {
        bits32(self.0, 4, 1) == 1
    }

    /// Processing paused (PP).
    pub const fn pp(self) -> bool {
        bits32(self.0, 5, 1) == 1
    }

    /// Shutdown type (ST): set when a subsystem shutdown is reported.
    pub const fn st(self) -> bool {
        bits32(self.0, 6, 1) == 1
    }
}

/// Admin Queue Attributes, AQA (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Aqa(pub u32);

impl Aqa {
    /// Attributes for admin queues of the given sizes, zero-based.
    pub const fn new(asqs: u16, acqs: u16) -> Self {
        Self((asqs as u32 & 0xfff) | (acqs as u32 & 0xfff) << 16)
    }

    /// Admin submission queue size (ASQS), zero-based.
    pub const fn asqs(self) -> u16 {
        bits32(self.0, 0, 12) as u16
    }

    /// Sets the admin submission queue size (ASQS), zero-based.
    pub fn set_asqs(&mut self, v: u16) {
        self.0 = set32(self.0, 0, 12, v as u32);
    }

    /// Admin completion queue size (ACQS), zero-based.
    pub const fn acqs(self) -> u16 {
        bits32(self.0, 16, 12) as u16
    }

    /// Sets the admin completion queue size (ACQS), zero-based.
    pub fn set_acqs(&mut self, v: u16) {
        self.0 = set32(self.0, 16, 12, v as u32);
    }
}

/// Admin Submission Queue Base Address, ASQ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Asq(pub u64);

impl Asq {
    /// The page-aligned base address (bits 63:12).
    pub const fn base(self) -> u64 {
        self.0 & !0xfff
    }
}

/// Admin Completion Queue Base Address, ACQ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Acq(pub u64);

impl Acq {
    /// The page-aligned base address (bits 63:12).
    pub const fn base(self) -> u64 {
        self.0 & !0xfff
    }
}

/// Controller Memory Buffer Location, CMBLOC (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cmbloc(pub u32);

impl Cmbloc {
    /// Base indicator register (BIR): which BAR holds the buffer.
    pub const fn bir(self) -> u8 {
        bits32(self.0, 0, 3) as u8
    }

    /// Offset (OFST), in units of [`Cmbsz::unit_nbytes`].
    pub const fn ofst(self) -> u32 {
        bits32(self.0, 12, 20)
    }
}

/// Controller Memory Buffer Size, CMBSZ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Cmbsz(pub u32);

impl Cmbsz {
    /// Submission queue support (SQS).
    pub const fn sqs(self) -> bool {
        bits32(self.0, 0, 1) == 1
    }

    /// Completion queue support (CQS).
    pub const fn cqs(self) -> bool {
        bits32(self.0, 1, 1) == 1
    }

    /// PRP/SGL list support (LISTS).
    pub const fn lists(self) -> bool {
        bits32(self.0, 2, 1) == 1
    }

    /// Read data support (RDS).
    pub const fn rds(self) -> bool {
        bits32(self.0, 3, 1) == 1
    }

    /// Write data support (WDS).
    pub const fn wds(self) -> bool {
        bits32(self.0, 4, 1) == 1
    }

    /// Size units (SZU): `4 KiB * 16 ^ SZU`.
    pub const fn szu(self) -> u8 {
        bits32(self.0, 8, 4) as u8
    }

    /// The size unit in bytes (0 for reserved SZU values).
    pub const fn unit_nbytes(self) -> u64 {
        match self.szu() {
            s @ 0..=6 => 4096 << (4 * s as u32),
            _ => 0,
        }
    }

    /// Size (SZ), in size units.
    pub const fn sz(self) -> u32 {
        bits32(self.0, 12, 20)
    }

    /// Size of the controller memory buffer in bytes.
    pub const fn nbytes(self) -> u64 {
        self.sz() as u64 * self.unit_nbytes()
    }
}

/// The controller register block from CAP (0x00) to CRTO (0x68), as laid
/// out in BAR0 (NVMe 2.0 base, figure "Controller Registers"): 112 bytes.
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
pub struct ControllerRegisters {
    /// Controller capabilities.
    pub cap: Cap,
    /// Version.
    pub vs: Version,
    /// Interrupt mask set.
    pub intms: u32,
    /// Interrupt mask clear.
    pub intmc: u32,
    /// Controller configuration.
    pub cc: Cc,
    #[serde(skip)]
    /// Reserved.
    pub rsvd18: u32,
    /// Controller status.
    pub csts: Csts,
    /// NVM subsystem reset.
    pub nssr: u32,
    /// Admin queue attributes.
    pub aqa: Aqa,
    /// Admin submission queue base address.
    pub asq: Asq,
    /// Admin completion queue base address.
    pub acq: Acq,
    /// Controller memory buffer location.
    pub cmbloc: Cmbloc,
    /// Controller memory buffer size.
    pub cmbsz: Cmbsz,
    /// Boot partition information.
    pub bpinfo: u32,
    /// Boot partition read select.
    pub bprsel: u32,
    /// Boot partition memory buffer location.
    pub bpmbl: u64,
    /// Controller memory buffer memory space control.
    pub cmbmsc: u64,
    /// Controller memory buffer status.
    pub cmbsts: u32,
    /// Controller memory buffer elasticity buffer size.
    pub cmbebs: u32,
    /// Controller memory buffer sustained write throughput.
    pub cmbswtp: u32,
    /// NVM subsystem shutdown.
    pub nssd: u32,
    /// Controller ready timeouts: bits 15:0 with media, 31:16 independent of media (500 ms units).
    pub crto: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd6c: u32,
}

const _: () = assert!(core::mem::size_of::<ControllerRegisters>() == 0x70);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn register_block_offsets_match_base_spec_register_map() {
        assert_eq!(offset_of!(ControllerRegisters, cap), offset::CAP);
        assert_eq!(offset_of!(ControllerRegisters, vs), offset::VS);
        assert_eq!(offset_of!(ControllerRegisters, intms), offset::INTMS);
        assert_eq!(offset_of!(ControllerRegisters, intmc), offset::INTMC);
        assert_eq!(offset_of!(ControllerRegisters, cc), offset::CC);
        assert_eq!(offset_of!(ControllerRegisters, csts), offset::CSTS);
        assert_eq!(offset_of!(ControllerRegisters, nssr), offset::NSSR);
        assert_eq!(offset_of!(ControllerRegisters, aqa), offset::AQA);
        assert_eq!(offset_of!(ControllerRegisters, asq), offset::ASQ);
        assert_eq!(offset_of!(ControllerRegisters, acq), offset::ACQ);
        assert_eq!(offset_of!(ControllerRegisters, cmbloc), offset::CMBLOC);
        assert_eq!(offset_of!(ControllerRegisters, cmbsz), offset::CMBSZ);
        assert_eq!(offset_of!(ControllerRegisters, bpinfo), offset::BPINFO);
        assert_eq!(offset_of!(ControllerRegisters, bpmbl), offset::BPMBL);
        assert_eq!(offset_of!(ControllerRegisters, cmbmsc), offset::CMBMSC);
        assert_eq!(offset_of!(ControllerRegisters, cmbsts), offset::CMBSTS);
        assert_eq!(offset_of!(ControllerRegisters, nssd), offset::NSSD);
        assert_eq!(offset_of!(ControllerRegisters, crto), offset::CRTO);
    }

    #[test]
    fn cap_fields_decode_from_a_qemu_like_value() {
        // MQES 2047, CQR, TO 15 (7.5 s), DSTRD 0, NSSRS, CSS NVM+IOCS, MPSMAX 4 (64 KiB), CMBS.
        let raw: u64 = 0x7ff | 1 << 16 | 15 << 24 | 1 << 36 | 0x41 << 37 | 4 << 52 | 1 << 57;
        let cap = Cap(raw);
        assert_eq!(cap.mqes(), 2047);
        assert_eq!(cap.max_queue_entries(), 2048);
        assert!(cap.cqr());
        assert_eq!(cap.timeout_ms(), 7500);
        assert_eq!(cap.doorbell_stride_bytes(), 4);
        assert!(cap.nssrs());
        assert_eq!(cap.css(), cap_css::NVM | cap_css::IO_COMMAND_SETS);
        assert_eq!(cap.mpsmin_nbytes(), 4096);
        assert_eq!(cap.mpsmax_nbytes(), 65536);
        assert!(cap.cmbs());
        assert!(!cap.pmrs());
        assert_eq!(Cap(3 << 32).dstrd(), 3);
        assert_eq!(Cap(3 << 32).doorbell_stride_bytes(), 32);
    }

    #[test]
    fn cc_setters_touch_only_their_field() {
        let mut cc = Cc::default();
        cc.set_iosqes(6);
        cc.set_iocqes(4);
        cc.set_css(cc_css::ALL_IO);
        cc.set_en(true);
        assert_eq!(cc.0, 0x0046_0061);
        cc.set_shn(shn::NORMAL);
        assert_eq!(cc.shn(), shn::NORMAL);
        cc.set_en(false);
        assert!(!cc.en());
        assert_eq!(cc.iosqes(), 6);
        assert_eq!(cc.iocqes(), 4);
        assert_eq!(cc.css(), cc_css::ALL_IO);
        cc.set_mps(0xff); // truncated to the 4-bit field
        assert_eq!(cc.mps(), 0xf);
        assert_eq!(cc.ams(), 0);
    }

    #[test]
    fn csts_and_aqa_decode() {
        let csts = Csts(0b1001);
        assert!(csts.rdy());
        assert!(!csts.cfs());
        assert_eq!(csts.shst(), shst::COMPLETE);
        let aqa = Aqa::new(31, 63);
        assert_eq!(aqa.0, 0x003f_001f);
        assert_eq!((aqa.asqs(), aqa.acqs()), (31, 63));
    }

    #[test]
    fn doorbells_follow_the_stride() {
        assert_eq!(sq_tail_doorbell(0, 0), 0x1000);
        assert_eq!(cq_head_doorbell(0, 0), 0x1004);
        assert_eq!(sq_tail_doorbell(1, 0), 0x1008);
        assert_eq!(cq_head_doorbell(1, 0), 0x100c);
        assert_eq!(sq_tail_doorbell(2, 2), 0x1000 + 4 * 16);
        assert_eq!(cq_head_doorbell(2, 2), 0x1000 + 5 * 16);
    }

    #[test]
    fn version_prints_dotted() {
        let v = Version::new(2, 0, 1);
        assert_eq!(v.0, 0x0002_0001);
        assert_eq!(std::format!("{v}"), "2.0.1");
        assert!(Version::new(1, 4, 0) < v);
    }

    #[test]
    fn cmbsz_computes_size() {
        let sz = Cmbsz(0x1f | 2 << 8 | 4 << 12); // 4 units of 1 MiB
        assert!(sz.sqs() && sz.cqs() && sz.lists() && sz.rds() && sz.wds());
        assert_eq!(sz.unit_nbytes(), 1 << 20);
        assert_eq!(sz.nbytes(), 4 << 20);
        assert_eq!(Cmbloc(0x2 | 0x10 << 12).ofst(), 0x10);
    }

    #[test]
    fn register_snapshot_reads_from_bar_bytes_and_serializes() {
        let mut bar = [0u8; 0x70];
        bar[0..8].copy_from_slice(&0x7ffu64.to_le_bytes());
        bar[8..12].copy_from_slice(&0x0001_0400u32.to_le_bytes());
        bar[0x1c] = 1;
        let regs = ControllerRegisters::read_from_bytes(&bar[..]).unwrap();
        assert_eq!(regs.cap.mqes(), 0x7ff);
        assert_eq!(regs.vs.mnr(), 4);
        assert!(regs.csts.rdy());
        let v = serde_json::to_value(regs).unwrap();
        assert_eq!(v["cap"], 0x7ff);
        assert_eq!(v["csts"], 1);
        assert!(v.get("rsvd18").is_none());
    }
}
