//! Get Features and Set Features.
//!
//! The ramdisk keeps the settings a host commonly reads or changes:
//! arbitration, power management, temperature thresholds, error recovery,
//! the volatile write cache, the number of queues, asynchronous event
//! configuration and the timestamp. Nothing is saveable (there is no
//! non-volatile memory to save to): Get Features with Select = saved
//! returns the default, and Set Features with Save set fails with Feature
//! Identifier Not Saveable. The nsid is checked only for the one
//! namespace-specific feature, Error Recovery; the others are controller
//! wide and ignore it.

use std::time::Instant;

use nvmx_spec::Command;
use nvmx_spec::feature::{
    ErrorRecovery, FeatureId, GetFeatures, NumQueues, PowerManagement, Select, SetFeatures,
    TemperatureThreshold,
};
use nvmx_spec::status::{sc_cmd, sct};

use super::bufs::{in_buf, out_buf};
use super::ctrl::RamCtrl;
use super::ctrl::features::{AEC_SUPPORTED, Features, QUEUES_ALLOCATED, TIMESTAMP_BYTES};
use super::fail::{Exec, Fail, NSID_ALL, field};
use nvmx_core::be::DataBuf;

/// Supported capabilities (Select = 3) bits: saveable, namespace
/// specific, changeable.
const CAP_NS_SPECIFIC: u32 = 1 << 1;
const CAP_CHANGEABLE: u32 = 1 << 2;

/// The features the controller has, with their capabilities.
fn capabilities(fid: FeatureId) -> Option<u32> {
    Some(match fid {
        FeatureId::ARBITRATION
        | FeatureId::POWER_MGMT
        | FeatureId::TEMP_THRESHOLD
        | FeatureId::VOLATILE_WRITE_CACHE
        | FeatureId::NUM_QUEUES
        | FeatureId::ASYNC_EVENT
        | FeatureId::TIMESTAMP => CAP_CHANGEABLE,
        FeatureId::ERROR_RECOVERY => CAP_CHANGEABLE | CAP_NS_SPECIFIC,
        _ => return None,
    })
}

/// Checks a temperature threshold selection: the composite sensor (0) and
/// an over (0) or under (1) threshold.
fn temp_select(cdw11: u32) -> Result<TemperatureThreshold, Fail> {
    let t = TemperatureThreshold::from_cdw0(cdw11);
    if t.tmpsel != 0 || t.thsel > 1 {
        return Err(Fail::field(field::CDW11 + 2));
    }
    Ok(t)
}

/// Checks the nsid of a namespace-specific feature.
fn check_nsid(ctrl: &RamCtrl, nsid: u32) -> Result<(), Fail> {
    match nsid {
        0 | NSID_ALL => Ok(()),
        n => ctrl.namespace(n).map(|_| ()).ok_or_else(Fail::namespace),
    }
}

/// The timestamp in milliseconds and its attributes byte: origin 001b when
/// the host set it, 000b when it counts from the controller's creation.
fn timestamp(ctrl: &RamCtrl, f: &Features) -> [u8; TIMESTAMP_BYTES] {
    let (ms, origin) = match f.timestamp {
        Some((at, since)) => (at.wrapping_add(since.elapsed().as_millis() as u64), 1u8),
        None => (ctrl.created.elapsed().as_millis() as u64, 0u8),
    };
    let mut out = [0u8; TIMESTAMP_BYTES];
    out[..6].copy_from_slice(&ms.to_le_bytes()[..6]);
    out[6] = origin << 1;
    out
}

