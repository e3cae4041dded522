//! A zoned namespace (ZNS command set, CSI 2) on the ramdisk.
//!
//! `64MiB?zoned=1&zone_size=1MiB` makes the ramdisk's namespace zoned: its
//! blocks are split into zones of `zone_size` bytes, each a sequential
//! write required zone with a write pointer and a state. The URI
//! parameters (sizes take the ramdisk size units, KiB/MiB/GiB):
//!
//! | key          | default       | meaning |
//! |--------------|---------------|---------|
//! | `zoned`      | 0             | 1 makes the namespace zoned |
//! | `zone_size`  | 1MiB          | zone size (ZSZE), a whole number of blocks |
//! | `zone_cap`   | `zone_size`   | zone capacity (ZCAP), at most the zone size |
//! | `max_open`   | 0 (no limit)  | open resources (MOR + 1) |
//! | `max_active` | 0 (no limit)  | active resources (MAR + 1) |
//! | `zde`        | 0             | zone descriptor extension size in bytes, a multiple of 64 |
//! | `zrwa`       | 0 (none)      | zone random write area size (ZRWASZ), a size |
//! | `zrwafg`     | 1             | ZRWA flush granularity in blocks (ZRWAFG) |
//! | `ro_zones`   | 0             | the last N zones start read only (for testing) |
//!
//! The namespace holds `size / zone_size` whole zones; a partial zone at
//! the end is not part of it.
//!
//! Decisions where the specification leaves a choice:
//!
//! - An implicit or explicit open that finds every open resource taken
//!   closes one implicitly opened zone (the lowest) to make room; only when
//!   all open zones are explicitly opened does it fail with Too Many Open
//!   Zones. Select-all Open never closes zones: it opens every closed zone
//!   or none.
//! - Close leaves a zone Closed even when nothing was written to it; Finish
//!   of an Empty zone needs no active resource.
//! - Reports give the write pointer as all ones for zones in the Full, Read
//!   Only and Offline states, where it is not valid.
//! - Reads may cross zone boundaries (OZCS bit 0) and read zeroes above the
//!   write pointer; reads of an offline zone fail with Zone Is Offline.
//! - Zones made read only by `ro_zones` are what the controller "changed":
//!   they are listed in the Changed Zone List log until it is read. Host
//!   commands never add to the list. No Asynchronous Event is raised.
//! - Zone Append to a zone with a ZRWA fails with Invalid Zone Operation
//!   Request, as on QEMU; Zone Append's size limit is MDTS (ZASL 0).
//! - There are as many ZRWA resources as active resources (NUMZRWA = MAR);
//!   an open asking for one when all are taken fails with ZRWA Resources
//!   Unavailable.
//! - With a ZRWA, a write may land anywhere in `[wp, wp + 2 * zrwasz)`; the
//!   part beyond `wp + zrwasz` implicitly flushes the write pointer forward
//!   (rounded up to the flush granularity).
//!
//! I/O opcodes on a zoned namespace: Flush, Read, Write, Compare, Write
//! Zeroes, Verify, Zone Management Send and Receive, and Zone Append;
//! others complete with Invalid Command Opcode.

use std::sync::{Mutex, MutexGuard, PoisonError};

use nvmx_spec::Command;
use nvmx_spec::cmd::NvmRw;
use nvmx_spec::identify::{IdentifyZonedController, IdentifyZonedNamespace, ZonedLbaFormatExt};
use nvmx_spec::log::{ChangedZoneList, GetLogPage};
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{sc, sc_cmd, sct};
use nvmx_spec::zoned::{
    ZoneDescriptor, ZoneMgmtRecv, ZoneMgmtSend, ZoneRecvAction, ZoneReportHeader, ZoneSendAction,
    ZoneState, ZoneType, ZrasFilter, za,
};
use zerocopy::IntoBytes;

use super::admin::{in_buf, out_buf};
use super::ctrl::{Exec, Fail, RamCtrl, field};
use super::ns::{Namespace, NsKind};
use super::nvm;
use super::params::{LBA_FORMATS, Params};
use nvmx_core::be::DataBuf;
use nvmx_core::error::{Error, Result};
use nvmx_core::uri::{Uri, parse_size};

/// The URI parameter names this module reads.
pub(super) const PARAM_KEYS: &[&str] = &[
    "zoned",
    "zone_size",
    "zone_cap",
    "max_open",
    "max_active",
    "zde",
    "zrwa",
    "zrwafg",
    "ro_zones",
];

/// Default zone size in bytes.
const DEFAULT_ZONE_NBYTES: u64 = 1 << 20;

