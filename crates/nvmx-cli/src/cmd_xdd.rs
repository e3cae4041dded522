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
//!
//! The transfer engine here also runs `nvmx file` (see `cmd_file`): its
//! source may be a generated pattern and its sink a checksum or a check
//! against the pattern.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use nvmx::uri::Target;
use nvmx::{Buffer, DevType, Device, OpenMode, Queue, Rejected, Uri};
use serde::Serialize;

use crate::args::{DevArgs, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::Printer;

/// `--iosize` when none is given: 128 KiB, or less when a device's largest
/// transfer (MDTS) is smaller.
pub const DEFAULT_IOSIZE: u64 = 128 * 1024;

/// `--qdepth` when none is given.
pub const DEFAULT_QDEPTH: u32 = 8;

/// Largest `--qdepth`: the largest queue capacity nvmx offers.
pub const QDEPTH_MAX: u32 = nvmx::queue::CAPACITY_LIMIT / 2;

/// Most logical blocks one command moves (NLB is a zero-based 16-bit field).
const NLB_BLOCKS_MAX: u64 = 1 << 16;

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

/// clap parser for byte counts: decimal or `0x` hex, or a decimal number
/// with a binary unit (`K`, `KiB`, `KB`, `M`, `MiB`, `MB`, `G`, `GiB`, `GB`).
pub fn nbytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = t.split_at(digits);
    if unit.is_empty() || t.starts_with("0x") || t.starts_with("0X") {
        return crate::args::num_u64(t);
    }
    let shift = match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use K, M, G or KiB, MiB, GiB; all binary)"
            ));
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s} does not fit in 64 bits"))
}

/// Which way an [`End`] is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read from: opened read-only, must exist.
    Input,
    /// Written to: opened read-write, a missing file is created.
    Output,
}

impl Role {
    /// The option naming this end in messages.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Input => "--data-input",
            Role::Output => "--data-output",
        }
    }
}

/// One end of a transfer: an open device and what the copy needs of it.
pub struct End {
    /// The open device.
    pub dev: Device,
    /// The URI as given.
    pub uri: String,
    /// How this end is used.
    pub role: Role,
    /// Bytes per logical block.
    pub blk: u64,
    /// Largest transfer of one command, in bytes.
    pub mdts: u64,
    /// The path, when this end is a regular file.
    pub file: Option<PathBuf>,
    /// Whether opening created the file.
    pub created: bool,
}

impl End {
    /// Opens `uri` for `role` with the device options in `args`; the access
    /// mode and file creation follow the role, whatever `args` say.
    pub fn open(uri: &str, args: &DevArgs, role: Role) -> CliResult<End> {
        let flag = role.flag();
        let parsed = Uri::parse(uri).map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        if role == Role::Input && parsed.target == (Target::File { exists: false }) {
            return Err(CliError::new(format!(
                "{flag} {uri}: no such file or device"
            )));
        }
        // The role sets the mode, so mode flags in `args` (even conflicting
        // ones) are not applied.
        let mut o = DevArgs {
            rdonly: false,
            wronly: false,
            rdwr: false,
            ..args.clone()
        }
        .to_options()?;
        match role {
            Role::Input => {
                o.mode = OpenMode::ReadOnly;
                o.create = false;
                o.truncate = false;
            }
            Role::Output => {
                args.check_not_in_use(uri)?;
                o.mode = OpenMode::ReadWrite;
                o.create = matches!(parsed.target, Target::File { .. });
            }
        }
        let dev = Device::open(uri, &o).map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        let g = dev
            .geometry()
            .map_err(|e| CliError::new(format!("{flag} {uri}: {e}")))?;
        if g.nbytes_oob > 0 {
            return Err(CliError::new(format!(
                "{flag} {uri}: the namespace format carries {} metadata bytes per block; \
                 only formats without metadata can be copied",
                g.nbytes_oob
            )));
        }
        let file = (dev.dtype() == DevType::FsFile).then(|| PathBuf::from(&parsed.base));
        Ok(End {
            blk: u64::from(g.lba_nbytes),
            mdts: u64::from(g.mdts_nbytes),
            dev,
            uri: uri.to_string(),
            role,
            created: role == Role::Output && parsed.target == (Target::File { exists: false }),
            file,
        })
    }

