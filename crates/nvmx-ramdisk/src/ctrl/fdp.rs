//! The Flexible Data Placement model's state: reclaim unit handles,
//! their usage and the event logs (commands in the fdp module).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nvmx_spec::cmd::{NvmRw, dtype};
use nvmx_spec::fdp::{FdpEvent, FdpEventType, fdp_event_flags};
use nvmx_spec::identify::{IdentifyController, IdentifyNamespace, ctratt};

use super::RamCtrl;
use crate::fail::{Fail, field};
use crate::params::fdp::FdpParams;

/// The endurance group the namespace belongs to when FDP is on.
pub(crate) const ENDGID: u16 = 1;
/// Events kept per log (host, controller): what a 4 KiB log holds.
const MAX_EVENTS: usize = 63;
/// The event types the FDP Events feature knows, in the order Get
/// Features lists them.
pub(crate) const EVENT_TYPES: [FdpEventType; 6] = [
    FdpEventType::RU_NOT_FULLY_WRITTEN,
    FdpEventType::RU_TIME_LIMIT_EXCEEDED,
    FdpEventType::CTRL_RESET_MODIFIED_RUHS,
    FdpEventType::INVALID_PID,
    FdpEventType::MEDIA_REALLOCATED,
    FdpEventType::IMPLICIT_RUH_MODIFIED,
];

/// What the FDP model changes as commands run.
#[derive(Debug)]
pub(crate) struct FdpState {
    /// FDP mode: enabled (the FDP Mode feature).
    pub(crate) enabled: bool,
    /// Blocks left in the reclaim unit each handle fills, `[rg * nruh + ruh]`.
    pub(crate) ruamw: Vec<u64>,
    /// Host bytes with metadata written.
    pub(crate) hbmw: u128,
    /// Media bytes with metadata written.
    pub(crate) mbmw: u128,
    /// Media bytes erased.
    pub(crate) mbe: u128,
    /// Host events, oldest first.
    pub(crate) host_events: VecDeque<FdpEvent>,
    /// Controller events, oldest first.
    pub(crate) ctrl_events: VecDeque<FdpEvent>,
    /// Enabled events per placement handle: bit i is `EVENT_TYPES[i]`.
    pub(crate) filters: Vec<u8>,
}

/// The FDP model of a ramdisk.
#[derive(Debug)]
pub(crate) struct Fdp {
    pub(crate) p: FdpParams,
    /// Reclaim unit handle of each placement handle.
    pub(crate) phs: Vec<u16>,
    /// Blocks per reclaim unit.
    pub(crate) ru_blocks: u64,
    /// Data and metadata bytes per block, for the byte counters.
    block_bytes: u64,
    state: Mutex<FdpState>,
}

/// Where a write's blocks go, decided before the data moves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    rg: u16,
    ph: u16,
    /// The placement identifier given, when it was invalid.
    invalid_pid: Option<u16>,
}

