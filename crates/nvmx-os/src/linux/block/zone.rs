//! Zoned block devices as zoned namespaces: the kernel's zone reports
//! turned into NVMe zone reports, and Zone Management Send and Receive
//! carried out with the block layer's zone ioctls.
//!
//! The kernel's zone conditions have the values of the NVMe zone states,
//! so a `struct blk_zone` maps onto a zone descriptor field by field once
//! sectors are converted to logical blocks. Two things have no block-layer
//! counterpart and are refused with Invalid Field: the extended report
//! (zone descriptor extensions) and the Offline, Set Zone Descriptor
//! Extension and ZRWA flush actions. Zone Append has no user-space ioctl
//! and is an Invalid Opcode.

use nvmx_spec::Command;
use nvmx_spec::Completion;
use nvmx_spec::status::{sc, sct};
use nvmx_spec::zoned::{
    ZoneDescriptor, ZoneMgmtRecv, ZoneMgmtSend, ZoneRecvAction, ZoneSendAction, ZrasFilter, za,
};
use zerocopy::IntoBytes;

use super::ioctl::{
    BLK_ZONE_REP_CAPACITY, BlkZone, REPORT_BATCH, ZoneOp, ZoneReportBuf, zone_cond,
};
use super::{BlockDev, status};
use nvmx_core::be::DataBuf;
use nvmx_core::error::{Error, Result};

/// Size of a report header and of each descriptor.
const ENTRY: usize = 64;

/// Converts a kernel zone into an NVMe zone descriptor. `shift` is log2 of
/// the logical block size minus 9 (sectors to blocks); `has_capacity`
/// says whether the report's `capacity` fields are valid (kernels before
/// 5.9 have none, and the capacity is then the zone size).
pub fn descriptor(z: &BlkZone, shift: u32, has_capacity: bool) -> ZoneDescriptor {
    let cap = if has_capacity { z.capacity } else { z.len };
    ZoneDescriptor {
        zt: z.zone_type & 0xf,
        zs: (z.cond & 0xf) << 4,
        za: if z.reset != 0 { za::RZR } else { 0 },
        zcap: cap >> shift,
        zslba: z.start >> shift,
        wp: z.wp >> shift,
        ..Default::default()
    }
}

/// Which zones a report lists.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Filter {
    /// Every zone.
    All,
    /// Only zones in this condition.
    Cond(u8),
}

impl Filter {
    /// The filter of a report's ZRASF field; `None` for a reserved value.
    pub fn from_zrasf(f: ZrasFilter) -> Option<Filter> {
        Some(match f {
            ZrasFilter::ALL => Filter::All,
            ZrasFilter::EMPTY => Filter::Cond(zone_cond::EMPTY),
            ZrasFilter::IOPEN => Filter::Cond(zone_cond::IMP_OPEN),
            ZrasFilter::EOPEN => Filter::Cond(zone_cond::EXP_OPEN),
            ZrasFilter::CLOSED => Filter::Cond(zone_cond::CLOSED),
            ZrasFilter::FULL => Filter::Cond(zone_cond::FULL),
            ZrasFilter::RONLY => Filter::Cond(zone_cond::READONLY),
            ZrasFilter::OFFLINE => Filter::Cond(zone_cond::OFFLINE),
            _ => return None,
        })
    }

    fn matches(self, cond: u8) -> bool {
        match self {
            Filter::All => true,
            Filter::Cond(c) => c == cond,
        }
    }
}

/// Writes an NVMe zone report into a buffer, one zone at a time.
///
/// The header's zone count is, as the specification says, the number of
/// matching zones from the starting LBA to the end of the namespace, or
/// with a partial report only those that fit in the buffer.
#[derive(Debug)]
pub struct ReportWriter<'a> {
    out: &'a mut [u8],
    room: usize,
    written: usize,
    matched: u64,
    partial: bool,
    filter: Filter,
}

impl<'a> ReportWriter<'a> {
    /// Starts a report in `out` (zeroed here).
    pub fn new(out: &'a mut [u8], filter: Filter, partial: bool) -> Self {
        out.fill(0);
        let room = out.len().saturating_sub(ENTRY) / ENTRY;
        ReportWriter {
            out,
            room,
            written: 0,
            matched: 0,
            partial,
            filter,
        }
    }

