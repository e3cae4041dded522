//! The runners of a checked [`Transfer`]: synchronous, queued, and
//! vectored.

use std::collections::VecDeque;
use std::time::Instant;

use nvmx::{Buffer, Rejected};

use super::pattern::{SinkState, fill_pattern};
use super::{Outcome, Sink, Source, Transfer, no_buffer, queue};
use crate::error::{CliError, CliResult};

impl Transfer<'_> {
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
}
