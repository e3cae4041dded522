//! The namespace's storage: logical blocks and their metadata, in RAM.
//!
//! The blocks are kept in chunks of 1 MiB of data (plus the metadata of
//! those blocks). A chunk is allocated on the first command that puts
//! something into it and freed again when a Write Zeroes or a deallocate
//! covers it whole, so a large ramdisk costs only what has been written; a
//! chunk that does not exist reads as zeroes, which is also what
//! deallocated blocks read as (Identify Namespace DLFEAT 001b).
//!
//! Each chunk has its own lock, so commands on different chunks run in
//! parallel and a command holds a lock only while it copies that chunk's
//! part of its transfer. A command spanning chunks is not atomic across
//! them, which NVMe does not promise either (AWUN is one block).
//!
//! Blocks marked by Write Uncorrectable are a bit per block in their chunk.

use std::ops::Range;
use std::sync::{PoisonError, RwLock};

use nvmx_core::error::{Error, Result};

/// Data bytes per chunk: a whole number of blocks for every LBA format.
const CHUNK_DATA_BYTES: u64 = 1 << 20;

/// Why a media operation did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MediaError {
    /// The block is marked uncorrectable by Write Uncorrectable.
    Uncorrectable {
        /// The first such block met.
        lba: u64,
    },
    /// Compare found different data or metadata in this block.
    Miscompare {
        /// The first block that differs.
        lba: u64,
    },
    /// Memory for the chunk holding this block could not be allocated.
    OutOfMemory {
        /// The first block that could not be stored.
        lba: u64,
    },
    /// A buffer was shorter than the blocks it should hold. Callers check
    /// host buffers before coming here, so this is a bug, reported rather
    /// than panicking.
    Bounds,
}

/// Blocks the host hands to the device (a write's or a compare's payload).
#[derive(Clone, Copy, Debug)]
pub(super) struct Blocks<'a> {
    /// Data; with `extended`, data and metadata interleaved per block.
    pub data: &'a [u8],
    /// Metadata, `ms` bytes per block, when it is not interleaved.
    pub meta: &'a [u8],
    /// Whether metadata follows each block's data in `data`.
    pub extended: bool,
}

/// Where the device puts blocks for the host (a read's destination).
#[derive(Debug)]
pub(super) struct BlocksMut<'a> {
    /// Data; with `extended`, data and metadata interleaved per block.
    pub data: &'a mut [u8],
    /// Metadata, `ms` bytes per block, when it is not interleaved.
    pub meta: &'a mut [u8],
    /// Whether metadata follows each block's data in `data`.
    pub extended: bool,
}

/// Storage for `nlbas` blocks of `ds` data bytes and `ms` metadata bytes.
pub(super) struct Media {
    ds: usize,
    ms: usize,
    nlbas: u64,
    /// Blocks per chunk.
    bpc: u64,
    chunks: Box<[RwLock<Option<Box<Chunk>>>]>,
}

/// One chunk's blocks.
struct Chunk {
    data: Box<[u8]>,
    meta: Box<[u8]>,
    /// One bit per block: marked uncorrectable.
    unc: Box<[u64]>,
    /// How many bits of `unc` are set, to skip the scan when none are.
    nunc: usize,
}

/// Part of a command's blocks that lies in one chunk.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Index of the chunk.
    chunk: usize,
    /// First block, counted within the chunk.
    first: usize,
    /// Number of blocks.
    count: usize,
    /// Blocks of the command before this run.
    done: usize,
    /// LBA of the first block.
    lba: u64,
}

/// Blocks that are contiguous both in the host buffers and in a chunk: the
/// whole run when metadata is separate, one block when it is interleaved.
#[derive(Clone, Copy, Debug)]
struct Piece {
    /// Number of blocks.
    n: usize,
    /// Index of the first block within the run.
    k: usize,
    /// Offset of the data in the host's data buffer.
    host_data: usize,
    /// Offset of the metadata in the host's metadata buffer, or in its data
    /// buffer when interleaved.
    host_meta: usize,
    /// Offset of the data in the chunk.
    chunk_data: usize,
    /// Offset of the metadata in the chunk.
    chunk_meta: usize,
}

