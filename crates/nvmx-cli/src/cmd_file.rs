//! `nvmx file ...`: whole-file transfers through nvmx's file backend
//! configurations (xNVMe's `xnvme_file` tool).
//!
//! Every subcommand opens regular files as nvmx devices, so `--be`
//! (`emu_file`, the default, `thrpool_file`, `io_uring_file`, `libaio_file`,
//! `posix_file`) or `--async` picks how the I/O is done, and `--direct`
//! opens with O_DIRECT. The data written is the `anum` pattern (0-9a-zA-Z
//! repeating, by byte position), so a file dumped by nvmx can be checked
//! byte for byte.
//!
//! - `write-read` writes the pattern, reads it back and compares.
//! - `dump-*` write `--data-nbytes` bytes of the pattern to a file, creating
//!   it, and cut it to that size.
//! - `dump-*-iovec` do the same with vectored writes, each chunk gathered
//!   from `--vec-cnt` pieces. Both run synchronously (`Device::writev`):
//!   nvmx queues take one buffer per command, so there is no vectored
//!   queue submission to build the async variant on.
//! - `load-*` read a whole file and print its size and an FNV-1a checksum.
//! - `copy-*` copy a whole file to another (created, and cut to size).
//!
//! The transfers themselves are the ones `xdd` runs ([`crate::transfer`]).

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::{DevArgs, nbytes, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};
use crate::transfer::{DEFAULT_QDEPTH, End, Outcome, Role, Sink, Source, Transfer, mb_per_sec};

/// The pattern the `file` subcommands write.
const PATTERN: &str = "anum";

/// Default and largest `--vec-cnt`.
const DEFAULT_VEC_CNT: u32 = 4;
const VEC_CNT_MAX: u32 = 1024;

/// `nvmx file` subcommands.
#[derive(Subcommand, Debug)]
pub enum FileCmd {
    /// Write the anum pattern to a file, read it back and compare.
    #[command(name = "write-read")]
    WriteRead(WriteReadArgs),
    /// Write --data-nbytes of the anum pattern to a file, one chunk at a time.
    #[command(name = "dump-sync")]
    DumpSync(DumpArgs),
    /// Write --data-nbytes of the anum pattern to a file through a queue.
    #[command(name = "dump-async")]
    DumpAsync(DumpAsyncArgs),
    /// dump-sync with vectored writes (--vec-cnt pieces per chunk).
    #[command(name = "dump-sync-iovec")]
    DumpSyncIovec(DumpIovecArgs),
    /// Vectored dump; runs synchronously, as nvmx queues have no vectored
    /// submission.
    #[command(name = "dump-async-iovec")]
    DumpAsyncIovec(DumpIovecArgs),
    /// Read a whole file one chunk at a time; print its size and checksum.
    #[command(name = "load-sync")]
    LoadSync(LoadArgs),
    /// Read a whole file through a queue; print its size and checksum.
    #[command(name = "load-async")]
    LoadAsync(LoadAsyncArgs),
    /// Copy a whole file to another, one chunk at a time.
    #[command(name = "copy-sync")]
    CopySync(CopyArgs),
    /// Copy a whole file to another through queues.
    #[command(name = "copy-async")]
    CopyAsync(CopyAsyncArgs),
}

/// Chunk size, shared by every subcommand.
#[derive(Args, Debug, Clone, Copy)]
pub struct IoSize {
    /// Bytes per read and write, a multiple of 512 (the file block size)
    /// and at most 1 MiB (its largest transfer). Default 128 KiB.
    #[arg(long, value_name = "BYTES", value_parser = nbytes)]
    pub iosize: Option<u64>,
}

/// Queue depth of the async subcommands.
#[derive(Args, Debug, Clone, Copy)]
pub struct QDepth {
    /// Chunks in flight at once (1 to 2048).
    #[arg(long, value_name = "N", value_parser = num_u32, default_value_t = DEFAULT_QDEPTH)]
    pub qdepth: u32,
}

/// Arguments of `file write-read`.
#[derive(Args, Debug)]
pub struct WriteReadArgs {
    /// The file to write and read back (created when missing, cut to
    /// DATA_NBYTES).
    #[arg(value_name = "URI")]
    pub uri: String,
    /// Bytes to write (decimal, 0x hex, or with a K/M/G suffix).
    #[arg(value_name = "DATA_NBYTES", value_parser = nbytes)]
    pub data_nbytes: u64,
    #[command(flatten)]
    pub io: IoSize,
    #[command(flatten)]
    pub dev: DevArgs,
}

