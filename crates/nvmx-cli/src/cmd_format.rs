//! `nvmx format`, `nvmx sanitize` and `nvmx log-sanitize`.
//!
//! Format NVM and Sanitize destroy data, so both refuse to run without
//! `--force` (the device option that also lets other commands write to a
//! device in use), and both refuse, `--force` or not, when the target is in use
//! ([`nvmx::in_use`]: a mounted file system, swap, or a device-mapper, md
//! or LVM holder on it or on a partition): formatting under a mounted file
//! system corrupts it and the kernel's view of the device. Sanitize acts on
//! the whole NVM subsystem, so for it the controller of the target is
//! checked too (`/dev/nvmeX` for `/dev/nvmeXnY` and `/dev/ngXnY`, found by
//! name: with native multipath a block device is numbered by subsystem, and
//! the controller found may then not be the right one). Format NVM checks
//! the namespace, or the controller with `--nsid 0xffffffff`.

use clap::Args;
use nvmx::spec::log::sanitize_status;
use nvmx::{Device, FormatNvm, Geometry, Sanitize, SanitizeAction, SecureErase};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::args::{DevArgs, UriArg, num_u8, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `nvmx format`.
#[derive(Args, Debug)]
pub struct FormatArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace to format (default: the opened one; 0xffffffff: all).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// LBA format index, low 4 bits (LBAFL).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0-15")]
    lbafl: u8,
    /// LBA format index, high 2 bits (LBAFU), for more than 16 formats.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0-3")]
    lbafu: u8,
    /// Metadata settings: 1 interleaves metadata with the data (extended
    /// LBA), 0 keeps it in a separate buffer.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    mset: u8,
    /// Secure erase: 0 none, 1 user data erase, 2 cryptographic erase.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0-2")]
    ses: u8,
    /// Protection information type: 0 none, 1, 2 or 3.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0-3")]
    pi: u8,
    /// Protection information location: 1 first bytes of metadata, 0 last.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    pil: u8,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx sanitize`.
#[derive(Args, Debug)]
pub struct SanitizeArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Sanitize action: 1 exit failure mode, 2 block erase, 3 overwrite,
    /// 4 crypto erase.
    #[arg(long, value_parser = num_u8, value_name = "1-4")]
    sanact: u8,
    /// Allow unrestricted sanitize exit (AUSE).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    ause: u8,
    /// Overwrite pattern (CDW11), for --sanact 3.
    #[arg(long, value_parser = num_u32, default_value = "0", value_name = "PATTERN")]
    ovrpat: u32,
    /// Overwrite passes, 1 to 16.
    #[arg(long, value_parser = num_u8, default_value = "1", value_name = "1-16")]
    owpass: u8,
    /// Invert the overwrite pattern between passes (OIPBP).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    oipbp: u8,
    /// No-deallocate after sanitize (NDAS).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    nodas: u8,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx log-sanitize`.
#[derive(Args, Debug)]
pub struct LogSanitizeArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    dev: DevArgs,
}

fn flag(name: &str, v: u8) -> CliResult<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(CliError::new(format!("--{name} {v}: must be 0 or 1"))),
    }
}

/// The controller node of an NVMe namespace or generic node, by name:
/// `/dev/nvmeX` for `/dev/nvmeXnY` and `/dev/ngXnY`.
pub fn controller_node(uri: &str) -> Option<String> {
    let name = uri.strip_prefix("/dev/")?;
    let rest = name
        .strip_prefix("nvme")
        .or_else(|| name.strip_prefix("ng"))?;
    let ctrl: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let ns = rest[ctrl.len()..].strip_prefix('n')?;
    (!ctrl.is_empty() && !ns.is_empty()).then(|| format!("/dev/nvme{ctrl}"))
}

