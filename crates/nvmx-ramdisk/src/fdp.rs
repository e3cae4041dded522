//! Flexible Data Placement on the ramdisk.
//!
//! `?fdp=1` puts the namespace in endurance group 1 with FDP enabled under
//! one FDP configuration (index 0). The other keys follow QEMU's `nvme-subsys`
//! and `nvme-ns` properties:
//!
//! | key        | default | meaning |
//! |------------|---------|---------|
//! | `fdp`      | 0       | 1 enables FDP |
//! | `fdp.nrg`  | 1       | reclaim groups, 1 to 32 |
//! | `fdp.nruh` | 8       | reclaim unit handles, 1 to 128 |
//! | `fdp.runs` | 1M      | reclaim unit nominal size: bytes, or with K/M/G (binary) |
//! | `fdp.ruhs` | all     | the namespace's placement handles: RUH ids separated by `;` or `,` |
//!
//! The model keeps, per reclaim group and handle, the reclaim unit being
//! filled as its remaining writable blocks (RUAMW). A write takes blocks
//! from the unit its placement identifier selects; when the unit fills,
//! the handle moves to a fresh, erased unit and the write goes on there
//! (Media Bytes Erased grows by RUNS). Host Bytes with Metadata Written
//! and Media Bytes with Metadata Written both grow by each write's data
//! and metadata bytes: RAM needs no garbage collection, so nothing is
//! written twice.
//!
//! A write without a directive uses placement handle 0 of reclaim group
//! 0. A write with an invalid placement identifier does too, and logs an
//! Invalid Placement Identifier host event, as TP4146 has it. A reclaim
//! unit handle update of a partly written unit logs a Reclaim Unit Not
//! Fully Written host event. Events are logged only when the host enabled
//! them for the placement handle (FDP Events feature); the log keeps the
//! newest 63 of each kind. The ramdisk never reallocates media or resets,
//! so it logs no controller events.

use nvmx_spec::Command;
use nvmx_spec::fdp::{
    FdpConfigDescriptor, FdpConfigLogHeader, FdpEventType, FdpEventsLogHeader, FdpStatsLog,
    IoMgmtRecv, IoMgmtRecvOp, IoMgmtSend, IoMgmtSendOp, RuhDescriptor, RuhType, RuhUsageDescriptor,
    RuhUsageLogHeader, placement_id, ruha,
};
use nvmx_spec::feature::{FdpEventsSelect, FdpMode, FeatureId, GetFeatures, Select, SetFeatures};
use nvmx_spec::log::{GetLogPage, LogPageId, SupportedLogPages};
use nvmx_spec::status::{sc, sc_cmd, sct};
use zerocopy::IntoBytes;

use super::bufs::{in_buf, out_buf};
use super::ctrl::RamCtrl;
use super::ctrl::fdp::{ENDGID, EVENT_TYPES, Fdp, log_event};
use super::fail::{Exec, Fail, field};
use super::ns::Namespace;
use nvmx_core::be::DataBuf;

/// The FDP model, or Invalid Command Opcode when the ramdisk has none.
fn model(ctrl: &RamCtrl) -> std::result::Result<&Fdp, Fail> {
    ctrl.fdp.as_ref().ok_or_else(Fail::opcode)
}

/// The FDP model when it is enabled; FDP Disabled otherwise.
fn enabled(ctrl: &RamCtrl) -> std::result::Result<&Fdp, Fail> {
    let fdp = model(ctrl)?;
    if !fdp.enabled() {
        return Err(Fail::dnr(sct::GENERIC, sc::FDP_DISABLED));
    }
    Ok(fdp)
}

