//! Flexible Data Placement subcommands, spelled as xNVMe's `xnvme` tool
//! spells them: `log-fdp-config`, `log-ruhu`, `log-fdp-stats`,
//! `log-fdp-events` (log pages of an endurance group, `--lsi`),
//! `fdp-ruhs` (reclaim unit handle status), `fdp-ruhu` (reclaim unit
//! handle update) and `set-fdp-events` (Set Features FID 0x1E).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use nvmx::Device;
use nvmx::spec::fdp::{FdpEvent, FdpEventType, FdpEventsLog, RuhUsageLog};
use nvmx::spec::feature::{FdpEventsSelect, FeatureId};
use nvmx::spec::log::LogPageId;
use serde::Serialize;

use crate::args::{DevArgs, UriArg, num_u8, num_u16, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Options every FDP subcommand shares: the URI, the namespace and the
/// device options.
#[derive(Args, Debug)]
pub struct Target {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace the command addresses; opened as --dev-nsid when that is
    /// not given.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    #[command(flatten)]
    dev: DevArgs,
}

impl Target {
    /// Opens the device, on `--nsid` when given.
    pub fn open(&self) -> CliResult<Device> {
        open_ns(&self.uri.uri, self.nsid, &self.dev)
    }
}

/// Opens `uri`, on namespace `nsid` (as `--dev-nsid`) when given and
/// `--dev-nsid` is not.
pub fn open_ns(uri: &str, nsid: Option<u32>, dev: &DevArgs) -> CliResult<Device> {
    let mut dev = dev.clone();
    if let (Some(n), None) = (nsid, &dev.dev_nsid) {
        dev.dev_nsid = Some(n.to_string());
    }
    dev.open(uri)
}

/// Arguments of `log-fdp-config`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(flatten)]
    t: Target,
    /// Endurance group identifier (log specific identifier).
    #[arg(long, value_parser = num_u16, value_name = "ENDGID")]
    lsi: u16,
    /// Bytes to read (default: the size the log reports).
    #[arg(long = "data-nbytes", value_parser = num_u32, value_name = "N")]
    data_nbytes: Option<u32>,
    /// Write the raw log to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
}

/// Arguments of `log-ruhu`.
#[derive(Args, Debug)]
pub struct RuhuArgs {
    #[command(flatten)]
    t: Target,
    /// Endurance group identifier (log specific identifier).
    #[arg(long, value_parser = num_u16, value_name = "ENDGID")]
    lsi: u16,
    /// Reclaim unit handle descriptors to read.
    #[arg(long, value_parser = num_u16, value_name = "N")]
    limit: u16,
    /// Write the raw log to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
}

/// Arguments of `log-fdp-stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    t: Target,
    /// Endurance group identifier (log specific identifier).
    #[arg(long, value_parser = num_u16, value_name = "ENDGID")]
    lsi: u16,
    /// Write the raw log to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
}

/// Arguments of `log-fdp-events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    t: Target,
    /// Endurance group identifier (log specific identifier).
    #[arg(long, value_parser = num_u16, value_name = "ENDGID")]
    lsi: u16,
    /// Log specific field: 1 host events, 0 controller events.
    #[arg(long, value_parser = num_u8, value_name = "LSP")]
    lsp: u8,
    /// Events to read (at most 63).
    #[arg(long, value_parser = num_u8, value_name = "N")]
    limit: u8,
    /// Write the raw log to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
}

/// Arguments of `fdp-ruhs`.
#[derive(Args, Debug)]
pub struct RuhsArgs {
    #[command(flatten)]
    t: Target,
    /// Descriptors to print.
    #[arg(long, value_parser = num_u16, value_name = "N")]
    limit: u16,
}

/// Arguments of `fdp-ruhu`.
#[derive(Args, Debug)]
pub struct RuhuUpdateArgs {
    #[command(flatten)]
    t: Target,
    /// Placement identifiers whose handles move to new reclaim units
    /// (repeat, or separate with commas).
    #[arg(long, value_parser = num_u16, value_delimiter = ',', required = true, value_name = "PID")]
    pid: Vec<u16>,
}

