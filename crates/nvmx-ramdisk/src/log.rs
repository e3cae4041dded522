//! Get Log Page: error information, SMART / health, firmware slots,
//! commands supported and effects, the list of supported log pages, and
//! sanitize status (built by the format module).
//!
//! Each log is built whole (at most 4 KiB), then the window the command
//! asks for — NUMD dwords from byte offset LPO — is copied out; bytes past
//! the end of the log read as zero. LPO must be dword aligned and no larger
//! than the log (Invalid Field otherwise); index offsets (OT) are not
//! supported.

use nvmx_spec::Command;
use nvmx_spec::log::{
    CommandsSupportedEffects, ErrorInfoEntry, FirmwareSlotLog, GetLogPage, LogPageId,
    SmartHealthLog, SupportedLogPages, effects,
};
use nvmx_spec::opcode::Csi;
use nvmx_spec::status::{sc_cmd, sct};
use zerocopy::IntoBytes;

use super::admin;
use super::bufs::out_buf;
use super::ctrl::RamCtrl;
use super::ctrl::features::TEMPERATURE;
use super::errlog::ErrorLog;
use super::fail::{Exec, Fail, NSID_ALL, field};
use super::identify::firmware_revision;
use super::nvm;
use super::stats::Stats;
use nvmx_core::be::DataBuf;

/// The log pages the controller returns.
const SUPPORTED: &[LogPageId] = &[
    LogPageId::SUPPORTED_LOG_PAGES,
    LogPageId::ERROR_INFO,
    LogPageId::SMART_HEALTH,
    LogPageId::FW_SLOT,
    LogPageId::CMD_EFFECTS,
    LogPageId::SANITIZE_STATUS,
];

/// Available spare threshold, percent.
const SPARE_THRESHOLD: u8 = 10;

/// Runs Get Log Page.
pub(super) fn exec(ctrl: &RamCtrl, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let glp = GetLogPage::from_command(cmd);
    let page: Vec<u8> = match glp.lid {
        LogPageId::SUPPORTED_LOG_PAGES => {
            let mut l = supported_log_pages();
            super::fdp::supported_logs(ctrl, &mut l);
            l.as_bytes().to_vec()
        }
        LogPageId::ERROR_INFO => error_info(&ctrl.error_log()),
        LogPageId::SMART_HEALTH => {
            if !matches!(glp.nsid, 0 | NSID_ALL) && ctrl.namespace(glp.nsid).is_none() {
                return Err(Fail::namespace());
            }
            smart(ctrl).as_bytes().to_vec()
        }
        LogPageId::FW_SLOT => firmware_slots().as_bytes().to_vec(),
        LogPageId::SANITIZE_STATUS => super::format::sanitize_log(ctrl).as_bytes().to_vec(),
        LogPageId::CHANGED_ZONE_LIST => super::zoned::changed_zone_list(
            &*ctrl.namespace(glp.nsid).ok_or_else(Fail::namespace)?,
            &glp,
        )?,
        LogPageId::CMD_EFFECTS => {
            if glp.csi != Csi::NVM {
                return Err(Fail::field(field::CDW14 + 3));
            }
            commands_supported().as_bytes().to_vec()
        }
        _ => match super::fdp::log_page(ctrl, &glp) {
            Some(page) => page?,
            None => {
                return Err(
                    Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_LOG_PAGE).at(field::CDW10, 0)
                );
            }
        },
    };
    if glp.ot {
        return Err(Fail::field(field::CDW14 + 2));
    }
    if !glp.lpo.is_multiple_of(4) || glp.lpo > page.len() as u64 {
        return Err(Fail::field(field::CDW12));
    }
    let buf = out_buf(&mut data, glp.nbytes(), "Get Log Page")?;
    let want = buf
        .len()
        .min(usize::try_from(glp.nbytes()).unwrap_or(usize::MAX));
    let src = page.get(glp.lpo as usize..).unwrap_or_default();
    let n = src.len().min(want);
    buf[..n].copy_from_slice(&src[..n]);
    buf[n..want].fill(0);
    Ok(0)
}

/// The Supported Log Pages log.
fn supported_log_pages() -> SupportedLogPages {
    let mut l = SupportedLogPages::default();
    for lid in SUPPORTED {
        l.lids[usize::from(lid.0)] = 1; // LSUPP
    }
    l
}

/// The Error Information log: the kept entries, newest first, then zeroes.
fn error_info(log: &ErrorLog) -> Vec<u8> {
    let mut out = Vec::with_capacity(ErrorLog::CAPACITY * size_of::<ErrorInfoEntry>());
    for r in log.newest_first() {
        let e = ErrorInfoEntry {
            error_count: r.count,
            sqid: r.sqid,
            cid: r.cid,
            status_field: r.status.to_raw() << 1,
            parm_error_location: r.param,
            lba: r.lba,
            nsid: r.nsid,
            csi: r.csi,
            opc: r.opc,
            ..Default::default()
        };
        out.extend_from_slice(e.as_bytes());
    }
    out.resize(ErrorLog::CAPACITY * size_of::<ErrorInfoEntry>(), 0);
    out
}

/// The SMART / Health Information log, for the whole controller.
fn smart(ctrl: &RamCtrl) -> SmartHealthLog {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &ctrl.stats;
    let count = |c: u64| u128::from(c).to_le_bytes();
    let mut l = SmartHealthLog {
        temperature: TEMPERATURE.to_le_bytes(),
        avail_spare: 100,
        spare_thresh: SPARE_THRESHOLD,
        data_units_read: Stats::data_units(&s.read_512).to_le_bytes(),
        data_units_written: Stats::data_units(&s.written_512).to_le_bytes(),
        host_read_commands: count(s.host_reads.load(Relaxed)),
        host_write_commands: count(s.host_writes.load(Relaxed)),
        power_cycles: count(1),
        power_on_hours: count(ctrl.created.elapsed().as_secs() / 3600),
        media_errors: count(s.media_errors.load(Relaxed)),
        num_err_log_entries: count(ctrl.error_log().total()),
        ..Default::default()
    };
    l.temp_sensor[0] = TEMPERATURE;
    l
}

/// The Firmware Slot Information log: slot 1 active, holding this version.
fn firmware_slots() -> FirmwareSlotLog {
    let mut frs = [[0u8; 8]; 7];
    frs[0] = firmware_revision();
    FirmwareSlotLog {
        afi: 1,
        frs,
        ..Default::default()
    }
}

/// The Commands Supported and Effects log for the NVM command set.
fn commands_supported() -> CommandsSupportedEffects {
    let mut l = CommandsSupportedEffects::default();
    for opc in admin::SUPPORTED {
        l.acs[usize::from(opc.0)] = effects::CSUPP | super::format::admin_effects(*opc);
    }
    for &(opc, changes_blocks) in nvm::SUPPORTED {
        let lbcc = if changes_blocks { effects::LBCC } else { 0 };
        l.iocs[usize::from(opc.0)] = effects::CSUPP | lbcc;
    }
    l
}
