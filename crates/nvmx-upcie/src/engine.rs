//! `upcie` async engine: an nvmx `Queue` on its own I/O queue pair.
//!
//! The queue's slot numbers are the command identifiers. `submit` maps
//! the buffers, writes the command and rings the doorbell; `poke` and
//! `wait` poll the completion ring. A command older than the I/O timeout,
//! or a fatal controller status, resets the controller and fails every
//! command in flight; the queue pair is re-created before the next
//! submission. Dropping the engine deletes its queues on the controller
//! (which aborts what is still in flight) before their memory goes.
//!
//! Commands in flight are failed (and their buffers go back to the
//! queue) only once the reset has disabled the controller. When it could
//! not, the controller is failed: the slots stay in flight, `poke` and
//! `wait` answer [`Error::ControllerFailed`], and the queue leaks the
//! buffers when it is dropped.

use std::time::{Duration, Instant};

use nvmx_spec::Command;

use super::ctrl::{Stall, check, cmd_name};
use super::dma;
use super::iface::UpcieCtrl;
use super::ioq::IoQueue;
use super::xfer::{HostBuf, Xfer};
use nvmx_core::be::xfer_check::{self, NsFormat};
use nvmx_core::be::{AsyncEngine, Direction, EngineParams, EngineSink, RawBuf};
use nvmx_core::error::{Error, Result};

struct InFlight {
    xfer: Xfer,
    data: RawBuf,
    meta: RawBuf,
    opc: u8,
    /// Whether the controller writes the buffers (bounced ones are copied
    /// back).
    to_host: bool,
    started: Instant,
}

/// The `upcie` engine.
pub(crate) struct UpcieEngine {
    q: IoQueue,
    slots: Vec<Option<InFlight>>,
    outstanding: u32,
    last_check: Instant,
    /// The format of the namespace last submitted to: (nsid, format
    /// epoch, format).
    format: Option<(u32, u64, Option<NsFormat>)>,
}

// SAFETY: the raw buffers in `slots` belong to the queue's in-flight
// commands and only this engine touches them; moving the engine moves
// that exclusive access with it.
unsafe impl Send for UpcieEngine {}

/// Creates the async engine of a queue on an open `upcie` device: an I/O
/// queue pair of the queue's capacity (plus the one entry a ring keeps
/// free), limited by CAP.MQES.
///
/// The OS side (vfio, uio backend configurations) names this as their
/// configurations' engine constructor.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    let ctrl = p
        .sync
        .as_any()
        .and_then(|a| a.downcast_ref::<UpcieCtrl>())
        .ok_or_else(|| {
            Error::unsupported(
                "upcie",
                format!(
                    "a queue on a device opened with the {} sync interface",
                    p.sync.id()
                ),
            )
        })?;
    let q = IoQueue::new(&ctrl.ctrl, p.capacity.saturating_add(1))?;
    Ok(Box::new(UpcieEngine {
        q,
        slots: (0..p.capacity).map(|_| None).collect(),
        outstanding: 0,
        last_check: Instant::now(),
        format: None,
    }))
}

impl UpcieEngine {
    /// Fails every command in flight with the error `err` makes (after a
    /// reset).
    fn fail_all(&mut self, err: &dyn Fn(u8) -> Error, sink: &mut EngineSink<'_>) -> u32 {
        let mut n = 0;
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if let Some(f) = s.take() {
                sink.complete(slot as u32, Err(err(f.opc)));
                n += 1;
            }
        }
        self.outstanding = 0;
        n
    }

    /// Re-creates the queue pair after a reset someone else did, failing
    /// what was in flight: the new generation means the controller was
    /// disabled, so their memory is free.
    fn revive(&mut self, sink: &mut EngineSink<'_>) -> Result<u32> {
        if !self.q.is_stale() {
            if self.outstanding > 0
                && let Some(e) = self.q.unusable()
            {
                // Failed without a reset that disabled it: what is in
                // flight may still be written.
                return Err(e);
            }
            return Ok(0);
        }
        let name = self.q.ctrl.backing.name().to_string();
        let n = self.fail_all(
            &|opc| Error::Stale {
                what: "command",
                why: format!(
                    "{name}: the controller was reset while {} was in flight; it was lost",
                    cmd_name(false, opc)
                ),
            },
            sink,
        );
        self.q.revive()?;
        Ok(n)
    }

    /// The format of namespace `nsid`, cached for the next command.
    fn format_of(&mut self, nsid: u32) -> Option<NsFormat> {
        let epoch = self.q.ctrl.formats.epoch();
        match self.format {
            Some((n, e, f)) if n == nsid && e == epoch => f,
            _ => {
                let f = self.q.ctrl.format(nsid);
                self.format = Some((nsid, epoch, f));
                f
            }
        }
    }

    /// The oldest command in flight past the timeout, or a fatal status.
    fn stalled(&mut self, force: bool) -> Option<(Stall, u8)> {
        if self.outstanding == 0 || (!force && self.last_check.elapsed() < Duration::from_millis(1))
        {
            return None;
        }
        self.last_check = Instant::now();
        let oldest = self.slots.iter().flatten().min_by_key(|f| f.started)?;
        let stall = check(&self.q.ctrl.backing, oldest.started, self.q.ctrl.io_timeout)?;
        Some((stall, oldest.opc))
    }
}