/// A Changed Zone List holds this many zone identifiers.
const CHANGED_ZONES_MAX: usize = 511;

/// The zoned parameters of a ramdisk URI, in bytes as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ZoneParams {
    /// Zone size in bytes.
    pub zone_nbytes: u64,
    /// Zone capacity in bytes.
    pub cap_nbytes: u64,
    /// Open resources, 0 for no limit.
    pub max_open: u32,
    /// Active resources, 0 for no limit.
    pub max_active: u32,
    /// Zone descriptor extension size in bytes.
    pub zde_nbytes: u32,
    /// ZRWA size in bytes, 0 for none.
    pub zrwa_nbytes: u64,
    /// ZRWA flush granularity in blocks.
    pub zrwafg: u16,
    /// How many zones, counted from the last, start read only.
    pub ro_zones: u32,
}

fn bad(why: String) -> Error {
    Error::invalid(
        "ramdisk zoned parameter",
        format!(
            "{why}; zoned parameters: zoned=1, zone_size=SIZE, zone_cap=SIZE, max_open=N, \
             max_active=N, zde=BYTES (multiple of 64), zrwa=SIZE, zrwafg=BLOCKS, ro_zones=N"
        ),
    )
}

impl ZoneParams {
    /// Reads the zoned parameters of `uri`; `None` without `zoned=1`.
    /// `ds` is the data size of the chosen LBA format, `nbytes` the ramdisk
    /// size.
    pub fn from_uri(uri: &Uri, ds: u32, nbytes: u64) -> Result<Option<ZoneParams>> {
        let get = |k: &str| uri.param(k);
        let zoned = match get("zoned") {
            None | Some("0") => false,
            Some("1") => true,
            Some(v) => return Err(bad(format!("zoned={v:?} is not 0 or 1"))),
        };
        if !zoned {
            if let Some(k) = PARAM_KEYS[1..].iter().find(|k| get(k).is_some()) {
                return Err(bad(format!("{k} needs zoned=1")));
            }
            return Ok(None);
        }
        let size = |k: &str, default: u64| -> Result<u64> {
            get(k).map_or(Ok(default), |v| {
                parse_size(v).map_err(|e| bad(format!("{k}={v:?}: {e}")))
            })
        };
        let num = |k: &str| -> Result<u32> {
            get(k).map_or(Ok(0), |v| {
                v.parse::<u32>()
                    .map_err(|_| bad(format!("{k}={v:?} is not a decimal number")))
            })
        };
        let zone_nbytes = size("zone_size", DEFAULT_ZONE_NBYTES)?;
        let p =
            ZoneParams {
                zone_nbytes,
                cap_nbytes: size("zone_cap", zone_nbytes)?,
                max_open: num("max_open")?,
                max_active: num("max_active")?,
                zde_nbytes: num("zde")?,
                zrwa_nbytes: size("zrwa", 0).or_else(|e| match get("zrwa") {
                    Some("0") => Ok(0),
                    _ => Err(e),
                })?,
                zrwafg: match get("zrwafg") {
                    None => 1,
                    Some(v) => v.parse::<u16>().ok().filter(|&g| g > 0).ok_or_else(|| {
                        bad(format!("zrwafg={v:?} is not a block count 1..65535"))
                    })?,
                },
                ro_zones: num("ro_zones")?,
            };
        let ds = u64::from(ds);
        if !p.zone_nbytes.is_multiple_of(ds) || !p.cap_nbytes.is_multiple_of(ds) {
            return Err(bad(format!(
                "zone_size {} and zone_cap {} must be whole {ds}-byte blocks",
                p.zone_nbytes, p.cap_nbytes
            )));
        }
        if p.cap_nbytes > p.zone_nbytes {
            return Err(bad(format!(
                "zone_cap {} is larger than zone_size {}",
                p.cap_nbytes, p.zone_nbytes
            )));
        }
        if p.zone_nbytes > nbytes {
            return Err(bad(format!(
                "zone_size {} is larger than the ramdisk ({nbytes} bytes)",
                p.zone_nbytes
            )));
        }
        if !p.zde_nbytes.is_multiple_of(64) || p.zde_nbytes > 255 * 64 {
            return Err(bad(format!(
                "zde={} is not a multiple of 64 up to {}",
                p.zde_nbytes,
                255 * 64
            )));
        }
        if p.max_active != 0 && p.max_open > p.max_active {
            return Err(bad(format!(
                "max_open={} is larger than max_active={}",
                p.max_open, p.max_active
            )));
        }
        if p.max_open == 0 && p.max_active != 0 {
            return Err(bad(format!(
                "max_active={} needs a max_open limit too (at most max_active)",
                p.max_active
            )));
        }
        let zrwasz = p.zrwa_nbytes / ds;
        if p.zrwa_nbytes != 0
            && (!p.zrwa_nbytes.is_multiple_of(ds)
                || zrwasz > u64::from(u16::MAX)
                || 2 * p.zrwa_nbytes > p.cap_nbytes
                || !zrwasz.is_multiple_of(u64::from(p.zrwafg)))
        {
            return Err(bad(format!(
                "zrwa={} must be whole blocks, a multiple of zrwafg={}, at most half the zone capacity",
                p.zrwa_nbytes, p.zrwafg
            )));
        }
        Ok(Some(p))
    }
}