/// Arguments of `file dump-sync`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// The file to write (created when missing, cut to --data-nbytes).
    #[arg(value_name = "DATA_OUTPUT")]
    pub data_output: String,
    /// Bytes to write (decimal, 0x hex, or with a K/M/G suffix).
    #[arg(long = "data-nbytes", value_name = "BYTES", value_parser = nbytes)]
    pub data_nbytes: u64,
    #[command(flatten)]
    pub io: IoSize,
    #[command(flatten)]
    pub dev: DevArgs,
}

/// Arguments of `file dump-async`.
#[derive(Args, Debug)]
pub struct DumpAsyncArgs {
    #[command(flatten)]
    pub dump: DumpArgs,
    #[command(flatten)]
    pub q: QDepth,
}

/// Arguments of the vectored dumps.
#[derive(Args, Debug)]
pub struct DumpIovecArgs {
    #[command(flatten)]
    pub dump: DumpArgs,
    /// Pieces each chunk is gathered from (1 to 1024; fewer for a chunk
    /// of fewer blocks). Pieces are whole blocks, so --direct works.
    #[arg(long = "vec-cnt", value_name = "N", value_parser = num_u32, default_value_t = DEFAULT_VEC_CNT)]
    pub vec_cnt: u32,
}

/// Arguments of `file load-sync`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// The file to read.
    #[arg(value_name = "DATA_INPUT")]
    pub data_input: String,
    #[command(flatten)]
    pub io: IoSize,
    #[command(flatten)]
    pub dev: DevArgs,
}

/// Arguments of `file load-async`.
#[derive(Args, Debug)]
pub struct LoadAsyncArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub q: QDepth,
}

/// Arguments of `file copy-sync`.
#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The file to copy.
    #[arg(value_name = "DATA_INPUT")]
    pub data_input: String,
    /// The copy (created when missing, cut to the input's size).
    #[arg(value_name = "DATA_OUTPUT")]
    pub data_output: String,
    #[command(flatten)]
    pub io: IoSize,
    #[command(flatten)]
    pub dev: DevArgs,
}

/// Arguments of `file copy-async`.
#[derive(Args, Debug)]
pub struct CopyAsyncArgs {
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub q: QDepth,
}

/// What the `file` subcommands print.
#[derive(Serialize, Default)]
struct FileSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_output: Option<String>,
    be: &'static str,
    #[serde(rename = "async")]
    async_id: &'static str,
    data_nbytes: u64,
    iosize: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    qdepth: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vec_cnt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_pattern: Option<&'static str>,
    /// FNV-1a (64-bit) of the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    checksum_fnv1a: Option<Hex>,
    nchunks: u64,
    elapsed_secs: f64,
    mb_per_sec: f64,
    status: &'static str,
}

impl FileSummary {
    fn new(e: &End, t: &Transfer<'_>, qdepth: Option<u32>, out: &Outcome) -> Self {
        FileSummary {
            be: e.dev.config().name,
            async_id: e.dev.config().async_id,
            data_nbytes: t.nbytes,
            iosize: t.iosize,
            qdepth,
            nchunks: out.nchunks,
            elapsed_secs: out.elapsed,
            mb_per_sec: mb_per_sec(t.nbytes, out.elapsed),
            status: "ok",
            ..Default::default()
        }
    }
}

fn print(p: &Printer, key: &'static str, comment: &str, s: FileSummary) -> CliResult {
    p.comment(comment)?;
    p.print(&BTreeMap::from([(key, s)]))?;
    Ok(())
}

fn run_transfer(t: &Transfer<'_>, qdepth: Option<u32>) -> CliResult<Outcome> {
    match qdepth {
        Some(_) => t.run_async(),
        None => t.run_sync(),
    }
}

fn open_file(uri: &str, dev: &DevArgs, role: Role) -> CliResult<End> {
    let e = End::open(uri, dev, role)?;
    e.require_file()?;
    Ok(e)
}

/// Runs a `file` subcommand.
pub fn run(p: &Printer, cmd: &FileCmd) -> CliResult {
    match cmd {
        FileCmd::WriteRead(a) => write_read(p, a),
        FileCmd::DumpSync(a) => dump(p, a, None, None),
        FileCmd::DumpAsync(a) => dump(p, &a.dump, Some(a.q.qdepth), None),
        FileCmd::DumpSyncIovec(a) | FileCmd::DumpAsyncIovec(a) => {
            dump(p, &a.dump, None, Some(a.vec_cnt))
        }
        FileCmd::LoadSync(a) => load(p, a, None),
        FileCmd::LoadAsync(a) => load(p, &a.load, Some(a.q.qdepth)),
        FileCmd::CopySync(a) => copy(p, a, None),
        FileCmd::CopyAsync(a) => copy(p, &a.copy, Some(a.q.qdepth)),
    }
}

