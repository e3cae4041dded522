//! `nvmx lblk ...`: logical-block I/O on a namespace (xNVMe's `lblk` tool).
//!
//! `--nlb` is zero-based everywhere, as in the NVMe specification and
//! xNVMe: `--nlb 0` is one block.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use nvmx::{Device, Geometry};
use serde::Serialize;

use crate::args::{DevArgs, UriArg, num_u16, num_u64};
use crate::cmd_idfy::{IdfyNsArgs, hexdump};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// The pattern `lblk write` writes without `--data-input`.
const PATTERN: &str = "anum";

/// `nvmx lblk` subcommands.
#[derive(Subcommand, Debug)]
pub enum Lblk {
    /// Print the device: identification, backend, options and geometry.
    Info {
        #[command(flatten)]
        uri: UriArg,
        #[command(flatten)]
        dev: DevArgs,
    },
    /// Identify Namespace.
    Idfy(IdfyNsArgs),
    /// Read blocks; print a summary, and write the data to --data-output.
    Read(ReadArgs),
    /// Write blocks from --data-input, or a deterministic pattern without it.
    Write(WriteArgs),
    /// Write zeroes to blocks (no data transfer).
    #[command(name = "write-zeros", alias = "write-zeroes")]
    WriteZeros(RangeOnlyArgs),
    /// Mark blocks uncorrectable: reads fail until they are written.
    #[command(name = "write-uncor")]
    WriteUncor(RangeOnlyArgs),
    /// Compare blocks with --data-input; a mismatch fails with Compare Failure.
    Compare(CompareArgs),
    /// Write blocks with protection information, read them back, verify.
    #[command(name = "write-read-pi")]
    WriteReadPi(crate::cmd_pi::WriteReadPiArgs),
    /// Write blocks with a directive (--dtype, --dspec): streams or data placement.
    #[command(name = "write-dir")]
    WriteDir(crate::cmd_dir::WriteDirArgs),
    /// Directive Send: enable or disable a directive, release streams.
    #[command(name = "dir-send")]
    DirSend(crate::cmd_dir::DirSendArgs),
    /// Directive Receive: directive and streams parameters, stream status and allocation.
    #[command(name = "dir-receive")]
    DirReceive(crate::cmd_dir::DirRecvArgs),
}

/// The LBA range of a command.
#[derive(Args, Debug, Clone, Copy)]
pub struct Range {
    /// Starting logical block address (decimal or 0x hex).
    #[arg(long, value_parser = num_u64, value_name = "LBA")]
    slba: u64,
    /// Number of logical blocks, zero-based as in NVMe: 0 means one block
    /// (decimal or 0x hex, at most 65535).
    #[arg(long, value_parser = num_u16, value_name = "NLB")]
    nlb: u16,
}

impl Range {
    fn nblocks(self) -> u64 {
        u64::from(self.nlb) + 1
    }
}

/// Arguments of `lblk read`.
#[derive(Args, Debug)]
pub struct ReadArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    range: Range,
    /// Write the data read to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
    /// Write the metadata read to this file (formats with separate metadata).
    #[arg(long = "meta-output", value_name = "FILE")]
    meta_output: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `lblk write`.
