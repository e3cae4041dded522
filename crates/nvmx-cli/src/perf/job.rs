//! One queue's workload: the submit/reap loop on its own thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nvmx::{Buffer, Device, Queue};

use super::hist::Histogram;
pub use super::pattern::Mismatch;
use super::pattern::{self, Offsets, XorShift};
use super::{Clock, IoPattern, RunArgs, cpu};
use crate::error::{CliError, CliResult};

/// At most this many mismatches are listed (all are counted).
const MAX_LISTED: usize = 16;

/// A queue's workload, ready to run on a thread.
pub struct Job {
    dev: Device,
    uri: String,
    queue: u32,
    cpu: Option<usize>,
    pattern: IoPattern,
    qdepth: u32,
    /// Blocks per command, zero-based.
    nlb: u16,
    lba_nbytes: u64,
    iosize: usize,
    /// First LBA of this job's range.
    first_lba: u64,
    /// Commands' worth of blocks in the range.
    units: u64,
    count: Option<u64>,
    lat: bool,
    clock: Clock,
    seed: u64,
    progress: Arc<AtomicU64>,
}

/// What a job did.
pub struct JobResult {
    pub uri: String,
    pub be: &'static str,
    pub engine: &'static str,
    pub queue: u32,
    pub cpu: Option<usize>,
    pub ios: u64,
    pub bytes: u64,
    pub wall: Duration,
    pub hist: Histogram,
    pub errors: u64,
    pub first_error: Option<String>,
    pub verified_blocks: Option<u64>,
    pub mismatch_count: u64,
    pub mismatches: Vec<Mismatch>,
}

/// Called around each command of a phase: the plain patterns do nothing,
/// verify stamps before writing and checks after reading.
trait Hook {
    fn before_submit(&mut self, _buf: &mut Buffer, _slba: u64) {}
    fn after_complete(&mut self, _buf: &Buffer, _slba: u64) {}
}

struct NoHook;
impl Hook for NoHook {}

struct Stamp {
    lba_nbytes: usize,
    generation: u32,
    seed: u64,
}

impl Hook for Stamp {
    fn before_submit(&mut self, buf: &mut Buffer, slba: u64) {
        for (i, b) in buf.chunks_mut(self.lba_nbytes).enumerate() {
            pattern::stamp(b, slba + i as u64, self.generation, self.seed);
        }
    }
}

struct Check {
    lba_nbytes: usize,
    generation: u32,
    seed: u64,
    scratch: Vec<u8>,
    verified: u64,
    count: u64,
    listed: Vec<Mismatch>,
}

impl Hook for Check {
    fn after_complete(&mut self, buf: &Buffer, slba: u64) {
        for (i, b) in buf.chunks(self.lba_nbytes).enumerate() {
            self.verified += 1;
            if let Some(m) = pattern::check(
                b,
                &mut self.scratch,
                slba + i as u64,
                self.generation,
                self.seed,
            ) {
                self.count += 1;
                if self.listed.len() < MAX_LISTED {
                    self.listed.push(m);
                }
            }
        }
    }
}

