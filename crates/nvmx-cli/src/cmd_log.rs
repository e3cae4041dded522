//! `nvmx log`, `nvmx log-erri` and `nvmx log-health`: Get Log Page, raw
//! or decoded.

use std::collections::BTreeMap;

use clap::Args;
use nvmx::Device;
use nvmx_spec::log::{ErrorInfoEntry, LogPageId, SmartHealthLog};
use serde::Serialize;

use crate::args::{DataOutput, DevArgs, UriArg, num_u8, num_u32, num_u64};
use crate::cmd_idfy::{decode, hexdump, print_keyed, save};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// The namespace a log is read for when `--nsid` is not given: the
/// controller-wide scope (all namespaces), as xNVMe does.
const NSID_ALL: u32 = 0xffff_ffff;

/// Arguments of `nvmx log`.
#[derive(Args, Debug)]
pub struct LogArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Log page identifier.
    #[arg(long, value_parser = num_u8, value_name = "LID")]
    lid: u8,
    /// Log specific field.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "LSP")]
    lsp: u8,
    /// Byte offset into the log page (a multiple of 4).
    #[arg(long = "lpo-nbytes", value_parser = num_u64, default_value = "0", value_name = "BYTES")]
    lpo_nbytes: u64,
    /// Namespace scope (default 0xffffffff, every namespace).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Retain Asynchronous Event: leave a pending event in place.
    #[arg(long)]
    rae: bool,
    /// Bytes to read (a non-zero multiple of 4).
    #[arg(long = "data-nbytes", value_parser = num_u32, default_value = "4096", value_name = "BYTES")]
    data_nbytes: u32,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx log-erri`.
#[derive(Args, Debug)]
pub struct LogErriArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Entries to read (default: as many as the controller keeps, ELPE + 1).
    #[arg(long, value_parser = num_u32, value_name = "N")]
    limit: Option<u32>,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx log-health`.
#[derive(Args, Debug)]
pub struct LogHealthArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace (default 0xffffffff, the controller as a whole).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Reads `nbytes` of log `lid` into a device buffer.
fn read_log(
    dev: &Device,
    lid: u8,
    lsp: u8,
    lpo: u64,
    nsid: u32,
    rae: bool,
    nbytes: usize,
) -> CliResult<nvmx::Buffer> {
    let mut buf = dev.alloc(nbytes)?;
    dev.get_log_page(lid, lsp, lpo, nsid, rae, &mut buf)
        .map_err(|e| CliError::command("get log page", e))?;
    Ok(buf)
}

/// The summary `nvmx log` prints for a page it shows raw.
#[derive(Serialize)]
struct RawLog {
    lid: Hex,
    name: &'static str,
    lsp: Hex,
    lpo_nbytes: u64,
    nsid: Hex,
    nbytes: usize,
    nonzero_nbytes: usize,
    head: Vec<String>,
}

/// `nvmx log URI --lid N`.
pub fn log(p: &Printer, a: &LogArgs) -> CliResult {
    if a.data_nbytes == 0 || !a.data_nbytes.is_multiple_of(4) {
        return Err(CliError::new(format!(
            "invalid --data-nbytes: {} is not a non-zero multiple of 4",
            a.data_nbytes
        )));
    }
    if !a.lpo_nbytes.is_multiple_of(4) {
        return Err(CliError::new(format!(
            "invalid --lpo-nbytes: {} is not a multiple of 4",
            a.lpo_nbytes
        )));
    }
    let dev = a.dev.open(&a.uri.uri)?;
    let nsid = a.nsid.unwrap_or(NSID_ALL);
    let buf = read_log(
        &dev,
        a.lid,
        a.lsp,
        a.lpo_nbytes,
        nsid,
        a.rae,
        a.data_nbytes as usize,
    )?;
    p.comment(&format!(
        "get log page: lid {:#x}, lsp {:#x}, lpo {}, nsid {nsid:#x}, {} bytes",
        a.lid, a.lsp, a.lpo_nbytes, a.data_nbytes
    ))?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    let lid = LogPageId(a.lid);
    // Decode the two pages everyone reads, when read from their start.
    if a.lpo_nbytes == 0 {
        if lid == LogPageId::SMART_HEALTH && buf.len() >= 512 {
            return print_keyed(p, "health", Health::from(&decode::<SmartHealthLog>(&buf)?));
        }
        if lid == LogPageId::ERROR_INFO && buf.len() >= 64 {
            return print_keyed(p, "erri", entries(&buf));
        }
    }
    print_keyed(
        p,
        "log",
        RawLog {
            lid: Hex(a.lid.into()),
            name: lid.name().unwrap_or("unknown"),
            lsp: Hex(a.lsp.into()),
            lpo_nbytes: a.lpo_nbytes,
            nsid: Hex(nsid.into()),
            nbytes: buf.len(),
            nonzero_nbytes: buf.iter().filter(|&&b| b != 0).count(),
            head: hexdump(&buf[..buf.len().min(64)]),
        },
    )
}

