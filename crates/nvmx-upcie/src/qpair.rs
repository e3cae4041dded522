//! One submission/completion queue pair in DMA memory.
//!
//! The host writes 64-byte commands at the SQ tail and rings the SQ tail
//! doorbell; the controller writes 16-byte completions at the CQ head,
//! each with a phase tag that flips on every pass over the ring, and the
//! host rings the CQ head doorbell after consuming them. A ring of `n`
//! entries holds `n - 1` commands; the SQ head the controller reports in
//! each completion says how far it has fetched. Completions are polled:
//! no interrupts are used.

#![forbid(unsafe_code)]

use std::sync::Arc;

use nvmx_spec::regs::{cq_head_doorbell, sq_tail_doorbell};
use nvmx_spec::{Command, Completion};

use super::backing::{DeviceBacking, DmaRegion};
use super::dma;
use nvmx_core::error::Result;

/// A queue pair's rings and indexes.
pub(crate) struct QueuePair {
    backing: Arc<dyn DeviceBacking>,
    /// Queue identifier (0 is the admin queue).
    pub qid: u16,
    /// Ring size in entries (both rings).
    pub entries: u16,
    /// The submission ring.
    pub sq: DmaRegion,
    /// The completion ring.
    pub cq: DmaRegion,
    sq_tail: u16,
    sq_head: u16,
    cq_head: u16,
    phase: bool,
    dstrd: u8,
}

impl QueuePair {
    /// Allocates zeroed rings of `entries` entries for queue `qid`.
    pub fn new(backing: Arc<dyn DeviceBacking>, qid: u16, entries: u16, dstrd: u8) -> Result<Self> {
        let sq = backing.alloc_dma(usize::from(entries) * 64)?;
        let cq = backing.alloc_dma(usize::from(entries) * 16)?;
        Ok(QueuePair {
            backing,
            qid,
            entries,
            sq,
            cq,
            sq_tail: 0,
            sq_head: 0,
            cq_head: 0,
            phase: true,
            dstrd,
        })
    }

    /// Forgets everything in the rings, for a queue (re)created on the
    /// controller: indexes to 0, phase to 1, completion ring zeroed.
    pub fn reset(&mut self) {
        dma::zero(&self.cq);
        self.sq_tail = 0;
        self.sq_head = 0;
        self.cq_head = 0;
        self.phase = true;
    }

    /// Keeps both rings for the rest of the process: the controller may
    /// still write them.
    pub fn leak(&mut self) {
        self.sq.leak();
        self.cq.leak();
    }

    /// Commands the controller has not fetched yet, by the last SQ head
    /// it reported.
    pub fn is_full(&self) -> bool {
        (self.sq_tail + 1) % self.entries == self.sq_head
    }

    /// Writes `cmd` at the tail and rings the doorbell; false when the
    /// ring is full.
    pub fn submit(&mut self, cmd: &Command) -> bool {
        if self.is_full() || !dma::write_sqe(&self.sq, usize::from(self.sq_tail), cmd) {
            return false;
        }
        self.sq_tail = (self.sq_tail + 1) % self.entries;
        self.backing.write32(
            sq_tail_doorbell(self.qid, self.dstrd),
            u32::from(self.sq_tail),
        );
        true
    }

    /// Takes the next completion, if the controller posted one (its phase
    /// tag matches), and rings the CQ head doorbell.
    pub fn poll(&mut self) -> Option<Completion> {
        let cpl = dma::read_cqe(&self.cq, usize::from(self.cq_head))?;
        if cpl.phase() != self.phase {
            return None;
        }
        self.cq_head += 1;
        if self.cq_head == self.entries {
            self.cq_head = 0;
            self.phase = !self.phase;
        }
        if cpl.sqhd < self.entries {
            self.sq_head = cpl.sqhd;
        }
        self.backing.write32(
            cq_head_doorbell(self.qid, self.dstrd),
            u32::from(self.cq_head),
        );
        Some(cpl)
    }
}

impl std::fmt::Debug for QueuePair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuePair")
            .field("qid", &self.qid)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}