/// One zone's changing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Zone {
    state: ZoneState,
    /// Write pointer (valid in the Empty, opened and Closed states).
    wp: u64,
    /// Zone attributes (ZA).
    za: u8,
}

/// The zones' states and the changed zone list, under one lock.
struct ZoneSet {
    zones: Vec<Zone>,
    /// Zone descriptor extensions, `zde` bytes per zone.
    ext: Vec<u8>,
    /// Start LBAs of zones the controller changed, oldest first.
    changed: Vec<u64>,
    /// More zones changed than the log holds.
    changed_overflow: bool,
}

/// The zones of a zoned namespace.
pub(super) struct Zones {
    /// Zone size in blocks (ZSZE).
    pub zsze: u64,
    /// Zone capacity in blocks (ZCAP).
    pub zcap: u64,
    /// Number of zones.
    pub nzones: u64,
    /// Open resources, 0 for no limit.
    pub max_open: u32,
    /// Active resources, 0 for no limit.
    pub max_active: u32,
    /// Extension size in bytes.
    pub zde: usize,
    /// ZRWA size in blocks (0: no ZRWA).
    pub zrwasz: u64,
    /// ZRWA flush granularity in blocks.
    pub zrwafg: u64,
    set: Mutex<ZoneSet>,
}

impl std::fmt::Debug for Zones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zones")
            .field("zsze", &self.zsze)
            .field("zcap", &self.zcap)
            .field("nzones", &self.nzones)
            .finish_non_exhaustive()
    }
}

/// The zoned namespace `nsid` of a ramdisk shaped by `p` and `z`.
pub(super) fn namespace(nsid: u32, p: &Params, z: ZoneParams) -> Result<Namespace> {
    let mut ns = Namespace::new_nvm(nsid, p)?;
    let ds = ns.ds();
    let zsze = z.zone_nbytes / ds;
    let nzones = ns.nsze / zsze;
    let zcap = z.cap_nbytes / ds;
    let ro = u64::from(z.ro_zones).min(nzones);
    let mut zones = Vec::new();
    zones.try_reserve_exact(nzones as usize).map_err(|_| {
        Error::invalid(
            "ramdisk size",
            format!("{nzones} zones do not fit in memory"),
        )
    })?;
    let mut changed = Vec::new();
    for i in 0..nzones {
        let zslba = i * zsze;
        let state = if i >= nzones - ro {
            if changed.len() < CHANGED_ZONES_MAX {
                changed.push(zslba);
            }
            ZoneState::READ_ONLY
        } else {
            ZoneState::EMPTY
        };
        zones.push(Zone {
            state,
            wp: zslba,
            za: 0,
        });
    }
    let zde = z.zde_nbytes as usize;
    ns.kind = NsKind::Zoned;
    ns.nsze = nzones * zsze;
    ns.zones = Some(Box::new(Zones {
        zsze,
        zcap,
        nzones,
        max_open: z.max_open,
        max_active: z.max_active,
        zde,
        zrwasz: z.zrwa_nbytes / ds,
        zrwafg: u64::from(z.zrwafg),
        set: Mutex::new(ZoneSet {
            zones,
            ext: vec![0; zde * nzones as usize],
            changed_overflow: ro as usize > CHANGED_ZONES_MAX,
            changed,
        }),
    }));
    Ok(ns)
}

impl Zones {
    fn lock(&self) -> MutexGuard<'_, ZoneSet> {
        self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index of the zone holding `lba` (which must be in the namespace).
    fn index(&self, lba: u64) -> usize {
        (lba / self.zsze) as usize
    }

    fn zslba(&self, idx: usize) -> u64 {
        idx as u64 * self.zsze
    }

    /// The first LBA past the zone's writable capacity.
    fn write_end(&self, idx: usize) -> u64 {
        self.zslba(idx) + self.zcap
    }