    /// Bytes this end holds now: a file's size, a device's capacity.
    pub fn capacity(&self) -> CliResult<u64> {
        match &self.file {
            Some(p) => std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| CliError::file(&format!("{} stat", self.role.flag()), p, &e)),
            None => Ok(self.dev.geometry()?.tbytes),
        }
    }

    /// The same open device, used the other way round (e.g. to read back
    /// what was written).
    pub fn with_role(&self, role: Role) -> End {
        End {
            dev: self.dev.clone(),
            uri: self.uri.clone(),
            role,
            blk: self.blk,
            mdts: self.mdts,
            file: self.file.clone(),
            created: false,
        }
    }

    /// Passes `r` on; when it is an error and opening created this file,
    /// removes the file first, so a refused command leaves nothing behind.
    pub fn undo_create<T>(&self, r: CliResult<T>) -> CliResult<T> {
        if r.is_err()
            && self.created
            && let Some(p) = &self.file
        {
            let _ = std::fs::remove_file(p);
        }
        r
    }

    /// Refuses anything but a regular file (for `nvmx file`).
    pub fn require_file(&self) -> CliResult {
        if self.file.is_none() {
            return Err(self.err(
                "not a regular file; `nvmx file` works on files (use `nvmx xdd` for devices and ramdisks)",
            ));
        }
        Ok(())
    }

    fn err(&self, msg: impl std::fmt::Display) -> CliError {
        CliError::new(format!("{} {}: {msg}", self.role.flag(), self.uri))
    }

    /// For a regular output file: cuts or extends it to `len` bytes.
    pub fn set_file_len(&self, len: u64) -> CliResult {
        let Some(p) = &self.file else {
            return Ok(());
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .and_then(|f| f.set_len(len))
            .map_err(|e| CliError::file(&format!("{} resize", self.role.flag()), p, &e))
    }
}

/// Where the data of a transfer comes from.
pub enum Source<'a> {
    /// Read from a device.
    Dev(&'a End),
    /// The `anum` pattern (0-9a-zA-Z repeating), by byte position.
    Pattern,
}

/// Where the data of a transfer goes.
pub enum Sink<'a> {
    /// Written to a device.
    Dev(&'a End),
    /// Folded into a checksum, in byte order.
    Checksum,
    /// Compared with the `anum` pattern.
    Verify,
}

/// The `anum` pattern, as [`nvmx::buf::fill`] writes it.
const ANUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Fills `buf` with the pattern bytes of positions `pos..pos + buf.len()`.
fn fill_pattern(buf: &mut [u8], pos: u64) {
    let start = (pos % ANUM.len() as u64) as usize;
    for (b, p) in buf.iter_mut().zip(ANUM.iter().cycle().skip(start)) {
        *b = *p;
    }
}

/// The first byte of `buf` that differs from the pattern at `pos`.
fn pattern_difference(buf: &[u8], pos: u64) -> Option<usize> {
    let start = (pos % ANUM.len() as u64) as usize;
    buf.iter()
        .zip(ANUM.iter().cycle().skip(start))
        .position(|(b, p)| b != p)
}

/// FNV-1a, 64 bit: the checksum `load` prints.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(pub u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Folds `bytes` in.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// A checked transfer: sizes validated against both ends.
pub struct Transfer<'a> {
    /// Data source.
    pub src: Source<'a>,
    /// Data sink.
    pub dst: Sink<'a>,
    /// Bytes to move.
    pub nbytes: u64,
    /// Bytes per chunk.
    pub iosize: u64,
    /// Byte offset on both ends.
    pub offset: u64,
    /// Chunks in flight (async).
    pub qdepth: u32,
    /// The input's bytes past its last whole block, when the input is a
    /// regular file with a partial last block inside the range: (absolute
    /// byte position, bytes).
    tail: Option<(u64, Vec<u8>)>,
    /// Where block reads of the input must stop (a file's last whole block).
    whole_end: u64,
}

/// What a finished transfer found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Chunks moved.
    pub nchunks: u64,
    /// Wall-clock seconds.
    pub elapsed: f64,
    /// Checksum of the data (sink [`Sink::Checksum`]).
    pub checksum: Option<u64>,
    /// First byte (from the start of the data) that differs from the
    /// pattern (sink [`Sink::Verify`]).
    pub mismatch: Option<u64>,
}

fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl<'a> Transfer<'a> {
    /// Checks sizes and offsets against both ends and picks the default
    /// `iosize`; `qdepth` is given for async transfers (1 to 2048).
    pub fn new(
        src: Source<'a>,
        dst: Sink<'a>,
        nbytes: u64,
        iosize: Option<u64>,
        offset: u64,
        qdepth: Option<u32>,
    ) -> CliResult<Transfer<'a>> {
        let ends: Vec<&End> = [
            match &src {
                Source::Dev(e) => Some(*e),
                Source::Pattern => None,
            },
            match &dst {
                Sink::Dev(e) => Some(*e),
                _ => None,
            },
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(q) = qdepth
            && (q == 0 || q > QDEPTH_MAX)
        {
            return Err(CliError::new(format!(
                "--qdepth {q}: must be between 1 and {QDEPTH_MAX} (the largest queue)"
            )));
        }
        // Every size must be a multiple of this: both block sizes.
        let unit = ends.iter().fold(1, |u, e| u / gcd(u, e.blk) * e.blk).max(1);
        let blocks = || {
            ends.iter()
                .map(|e| format!("{} has {}-byte blocks", e.role.flag(), e.blk))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Largest chunk: the smallest MDTS, and at most 65536 blocks.
        let limit = ends
            .iter()
            .map(|e| e.mdts.min(e.blk * NLB_BLOCKS_MAX))
            .min()
            .unwrap_or(u64::from(u32::MAX));
        let iosize = match iosize {
            Some(0) => return Err(CliError::new("--iosize 0: must be at least one block")),
            Some(s) => {
                if !s.is_multiple_of(unit) {
                    return Err(CliError::new(format!(
                        "--iosize {s}: not a multiple of the logical block size ({})",
                        blocks()
                    )));
                }
                if s > limit {
                    return Err(CliError::new(format!(
                        "--iosize {s}: larger than the largest transfer of one command ({limit} bytes)"
                    )));
                }
                s
            }
            None => {
                let s = DEFAULT_IOSIZE.min(limit) / unit * unit;
                if s == 0 {
                    return Err(CliError::new(format!(
                        "no chunk size fits: the largest transfer is {limit} bytes and the blocks do not divide it ({})",
                        blocks()
                    )));
                }
                s
            }
        };
        if !offset.is_multiple_of(unit) {
            return Err(CliError::new(format!(
                "--offset {offset}: not a multiple of the logical block size ({})",
                blocks()
            )));
        }
        let end = offset
            .checked_add(nbytes)
            .ok_or_else(|| CliError::new("--offset + --data-nbytes overflows 64 bits"))?;
        let mut tail = None;
        let mut whole_end = u64::MAX;
        if let Source::Dev(e) = &src {
            let have = e.capacity()?;
            if end > have {
                return Err(e.err(format!(
                    "--data-nbytes {nbytes} from offset {offset} needs {end} bytes, but the input holds {have}"
                )));
            }
            if let Some(p) = &e.file {
                whole_end = have / e.blk * e.blk;
                if end > whole_end {
                    tail = Some((whole_end, read_file_at(p, whole_end, end - whole_end)?));
                }
            }
        }
        if let Sink::Dev(e) = &dst
            && e.file.is_none()
        {
            let need = round_up(end, e.blk);
            let have = e.capacity()?;
            if need > have {
                return Err(e.err(format!(
                    "--data-nbytes {nbytes} from offset {offset} needs {need} bytes, but the output holds {have}"
                )));
            }
        }
        Ok(Transfer {
            src,
            dst,
            nbytes,
            iosize,
            offset,
            qdepth: qdepth.unwrap_or(1),
            tail,
            whole_end,
        })
    }

    fn nchunks(&self) -> u64 {
        self.nbytes.div_ceil(self.iosize)
    }

    /// Position (from the start of the data) and length of chunk `i`.
    fn chunk(&self, i: u64) -> (u64, u64) {
        let pos = i * self.iosize;
        (pos, self.iosize.min(self.nbytes - pos))
    }

    /// The device read for chunk `i`: (slba, nblocks), nblocks possibly 0.
    fn input_blocks(&self, e: &End, i: u64) -> (u64, u64) {
        let (pos, len) = self.chunk(i);
        let start = self.offset + pos;
        let stop = (start + round_up(len, e.blk)).min(self.whole_end.max(start));
        (start / e.blk, (stop - start) / e.blk)
    }

    /// Copies the input's partial last block into chunk `i`'s buffer.
    fn splice_tail(&self, i: u64, buf: &mut [u8]) {
        let Some((at, bytes)) = &self.tail else {
            return;
        };
        let (pos, len) = self.chunk(i);
        let start = self.offset + pos;
        let end = start + len;
        if end <= *at {
            return;
        }
        let from = (*at).max(start);
        let dst = &mut buf[(from - start) as usize..len as usize];
        let src = (from - at) as usize;
        dst.copy_from_slice(&bytes[src..src + dst.len()]);
    }

    /// The device write for chunk `i`: (slba, nblocks, bytes to zero after
    /// the data up to the block end).
    fn output_blocks(&self, e: &End, i: u64) -> (u64, u64, u64) {
        let (pos, len) = self.chunk(i);
        let start = self.offset + pos;
        let rounded = round_up(len, e.blk);
        (start / e.blk, rounded / e.blk, len)
    }

    fn alloc(&self) -> CliResult<Buffer> {
        let len = usize::try_from(self.iosize)
            .map_err(|_| CliError::new("--iosize does not fit in memory"))?;
        let dev = match (&self.src, &self.dst) {
            (Source::Dev(e), _) | (_, Sink::Dev(e)) => Some(&e.dev),
            _ => None,
        };
        Ok(match dev {
            Some(d) => d.alloc(len)?,
            None => Buffer::new(len)?,
        })
    }

    /// Runs the transfer with synchronous commands, one chunk at a time.
    pub fn run_sync(&self) -> CliResult<Outcome> {
        let t0 = Instant::now();
        let mut sink = SinkState::default();
        let n = self.nchunks();
        if n > 0 {
            let mut buf = self.alloc()?;
            for i in 0..n {
                match &self.src {
                    Source::Pattern => {
                        let (pos, len) = self.chunk(i);
                        fill_pattern(&mut buf[..len as usize], pos);
                    }
                    Source::Dev(e) => {
                        let (slba, nblocks) = self.input_blocks(e, i);
                        if nblocks > 0 {
                            let nbytes = (nblocks * e.blk) as usize;
                            e.dev
                                .read(slba, (nblocks - 1) as u16, &mut buf[..nbytes], None)
                                .map_err(|err| self.io_error(e, i, err))?;
                        }
                        self.splice_tail(i, &mut buf);
                    }
                }
                match &self.dst {
                    Sink::Dev(e) => {
                        let (slba, nblocks, len) = self.output_blocks(e, i);
                        let nbytes = (nblocks * e.blk) as usize;
                        buf[len as usize..nbytes].fill(0);
                        e.dev
                            .write(slba, (nblocks - 1) as u16, &buf[..nbytes], None)
                            .map_err(|err| self.io_error(e, i, err))?;
                    }
                    _ => sink.take(self, i, &buf),
                }
            }
        }
        self.finish(sink, n, t0)
    }

    /// Runs the transfer through async queues, `qdepth` chunks in flight.
    pub fn run_async(&self) -> CliResult<Outcome> {
        let t0 = Instant::now();
        let n = self.nchunks();
        let depth = u64::from(self.qdepth).min(n);
        let capacity = self.qdepth.next_power_of_two();
        let mut qin = match &self.src {
            Source::Dev(e) => Some(queue(e, capacity)?),
            Source::Pattern => None,
        };
        let mut qout = match &self.dst {
            Sink::Dev(e) => Some(queue(e, capacity)?),
            _ => None,
        };
        let mut free = Vec::with_capacity(depth as usize);
        for _ in 0..depth {
            free.push(self.alloc()?);
        }
        // Chunks whose data is in their buffer, ready for the sink.
        let mut filled: VecDeque<(u64, Buffer)> = VecDeque::with_capacity(depth as usize);
        // Chunks waiting for earlier ones before the checksum takes them,
        // at chunk % depth: buffers go back only in chunk order, so the
        // chunks started are always within `depth` of the next one taken.
        let mut reorder: Vec<Option<Buffer>> = (0..depth).map(|_| None).collect();
        let mut sink = SinkState::default();
        let mut next = 0;
        let mut done = 0;
        while done < n {
            let mut progress = false;
            // Start chunks on free buffers.
            while next < n {
                let Some(mut buf) = free.pop() else { break };
                match (&self.src, qin.as_mut()) {
                    (Source::Dev(e), Some(q)) => {
                        let (slba, nblocks) = self.input_blocks(e, next);
                        if nblocks == 0 {
                            self.splice_tail(next, &mut buf);
                            filled.push_back((next, buf));
                        } else {
                            match q.read(slba, (nblocks - 1) as u16, buf, None, next) {
                                Ok(()) => {}
                                // Full (an engine may hold fewer than its
                                // capacity): reap first, retry later.
                                Err(Rejected {
                                    error: nvmx::Error::Busy { .. },
                                    data: Some(buf),
                                    ..
                                }) => {
                                    free.push(buf);
                                    break;
                                }
                                Err(r) => return Err(self.io_error(e, next, r.error)),
                            }
                        }
                    }
                    _ => {
                        let (pos, len) = self.chunk(next);
                        fill_pattern(&mut buf[..len as usize], pos);
                        filled.push_back((next, buf));
                    }
                }
                progress = true;
                next += 1;
            }
            // Reap reads.
            if let (Source::Dev(e), Some(q)) = (&self.src, qin.as_mut()) {
                q.poke(0).map_err(|err| e.err(err))?;
                while let Some(c) = q.pop() {
                    progress = true;
                    c.result.map_err(|err| self.io_error(e, c.tag, *err))?;
                    let mut buf = c.data.ok_or_else(|| no_buffer(e))?;
                    self.splice_tail(c.tag, &mut buf);
                    filled.push_back((c.tag, buf));
                }
            }
            // Hand filled chunks to the sink.
            while let Some((i, mut buf)) = filled.pop_front() {
                match (&self.dst, qout.as_mut()) {
                    (Sink::Dev(e), Some(q)) => {
                        let (slba, nblocks, len) = self.output_blocks(e, i);
                        buf[len as usize..(nblocks * e.blk) as usize].fill(0);
                        match q.write(slba, (nblocks - 1) as u16, buf, None, i) {
                            Ok(()) => {}
                            Err(Rejected {
                                error: nvmx::Error::Busy { .. },
                                data: Some(buf),
                                ..
                            }) => {
                                filled.push_front((i, buf));
                                break;
                            }
                            Err(r) => return Err(self.io_error(e, i, r.error)),
                        }
                    }
                    _ => {
                        reorder[(i % depth) as usize] = Some(buf);
                        while let Some(buf) = reorder[(sink.next % depth) as usize].take() {
                            sink.take(self, sink.next, &buf);
                            free.push(buf);
                            done += 1;
                        }
                    }
                }
                progress = true;
            }
            // Reap writes.
            if let (Sink::Dev(e), Some(q)) = (&self.dst, qout.as_mut()) {
                q.poke(0).map_err(|err| e.err(err))?;
                while let Some(c) = q.pop() {
                    progress = true;
                    c.result.map_err(|err| self.io_error(e, c.tag, *err))?;
                    free.push(c.data.ok_or_else(|| no_buffer(e))?);
                    done += 1;
                }
            }
            if !progress {
                // Nothing moved: block on a queue with commands in flight.
                let ends = [
                    (self.dst_end(), qout.as_mut()),
                    (self.src_end(), qin.as_mut()),
                ];
                let Some((Some(e), Some(q))) = ends
                    .into_iter()
                    .find(|(_, q)| q.as_ref().is_some_and(|q| q.outstanding() > 0))
                else {
                    return Err(CliError::new(format!(
                        "the copy stalled after {done} of {n} chunks with nothing in flight"
                    )));
                };
                q.wait().map_err(|err| e.err(err))?;
            }
        }
        self.finish(sink, n, t0)
    }

    /// Writes the pattern to the output with vectored writes
    /// ([`Device::writev`]), each chunk gathered from up to `vec_cnt`
    /// block-aligned pieces of one buffer. Synchronous: nvmx queues take
    /// one buffer per command, so there is no vectored queue submission.
    pub fn run_sync_iovec(&self, vec_cnt: u32) -> CliResult<Outcome> {
        let t0 = Instant::now();
        let Sink::Dev(e) = &self.dst else {
            return Err(CliError::new("vectored transfers write to a device"));
        };
        let n = self.nchunks();
        if n > 0 {
            let mut buf = self.alloc()?;
            for i in 0..n {
                let (pos, len) = self.chunk(i);
                let (slba, nblocks, _) = self.output_blocks(e, i);
                let nbytes = (nblocks * e.blk) as usize;
                fill_pattern(&mut buf[..len as usize], pos);
                buf[len as usize..nbytes].fill(0);
                let per = nblocks.div_ceil(u64::from(vec_cnt)) * e.blk;
                // A few bytes per chunk: the slices borrow the buffer that
                // the next chunk refills, so the vector cannot outlive it.
                let iov: Vec<std::io::IoSlice<'_>> = buf[..nbytes]
                    .chunks(per as usize)
                    .map(std::io::IoSlice::new)
                    .collect();
                e.dev
                    .writev(slba, (nblocks - 1) as u16, &iov, None)
                    .map_err(|err| self.io_error(e, i, err))?;
            }
        }
        self.finish(SinkState::default(), n, t0)
    }

    fn finish(&self, sink: SinkState, n: u64, t0: Instant) -> CliResult<Outcome> {
        if let Sink::Dev(e) = &self.dst {
            e.set_file_len(self.offset + self.nbytes)?;
        }
        Ok(Outcome {
            nchunks: n,
            elapsed: t0.elapsed().as_secs_f64(),
            checksum: matches!(self.dst, Sink::Checksum).then_some(sink.fnv.0),
            mismatch: sink.mismatch,
        })
    }

    fn src_end(&self) -> Option<&End> {
        match &self.src {
            Source::Dev(e) => Some(e),
            Source::Pattern => None,
        }
    }

    fn dst_end(&self) -> Option<&End> {
        match &self.dst {
            Sink::Dev(e) => Some(e),
            _ => None,
        }
    }

    fn io_error(&self, e: &End, i: u64, err: nvmx::Error) -> CliError {
        let (pos, _) = self.chunk(i);
        let what = match e.role {
            Role::Input => "reading",
            Role::Output => "writing",
        };
        e.err(format!("{what} at byte {}: {err}", self.offset + pos))
    }
}

fn no_buffer(e: &End) -> CliError {
    e.err("the queue handed a completion back without its buffer")
}

fn queue(e: &End, capacity: u32) -> CliResult<Queue> {
    e.dev.queue(capacity).map_err(|err| e.err(err))
}

/// Reads `len` bytes at `off` of the file at `path`.
fn read_file_at(path: &std::path::Path, off: u64, len: u64) -> CliResult<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let what = "--data-input read";
    let mut f = std::fs::File::open(path).map_err(|e| CliError::file(what, path, &e))?;
    f.seek(SeekFrom::Start(off))
        .map_err(|e| CliError::file(what, path, &e))?;
    let mut v = vec![0u8; len as usize];
    f.read_exact(&mut v)
        .map_err(|e| CliError::file(what, path, &e))?;
    Ok(v)
}