fn zeroed<T: Clone + Default>(len: usize) -> Option<Box<[T]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, T::default());
    Some(v.into_boxed_slice())
}

fn span(off: usize, len: usize) -> Result<Range<usize>, MediaError> {
    off.checked_add(len)
        .map(|end| off..end)
        .ok_or(MediaError::Bounds)
}

fn get(buf: &[u8], off: usize, len: usize) -> Result<&[u8], MediaError> {
    buf.get(span(off, len)?).ok_or(MediaError::Bounds)
}

fn get_mut(buf: &mut [u8], off: usize, len: usize) -> Result<&mut [u8], MediaError> {
    buf.get_mut(span(off, len)?).ok_or(MediaError::Bounds)
}

impl Chunk {
    fn new(blocks: usize, ds: usize, ms: usize) -> Option<Box<Chunk>> {
        Some(Box::new(Chunk {
            data: zeroed(blocks.checked_mul(ds)?)?,
            meta: zeroed(blocks.checked_mul(ms)?)?,
            unc: zeroed(blocks.div_ceil(64))?,
            nunc: 0,
        }))
    }

    fn is_unc(&self, i: usize) -> bool {
        self.unc.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// The first block of `first..first + count` marked uncorrectable.
    fn first_unc(&self, first: usize, count: usize) -> Option<usize> {
        if self.nunc == 0 {
            return None;
        }
        (first..first.saturating_add(count)).find(|&i| self.is_unc(i))
    }

    fn set_unc(&mut self, first: usize, count: usize, marked: bool) {
        if !marked && self.nunc == 0 {
            return;
        }
        for i in first..first.saturating_add(count) {
            let Some(w) = self.unc.get_mut(i / 64) else {
                return;
            };
            let bit = 1u64 << (i % 64);
            if (*w & bit != 0) != marked {
                *w ^= bit;
                if marked {
                    self.nunc += 1;
                } else {
                    self.nunc -= 1;
                }
            }
        }
    }
}

impl Media {
    /// Storage for `nlbas` blocks; no block memory is allocated yet.
    pub fn new(nlbas: u64, ds: u32, ms: u16) -> Result<Media> {
        let bpc = CHUNK_DATA_BYTES / u64::from(ds).max(1);
        let too_big = || {
            Error::invalid(
                "ramdisk size",
                format!("{nlbas} blocks of {ds} bytes are too many to track"),
            )
        };
        let nchunks = usize::try_from(nlbas.div_ceil(bpc)).map_err(|_| too_big())?;
        let mut chunks = Vec::new();
        chunks.try_reserve_exact(nchunks).map_err(|_| too_big())?;
        chunks.resize_with(nchunks, || RwLock::new(None));
        Ok(Media {
            ds: ds as usize,
            ms: usize::from(ms),
            nlbas,
            bpc,
            chunks: chunks.into_boxed_slice(),
        })
    }

    /// The blocks of `slba..slba + n` (clamped to the namespace), split by chunk.
    fn runs(&self, slba: u64, n: u64) -> impl Iterator<Item = Run> + use<> {
        let bpc = self.bpc;
        let end = slba.saturating_add(n).min(self.nlbas);
        let mut lba = slba;
        let mut done = 0usize;
        std::iter::from_fn(move || {
            if lba >= end {
                return None;
            }
            let first = lba % bpc;
            let count = (bpc - first).min(end - lba);
            let run = Run {
                chunk: (lba / bpc) as usize,
                first: first as usize,
                count: count as usize,
                done,
                lba,
            };
            lba += count;
            done += count as usize;
            Some(run)
        })
    }

