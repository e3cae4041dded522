//! `--register_buffers`: the queue's buffers registered with the ring as
//! fixed buffers, so the kernel skips pinning and mapping them for every
//! command.
//!
//! The ring gets a sparse table of fixed buffers when the queue is created
//! (`IORING_REGISTER_BUFFERS2` with the sparse flag, Linux 5.19). A buffer
//! is registered in the slot its id maps to the first time it is used
//! (`IORING_REGISTER_BUFFERS_UPDATE`, one system call), and later commands
//! with it name that slot. Ids, not addresses, key the table: an address
//! can come back for a new allocation whose pages the old registration
//! does not cover. A slot that holds another buffer still in flight is not
//! replaced; that command goes without a fixed buffer. So a loop that
//! reuses its buffers (the usual case) registers each once, and one that
//! allocates a buffer per command pays a system call per command: it
//! should not ask for fixed buffers.

use io_uring::Submitter;

/// Largest table: the kernel's limit on registered buffers is 16384.
const MAX_SLOTS: usize = 16384;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The registered buffer's id (0: none).
    id: u64,
    /// Commands in flight that name this slot.
    inflight: u32,
}

/// The fixed-buffer table of one ring.
#[derive(Debug)]
pub(crate) struct FixedBufs {
    slots: Box<[Slot]>,
    mask: usize,
}

impl FixedBufs {
    /// Registers a sparse table sized for `capacity` commands in flight.
    pub(crate) fn new(submitter: &Submitter<'_>, capacity: u32) -> std::io::Result<FixedBufs> {
        let n = (capacity as usize * 2)
            .next_power_of_two()
            .clamp(64, MAX_SLOTS);
        submitter.register_buffers_sparse(n as u32)?;
        Ok(FixedBufs {
            slots: vec![Slot::default(); n].into_boxed_slice(),
            mask: n - 1,
        })
    }

    /// The fixed-buffer index for the buffer `id` at `ptr` (`len` bytes),
    /// registering it when its slot is free; `None` when the slot is busy
    /// with another buffer, the buffer has no id, or registration failed
    /// (the command then goes without a fixed buffer). A returned index
    /// must be given back with [`FixedBufs::release`].
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay valid memory while the registration lasts
    /// or until a command naming it completes (the kernel pins the pages at
    /// registration; it never writes through the registration otherwise).
    pub(crate) unsafe fn acquire(
        &mut self,
        submitter: &Submitter<'_>,
        id: u64,
        ptr: *mut u8,
        len: usize,
    ) -> Option<u16> {
        if id == 0 {
            return None;
        }
        // Ids are handed out in sequence, so the latest `n` buffers fall in
        // distinct slots.
        let idx = id as usize & self.mask;
        let s = &mut self.slots[idx];
        if s.id != id {
            if s.inflight > 0 {
                return None;
            }
            let iov = libc::iovec {
                iov_base: ptr.cast(),
                iov_len: len,
            };
            // SAFETY: the iovec names the caller's buffer (valid, see the
            // contract); the update replaces slot `idx`, which no command
            // in flight names (inflight is 0).
            if unsafe { submitter.register_buffers_update(idx as u32, &[iov], None) }.is_err() {
                return None;
            }
            s.id = id;
        }
        s.inflight += 1;
        Some(idx as u16)
    }

    /// Gives back an index [`FixedBufs::acquire`] returned, when its
    /// command completed.
    pub(crate) fn release(&mut self, idx: u16) {
        if let Some(s) = self.slots.get_mut(usize::from(idx)) {
            s.inflight = s.inflight.saturating_sub(1);
        }
    }
}