/// Arguments of `set-fdp-events`.
#[derive(Args, Debug)]
pub struct SetEventsArgs {
    #[command(flatten)]
    t: Target,
    /// Feature identifier: must be 0x1e (FDP Events).
    #[arg(long, value_parser = num_u8, value_name = "FID")]
    fid: u8,
    /// CDW11: placement handle in bits 15:0, number of event types in
    /// bits 23:16.
    #[arg(long, value_parser = num_u32, value_name = "CDW11")]
    feat: u32,
    /// CDW12: bit 0 enables (1) or disables (0) the event types.
    #[arg(long, value_parser = num_u32, value_name = "CDW12")]
    cdw12: u32,
    /// The event types (default: the first N of 0x0, 0x1, 0x2, 0x3, 0x80,
    /// 0x81, N from --feat).
    #[arg(long = "event-types", value_parser = num_u8, value_delimiter = ',', value_name = "TYPE")]
    event_types: Vec<u8>,
    /// Save the setting across power cycles.
    #[arg(long)]
    save: bool,
}

fn save_raw(p: &Printer, path: Option<&PathBuf>, data: &[u8]) -> CliResult {
    if let Some(path) = path {
        std::fs::write(path, data)
            .map_err(|e| CliError::file("writing --data-output", path, &e))?;
        p.comment(&format!("wrote {} bytes to {}", data.len(), path.display()))?;
    }
    Ok(())
}

fn print_keyed<T: Serialize>(p: &Printer, key: &'static str, value: T) -> CliResult {
    p.print(&BTreeMap::from([(key, value)]))?;
    Ok(())
}

fn read_log(dev: &Device, lid: LogPageId, lsp: u8, lsi: u16, nbytes: usize) -> CliResult<Vec<u8>> {
    let mut buf = vec![0u8; nbytes.max(4).next_multiple_of(4)];
    dev.get_log_page_lsi(lid, lsp, lsi, &mut buf)
        .map_err(|e| CliError::command("get log page", e))?;
    Ok(buf)
}

#[derive(Serialize)]
struct FdpAttrs {
    rgif: u8,
    fdpvwc: u8,
    fdpcv: u8,
    val: Hex,
}

#[derive(Serialize)]
struct ConfigOut {
    index: u16,
    ds: u16,
    #[serde(rename = "fdp attributes")]
    fdpa: FdpAttrs,
    vss: u8,
    nrg: u32,
    nruh: u16,
    maxpids: u16,
    nns: u32,
    runs: u64,
    erutl: u32,
    ruht: Vec<u8>,
}

#[derive(Serialize)]
struct ConfigLogOut {
    ncfg: u16,
    version: u8,
    size: u32,
    configs: Vec<ConfigOut>,
}

/// `nvmx log-fdp-config`.
pub fn log_config(p: &Printer, a: &ConfigArgs) -> CliResult {
    let dev = a.t.open()?;
    let buf = match a.data_nbytes {
        Some(n) => read_log(&dev, LogPageId::FDP_CONFIG, 0, a.lsi, n as usize)?,
        None => {
            let head = read_log(&dev, LogPageId::FDP_CONFIG, 0, a.lsi, 16)?;
            let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            read_log(
                &dev,
                LogPageId::FDP_CONFIG,
                0,
                a.lsi,
                size.clamp(16, 1 << 16) as usize,
            )?
        }
    };
    save_raw(p, a.data_output.as_ref(), &buf)?;
    let log = nvmx::fdp::decode_configs(&buf);
    let out = ConfigLogOut {
        ncfg: log.ncfg,
        version: log.version,
        size: log.size,
        configs: log
            .configs
            .iter()
            .map(|c| ConfigOut {
                index: c.index,
                ds: c.desc.ds,
                fdpa: FdpAttrs {
                    rgif: c.desc.rgif(),
                    fdpvwc: u8::from(c.desc.fdpvwc()),
                    fdpcv: u8::from(c.desc.valid()),
                    val: Hex(u64::from(c.desc.fdpa)),
                },
                vss: c.desc.vss,
                nrg: c.desc.nrg,
                nruh: c.desc.nruh,
                maxpids: c.desc.maxpids,
                nns: c.desc.nns,
                runs: c.desc.runs,
                erutl: c.desc.erutl,
                ruht: c.ruh_types.iter().map(|t| t.0).collect(),
            })
            .collect(),
    };
    p.comment(&format!("FDP configurations of endurance group {}", a.lsi))?;
    print_keyed(p, "log_fdp_config", out)
}