impl Fdp {
    /// The model for `p`, on a namespace of `ds` + `ms` byte blocks.
    pub fn new(p: FdpParams, ds: u32, ms: u16) -> Fdp {
        let phs = p.placement_handles();
        let ru_blocks = p.runs / u64::from(ds);
        let n = usize::from(p.nrg) * usize::from(p.nruh);
        Fdp {
            state: Mutex::new(FdpState {
                enabled: true,
                ruamw: vec![ru_blocks; n],
                hbmw: 0,
                mbmw: 0,
                mbe: 0,
                host_events: VecDeque::new(),
                ctrl_events: VecDeque::new(),
                filters: vec![0; phs.len()],
            }),
            p,
            phs,
            ru_blocks,
            block_bytes: u64::from(ds) + u64::from(ms),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, FdpState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether FDP is enabled (FDP Mode feature).
    pub fn enabled(&self) -> bool {
        self.state().enabled
    }

    /// The reclaim group and placement handle of `pid`, when valid.
    pub(crate) fn parse_pid(&self, pid: u16) -> Option<(u16, u16)> {
        let rgif = self.p.rgif();
        let (rg, ph) = match rgif {
            0 => (0, pid),
            r => (pid >> (16 - u32::from(r)), pid & (u16::MAX >> r)),
        };
        (rg < self.p.nrg && usize::from(ph) < self.phs.len()).then_some((rg, ph))
    }

    pub(crate) fn slot(&self, rg: u16, ph: u16) -> usize {
        usize::from(rg) * usize::from(self.p.nruh) + usize::from(self.phs[usize::from(ph)])
    }

    /// Decides where a write goes: DTYPE 2 with a placement identifier,
    /// or the default placement.
    pub fn place(&self, rw: &NvmRw) -> std::result::Result<Placement, Fail> {
        let st = self.state();
        if rw.dtype == dtype::DATA_PLACEMENT && !st.enabled {
            return Err(Fail::field(field::CDW12 + 2));
        }
        if rw.dtype != dtype::DATA_PLACEMENT {
            return Ok(Placement {
                rg: 0,
                ph: 0,
                invalid_pid: None,
            });
        }
        Ok(match self.parse_pid(rw.dspec) {
            Some((rg, ph)) => Placement {
                rg,
                ph,
                invalid_pid: None,
            },
            None => Placement {
                rg: 0,
                ph: 0,
                invalid_pid: Some(rw.dspec),
            },
        })
    }

    /// Accounts `n` blocks written at `place` by namespace `nsid`.
    pub fn written(&self, ctrl: &RamCtrl, nsid: u32, place: Placement, n: u64) {
        let mut st = self.state();
        if !st.enabled {
            return;
        }
        if let Some(pid) = place.invalid_pid {
            let ev = self.event(ctrl, FdpEventType::INVALID_PID, nsid, pid, None);
            log_event(&mut st, 0, ev, true);
        }
        let slot = self.slot(place.rg, place.ph);
        let mut left = n;
        while left > 0 {
            let room = st.ruamw[slot];
            if left < room {
                st.ruamw[slot] -= left;
                break;
            }
            // This unit is full: the handle moves to a freshly erased one.
            left -= room;
            st.ruamw[slot] = self.ru_blocks;
            st.mbe += u128::from(self.p.runs);
        }
        let bytes = u128::from(n * self.block_bytes);
        st.hbmw += bytes;
        st.mbmw += bytes;
    }

    pub(crate) fn event(
        &self,
        ctrl: &RamCtrl,
        etype: FdpEventType,
        nsid: u32,
        pid: u16,
        loc: Option<(u16, u16)>,
    ) -> FdpEvent {
        let mut e = FdpEvent {
            etype: etype.0,
            flags: fdp_event_flags::PIV | fdp_event_flags::NSIDV,
            pid,
            nsid,
            ..Default::default()
        };
        let ms = ctrl.created.elapsed().as_millis() as u64;
        e.timestamp[..6].copy_from_slice(&ms.to_le_bytes()[..6]);
        if let Some((rg, ruh)) = loc {
            e.flags |= fdp_event_flags::LV;
            e.rgid = rg;
            e.ruhid = ruh as u8;
        }
        e
    }

    /// The Identify Controller bits: FDP and endurance groups.
    pub fn identify_controller(&self, c: &mut IdentifyController) {
        c.ctratt |= ctratt::FDP | ctratt::ENDURANCE_GROUPS;
        c.endgidmax = ENDGID;
    }

    /// The Identify Namespace bits: the endurance group.
    pub fn identify_namespace(&self, id: &mut IdentifyNamespace) {
        id.endgid = ENDGID;
    }
}

/// Logs `ev` if the event is enabled on placement handle `ph`.
pub(crate) fn log_event(st: &mut FdpState, ph: u16, ev: FdpEvent, host: bool) {
    let Some(bit) = EVENT_TYPES.iter().position(|t| t.0 == ev.etype) else {
        return;
    };
    if st
        .filters
        .get(usize::from(ph))
        .is_none_or(|f| f & 1 << bit == 0)
    {
        return;
    }
    let q = if host {
        &mut st.host_events
    } else {
        &mut st.ctrl_events
    };
    if q.len() == MAX_EVENTS {
        q.pop_front();
    }
    q.push_back(ev);
}