/// I/O Management Receive: reclaim unit handle status.
pub(super) fn io_mgmt_recv(
    ctrl: &RamCtrl,
    _ns: &Namespace,
    cmd: &Command,
    mut data: DataBuf<'_>,
) -> Exec {
    let fdp = enabled(ctrl)?;
    let r = IoMgmtRecv::from_command(cmd);
    let nbytes = (u64::from(r.numd) + 1) * 4;
    match r.mo {
        IoMgmtRecvOp::NONE => return Ok(0),
        IoMgmtRecvOp::RUH_STATUS => {}
        _ => return Err(Fail::field(field::CDW10)),
    }
    let buf = out_buf(&mut data, nbytes, "I/O Management Receive")?;
    let st = fdp.state();
    let mut page = vec![0u8; 16];
    let n = usize::from(fdp.p.nrg) * fdp.phs.len();
    page[14..16].copy_from_slice(&(n as u16).to_le_bytes());
    for rg in 0..fdp.p.nrg {
        for (ph, &ruh) in fdp.phs.iter().enumerate() {
            let d = nvmx_spec::fdp::RuhStatusDescriptor {
                pid: placement_id(rg, ph as u16, fdp.p.rgif()),
                ruhid: ruh,
                earutr: 0,
                ruamw: st.ruamw[fdp.slot(rg, ph as u16)],
                ..Default::default()
            };
            page.extend_from_slice(d.as_bytes());
        }
    }
    copy_window(buf, nbytes, &page, 0);
    Ok(0)
}

/// I/O Management Send: reclaim unit handle update.
pub(super) fn io_mgmt_send(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    data: DataBuf<'_>,
) -> Exec {
    let fdp = enabled(ctrl)?;
    let s = IoMgmtSend::from_command(cmd);
    match s.mo {
        IoMgmtSendOp::NONE => return Ok(0),
        IoMgmtSendOp::RUH_UPDATE => {}
        _ => return Err(Fail::field(field::CDW10)),
    }
    let npids = usize::from(s.mos) + 1;
    let raw = in_buf(&data, npids * 2)?;
    let mut targets = Vec::with_capacity(npids);
    for p in raw.chunks_exact(2) {
        let pid = u16::from_le_bytes([p[0], p[1]]);
        let (rg, ph) = fdp
            .parse_pid(pid)
            .ok_or_else(|| Fail::dnr(sct::GENERIC, sc::INVALID_PLACEMENT_HANDLE_LIST))?;
        targets.push((pid, rg, ph));
    }
    let mut st = fdp.state();
    for (pid, rg, ph) in targets {
        let slot = fdp.slot(rg, ph);
        if st.ruamw[slot] < fdp.ru_blocks {
            let ruh = fdp.phs[usize::from(ph)];
            let ev = fdp.event(
                ctrl,
                FdpEventType::RU_NOT_FULLY_WRITTEN,
                ns.nsid,
                pid,
                Some((rg, ruh)),
            );
            log_event(&mut st, ph, ev, true);
            st.ruamw[slot] = fdp.ru_blocks;
            st.mbe += u128::from(fdp.p.runs);
        }
    }
    Ok(0)
}

/// Copies the window of `page` from `lpo` into the first `nbytes` of `buf`,
/// zero filling past the page's end.
fn copy_window(buf: &mut [u8], nbytes: u64, page: &[u8], lpo: usize) {
    let want = buf.len().min(usize::try_from(nbytes).unwrap_or(usize::MAX));
    let src = page.get(lpo..).unwrap_or_default();
    let n = src.len().min(want);
    buf[..n].copy_from_slice(&src[..n]);
    buf[n..want].fill(0);
}

/// Marks the FDP log pages supported when the ramdisk has FDP.
pub(super) fn supported_logs(ctrl: &RamCtrl, l: &mut SupportedLogPages) {
    if ctrl.fdp.is_some() {
        for lid in [
            LogPageId::FDP_CONFIG,
            LogPageId::RUH_USAGE,
            LogPageId::FDP_STATS,
            LogPageId::FDP_EVENTS,
        ] {
            l.lids[usize::from(lid.0)] = 1;
        }
    }
}

