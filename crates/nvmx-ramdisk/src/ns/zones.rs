//! The zones of a zoned namespace and their state machine: open, close,
//! fill, reset and the write pointer, under one lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

use nvmx_spec::status::{sc_cmd, sct};
use nvmx_spec::zoned::{ZoneDescriptor, ZoneState, ZoneType, za};

use crate::fail::Fail;
use crate::ns::{Namespace, NsKind};
use crate::params::Params;
use crate::params::zoned::{CHANGED_ZONES_MAX, ZoneParams};
use nvmx_core::error::{Error, Result};

/// One zone's changing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Zone {
    pub(crate) state: ZoneState,
    /// Write pointer (valid in the Empty, opened and Closed states).
    pub(crate) wp: u64,
    /// Zone attributes (ZA).
    pub(crate) za: u8,
}

/// The zones' states and the changed zone list, under one lock.
pub(crate) struct ZoneSet {
    pub(crate) zones: Vec<Zone>,
    /// Zone descriptor extensions, `zde` bytes per zone.
    pub(crate) ext: Vec<u8>,
    /// Start LBAs of zones the controller changed, oldest first.
    pub(crate) changed: Vec<u64>,
    /// More zones changed than the log holds.
    pub(crate) changed_overflow: bool,
}

/// The zones of a zoned namespace.
pub(crate) struct Zones {
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
pub(crate) fn namespace(nsid: u32, p: &Params, z: ZoneParams) -> Result<Namespace> {
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
    pub(crate) fn lock(&self) -> MutexGuard<'_, ZoneSet> {
        self.set.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index of the zone holding `lba` (which must be in the namespace).
    pub(crate) fn index(&self, lba: u64) -> usize {
        (lba / self.zsze) as usize
    }

    pub(crate) fn zslba(&self, idx: usize) -> u64 {
        idx as u64 * self.zsze
    }

    /// The first LBA past the zone's writable capacity.
    pub(crate) fn write_end(&self, idx: usize) -> u64 {
        self.zslba(idx) + self.zcap
    }

    /// The zone descriptor of zone `idx` as a report gives it.
    pub(crate) fn descriptor(&self, set: &ZoneSet, idx: usize) -> ZoneDescriptor {
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
    pub(crate) fn count(&self, f: impl Fn(ZoneState) -> bool) -> u32 {
        self.zones.iter().filter(|z| f(z.state)).count() as u32
    }

    /// How many zones have the attribute bit `bit` set.
    pub(crate) fn count_za(&self, bit: u8) -> u32 {
        self.zones.iter().filter(|z| z.za & bit != 0).count() as u32
    }

    /// Takes the resources to open zone `idx` (Empty, Closed or implicitly
    /// opened) and opens it, explicitly or implicitly. Returns the zone that
    /// was implicitly closed to make room, if any.
    pub(crate) fn open(
        &mut self,
        zs: &Zones,
        idx: usize,
        explicit: bool,
    ) -> Result<Option<usize>, Fail> {
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
    pub(crate) fn fill(&mut self, zs: &Zones, idx: usize) {
        let z = &mut self.zones[idx];
        z.state = ZoneState::FULL;
        z.wp = zs.write_end(idx);
        z.za &= !za::ZRWAV;
    }

    /// Moves zone `idx` to Empty: write pointer back at the start, no
    /// extension, no ZRWA.
    pub(crate) fn reset(&mut self, zs: &Zones, idx: usize) {
        self.zones[idx] = Zone {
            state: ZoneState::EMPTY,
            wp: zs.zslba(idx),
            za: 0,
        };
        self.ext[idx * zs.zde..(idx + 1) * zs.zde].fill(0);
    }

    /// Advances zone `idx`'s write pointer to `wp`, filling the zone when
    /// it reaches the capacity.
    pub(crate) fn advance(&mut self, zs: &Zones, idx: usize, wp: u64) {
        self.zones[idx].wp = wp;
        if wp >= zs.write_end(idx) {
            self.fill(zs, idx);
        }
    }
}

/// The status for a zone state that takes no writes.
pub(crate) fn unwritable(state: ZoneState) -> Option<Fail> {
    let code = match state {
        ZoneState::FULL => sc_cmd::ZONE_FULL,
        ZoneState::READ_ONLY => sc_cmd::ZONE_READ_ONLY,
        ZoneState::OFFLINE => sc_cmd::ZONE_OFFLINE,
        _ => return None,
    };
    Some(Fail::dnr(sct::COMMAND_SPECIFIC, code))
}