    /// The zone descriptor of zone `idx` as a report gives it.
    fn descriptor(&self, set: &ZoneSet, idx: usize) -> ZoneDescriptor {
        let z = set.zones[idx];
        let mut d = ZoneDescriptor {
            zt: ZoneType::SEQ_WRITE_REQUIRED.0,
            za: z.za,
            zcap: self.zcap,
            zslba: self.zslba(idx),
            wp: if matches!(
                z.state,
                ZoneState::FULL | ZoneState::READ_ONLY | ZoneState::OFFLINE
            ) {
                u64::MAX
            } else {
                z.wp
            },
            ..Default::default()
        };
        d.set_state(z.state);
        d
    }
}

impl ZoneSet {
    fn count(&self, f: impl Fn(ZoneState) -> bool) -> u32 {
        self.zones.iter().filter(|z| f(z.state)).count() as u32
    }

    /// How many zones have the attribute bit `bit` set.
    fn count_za(&self, bit: u8) -> u32 {
        self.zones.iter().filter(|z| z.za & bit != 0).count() as u32
    }

    /// Takes the resources to open zone `idx` (Empty, Closed or implicitly
    /// opened) and opens it, explicitly or implicitly. Returns the zone that
    /// was implicitly closed to make room, if any.
    fn open(&mut self, zs: &Zones, idx: usize, explicit: bool) -> Result<Option<usize>, Fail> {
        let state = self.zones[idx].state;
        let new = if explicit {
            ZoneState::EXPLICIT_OPEN
        } else {
            ZoneState::IMPLICIT_OPEN
        };
        if state.is_open() {
            if explicit {
                self.zones[idx].state = new;
            }
            return Ok(None);
        }
        if state == ZoneState::EMPTY
            && zs.max_active != 0
            && self.count(ZoneState::is_active) >= zs.max_active
        {
            return Err(Fail::dnr(
                sct::COMMAND_SPECIFIC,
                sc_cmd::TOO_MANY_ACTIVE_ZONES,
            ));
        }
        let mut closed = None;
        if zs.max_open != 0 && self.count(ZoneState::is_open) >= zs.max_open {
            let victim = self
                .zones
                .iter()
                .position(|z| z.state == ZoneState::IMPLICIT_OPEN)
                .ok_or_else(|| Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::TOO_MANY_OPEN_ZONES))?;
            self.zones[victim].state = ZoneState::CLOSED;
            closed = Some(victim);
        }
        self.zones[idx].state = new;
        Ok(closed)
    }

    /// Moves zone `idx` to Full, dropping its ZRWA.
    fn fill(&mut self, zs: &Zones, idx: usize) {
        let z = &mut self.zones[idx];
        z.state = ZoneState::FULL;
        z.wp = zs.write_end(idx);
        z.za &= !za::ZRWAV;
    }

    /// Moves zone `idx` to Empty: write pointer back at the start, no
    /// extension, no ZRWA.
    fn reset(&mut self, zs: &Zones, idx: usize) {
        self.zones[idx] = Zone {
            state: ZoneState::EMPTY,
            wp: zs.zslba(idx),
            za: 0,
        };
        self.ext[idx * zs.zde..(idx + 1) * zs.zde].fill(0);
    }

    /// Advances zone `idx`'s write pointer to `wp`, filling the zone when
    /// it reaches the capacity.
    fn advance(&mut self, zs: &Zones, idx: usize, wp: u64) {
        self.zones[idx].wp = wp;
        if wp >= zs.write_end(idx) {
            self.fill(zs, idx);
        }
    }
}

/// The status for a zone state that takes no writes.
fn unwritable(state: ZoneState) -> Option<Fail> {
    let code = match state {
        ZoneState::FULL => sc_cmd::ZONE_FULL,
        ZoneState::READ_ONLY => sc_cmd::ZONE_READ_ONLY,
        ZoneState::OFFLINE => sc_cmd::ZONE_OFFLINE,
        _ => return None,
    };
    Some(Fail::dnr(sct::COMMAND_SPECIFIC, code))
}

fn zones_of(ns: &Namespace) -> Result<&Zones, Fail> {
    ns.zones
        .as_deref()
        .ok_or_else(|| Fail::dnr(sct::GENERIC, sc::INTERNAL))
}