/// The checksum and pattern check, fed chunks in order.
#[derive(Default)]
struct SinkState {
    fnv: Fnv1a,
    mismatch: Option<u64>,
    /// The chunk the sink takes next (async reordering).
    next: u64,
}

impl SinkState {
    fn take(&mut self, t: &Transfer<'_>, i: u64, buf: &[u8]) {
        let (pos, len) = t.chunk(i);
        let data = &buf[..len as usize];
        match t.dst {
            Sink::Checksum => self.fnv.update(data),
            Sink::Verify => {
                if self.mismatch.is_none() {
                    self.mismatch = pattern_difference(data, pos).map(|d| pos + d as u64);
                }
            }
            Sink::Dev(_) => {}
        }
        self.next = i + 1;
    }
}

/// Throughput in MB/s (10^6 bytes per second); 0 when no time passed.
pub fn mb_per_sec(nbytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        nbytes as f64 / 1e6 / secs
    } else {
        0.0
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ramdisk(uri: &str, role: Role) -> End {
        End::open(uri, &DevArgs::default(), role).unwrap()
    }

    #[test]
    fn byte_counts_take_binary_units() {
        assert_eq!(nbytes("4096"), Ok(4096));
        assert_eq!(nbytes("0x1000"), Ok(4096));
        assert_eq!(nbytes("4K"), Ok(4096));
        assert_eq!(nbytes("1MiB"), Ok(1 << 20));
        assert_eq!(nbytes("2GB"), Ok(2 << 30));
        assert!(nbytes("1TB").unwrap_err().contains("unknown unit"));
        assert!(nbytes("x").is_err());
    }

    #[test]
    fn pattern_is_positional() {
        let mut a = [0u8; 100];
        fill_pattern(&mut a, 0);
        let mut b = [0u8; 40];
        fill_pattern(&mut b, 60);
        assert_eq!(&a[60..], &b[..]);
        assert_eq!(pattern_difference(&a[60..], 60), None);
        b[7] = b'!';
        assert_eq!(pattern_difference(&b, 60), Some(7));
    }

    fn reversed(e: &End) -> End {
        e.with_role(match e.role {
            Role::Input => Role::Output,
            Role::Output => Role::Input,
        })
    }

    #[test]
    fn ramdisk_to_ramdisk_in_process_keeps_the_data() {
        // A ramdisk lives in one process: fill one with the pattern, copy
        // part of it to another with both runners, and read it back here.
        let src = ramdisk("1MiB", Role::Output);
        let nbytes = 300_000;
        Transfer::new(
            Source::Pattern,
            Sink::Dev(&src),
            1 << 20,
            Some(64 * 1024),
            0,
            None,
        )
        .unwrap()
        .run_sync()
        .unwrap();
        let src = reversed(&src);
        for qdepth in [None, Some(3)] {
            let dst = ramdisk("1MiB?lbaf=2", Role::Output);
            assert_eq!(dst.blk, 4096);
            let t = Transfer::new(
                Source::Dev(&src),
                Sink::Dev(&dst),
                nbytes,
                None,
                4096,
                qdepth,
            )
            .unwrap();
            let out = if qdepth.is_some() {
                t.run_async()
            } else {
                t.run_sync()
            }
            .unwrap();
            assert_eq!(out.nchunks, 3, "128 KiB chunks");
            let mut want = vec![0u8; nbytes as usize];
            fill_pattern(&mut want, 4096);
            let mut got = vec![0u8; round_up(nbytes, 4096) as usize];
            dst.dev
                .read(1, (got.len() / 4096 - 1) as u16, &mut got, None)
                .unwrap();
            assert!(got[..nbytes as usize] == want[..], "qdepth {qdepth:?}");
            // The rounded-up tail of the last block was written as zeroes.
            assert!(got[nbytes as usize..].iter().all(|&b| b == 0));
            // A checksum through a queue sees the same data.
            let back = reversed(&dst);
            let sum = Transfer::new(
                Source::Dev(&back),
                Sink::Checksum,
                nbytes,
                Some(8192),
                4096,
                Some(4),
            )
            .unwrap()
            .run_async()
            .unwrap();
            let mut f = Fnv1a::default();
            f.update(&want);
            assert_eq!(sum.checksum, Some(f.0));
            // The data starts at pattern position 4096, not 0: the pattern
            // check finds the difference at once.
            let v = Transfer::new(Source::Dev(&back), Sink::Verify, nbytes, None, 4096, None)
                .unwrap()
                .run_sync()
                .unwrap();
            assert_eq!(v.mismatch, Some(0));
        }
        let v = Transfer::new(Source::Dev(&src), Sink::Verify, 1 << 20, None, 0, Some(2))
            .unwrap()
            .run_async()
            .unwrap();
        assert_eq!(v.mismatch, None);
    }

    #[test]
    fn output_too_small_and_input_too_short_are_refused() {
        let src = ramdisk("1MiB", Role::Input);
        let dst = ramdisk("64KiB", Role::Output);
        let e = Transfer::new(Source::Dev(&src), Sink::Dev(&dst), 65537, None, 0, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("--data-output") && e.contains("holds 65536"),
            "{e}"
        );
        let e = Transfer::new(Source::Dev(&dst), Sink::Checksum, 65537, None, 0, None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("input holds 65536"), "{e}");
    }
}