    /// Adds one zone; returns whether more zones are wanted.
    pub fn push(&mut self, z: &BlkZone, shift: u32, has_capacity: bool) -> bool {
        if self.filter.matches(z.cond) {
            if self.written < self.room {
                let at = ENTRY + self.written * ENTRY;
                let d = descriptor(z, shift, has_capacity);
                self.out[at..at + ENTRY].copy_from_slice(d.as_bytes());
                self.written += 1;
            }
            self.matched += 1;
        }
        !(self.partial && self.written >= self.room)
    }

    /// Writes the header; returns the zone count it holds.
    pub fn finish(self) -> u64 {
        let n = if self.partial {
            self.written as u64
        } else {
            self.matched
        };
        if let Some(h) = self.out.get_mut(..8) {
            h.copy_from_slice(&n.to_le_bytes());
        }
        n
    }
}

/// Whether a select-all zone action applies to a zone in `cond` (ZNS:
/// close acts on open zones, finish on open and closed ones, open on
/// closed ones, reset on open, closed and full ones).
pub fn select_all_applies(op: ZoneOp, cond: u8) -> bool {
    use zone_cond::*;
    match op {
        ZoneOp::Close => matches!(cond, IMP_OPEN | EXP_OPEN),
        ZoneOp::Finish => matches!(cond, IMP_OPEN | EXP_OPEN | CLOSED),
        ZoneOp::Open => cond == CLOSED,
        ZoneOp::Reset => matches!(cond, IMP_OPEN | EXP_OPEN | CLOSED | FULL),
    }
}

/// The block-layer operation of a zone send action.
pub fn zone_op(zsa: ZoneSendAction) -> Option<ZoneOp> {
    Some(match zsa {
        ZoneSendAction::CLOSE => ZoneOp::Close,
        ZoneSendAction::FINISH => ZoneOp::Finish,
        ZoneSendAction::OPEN => ZoneOp::Open,
        ZoneSendAction::RESET => ZoneOp::Reset,
        _ => return None,
    })
}

fn new_report_buf() -> Box<ZoneReportBuf> {
    Box::new(ZoneReportBuf {
        hdr: Default::default(),
        zones: [BlkZone::default(); REPORT_BATCH],
    })
}

impl BlockDev {
    fn zone_shift(&self) -> u32 {
        self.ssw - 9
    }

    /// Walks the zones from `sector` to the end of the device, in batches,
    /// calling `f` with each and whether capacities are valid; stops when
    /// `f` returns false.
    fn walk_zones(
        &self,
        sector: u64,
        mut f: impl FnMut(&BlkZone, bool) -> Result<bool>,
    ) -> Result<()> {
        let mut buf = new_report_buf();
        let mut next = sector;
        let end = self.nbytes >> 9;
        while next < end {
            let n = super::ioctl::report_zone(&self.file, next, &mut buf)
                .map_err(|e| Error::io("BLKREPORTZONE", &self.path, e))?;
            if n == 0 {
                break;
            }
            let has_cap = buf.hdr.flags & BLK_ZONE_REP_CAPACITY != 0;
            for z in &buf.zones[..n] {
                if !f(z, has_cap)? {
                    return Ok(());
                }
            }
            let last = &buf.zones[n - 1];
            let after = last.start.saturating_add(last.len.max(1));
            if after <= next {
                break;
            }
            next = after;
        }
        Ok(())
    }

    /// Reports up to `max` zones from `sector` on, as the kernel gives
    /// them (sectors of 512 bytes).
    pub fn report_zones(&self, sector: u64, max: usize) -> Result<Vec<BlkZone>> {
        let mut v = Vec::new();
        if max == 0 {
            return Ok(v);
        }
        self.walk_zones(sector, |z, _| {
            v.push(*z);
            Ok(v.len() < max)
        })?;
        Ok(v)
    }

    /// Applies `op` to the whole zones in `nr_sectors` sectors from
    /// `sector` (`BLKRESETZONE`, `BLKOPENZONE`, `BLKCLOSEZONE`,
    /// `BLKFINISHZONE`). Needs the device open for writing.
    pub fn zone_mgmt(&self, op: ZoneOp, sector: u64, nr_sectors: u64) -> Result<()> {
        super::ioctl::zone_mgmt(&self.file, op, sector, nr_sectors)
            .map_err(|e| Error::io(op.name(), &self.path, e))
    }