/// Counters of one phase.
#[derive(Default)]
struct Phase {
    ios: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Job {
    /// Plans queue `queue` of `nqueues` on `dev`: its slice of the
    /// namespace and its command size.
    pub fn new(
        dev: Device,
        uri: String,
        queue: u32,
        nqueues: u32,
        cpu: Option<usize>,
        clock: Clock,
        a: &RunArgs,
    ) -> CliResult<Job> {
        let g = dev.geometry()?;
        let lba = u64::from(g.lba_nbytes);
        if lba == 0 || g.nsect == 0 {
            return Err(CliError::new(format!("{uri}: the namespace has no blocks")));
        }
        if a.iosize == 0 || u64::from(a.iosize) % lba != 0 {
            return Err(CliError::new(format!(
                "--iosize {}: not a multiple of {uri}'s {lba}-byte logical block",
                a.iosize
            )));
        }
        let blocks = u64::from(a.iosize) / lba;
        if blocks > 1 << 16 {
            return Err(CliError::new(format!(
                "--iosize {}: more than 65536 blocks in one command",
                a.iosize
            )));
        }
        let per = g.nsect / blocks / u64::from(nqueues);
        if per == 0 {
            return Err(CliError::new(format!(
                "{uri}: {} blocks do not hold one {}-byte command per queue for {nqueues} queues",
                g.nsect, a.iosize
            )));
        }
        if a.iopattern == IoPattern::Verify && dev.config().async_id == "nil" {
            return Err(CliError::new(format!(
                "--iopattern verify: the {} configuration's async interface (nil) moves no \
                 data, so nothing could be verified; pick one that does (e.g. ramdisk_emu)",
                dev.config().name
            )));
        }
        Ok(Job {
            uri,
            queue,
            cpu,
            pattern: a.iopattern,
            qdepth: a.qdepth,
            nlb: (blocks - 1) as u16,
            lba_nbytes: lba,
            iosize: a.iosize as usize,
            first_lba: u64::from(queue) * per * blocks,
            units: per,
            count: a.count,
            lat: !a.no_latency,
            clock,
            seed: a.seed ^ u64::from(queue).wrapping_mul(0x2545_f491_4f6c_dd1d),
            progress: Arc::new(AtomicU64::new(0)),
            dev,
        })
    }

    /// The counter of completed commands, read by the progress line.
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.progress)
    }

    /// Runs the workload until `stop` or the count is reached.
    pub fn run(self, stop: &AtomicBool) -> CliResult<JobResult> {
        if let Some(c) = self.cpu {
            cpu::pin_to(c).map_err(CliError::new)?;
        }
        let mut q = self.dev.queue(self.qdepth.next_power_of_two())?;
        let mut bufs = Vec::with_capacity(self.qdepth as usize);
        for _ in 0..self.qdepth {
            let mut b = self.dev.alloc(self.iosize)?;
            // Writes carry something other than zeroes.
            let mut r = XorShift::new(self.seed);
            for w in b.chunks_mut(8) {
                w.copy_from_slice(&r.next_u64().to_le_bytes()[..w.len()]);
            }
            bufs.push(Some(b));
        }
        let mut hist = Histogram::default();
        let t0 = Instant::now();
        let (phase, verified, check) = match self.pattern {
            IoPattern::Read | IoPattern::Randread | IoPattern::Write | IoPattern::Randwrite => {
                let write = matches!(self.pattern, IoPattern::Write | IoPattern::Randwrite);
                let offs = if matches!(self.pattern, IoPattern::Read | IoPattern::Write) {
                    Offsets::sequential(self.units)
                } else {
                    Offsets::random(self.units, self.seed)
                };
                let ph = self.phase(
                    &mut q,
                    &mut bufs,
                    write,
                    offs,
                    self.count,
                    stop,
                    &mut hist,
                    &mut NoHook,
                )?;
                (ph, None, None)
            }
            IoPattern::Verify => {
                // Every unit once (or --count of them), stamped; then as
                // many random reads of the units written.
                let n = self.count.map_or(self.units, |c| c.min(self.units));
                let lbs = self.lba_nbytes as usize;
                let mut stamp = Stamp {
                    lba_nbytes: lbs,
                    generation: 1,
                    seed: self.seed,
                };
                let never = AtomicBool::new(false);
                let w = self.phase(
                    &mut q,
                    &mut bufs,
                    true,
                    Offsets::sequential(n),
                    Some(n),
                    &never,
                    &mut hist,
                    &mut stamp,
                )?;
                let mut check = Check {
                    lba_nbytes: lbs,
                    generation: 1,
                    seed: self.seed,
                    scratch: vec![0; lbs],
                    verified: 0,
                    count: 0,
                    listed: Vec::new(),
                };
                let mut r = Phase::default();
                if w.errors == 0 {
                    r = self.phase(
                        &mut q,
                        &mut bufs,
                        false,
                        Offsets::random(n, self.seed),
                        Some(n),
                        &never,
                        &mut hist,
                        &mut check,
                    )?;
                }
                let ph = Phase {
                    ios: w.ios + r.ios,
                    errors: w.errors + r.errors,
                    first_error: w.first_error.or(r.first_error),
                };
                (ph, Some(check.verified), Some(check))
            }
        };
        let wall = t0.elapsed();
        q.drain()?;
        let (mismatch_count, mismatches) = check.map_or((0, Vec::new()), |c| (c.count, c.listed));
        Ok(JobResult {
            be: self.dev.config().name,
            engine: q.engine_id(),
            uri: self.uri,
            queue: self.queue,
            cpu: self.cpu,
            ios: phase.ios,
            bytes: phase.ios * self.iosize as u64,
            wall,
            hist,
            errors: phase.errors,
            first_error: phase.first_error,
            verified_blocks: verified,
            mismatch_count,
            mismatches,
        })
    }

    /// One phase: reads or writes at `offs` until `limit` commands or
    /// `stop`, keeping `qdepth` in flight.
    #[allow(clippy::too_many_arguments)]
    fn phase<H: Hook>(
        &self,
        q: &mut Queue,
        bufs: &mut [Option<Buffer>],
        write: bool,
        offs: Offsets,
        limit: Option<u64>,
        stop: &AtomicBool,
        hist: &mut Histogram,
        hook: &mut H,
    ) -> CliResult<Phase> {
        let limit = limit.unwrap_or(u64::MAX);
        let blocks = u64::from(self.nlb) + 1;
        let qd = self.qdepth as usize;
        // Submit times in nanoseconds. A command resubmitted while reaping
        // takes the reap's timestamp: it is submitted right after, and one
        // clock read per batch instead of one per command keeps the
        // clock off the per-I/O cost.
        let mut started = vec![0u64; qd];
        let mut slba = vec![0u64; qd];
        let mut ph = Phase::default();
        let mut submitted = 0u64;
        let mut inflight = 0u32;
        let mut halt = false;
        let base = self.progress.load(Ordering::Relaxed);
        // io_uring's wait submits and waits in one system call (and
        // returns at once with what is ready), where a poke first would
        // enter the kernel once more; the others poke first, which costs
        // less than a wait when completions are there.
        let wait_submits = matches!(q.engine_id(), "io_uring" | "io_uring_cmd");
        let mut next = Next {
            offs,
            first_lba: self.first_lba,
            blocks,
            nlb: self.nlb,
            write,
        };
        for (i, slot) in bufs.iter_mut().enumerate().take(qd) {
            if submitted == limit {
                break;
            }
            let Some(buf) = slot.take() else { continue };
            submitted += 1;
            let t = if self.lat { self.clock.now_ns() } else { 0 };
            match next.submit(q, i, buf, &mut ph, &mut started, t, &mut slba, hook) {
                Ok(()) => inflight += 1,
                Err(back) => {
                    *slot = back;
                    halt = true;
                    break;
                }
            }
        }
        while inflight > 0 {
            if q.ready() == 0 {
                // Each call's error is looked at where it is returned:
                // moving a `Result` on (it is as large as `Error`) costs
                // more than the test.
                if !wait_submits && let Err(e) = q.poke(0) {
                    return Err(self.queue_failed(e));
                }
                if q.ready() == 0
                    && let Err(e) = q.wait()
                {
                    return Err(self.queue_failed(e));
                }
            }
            let now = if self.lat { self.clock.now_ns() } else { 0 };
            let go_on = !halt && !stop.load(Ordering::Relaxed);
            while let Some(c) = q.pop() {
                inflight -= 1;
                ph.ios += 1;
                let i = c.tag as usize;
                if self.lat {
                    hist.record(now.saturating_sub(started[i]));
                }
                let Some(buf) = c.data else { continue };
                match c.result {
                    Ok(_) => hook.after_complete(&buf, slba[i]),
                    Err(e) => {
                        ph.errors += 1;
                        ph.first_error.get_or_insert_with(|| e.to_string());
                        halt = true;
                    }
                }
                if go_on && !halt && submitted < limit {
                    submitted += 1;
                    match next.submit(q, i, buf, &mut ph, &mut started, now, &mut slba, hook) {
                        Ok(()) => inflight += 1,
                        Err(back) => {
                            bufs[i] = back;
                            halt = true;
                        }
                    }
                } else {
                    bufs[i] = Some(buf);
                }
            }
            self.progress.store(base + ph.ios, Ordering::Relaxed);
        }
        Ok(ph)
    }
}