fn write_read(p: &Printer, a: &WriteReadArgs) -> CliResult {
    if a.data_nbytes == 0 {
        return Err(CliError::new("data-nbytes 0: nothing to write"));
    }
    let out = open_file(&a.uri, &a.dev, Role::Output)?;
    let t = out.undo_create(Transfer::new(
        Source::Pattern,
        Sink::Dev(&out),
        a.data_nbytes,
        a.io.iosize,
        0,
        None,
    ))?;
    let w = t.run_sync()?;
    let back = out.with_role(Role::Input);
    let r = Transfer::new(
        Source::Dev(&back),
        Sink::Verify,
        a.data_nbytes,
        a.io.iosize,
        0,
        None,
    )?
    .run_sync()?;
    if let Some(at) = r.mismatch {
        return Err(CliError::new(format!(
            "{}: the data read back differs from the data written, first at byte {at}",
            a.uri
        )));
    }
    let both = Outcome {
        elapsed: w.elapsed + r.elapsed,
        ..w
    };
    let mut s = FileSummary::new(&out, &t, None, &both);
    s.uri = Some(a.uri.clone());
    s.data_pattern = Some(PATTERN);
    s.mb_per_sec = mb_per_sec(2 * a.data_nbytes, both.elapsed);
    print(
        p,
        "file_write_read",
        &format!(
            "file write-read: wrote {} bytes of the anum pattern, read them back: equal",
            a.data_nbytes
        ),
        s,
    )
}

fn dump(p: &Printer, a: &DumpArgs, qdepth: Option<u32>, vec_cnt: Option<u32>) -> CliResult {
    if a.data_nbytes == 0 {
        return Err(CliError::new("--data-nbytes 0: nothing to write"));
    }
    if let Some(v) = vec_cnt
        && (v == 0 || v > VEC_CNT_MAX)
    {
        return Err(CliError::new(format!(
            "--vec-cnt {v}: must be between 1 and {VEC_CNT_MAX}"
        )));
    }
    let out = open_file(&a.data_output, &a.dev, Role::Output)?;
    let t = out.undo_create(Transfer::new(
        Source::Pattern,
        Sink::Dev(&out),
        a.data_nbytes,
        a.io.iosize,
        0,
        qdepth,
    ))?;
    let done = match vec_cnt {
        Some(v) => t.run_sync_iovec(v)?,
        None => run_transfer(&t, qdepth)?,
    };
    let mut s = FileSummary::new(&out, &t, qdepth, &done);
    s.data_output = Some(a.data_output.clone());
    s.data_pattern = Some(PATTERN);
    s.vec_cnt = vec_cnt;
    let how = match (qdepth, vec_cnt) {
        (_, Some(_)) => "vectored synchronous writes",
        (Some(_), None) => "queued writes",
        (None, None) => "synchronous writes",
    };
    print(
        p,
        "file_dump",
        &format!(
            "file dump: {} bytes of the anum pattern to {} with {how}",
            a.data_nbytes, a.data_output
        ),
        s,
    )
}

fn load(p: &Printer, a: &LoadArgs, qdepth: Option<u32>) -> CliResult {
    let input = open_file(&a.data_input, &a.dev, Role::Input)?;
    let nbytes = input.capacity()?;
    let t = Transfer::new(
        Source::Dev(&input),
        Sink::Checksum,
        nbytes,
        a.io.iosize,
        0,
        qdepth,
    )?;
    let done = run_transfer(&t, qdepth)?;
    let mut s = FileSummary::new(&input, &t, qdepth, &done);
    s.data_input = Some(a.data_input.clone());
    s.checksum_fnv1a = done.checksum.map(Hex);
    print(
        p,
        "file_load",
        &format!("file load: {nbytes} bytes from {}", a.data_input),
        s,
    )
}

fn copy(p: &Printer, a: &CopyArgs, qdepth: Option<u32>) -> CliResult {
    let input = open_file(&a.data_input, &a.dev, Role::Input)?;
    let output = open_file(&a.data_output, &a.dev, Role::Output)?;
    let nbytes = input.capacity()?;
    let t = output.undo_create(Transfer::new(
        Source::Dev(&input),
        Sink::Dev(&output),
        nbytes,
        a.io.iosize,
        0,
        qdepth,
    ))?;
    let done = run_transfer(&t, qdepth)?;
    let mut s = FileSummary::new(&output, &t, qdepth, &done);
    s.data_input = Some(a.data_input.clone());
    s.data_output = Some(a.data_output.clone());
    print(
        p,
        "file_copy",
        &format!(
            "file copy: {nbytes} bytes from {} to {}",
            a.data_input, a.data_output
        ),
        s,
    )
}