    /// The number of zones (`BLKGETNRZONES`; 0 when not zoned).
    pub fn nr_zones(&self) -> Result<u32> {
        super::ioctl::get_nr_zones(&self.file)
            .map_err(|e| Error::io("BLKGETNRZONES", &self.path, e))
    }

    /// The zone size in 512-byte sectors (`BLKGETZONESZ`; 0 when not
    /// zoned).
    pub fn zone_sectors(&self) -> Result<u32> {
        super::ioctl::get_zone_sectors(&self.file)
            .map_err(|e| Error::io("BLKGETZONESZ", &self.path, e))
    }

    /// Zone Management Receive: a zone report.
    pub(super) fn zone_mgmt_recv(
        &self,
        cmd: &Command,
        mut data: DataBuf<'_>,
    ) -> Result<Completion> {
        let r = ZoneMgmtRecv::from_command(cmd);
        if r.zra != ZoneRecvAction::REPORT {
            return Ok(status(sct::GENERIC, sc::INVALID_FIELD));
        }
        let Some(filter) = Filter::from_zrasf(r.zrasf) else {
            return Ok(status(sct::GENERIC, sc::INVALID_FIELD));
        };
        if r.slba >= self.nsze() {
            return Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
        }
        let buf = data.as_mut_slice().ok_or_else(|| {
            Error::invalid(
                "data buffer",
                "Zone Management Receive needs a writable buffer",
            )
        })?;
        let n = usize::try_from(r.nbytes())
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let shift = self.zone_shift();
        let mut w = ReportWriter::new(&mut buf[..n], filter, r.partial);
        self.walk_zones(r.slba << shift, |z, cap| Ok(w.push(z, shift, cap)))?;
        w.finish();
        Ok(Completion::success(0))
    }

    /// Zone Management Send: close, finish, open or reset one zone, or
    /// every zone in a suitable state (select all).
    pub(super) fn zone_mgmt_send(&self, cmd: &Command) -> Result<Completion> {
        let s = ZoneMgmtSend::from_command(cmd);
        let Some(op) = zone_op(s.zsa) else {
            return Ok(status(sct::GENERIC, sc::INVALID_FIELD));
        };
        let Some(zi) = &self.zoned else {
            return Ok(status(sct::GENERIC, sc::INVALID_OPCODE));
        };
        let shift = self.zone_shift();
        let end = self.nbytes >> 9;
        if s.select_all {
            if op == ZoneOp::Reset {
                // The kernel turns a whole-device range into Reset All.
                self.zone_mgmt(op, 0, end)?;
                return Ok(Completion::success(0));
            }
            let mut todo = Vec::new();
            self.walk_zones(0, |z, _| {
                if select_all_applies(op, z.cond) {
                    todo.push((z.start, z.len));
                }
                Ok(true)
            })?;
            for (start, len) in todo {
                self.zone_mgmt(op, start, len)?;
            }
            return Ok(Completion::success(0));
        }
        if s.slba >= self.nsze() {
            return Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
        }
        let sector = s.slba << shift;
        if zi.zone_sectors == 0 || !sector.is_multiple_of(zi.zone_sectors) {
            // Not the lowest LBA of a zone.
            return Ok(status(sct::GENERIC, sc::INVALID_FIELD));
        }
        self.zone_mgmt(op, sector, zi.zone_sectors.min(end - sector))?;
        Ok(Completion::success(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nvmx_spec::zoned::{ZoneReport, ZoneState};

    fn zone(start: u64, len: u64, wp: u64, cond: u8, cap: u64) -> BlkZone {
        BlkZone {
            start,
            len,
            wp,
            zone_type: 2,
            cond,
            capacity: cap,
            ..Default::default()
        }
    }

    #[test]
    fn kernel_zones_convert_to_descriptors_in_logical_blocks() {
        // 4 KiB blocks: shift 3. Zone of 1 MiB (2048 sectors), capacity 768 KiB.
        let z = zone(2048, 2048, 2048 + 16, zone_cond::IMP_OPEN, 1536);
        let d = descriptor(&z, 3, true);
        assert_eq!(d.zone_type().0, 2);
        assert_eq!(d.state(), ZoneState::IMPLICIT_OPEN);
        assert_eq!((d.zslba, d.wp, d.zcap), (256, 258, 192));
        // Without capacity reporting, the capacity is the zone size.
        assert_eq!(descriptor(&z, 3, false).zcap, 256);
        // 512-byte blocks: no shift; reset recommended becomes RZR.
        let mut z = zone(0, 1024, 1024, zone_cond::FULL, 1024);
        z.reset = 1;
        let d = descriptor(&z, 0, true);
        assert_eq!(
            (d.state(), d.zslba, d.zcap, d.za),
            (ZoneState::FULL, 0, 1024, za::RZR)
        );
    }

    #[test]
    fn report_counts_matching_zones_and_fills_what_fits() {
        let zones = [
            zone(0, 8, 0, zone_cond::EMPTY, 8),
            zone(8, 8, 12, zone_cond::IMP_OPEN, 8),
            zone(16, 8, 16, zone_cond::EMPTY, 8),
            zone(24, 8, 32, zone_cond::FULL, 8),
        ];
        // Room for two descriptors; all four zones counted.
        let mut buf = vec![0xaau8; 64 * 3];
        let mut w = ReportWriter::new(&mut buf, Filter::All, false);
        for z in &zones {
            assert!(w.push(z, 0, true), "a full report keeps counting");
        }
        assert_eq!(w.finish(), 4);
        let r = ZoneReport::parse(&buf, 0).unwrap();
        assert_eq!(r.len(), 2);
        let first: Vec<u64> = r.iter().map(|e| e.descr.zslba).collect();
        assert_eq!(first, [0, 8]);
        assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), 4);

        // Partial report of empty zones: stops when the buffer is full.
        let mut buf = vec![0u8; 64 * 2];
        let mut w = ReportWriter::new(
            &mut buf,
            Filter::from_zrasf(ZrasFilter::EMPTY).unwrap(),
            true,
        );
        assert!(
            !w.push(&zones[0], 0, true),
            "one descriptor of room: full after the first"
        );
        assert_eq!(w.finish(), 1);
        assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), 1);
        assert_eq!(
            u64::from_le_bytes(buf[64 + 16..64 + 24].try_into().unwrap()),
            0,
            "zslba of zone 0"
        );