/// Runs the I/O command `cmd` on the zoned namespace `ns`.
pub(super) fn exec(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Result<u64, Fail> {
    let zs = zones_of(ns)?;
    match NvmOpcode(cmd.opc) {
        NvmOpcode::FLUSH => Ok(0),
        NvmOpcode::READ | NvmOpcode::COMPARE | NvmOpcode::VERIFY => {
            check_readable(ns, zs, cmd)?;
            nvm::exec(ctrl, ns, cmd, data, meta).map(u64::from)
        }
        NvmOpcode::WRITE | NvmOpcode::WRITE_ZEROES => write(ctrl, ns, zs, cmd, data, meta),
        NvmOpcode::ZONE_APPEND => append(ctrl, ns, zs, cmd, data, meta),
        NvmOpcode::ZONE_MGMT_SEND => mgmt_send(zs, cmd, data).map(u64::from),
        NvmOpcode::ZONE_MGMT_RECV => mgmt_recv(zs, cmd, data).map(u64::from),
        _ => Err(Fail::opcode()),
    }
}

fn out_of_range(lba: u64) -> Fail {
    Fail::dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
        .lba(lba)
        .at(field::CDW10, 0)
}

/// Reads may cross zones, but not into an offline one.
fn check_readable(ns: &Namespace, zs: &Zones, cmd: &Command) -> Result<(), Fail> {
    let rw = NvmRw::from_command(cmd);
    let n = u64::from(rw.nblocks());
    match rw.slba.checked_add(n) {
        Some(end) if end <= ns.nsze => {
            let set = zs.lock();
            let (first, last) = (zs.index(rw.slba), zs.index(end - 1));
            if let Some(i) = (first..=last).find(|&i| set.zones[i].state == ZoneState::OFFLINE) {
                return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_OFFLINE)
                    .lba(zs.zslba(i).max(rw.slba)));
            }
            Ok(())
        }
        _ => Err(out_of_range(rw.slba)),
    }
}

/// Write and Write Zeroes: at the write pointer (or inside the ZRWA),
/// within the zone's capacity, opening the zone implicitly.
fn write(
    ctrl: &RamCtrl,
    ns: &Namespace,
    zs: &Zones,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Result<u64, Fail> {
    let rw = NvmRw::from_command(cmd);
    let n = u64::from(rw.nblocks());
    let end = rw
        .slba
        .checked_add(n)
        .filter(|&e| e <= ns.nsze)
        .ok_or_else(|| out_of_range(rw.slba))?;
    let idx = zs.index(rw.slba);
    let mut set = zs.lock();
    let z = set.zones[idx];
    if let Some(f) = unwritable(z.state) {
        return Err(f.lba(rw.slba));
    }
    let zrwa = z.za & za::ZRWAV != 0;
    let new_wp = if zrwa {
        if rw.slba < z.wp || end > z.wp + 2 * zs.zrwasz {
            return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_INVALID_WRITE).lba(rw.slba));
        }
        if end > z.wp + zs.zrwasz {
            // Implicit flush: the write pointer moves so that the write
            // ends inside the ZRWA, in whole flush granules.
            let over = end - (z.wp + zs.zrwasz);
            z.wp + over.div_ceil(zs.zrwafg) * zs.zrwafg
        } else {
            z.wp
        }
    } else {
        if rw.slba != z.wp {
            return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_INVALID_WRITE).lba(rw.slba));
        }
        end
    };
    if end > zs.write_end(idx) {
        return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_BOUNDARY_ERROR).lba(rw.slba));
    }
    let closed = set.open(zs, idx, false)?;
    if let Err(e) = nvm::exec(ctrl, ns, cmd, data, meta) {
        // Nothing was written: undo the implicit open.
        set.zones[idx] = z;
        if let Some(c) = closed {
            set.zones[c].state = ZoneState::IMPLICIT_OPEN;
        }
        return Err(e);
    }
    set.advance(zs, idx, new_wp.min(zs.write_end(idx)));
    Ok(0)
}

/// Zone Append: writes at the zone's write pointer and returns the LBA it
/// wrote (completion dwords 0 and 1).
fn append(
    ctrl: &RamCtrl,
    ns: &Namespace,
    zs: &Zones,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Result<u64, Fail> {
    let rw = NvmRw::from_command(cmd);
    let n = u64::from(rw.nblocks());
    if rw.slba >= ns.nsze {
        return Err(out_of_range(rw.slba));
    }
    if !rw.slba.is_multiple_of(zs.zsze) {
        return Err(Fail::field(field::CDW10).lba(rw.slba));
    }
    let idx = zs.index(rw.slba);
    let mut set = zs.lock();
    let z = set.zones[idx];
    if let Some(f) = unwritable(z.state) {
        return Err(f.lba(rw.slba));
    }
    if z.za & za::ZRWAV != 0 {
        return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_ZONE_OPERATION).lba(rw.slba));
    }
    if z.wp + n > zs.write_end(idx) {
        return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_BOUNDARY_ERROR).lba(rw.slba));
    }
    let closed = set.open(zs, idx, false)?;
    let mut wr = *cmd;
    wr.opc = NvmOpcode::WRITE.0;
    wr.set_cdw10_11(z.wp);
    if let Err(e) = nvm::exec(ctrl, ns, &wr, data, meta) {
        set.zones[idx] = z;
        if let Some(c) = closed {
            set.zones[c].state = ZoneState::IMPLICIT_OPEN;
        }
        return Err(e);
    }
    set.advance(zs, idx, z.wp + n);
    Ok(z.wp)
}

