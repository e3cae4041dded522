//! `nvmx zoned ...`: the Zoned Namespace utility (xNVMe's `zoned` tool).
//!
//! Zone management, Zone Append and zone reports on a zoned namespace.
//! `--slba` names a zone by its start LBA for the management commands and
//! Zone Append; `--nlb` is zero-based. `--nsid`, where taken, must name the
//! opened namespace (open another one with `--dev-nsid`). Destructive zone
//! actions (reset, finish, offline) need no confirmation: a zone's content
//! is meant to be reset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use nvmx::Device;
use nvmx::zoned::{ZoneGeometry, ZoneReportData};
use nvmx_spec::log::{ErrorInfoEntry, LogPageId};
use nvmx_spec::zoned::{ZoneSendAction, ZoneState, ZrasFilter};
use serde::Serialize;
use zerocopy::{FromBytes, IntoBytes};

use crate::args::{DevArgs, UriArg, num_u8, num_u16, num_u32, num_u64};
use crate::cmd_lblk::{ReadArgs, WriteArgs};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// `nvmx zoned` subcommands.
#[derive(Subcommand, Debug)]
pub enum Zoned {
    /// List the devices found on this system.
    Enum {
        #[command(flatten)]
        dev: DevArgs,
    },
    /// Print the device: identification, backend, options and geometry.
    Info {
        #[command(flatten)]
        uri: UriArg,
        #[command(flatten)]
        dev: DevArgs,
    },
    /// Identify Controller for the Zoned command set (CNS 0x6, CSI 0x2).
    #[command(name = "idfy-ctrlr")]
    IdfyCtrlr(IdfyArgs),
    /// Identify Namespace for the Zoned command set (CNS 0x5, CSI 0x2).
    #[command(name = "idfy-ns")]
    IdfyNs(IdfyArgs),
    /// Print the Changed Zone List log (reading it clears it).
    Changes(IdfyArgs),
    /// Print the valid entries of the Error Information log.
    Errors(ErrorsArgs),
    /// Read blocks (as `lblk read`).
    Read(ReadArgs),
    /// Write blocks at a zone's write pointer (as `lblk write`).
    Write(WriteArgs),
    /// Zone Append: write to a zone; prints the LBA the device chose.
    Append(AppendArgs),
    /// Open a zone explicitly (or every closed zone with --all).
    #[command(name = "mgmt-open")]
    MgmtOpen(MgmtArgs),
    /// Close a zone (or every open zone with --all).
    #[command(name = "mgmt-close")]
    MgmtClose(MgmtArgs),
    /// Finish a zone: it becomes full (or every open or closed zone with --all).
    #[command(name = "mgmt-finish")]
    MgmtFinish(MgmtArgs),
    /// Reset a zone: it becomes empty (or every non-empty zone with --all).
    #[command(name = "mgmt-reset")]
    MgmtReset(MgmtArgs),
    /// Zone Management Send with any action (--zsa).
    Mgmt(MgmtZsaArgs),
    /// Report zones from --slba on.
    Report(ReportArgs),
}

/// Arguments of `idfy-ctrlr`, `idfy-ns` and `changes`.
#[derive(Args, Debug)]
pub struct IdfyArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Write the raw data to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `errors`.
#[derive(Args, Debug)]
pub struct ErrorsArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace identifier placed in the Get Log Page command (default: all).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Write the raw log to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `append`.
#[derive(Args, Debug)]
pub struct AppendArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Start LBA of the zone to append to (decimal or 0x hex).
    #[arg(long, value_parser = num_u64, value_name = "ZSLBA")]
    slba: u64,
    /// Number of logical blocks, zero-based: 0 means one block.
    #[arg(long, value_parser = num_u16, value_name = "NLB")]
    nlb: u16,
    /// Namespace identifier; must be the opened namespace.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Data to append; without it a deterministic pattern.
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
    /// Metadata to append (formats with separate metadata; zeroes without it).
    #[arg(long = "meta-input", value_name = "FILE")]
    meta_input: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `mgmt-open`, `mgmt-close`, `mgmt-finish` and `mgmt-reset`.
