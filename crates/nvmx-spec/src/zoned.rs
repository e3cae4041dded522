//! Zoned Namespace command set: zone states, the Zone Management Send and
//! Receive command views, and the zone report layout (ZNS 1.1, "Zone
//! Management Send" and "Zone Management Receive" commands).
//!
//! Zone Append shares the layout of [`crate::cmd::NvmRw`] (zone start LBA
//! in `slba`); the controller returns the LBA it wrote in completion dwords
//! 0-1. The Identify layouts are in [`crate::identify`] and the Changed
//! Zone List log in [`crate::log`].

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::identify::zeroed_default;
use crate::opcode::{NvmOpcode, open_enum};

open_enum! {
    /// Zone states (ZNS 1.1, figure "Zone State"), as carried in bits 7:4
    /// of a zone descriptor's ZS field. The names are the short forms
    /// tools print.
    ZoneState: u8 {
        /// Empty (ZSE).
        EMPTY = 0x1, "EMPTY";
        /// Implicitly opened (ZSIO).
        IMPLICIT_OPEN = 0x2, "IOPEN";
        /// Explicitly opened (ZSEO).
        EXPLICIT_OPEN = 0x3, "EOPEN";
        /// Closed (ZSC).
        CLOSED = 0x4, "CLOSED";
        /// Read only (ZSRO).
        READ_ONLY = 0xd, "RONLY";
        /// Full (ZSF).
        FULL = 0xe, "FULL";
        /// Offline (ZSO).
        OFFLINE = 0xf, "OFFLINE";
    }
}

impl ZoneState {
    /// Whether the zone holds an active resource (opened or closed).
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            Self::IMPLICIT_OPEN | Self::EXPLICIT_OPEN | Self::CLOSED
        )
    }

    /// Whether the zone holds an open resource.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::IMPLICIT_OPEN | Self::EXPLICIT_OPEN)
    }
}

open_enum! {
    /// Zone types (ZT, bits 3:0 of a zone descriptor).
    ZoneType: u8 {
        /// Sequential write required.
        SEQ_WRITE_REQUIRED = 0x2, "SEQWR";
    }
}

/// Zone attribute bits of [`ZoneDescriptor::za`].
pub mod za {
    /// Zone finished by controller (ZFC).
    pub const ZFC: u8 = 1 << 0;
    /// Finish zone recommended (FZR).
    pub const FZR: u8 = 1 << 1;
    /// Reset zone recommended (RZR).
    pub const RZR: u8 = 1 << 2;
    /// Zone random write area valid (ZRWAV).
    pub const ZRWAV: u8 = 1 << 3;
    /// Zone descriptor extension valid (ZDEV).
    pub const ZDEV: u8 = 1 << 7;
}

/// A zone descriptor (ZNS 1.1, figure "Zone Descriptor Data Structure"): 64 bytes.
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
pub struct ZoneDescriptor {
    /// Zone type (ZT, bits 3:0).
    pub zt: u8,
    /// Zone state (ZS, bits 7:4).
    pub zs: u8,
    /// Zone attributes (ZA), see [`za`].
    pub za: u8,
    /// Zone attributes information (ZAI): bits 3:1 reset/finish recommended levels.
    pub zai: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd4: [u8; 4],
    /// Zone capacity in logical blocks (ZCAP).
    pub zcap: u64,
    /// Zone start LBA (ZSLBA).
    pub zslba: u64,
    /// Write pointer (WP); not valid in the full, read only and offline states.
    pub wp: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd32: [u8; 32],
}

const _: () = assert!(core::mem::size_of::<ZoneDescriptor>() == 64);

impl ZoneDescriptor {
    /// The zone type.
    pub const fn zone_type(&self) -> ZoneType {
        ZoneType(self.zt & 0xf)
    }

    /// The zone state.
    pub const fn state(&self) -> ZoneState {
        ZoneState(self.zs >> 4)
    }

    /// Sets the zone state.
    pub fn set_state(&mut self, state: ZoneState) {
        self.zs = (self.zs & 0xf) | state.0 << 4;
    }

    /// Whether a zone descriptor extension is valid for this zone.
    pub const fn has_extension(&self) -> bool {
        self.za & za::ZDEV != 0
    }
}

/// The header of a zone report (ZNS 1.1, figure "Report Zones Data
/// Structure"): 64 bytes, followed by the descriptors.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct ZoneReportHeader {
    /// Number of zones matching the request: all of them, or (with a
    /// partial report) only those in the buffer.
    pub nr_zones: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd8: [u8; 56],
}

