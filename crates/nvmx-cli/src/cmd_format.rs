//! `nvmx format`, `nvmx sanitize` and `nvmx log-sanitize`.
//!
//! Format NVM and Sanitize destroy data, so both refuse to run without
//! `--force`, and both refuse, `--force` or not, when a file system on
//! the target is mounted (read from `/proc/self/mounts` on Linux): a
//! format under a mounted file system corrupts it and the kernel's view of
//! the device. Sanitize acts on the whole NVM subsystem, so every
//! namespace of the controller is checked; Format NVM checks the
//! namespace, or every namespace when the target is a controller or
//! `--nsid 0xffffffff`.
//!
//! The check is by name: `/dev/ngXnY` is taken to be `/dev/nvmeXnY`. With
//! native NVMe multipath the block device is numbered by subsystem and the
//! generic node by controller, so the two can differ; the check then
//! misses, and `--force` is the only guard. File systems mounted through a
//! device-mapper or md layer on top of the namespace are not seen either.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;
use nvmx::spec::log::sanitize_status;
use nvmx::{Device, FormatNvm, Geometry, Sanitize, SanitizeAction, SecureErase};
use serde::Serialize;

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
    /// Really format: every block of the namespace is lost.
    #[arg(long)]
    force: bool,
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
    /// Really sanitize: all user data of the whole NVM subsystem is lost.
    #[arg(long)]
    force: bool,
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

/// The block devices a target stands for: the namespace's block device
/// (for `/dev/nvmeXnY` and `/dev/ngXnY`), or every namespace of the
/// controller (`whole`, or a controller node `/dev/nvmeX`), as path
/// prefixes. Other paths stand for themselves.
pub fn mount_prefixes(uri: &str, whole: bool) -> Vec<String> {
    let path = Path::new(uri);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let nvme = name
        .strip_prefix("nvme")
        .or_else(|| name.strip_prefix("ng"))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    match nvme {
        Some(rest) => {
            let ctrl: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let ns = rest[ctrl.len()..].strip_prefix('n');
            match ns {
                Some(ns) if !whole => vec![format!("/dev/nvme{ctrl}n{ns}")],
                _ => vec![format!("/dev/nvme{ctrl}n")],
            }
        }
        None => vec![uri.to_string()],
    }
}

/// Mounted file systems (source, mount point) in `mounts` (the text of
/// `/proc/self/mounts`) whose source starts with one of `prefixes`, the
/// rest of the name being a namespace number or a partition.
pub fn mounted_on(mounts: &str, prefixes: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(src), Some(dir)) = (f.next(), f.next()) else {
            continue;
        };
        let src_real = std::fs::canonicalize(src)
            .ok()
            .and_then(|p| p.to_str().map(String::from))
            .unwrap_or_else(|| src.to_string());
        for p in prefixes {
            for s in [src, src_real.as_str()] {
                // Partitions: `p<N>` after a name ending in a digit
                // (nvme0n1p2, loop0p1), `<N>` otherwise (sdb1, and the
                // namespaces after a controller prefix `nvme1n`).
                let part = |rest: &str| {
                    rest.is_empty()
                        || if p.ends_with(|c: char| c.is_ascii_digit()) {
                            rest.starts_with('p')
                        } else {
                            rest.starts_with(|c: char| c.is_ascii_digit())
                        }
                };
                if let Some(rest) = s.strip_prefix(p.as_str())
                    && part(rest)
                {
                    out.push((src.to_string(), dir.to_string()));
                }
            }
        }
    }
    out.dedup();
    out
}

/// Refuses to go on without `--force`, or with a mounted file system on
/// the target.
fn guard(what: &str, uri: &str, force: bool, whole: bool, loss: &str) -> CliResult {
    if uri.starts_with("/dev/") {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let hits = mounted_on(&mounts, &mount_prefixes(uri, whole));
        if let Some((src, dir)) = hits.first() {
            return Err(CliError::new(format!(
                "{what}: refusing, even with --force: {src} is mounted on {dir}; unmount every file system on the device first"
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
        a.force,
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
    guard("sanitize", &a.uri.uri, a.force, true, loss)?;
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

    const MOUNTS: &str = "\
/dev/nvme0n1p2 / ext4 rw 0 0
proc /proc proc rw 0 0
/dev/nvme1n2 /data xfs rw 0 0
/dev/sdb1 /mnt vfat rw 0 0
";

    #[test]
    fn mount_prefixes_map_nodes_to_namespaces_or_controllers() {
        assert_eq!(mount_prefixes("/dev/nvme0n1", false), ["/dev/nvme0n1"]);
        assert_eq!(mount_prefixes("/dev/ng1n2", false), ["/dev/nvme1n2"]);
        assert_eq!(mount_prefixes("/dev/nvme1n2", true), ["/dev/nvme1n"]);
        assert_eq!(mount_prefixes("/dev/nvme3", false), ["/dev/nvme3n"]);
        assert_eq!(mount_prefixes("/dev/sdb", false), ["/dev/sdb"]);
    }

    #[test]
    fn mounted_file_systems_are_found_by_namespace_and_partition() {
        let hit = |uri: &str, whole: bool| mounted_on(MOUNTS, &mount_prefixes(uri, whole));
        assert_eq!(hit("/dev/nvme0n1", false)[0].1, "/");
        assert_eq!(hit("/dev/ng1n2", false)[0].1, "/data");
        assert!(hit("/dev/nvme1n1", false).is_empty());
        assert_eq!(hit("/dev/nvme1n1", true)[0].1, "/data");
        assert!(hit("/dev/nvme10n1", true).is_empty(), "nvme1 is not nvme10");
        assert_eq!(hit("/dev/sdb", false)[0].1, "/mnt");
        assert!(hit("/dev/sd", false).is_empty());
        let m = "/dev/nvme0n10 /x ext4 rw 0 0\n";
        assert!(mounted_on(m, &mount_prefixes("/dev/nvme0n1", false)).is_empty());
    }
}