#[derive(Args, Debug)]
pub struct MgmtArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Start LBA of the zone (ignored with --all).
    #[arg(long, value_parser = num_u64, value_name = "ZSLBA", default_value = "0")]
    slba: u64,
    /// Namespace identifier; must be the opened namespace.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Apply the action to every zone in a state it applies to (Select All).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `mgmt`.
#[derive(Args, Debug)]
pub struct MgmtZsaArgs {
    #[command(flatten)]
    mgmt: MgmtArgs,
    /// Zone send action: 0x1 close, 0x2 finish, 0x3 open, 0x4 reset,
    /// 0x5 offline, 0x10 set descriptor extension, 0x11 ZRWA flush (then
    /// --slba is the last LBA to flush).
    #[arg(long, value_parser = num_u8, value_name = "ZSA")]
    zsa: u8,
    /// With open (0x3): give the zone a zone random write area (ZSASO).
    #[arg(long)]
    zrwa: bool,
    /// The descriptor extension, for set descriptor extension (0x10).
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
}

/// Arguments of `report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Report from the zone holding this LBA.
    #[arg(long, value_parser = num_u64, value_name = "LBA", default_value = "0")]
    slba: u64,
    /// At most this many zones; 0 means all.
    #[arg(long, value_parser = num_u64, value_name = "N", default_value = "0")]
    limit: u64,
    /// Only zones in this state: all, empty, iopen, eopen, closed, full,
    /// ronly, offline.
    #[arg(long, value_name = "STATE", default_value = "all")]
    filter: String,
    /// Extended report: each zone with its descriptor extension.
    #[arg(long)]
    extended: bool,
    /// Write the report (64-byte header, then the entries) to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Runs a `zoned` subcommand.
pub fn run(p: &Printer, cmd: &Zoned) -> CliResult {
    match cmd {
        Zoned::Enum { dev } => crate::cmd_info::enumerate(p, dev),
        Zoned::Info { uri, dev } => crate::cmd_info::info(p, &uri.uri, dev),
        Zoned::IdfyCtrlr(a) => idfy(p, a, false),
        Zoned::IdfyNs(a) => idfy(p, a, true),
        Zoned::Changes(a) => changes(p, a),
        Zoned::Errors(a) => errors(p, a),
        Zoned::Read(a) => crate::cmd_lblk::read(p, a),
        Zoned::Write(a) => crate::cmd_lblk::write(p, a),
        Zoned::Append(a) => append(p, a),
        Zoned::MgmtOpen(a) => mgmt(p, a, ZoneSendAction::OPEN, false, None),
        Zoned::MgmtClose(a) => mgmt(p, a, ZoneSendAction::CLOSE, false, None),
        Zoned::MgmtFinish(a) => mgmt(p, a, ZoneSendAction::FINISH, false, None),
        Zoned::MgmtReset(a) => mgmt(p, a, ZoneSendAction::RESET, false, None),
        Zoned::Mgmt(a) => mgmt(
            p,
            &a.mgmt,
            ZoneSendAction(a.zsa),
            a.zrwa,
            a.data_input.as_deref(),
        ),
        Zoned::Report(a) => report(p, a),
    }
}

fn print_keyed<T: Serialize>(p: &Printer, key: &'static str, value: T) -> CliResult {
    p.print(&BTreeMap::from([(key, value)]))?;
    Ok(())
}

fn save(p: &Printer, path: Option<&Path>, data: &[u8]) -> CliResult {
    if let Some(path) = path {
        std::fs::write(path, data)
            .map_err(|e| CliError::file("writing --data-output", path, &e))?;
        p.comment(&format!("wrote {} bytes to {}", data.len(), path.display()))?;
    }
    Ok(())
}

/// Opens the device, checking `--nsid` against it.
fn open(dev: &DevArgs, uri: &str, nsid: Option<u32>) -> CliResult<Device> {
    let d = dev.open(uri)?;
    if let Some(n) = nsid.filter(|&n| n != d.nsid()) {
        return Err(CliError::new(format!(
            "invalid --nsid: {n:#x} is not the opened namespace ({:#x}); open it with --dev-nsid",
            d.nsid()
        )));
    }
    Ok(d)
}

