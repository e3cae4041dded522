//! Typed Zoned Namespace (ZNS) functions on [`Device`], run synchronously.
//!
//! A zoned namespace is split into zones that are written sequentially at
//! their write pointer (or appended to, the controller choosing the LBA)
//! and reset as a whole. These functions cover Zone Management Send (open,
//! close, finish, reset, offline, set descriptor extension, ZRWA flush; one
//! zone or all), Zone Management Receive (plain and extended reports,
//! filtered by state, partial), Zone Append and the Changed Zone List log.
//!
//! Arguments are checked against the zone geometry before the device sees
//! a command; a wrong one is a typed error ([`Error::OutOfRange`],
//! [`Error::Misaligned`], ...) naming it. Each call that
//! needs the geometry reads it with one Identify command; callers issuing
//! many commands can read [`Device::zone_geometry`] once and use
//! [`Device::zone_mgmt_send`] and [`Device::zone_mgmt_recv`] directly.

use nvmx_spec::cmd::{IoFlags, NvmRw};
use nvmx_spec::identify::{
    Cns, IdentifyNamespace, IdentifyZonedController, IdentifyZonedNamespace,
};
use nvmx_spec::log::{ChangedZoneList, LogPageId};
use nvmx_spec::opcode::{Csi, NvmOpcode};
use nvmx_spec::zoned::{
    ZoneDescriptor, ZoneMgmtRecv, ZoneMgmtSend, ZoneRecvAction, ZoneReport, ZoneSendAction,
    ZoneState, ZrasFilter, report_nbytes,
};
use nvmx_spec::{Command, Completion};
use serde::Serialize;
use zerocopy::FromBytes;

use crate::be::DataBuf;
use crate::buf::Buffer;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::queue::{Queue, Rejected};

/// The zone layout and limits of a zoned namespace, from its Identify data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ZoneGeometry {
    /// Number of zones.
    pub nzones: u64,
    /// Zone size in logical blocks (ZSZE of the active format).
    pub zsze: u64,
    /// Zone descriptor extension size in bytes (ZDES x 64; 0 for none).
    pub zdes_nbytes: usize,
    /// Maximum active zones, `None` for no limit (MAR + 1).
    pub max_active: Option<u32>,
    /// Maximum open zones, `None` for no limit (MOR + 1).
    pub max_open: Option<u32>,
    /// Zone random write area size in blocks (0 when not supported).
    pub zrwasz: u16,
    /// ZRWA flush granularity in blocks.
    pub zrwafg: u16,
    /// Reads may cross zone boundaries (OZCS bit 0).
    pub read_across_zones: bool,
}

impl ZoneGeometry {
    /// Derives the geometry from Identify Namespace (`nsze` and the
    /// active format) and the zoned Identify Namespace.
    pub fn from_identify(ns: &IdentifyNamespace, zns: &IdentifyZonedNamespace) -> Result<Self> {
        let (nsze, idx) = (ns.nsze, ns.flbas_index());
        let lbafe = zns.lbafe.get(idx).copied().unwrap_or_default();
        if lbafe.zsze == 0 {
            return Err(Error::bad_reply(
                "zoned Identify Namespace",
                format!("LBA format {idx} has a zone size of 0 blocks; is the namespace zoned?"),
            ));
        }
        let limit = |v: u32| v.checked_add(1);
        Ok(ZoneGeometry {
            nzones: nsze / lbafe.zsze,
            zsze: lbafe.zsze,
            zdes_nbytes: lbafe.zdes_nbytes(),
            max_active: limit(zns.mar),
            max_open: limit(zns.mor),
            zrwasz: if zns.ozcs & 0x2 != 0 { zns.zrwasz } else { 0 },
            zrwafg: zns.zrwafg,
            read_across_zones: zns.ozcs & 0x1 != 0,
        })
    }

    /// The start LBA of the zone holding `lba`.
    pub fn zslba_of(&self, lba: u64) -> u64 {
        lba - lba % self.zsze
    }