/// One error information entry, decoded.
#[derive(Serialize)]
struct ErriEntry {
    ecnt: u64,
    sqid: u16,
    cid: Hex,
    status: Hex,
    status_name: String,
    lba: Hex,
    nsid: Hex,
    opc: Hex,
}

/// The valid entries of an error information log.
fn entries(buf: &[u8]) -> Vec<ErriEntry> {
    buf.chunks_exact(64)
        .filter_map(|c| decode::<ErrorInfoEntry>(c).ok())
        .filter(ErrorInfoEntry::is_valid)
        .map(|e| {
            let st = e.status();
            ErriEntry {
                ecnt: e.error_count,
                sqid: e.sqid,
                cid: Hex(e.cid.into()),
                status: Hex(e.status_field.into()),
                status_name: st.to_string(),
                lba: Hex(e.lba),
                nsid: Hex(e.nsid.into()),
                opc: Hex(e.opc.into()),
            }
        })
        .collect()
}

/// `nvmx log-erri URI`.
pub fn log_erri(p: &Printer, a: &LogErriArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let elpe = u32::from(dev.identify_controller()?.elpe) + 1;
    let n = a.limit.unwrap_or(elpe);
    if n == 0 {
        return Err(CliError::new("invalid --limit: 0 entries"));
    }
    if n > elpe {
        return Err(CliError::new(format!(
            "invalid --limit: {n} entries, the controller keeps {elpe} (ELPE + 1)"
        )));
    }
    let buf = read_log(
        &dev,
        LogPageId::ERROR_INFO.0,
        0,
        0,
        NSID_ALL,
        false,
        n as usize * 64,
    )?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    p.comment(&format!("error information log: {n} entries read"))?;
    print_keyed(p, "erri", entries(&buf))
}

/// SMART / Health Information, decoded. The 128-bit counters are shown
/// as 64-bit numbers, saturating (no device reaches 2^64 units).
#[derive(Serialize)]
struct Health {
    critical_warning: Hex,
    temperature_kelvin: u16,
    temperature_celsius: i32,
    avail_spare: u8,
    spare_thresh: u8,
    percent_used: u8,
    data_units_read: u64,
    data_units_written: u64,
    host_read_commands: u64,
    host_write_commands: u64,
    ctrl_busy_time: u64,
    power_cycles: u64,
    power_on_hours: u64,
    unsafe_shutdowns: u64,
    media_errors: u64,
    num_err_log_entries: u64,
    warning_temp_time: u32,
    critical_comp_time: u32,
}

fn sat(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl From<&SmartHealthLog> for Health {
    fn from(l: &SmartHealthLog) -> Self {
        Health {
            critical_warning: Hex(l.critical_warning.into()),
            temperature_kelvin: l.temperature(),
            temperature_celsius: l.temperature_celsius(),
            avail_spare: l.avail_spare,
            spare_thresh: l.spare_thresh,
            percent_used: l.percent_used,
            data_units_read: sat(l.data_units_read()),
            data_units_written: sat(l.data_units_written()),
            host_read_commands: sat(l.host_read_commands()),
            host_write_commands: sat(l.host_write_commands()),
            ctrl_busy_time: sat(l.ctrl_busy_time()),
            power_cycles: sat(l.power_cycles()),
            power_on_hours: sat(l.power_on_hours()),
            unsafe_shutdowns: sat(l.unsafe_shutdowns()),
            media_errors: sat(l.media_errors()),
            num_err_log_entries: sat(l.num_err_log_entries()),
            warning_temp_time: l.warning_temp_time,
            critical_comp_time: l.critical_comp_time,
        }
    }
}

/// `nvmx log-health URI`.
pub fn log_health(p: &Printer, a: &LogHealthArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let nsid = a.nsid.unwrap_or(NSID_ALL);
    let buf = read_log(&dev, LogPageId::SMART_HEALTH.0, 0, 0, nsid, false, 512)?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    let mut out = BTreeMap::new();
    out.insert("health", Health::from(&decode::<SmartHealthLog>(&buf)?));
    p.print(&out)?;
    Ok(())
}