/// The zone geometry, or an error saying the namespace is not zoned.
fn zone_geometry(dev: &Device) -> CliResult<ZoneGeometry> {
    dev.zone_geometry().map_err(|e| {
        CliError::new(format!(
            "{}: not a zoned namespace, or its zoned Identify data cannot be read: {e}",
            dev.ident().uri
        ))
    })
}

fn idfy(p: &Printer, a: &IdfyArgs, ns: bool) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    if ns {
        let id = dev
            .identify_zoned_namespace()
            .map_err(|e| CliError::command("identify", e))?;
        save(p, a.data_output.as_deref(), id.as_bytes())?;
        p.comment("identify: cns 0x5, csi 0x2 (Zoned Namespace)")?;
        print_keyed(p, "idfy_zoned_ns", *id)
    } else {
        let id = dev
            .identify_zoned_controller()
            .map_err(|e| CliError::command("identify", e))?;
        save(p, a.data_output.as_deref(), id.as_bytes())?;
        p.comment("identify: cns 0x6, csi 0x2 (Zoned Namespace)")?;
        print_keyed(p, "idfy_zoned_ctrlr", *id)
    }
}

fn changes(p: &Printer, a: &IdfyArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let log = dev
        .changed_zone_list(false)
        .map_err(|e| CliError::command("get log page", e))?;
    save(p, a.data_output.as_deref(), log.as_bytes())?;
    p.comment("Changed Zone List (log page 0xbf)")?;
    print_keyed(p, "zoned_changes", *log)
}

fn errors(p: &Printer, a: &ErrorsArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let mut buf = vec![0u8; 64 * 64];
    dev.get_log_page(
        LogPageId::ERROR_INFO.0,
        0,
        0,
        a.nsid.unwrap_or(0xffff_ffff),
        false,
        &mut buf,
    )
    .map_err(|e| CliError::command("get log page", e))?;
    save(p, a.data_output.as_deref(), &buf)?;
    let entries: Vec<ErrorInfoEntry> = buf
        .chunks_exact(64)
        .filter_map(|c| ErrorInfoEntry::read_from_bytes(c).ok())
        .filter(ErrorInfoEntry::is_valid)
        .collect();
    p.comment(&format!(
        "Error Information log: {} valid entries",
        entries.len()
    ))?;
    print_keyed(p, "zoned_errors", entries)
}

#[derive(Serialize)]
struct AppendView {
    zslba: Hex,
    nlb: u16,
    nbytes: u64,
    alba: Hex,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_input: Option<String>,
}