/// Runs Get Features.
pub(super) fn get(ctrl: &RamCtrl, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let gf = GetFeatures::from_command(cmd);
    if let Some(r) = super::fdp::get_feature(ctrl, &gf, &mut data) {
        return r;
    }
    let caps = capabilities(gf.fid).ok_or_else(|| Fail::field(field::CDW10))?;
    if gf.fid == FeatureId::ERROR_RECOVERY {
        check_nsid(ctrl, gf.nsid)?;
    }
    let current = *ctrl.features();
    let f = match gf.sel {
        Select::CURRENT => current,
        // Nothing is saveable, so the saved value is the default.
        Select::DEFAULT | Select::SAVED => Features::default(),
        Select::SUPPORTED_CAPS => return Ok(caps),
        _ => return Err(Fail::field(field::CDW10 + 1)),
    };
    Ok(match gf.fid {
        FeatureId::ARBITRATION => f.arbitration,
        FeatureId::POWER_MGMT => f.power.to_cdw11(),
        FeatureId::TEMP_THRESHOLD => {
            let mut t = temp_select(gf.cdw11)?;
            t.tmpth = if t.thsel == 0 {
                f.temp_over
            } else {
                f.temp_under
            };
            t.to_cdw11()
        }
        FeatureId::ERROR_RECOVERY => ErrorRecovery {
            tler: f.tler,
            dulbe: false,
        }
        .to_cdw11(),
        FeatureId::VOLATILE_WRITE_CACHE => u32::from(f.wce),
        FeatureId::NUM_QUEUES => NumQueues {
            nsqa: QUEUES_ALLOCATED,
            ncqa: QUEUES_ALLOCATED,
        }
        .to_cdw11(),
        FeatureId::ASYNC_EVENT => f.async_event,
        FeatureId::TIMESTAMP => {
            let buf = out_buf(&mut data, TIMESTAMP_BYTES as u64, "Get Features Timestamp")?;
            // The current time, whichever Select: a timestamp has no default.
            let ts = timestamp(ctrl, &current);
            buf[..TIMESTAMP_BYTES].copy_from_slice(&ts);
            0
        }
        _ => return Err(Fail::field(field::CDW10)),
    })
}

/// Runs Set Features.
pub(super) fn set(ctrl: &RamCtrl, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let sf = SetFeatures::from_command(cmd);
    if let Some(r) = super::fdp::set_feature(ctrl, &sf, &data) {
        return r;
    }
    capabilities(sf.fid).ok_or_else(|| Fail::field(field::CDW10))?;
    if sf.save {
        return Err(
            Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::FEATURE_NOT_SAVEABLE).at(field::CDW10 + 3, 7),
        );
    }
    if sf.fid == FeatureId::ERROR_RECOVERY {
        check_nsid(ctrl, sf.nsid)?;
    }
    // Read the timestamp before taking the lock.
    let ts = if sf.fid == FeatureId::TIMESTAMP {
        let buf = in_buf(&data, TIMESTAMP_BYTES)?;
        let mut ms = [0u8; 8];
        ms[..6].copy_from_slice(&buf[..6]);
        Some(u64::from_le_bytes(ms))
    } else {
        None
    };
    let mut f = ctrl.features();
    let cdw0 = match sf.fid {
        FeatureId::ARBITRATION => {
            f.arbitration = sf.cdw11;
            0
        }
        FeatureId::POWER_MGMT => {
            let pm = PowerManagement::from_cdw0(sf.cdw11);
            // Power state 0 is the only one (NPSS = 0).
            if pm.ps != 0 {
                return Err(Fail::field(field::CDW11));
            }
            f.power = pm;
            0
        }
        FeatureId::TEMP_THRESHOLD => {
            let t = temp_select(sf.cdw11)?;
            if t.thsel == 0 {
                f.temp_over = t.tmpth;
            } else {
                f.temp_under = t.tmpth;
            }
            0
        }
        FeatureId::ERROR_RECOVERY => {
            let er = ErrorRecovery::from_cdw0(sf.cdw11);
            // Deallocated or unwritten block errors need NSFEAT bit 2,
            // which the namespace does not set.
            if er.dulbe {
                return Err(Fail::field(field::CDW11 + 2));
            }
            f.tler = er.tler;
            0
        }
        FeatureId::VOLATILE_WRITE_CACHE => {
            f.wce = sf.cdw11 & 1 == 1;
            0
        }
        FeatureId::NUM_QUEUES => {
            let want = NumQueues::from_cdw0(sf.cdw11);
            if want.nsqa == 0xffff || want.ncqa == 0xffff {
                return Err(Fail::field(field::CDW11));
            }
            // The allocation is fixed; the completion reports it.
            NumQueues {
                nsqa: QUEUES_ALLOCATED,
                ncqa: QUEUES_ALLOCATED,
            }
            .to_cdw11()
        }
        FeatureId::ASYNC_EVENT => {
            f.async_event = sf.cdw11 & AEC_SUPPORTED;
            0
        }
        FeatureId::TIMESTAMP => {
            f.timestamp = ts.map(|ms| (ms, Instant::now()));
            0
        }
        _ => return Err(Fail::field(field::CDW10)),
    };
    Ok(cdw0)
}
