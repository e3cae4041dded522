//! Zone Management Receive: the zone report.

use nvmx_spec::Command;
use nvmx_spec::zoned::{
    ZoneDescriptor, ZoneMgmtRecv, ZoneRecvAction, ZoneReportHeader, ZoneState, ZrasFilter,
};
use zerocopy::IntoBytes;

use super::out_of_range;
use crate::bufs::out_buf;
use crate::fail::{Exec, Fail, field};
use crate::ns::zones::Zones;
use nvmx_core::be::DataBuf;

/// Whether a zone in `state` passes the report filter.
pub(super) fn matches(filter: ZrasFilter, state: ZoneState) -> bool {
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
pub(super) fn mgmt_recv(zs: &Zones, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
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
