//! `nvmx perf run`: the benchmark command.
//!
//! Each device given gets `--nqueues` queues, each run by its own thread
//! (pinned to the next CPU of `--cpulist` when given) on its own slice of
//! the namespace, keeping `--qdepth` commands of `--iosize` bytes in flight
//! until `--runtime` passes or `--count` commands completed. The report has
//! IOPS, bandwidth, latency percentiles from a log-linear histogram and the
//! CPU time per I/O, per job and in total; a progress line goes to stderr
//! once a second.
//!
//! The loop is the same as a user's: buffers from the device's memory,
//! `Queue::read`/`write`, `poke`, `pop`, and the buffer of a completion is
//! submitted again. It allocates nothing per I/O.

mod clock;
mod cpu;
mod hist;
mod job;
mod pattern;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::args::{DevArgs, num_u32, num_u64};
use crate::error::{CliError, CliResult};
use crate::output::Printer;

use clock::{Clock, ClockSource};
pub use hist::Histogram;
use job::{Job, JobResult};

/// `nvmx perf` subcommands.
#[derive(Subcommand, Debug)]
pub enum Perf {
    /// Run a workload on one or more devices and report IOPS, bandwidth,
    /// latency percentiles and CPU time per I/O.
    Run(RunArgs),
}

/// The I/O pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoPattern {
    /// Sequential reads.
    Read,
    /// Sequential writes.
    Write,
    /// Uniformly random reads.
    Randread,
    /// Uniformly random writes.
    Randwrite,
    /// Writes every block of the job's range stamped with its LBA, a
    /// generation and a seed, then reads them back in random order and
    /// compares every byte.
    Verify,
}

