//! The FDP Events log page (LID 0x23).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::zeroed_default;
use crate::opcode::open_enum;

use super::Records;

/// The header of the FDP Events log page (LID 0x23): 64 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct FdpEventsLogHeader {
    /// Number of events that follow (NEVENTS).
    pub nevents: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd4: [u8; 60],
}

const _: () = assert!(core::mem::size_of::<FdpEventsLogHeader>() == 64);

open_enum! {
    /// FDP event types.
    FdpEventType: u8 {
        /// Reclaim unit not fully written (host event).
        RU_NOT_FULLY_WRITTEN = 0x00, "Reclaim Unit Not Fully Written";
        /// Reclaim unit active time limit exceeded (host event).
        RU_TIME_LIMIT_EXCEEDED = 0x01, "Reclaim Unit Time Limit Exceeded";
        /// Controller level reset modified reclaim unit handles (host event).
        CTRL_RESET_MODIFIED_RUHS = 0x02, "Controller Level Reset Modified Reclaim Unit Handles";
        /// Invalid placement identifier (host event).
        INVALID_PID = 0x03, "Invalid Placement Identifier";
        /// Media reallocated (controller event).
        MEDIA_REALLOCATED = 0x80, "Media Reallocated";
        /// Implicitly modified reclaim unit handle (controller event).
        IMPLICIT_RUH_MODIFIED = 0x81, "Implicitly Modified Reclaim Unit Handle";
    }
}

/// Flag bits of [`FdpEvent::flags`].
pub mod fdp_event_flags {
    /// Placement identifier valid (PIV).
    pub const PIV: u8 = 1 << 0;
    /// Namespace identifier valid (NSIDV).
    pub const NSIDV: u8 = 1 << 1;
    /// Location valid (LV): reclaim group and handle identifiers are valid.
    pub const LV: u8 = 1 << 2;
}

/// An FDP event: 64 bytes.
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
pub struct FdpEvent {
    /// Event type, see [`FdpEventType`].
    pub etype: u8,
    /// Validity flags, see [`fdp_event_flags`].
    pub flags: u8,
    /// Placement identifier (PID).
    pub pid: u16,
    /// Timestamp: milliseconds in bytes 5:0, attributes in byte 6 (unaligned here).
    pub timestamp: [u8; 8],
    /// Namespace identifier.
    pub nsid: u32,
    /// Event type specific information.
    pub type_specific: [u8; 16],
    /// Reclaim group identifier (RGID).
    pub rgid: u16,
    /// Reclaim unit handle identifier (RUHID).
    pub ruhid: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd35: [u8; 5],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 24],
}

const _: () = assert!(core::mem::size_of::<FdpEvent>() == 64);

impl FdpEvent {
    /// The event type.
    pub const fn event_type(&self) -> FdpEventType {
        FdpEventType(self.etype)
    }

    /// The timestamp in milliseconds (48 bits).
    pub const fn timestamp_ms(&self) -> u64 {
        let t = self.timestamp;
        u64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], 0, 0])
    }
}

/// The FDP Events log page (LID 0x23), parsed without allocating. Host
/// events or controller events are selected by LSP bit 0 of the Get Log
/// Page command.
#[derive(Clone, Copy, Debug)]
pub struct FdpEventsLog<'a> {
    /// The log header.
    pub header: FdpEventsLogHeader,
    body: &'a [u8],
}

impl<'a> FdpEventsLog<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, body) = FdpEventsLogHeader::read_from_prefix(buf).ok()?;
        Some(Self { header, body })
    }

    /// The events in the buffer.
    pub fn events(&self) -> Records<'a, FdpEvent> {
        Records::new(self.body, self.header.nevents as usize)
    }
}

zeroed_default!(FdpEventsLogHeader);
