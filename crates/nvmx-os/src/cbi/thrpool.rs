//! `thrpool`: a pool of worker threads runs commands through the device's
//! sync interface, so several are in flight at once even on interfaces that
//! block.
//!
//! Submission and completion travel over bounded lock-free channels sized
//! to the queue capacity, so the steady state allocates nothing. Dropping
//! the engine closes the submission channel and joins the workers after they
//! finish what they hold; the queue drains before that, so no worker is
//! left touching a buffer that has been freed. A command the device never
//! completes (the ramdisk's `stall_after`) holds its worker; the queue then
//! leaks the engine, workers and buffers on drop rather than join it.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, bounded};
use nvmx_spec::{Command, Completion};

use super::run_queued;
use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, Offer, RawBuf, SyncIo};
use nvmx_core::error::{Error, Result};

/// Worker threads per queue: enough to overlap blocking calls without
/// swamping a small machine.
pub const WORKERS_MAX: u32 = 4;

struct Job {
    slot: u32,
    cmd: Command,
    data: RawBuf,
    meta: RawBuf,
}

// SAFETY: a job's buffers belong to an in-flight slot of the queue, which
// neither reads nor frees them until the worker's completion comes back;
// exactly one worker receives each job.
unsafe impl Send for Job {}

/// The `thrpool` engine.
pub struct ThrPool {
    jobs: Option<Sender<Job>>,
    done: Receiver<(u32, Result<Completion>)>,
    workers: Vec<JoinHandle<()>>,
    #[cfg(target_os = "linux")]
    notify: Arc<std::sync::OnceLock<super::notify::Notifier>>,
}

/// Creates a `thrpool` engine with `min(capacity, WORKERS_MAX)` workers.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    let cap = p.capacity as usize;
    let (jtx, jrx) = bounded::<Job>(cap);
    let (dtx, drx) = bounded::<(u32, Result<Completion>)>(cap);
    let mut workers = Vec::new();
    #[cfg(target_os = "linux")]
    let notify: Arc<std::sync::OnceLock<super::notify::Notifier>> = Arc::default();
    for i in 0..p.capacity.clamp(1, WORKERS_MAX) {
        let jrx = jrx.clone();
        let dtx = dtx.clone();
        let sync: Arc<dyn SyncIo> = Arc::clone(p.sync);
        #[cfg(target_os = "linux")]
        let notify = Arc::clone(&notify);
        let h = std::thread::Builder::new()
            .name(format!("nvmx-thrpool-{i}"))
            .spawn(move || {
                for job in jrx.iter() {
                    // SAFETY: the job's buffers are the slot's, valid and
                    // untouched by anyone else until we report it below.
                    // A worker may block: a device that holds the command
                    // (the ramdisk's `stall_after`) holds this thread.
                    let res = unsafe {
                        run_queued(&*sync, &job.cmd, job.data, job.meta, Offer::Blocking)
                    };
                    let res = res.and_then(|c| {
                        c.ok_or_else(|| {
                            Error::QueueFailed(format!(
                                "the {} interface held a command a thrpool worker may wait for",
                                sync.id()
                            ))
                        })
                    });
                    if dtx.send((job.slot, res)).is_err() {
                        break;
                    }
                    #[cfg(target_os = "linux")]
                    if let Some(n) = notify.get() {
                        n.signal();
                    }
                }
            })
            .map_err(|e| Error::io("spawn", "thrpool worker", e))?;
        workers.push(h);
    }
    Ok(Box::new(ThrPool {
        jobs: Some(jtx),
        done: drx,
        workers,
        #[cfg(target_os = "linux")]
        notify,
    }))
}

// SAFETY: a slot is reported after the worker that ran it returned from
// the sync interface, which uses the buffers only during that call; a
// command `submit` refuses is never sent to a worker (clauses 1-3).
unsafe impl AsyncEngine for ThrPool {
    fn id(&self) -> &'static str {
        "thrpool"
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::QueueFailed("thrpool is shut down".into()))?;
        // The queue never has more than `capacity` in flight, so this never
        // blocks; a send error means every worker died.
        jobs.send(Job {
            slot,
            cmd: *cmd,
            data,
            meta,
        })
        .map_err(|_| Error::QueueFailed("thrpool workers have exited".into()))
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        if self.notify.get().is_none() {
            let n = super::notify::Notifier::new()?;
            // Completions that arrived before the notifier existed.
            if !self.done.is_empty() {
                n.signal();
            }
            let _ = self.notify.set(n);
        }
        Ok(self.notify.get().map(super::notify::Notifier::fd))
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        #[cfg(target_os = "linux")]
        if let Some(nt) = self.notify.get() {
            nt.clear();
        }
        let mut n = 0;
        while max == 0 || n < max {
            match self.done.try_recv() {
                Ok((slot, res)) => {
                    sink.complete(slot, res);
                    n += 1;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    return Err(Error::QueueFailed("thrpool workers have exited".into()));
                }
            }
        }
        #[cfg(target_os = "linux")]
        if !self.done.is_empty()
            && let Some(nt) = self.notify.get()
        {
            nt.signal();
        }
        Ok(n)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        match self.done.recv_timeout(timeout) {
            Ok((slot, res)) => {
                sink.complete(slot, res);
                Ok(1 + self.poke(0, sink)?)
            }
            Err(RecvTimeoutError::Timeout) => Ok(0),
            Err(RecvTimeoutError::Disconnected) => {
                Err(Error::QueueFailed("thrpool workers have exited".into()))
            }
        }
    }
}

impl Drop for ThrPool {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
