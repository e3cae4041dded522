//! Flexible Data Placement (NVMe 2.0 TP4146): the FDP log pages, the
//! reclaim unit handle status returned by I/O Management Receive, and the
//! I/O Management command views.
//!
//! Several of these layouts are variable-length: a fixed header followed
//! by a count of descriptors. Each has a parser here that borrows the
//! buffer and iterates the descriptors without allocating, copying each one
//! out so the buffer needs no particular alignment.
//!
//! Writes select a placement with `dtype = 2` (data placement) and the
//! placement identifier in `dspec`; see [`placement_id`].

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::identify::{ser, zeroed_default};
use crate::opcode::{NvmOpcode, open_enum};

/// The placement identifier for reclaim group `rgid` and placement handle
/// `phndl`, given the reclaim group identifier format (RGIF, the number of
/// upper bits that name the reclaim group; from the FDP attributes of the
/// configuration in use).
pub const fn placement_id(rgid: u16, phndl: u16, rgif: u8) -> u16 {
    if rgif == 0 {
        phndl
    } else if rgif >= 16 {
        rgid
    } else {
        rgid << (16 - rgif as u32) | (phndl & (u16::MAX >> rgif as u32))
    }
}

/// The header of the FDP Configurations log page (LID 0x20): 16 bytes.
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
pub struct FdpConfigLogHeader {
    /// Number of FDP configurations, zero-based (NCFG).
    pub ncfg: u16,
    /// Log page version.
    pub version: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd3: u8,
    /// Size of the whole log page in bytes.
    pub size: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd8: [u8; 8],
}

const _: () = assert!(core::mem::size_of::<FdpConfigLogHeader>() == 16);

/// The fixed part of an FDP configuration descriptor: 64 bytes, followed
/// by `nruh` [`RuhDescriptor`]s and `vss` bytes of vendor specific data.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct FdpConfigDescriptor {
    /// Descriptor size in bytes, including the RUH descriptors and vendor data (DS).
    pub ds: u16,
    /// FDP attributes (FDPA): RGIF bits 3:0, volatile write cache bit 4, valid bit 7.
    pub fdpa: u8,
    /// Vendor specific size in bytes (VSS).
    pub vss: u8,
    /// Number of reclaim groups (NRG).
    pub nrg: u32,
    /// Number of reclaim unit handles (NRUH).
    pub nruh: u16,
    /// Maximum placement identifiers, zero-based (MAXPIDS).
    pub maxpids: u16,
    /// Number of namespaces supported (NNSS).
    pub nns: u32,
    /// Reclaim unit nominal size in bytes (RUNS).
    pub runs: u64,
    /// Estimated reclaim unit time limit in seconds; 0 = not reported (ERUTL).
    pub erutl: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd28: [u8; 36],
}

const _: () = assert!(core::mem::size_of::<FdpConfigDescriptor>() == 64);

impl FdpConfigDescriptor {
    /// Reclaim group identifier format (RGIF, FDPA bits 3:0).
    pub const fn rgif(&self) -> u8 {
        self.fdpa & 0xf
    }

    /// Whether a volatile write cache is in use for this configuration (FDPA bit 4).
    pub const fn fdpvwc(&self) -> bool {
        self.fdpa & 0x10 != 0
    }

    /// Whether this configuration is valid (FDPA bit 7).
    pub const fn valid(&self) -> bool {
        self.fdpa & 0x80 != 0
    }
}

open_enum! {
    /// Reclaim unit handle types (RUHT).
    RuhType: u8 {
        /// Initially isolated.
        INITIALLY_ISOLATED = 0x1, "Initially Isolated";
        /// Persistently isolated.
        PERSISTENTLY_ISOLATED = 0x2, "Persistently Isolated";
    }
}

/// A reclaim unit handle descriptor of an FDP configuration: 4 bytes.
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
pub struct RuhDescriptor {
    /// Reclaim unit handle type (RUHT), see [`RuhType`].
    pub ruht: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 3],
}

const _: () = assert!(core::mem::size_of::<RuhDescriptor>() == 4);

/// Reads up to `count` fixed-size records from the front of `buf`.
#[derive(Clone, Debug)]
pub struct Records<'a, T> {
    buf: &'a [u8],
    left: usize,
    _t: core::marker::PhantomData<T>,
}

impl<'a, T: FromBytes> Records<'a, T> {
    /// At most `count` records of `T` from `buf`; fewer if `buf` is short.
    pub fn new(buf: &'a [u8], count: usize) -> Self {
        let fit = buf.len() / core::mem::size_of::<T>();
        Self {
            buf,
            left: count.min(fit),
            _t: core::marker::PhantomData,
        }
    }
}

