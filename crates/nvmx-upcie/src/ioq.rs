//! I/O queue pairs created on the controller and re-created after resets.

#![forbid(unsafe_code)]

use std::sync::Arc;

use nvmx_spec::opcode::AdminOpcode;

use super::ctrl::Controller;
use super::qpair::QueuePair;
use nvmx_core::error::{Error, Result};

/// An I/O queue pair created on the controller, re-created after resets.
pub(crate) struct IoQueue {
    /// The controller.
    pub ctrl: Arc<Controller>,
    /// The rings.
    pub qp: QueuePair,
    /// The last command identifier used (sync queues).
    pub cid: u16,
    generation_seen: u64,
    /// Why re-creating the queue after a reset failed: the queue is
    /// unusable from then on (and never tried again in a loop).
    broken: Option<String>,
}

impl IoQueue {
    /// Creates an I/O queue pair of `entries` entries (clamped to what
    /// CAP.MQES allows).
    pub fn new(ctrl: &Arc<Controller>, entries: u32) -> Result<IoQueue> {
        ctrl.check_failed()?;
        let max = u32::from(ctrl.cap.mqes()) + 1;
        let entries = entries.clamp(2, max.min(u32::from(u16::MAX))) as u16;
        let qid = ctrl.alloc_qid()?;
        let generation_seen = ctrl.generation();
        let mut qp = match QueuePair::new(Arc::clone(&ctrl.backing), qid, entries, ctrl.cap.dstrd())
        {
            Ok(qp) => qp,
            Err(e) => {
                ctrl.free_qid(qid);
                return Err(e);
            }
        };
        if let Err(e) = ctrl.create_pair(&qp) {
            if ctrl.health.untrusted() {
                qp.leak();
            }
            ctrl.free_qid(qid);
            return Err(e);
        }
        Ok(IoQueue {
            ctrl: Arc::clone(ctrl),
            qp,
            cid: 0,
            generation_seen,
            broken: None,
        })
    }

    /// Whether the controller was reset since this queue was created.
    pub fn is_stale(&self) -> bool {
        self.generation_seen != self.ctrl.generation()
    }

    /// The error for a command on this queue when it cannot take one: the
    /// controller failed, or re-creating the queue did.
    pub fn unusable(&self) -> Option<Error> {
        if let Some(e) = self.ctrl.health.check() {
            return Some(e);
        }
        self.broken
            .as_ref()
            .map(|why| Error::QueueFailed(why.clone()))
    }

    /// Re-creates the queue on the controller after a reset; true when it
    /// did (commands in flight before it are lost). The queue counts as
    /// re-created only once the controller has confirmed it; when that
    /// fails the queue is broken for good, naming why.
    pub fn revive(&mut self) -> Result<bool> {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !self.is_stale() {
            return Ok(false);
        }
        let generation = self.ctrl.generation();
        self.qp.reset();
        if let Err(e) = self.ctrl.create_pair(&self.qp) {
            let why = format!(
                "{}: re-creating I/O queue {} after a controller reset failed ({e}); open a new queue",
                self.ctrl.backing.name(),
                self.qp.qid
            );
            self.broken = Some(why.clone());
            return Err(Error::QueueFailed(why));
        }
        self.generation_seen = generation;
        Ok(true)
    }
}

impl Drop for IoQueue {
    fn drop(&mut self) {
        let gone = if self.is_stale() || self.broken.is_some() {
            // Not on the controller since the reset (which disabled it).
            true
        } else {
            let sq = self
                .ctrl
                .delete_queue(AdminOpcode::DELETE_IO_SQ.0, self.qp.qid);
            let cq = self
                .ctrl
                .delete_queue(AdminOpcode::DELETE_IO_CQ.0, self.qp.qid);
            // Deleted, or taken down with the controller by the reset a
            // failed delete leads to.
            (sq && cq) || self.is_stale()
        };
        if !gone || self.ctrl.health.untrusted() {
            // The controller may still write the rings.
            self.qp.leak();
        }
        self.ctrl.free_qid(self.qp.qid);
    }
}