// SAFETY: a slot is reported from the controller's completion entry for
// its command id, or after a controller reset (which stops the
// controller's DMA) fails every command in flight; `submit` returns `Err`
// before the command is placed in the submission queue (clauses 1-3).
unsafe impl AsyncEngine for UpcieEngine {
    fn id(&self) -> &'static str {
        "upcie"
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        if let Some(e) = self.q.unusable() {
            return Err(e);
        }
        if self.q.is_stale() {
            // In-flight commands of the old queue are failed at the next
            // poke; refuse new ones until then.
            return Err(Error::Busy {
                outstanding: self.outstanding,
                capacity: self.slots.len() as u32,
            });
        }
        let idx = slot as usize;
        if idx >= self.slots.len() || self.slots[idx].is_some() || self.q.qp.is_full() {
            return Err(Error::Busy {
                outstanding: self.outstanding,
                capacity: u32::from(self.q.qp.entries - 1).min(self.slots.len() as u32),
            });
        }
        let len = |b: RawBuf| if b.is_none() { 0 } else { b.len };
        // Refused before anything is mapped: a buffer shorter than what
        // the command moves.
        let format = self.format_of(cmd.nsid);
        let need = xfer_check::check_io(cmd, format.as_ref(), len(data), len(meta))?;
        let host = |b: RawBuf| {
            (!b.is_none() && b.len > 0).then(|| {
                // SAFETY: `submit`'s contract keeps the buffer valid and
                // ours until the slot completes; it is only read here.
                let bytes = unsafe { std::slice::from_raw_parts(b.ptr, b.len) };
                HostBuf {
                    addr: b.ptr as usize,
                    len: b.len,
                    bytes: Some(bytes),
                }
            })
        };
        let info = self.q.ctrl.info();
        let mut c = *cmd;
        let xfer = Xfer::map(
            &self.q.ctrl.pool,
            &mut c,
            host(data).as_slice(),
            host(meta),
            self.q.ctrl.sgl_mode,
            info.sgl,
            need,
        )?;
        c.cid = slot as u16;
        if !self.q.qp.submit(&c) {
            return Err(Error::Busy {
                outstanding: self.outstanding,
                capacity: self.slots.len() as u32,
            });
        }
        self.slots[idx] = Some(InFlight {
            xfer,
            data,
            meta,
            opc: cmd.opc,
            to_host: Direction::of_opcode(cmd.opc) != Direction::ToDevice,
            started: Instant::now(),
        });
        self.outstanding += 1;
        Ok(())
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        self.reap(max, false, sink)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        let start = Instant::now();
        loop {
            let n = self.reap(0, false, sink)?;
            if n > 0 {
                return Ok(n);
            }
            if start.elapsed() >= timeout {
                // One last look at the clock and the controller, so a
                // command past its timeout is reported by the time the
                // caller's own deadline (never earlier than the
                // command's) runs out.
                return self.reap(0, true, sink);
            }
            std::thread::yield_now();
        }
    }
}

impl UpcieEngine {
    /// Reaps completions; checks for stalled commands when none came
    /// (at most once a millisecond unless `force`).
    fn reap(&mut self, max: u32, force: bool, sink: &mut EngineSink<'_>) -> Result<u32> {
        let mut n = self.revive(sink)?;
        while max == 0 || n < max {
            let Some(cpl) = self.q.qp.poll() else { break };
            let Some(f) = self
                .slots
                .get_mut(usize::from(cpl.cid))
                .and_then(Option::take)
            else {
                continue; // a completion for no command in flight
            };
            if f.to_host {
                let [d, m] = f.xfer.bounces();
                for (b, host) in [(d, f.data), (m, f.meta)] {
                    if let Some((r, n)) = b {
                        let mut tmp = vec![0u8; n.min(host.len)];
                        dma::read(r, 0, &mut tmp);
                        // SAFETY: the slot's buffer is valid and ours until
                        // we report it, right below.
                        unsafe { dma::copy_to_raw(host, &tmp) };
                    }
                }
            }
            self.outstanding -= 1;
            sink.complete(u32::from(cpl.cid), Ok(cpl));
            n += 1;
        }
        if n == 0
            && let Some((stall, opc)) = self.stalled(force)
        {
            let (err, disabled) = self.q.ctrl.recover(stall, opc);
            if !disabled {
                // The controller may still write the buffers in flight:
                // keep the slots (the queue leaks them when dropped).
                return Err(err);
            }
            let millis = self.q.ctrl.io_timeout.as_millis() as u64;
            let msg = err.to_string();
            // Every command in flight is lost with the reset; each is
            // reported as timed out (the reset followed a timeout), as the
            // controller's failure, or with the failure that caused the reset.
            let mk = |opc| match &err {
                Error::Timeout { .. } => Error::Timeout {
                    what: cmd_name(false, opc),
                    millis,
                },
                Error::ControllerFailed { name, why } => Error::ControllerFailed {
                    name: name.clone(),
                    why: why.clone(),
                },
                _ => Error::QueueFailed(msg.clone()),
            };
            n += self.fail_all(&mk, sink);
            self.q.revive()?;
        }
        Ok(n)
    }
}