    /// The start LBA of zone number `index`.
    pub fn zslba(&self, index: u64) -> u64 {
        index * self.zsze
    }

    /// Checks that `zslba` is the start of a zone of the namespace.
    pub fn check_zslba(&self, zslba: u64) -> Result<()> {
        if zslba >= self.nzones * self.zsze {
            return Err(Error::out_of_range(
                "zslba",
                format!(
                    "{zslba:#x} is past the last zone ({} zones of {} blocks)",
                    self.nzones, self.zsze
                ),
            ));
        }
        if !zslba.is_multiple_of(self.zsze) {
            return Err(Error::misaligned(
                "zslba",
                format!(
                    "{zslba:#x} is not a zone start (zones are {:#x} blocks; this LBA's zone starts at {:#x})",
                    self.zsze,
                    self.zslba_of(zslba)
                ),
            ));
        }
        Ok(())
    }
}

/// One entry of a zone report, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneEntry {
    /// The zone descriptor.
    pub descr: ZoneDescriptor,
    /// The zone descriptor extension (empty in a plain report, or when the
    /// descriptor's ZDEV attribute is clear in an extended one).
    pub ext: Vec<u8>,
}

/// A zone report, owned: what Zone Management Receive returned, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneReportData {
    /// The LBA the report started from.
    pub slba: u64,
    /// The header's zone count: every zone matching the filter from `slba`
    /// on, or with a partial report only those returned.
    pub nr_zones: u64,
    /// Whether descriptor extensions were asked for.
    pub extended: bool,
    /// The filter used.
    pub filter: ZrasFilter,
    /// The descriptors returned.
    pub entries: Vec<ZoneEntry>,
}

/// The report filter that selects zones in `state`.
pub fn filter_for_state(state: ZoneState) -> Option<ZrasFilter> {
    Some(match state {
        ZoneState::EMPTY => ZrasFilter::EMPTY,
        ZoneState::IMPLICIT_OPEN => ZrasFilter::IOPEN,
        ZoneState::EXPLICIT_OPEN => ZrasFilter::EOPEN,
        ZoneState::CLOSED => ZrasFilter::CLOSED,
        ZoneState::FULL => ZrasFilter::FULL,
        ZoneState::READ_ONLY => ZrasFilter::RONLY,
        ZoneState::OFFLINE => ZrasFilter::OFFLINE,
        _ => return None,
    })
}

impl Device {
    /// The number of zones of a zoned namespace for its geometry, 0 when
    /// the zoned Identify data cannot be read. The device asks this when it
    /// reads its identity, through the `Device` method rather than an
    /// import, so `device.rs` does not depend on this module.
    pub(crate) fn nzone(&self, ns: &IdentifyNamespace) -> u32 {
        self.identify_zoned_namespace()
            .and_then(|z| ZoneGeometry::from_identify(ns, &z))
            .map_or(0, |g| u32::try_from(g.nzones).unwrap_or(u32::MAX))
    }
}

/// The LBA a Zone Append wrote its first block to, from completion dwords
/// 0 and 1.
pub fn appended_lba(cpl: &Completion) -> u64 {
    cpl.result64()
}

impl Device {
    /// Identify I/O Command Set specific Namespace for the Zoned command
    /// set (CNS 05h, CSI 02h) of this device's namespace.
    pub fn identify_zoned_namespace(&self) -> Result<Box<IdentifyZonedNamespace>> {
        let mut buf = vec![0u8; 4096];
        self.identify(Cns::CSI_NAMESPACE.0, self.nsid(), Csi::ZONED.0, &mut buf)?;
        IdentifyZonedNamespace::read_from_bytes(&buf)
            .map(Box::new)
            .map_err(|_| {
                Error::bad_reply(
                    "zoned Identify Namespace",
                    "short zoned Identify Namespace data",
                )
            })
    }