fn load(flag: &str, path: &Path, len: usize) -> CliResult<Vec<u8>> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::file(&format!("reading {flag}"), path, &e))?;
    if bytes.len() < len {
        return Err(CliError::new(format!(
            "{flag} {}: {} bytes is shorter than the {len} bytes needed",
            path.display(),
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn append(p: &Printer, a: &AppendArgs) -> CliResult {
    let dev = open(&a.dev, &a.uri.uri, a.nsid)?;
    let g = dev.geometry()?.clone();
    let nblocks = u64::from(a.nlb) + 1;
    let nbytes = nblocks * u64::from(g.lba_nbytes);
    let len = usize::try_from(nbytes)
        .map_err(|_| CliError::new(format!("{nbytes} bytes do not fit in memory")))?;
    let mut data = dev.alloc(len)?;
    match &a.data_input {
        Some(path) => data.copy_from_slice(&load("--data-input", path, len)?[..len]),
        None => data.fill("anum")?,
    }
    let meta = if g.nbytes_oob > 0 && !g.lba_extended {
        let mlen = nblocks as usize * g.nbytes_oob as usize;
        Some(match &a.meta_input {
            Some(path) => load("--meta-input", path, mlen)?[..mlen].to_vec(),
            None => vec![0u8; mlen],
        })
    } else if a.meta_input.is_some() {
        return Err(CliError::new(
            "--meta-input: the namespace format has no separate metadata",
        ));
    } else {
        None
    };
    let alba = dev
        .zone_append(a.slba, a.nlb, &data, meta.as_deref())
        .map_err(|e| CliError::command("append", e))?;
    p.comment(&format!(
        "Zone Append nlb: {} to zslba: {:#018x}",
        a.nlb, a.slba
    ))?;
    p.comment(&format!("Appended to slba: {alba:#018x}"))?;
    print_keyed(
        p,
        "zoned_append",
        AppendView {
            zslba: Hex(a.slba),
            nlb: a.nlb,
            nbytes,
            alba: Hex(alba),
            data_input: a.data_input.as_ref().map(|p| p.display().to_string()),
        },
    )
}

#[derive(Serialize)]
struct MgmtView {
    zsa: Hex,
    action: String,
    zslba: Hex,
    select_all: bool,
    status: &'static str,
}

fn mgmt(
    p: &Printer,
    a: &MgmtArgs,
    zsa: ZoneSendAction,
    zrwa: bool,
    data_input: Option<&Path>,
) -> CliResult {
    let dev = open(&a.dev, &a.uri.uri, a.nsid)?;
    let name = zsa.name().ok_or_else(|| {
        CliError::new(format!(
            "invalid --zsa: {:#x} is not a zone send action (0x1-0x5, 0x10, 0x11)",
            zsa.0
        ))
    })?;
    if zrwa && zsa != ZoneSendAction::OPEN {
        return Err(CliError::new("--zrwa goes with open (--zsa 0x3) only"));
    }
    if data_input.is_some() && zsa != ZoneSendAction::SET_ZDE {
        return Err(CliError::new(
            "--data-input goes with set descriptor extension (--zsa 0x10) only",
        ));
    }
    let what = format!("zone management send ({name})");
    let r = if a.all {
        dev.zone_mgmt_all(zsa)
    } else {
        match zsa {
            ZoneSendAction::OPEN if zrwa => dev.zone_open_zrwa(a.slba),
            ZoneSendAction::OPEN => dev.zone_open(a.slba),
            ZoneSendAction::CLOSE => dev.zone_close(a.slba),
            ZoneSendAction::FINISH => dev.zone_finish(a.slba),
            ZoneSendAction::RESET => dev.zone_reset(a.slba),
            ZoneSendAction::OFFLINE => dev.zone_offline(a.slba),
            ZoneSendAction::FLUSH_ZRWA => dev.zrwa_flush(a.slba),
            _ => {
                let g = zone_geometry(&dev)?;
                let Some(path) = data_input else {
                    return Err(CliError::new(format!(
                        "set descriptor extension needs --data-input FILE ({} bytes)",
                        g.zdes_nbytes
                    )));
                };
                let ext = load("--data-input", path, g.zdes_nbytes)?;
                dev.zone_set_descriptor_extension(a.slba, &ext[..g.zdes_nbytes])
            }
        }
    };
    r.map_err(|e| CliError::command(&what, e))?;
    p.comment(&format!(
        "{name} {}",
        if a.all {
            "on all zones".to_string()
        } else {
            format!("zslba: {:#018x}", a.slba)
        }
    ))?;
    print_keyed(
        p,
        "zoned_mgmt",
        MgmtView {
            zsa: Hex(zsa.0.into()),
            action: name.to_string(),
            zslba: Hex(a.slba),
            select_all: a.all,
            status: "ok",
        },
    )
}

/// The `--filter` values.
fn parse_filter(s: &str) -> CliResult<ZrasFilter> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "all" => ZrasFilter::ALL,
        "empty" => ZrasFilter::EMPTY,
        "iopen" => ZrasFilter::IOPEN,
        "eopen" => ZrasFilter::EOPEN,
        "closed" => ZrasFilter::CLOSED,
        "full" => ZrasFilter::FULL,
        "ronly" => ZrasFilter::RONLY,
        "offline" => ZrasFilter::OFFLINE,
        _ => {
            return Err(CliError::new(format!(
                "invalid --filter: {s:?}; use all, empty, iopen, eopen, closed, full, ronly or offline"
            )));
        }
    })
}

/// One report entry, as xNVMe prints it, with the state decoded.
#[derive(Serialize)]
struct EntryView {
    zslba: Hex,
    wp: Hex,
    zcap: u64,
    zt: Hex,
    zs: String,
    za: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    zdext: Option<Vec<String>>,
}

/// A report, in the shape of xNVMe's `xnvme_znd_report`.
#[derive(Serialize)]
struct ReportView {
    report_nbytes: u64,
    entries_nbytes: u64,
    zd_nbytes: u64,
    zdext_nbytes: u64,
    zrent_nbytes: u64,
    zslba: Hex,
    zelba: Hex,
    nzones: u64,
    nr_zones: u64,
    nentries: u64,
    extended: bool,
    filter: String,
    entries: Vec<EntryView>,
}

fn state_name(s: ZoneState) -> String {
    s.name()
        .map_or_else(|| format!("{:#x}", s.0), str::to_string)
}

fn report_view(g: &ZoneGeometry, rep: &ZoneReportData) -> ReportView {
    let ext = if rep.extended {
        g.zdes_nbytes as u64
    } else {
        0
    };
    let zrent = 64 + ext;
    let n = rep.entries.len() as u64;
    ReportView {
        report_nbytes: 64 + n * zrent,
        entries_nbytes: n * zrent,
        zd_nbytes: 64,
        zdext_nbytes: ext,
        zrent_nbytes: zrent,
        zslba: Hex(rep.entries.first().map_or(0, |e| e.descr.zslba)),
        zelba: Hex(rep.entries.last().map_or(0, |e| e.descr.zslba)),
        nzones: g.nzones,
        nr_zones: rep.nr_zones,
        nentries: n,
        extended: rep.extended,
        filter: rep.filter.name().unwrap_or("?").to_string(),
        entries: rep
            .entries
            .iter()
            .map(|e| EntryView {
                zslba: Hex(e.descr.zslba),
                wp: Hex(e.descr.wp),
                zcap: e.descr.zcap,
                zt: Hex(e.descr.zt.into()),
                zs: state_name(e.descr.state()),
                za: format!("0b{:08b}", e.descr.za),
                zdext: rep.extended.then(|| crate::cmd_idfy::hexdump(&e.ext)),
            })
            .collect(),
    }
}

fn report(p: &Printer, a: &ReportArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let g = zone_geometry(&dev)?;
    let filter = parse_filter(&a.filter)?;
    let limit = (a.limit != 0).then_some(a.limit);
    let rep = dev
        .report_zones_with(&g, a.slba, filter, limit, a.extended, false)
        .map_err(|e| CliError::command("report zones", e))?;
    if let Some(path) = &a.data_output {
        let mut raw = Vec::new();
        raw.extend_from_slice(&rep.nr_zones.to_le_bytes());
        raw.resize(64, 0);
        for e in &rep.entries {
            raw.extend_from_slice(e.descr.as_bytes());
            if rep.extended {
                let mut ext = e.ext.clone();
                ext.resize(g.zdes_nbytes, 0);
                raw.extend_from_slice(&ext);
            }
        }
        save(p, Some(path), &raw)?;
    }
    p.comment(&format!(
        "Zone Information Report for lba: {:#018x}, limit: {}",
        a.slba, a.limit
    ))?;
    print_keyed(p, "zoned_report", report_view(&g, &rep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_by_name() {
        assert_eq!(parse_filter("IOPEN").unwrap(), ZrasFilter::IOPEN);
        assert_eq!(parse_filter("offline").unwrap(), ZrasFilter::OFFLINE);
        assert!(
            parse_filter("open")
                .unwrap_err()
                .to_string()
                .contains("iopen")
        );
    }

    #[test]
    fn unknown_states_print_as_numbers() {
        assert_eq!(state_name(ZoneState::FULL), "FULL");
        assert_eq!(state_name(ZoneState(0x9)), "0x9");
    }
}