impl<T: FromBytes> Iterator for Records<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        let (rec, rest) = T::read_from_prefix(self.buf).ok()?;
        self.buf = rest;
        self.left -= 1;
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T: FromBytes> ExactSizeIterator for Records<'_, T> {}

/// One FDP configuration from the FDP Configurations log page.
#[derive(Clone, Copy, Debug)]
pub struct FdpConfig<'a> {
    /// The fixed part of the descriptor.
    pub desc: FdpConfigDescriptor,
    ruhs: &'a [u8],
    /// Vendor specific data (`vss` bytes, or what the buffer holds).
    pub vs: &'a [u8],
}

impl<'a> FdpConfig<'a> {
    /// The reclaim unit handle descriptors.
    pub fn ruhs(&self) -> Records<'a, RuhDescriptor> {
        Records::new(self.ruhs, self.desc.nruh as usize)
    }
}

/// The FDP Configurations log page (LID 0x20), parsed without allocating.
#[derive(Clone, Copy, Debug)]
pub struct FdpConfigLog<'a> {
    /// The log header.
    pub header: FdpConfigLogHeader,
    body: &'a [u8],
}

impl<'a> FdpConfigLog<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, _) = FdpConfigLogHeader::read_from_prefix(buf).ok()?;
        // Trust the page's own size when it is smaller than the buffer.
        let end = (header.size as usize).clamp(16, buf.len());
        Some(Self {
            header,
            body: &buf[16..end],
        })
    }

    /// The configurations, in index order. Iteration ends early at a
    /// descriptor whose size is implausible or runs past the buffer.
    pub fn configs(&self) -> FdpConfigIter<'a> {
        FdpConfigIter {
            buf: self.body,
            left: self.header.ncfg as usize + 1,
        }
    }
}

/// Iterator over the configurations of an [`FdpConfigLog`].
#[derive(Clone, Debug)]
pub struct FdpConfigIter<'a> {
    buf: &'a [u8],
    left: usize,
}

impl<'a> Iterator for FdpConfigIter<'a> {
    type Item = FdpConfig<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (desc, _) = FdpConfigDescriptor::read_from_prefix(self.buf).ok()?;
        let ds = desc.ds as usize;
        if ds < 64 || ds > self.buf.len() {
            self.left = 0;
            return None;
        }
        let (this, rest) = self.buf.split_at(ds);
        let body = &this[64..];
        let ruhs_len = (desc.nruh as usize * 4).min(body.len());
        let (ruhs, tail) = body.split_at(ruhs_len);
        let vs = &tail[..(desc.vss as usize).min(tail.len())];
        self.buf = rest;
        self.left -= 1;
        Some(FdpConfig { desc, ruhs, vs })
    }
}

/// The header of the Reclaim Unit Handle Usage log page (LID 0x21): 8 bytes.
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
pub struct RuhUsageLogHeader {
    /// Number of reclaim unit handles (NRUH).
    pub nruh: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd2: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<RuhUsageLogHeader>() == 8);

/// Reclaim unit handle attributes values of [`RuhUsageDescriptor::ruha`].
pub mod ruha {
    /// Not used by any namespace.
    pub const UNUSED: u8 = 0x0;
    /// Host specified: a namespace's placement handle refers to it.
    pub const HOST_SPECIFIED: u8 = 0x1;
    /// Controller specified: used by default placement.
    pub const CONTROLLER_SPECIFIED: u8 = 0x2;
}

/// A reclaim unit handle usage descriptor: 8 bytes.
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
pub struct RuhUsageDescriptor {
    /// Reclaim unit handle attributes (RUHA), see [`ruha`].
    pub ruha: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<RuhUsageDescriptor>() == 8);

/// The Reclaim Unit Handle Usage log page (LID 0x21), parsed without allocating.
#[derive(Clone, Copy, Debug)]
pub struct RuhUsageLog<'a> {
    /// The log header.
    pub header: RuhUsageLogHeader,
    body: &'a [u8],
}

impl<'a> RuhUsageLog<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, body) = RuhUsageLogHeader::read_from_prefix(buf).ok()?;
        Some(Self { header, body })
    }

    /// The descriptors, indexed by reclaim unit handle identifier.
    pub fn descriptors(&self) -> Records<'a, RuhUsageDescriptor> {
        Records::new(self.body, self.header.nruh as usize)
    }
}

/// The FDP Statistics log page (LID 0x22): 64 bytes of 128-bit counters.
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
pub struct FdpStatsLog {
    /// Host bytes with metadata written (HBMW).
    #[serde(serialize_with = "ser::u128_le")]
    pub hbmw: [u8; 16],
    /// Media bytes with metadata written (MBMW).
    #[serde(serialize_with = "ser::u128_le")]
    pub mbmw: [u8; 16],
    /// Media bytes erased (MBE).
    #[serde(serialize_with = "ser::u128_le")]
    pub mbe: [u8; 16],
    #[serde(skip)]
    /// Reserved.
    pub rsvd48: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<FdpStatsLog>() == 64);