    /// Identify I/O Command Set specific Controller for the Zoned command
    /// set (CNS 06h, CSI 02h).
    pub fn identify_zoned_controller(&self) -> Result<Box<IdentifyZonedController>> {
        let mut buf = vec![0u8; 4096];
        self.identify(Cns::CSI_CONTROLLER.0, 0, Csi::ZONED.0, &mut buf)?;
        IdentifyZonedController::read_from_bytes(&buf)
            .map(Box::new)
            .map_err(|_| {
                Error::bad_reply(
                    "zoned Identify Controller",
                    "short zoned Identify Controller data",
                )
            })
    }

    /// The namespace's zone geometry (one zoned Identify Namespace command).
    pub fn zone_geometry(&self) -> Result<ZoneGeometry> {
        let ns = self.identify_namespace()?;
        ZoneGeometry::from_identify(ns, &*self.identify_zoned_namespace()?)
    }

    /// Zone Management Send as given, without checks beyond the buffer:
    /// action `zsa` on the zone at `slba` (or every zone in a suitable
    /// state with `select_all`), with the action specific option `zsaso`;
    /// `data` is the extension for Set Zone Descriptor Extension.
    pub fn zone_mgmt_send(
        &self,
        slba: u64,
        zsa: ZoneSendAction,
        select_all: bool,
        zsaso: bool,
        data: Option<&[u8]>,
    ) -> Result<Completion> {
        let mut cmd = ZoneMgmtSend {
            nsid: self.nsid(),
            slba,
            zsa,
            select_all,
            zsaso,
        }
        .to_command();
        self.cmd_io(
            &mut cmd,
            data.map_or(DataBuf::None, DataBuf::Out),
            DataBuf::None,
        )
    }

    /// A checked single-zone action.
    fn zone_action(&self, zslba: u64, zsa: ZoneSendAction, zsaso: bool) -> Result<Completion> {
        self.zone_geometry()?.check_zslba(zslba)?;
        self.zone_mgmt_send(zslba, zsa, false, zsaso, None)
    }

    /// Opens the zone starting at `zslba` explicitly.
    pub fn zone_open(&self, zslba: u64) -> Result<Completion> {
        self.zone_action(zslba, ZoneSendAction::OPEN, false)
    }

    /// Opens the empty zone at `zslba` explicitly and gives it a zone
    /// random write area (ZSASO); [`Error::Unsupported`] when the namespace
    /// has no ZRWA.
    pub fn zone_open_zrwa(&self, zslba: u64) -> Result<Completion> {
        let g = self.zone_geometry()?;
        if g.zrwasz == 0 {
            return Err(Error::unsupported(
                "namespace",
                "a zone random write area (ZRWA; OZCS bit 1 clear)",
            ));
        }
        g.check_zslba(zslba)?;
        self.zone_mgmt_send(zslba, ZoneSendAction::OPEN, false, true, None)
    }

    /// Closes the zone starting at `zslba`.
    pub fn zone_close(&self, zslba: u64) -> Result<Completion> {
        self.zone_action(zslba, ZoneSendAction::CLOSE, false)
    }

    /// Finishes the zone starting at `zslba` (moves it to Full).
    pub fn zone_finish(&self, zslba: u64) -> Result<Completion> {
        self.zone_action(zslba, ZoneSendAction::FINISH, false)
    }

    /// Resets the zone starting at `zslba` (moves it to Empty).
    pub fn zone_reset(&self, zslba: u64) -> Result<Completion> {
        self.zone_action(zslba, ZoneSendAction::RESET, false)
    }

    /// Takes the read only zone starting at `zslba` offline.
    pub fn zone_offline(&self, zslba: u64) -> Result<Completion> {
        self.zone_action(zslba, ZoneSendAction::OFFLINE, false)
    }

