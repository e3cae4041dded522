//! `nvmx feature-get` and `nvmx feature-set`: Get and Set Features with
//! any feature identifier; the value is decoded for the features nvmx
//! knows.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use nvmx_spec::feature::{
    Arbitration, ErrorRecovery, FdpMode, FeatureCaps, FeatureId, InterruptCoalescing, NumQueues,
    PowerManagement, TemperatureThreshold, VolatileWriteCache,
};
use serde::Serialize;

use crate::args::{DataOutput, DevArgs, UriArg, num_u8, num_u32};
use crate::cmd_idfy::save;
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `nvmx feature-get`.
#[derive(Args, Debug)]
pub struct FeatureGetArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Feature identifier.
    #[arg(long, value_parser = num_u8, value_name = "FID")]
    fid: u8,
    /// Namespace, for namespace-specific features (default 0).
    #[arg(long, value_parser = num_u32, default_value = "0", value_name = "NSID")]
    nsid: u32,
    /// Select: 0 current, 1 default, 2 saved, 3 supported capabilities.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "SEL")]
    sel: u8,
    /// Feature specific input (e.g. the sensor of a temperature threshold,
    /// the endurance group of FDP).
    #[arg(long, value_parser = num_u32, default_value = "0", value_name = "CDW11")]
    cdw11: u32,
    /// Bytes of data the feature returns, if any.
    #[arg(long = "data-nbytes", value_parser = num_u32, default_value = "0", value_name = "BYTES")]
    data_nbytes: u32,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx feature-set`.
#[derive(Args, Debug)]
pub struct FeatureSetArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Feature identifier.
    #[arg(long, value_parser = num_u8, value_name = "FID")]
    fid: u8,
    /// The value (CDW11).
    #[arg(long, value_parser = num_u32, value_name = "VALUE")]
    feat: u32,
    /// Namespace, for namespace-specific features (default 0).
    #[arg(long, value_parser = num_u32, default_value = "0", value_name = "NSID")]
    nsid: u32,
    /// Save the value across resets and power cycles.
    #[arg(long)]
    save: bool,
    /// Feature specific CDW12.
    #[arg(long, value_parser = num_u32, default_value = "0", value_name = "CDW12")]
    cdw12: u32,
    /// File with data the feature takes.
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
    /// Bytes of --data-input to send (default: the whole file).
    #[arg(long = "data-nbytes", value_parser = num_u32, value_name = "BYTES")]
    data_nbytes: Option<u32>,
    #[command(flatten)]
    dev: DevArgs,
}

/// The command `feature-get` sent, as xNVMe prints it.
#[derive(Serialize)]
struct GetCmd {
    nsid: Hex,
    fid: Hex,
    name: &'static str,
    sel: u8,
}

/// A feature value decoded from completion dword 0.
#[derive(Serialize)]
#[serde(untagged)]
enum Decoded {
    Arbitration(Arbitration),
    Power(PowerManagement),
    Temperature(TemperatureThreshold),
    ErrorRecovery(ErrorRecovery),
    Vwc(VolatileWriteCache),
    Queues(NumQueues),
    Coalescing(InterruptCoalescing),
    Fdp(FdpMode),
    Caps(FeatureCaps),
    Raw { cdw0: Hex },
}

fn decoded(fid: FeatureId, sel: u8, cdw0: u32) -> Decoded {
    if sel == 3 {
        return Decoded::Caps(FeatureCaps::from_cdw0(cdw0));
    }
    match fid {
        FeatureId::ARBITRATION => Decoded::Arbitration(Arbitration::from_cdw0(cdw0)),
        FeatureId::POWER_MGMT => Decoded::Power(PowerManagement::from_cdw0(cdw0)),
        FeatureId::TEMP_THRESHOLD => Decoded::Temperature(TemperatureThreshold::from_cdw0(cdw0)),
        FeatureId::ERROR_RECOVERY => Decoded::ErrorRecovery(ErrorRecovery::from_cdw0(cdw0)),
        FeatureId::VOLATILE_WRITE_CACHE => Decoded::Vwc(VolatileWriteCache::from_cdw0(cdw0)),
        FeatureId::NUM_QUEUES => Decoded::Queues(NumQueues::from_cdw0(cdw0)),
        FeatureId::IRQ_COALESCE => Decoded::Coalescing(InterruptCoalescing::from_cdw0(cdw0)),
        FeatureId::FDP_MODE => Decoded::Fdp(FdpMode::from_cdw0(cdw0)),
        _ => Decoded::Raw {
            cdw0: Hex(cdw0.into()),
        },
    }
}

/// `nvmx feature-get URI --fid N`.
pub fn feature_get(p: &Printer, a: &FeatureGetArgs) -> CliResult {
    if a.sel > 3 {
        return Err(CliError::new(format!(
            "invalid --sel: {}; 0 current, 1 default, 2 saved, 3 capabilities",
            a.sel
        )));
    }
    let dev = a.dev.open(&a.uri.uri)?;
    let mut buf = if a.data_nbytes > 0 {
        Some(dev.alloc(a.data_nbytes as usize)?)
    } else {
        None
    };
    let cpl = dev
        .get_features(a.fid, a.sel, a.nsid, a.cdw11, buf.as_deref_mut())
        .map_err(|e| CliError::command("get features", e))?;
    let fid = FeatureId(a.fid);
    let mut out = BTreeMap::new();
    out.insert(
        "cmd_gfeat",
        GetCmd {
            nsid: Hex(a.nsid.into()),
            fid: Hex(a.fid.into()),
            name: fid.name().unwrap_or("unknown"),
            sel: a.sel,
        },
    );
    p.print(&out)?;
    if let Some(b) = &buf {
        save(p, a.out.data_output.as_deref(), b)?;
    }
    p.print(&BTreeMap::from([("feat", decoded(fid, a.sel, cpl.cdw0))]))?;
    Ok(())
}

/// `nvmx feature-set URI --fid N --feat V`.
pub fn feature_set(p: &Printer, a: &FeatureSetArgs) -> CliResult {
    let data = match &a.data_input {
        Some(path) => {
            let mut d = std::fs::read(path)
                .map_err(|e| CliError::file("reading --data-input", path, &e))?;
            if let Some(n) = a.data_nbytes {
                let n = n as usize;
                if n > d.len() {
                    return Err(CliError::new(format!(
                        "invalid --data-nbytes: {n} bytes, {} holds {}",
                        path.display(),
                        d.len()
                    )));
                }
                d.truncate(n);
            }
            Some(d)
        }
        None if a.data_nbytes.is_some_and(|n| n > 0) => {
            return Err(CliError::new("--data-nbytes needs --data-input"));
        }
        None => None,
    };
    let dev = a.dev.open(&a.uri.uri)?;
    let buf = match &data {
        Some(d) => {
            let mut b = dev.alloc(d.len())?;
            b.copy_from_slice(d);
            Some(b)
        }
        None => None,
    };
    let cpl = dev
        .set_features(a.fid, a.nsid, a.feat, a.cdw12, a.save, buf.as_deref())
        .map_err(|e| CliError::command("set features", e))?;
    #[derive(Serialize)]
    struct SetCmd {
        nsid: Hex,
        fid: Hex,
        name: &'static str,
        feat: Hex,
        cdw12: Hex,
        save: bool,
        cdw0: Hex,
    }
    p.print(&BTreeMap::from([(
        "cmd_sfeat",
        SetCmd {
            nsid: Hex(a.nsid.into()),
            fid: Hex(a.fid.into()),
            name: FeatureId(a.fid).name().unwrap_or("unknown"),
            feat: Hex(a.feat.into()),
            cdw12: Hex(a.cdw12.into()),
            save: a.save,
            cdw0: Hex(cpl.cdw0.into()),
        },
    )]))?;
    Ok(())
}