fn invalid_transition() -> Fail {
    Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_ZONE_STATE_TRANSITION)
}

/// Zone Management Send.
fn mgmt_send(zs: &Zones, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let s = ZoneMgmtSend::from_command(cmd);
    let mut set = zs.lock();
    if s.select_all {
        return send_all(zs, &mut set, s.zsa).map(|()| 0);
    }
    if s.zsa == ZoneSendAction::FLUSH_ZRWA {
        return flush_zrwa(zs, &mut set, s.slba).map(|()| 0);
    }
    if s.slba >= zs.nzones * zs.zsze {
        return Err(out_of_range(s.slba));
    }
    if !s.slba.is_multiple_of(zs.zsze) {
        return Err(Fail::field(field::CDW10).lba(s.slba));
    }
    let idx = zs.index(s.slba);
    let state = set.zones[idx].state;
    if s.zsaso && (s.zsa != ZoneSendAction::OPEN || zs.zrwasz == 0) {
        return Err(Fail::field(field::CDW12 + 5).lba(s.slba));
    }
    let r = match (s.zsa, state) {
        (ZoneSendAction::OPEN, ZoneState::EMPTY | ZoneState::CLOSED | ZoneState::IMPLICIT_OPEN) => {
            if s.zsaso && set.zones[idx].wp != zs.zslba(idx) {
                // A ZRWA goes only to a zone with nothing written.
                return Err(invalid_transition().lba(s.slba));
            }
            if s.zsaso && zs.max_active != 0 && set.count_za(za::ZRWAV) >= zs.max_active {
                return Err(
                    Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::ZRWA_RESOURCES_UNAVAILABLE)
                        .lba(s.slba),
                );
            }
            set.open(zs, idx, true)?;
            if s.zsaso {
                set.zones[idx].za |= za::ZRWAV;
            }
            Ok(())
        }
        (ZoneSendAction::OPEN, ZoneState::EXPLICIT_OPEN) if !s.zsaso => Ok(()),
        (ZoneSendAction::CLOSE, ZoneState::IMPLICIT_OPEN | ZoneState::EXPLICIT_OPEN) => {
            set.zones[idx].state = ZoneState::CLOSED;
            Ok(())
        }
        (ZoneSendAction::CLOSE, ZoneState::CLOSED) => Ok(()),
        (
            ZoneSendAction::FINISH,
            ZoneState::EMPTY
            | ZoneState::IMPLICIT_OPEN
            | ZoneState::EXPLICIT_OPEN
            | ZoneState::CLOSED
            | ZoneState::FULL,
        ) => {
            set.fill(zs, idx);
            Ok(())
        }
        (
            ZoneSendAction::RESET,
            ZoneState::EMPTY
            | ZoneState::IMPLICIT_OPEN
            | ZoneState::EXPLICIT_OPEN
            | ZoneState::CLOSED
            | ZoneState::FULL,
        ) => {
            set.reset(zs, idx);
            Ok(())
        }
        (ZoneSendAction::OFFLINE, ZoneState::READ_ONLY | ZoneState::OFFLINE) => {
            set.zones[idx].state = ZoneState::OFFLINE;
            set.zones[idx].za = 0;
            Ok(())
        }
        (ZoneSendAction::SET_ZDE, _) => return set_zde(zs, &mut set, idx, &data).map(|()| 0),
        (
            ZoneSendAction::OPEN
            | ZoneSendAction::CLOSE
            | ZoneSendAction::FINISH
            | ZoneSendAction::RESET
            | ZoneSendAction::OFFLINE,
            _,
        ) => Err(invalid_transition()),
        _ => return Err(Fail::field(field::CDW12 + 1)),
    };
    r.map(|()| 0).map_err(|f: Fail| f.lba(s.slba))
}