    /// How many blocks the chunk at `idx` holds (the last may be short).
    fn chunk_blocks(&self, idx: usize) -> usize {
        let start = (idx as u64).saturating_mul(self.bpc);
        self.nlbas.saturating_sub(start).min(self.bpc) as usize
    }

    /// The pieces of `run`: blockwise when `per_block` or `extended`.
    fn pieces(
        &self,
        run: Run,
        extended: bool,
        per_block: bool,
    ) -> impl Iterator<Item = Piece> + use<> {
        let (ds, ms) = (self.ds, self.ms);
        let step = if extended || per_block {
            1
        } else {
            run.count.max(1)
        };
        (0..run.count).step_by(step).map(move |k| {
            let b = run.done + k;
            let (host_data, host_meta) = if extended {
                let at = b * (ds + ms);
                (at, at + ds)
            } else {
                (b * ds, b * ms)
            };
            Piece {
                n: step.min(run.count - k),
                k,
                host_data,
                host_meta,
                chunk_data: (run.first + k) * ds,
                chunk_meta: (run.first + k) * ms,
            }
        })
    }

    fn lock_read(
        &self,
        idx: usize,
    ) -> Result<std::sync::RwLockReadGuard<'_, Option<Box<Chunk>>>, MediaError> {
        Ok(self
            .chunks
            .get(idx)
            .ok_or(MediaError::Bounds)?
            .read()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn lock_write(
        &self,
        idx: usize,
    ) -> Result<std::sync::RwLockWriteGuard<'_, Option<Box<Chunk>>>, MediaError> {
        Ok(self
            .chunks
            .get(idx)
            .ok_or(MediaError::Bounds)?
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// The chunk at `idx`, allocated (zeroed) if it is not yet.
    fn chunk_mut<'g>(
        &self,
        guard: &'g mut Option<Box<Chunk>>,
        run: Run,
    ) -> Result<&'g mut Chunk, MediaError> {
        if guard.is_none() {
            let c = Chunk::new(self.chunk_blocks(run.chunk), self.ds, self.ms)
                .ok_or(MediaError::OutOfMemory { lba: run.lba })?;
            *guard = Some(c);
        }
        guard.as_deref_mut().ok_or(MediaError::Bounds)
    }

    /// Copies `n` blocks from `slba` into `out`. Fails on the first block
    /// marked uncorrectable; `out` then holds part of the data.
    pub fn read(&self, slba: u64, n: u64, out: BlocksMut<'_>) -> Result<(), MediaError> {
        let (ds, ms) = (self.ds, self.ms);
        let BlocksMut {
            data,
            meta,
            extended,
        } = out;
        for run in self.runs(slba, n) {
            let guard = self.lock_read(run.chunk)?;
            let chunk = guard.as_deref();
            if let Some(i) = chunk.and_then(|c| c.first_unc(run.first, run.count)) {
                return Err(MediaError::Uncorrectable {
                    lba: run.lba + (i - run.first) as u64,
                });
            }
            for p in self.pieces(run, extended, false) {
                let dst = get_mut(data, p.host_data, p.n * ds)?;
                match chunk {
                    Some(c) => dst.copy_from_slice(get(&c.data, p.chunk_data, p.n * ds)?),
                    None => dst.fill(0),
                }
                if ms == 0 {
                    continue;
                }
                let dst = if extended {
                    get_mut(data, p.host_meta, ms)?
                } else {
                    get_mut(meta, p.host_meta, p.n * ms)?
                };
                match chunk {
                    Some(c) => dst.copy_from_slice(get(&c.meta, p.chunk_meta, p.n * ms)?),
                    None => dst.fill(0),
                }
            }
        }
        Ok(())
    }