/// Builds an FDP log page; `None` when `lid` is not one or the ramdisk has
/// no FDP.
pub(super) fn log_page(
    ctrl: &RamCtrl,
    glp: &GetLogPage,
) -> Option<std::result::Result<Vec<u8>, Fail>> {
    if !matches!(
        glp.lid,
        LogPageId::FDP_CONFIG | LogPageId::RUH_USAGE | LogPageId::FDP_STATS | LogPageId::FDP_EVENTS
    ) {
        return None;
    }
    let fdp = ctrl.fdp.as_ref()?;
    if glp.lsi != ENDGID {
        return Some(Err(Fail::field(field::CDW11 + 2)));
    }
    let st = fdp.state();
    let p = &fdp.p;
    Some(Ok(match glp.lid {
        LogPageId::FDP_CONFIG => {
            let ds = 64 + 4 * usize::from(p.nruh);
            let mut out = FdpConfigLogHeader {
                ncfg: 0,
                version: 0,
                size: (16 + ds) as u32,
                ..Default::default()
            }
            .as_bytes()
            .to_vec();
            let d = FdpConfigDescriptor {
                ds: ds as u16,
                fdpa: 0x80 | p.rgif(),
                vss: 0,
                nrg: u32::from(p.nrg),
                nruh: p.nruh,
                maxpids: p.nruh - 1,
                nns: 1,
                runs: p.runs,
                erutl: 0,
                ..Default::default()
            };
            out.extend_from_slice(d.as_bytes());
            for _ in 0..p.nruh {
                let r = RuhDescriptor {
                    ruht: RuhType::INITIALLY_ISOLATED.0,
                    rsvd1: [0; 3],
                };
                out.extend_from_slice(r.as_bytes());
            }
            out
        }
        LogPageId::RUH_USAGE => {
            let mut out = RuhUsageLogHeader {
                nruh: p.nruh,
                ..Default::default()
            }
            .as_bytes()
            .to_vec();
            for ruh in 0..p.nruh {
                let used = fdp.phs.contains(&ruh);
                let d = RuhUsageDescriptor {
                    ruha: if used {
                        ruha::HOST_SPECIFIED
                    } else {
                        ruha::UNUSED
                    },
                    ..Default::default()
                };
                out.extend_from_slice(d.as_bytes());
            }
            out
        }
        LogPageId::FDP_STATS => FdpStatsLog {
            hbmw: st.hbmw.to_le_bytes(),
            mbmw: st.mbmw.to_le_bytes(),
            mbe: st.mbe.to_le_bytes(),
            ..Default::default()
        }
        .as_bytes()
        .to_vec(),
        _ => {
            let q = if glp.lsp & 1 == 1 {
                &st.host_events
            } else {
                &st.ctrl_events
            };
            let mut out = FdpEventsLogHeader {
                nevents: q.len() as u32,
                ..Default::default()
            }
            .as_bytes()
            .to_vec();
            for e in q {
                out.extend_from_slice(e.as_bytes());
            }
            out
        }
    }))
}

/// Get Features for the FDP features; `None` for other features or when
/// the ramdisk has no FDP.
pub(super) fn get_feature(
    ctrl: &RamCtrl,
    gf: &GetFeatures,
    data: &mut DataBuf<'_>,
) -> Option<Exec> {
    let fdp = ctrl.fdp.as_ref()?;
    Some(match gf.fid {
        FeatureId::FDP_MODE => get_mode(fdp, gf),
        FeatureId::FDP_EVENTS => get_events(ctrl, fdp, gf, data),
        _ => return None,
    })
}

/// Capabilities (Select = 3): changeable (bit 2), namespace specific (bit 1).
const CAP_CHANGEABLE: u32 = 1 << 2;
const CAP_NS_SPECIFIC: u32 = 1 << 1;

fn get_mode(fdp: &Fdp, gf: &GetFeatures) -> Exec {
    if gf.cdw11 as u16 != ENDGID {
        return Err(Fail::field(field::CDW11));
    }
    let enabled = match gf.sel {
        Select::CURRENT => fdp.enabled(),
        Select::DEFAULT | Select::SAVED => true,
        Select::SUPPORTED_CAPS => return Ok(CAP_CHANGEABLE),
        _ => return Err(Fail::field(field::CDW10 + 1)),
    };
    Ok(FdpMode {
        fdpe: enabled,
        fdpcidx: 0,
    }
    .to_cdw12())
}

