//! The I/O commands of a zoned namespace: reads, writes at the write
//! pointer, and Zone Append.

use nvmx_spec::Command;
use nvmx_spec::cmd::NvmRw;
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{sc, sc_cmd, sct};
use nvmx_spec::zoned::{ZoneState, za};

use super::mgmt::mgmt_send;
use super::out_of_range;
use super::report::mgmt_recv;
use crate::ctrl::RamCtrl;
use crate::fail::{Fail, field};
use crate::ns::Namespace;
use crate::ns::zones::{Zones, unwritable};
use crate::nvm;
use nvmx_core::be::DataBuf;
use nvmx_core::error::Result;

pub(super) fn zones_of(ns: &Namespace) -> Result<&Zones, Fail> {
    ns.zones
        .as_deref()
        .ok_or_else(|| Fail::dnr(sct::GENERIC, sc::INTERNAL))
}

/// Runs the I/O command `cmd` on the zoned namespace `ns`.
pub(crate) fn exec(
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

/// Reads may cross zones, but not into an offline one.
pub(super) fn check_readable(ns: &Namespace, zs: &Zones, cmd: &Command) -> Result<(), Fail> {
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