#[derive(Serialize)]
struct RuhuOut {
    nruh: u16,
    ruhus: Vec<RuhuEntry>,
}

#[derive(Serialize)]
struct RuhuEntry {
    ruhid: u16,
    ruha: Hex,
}

/// `nvmx log-ruhu`.
pub fn log_ruhu(p: &Printer, a: &RuhuArgs) -> CliResult {
    let dev = a.t.open()?;
    let buf = read_log(
        &dev,
        LogPageId::RUH_USAGE,
        0,
        a.lsi,
        8 + 8 * usize::from(a.limit),
    )?;
    save_raw(p, a.data_output.as_ref(), &buf)?;
    let log = RuhUsageLog::parse(&buf)
        .ok_or_else(|| CliError::new("reclaim unit handle usage log: shorter than 8 bytes"))?;
    let out = RuhuOut {
        nruh: log.header.nruh,
        ruhus: log
            .descriptors()
            .enumerate()
            .map(|(i, d)| RuhuEntry {
                ruhid: i as u16,
                ruha: Hex(u64::from(d.ruha)),
            })
            .collect(),
    };
    print_keyed(p, "log_ruhu", out)
}

#[derive(Serialize)]
struct StatsOut {
    hbmw: u128,
    mbmw: u128,
    mbe: u128,
}

/// `nvmx log-fdp-stats`.
pub fn log_stats(p: &Printer, a: &StatsArgs) -> CliResult {
    let dev = a.t.open()?;
    let s = dev
        .fdp_stats(a.lsi)
        .map_err(|e| CliError::command("get log page", e))?;
    save_raw(p, a.data_output.as_ref(), zerocopy::IntoBytes::as_bytes(&s))?;
    print_keyed(
        p,
        "log_fdp_stats",
        StatsOut {
            hbmw: s.hbmw(),
            mbmw: s.mbmw(),
            mbe: s.mbe(),
        },
    )
}

#[derive(Serialize)]
struct EventOut {
    etype: Hex,
    name: &'static str,
    flags: Hex,
    pid: Hex,
    timestamp_ms: u64,
    nsid: u32,
    rgid: u16,
    ruhid: u8,
}

impl From<&FdpEvent> for EventOut {
    fn from(e: &FdpEvent) -> Self {
        EventOut {
            etype: Hex(u64::from(e.etype)),
            name: e.event_type().name().unwrap_or("unknown"),
            flags: Hex(u64::from(e.flags)),
            pid: Hex(u64::from(e.pid)),
            timestamp_ms: e.timestamp_ms(),
            nsid: e.nsid,
            rgid: e.rgid,
            ruhid: e.ruhid,
        }
    }
}

#[derive(Serialize)]
struct EventsOut {
    nevents: u32,
    events: Vec<EventOut>,
}

/// `nvmx log-fdp-events`.
pub fn log_events(p: &Printer, a: &EventsArgs) -> CliResult {
    let dev = a.t.open()?;
    if a.lsp > 1 {
        return Err(CliError::new(format!(
            "--lsp {}: 1 reads host events, 0 controller events",
            a.lsp
        )));
    }
    let n = usize::from(a.limit.min(63));
    let buf = read_log(&dev, LogPageId::FDP_EVENTS, a.lsp, a.lsi, 64 + 64 * n)?;
    save_raw(p, a.data_output.as_ref(), &buf)?;
    let log = FdpEventsLog::parse(&buf)
        .ok_or_else(|| CliError::new("FDP events log: shorter than 64 bytes"))?;
    let out = EventsOut {
        nevents: log.header.nevents,
        events: log.events().map(|e| EventOut::from(&e)).collect(),
    };
    let kind = if a.lsp == 1 { "host" } else { "controller" };
    p.comment(&format!("FDP {kind} events of endurance group {}", a.lsi))?;
    print_keyed(p, "log_fdp_events", out)
}