/// Set Zone Descriptor Extension: an Empty zone gets its extension and
/// becomes Closed (taking an active resource).
fn set_zde(zs: &Zones, set: &mut ZoneSet, idx: usize, data: &DataBuf<'_>) -> Result<(), Fail> {
    if zs.zde == 0 {
        return Err(Fail::field(field::CDW12 + 1));
    }
    let src = in_buf(data, zs.zde)?;
    if set.zones[idx].state != ZoneState::EMPTY {
        return Err(invalid_transition().lba(zs.zslba(idx)));
    }
    if zs.max_active != 0 && set.count(ZoneState::is_active) >= zs.max_active {
        return Err(Fail::dnr(
            sct::COMMAND_SPECIFIC,
            sc_cmd::TOO_MANY_ACTIVE_ZONES,
        ));
    }
    set.ext[idx * zs.zde..(idx + 1) * zs.zde].copy_from_slice(src);
    let z = &mut set.zones[idx];
    z.za |= za::ZDEV;
    z.state = ZoneState::CLOSED;
    Ok(())
}

/// ZRWA flush: commits the ZRWA up to and including `lba`.
fn flush_zrwa(zs: &Zones, set: &mut ZoneSet, lba: u64) -> Result<(), Fail> {
    if zs.zrwasz == 0 {
        return Err(Fail::field(field::CDW12 + 1));
    }
    if lba >= zs.nzones * zs.zsze {
        return Err(out_of_range(lba));
    }
    let idx = zs.index(lba);
    let z = set.zones[idx];
    if z.za & za::ZRWAV == 0 || !z.state.is_active() {
        return Err(invalid_transition().lba(lba));
    }
    let new_wp = lba + 1;
    if lba < z.wp
        || new_wp > z.wp + zs.zrwasz
        || new_wp > zs.write_end(idx)
        || !(new_wp - z.wp).is_multiple_of(zs.zrwafg)
    {
        return Err(Fail::field(field::CDW10).lba(lba));
    }
    set.advance(zs, idx, new_wp);
    Ok(())
}

/// A Zone Management Send with Select All.
fn send_all(zs: &Zones, set: &mut ZoneSet, zsa: ZoneSendAction) -> Result<(), Fail> {
    let each = |set: &mut ZoneSet, from: &[ZoneState], f: &dyn Fn(&mut ZoneSet, usize)| {
        for i in 0..set.zones.len() {
            if from.contains(&set.zones[i].state) {
                f(set, i);
            }
        }
    };
    match zsa {
        ZoneSendAction::OPEN => {
            let closed = set.count(|s| s == ZoneState::CLOSED);
            if zs.max_open != 0 && set.count(ZoneState::is_open) + closed > zs.max_open {
                return Err(Fail::dnr(
                    sct::COMMAND_SPECIFIC,
                    sc_cmd::TOO_MANY_OPEN_ZONES,
                ));
            }
            each(set, &[ZoneState::CLOSED], &|s, i| {
                s.zones[i].state = ZoneState::EXPLICIT_OPEN;
            });
        }
        ZoneSendAction::CLOSE => each(
            set,
            &[ZoneState::IMPLICIT_OPEN, ZoneState::EXPLICIT_OPEN],
            &|s, i| s.zones[i].state = ZoneState::CLOSED,
        ),
        ZoneSendAction::FINISH => each(
            set,
            &[
                ZoneState::IMPLICIT_OPEN,
                ZoneState::EXPLICIT_OPEN,
                ZoneState::CLOSED,
            ],
            &|s, i| s.fill(zs, i),
        ),
        ZoneSendAction::RESET => each(
            set,
            &[
                ZoneState::IMPLICIT_OPEN,
                ZoneState::EXPLICIT_OPEN,
                ZoneState::CLOSED,
                ZoneState::FULL,
            ],
            &|s, i| s.reset(zs, i),
        ),
        ZoneSendAction::OFFLINE => each(set, &[ZoneState::READ_ONLY], &|s, i| {
            s.zones[i].state = ZoneState::OFFLINE;
            s.zones[i].za = 0;
        }),
        // Set ZDE and ZRWA flush name one zone.
        _ => return Err(Fail::field(field::CDW12 + 1)),
    }
    Ok(())
}

/// Whether a zone in `state` passes the report filter.
fn matches(filter: ZrasFilter, state: ZoneState) -> bool {
    match filter {
        ZrasFilter::ALL => true,
        ZrasFilter::EMPTY => state == ZoneState::EMPTY,
        ZrasFilter::IOPEN => state == ZoneState::IMPLICIT_OPEN,
        ZrasFilter::EOPEN => state == ZoneState::EXPLICIT_OPEN,
        ZrasFilter::CLOSED => state == ZoneState::CLOSED,
        ZrasFilter::FULL => state == ZoneState::FULL,
        ZrasFilter::RONLY => state == ZoneState::READ_ONLY,
        ZrasFilter::OFFLINE => state == ZoneState::OFFLINE,
        _ => false,
    }
}