    /// Applies `zsa` (Open, Close, Finish, Reset or Offline) to every zone
    /// in a state the action applies to (Select All).
    pub fn zone_mgmt_all(&self, zsa: ZoneSendAction) -> Result<Completion> {
        if !matches!(
            zsa,
            ZoneSendAction::OPEN
                | ZoneSendAction::CLOSE
                | ZoneSendAction::FINISH
                | ZoneSendAction::RESET
                | ZoneSendAction::OFFLINE
        ) {
            return Err(Error::invalid(
                "zsa",
                format!("{zsa} ({:#x}) does not apply to all zones", zsa.0),
            ));
        }
        self.zone_mgmt_send(0, zsa, true, false, None)
    }

    /// Sets the zone descriptor extension of the empty zone at `zslba`
    /// (which becomes Closed); `ext` must be exactly the namespace's
    /// extension size.
    pub fn zone_set_descriptor_extension(&self, zslba: u64, ext: &[u8]) -> Result<Completion> {
        let g = self.zone_geometry()?;
        g.check_zslba(zslba)?;
        if g.zdes_nbytes == 0 {
            return Err(Error::unsupported(
                "namespace",
                "zone descriptor extensions: its format has none (ZDES 0)",
            ));
        }
        if ext.len() != g.zdes_nbytes {
            return Err(Error::invalid(
                "zone descriptor extension",
                format!(
                    "{} bytes; the namespace's extensions are {} bytes",
                    ext.len(),
                    g.zdes_nbytes
                ),
            ));
        }
        self.zone_mgmt_send(zslba, ZoneSendAction::SET_ZDE, false, false, Some(ext))
    }

    /// Flushes the zone random write area of the zone holding `lba` up to
    /// and including `lba`: the write pointer moves to `lba + 1`.
    pub fn zrwa_flush(&self, lba: u64) -> Result<Completion> {
        let g = self.zone_geometry()?;
        if g.zrwasz == 0 {
            return Err(Error::unsupported(
                "namespace",
                "a zone random write area (ZRWA; OZCS bit 1 clear)",
            ));
        }
        if lba >= g.nzones * g.zsze {
            return Err(Error::out_of_range(
                "lba",
                format!("{lba:#x} is past the last zone"),
            ));
        }
        self.zone_mgmt_send(lba, ZoneSendAction::FLUSH_ZRWA, false, false, None)
    }

    /// Zone Management Receive as given into `buf` (a non-zero multiple
    /// of 4 bytes, at least the 64-byte header).
    pub fn zone_mgmt_recv(
        &self,
        slba: u64,
        zra: ZoneRecvAction,
        zrasf: ZrasFilter,
        partial: bool,
        buf: &mut [u8],
    ) -> Result<Completion> {
        if buf.len() < 64 || !buf.len().is_multiple_of(4) {
            return Err(Error::invalid(
                "report buffer",
                format!(
                    "{} bytes; a zone report needs at least the 64-byte header, in whole dwords",
                    buf.len()
                ),
            ));
        }
        let mut cmd = ZoneMgmtRecv {
            zra,
            ..ZoneMgmtRecv::report(self.nsid(), slba, buf.len(), zrasf, partial)
        }
        .to_command();
        self.cmd_io(&mut cmd, DataBuf::In(buf), DataBuf::None)
    }

    /// Reports the zones from the one holding `slba` on that pass `filter`,
    /// at most `limit` of them (`None`: all). With `extended`, each entry
    /// carries its descriptor extension. Large reports are read in pieces
    /// no larger than MDTS; `partial` asks for a header that counts only
    /// the zones returned, not all that match.
    pub fn report_zones(
        &self,
        slba: u64,
        filter: ZrasFilter,
        limit: Option<u64>,
        extended: bool,
        partial: bool,
    ) -> Result<ZoneReportData> {
        let g = self.zone_geometry()?;
        self.report_zones_with(&g, slba, filter, limit, extended, partial)
    }