#[derive(Serialize)]
struct RuhsDesc {
    pi: Hex,
    ruhi: u16,
    earutr: u32,
    ruamw: u64,
}

#[derive(Serialize)]
struct RuhsOut {
    nruhsd: usize,
    ruhs_desc: Vec<RuhsDesc>,
}

/// `nvmx fdp-ruhs`.
pub fn ruhs(p: &Printer, a: &RuhsArgs) -> CliResult {
    let dev = a.t.open()?;
    let all = dev
        .fdp_ruh_status()
        .map_err(|e| CliError::command("io management receive", e))?;
    let out = RuhsOut {
        nruhsd: all.len(),
        ruhs_desc: all
            .iter()
            .take(usize::from(a.limit))
            .map(|d| RuhsDesc {
                pi: Hex(u64::from(d.pid)),
                ruhi: d.ruhid,
                earutr: d.earutr,
                ruamw: d.ruamw,
            })
            .collect(),
    };
    print_keyed(p, "fdp_ruhs", out)
}

/// `nvmx fdp-ruhu`.
pub fn ruhu(p: &Printer, a: &RuhuUpdateArgs) -> CliResult {
    let dev = a.t.open()?;
    dev.fdp_ruh_update(&a.pid)
        .map_err(|e| CliError::command("io management send", e))?;
    #[derive(Serialize)]
    struct Out {
        pids: Vec<Hex>,
        status: &'static str,
    }
    print_keyed(
        p,
        "fdp_ruhu",
        Out {
            pids: a.pid.iter().map(|&p| Hex(u64::from(p))).collect(),
            status: "ok",
        },
    )
}

/// The event types `set-fdp-events` names by default, in order.
const DEFAULT_EVENT_TYPES: [u8; 6] = [0x0, 0x1, 0x2, 0x3, 0x80, 0x81];

/// `nvmx set-fdp-events`.
pub fn set_events(p: &Printer, a: &SetEventsArgs) -> CliResult {
    if a.fid != FeatureId::FDP_EVENTS.0 {
        return Err(CliError::new(format!(
            "--fid {:#x}: set-fdp-events sets FID 0x1e (FDP Events); use feature-set for others",
            a.fid
        )));
    }
    let sel = FdpEventsSelect::from_cdw11(a.feat);
    let types: Vec<FdpEventType> = if a.event_types.is_empty() {
        let n = usize::from(sel.noet);
        if n == 0 || n > DEFAULT_EVENT_TYPES.len() {
            return Err(CliError::new(format!(
                "--feat {:#x}: bits 23:16 give {n} event types; without --event-types give 1 to {}",
                a.feat,
                DEFAULT_EVENT_TYPES.len()
            )));
        }
        DEFAULT_EVENT_TYPES[..n]
            .iter()
            .map(|&t| FdpEventType(t))
            .collect()
    } else {
        if sel.noet != 0 && usize::from(sel.noet) != a.event_types.len() {
            return Err(CliError::new(format!(
                "--feat {:#x} says {} event types, --event-types lists {}",
                a.feat,
                sel.noet,
                a.event_types.len()
            )));
        }
        a.event_types.iter().map(|&t| FdpEventType(t)).collect()
    };
    let dev = a.t.open()?;
    let enable = a.cdw12 & 1 == 1;
    dev.set_fdp_events(sel.phndl, enable, &types, a.save)
        .map_err(|e| CliError::command("set features", e))?;
    #[derive(Serialize)]
    struct Out {
        fid: Hex,
        phndl: u16,
        enable: bool,
        event_types: Vec<Hex>,
        status: &'static str,
    }
    print_keyed(
        p,
        "set_fdp_events",
        Out {
            fid: Hex(u64::from(a.fid)),
            phndl: sel.phndl,
            enable,
            event_types: types.iter().map(|t| Hex(u64::from(t.0))).collect(),
            status: "ok",
        },
    )
}