impl Job {
    /// A queue that fails (timeout, dead device) ends the job at once,
    /// without draining: its commands and buffers stay with the queue,
    /// which leaks them on drop if the device still has them.
    #[cold]
    #[inline(never)]
    fn queue_failed(&self, e: nvmx::Error) -> CliError {
        CliError::new(format!("{}: {e}", self.uri))
    }
}

/// Where a phase's next command goes, and its submission.
struct Next {
    offs: Offsets,
    first_lba: u64,
    blocks: u64,
    nlb: u16,
    write: bool,
}

impl Next {
    /// Submits `buf` as command `i` at the next offset, started at `t`;
    /// a refusal is counted and the buffer comes back in the error.
    /// Inlined into both callers: it runs once per I/O.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn submit<H: Hook>(
        &mut self,
        q: &mut Queue,
        i: usize,
        mut buf: Buffer,
        ph: &mut Phase,
        started: &mut [u64],
        t: u64,
        slba: &mut [u64],
        hook: &mut H,
    ) -> Result<(), Option<Buffer>> {
        let lba = self.first_lba + self.offs.next_unit() * self.blocks;
        hook.before_submit(&mut buf, lba);
        slba[i] = lba;
        started[i] = t;
        let r = if self.write {
            q.write(lba, self.nlb, buf, None, i as u64)
        } else {
            q.read(lba, self.nlb, buf, None, i as u64)
        };
        r.map_err(|rej| refused(ph, rej))
    }
}

/// Counts a refused command and hands its buffer back.
#[cold]
#[inline(never)]
fn refused(ph: &mut Phase, rej: nvmx::Rejected) -> Option<Buffer> {
    ph.errors += 1;
    ph.first_error.get_or_insert_with(|| rej.error.to_string());
    rej.data
}