    /// [`Device::report_zones`] with a geometry read before.
    pub fn report_zones_with(
        &self,
        g: &ZoneGeometry,
        slba: u64,
        filter: ZrasFilter,
        limit: Option<u64>,
        extended: bool,
        partial: bool,
    ) -> Result<ZoneReportData> {
        if slba >= g.nzones * g.zsze {
            return Err(Error::out_of_range(
                "slba",
                format!(
                    "{slba:#x} is past the last zone ({} zones of {:#x} blocks)",
                    g.nzones, g.zsze
                ),
            ));
        }
        if filter.0 > ZrasFilter::OFFLINE.0 {
            return Err(Error::out_of_range(
                "report filter",
                format!("{:#x} is not a ZRASF value (0-7)", filter.0),
            ));
        }
        if extended && g.zdes_nbytes == 0 {
            return Err(Error::unsupported(
                "namespace",
                "an extended report: its format has no zone descriptor extension (ZDES 0)",
            ));
        }
        let ext = if extended { g.zdes_nbytes } else { 0 };
        let zra = if extended {
            ZoneRecvAction::EXTENDED_REPORT
        } else {
            ZoneRecvAction::REPORT
        };
        let zones_left = g.nzones - slba / g.zsze;
        let want = limit.unwrap_or(zones_left).min(zones_left);
        let mdts = self.geometry()?.mdts_nbytes as usize;
        let per_cmd = (mdts.saturating_sub(64) / (64 + ext)).max(1);
        let mut out = ZoneReportData {
            slba,
            nr_zones: 0,
            extended,
            filter,
            entries: Vec::new(),
        };
        let mut next = g.zslba_of(slba);
        let mut first = true;
        while (out.entries.len() as u64) < want && next < g.nzones * g.zsze {
            let n = (want - out.entries.len() as u64).min(per_cmd as u64) as usize;
            let mut buf = vec![0u8; report_nbytes(n, ext)];
            // The first piece gives the header the caller asked for; later
            // ones are partial, so they stop at what fits.
            self.zone_mgmt_recv(next, zra, filter, partial || !first, &mut buf)?;
            let rep = ZoneReport::parse(&buf, ext).ok_or_else(|| {
                Error::bad_reply(
                    "Zone Management Receive",
                    "zone report shorter than its header",
                )
            })?;
            if first {
                out.nr_zones = rep.header.nr_zones;
            }
            first = false;
            let before = out.entries.len();
            for e in rep.iter() {
                next = e.descr.zslba + g.zsze;
                out.entries.push(ZoneEntry {
                    descr: e.descr,
                    ext: if e.descr.has_extension() {
                        e.ext.to_vec()
                    } else {
                        Vec::new()
                    },
                });
            }
            if out.entries.len() == before || rep.len() < n {
                break;
            }
        }
        if partial {
            out.nr_zones = out.entries.len() as u64;
        }
        Ok(out)
    }

    /// The descriptor of the zone holding `lba`.
    pub fn zone_descriptor(&self, lba: u64) -> Result<ZoneDescriptor> {
        let rep = self.report_zones(lba, ZrasFilter::ALL, Some(1), false, true)?;
        rep.entries.first().map(|e| e.descr).ok_or_else(|| {
            Error::bad_reply(
                "Zone Management Receive",
                format!("the report of all zones has no zone holding {lba:#x}"),
            )
        })
    }

    /// The descriptors of every zone in `state`.
    pub fn zones_in_state(&self, state: ZoneState) -> Result<Vec<ZoneDescriptor>> {
        let filter = filter_for_state(state)
            .ok_or_else(|| Error::invalid("zone state", format!("{state} has no report filter")))?;
        let rep = self.report_zones(0, filter, None, false, true)?;
        Ok(rep.entries.into_iter().map(|e| e.descr).collect())
    }

    /// The lowest zone in `state`, if any.
    pub fn first_zone_in_state(&self, state: ZoneState) -> Result<Option<ZoneDescriptor>> {
        let filter = filter_for_state(state)
            .ok_or_else(|| Error::invalid("zone state", format!("{state} has no report filter")))?;
        let rep = self.report_zones(0, filter, Some(1), false, true)?;
        Ok(rep.entries.first().map(|e| e.descr))
    }