/// Zone Management Receive: a (possibly extended, filtered, partial) zone
/// report from the zone holding SLBA on.
fn mgmt_recv(zs: &Zones, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let r = ZoneMgmtRecv::from_command(cmd);
    let ext = match r.zra {
        ZoneRecvAction::REPORT => 0,
        ZoneRecvAction::EXTENDED_REPORT if zs.zde > 0 => zs.zde,
        _ => return Err(Fail::field(field::CDW12 + 1)),
    };
    if r.zrasf.0 > ZrasFilter::OFFLINE.0 {
        return Err(Fail::field(field::CDW12 + 2));
    }
    if r.slba >= zs.nzones * zs.zsze {
        return Err(out_of_range(r.slba));
    }
    let nbytes = r.nbytes();
    let buf = out_buf(&mut data, nbytes, "Zone Management Receive")?;
    let buf = &mut buf[..nbytes as usize];
    buf.fill(0);
    let set = zs.lock();
    let stride = size_of::<ZoneDescriptor>() + ext;
    let hdr = size_of::<ZoneReportHeader>();
    let room = buf.len().saturating_sub(hdr) / stride;
    let (mut matched, mut put) = (0u64, 0usize);
    for idx in zs.index(r.slba)..set.zones.len() {
        if !matches(r.zrasf, set.zones[idx].state) {
            continue;
        }
        matched += 1;
        if put < room {
            let off = hdr + put * stride;
            let d = zs.descriptor(&set, idx);
            buf[off..off + 64].copy_from_slice(d.as_bytes());
            if ext > 0 && d.has_extension() {
                buf[off + 64..off + stride].copy_from_slice(&set.ext[idx * ext..(idx + 1) * ext]);
            }
            put += 1;
        } else if r.partial {
            break;
        }
    }
    let nr_zones = if r.partial { put as u64 } else { matched };
    if let Some(h) = buf.get_mut(..8) {
        h.copy_from_slice(&nr_zones.to_le_bytes());
    }
    Ok(0)
}

/// Identify I/O Command Set specific Namespace (CNS 05h) for the Zoned
/// command set.
pub(super) fn identify_namespace(ns: &Namespace) -> Result<IdentifyZonedNamespace, Fail> {
    let zs = ns
        .zones
        .as_deref()
        .ok_or_else(|| Fail::field(field::CDW11 + 3))?;
    let limit = |n: u32| if n == 0 { u32::MAX } else { n - 1 };
    let mut id = IdentifyZonedNamespace {
        ozcs: 0x1 | if zs.zrwasz > 0 { 0x2 } else { 0 },
        mar: limit(zs.max_active),
        mor: limit(zs.max_open),
        ..Default::default()
    };
    if zs.zrwasz > 0 {
        id.numzrwa = limit(zs.max_active);
        id.zrwafg = zs.zrwafg as u16;
        id.zrwasz = zs.zrwasz as u16;
        id.zrwacap = 0x1;
    }
    let zone_nbytes = zs.zsze * ns.ds();
    for (e, f) in id.lbafe.iter_mut().zip(LBA_FORMATS) {
        *e = ZonedLbaFormatExt {
            zsze: zone_nbytes / u64::from(f.ds),
            zdes: (zs.zde / 64) as u8,
            ..Default::default()
        };
    }
    Ok(id)
}

/// Identify I/O Command Set specific Controller (CNS 06h) for the Zoned
/// command set: Zone Append is limited by MDTS only.
pub(super) fn identify_controller() -> IdentifyZonedController {
    IdentifyZonedController::default()
}

/// The Changed Zone List log of `ns`; reading it with RAE clear empties it.
pub(super) fn changed_zone_list(ns: &Namespace, glp: &GetLogPage) -> Result<Vec<u8>, Fail> {
    let zs = ns.zones.as_deref().ok_or_else(Fail::namespace)?;
    let mut set = zs.lock();
    let mut log = ChangedZoneList::default();
    if set.changed_overflow {
        log.nrzid = 0xffff;
    } else {
        log.nrzid = set.changed.len() as u16;
        for (slot, zid) in log.zid.iter_mut().zip(&set.changed) {
            *slot = *zid;
        }
    }
    if !glp.rae {
        set.changed.clear();
        set.changed_overflow = false;
    }
    Ok(log.as_bytes().to_vec())
}