const _: () = assert!(core::mem::size_of::<ZoneReportHeader>() == 64);

zeroed_default!(ZoneReportHeader);

open_enum! {
    /// Zone send actions (ZSA, CDW13 bits 7:0 of Zone Management Send).
    ZoneSendAction: u8 {
        /// Close zone.
        CLOSE = 0x1, "Close Zone";
        /// Finish zone.
        FINISH = 0x2, "Finish Zone";
        /// Open zone.
        OPEN = 0x3, "Open Zone";
        /// Reset zone.
        RESET = 0x4, "Reset Zone";
        /// Offline zone.
        OFFLINE = 0x5, "Offline Zone";
        /// Set zone descriptor extension.
        SET_ZDE = 0x10, "Set Zone Descriptor Extension";
        /// Flush the zone random write area up to the given LBA.
        FLUSH_ZRWA = 0x11, "Zone Random Write Area Flush";
    }
}

open_enum! {
    /// Zone receive actions (ZRA, CDW13 bits 7:0 of Zone Management Receive).
    ZoneRecvAction: u8 {
        /// Report zones.
        REPORT = 0x0, "Report Zones";
        /// Extended report zones (descriptors followed by their extensions).
        EXTENDED_REPORT = 0x1, "Extended Report Zones";
    }
}

open_enum! {
    /// Report filter (ZRASF, CDW13 bits 15:8 of Zone Management Receive):
    /// which zones a report lists.
    ZrasFilter: u8 {
        /// All zones.
        ALL = 0x0, "ALL";
        /// Empty zones.
        EMPTY = 0x1, "EMPTY";
        /// Implicitly opened zones.
        IOPEN = 0x2, "IOPEN";
        /// Explicitly opened zones.
        EOPEN = 0x3, "EOPEN";
        /// Closed zones.
        CLOSED = 0x4, "CLOSED";
        /// Full zones.
        FULL = 0x5, "FULL";
        /// Read only zones.
        RONLY = 0x6, "RONLY";
        /// Offline zones.
        OFFLINE = 0x7, "OFFLINE";
    }
}

/// Typed view of the Zone Management Send command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct ZoneMgmtSend {
    /// Namespace identifier.
    pub nsid: u32,
    /// Starting LBA of the zone (CDW10-11); for ZRWA flush, the last LBA to flush.
    pub slba: u64,
    /// Zone send action (CDW13 bits 7:0).
    pub zsa: ZoneSendAction,
    /// Apply the action to all zones in a suitable state (CDW13 bit 8).
    pub select_all: bool,
    /// Zone send action specific option (CDW13 bit 9): with Open, allocate a ZRWA.
    pub zsaso: bool,
}

impl ZoneMgmtSend {
    /// Applies `zsa` to the zone starting at `slba`.
    pub const fn new(nsid: u32, slba: u64, zsa: ZoneSendAction) -> Self {
        Self {
            nsid,
            slba,
            zsa,
            select_all: false,
            zsaso: false,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::ZONE_MGMT_SEND.0, self.nsid);
        cmd.set_cdw10_11(self.slba);
        cmd.cdw13 = self.zsa.0 as u32 | (self.select_all as u32) << 8 | (self.zsaso as u32) << 9;
        cmd
    }

    /// Decodes a submission entry as a Zone Management Send command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            slba: cmd.cdw10_11(),
            zsa: ZoneSendAction(cmd.cdw13 as u8),
            select_all: cmd.cdw13 >> 8 & 1 == 1,
            zsaso: cmd.cdw13 >> 9 & 1 == 1,
        }
    }
}

/// Typed view of the Zone Management Receive command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct ZoneMgmtRecv {
    /// Namespace identifier.
    pub nsid: u32,
    /// Lowest zone start LBA to report (CDW10-11).
    pub slba: u64,
    /// Number of dwords to transfer, zero-based (CDW12).
    pub numd: u32,
    /// Zone receive action (CDW13 bits 7:0).
    pub zra: ZoneRecvAction,
    /// Report filter (CDW13 bits 15:8).
    pub zrasf: ZrasFilter,
    /// Partial report: `nr_zones` counts only the zones returned (CDW13 bit 16).
    pub partial: bool,
}

impl ZoneMgmtRecv {
    /// A zone report from `slba` into a buffer of `nbytes` (a multiple of 4).
    pub const fn report(
        nsid: u32,
        slba: u64,
        nbytes: usize,
        zrasf: ZrasFilter,
        partial: bool,
    ) -> Self {
        Self {
            nsid,
            slba,
            numd: crate::log::numd_for_nbytes(nbytes),
            zra: ZoneRecvAction::REPORT,
            zrasf,
            partial,
        }
    }

