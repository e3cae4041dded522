//! The I/O Management commands and the reclaim unit handle status that
//! I/O Management Receive returns.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::opcode::{NvmOpcode, open_enum};

use super::Records;

/// The header of the reclaim unit handle status returned by I/O
/// Management Receive: 16 bytes.
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
pub struct RuhStatusHeader {
    #[serde(skip)]
    /// Reserved.
    pub rsvd0: [u8; 14],
    /// Number of reclaim unit handle status descriptors (NRUHSD).
    pub nruhsd: u16,
}

const _: () = assert!(core::mem::size_of::<RuhStatusHeader>() == 16);

/// A reclaim unit handle status descriptor: 32 bytes.
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
pub struct RuhStatusDescriptor {
    /// Placement identifier (PID).
    pub pid: u16,
    /// Reclaim unit handle identifier (RUHID).
    pub ruhid: u16,
    /// Estimated active reclaim unit time remaining, seconds (EARUTR).
    pub earutr: u32,
    /// Reclaim unit available media writes, logical blocks (RUAMW).
    pub ruamw: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd16: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<RuhStatusDescriptor>() == 32);

/// Reclaim unit handle status (I/O Management Receive, MO 1), parsed
/// without allocating.
#[derive(Clone, Copy, Debug)]
pub struct RuhStatus<'a> {
    /// The header.
    pub header: RuhStatusHeader,
    body: &'a [u8],
}

impl<'a> RuhStatus<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, body) = RuhStatusHeader::read_from_prefix(buf).ok()?;
        Some(Self { header, body })
    }

    /// The descriptors in the buffer.
    pub fn descriptors(&self) -> Records<'a, RuhStatusDescriptor> {
        Records::new(self.body, self.header.nruhsd as usize)
    }
}

/// Buffer size in bytes for a reclaim unit handle status of `nruhsd` descriptors.
pub const fn ruh_status_nbytes(nruhsd: usize) -> usize {
    16 + nruhsd * 32
}

open_enum! {
    /// I/O Management Receive management operations (MO).
    IoMgmtRecvOp: u8 {
        /// No action.
        NONE = 0x0, "No Action";
        /// Reclaim unit handle status.
        RUH_STATUS = 0x1, "Reclaim Unit Handle Status";
    }
}

open_enum! {
    /// I/O Management Send management operations (MO).
    IoMgmtSendOp: u8 {
        /// No action.
        NONE = 0x0, "No Action";
        /// Reclaim unit handle update: move the listed placement identifiers to new reclaim units.
        RUH_UPDATE = 0x1, "Reclaim Unit Handle Update";
    }
}

/// Typed view of the I/O Management Receive command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct IoMgmtRecv {
    /// Namespace identifier.
    pub nsid: u32,
    /// Management operation (CDW10 bits 7:0).
    pub mo: IoMgmtRecvOp,
    /// Management operation specific (CDW10 bits 31:16).
    pub mos: u16,
    /// Number of dwords to transfer, zero-based (CDW11).
    pub numd: u32,
}

impl IoMgmtRecv {
    /// Reclaim unit handle status into a buffer of `nbytes`.
    pub const fn ruh_status(nsid: u32, nbytes: usize) -> Self {
        Self {
            nsid,
            mo: IoMgmtRecvOp::RUH_STATUS,
            mos: 0,
            numd: crate::log::numd_for_nbytes(nbytes),
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::IO_MGMT_RECV.0, self.nsid);
        cmd.cdw10 = self.mo.0 as u32 | (self.mos as u32) << 16;
        cmd.cdw11 = self.numd;
        cmd
    }

    /// Decodes a submission entry as an I/O Management Receive command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            mo: IoMgmtRecvOp(cmd.cdw10 as u8),
            mos: (cmd.cdw10 >> 16) as u16,
            numd: cmd.cdw11,
        }
    }
}

/// Typed view of the I/O Management Send command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct IoMgmtSend {
    /// Namespace identifier.
    pub nsid: u32,
    /// Management operation (CDW10 bits 7:0).
    pub mo: IoMgmtSendOp,
    /// Management operation specific (CDW10 bits 31:16): for a RUH update,
    /// the number of placement identifiers in the buffer, zero-based.
    pub mos: u16,
}

impl IoMgmtSend {
    /// A reclaim unit handle update for `npids` (at least 1) placement
    /// identifiers, passed as a buffer of little-endian `u16`s.
    pub const fn ruh_update(nsid: u32, npids: u16) -> Self {
        Self {
            nsid,
            mo: IoMgmtSendOp::RUH_UPDATE,
            mos: npids.saturating_sub(1),
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::IO_MGMT_SEND.0, self.nsid);
        cmd.cdw10 = self.mo.0 as u32 | (self.mos as u32) << 16;
        cmd
    }

    /// Decodes a submission entry as an I/O Management Send command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            mo: IoMgmtSendOp(cmd.cdw10 as u8),
            mos: (cmd.cdw10 >> 16) as u16,
        }
    }
}
