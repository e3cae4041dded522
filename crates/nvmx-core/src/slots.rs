//! The bookkeeping behind an async queue: one slot per command in flight
//! holding its tag and buffers, the ring of reaped completions, and the
//! [`Completed`] and [`Rejected`] records that hand the buffers back.
//!
//! The facade's `Queue` owns these together with its engine; engines
//! report into a [`Reaper`] through [`crate::be::EngineSink`]. Reaping
//! records only the slot and the status; the buffers stay in the slot and
//! the [`Completed`] record is built once, where it is popped.

use nvmx_spec::Completion;

use crate::buf::Buffer;
use crate::error::{Error, Result};

/// A finished command with its buffers handed back.
#[derive(Debug)]
pub struct Completed {
    /// The caller's tag given at submit.
    pub tag: u64,
    /// The completion, or why the command failed ([`Error::Status`] for a
    /// non-success NVMe status). The error is boxed (`?` unboxes it): a
    /// `Completed` moves several times per command, and with the 56-byte
    /// [`Error`] inline the compiler copied it in odd-sized pieces and
    /// read them back whole, which stalled the CPU on every command
    /// (BENCHMARKS.md has the measurements).
    /// Only a failing command allocates.
    pub result: Result<Completion, Box<Error>>,
    /// The data buffer, back to its owner.
    pub data: Option<Buffer>,
    /// The metadata buffer, back to its owner.
    pub meta: Option<Buffer>,
}

impl Completed {
    /// For a successful Zone Append, the LBA its first block was written
    /// to (completion dwords 0 and 1).
    pub fn appended_lba(&self) -> Option<u64> {
        self.result.as_ref().ok().map(Completion::result64)
    }
}

// Small enough to move in a few aligned stores; see `Completed::result`.
const _: () = assert!(size_of::<Completed>() <= 48);

/// A command the queue did not take, with its buffers handed back.
#[derive(Debug)]
pub struct Rejected {
    /// Why ([`Error::Busy`] when the queue is full: poke and retry).
    pub error: Error,
    /// The data buffer.
    pub data: Option<Buffer>,
    /// The metadata buffer.
    pub meta: Option<Buffer>,
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Error {
        r.error
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A reaped completion waiting for the queue's `pop`: its slot still holds
/// the tag and buffers.
#[derive(Clone, Copy)]
pub struct Reaped {
    slot: u32,
    /// The engine failed the command; the error waits in the slot.
    failed: bool,
    cpl: Completion,
}

impl Reaped {
    /// Records what the engine reported for `slot`; an engine error is
    /// parked in the slot so the ring entry stays small.
    ///
    /// Inlined into each engine's loop: called, it hands the entry back
    /// through memory in pieces that the ring store reads whole, a
    /// store-forwarding stall per completion (most of `nil`'s poke time).
    #[inline(always)]
    fn of(slots: &mut [Slot], slot: u32, res: Result<Completion>) -> Reaped {
        match res {
            Ok(cpl) => Reaped {
                slot,
                failed: false,
                cpl,
            },
            Err(e) => Reaped::park(slots, slot, e),
        }
    }

    #[cold]
    #[inline(never)]
    fn park(slots: &mut [Slot], slot: u32, e: Error) -> Reaped {
        if let Some(s) = slots.get_mut(slot as usize) {
            s.err = Some(Box::new(e));
        }
        Reaped {
            slot,
            failed: true,
            cpl: Completion::success(0),
        }
    }
}

/// Reaped completions in order: a ring as long as the queue's capacity,
/// which is enough because each entry still holds its slot.
pub struct ReadyRing {
    buf: Box<[Reaped]>,
    head: usize,
    len: usize,
}

impl ReadyRing {
    /// An empty ring for a queue of `capacity` slots (a power of two).
    pub fn new(capacity: u32) -> ReadyRing {
        let empty = Reaped {
            slot: u32::MAX,
            failed: false,
            cpl: Completion::success(0),
        };
        ReadyRing {
            buf: vec![empty; capacity as usize].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, r: Reaped) {
        let cap = self.buf.len();
        if self.len == cap {
            // Only an engine reporting a slot twice gets here; the slot's
            // buffers then stay in the queue until it is dropped.
            debug_assert!(false, "engine reported more completions than slots");
            return;
        }
        // `cap` is a power of two.
        self.buf[(self.head + self.len) & (cap - 1)] = r;
        self.len += 1;
    }

    /// How many completions wait in the ring.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no completion waits in the ring.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes the oldest reaped completion.
    #[inline]
    pub fn pop(&mut self) -> Option<Reaped> {
        if self.len == 0 {
            return None;
        }
        let r = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(r)
    }
}

/// One slot of a queue: the tag, opcode and buffers of the command in it.
#[derive(Default)]
pub struct Slot {
    /// The caller's tag.
    pub tag: u64,
    /// The command's opcode, to name it in an error.
    pub opc: u8,
    /// The data buffer, owned while the command is in flight.
    pub data: Option<Buffer>,
    /// The metadata buffer, owned while the command is in flight.
    pub meta: Option<Buffer>,
    /// An engine error reported for this slot, until popped.
    err: Option<Box<Error>>,
}

/// Where a queue's reaping puts what the engine reports: the ready ring,
/// with the in-flight count kept.
pub struct Reaper<'a> {
    /// The ring reaped completions go to.
    pub ready: &'a mut ReadyRing,
    /// The queue's slots (an engine error is parked in its slot).
    pub slots: &'a mut [Slot],
    /// Commands in flight, counted down per completion.
    pub outstanding: &'a mut u32,
}

impl Reaper<'_> {
    /// Records that the engine finished `slot` with `res`.
    #[inline]
    pub fn reap(&mut self, slot: u32, res: Result<Completion>) {
        *self.outstanding -= 1;
        self.ready.push(Reaped::of(self.slots, slot, res));
    }
}

/// The slot bookkeeping, borrowed apart from the engine so the engine can
/// report into it while being polled.
pub struct SlotTable<'a> {
    /// The queue's slots.
    pub slots: &'a mut [Slot],
    /// The free slots, handed out from the end.
    pub free: &'a mut Vec<u32>,
    /// Commands in flight, counted down per completion.
    pub outstanding: &'a mut u32,
}

