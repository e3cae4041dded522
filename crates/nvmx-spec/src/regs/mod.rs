//! Controller registers of the PCIe transport (NVMe 2.0 base, section 3.1).
//!
//! Each register is a newtype over its raw value with getters (and, for the
//! registers the host writes, setters). [`ControllerRegisters`] is the
//! layout of the register block from offset 0 up to the reserved area, so a
//! snapshot can be read straight out of a mapped BAR and serialized for
//! `show-regs`.
//!
//! One file per register (the admin queue registers share one); every
//! item is re-exported here, so the paths stay `nvmx_spec::regs::X`.

mod admin_queue;
mod cap;
mod cc;
mod cmb;
mod csts;
#[cfg(test)]
mod tests;
mod version;

pub use admin_queue::*;
pub use cap::*;
pub use cc::*;
pub use cmb::*;
pub use csts::*;
pub use version::*;

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