    /// The lowest empty zone, if any.
    pub fn first_empty_zone(&self) -> Result<Option<ZoneDescriptor>> {
        self.first_zone_in_state(ZoneState::EMPTY)
    }

    /// How many zones are in each state: a count per [`ZoneState`] that
    /// occurs, lowest state value first.
    pub fn zone_state_counts(&self) -> Result<Vec<(ZoneState, u64)>> {
        let rep = self.report_zones(0, ZrasFilter::ALL, None, false, false)?;
        let mut counts: Vec<(ZoneState, u64)> = Vec::new();
        for e in &rep.entries {
            let s = e.descr.state();
            match counts.iter_mut().find(|(k, _)| *k == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
        counts.sort_by_key(|(s, _)| s.0);
        Ok(counts)
    }

    fn append_command(&self, zslba: u64, nlb: u16) -> Command {
        NvmRw {
            opc: NvmOpcode::ZONE_APPEND.0,
            nsid: self.nsid(),
            slba: zslba,
            nlb,
            flags: IoFlags::NONE,
            ..Default::default()
        }
        .to_command()
    }

    /// Zone Append: writes `nlb + 1` blocks from `data` (and `meta`) to
    /// the zone starting at `zslba`, at its write pointer, and returns the
    /// LBA the first block went to.
    pub fn zone_append(
        &self,
        zslba: u64,
        nlb: u16,
        data: &[u8],
        meta: Option<&[u8]>,
    ) -> Result<u64> {
        let g = self.zone_geometry()?;
        g.check_zslba(zslba)?;
        self.check_lba_io(zslba, nlb, data.len(), meta.map(<[u8]>::len))?;
        let mut cmd = self.append_command(zslba, nlb);
        let cpl = self.cmd_io(
            &mut cmd,
            DataBuf::Out(data),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )?;
        Ok(appended_lba(&cpl))
    }

    /// The Changed Zone List log (LID BFh) of this namespace. Reading it
    /// clears it on the device unless `rae` (Retain Asynchronous Event).
    pub fn changed_zone_list(&self, rae: bool) -> Result<Box<ChangedZoneList>> {
        let mut buf = vec![0u8; size_of::<ChangedZoneList>()];
        let mut cmd = nvmx_spec::log::GetLogPage {
            rae,
            csi: Csi::ZONED,
            ..nvmx_spec::log::GetLogPage::new(LogPageId::CHANGED_ZONE_LIST, self.nsid(), buf.len())
        }
        .to_command();
        self.cmd_admin(&mut cmd, DataBuf::In(&mut buf))?;
        ChangedZoneList::read_from_bytes(&buf)
            .map(Box::new)
            .map_err(|_| Error::bad_reply("Get Log Page", "short Changed Zone List"))
    }
}

// `Rejected` carries the buffers back by value, as for every submission
// (see the queue module).
#[allow(clippy::result_large_err)]
impl Queue {
    /// Submits a Zone Append of `nlb + 1` blocks from `data` to the zone
    /// starting at `zslba`. The LBA the device chose comes back in the
    /// completion: see [`crate::Completed::appended_lba`]. The zone start is not
    /// checked here (that would take an Identify per command); a wrong one
    /// completes with Invalid Field.
    pub fn zone_append(
        &mut self,
        zslba: u64,
        nlb: u16,
        data: Buffer,
        meta: Option<Buffer>,
        tag: u64,
    ) -> Result<(), Rejected> {
        let dev = self.device();
        if let Err(error) = dev.check_lba_io(zslba, nlb, data.len(), meta.as_ref().map(|m| m.len()))
        {
            return Err(Rejected {
                error,
                data: Some(data),
                meta,
            });
        }
        let cmd = dev.append_command(zslba, nlb);
        self.submit(cmd, Some(data), meta, tag)
    }
}