    /// Number of bytes the command transfers.
    pub const fn nbytes(&self) -> u64 {
        (self.numd as u64 + 1) * 4
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::ZONE_MGMT_RECV.0, self.nsid);
        cmd.set_cdw10_11(self.slba);
        cmd.cdw12 = self.numd;
        cmd.cdw13 = self.zra.0 as u32 | (self.zrasf.0 as u32) << 8 | (self.partial as u32) << 16;
        cmd
    }

    /// Decodes a submission entry as a Zone Management Receive command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            slba: cmd.cdw10_11(),
            numd: cmd.cdw12,
            zra: ZoneRecvAction(cmd.cdw13 as u8),
            zrasf: ZrasFilter((cmd.cdw13 >> 8) as u8),
            partial: cmd.cdw13 >> 16 & 1 == 1,
        }
    }
}

/// Size in bytes of a report buffer holding `nzones` descriptors, each
/// followed by `ext_nbytes` of extension (0 for a plain report).
pub const fn report_nbytes(nzones: usize, ext_nbytes: usize) -> usize {
    core::mem::size_of::<ZoneReportHeader>()
        + nzones * (core::mem::size_of::<ZoneDescriptor>() + ext_nbytes)
}

/// One entry of a zone report: the descriptor and, in an extended report,
/// its descriptor extension.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ZoneEntry<'a> {
    /// The zone descriptor.
    pub descr: ZoneDescriptor,
    /// The zone descriptor extension (empty in a plain report).
    pub ext: &'a [u8],
}

/// A zone report read from a Zone Management Receive buffer, parsed
/// without allocating.
#[derive(Clone, Copy, Debug)]
pub struct ZoneReport<'a> {
    /// The report header.
    pub header: ZoneReportHeader,
    entries: &'a [u8],
    ext_nbytes: usize,
}

impl<'a> ZoneReport<'a> {
    /// Parses `buf` as a report whose descriptors are each followed by
    /// `ext_nbytes` of extension: 0 for a plain report, the namespace's
    /// `zdes * 64` for an extended one. `None` if `buf` is shorter than the
    /// header.
    pub fn parse(buf: &'a [u8], ext_nbytes: usize) -> Option<Self> {
        let (header, entries) = ZoneReportHeader::read_from_prefix(buf).ok()?;
        Some(Self {
            header,
            entries,
            ext_nbytes,
        })
    }

    /// Number of descriptors present in the buffer: the header's count,
    /// limited by what the buffer holds.
    pub fn len(&self) -> usize {
        let stride = core::mem::size_of::<ZoneDescriptor>() + self.ext_nbytes;
        let fit = self.entries.len() / stride;
        usize::try_from(self.header.nr_zones).map_or(fit, |n| n.min(fit))
    }

    /// Whether the buffer holds no descriptor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in the buffer.
    pub fn iter(&self) -> ZoneReportIter<'a> {
        ZoneReportIter {
            buf: self.entries,
            ext_nbytes: self.ext_nbytes,
            left: self.len(),
        }
    }
}

impl<'a> IntoIterator for &ZoneReport<'a> {
    type Item = ZoneEntry<'a>;
    type IntoIter = ZoneReportIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the entries of a [`ZoneReport`].
#[derive(Clone, Debug)]
pub struct ZoneReportIter<'a> {
    buf: &'a [u8],
    ext_nbytes: usize,
    left: usize,
}

impl<'a> Iterator for ZoneReportIter<'a> {
    type Item = ZoneEntry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // Copy the descriptor out: the buffer need not be 8-byte aligned.
        let (descr, rest) = ZoneDescriptor::read_from_prefix(self.buf).ok()?;
        let ext = rest.get(..self.ext_nbytes)?;
        self.buf = &rest[self.ext_nbytes..];
        self.left -= 1;
        Some(ZoneEntry { descr, ext })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ZoneReportIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn zone_descriptor_offsets_match_zns_spec() {
        assert_eq!(offset_of!(ZoneDescriptor, za), 2);
        assert_eq!(offset_of!(ZoneDescriptor, zai), 3);
        assert_eq!(offset_of!(ZoneDescriptor, zcap), 8);
        assert_eq!(offset_of!(ZoneDescriptor, zslba), 16);
        assert_eq!(offset_of!(ZoneDescriptor, wp), 24);
    }