    /// Stores `n` blocks from `src` at `slba`, clearing uncorrectable marks.
    pub fn write(&self, slba: u64, n: u64, src: Blocks<'_>) -> Result<(), MediaError> {
        let (ds, ms) = (self.ds, self.ms);
        for run in self.runs(slba, n) {
            let mut guard = self.lock_write(run.chunk)?;
            let chunk = self.chunk_mut(&mut guard, run)?;
            for p in self.pieces(run, src.extended, false) {
                get_mut(&mut chunk.data, p.chunk_data, p.n * ds)?.copy_from_slice(get(
                    src.data,
                    p.host_data,
                    p.n * ds,
                )?);
                if ms == 0 {
                    continue;
                }
                let from = if src.extended {
                    get(src.data, p.host_meta, ms)?
                } else {
                    get(src.meta, p.host_meta, p.n * ms)?
                };
                get_mut(&mut chunk.meta, p.chunk_meta, p.n * ms)?.copy_from_slice(from);
            }
            chunk.set_unc(run.first, run.count, false);
        }
        Ok(())
    }

    /// Compares `n` blocks at `slba` with `src`, data and metadata.
    pub fn compare(&self, slba: u64, n: u64, src: Blocks<'_>) -> Result<(), MediaError> {
        let (ds, ms) = (self.ds, self.ms);
        for run in self.runs(slba, n) {
            let guard = self.lock_read(run.chunk)?;
            let chunk = guard.as_deref();
            if let Some(i) = chunk.and_then(|c| c.first_unc(run.first, run.count)) {
                return Err(MediaError::Uncorrectable {
                    lba: run.lba + (i - run.first) as u64,
                });
            }
            for p in self.pieces(run, src.extended, true) {
                let host = get(src.data, p.host_data, ds)?;
                let same_data = match chunk {
                    Some(c) => host == get(&c.data, p.chunk_data, ds)?,
                    None => host.iter().all(|&b| b == 0),
                };
                let same_meta = ms == 0 || {
                    let host = if src.extended {
                        get(src.data, p.host_meta, ms)?
                    } else {
                        get(src.meta, p.host_meta, ms)?
                    };
                    match chunk {
                        Some(c) => host == get(&c.meta, p.chunk_meta, ms)?,
                        None => host.iter().all(|&b| b == 0),
                    }
                };
                if !(same_data && same_meta) {
                    return Err(MediaError::Miscompare {
                        lba: run.lba + p.k as u64,
                    });
                }
            }
        }
        Ok(())
    }

    /// Zeroes (or deallocates, which reads the same) `n` blocks at `slba`,
    /// data and metadata, clearing uncorrectable marks. Chunks covered whole
    /// are freed.
    pub fn zero(&self, slba: u64, n: u64) -> Result<(), MediaError> {
        let (ds, ms) = (self.ds, self.ms);
        for run in self.runs(slba, n) {
            let mut guard = self.lock_write(run.chunk)?;
            if run.first == 0 && run.count == self.chunk_blocks(run.chunk) {
                *guard = None;
                continue;
            }
            if let Some(chunk) = guard.as_deref_mut() {
                get_mut(&mut chunk.data, run.first * ds, run.count * ds)?.fill(0);
                get_mut(&mut chunk.meta, run.first * ms, run.count * ms)?.fill(0);
                chunk.set_unc(run.first, run.count, false);
            }
        }
        Ok(())
    }

    /// Marks `n` blocks at `slba` uncorrectable.
    pub fn mark_uncorrectable(&self, slba: u64, n: u64) -> Result<(), MediaError> {
        for run in self.runs(slba, n) {
            let mut guard = self.lock_write(run.chunk)?;
            self.chunk_mut(&mut guard, run)?
                .set_unc(run.first, run.count, true);
        }
        Ok(())
    }

    /// Checks that `n` blocks at `slba` can be read.
    pub fn verify(&self, slba: u64, n: u64) -> Result<(), MediaError> {
        for run in self.runs(slba, n) {
            let guard = self.lock_read(run.chunk)?;
            if let Some(i) = guard
                .as_deref()
                .and_then(|c| c.first_unc(run.first, run.count))
            {
                return Err(MediaError::Uncorrectable {
                    lba: run.lba + (i - run.first) as u64,
                });
            }
        }
        Ok(())
    }