        // Filtered full report: only the full zone.
        let mut buf = vec![0u8; 64 * 5];
        let mut w = ReportWriter::new(&mut buf, Filter::Cond(zone_cond::FULL), false);
        zones.iter().for_each(|z| {
            w.push(z, 0, true);
        });
        assert_eq!(w.finish(), 1);
        let r = ZoneReport::parse(&buf, 0).unwrap();
        assert_eq!(r.iter().next().unwrap().descr.zslba, 24);

        // A buffer smaller than the header: no panic, nothing written.
        let mut tiny = [0u8; 4];
        let mut w = ReportWriter::new(&mut tiny, Filter::All, true);
        assert!(!w.push(&zones[0], 0, true));
        assert_eq!(w.finish(), 0);
    }

    #[test]
    fn filters_and_actions_map_to_the_block_layer() {
        assert_eq!(Filter::from_zrasf(ZrasFilter::ALL), Some(Filter::All));
        assert_eq!(
            Filter::from_zrasf(ZrasFilter::FULL),
            Some(Filter::Cond(zone_cond::FULL))
        );
        assert_eq!(
            Filter::from_zrasf(ZrasFilter::RONLY),
            Some(Filter::Cond(zone_cond::READONLY))
        );
        assert_eq!(Filter::from_zrasf(ZrasFilter(9)), None);
        assert_eq!(zone_op(ZoneSendAction::CLOSE), Some(ZoneOp::Close));
        assert_eq!(zone_op(ZoneSendAction::FINISH), Some(ZoneOp::Finish));
        assert_eq!(zone_op(ZoneSendAction::OPEN), Some(ZoneOp::Open));
        assert_eq!(zone_op(ZoneSendAction::RESET), Some(ZoneOp::Reset));
        assert_eq!(zone_op(ZoneSendAction::OFFLINE), None);
        assert!(select_all_applies(ZoneOp::Close, zone_cond::EXP_OPEN));
        assert!(!select_all_applies(ZoneOp::Close, zone_cond::CLOSED));
        assert!(select_all_applies(ZoneOp::Finish, zone_cond::CLOSED));
        assert!(select_all_applies(ZoneOp::Open, zone_cond::CLOSED));
        assert!(!select_all_applies(ZoneOp::Open, zone_cond::EMPTY));
        assert!(!select_all_applies(ZoneOp::Reset, zone_cond::EMPTY));
    }
}
