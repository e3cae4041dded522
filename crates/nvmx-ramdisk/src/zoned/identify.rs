//! The zoned Identify structures and the Changed Zone List log page.

use nvmx_spec::identify::{IdentifyZonedController, IdentifyZonedNamespace, ZonedLbaFormatExt};
use nvmx_spec::log::{ChangedZoneList, GetLogPage};
use zerocopy::IntoBytes;

use crate::fail::{Fail, field};
use crate::ns::Namespace;
use crate::params::LBA_FORMATS;
use nvmx_core::error::Result;

/// Identify I/O Command Set specific Namespace (CNS 05h) for the Zoned
/// command set.
pub(crate) fn identify_namespace(ns: &Namespace) -> Result<IdentifyZonedNamespace, Fail> {
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
pub(crate) fn identify_controller() -> IdentifyZonedController {
    IdentifyZonedController::default()
}

/// The Changed Zone List log of `ns`; reading it with RAE clear empties it.
pub(crate) fn changed_zone_list(ns: &Namespace, glp: &GetLogPage) -> Result<Vec<u8>, Fail> {
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