fn get_events(ctrl: &RamCtrl, fdp: &Fdp, gf: &GetFeatures, data: &mut DataBuf<'_>) -> Exec {
    ctrl.namespace(gf.nsid).ok_or_else(Fail::namespace)?;
    if gf.sel == Select::SUPPORTED_CAPS {
        return Ok(CAP_CHANGEABLE | CAP_NS_SPECIFIC);
    }
    let sel = FdpEventsSelect::from_cdw11(gf.cdw11);
    if usize::from(sel.phndl) >= fdp.phs.len() {
        return Err(Fail::field(field::CDW11));
    }
    let n = usize::from(sel.noet).min(EVENT_TYPES.len());
    let buf = out_buf(data, (n * 2) as u64, "Get Features FDP Events")?;
    let filter = match gf.sel {
        Select::CURRENT => fdp.state().filters[usize::from(sel.phndl)],
        Select::DEFAULT | Select::SAVED => 0,
        _ => return Err(Fail::field(field::CDW10 + 1)),
    };
    for (i, (d, t)) in buf.chunks_exact_mut(2).zip(EVENT_TYPES).take(n).enumerate() {
        d[0] = t.0;
        d[1] = (filter >> i) & 1;
    }
    Ok(n as u32)
}

/// Set Features for the FDP features; `None` for other features or when
/// the ramdisk has no FDP.
pub(super) fn set_feature(ctrl: &RamCtrl, sf: &SetFeatures, data: &DataBuf<'_>) -> Option<Exec> {
    let fdp = ctrl.fdp.as_ref()?;
    if !matches!(sf.fid, FeatureId::FDP_MODE | FeatureId::FDP_EVENTS) {
        return None;
    }
    if sf.save {
        return Some(Err(Fail::dnr(
            sct::COMMAND_SPECIFIC,
            sc_cmd::FEATURE_NOT_SAVEABLE,
        )
        .at(field::CDW10 + 3, 7)));
    }
    Some(if sf.fid == FeatureId::FDP_MODE {
        set_mode(fdp, sf)
    } else {
        set_events(ctrl, fdp, sf, data)
    })
}

/// Enables or disables FDP. Either way every handle starts over on an
/// empty reclaim unit and the events are dropped, as after a
/// reconfiguration.
fn set_mode(fdp: &Fdp, sf: &SetFeatures) -> Exec {
    if sf.cdw11 as u16 != ENDGID {
        return Err(Fail::field(field::CDW11));
    }
    let mode = FdpMode::from_cdw0(sf.cdw12);
    if mode.fdpcidx != 0 {
        return Err(Fail::field(field::CDW12 + 1));
    }
    let mut st = fdp.state();
    st.enabled = mode.fdpe;
    st.ruamw.fill(fdp.ru_blocks);
    st.host_events.clear();
    st.ctrl_events.clear();
    Ok(0)
}

fn set_events(ctrl: &RamCtrl, fdp: &Fdp, sf: &SetFeatures, data: &DataBuf<'_>) -> Exec {
    ctrl.namespace(sf.nsid).ok_or_else(Fail::namespace)?;
    let sel = FdpEventsSelect::from_cdw11(sf.cdw11);
    if usize::from(sel.phndl) >= fdp.phs.len() {
        return Err(Fail::field(field::CDW11));
    }
    if sel.noet == 0 {
        return Err(Fail::field(field::CDW11 + 2));
    }
    let types = in_buf(data, usize::from(sel.noet))?;
    let mut mask = 0u8;
    for t in types {
        let bit = EVENT_TYPES
            .iter()
            .position(|e| e.0 == *t)
            .ok_or_else(|| Fail::field(field::CDW11 + 2))?;
        mask |= 1 << bit;
    }
    let mut st = fdp.state();
    let f = &mut st.filters[usize::from(sel.phndl)];
    if sf.cdw12 & 1 == 1 {
        *f |= mask;
    } else {
        *f &= !mask;
    }
    Ok(0)
}