impl SlotTable<'_> {
    /// Finishes a slot the engine reported: no longer in flight, buffers
    /// handed back.
    #[inline]
    pub fn finish_slot(&mut self, slot: u32, res: Result<Completion>) -> Completed {
        *self.outstanding -= 1;
        let r = Reaped::of(self.slots, slot, res);
        take_slot(self.slots, self.free, r)
    }
}

/// An engine reporting a slot it was never given is a bug in the engine;
/// surface it instead of corrupting the table.
#[cold]
#[inline(never)]
fn unknown_slot(slot: u32) -> Completed {
    Completed {
        tag: u64::MAX,
        result: Err(Box::new(Error::QueueFailed(format!(
            "engine reported unknown slot {slot}"
        )))),
        data: None,
        meta: None,
    }
}

/// Builds the completion record of a reaped slot and frees the slot.
#[inline(always)]
pub fn take_slot(slots: &mut [Slot], free: &mut Vec<u32>, r: Reaped) -> Completed {
    let Some(s) = slots.get_mut(r.slot as usize) else {
        return unknown_slot(r.slot);
    };
    let result = if !r.failed && r.cpl.is_success() {
        Ok(r.cpl)
    } else {
        failed(s, r)
    };
    let out = Completed {
        tag: s.tag,
        result,
        data: s.data.take(),
        meta: s.meta.take(),
    };
    free.push(r.slot);
    out
}

/// The result of a command that failed, in the engine or with an NVMe
/// status; kept out of line so the success path stays short.
#[cold]
#[inline(never)]
fn failed(s: &mut Slot, r: Reaped) -> Result<Completion, Box<Error>> {
    if r.failed {
        Err(s.err.take().unwrap_or_else(|| {
            Box::new(Error::QueueFailed(
                "the engine failed the command without a reason".into(),
            ))
        }))
    } else {
        Error::check(s.opc, r.cpl).map_err(Box::new)
    }
}