/// Refuses to go on without `--force`, or when the target (with `whole`,
/// its controller too) is in use.
fn guard(what: &str, uri: &str, force: bool, whole: bool, loss: &str) -> CliResult {
    let mut targets = vec![uri.to_string()];
    if whole {
        targets.extend(controller_node(uri));
    }
    for t in &targets {
        if let Some(why) = nvmx::in_use(t) {
            return Err(CliError::new(format!(
                "{what}: refusing, even with --force: {t} is in use ({why}); stop using every namespace of the device first"
            )));
        }
    }
    if !force {
        return Err(CliError::new(format!(
            "{what}: refusing without --force: {loss}"
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct FormatOut {
    nsid: Hex,
    lbaf: u8,
    mset: u8,
    pi: u8,
    pil: u8,
    ses: u8,
    status: &'static str,
    geometry: Option<Geometry>,
}

/// Runs `nvmx format`.
pub fn format(p: &Printer, a: &FormatArgs) -> CliResult {
    if a.lbafl > 15 || a.lbafu > 3 {
        return Err(CliError::new(format!(
            "--lbafl {} --lbafu {}: LBAFL is 0-15 and LBAFU 0-3",
            a.lbafl, a.lbafu
        )));
    }
    let f = FormatNvm {
        nsid: a.nsid,
        lbaf: a.lbafu << 4 | a.lbafl,
        mset: flag("mset", a.mset)?,
        pi: a.pi,
        pil: flag("pil", a.pil)?,
        ses: SecureErase::from_ses(a.ses)?,
    };
    f.cdw10()?;
    let whole = a.nsid == Some(0xffff_ffff);
    guard(
        "format",
        &a.uri.uri,
        a.dev.force,
        whole,
        "Format NVM erases every block of the namespace; add --force to go ahead",
    )?;
    let dev = a.dev.open(&a.uri.uri)?;
    let nsid = a.nsid.unwrap_or(dev.nsid());
    let after = dev.format(&f).map_err(|e| CliError::command("format", e))?;
    // A controller handle has no namespace geometry to show.
    let geometry = after.geometry().ok().cloned();
    p.comment(&format!(
        "format: nsid {nsid:#x} to LBA format {} (mset {}, pi {}, pil {}, ses {})",
        f.lbaf, a.mset, a.pi, a.pil, a.ses
    ))?;
    p.print(&BTreeMap::from([(
        "format",
        FormatOut {
            nsid: Hex(u64::from(nsid)),
            lbaf: f.lbaf,
            mset: a.mset,
            pi: a.pi,
            pil: a.pil,
            ses: a.ses,
            status: "ok",
            geometry,
        },
    )]))?;
    Ok(())
}

/// Runs `nvmx sanitize`.
pub fn sanitize(p: &Printer, a: &SanitizeArgs) -> CliResult {
    let s = Sanitize {
        action: SanitizeAction::from_sanact(a.sanact)?,
        ause: flag("ause", a.ause)?,
        owpass: a.owpass,
        oipbp: flag("oipbp", a.oipbp)?,
        nodas: flag("nodas", a.nodas)?,
        ovrpat: a.ovrpat,
    };
    s.cdw10_11()?;
    let loss = if s.action == SanitizeAction::ExitFailureMode {
        "Sanitize acts on the whole NVM subsystem; add --force to go ahead"
    } else {
        "Sanitize erases all user data of every namespace in the NVM subsystem; add --force to go ahead"
    };
    guard("sanitize", &a.uri.uri, a.dev.force, true, loss)?;
    let dev = a.dev.open(&a.uri.uri)?;
    dev.sanitize(&s)
        .map_err(|e| CliError::command("sanitize", e))?;
    p.comment(&format!(
        "sanitize: action {} submitted; its progress and result are in the Sanitize Status log",
        a.sanact
    ))?;
    print_log(p, &dev)
}

#[derive(Serialize)]
struct LogOut {
    sprog: u16,
    /// Only while a sanitize is in progress (SPROG FFFFh otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    progress_percent: Option<u32>,
    sstat: Hex,
    status: &'static str,
    overwrite_passes: u8,
    global_data_erased: bool,
    scdw10: Hex,
    eto: u32,
    etbe: u32,
    etce: u32,
    etond: u32,
    etbend: u32,
    etcend: u32,
}

fn status_name(s: u8) -> &'static str {
    match s {
        sanitize_status::NEVER => "never sanitized",
        sanitize_status::COMPLETED => "completed",
        sanitize_status::IN_PROGRESS => "in progress",
        sanitize_status::FAILED => "failed",
        sanitize_status::COMPLETED_NO_DEALLOC => "completed without deallocation",
        _ => "reserved",
    }
}

fn print_log(p: &Printer, dev: &Device) -> CliResult {
    let log = dev
        .log_sanitize()
        .map_err(|e| CliError::command("log-sanitize", e))?;
    let out = LogOut {
        sprog: log.sprog,
        progress_percent: (log.status() == sanitize_status::IN_PROGRESS)
            .then(|| log.progress_percent()),
        sstat: Hex(u64::from(log.sstat)),
        status: status_name(log.status()),
        overwrite_passes: (log.sstat >> 3 & 0x1f) as u8,
        global_data_erased: log.global_data_erased(),
        scdw10: Hex(u64::from(log.scdw10)),
        eto: log.eto,
        etbe: log.etbe,
        etce: log.etce,
        etond: log.etond,
        etbend: log.etbend,
        etcend: log.etcend,
    };
    p.print(&BTreeMap::from([("log_sanitize", out)]))?;
    Ok(())
}

/// Runs `nvmx log-sanitize`.
pub fn log_sanitize(p: &Printer, a: &LogSanitizeArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    print_log(p, &dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_nodes_are_found_by_name() {
        assert_eq!(
            controller_node("/dev/nvme0n1").as_deref(),
            Some("/dev/nvme0")
        );
        assert_eq!(
            controller_node("/dev/ng12n3").as_deref(),
            Some("/dev/nvme12")
        );
        assert_eq!(controller_node("/dev/nvme3"), None);
        assert_eq!(controller_node("/dev/sdb"), None);
        assert_eq!(controller_node("64MiB"), None);
    }
}
