//! `nvmx xdd sync|async`: copy bytes from one device to another, in the
//! manner of `dd` (xNVMe's `xdd` tool).
//!
//! Both ends are URIs nvmx opens: files, block and NVMe devices, ramdisk
//! sizes. The copy moves `--data-nbytes` bytes starting at byte `--offset`
//! of the input to the same offset of the output, in chunks of `--iosize`
//! bytes. `sync` reads and writes one chunk at a time; `async` keeps
//! `--qdepth` chunks in flight, each read through a queue on the input and,
//! once it completes, written through a queue on the output, reusing the
//! same `--qdepth` buffers (allocated before the copy starts).
//!
//! Block devices move whole logical blocks, so a last chunk shorter than
//! `--iosize` is rounded up to blocks: on the input the extra bytes are read
//! and dropped, on the output they are written as zeroes. A regular output
//! file is then cut to `offset + data-nbytes` bytes, as `dd` does. A
//! regular input file whose size is not a multiple of its block size has a
//! partial last block that no block read reaches; those bytes (fewer than
//! one block) are read with a plain file read before the copy starts.
//!//! The transfer itself is [`crate::transfer`], which also runs `nvmx file`.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::{DevArgs, nbytes, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::Printer;
use crate::transfer::{DEFAULT_QDEPTH, End, Role, Sink, Source, Transfer, mb_per_sec};

/// `nvmx xdd` subcommands.
#[derive(Subcommand, Debug)]
pub enum Xdd {
    /// Copy with synchronous reads and writes, one chunk at a time.
    ///
    /// The device options (--be, --async, --direct, ...) apply to both ends.
    /// The input is opened read-only and the output read-write; a missing
    /// output file is created. A last chunk shorter than --iosize is
    /// rounded up to whole blocks: the extra input bytes are dropped, the
    /// extra output bytes of a device are written as zeroes.
    Sync(XddArgs),
    /// Copy through async queues, --qdepth chunks in flight.
    ///
    /// Each chunk is read through a queue on the input and, once the read
    /// completes, written through a queue on the output. The device options
    /// (--be, --async, --direct, ...) apply to both ends. The input is
    /// opened read-only and the output read-write; a missing output file is
    /// created. A last chunk shorter than --iosize is rounded up to whole
    /// blocks: the extra input bytes are dropped, the extra output bytes of
    /// a device are written as zeroes.
    Async(XddAsyncArgs),
}

/// Arguments of `xdd sync`.
#[derive(Args, Debug)]
pub struct XddArgs {
    /// URI to copy from: a file, a block or NVMe device, or a ramdisk size
    /// (a fresh ramdisk reads as zeroes).
    #[arg(long = "data-input", value_name = "URI")]
    pub data_input: String,
    /// URI to copy to: a file (created when missing, grown as needed and cut
    /// to offset + data-nbytes at the end), a block or NVMe device, or a
    /// ramdisk size (its data is gone when nvmx exits).
    #[arg(long = "data-output", value_name = "URI")]
    pub data_output: String,
    /// Number of bytes to copy (decimal, 0x hex, or with a K/M/G or
    /// KiB/MiB/GiB suffix, all binary).
    #[arg(long = "data-nbytes", value_name = "BYTES", value_parser = nbytes)]
    pub data_nbytes: u64,
    /// Bytes per read and write: a multiple of both devices' logical block
    /// sizes, at most the devices' largest transfer (MDTS). Default 128 KiB,
    /// or the largest transfer when that is smaller.
    #[arg(long, value_name = "BYTES", value_parser = nbytes)]
    pub iosize: Option<u64>,
    /// Byte offset where the copy starts, on both input and output; a
    /// multiple of both devices' logical block sizes.
    #[arg(long, value_name = "BYTES", value_parser = nbytes, default_value = "0")]
    pub offset: u64,
    // Applied to both ends; the access mode and --create follow the role.
    #[command(flatten)]
    pub dev: DevArgs,
}

/// Arguments of `xdd async`.
#[derive(Args, Debug)]
pub struct XddAsyncArgs {
    #[command(flatten)]
    pub xdd: XddArgs,
    /// Chunks in flight at once (1 to 2048); one buffer of --iosize bytes
    /// each is allocated up front.
    #[arg(long, value_name = "N", value_parser = num_u32, default_value_t = DEFAULT_QDEPTH)]
    pub qdepth: u32,
}

/// What `xdd` prints.
#[derive(Serialize)]
struct XddSummary {
    mode: &'static str,
    data_input: String,
    be_input: &'static str,
    data_output: String,
    be_output: &'static str,
    data_nbytes: u64,
    offset: u64,
    iosize: u64,
    qdepth: u32,
    nchunks: u64,
    elapsed_secs: f64,
    mb_per_sec: f64,
    status: &'static str,
}

/// Runs an `xdd` subcommand.
pub fn run(p: &Printer, cmd: &Xdd) -> CliResult {
    let (a, qdepth) = match cmd {
        Xdd::Sync(a) => (a, None),
        Xdd::Async(a) => (&a.xdd, Some(a.qdepth)),
    };
    if a.data_nbytes == 0 {
        return Err(CliError::new("--data-nbytes 0: nothing to copy"));
    }
    let input = End::open(&a.data_input, &a.dev, Role::Input)?;
    let output = End::open(&a.data_output, &a.dev, Role::Output)?;
    let t = output.undo_create(Transfer::new(
        Source::Dev(&input),
        Sink::Dev(&output),
        a.data_nbytes,
        a.iosize,
        a.offset,
        qdepth,
    ))?;
    let out = match qdepth {
        None => t.run_sync()?,
        Some(_) => t.run_async()?,
    };
    let mode = if qdepth.is_some() { "async" } else { "sync" };
    p.comment(&format!(
        "xdd {mode}: {} bytes from {} to {}",
        a.data_nbytes, a.data_input, a.data_output
    ))?;
    let s = XddSummary {
        mode,
        data_input: a.data_input.clone(),
        be_input: input.dev.config().name,
        data_output: a.data_output.clone(),
        be_output: output.dev.config().name,
        data_nbytes: a.data_nbytes,
        offset: a.offset,
        iosize: t.iosize,
        qdepth: t.qdepth,
        nchunks: out.nchunks,
        elapsed_secs: out.elapsed,
        mb_per_sec: mb_per_sec(a.data_nbytes, out.elapsed),
        status: "ok",
    };
    p.print(&BTreeMap::from([("xdd", s)]))?;
    Ok(())
}