impl FdpStatsLog {
    /// Host bytes with metadata written.
    pub const fn hbmw(&self) -> u128 {
        u128::from_le_bytes(self.hbmw)
    }

    /// Media bytes with metadata written.
    pub const fn mbmw(&self) -> u128 {
        u128::from_le_bytes(self.mbmw)
    }

    /// Media bytes erased.
    pub const fn mbe(&self) -> u128 {
        u128::from_le_bytes(self.mbe)
    }
}

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

zeroed_default!(FdpConfigDescriptor, FdpEventsLogHeader);

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

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use std::vec::Vec;

    #[test]
    fn config_descriptor_offsets_match_tp4146() {
        assert_eq!(offset_of!(FdpConfigLogHeader, size), 4);
        assert_eq!(offset_of!(FdpConfigDescriptor, fdpa), 2);
        assert_eq!(offset_of!(FdpConfigDescriptor, nrg), 4);
        assert_eq!(offset_of!(FdpConfigDescriptor, nruh), 8);
        assert_eq!(offset_of!(FdpConfigDescriptor, maxpids), 10);
        assert_eq!(offset_of!(FdpConfigDescriptor, nns), 12);
        assert_eq!(offset_of!(FdpConfigDescriptor, runs), 16);
        assert_eq!(offset_of!(FdpConfigDescriptor, erutl), 24);
    }

    #[test]
    fn event_and_status_offsets_match_tp4146() {
        assert_eq!(offset_of!(FdpEvent, pid), 2);
        assert_eq!(offset_of!(FdpEvent, timestamp), 4);
        assert_eq!(offset_of!(FdpEvent, nsid), 12);
        assert_eq!(offset_of!(FdpEvent, type_specific), 16);
        assert_eq!(offset_of!(FdpEvent, rgid), 32);
        assert_eq!(offset_of!(FdpEvent, ruhid), 34);
        assert_eq!(offset_of!(FdpEvent, vs), 40);
        assert_eq!(offset_of!(RuhStatusHeader, nruhsd), 14);
        assert_eq!(offset_of!(RuhStatusDescriptor, earutr), 4);
        assert_eq!(offset_of!(RuhStatusDescriptor, ruamw), 8);
        assert_eq!(offset_of!(FdpStatsLog, mbe), 32);
    }

    fn config_log() -> Vec<u8> {
        let mut buf = Vec::new();
        let descs: [(u16, u8, &[u8]); 2] = [(2, 0, &[]), (1, 3, &[0xaa, 0xbb, 0xcc])];
        let mut body = Vec::new();
        for (nruh, vss, vs) in descs {
            let ds = 64 + 4 * nruh as usize + vss as usize;
            let d = FdpConfigDescriptor {
                ds: ds as u16,
                fdpa: 0x80 | 0x1,
                vss,
                nrg: 1,
                nruh,
                maxpids: 7,
                nns: 4,
                runs: 1 << 30,
                ..Default::default()
            };
            body.extend_from_slice(d.as_bytes());
            for i in 0..nruh {
                body.extend_from_slice(
                    RuhDescriptor {
                        ruht: 1 + (i as u8 % 2),
                        rsvd1: [0; 3],
                    }
                    .as_bytes(),
                );
            }
            body.extend_from_slice(vs);
        }
        let h = FdpConfigLogHeader {
            ncfg: 1,
            version: 0,
            size: 16 + body.len() as u32,
            ..Default::default()
        };
        buf.extend_from_slice(h.as_bytes());
        buf.extend_from_slice(&body);
        buf.resize(4096, 0);
        buf
    }

    #[test]
    fn config_log_walks_variable_size_descriptors() {
        let buf = config_log();
        let log = FdpConfigLog::parse(&buf).unwrap();
        let configs: Vec<_> = log.configs().collect();
        assert_eq!(configs.len(), 2);
        assert!(configs[0].desc.valid());
        assert_eq!(configs[0].desc.rgif(), 1);
        let ruhts: Vec<_> = configs[0].ruhs().map(|r| RuhType(r.ruht)).collect();
        assert_eq!(
            ruhts,
            [RuhType::INITIALLY_ISOLATED, RuhType::PERSISTENTLY_ISOLATED]
        );
        assert_eq!(configs[1].ruhs().count(), 1);
        assert_eq!(configs[1].vs, &[0xaa, 0xbb, 0xcc]);
        assert_eq!(configs[1].desc.runs, 1 << 30);
    }

    #[test]
    fn config_log_stops_at_a_bad_descriptor_size() {
        let mut buf = config_log();
        buf[16] = 10; // first descriptor claims 10 bytes: less than its own header
        buf[17] = 0;
        assert_eq!(FdpConfigLog::parse(&buf).unwrap().configs().count(), 0);
        assert!(FdpConfigLog::parse(&buf[..8]).is_none());
    }

    #[test]
    fn ruh_usage_and_status_parse_from_unaligned_buffers() {
        let mut raw = std::vec![0u8; 1 + 8 + 3 * 8];
        let buf = &mut raw[1..];
        buf[0] = 3;
        buf[8] = ruha::HOST_SPECIFIED;
        buf[16] = ruha::CONTROLLER_SPECIFIED;
        let log = RuhUsageLog::parse(buf).unwrap();
        let attrs: Vec<u8> = log.descriptors().map(|d| d.ruha).collect();
        assert_eq!(attrs, [1, 2, 0]);

        let mut st = std::vec![0u8; 1 + ruh_status_nbytes(2)];
        let b = &mut st[1..];
        b[14] = 2;
        let d = RuhStatusDescriptor {
            pid: 0x4001,
            ruhid: 1,
            earutr: 60,
            ruamw: 1000,
            ..Default::default()
        };
        b[48..80].copy_from_slice(d.as_bytes());
        let status = RuhStatus::parse(b).unwrap();
        let descs: Vec<_> = status.descriptors().collect();
        assert_eq!(descs.len(), 2);
        assert_eq!(descs[1], d);
    }

    #[test]
    fn records_never_read_past_the_buffer() {
        let buf = [0u8; 16 + 40]; // header + one full descriptor and a partial one
        let status = RuhStatus::parse(&buf).unwrap();
        assert_eq!(status.descriptors().len(), 0, "nruhsd is 0");
        let mut b = buf;
        b[14] = 5;
        assert_eq!(RuhStatus::parse(&b).unwrap().descriptors().count(), 1);
    }

    #[test]
    fn events_log_decodes_events() {
        let mut buf = std::vec![0u8; 64 + 2 * 64];
        buf[0] = 1;
        let mut ev = FdpEvent {
            etype: 0x80,
            flags: fdp_event_flags::PIV | fdp_event_flags::LV,
            pid: 3,
            nsid: 1,
            rgid: 0,
            ruhid: 2,
            ..Default::default()
        };
        ev.timestamp[..6].copy_from_slice(&[0x10, 0x27, 0, 0, 0, 0]);
        buf[64..128].copy_from_slice(ev.as_bytes());
        let log = FdpEventsLog::parse(&buf).unwrap();
        let events: Vec<_> = log.events().collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type(), FdpEventType::MEDIA_REALLOCATED);
        assert_eq!(events[0].timestamp_ms(), 10_000);
        assert_eq!(FdpEventType(0x42).name(), None);
    }

    #[test]
    fn stats_log_decodes_128_bit_counters() {
        let mut s = FdpStatsLog::default();
        s.hbmw[0] = 1;
        s.mbmw[1] = 1;
        s.mbe[15] = 1;
        assert_eq!((s.hbmw(), s.mbmw(), s.mbe()), (1, 256, 1 << 120));
    }

    #[test]
    fn io_mgmt_views_round_trip() {
        let r = IoMgmtRecv::ruh_status(1, ruh_status_nbytes(8));
        let cmd = r.to_command();
        assert_eq!(cmd.opc, 0x12);
        assert_eq!(cmd.cdw10, 1);
        assert_eq!(cmd.cdw11, (16 + 8 * 32) / 4 - 1);
        assert_eq!(IoMgmtRecv::from_command(&cmd), r);

        let s = IoMgmtSend::ruh_update(1, 4);
        let cmd = s.to_command();
        assert_eq!(cmd.opc, 0x1d);
        assert_eq!(cmd.cdw10, 3 << 16 | 1);
        assert_eq!(IoMgmtSend::from_command(&cmd), s);
        let unknown = IoMgmtSend {
            nsid: 1,
            mo: IoMgmtSendOp(0xff),
            mos: 0,
        };
        assert_eq!(
            IoMgmtSend::from_command(&unknown.to_command()).mo,
            IoMgmtSendOp(0xff)
        );
    }

    #[test]
    fn placement_id_packs_reclaim_group_in_upper_bits() {
        assert_eq!(placement_id(0, 5, 0), 5);
        assert_eq!(placement_id(1, 5, 1), 0x8005);
        assert_eq!(placement_id(3, 0xffff, 4), 0x3fff);
    }
}