    /// Bytes of block memory allocated now (data and metadata).
    #[cfg(test)]
    pub fn allocated_bytes(&self) -> u64 {
        self.chunks
            .iter()
            .map(|c| {
                let g = c.read().unwrap_or_else(PoisonError::into_inner);
                g.as_deref()
                    .map_or(0, |c| (c.data.len() + c.meta.len()) as u64)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn writes_across_chunks_read_back_with_separate_and_interleaved_metadata() {
        // 512 B + 8 B blocks: 2048 blocks per chunk; 3000 blocks span two chunks.
        let m = Media::new(5000, 512, 8).unwrap();
        let (slba, n) = (1500u64, 1000u64);
        let data = pattern(n as usize * 512, 1);
        let meta = pattern(n as usize * 8, 2);
        m.write(
            slba,
            n,
            Blocks {
                data: &data,
                meta: &meta,
                extended: false,
            },
        )
        .unwrap();
        let mut ext = vec![0u8; n as usize * 520];
        m.read(
            slba,
            n,
            BlocksMut {
                data: &mut ext,
                meta: &mut [],
                extended: true,
            },
        )
        .unwrap();
        for b in 0..n as usize {
            assert_eq!(
                &ext[b * 520..b * 520 + 512],
                &data[b * 512..(b + 1) * 512],
                "data of block {b}"
            );
            assert_eq!(
                &ext[b * 520 + 512..(b + 1) * 520],
                &meta[b * 8..(b + 1) * 8],
                "metadata of block {b}"
            );
        }
        let (mut d2, mut m2) = (vec![0u8; data.len()], vec![0u8; meta.len()]);
        m.read(
            slba,
            n,
            BlocksMut {
                data: &mut d2,
                meta: &mut m2,
                extended: false,
            },
        )
        .unwrap();
        assert_eq!((d2, m2), (data, meta));
    }

    #[test]
    fn zeroing_a_whole_chunk_frees_it_and_unwritten_blocks_read_zero() {
        let m = Media::new(4096, 512, 0).unwrap();
        m.write(
            0,
            1,
            Blocks {
                data: &[7u8; 512],
                meta: &[],
                extended: false,
            },
        )
        .unwrap();
        assert_eq!(m.allocated_bytes(), 1 << 20);
        m.zero(0, 2048).unwrap();
        assert_eq!(m.allocated_bytes(), 0);
        let mut out = vec![1u8; 1024];
        m.read(
            2047,
            2,
            BlocksMut {
                data: &mut out,
                meta: &mut [],
                extended: false,
            },
        )
        .unwrap();
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn uncorrectable_marks_fail_reads_until_written() {
        let m = Media::new(100, 4096, 0).unwrap();
        m.mark_uncorrectable(10, 3).unwrap();
        assert_eq!(m.verify(0, 11), Err(MediaError::Uncorrectable { lba: 10 }));
        assert_eq!(m.verify(13, 5), Ok(()));
        m.write(
            10,
            1,
            Blocks {
                data: &[0u8; 4096],
                meta: &[],
                extended: false,
            },
        )
        .unwrap();
        assert_eq!(m.verify(0, 20), Err(MediaError::Uncorrectable { lba: 11 }));
        m.zero(11, 2).unwrap();
        assert_eq!(m.verify(0, 100), Ok(()));
    }

    #[test]
    fn short_buffers_are_reported_not_panicked_on() {
        let m = Media::new(100, 4096, 0).unwrap();
        let r = m.write(
            0,
            2,
            Blocks {
                data: &[0u8; 4096],
                meta: &[],
                extended: false,
            },
        );
        assert_eq!(r, Err(MediaError::Bounds));
    }
}