    #[test]
    fn zone_state_lives_in_the_upper_nibble() {
        let mut d = ZoneDescriptor {
            zt: 0x2,
            zs: 0xe0,
            ..Default::default()
        };
        assert_eq!(d.state(), ZoneState::FULL);
        assert_eq!(d.zone_type(), ZoneType::SEQ_WRITE_REQUIRED);
        d.set_state(ZoneState::IMPLICIT_OPEN);
        assert_eq!(d.zs, 0x20);
        assert!(d.state().is_open());
        assert!(ZoneState::CLOSED.is_active() && !ZoneState::CLOSED.is_open());
        assert_eq!(std::format!("{}", ZoneState::READ_ONLY), "RONLY");
    }

    #[test]
    fn unknown_zone_state_round_trips() {
        let mut d = ZoneDescriptor::default();
        d.set_state(ZoneState(0x9));
        assert_eq!(d.state(), ZoneState(0x9));
        assert_eq!(d.state().name(), None);
    }

    #[test]
    fn zone_mgmt_send_places_action_and_flags_in_cdw13() {
        let mut s = ZoneMgmtSend::new(1, 0x8000, ZoneSendAction::OPEN);
        s.zsaso = true;
        let cmd = s.to_command();
        assert_eq!(cmd.opc, 0x79);
        assert_eq!(cmd.cdw10, 0x8000);
        assert_eq!(cmd.cdw13, 0x203);
        assert_eq!(ZoneMgmtSend::from_command(&cmd), s);
        let all = ZoneMgmtSend {
            select_all: true,
            ..ZoneMgmtSend::new(1, 0, ZoneSendAction::RESET)
        };
        assert_eq!(all.to_command().cdw13, 0x104);
    }

    #[test]
    fn zone_mgmt_recv_places_numd_and_filter() {
        let r = ZoneMgmtRecv::report(1, 0, report_nbytes(4, 0), ZrasFilter::FULL, true);
        let cmd = r.to_command();
        assert_eq!(cmd.opc, 0x7a);
        assert_eq!(cmd.cdw12, (64 + 4 * 64) / 4 - 1);
        assert_eq!(cmd.cdw13, 0x1_0500);
        assert_eq!(ZoneMgmtRecv::from_command(&cmd), r);
        assert_eq!(r.nbytes(), 320);
    }

    fn report(nr_zones: u64, nzones_in_buf: usize, ext: usize) -> std::vec::Vec<u8> {
        let mut buf = std::vec![0u8; report_nbytes(nzones_in_buf, ext) + 1]; // +1: odd tail
        buf[..8].copy_from_slice(&nr_zones.to_le_bytes());
        for i in 0..nzones_in_buf {
            let off = 64 + i * (64 + ext);
            let d = ZoneDescriptor {
                zt: 2,
                zs: 0x10,
                zcap: 100,
                zslba: i as u64 * 128,
                wp: i as u64 * 128,
                ..Default::default()
            };
            buf[off..off + 64].copy_from_slice(d.as_bytes());
            buf[off + 64..off + 64 + ext].fill(i as u8 + 1);
        }
        buf
    }

    #[test]
    fn report_parser_walks_descriptors() {
        let buf = report(3, 3, 0);
        let rep = ZoneReport::parse(&buf, 0).unwrap();
        assert_eq!(rep.header.nr_zones, 3);
        assert_eq!(rep.len(), 3);
        let starts: std::vec::Vec<u64> = rep.iter().map(|e| e.descr.zslba).collect();
        assert_eq!(starts, [0, 128, 256]);
        assert!(
            rep.iter()
                .all(|e| e.ext.is_empty() && e.descr.state() == ZoneState::EMPTY)
        );
    }

    #[test]
    fn report_parser_limits_to_what_the_buffer_holds() {
        // A non-partial report counts all matching zones, not just those returned.
        let buf = report(1000, 2, 0);
        let rep = ZoneReport::parse(&buf, 0).unwrap();
        assert_eq!(rep.len(), 2);
        assert_eq!(rep.iter().count(), 2);
        assert!(ZoneReport::parse(&buf[..10], 0).is_none());
    }

    #[test]
    fn extended_report_yields_extensions() {
        let buf = report(2, 2, 64);
        // Parse from an odd address: the parser must not need alignment.
        let mut shifted = std::vec![0u8; buf.len() + 1];
        shifted[1..].copy_from_slice(&buf);
        let rep = ZoneReport::parse(&shifted[1..], 64).unwrap();
        let entries: std::vec::Vec<_> = (&rep).into_iter().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].ext, &[2u8; 64][..]);
        assert_eq!(entries[1].descr.zslba, 128);
    }
}