#[derive(Args, Debug)]
pub struct WriteArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    range: Range,
    /// Data to write (its first nblocks x block-size bytes); without it a
    /// deterministic pattern (0-9a-zA-Z repeating) is written.
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
    /// Metadata to write (formats with separate metadata; zeroes without it).
    #[arg(long = "meta-input", value_name = "FILE")]
    meta_input: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `lblk compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    range: Range,
    /// Data to compare the blocks with.
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: PathBuf,
    /// Metadata to compare (formats with separate metadata).
    #[arg(long = "meta-input", value_name = "FILE")]
    meta_input: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of commands that move no data (`write-zeros`, `write-uncor`).
#[derive(Args, Debug)]
pub struct RangeOnlyArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    range: Range,
    #[command(flatten)]
    dev: DevArgs,
}

/// What a block I/O command did.
#[derive(Serialize, Default)]
struct Summary {
    slba: Hex,
    nlb: u16,
    nblocks: u64,
    nbytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta_nbytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_pattern: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta_input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta_output: Option<String>,
    /// The first bytes read, when they are not written to a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<Vec<String>>,
    status: &'static str,
}

/// The buffer sizes a range needs on a device.
struct Sizes {
    data: usize,
    /// Size of the separate metadata buffer, when the format has one.
    meta: Option<usize>,
}

impl Sizes {
    /// Checks the range against the device (range, MDTS, metadata) with
    /// buffers of exactly the needed sizes, before anything is allocated.
    fn check(dev: &Device, r: Range) -> CliResult<(Geometry, Sizes)> {
        let g = dev.geometry()?.clone();
        let data = r.nblocks() * u64::from(g.lba_nbytes);
        let meta =
            (g.nbytes_oob > 0 && !g.lba_extended).then(|| r.nblocks() * u64::from(g.nbytes_oob));
        let too_big = || {
            CliError::new(format!(
                "{data} bytes of data do not fit in memory on this machine"
            ))
        };
        let data = usize::try_from(data).map_err(|_| too_big())?;
        let meta = meta
            .map(usize::try_from)
            .transpose()
            .map_err(|_| too_big())?;
        dev.check_lba_io(r.slba, r.nlb, data, meta)?;
        Ok((g, Sizes { data, meta }))
    }
}

fn summary(r: Range, g: &Geometry, s: &Sizes) -> Summary {
    Summary {
        slba: Hex(r.slba),
        nlb: r.nlb,
        nblocks: r.nblocks(),
        nbytes: r.nblocks() * u64::from(g.lba_nbytes),
        meta_nbytes: s.meta.map(|m| m as u64),
        status: "ok",
        ..Default::default()
    }
}

fn header(p: &Printer, what: &str, r: Range, nbytes: u64) -> CliResult {
    p.comment(&format!(
        "lblk {what}: slba {:#x} nlb {} ({} blocks, {nbytes} bytes)",
        r.slba,
        r.nlb,
        r.nblocks()
    ))?;
    Ok(())
}

fn print_keyed(p: &Printer, key: &'static str, s: Summary) -> CliResult {
    p.print(&std::collections::BTreeMap::from([(key, s)]))?;
    Ok(())
}

/// Fills `buf` from the start of the file at `path`. `flag` names the
/// option in errors. The file must hold at least `buf.len()` bytes; when it
/// is shorter, `short` turns its size into the error to report.
fn load(
    flag: &str,
    path: &Path,
    buf: &mut [u8],
    short: impl FnOnce(usize) -> CliResult,
) -> CliResult {
    let what = format!("reading {flag}");
    // Checked before opening: Windows refuses to open a directory with a
    // bare "access denied".
    if path.is_dir() {
        return Err(CliError::new(format!(
            "{what} {}: is a directory",
            path.display()
        )));
    }
    let mut f = File::open(path).map_err(|e| CliError::file(&what, path, &e))?;
    let md = f.metadata().map_err(|e| CliError::file(&what, path, &e))?;
    if md.is_dir() {
        return Err(CliError::new(format!(
            "{what} {}: is a directory",
            path.display()
        )));
    }
    let len = usize::try_from(md.len()).unwrap_or(usize::MAX);
    if len < buf.len() {
        short(len)?;
        // The check above always fails for a short file; stay safe anyway.
        return Err(CliError::new(format!(
            "{flag} {}: {len} bytes is shorter than the {} bytes needed",
            path.display(),
            buf.len()
        )));
    }
    f.read_exact(buf)
        .map_err(|e| CliError::file(&what, path, &e))
}

/// Reads `--data-input` into `buf`, reporting a short file with the
/// library's size check.
fn load_data(dev: &Device, r: Range, sizes: &Sizes, path: &Path, buf: &mut [u8]) -> CliResult {
    load("--data-input", path, buf, |len| {
        dev.check_lba_io(r.slba, r.nlb, len, sizes.meta)
            .map_err(|e| CliError::new(format!("--data-input {}: {e}", path.display())))
    })
}

/// Reads `--meta-input` into `buf`, reporting a short file with the
/// library's size check.
fn load_meta(dev: &Device, r: Range, sizes: &Sizes, path: &Path, buf: &mut [u8]) -> CliResult {
    load("--meta-input", path, buf, |len| {
        dev.check_lba_io(r.slba, r.nlb, sizes.data, Some(len))
            .map_err(|e| CliError::new(format!("--meta-input {}: {e}", path.display())))
    })
}

fn no_separate_meta(flag: &str) -> CliError {
    CliError::new(format!(
        "{flag}: the namespace format has no separate metadata (none, or interleaved with the data)"
    ))
}

fn write_file(flag: &str, path: &Path, data: &[u8]) -> CliResult {
    std::fs::write(path, data).map_err(|e| CliError::file(&format!("writing {flag}"), path, &e))
}

/// Runs an `lblk` subcommand.
pub fn run(p: &Printer, cmd: &Lblk) -> CliResult {
    match cmd {
        Lblk::Info { uri, dev } => crate::cmd_info::info(p, &uri.uri, dev),
        Lblk::Idfy(a) => crate::cmd_idfy::idfy_ns(p, a),
        Lblk::Read(a) => read(p, a),
        Lblk::Write(a) => write(p, a),
        Lblk::WriteZeros(a) => no_data(p, a, false),
        Lblk::WriteUncor(a) => no_data(p, a, true),
        Lblk::Compare(a) => compare(p, a),
        Lblk::WriteReadPi(a) => crate::cmd_pi::write_read_pi(p, a),
        Lblk::WriteDir(a) => crate::cmd_dir::write_dir(p, a),
        Lblk::DirSend(a) => crate::cmd_dir::dir_send(p, a),
        Lblk::DirReceive(a) => crate::cmd_dir::dir_recv(p, a),
    }
}

/// `lblk read` (also `zoned read`).
pub(crate) fn read(p: &Printer, a: &ReadArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let r = a.range;
    let (g, sizes) = Sizes::check(&dev, r)?;
    if a.meta_output.is_some() && sizes.meta.is_none() {
        return Err(no_separate_meta("--meta-output"));
    }
    let mut data = dev.alloc(sizes.data)?;
    let mut meta = sizes.meta.map(|m| dev.alloc(m)).transpose()?;
    dev.read(r.slba, r.nlb, &mut data, meta.as_deref_mut())
        .map_err(|e| CliError::command("read", e))?;
    let mut s = summary(r, &g, &sizes);
    if let Some(path) = &a.data_output {
        write_file("--data-output", path, &data)?;
        s.data_output = Some(path.display().to_string());
    } else {
        s.head = Some(hexdump(&data[..data.len().min(64)]));
    }
    if let (Some(path), Some(m)) = (&a.meta_output, &meta) {
        write_file("--meta-output", path, m)?;
        s.meta_output = Some(path.display().to_string());
    }
    header(p, "read", r, s.nbytes)?;
    print_keyed(p, "lblk_read", s)
}

/// `lblk write` (also `zoned write`).
pub(crate) fn write(p: &Printer, a: &WriteArgs) -> CliResult {
    let dev = a.dev.open_for_write(&a.uri.uri)?;
    let r = a.range;
    let (g, sizes) = Sizes::check(&dev, r)?;
    if a.meta_input.is_some() && sizes.meta.is_none() {
        return Err(no_separate_meta("--meta-input"));
    }
    let mut s = summary(r, &g, &sizes);
    let mut data = dev.alloc(sizes.data)?;
    match &a.data_input {
        Some(path) => {
            load_data(&dev, r, &sizes, path, &mut data)?;
            s.data_input = Some(path.display().to_string());
        }
        None => {
            data.fill(PATTERN)?;
            s.data_pattern = Some(PATTERN);
        }
    }
    let mut meta = sizes.meta.map(|m| dev.alloc(m)).transpose()?;
    if let (Some(path), Some(m)) = (&a.meta_input, meta.as_mut()) {
        load_meta(&dev, r, &sizes, path, m)?;
        s.meta_input = Some(path.display().to_string());
    }
    dev.write(r.slba, r.nlb, &data, meta.as_deref())
        .map_err(|e| CliError::command("write", e))?;
    header(p, "write", r, s.nbytes)?;
    if a.data_input.is_none() {
        p.comment("no --data-input: wrote the 'anum' pattern (0-9a-zA-Z repeating)")?;
    }
    print_keyed(p, "lblk_write", s)
}

fn compare(p: &Printer, a: &CompareArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let r = a.range;
    let (g, sizes) = Sizes::check(&dev, r)?;
    match (&a.meta_input, sizes.meta) {
        (Some(_), None) => return Err(no_separate_meta("--meta-input")),
        (None, Some(m)) => {
            return Err(CliError::new(format!(
                "compare: the namespace format has separate metadata ({m} bytes for this range); give --meta-input FILE"
            )));
        }
        _ => {}
    }
    let mut s = summary(r, &g, &sizes);
    let mut data = dev.alloc(sizes.data)?;
    load_data(&dev, r, &sizes, &a.data_input, &mut data)?;
    s.data_input = Some(a.data_input.display().to_string());
    let mut meta = sizes.meta.map(|m| dev.alloc(m)).transpose()?;
    if let (Some(path), Some(m)) = (&a.meta_input, meta.as_mut()) {
        load_meta(&dev, r, &sizes, path, m)?;
        s.meta_input = Some(path.display().to_string());
    }
    dev.compare(r.slba, r.nlb, &data, meta.as_deref())
        .map_err(|e| CliError::command("compare", e))?;
    header(p, "compare", r, s.nbytes)?;
    print_keyed(p, "lblk_compare", s)
}

fn no_data(p: &Printer, a: &RangeOnlyArgs, uncor: bool) -> CliResult {
    let dev = a.dev.open_for_write(&a.uri.uri)?;
    let r = a.range;
    let g = dev.geometry()?.clone();
    let (what, key) = if uncor {
        ("write-uncor", "lblk_write_uncor")
    } else {
        ("write-zeros", "lblk_write_zeros")
    };
    let res = if uncor {
        dev.write_uncorrectable(r.slba, r.nlb)
    } else {
        dev.write_zeroes(r.slba, r.nlb)
    };
    res.map_err(|e| CliError::command(what, e))?;
    let nbytes = r.nblocks() * u64::from(g.nbytes);
    header(p, what, r, nbytes)?;
    let s = Summary {
        slba: Hex(r.slba),
        nlb: r.nlb,
        nblocks: r.nblocks(),
        nbytes,
        status: "ok",
        ..Default::default()
    };
    print_keyed(p, key, s)
}
