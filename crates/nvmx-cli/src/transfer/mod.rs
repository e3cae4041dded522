//! The transfer engine of `nvmx xdd` and `nvmx file`: moves bytes from a
//! source (a device, or the `anum` pattern) to a sink (a device, a checksum,
//! or a check against the pattern) in chunks, synchronously or with a
//! queue depth.
//!
//! Block devices move whole logical blocks, so a last chunk shorter than
//! `--iosize` is rounded up to blocks: on the input the extra bytes are read
//! and dropped, on the output they are written as zeroes. A regular output
//! file is then cut to `offset + data-nbytes` bytes, as `dd` does. A
//! regular input file whose size is not a multiple of its block size has a
//! partial last block that no block read reaches; those bytes (fewer than
//! one block) are read with a plain file read before the copy starts.

mod end;
mod pattern;
mod run;

use std::time::Instant;

use nvmx::{Buffer, Queue};

pub use end::{End, Role};
use pattern::SinkState;
pub use pattern::{Sink, Source};

use crate::error::{CliError, CliResult};

/// `--iosize` when none is given: 128 KiB, or less when a device's largest
/// transfer (MDTS) is smaller.
pub const DEFAULT_IOSIZE: u64 = 128 * 1024;

/// `--qdepth` when none is given.
pub const DEFAULT_QDEPTH: u32 = 8;

/// Largest `--qdepth`: the largest queue capacity nvmx offers.
pub const QDEPTH_MAX: u32 = nvmx::queue::CAPACITY_LIMIT / 2;

/// Most logical blocks one command moves (NLB is a zero-based 16-bit field).
const NLB_BLOCKS_MAX: u64 = 1 << 16;
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

/// Throughput in MB/s (10^6 bytes per second); 0 when no time passed.
pub fn mb_per_sec(nbytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        nbytes as f64 / 1e6 / secs
    } else {
        0.0
    }
}
#[cfg(test)]
mod tests {
    use super::pattern::{Fnv1a, fill_pattern};
    use super::*;
    use crate::args::DevArgs;

    fn ramdisk(uri: &str, role: Role) -> End {
        End::open(uri, &DevArgs::default(), role).unwrap()
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
