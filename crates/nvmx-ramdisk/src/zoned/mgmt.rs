//! Zone Management Send: open, close, finish, reset, offline, the
//! descriptor extension and ZRWA flushes, on one zone or all.

use nvmx_spec::Command;
use nvmx_spec::status::{sc_cmd, sct};
use nvmx_spec::zoned::{ZoneMgmtSend, ZoneSendAction, ZoneState, za};

use super::out_of_range;
use crate::bufs::in_buf;
use crate::fail::{Exec, Fail, field};
use crate::ns::zones::{ZoneSet, Zones};
use nvmx_core::be::DataBuf;
use nvmx_core::error::Result;

pub(super) fn invalid_transition() -> Fail {
    Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_ZONE_STATE_TRANSITION)
}

/// Zone Management Send.
pub(super) fn mgmt_send(zs: &Zones, cmd: &Command, data: DataBuf<'_>) -> Exec {
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