/// Arguments of `nvmx perf run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Device URIs (paths, ramdisk sizes such as 1GiB, PCI addresses).
    #[arg(value_name = "URI", required = true)]
    pub uris: Vec<String>,
    /// The I/O pattern.
    #[arg(long, value_enum, default_value_t = IoPattern::Randread)]
    pub iopattern: IoPattern,
    /// Commands kept in flight per queue.
    #[arg(long, value_parser = num_u32, default_value = "1")]
    pub qdepth: u32,
    /// Bytes per command (a multiple of the logical block size).
    #[arg(long, value_parser = num_u32, default_value = "4096")]
    pub iosize: u32,
    /// Seconds to run (default 5 when --count is not given).
    #[arg(long, value_parser = parse_secs, conflicts_with = "count")]
    pub runtime: Option<Duration>,
    /// Commands to complete per queue, instead of a run time.
    #[arg(long, value_parser = num_u64)]
    pub count: Option<u64>,
    /// Queues (each on its own thread) per device.
    #[arg(long, value_parser = num_u32, default_value = "1")]
    pub nqueues: u32,
    /// CPUs to pin the threads to, in turn (e.g. 0,2-3).
    #[arg(long, value_name = "LIST")]
    pub cpulist: Option<String>,
    /// Seed of the random offsets and of the verify stamps.
    #[arg(long, value_parser = num_u64, default_value = "1")]
    pub seed: u64,
    /// Do not time each command (no latency report): what remains is the
    /// cost of the I/O path alone.
    #[arg(long = "no-latency")]
    pub no_latency: bool,
    /// The clock that times each command: auto takes the CPU's time stamp
    /// counter where the kernel trusts it (as fio does), else the
    /// monotonic clock.
    #[arg(long, value_enum, default_value_t = ClockSource::Auto)]
    pub clock: ClockSource,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub dev: DevArgs,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 1e6) {
        return Err(format!(
            "{s} is not a run time between 0 and 1000000 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Runs a `perf` subcommand.
pub fn run(p: &Printer, cmd: &Perf) -> CliResult {
    match cmd {
        Perf::Run(a) => perf_run(p, a),
    }
}

/// Latency percentiles in nanoseconds.
#[derive(Serialize, Debug, Default)]
struct Latency {
    min: u64,
    mean: u64,
    p50: u64,
    p90: u64,
    p99: u64,
    p99_9: u64,
    p99_99: u64,
    max: u64,
}

impl Latency {
    fn of(h: &Histogram) -> Option<Latency> {
        (h.count() > 0).then(|| Latency {
            min: h.min(),
            mean: h.mean().round() as u64,
            p50: h.percentile(50.0),
            p90: h.percentile(90.0),
            p99: h.percentile(99.0),
            p99_9: h.percentile(99.9),
            p99_99: h.percentile(99.99),
            max: h.max(),
        })
    }
}

/// One queue's figures.
#[derive(Serialize, Debug)]
struct JobReport {
    uri: String,
    be: &'static str,
    engine: &'static str,
    queue: u32,
    cpu: Option<usize>,
    ios: u64,
    iops: f64,
    mib_s: f64,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat_ns: Option<Latency>,
    errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_blocks: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mismatches: Vec<job::Mismatch>,
}

/// The whole run.
#[derive(Serialize, Debug)]
struct Report {
    iopattern: IoPattern,
    qdepth: u32,
    iosize: u32,
    nqueues: u32,
    /// Whether the device was opened with `defer_taskrun` (only io_uring
    /// queues act on it).
    defer_taskrun: bool,
    /// The clock that timed the commands (absent with `--no-latency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<&'static str>,
    jobs: Vec<JobReport>,
    total: Total,
}

#[derive(Serialize, Debug)]
struct Total {
    ios: u64,
    iops: f64,
    mib_s: f64,
    seconds: f64,
    /// CPU time of the process (absent where it cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_user_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_sys_s: Option<f64>,
    /// User plus system CPU time of the process per I/O.
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_ns_per_io: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat_ns: Option<Latency>,
    errors: u64,
    mismatches: u64,
}

fn perf_run(p: &Printer, a: &RunArgs) -> CliResult {
    if a.qdepth == 0 || a.qdepth > nvmx::queue::CAPACITY_LIMIT / 2 {
        return Err(CliError::new(format!(
            "--qdepth {}: a queue depth between 1 and {} is needed",
            a.qdepth,
            nvmx::queue::CAPACITY_LIMIT / 2
        )));
    }
    if a.nqueues == 0 || a.nqueues > 1024 {
        return Err(CliError::new(format!(
            "--nqueues {}: between 1 and 1024 queues per device",
            a.nqueues
        )));
    }
    if a.count == Some(0) {
        return Err(CliError::new("--count 0: at least one command is needed"));
    }
    let cpus = match &a.cpulist {
        Some(l) => cpu::parse_cpulist(l).map_err(CliError::new)?,
        None => Vec::new(),
    };
    let writes = matches!(
        a.iopattern,
        IoPattern::Write | IoPattern::Randwrite | IoPattern::Verify
    );
    // Each job's queue stays on its own thread, so io_uring queues can take
    // DEFER_TASKRUN (what fio's io_uring engine uses too); measured in
    // BENCHMARKS.md. `--defer_taskrun=0` turns it off.
    let mut dev_args = a.dev.clone();
    if dev_args.defer_taskrun.is_none() && !dev_args.poll_sq {
        dev_args.defer_taskrun = Some("1".into());
    }
    let defer_taskrun = dev_args.to_options()?.defer_taskrun;
    let clock = Clock::choose(a.clock).map_err(CliError::new)?;
    let mut jobs = Vec::new();
    for uri in &a.uris {
        let dev = if writes {
            dev_args.open_for_write(uri)?
        } else {
            dev_args.open(uri)?
        };
        for q in 0..a.nqueues {
            let cpu = (!cpus.is_empty()).then(|| cpus[jobs.len() % cpus.len()]);
            jobs.push(Job::new(
                dev.clone(),
                uri.clone(),
                q,
                a.nqueues,
                cpu,
                clock,
                a,
            )?);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Vec<Arc<AtomicU64>> = jobs.iter().map(|j| j.progress()).collect();
    let limit = a.runtime.unwrap_or(if a.count.is_some() {
        Duration::MAX
    } else {
        Duration::from_secs(5)
    });
    let cpu0 = cpu::process_cpu_time();
    let t0 = Instant::now();
    let results: Vec<CliResult<JobResult>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|j| {
                let stop = Arc::clone(&stop);
                s.spawn(move || j.run(&stop))
            })
            .collect();
        progress(&handles, &counters, &stop, limit, a.quiet);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(CliError::new("a perf thread panicked")))
            })
            .collect()
    });
    let wall = t0.elapsed();
    let cpu_used = cpu::process_cpu_time().zip(cpu0).map(|(b, a)| b - a);
    let mut reports = Vec::new();
    let mut all = Histogram::default();
    let (mut ios, mut bytes, mut errors, mut mismatches) = (0u64, 0u64, 0u64, 0u64);
    for r in results {
        let r = r?;
        all.merge(&r.hist);
        ios += r.ios;
        bytes += r.bytes;
        errors += r.errors;
        mismatches += r.mismatch_count;
        let secs = r.wall.as_secs_f64().max(1e-9);
        reports.push(JobReport {
            uri: r.uri,
            be: r.be,
            engine: r.engine,
            queue: r.queue,
            cpu: r.cpu,
            ios: r.ios,
            iops: round1(r.ios as f64 / secs),
            mib_s: round1(r.bytes as f64 / secs / 1048576.0),
            seconds: round3(secs),
            lat_ns: Latency::of(&r.hist),
            errors: r.errors,
            first_error: r.first_error,
            verified_blocks: r.verified_blocks,
            mismatches: r.mismatches,
        });
    }
    let secs = wall.as_secs_f64().max(1e-9);
    let report = Report {
        iopattern: a.iopattern,
        qdepth: a.qdepth,
        iosize: a.iosize,
        nqueues: a.nqueues,
        defer_taskrun,
        clock: (!a.no_latency).then(|| clock.name()),
        jobs: reports,
        total: Total {
            ios,
            iops: round1(ios as f64 / secs),
            mib_s: round1(bytes as f64 / secs / 1048576.0),
            seconds: round3(secs),
            cpu_user_s: cpu_used.map(|c| round3(c.user.as_secs_f64())),
            cpu_sys_s: cpu_used.map(|c| round3(c.sys.as_secs_f64())),
            cpu_ns_per_io: cpu_used
                .map(|c| round1((c.user + c.sys).as_secs_f64() * 1e9 / ios.max(1) as f64)),
            lat_ns: Latency::of(&all),
            errors,
            mismatches,
        },
    };
    p.print(&report)?;
    if errors > 0 || mismatches > 0 {
        let first = report
            .jobs
            .iter()
            .find_map(|j| j.first_error.clone())
            .unwrap_or_default();
        return Err(CliError::new(format!(
            "{errors} commands failed and {mismatches} blocks read back wrong{}",
            if first.is_empty() {
                String::new()
            } else {
                format!(" (first failure: {first})")
            }
        )));
    }
    Ok(())
}

/// Prints a progress line once a second until every job finished; sets
/// `stop` when the run time is over.
fn progress<T>(
    handles: &[std::thread::ScopedJoinHandle<'_, T>],
    counters: &[Arc<AtomicU64>],
    stop: &AtomicBool,
    limit: Duration,
    quiet: bool,
) {
    let t0 = Instant::now();
    let mut last = (t0, 0u64);
    let mut next_line = t0 + Duration::from_secs(1);
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        if now.duration_since(t0) >= limit {
            stop.store(true, Ordering::Relaxed);
        }
        if !quiet && now >= next_line {
            let done: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
            let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            eprintln!(
                "perf: {:6.1} s  {done:>12} I/Os  {:>12.0} IOPS",
                now.duration_since(t0).as_secs_f64(),
                rate
            );
            last = (now, done);
            next_line += Duration::from_secs(1);
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
