//! `io_uring_cmd`: NVMe passthrough through io_uring. Every I/O command,
//! whatever its opcode, goes to the NVMe driver as an
//! `IORING_OP_URING_CMD` with `cmd_op` [`NVME_URING_CMD_IO`] on a ring of
//! 128-byte submission and 32-byte completion entries (`SQE128|CQE32`,
//! which the driver insists on). It needs the NVMe generic character
//! device (`/dev/ngXnY`); on any other file the kernel answers
//! `EOPNOTSUPP`, which comes back as an [`Error::Io`]. A controller node
//! (`/dev/nvmeX`) takes admin commands only through io_uring, so a queue
//! on one is refused when it is created.

use std::collections::VecDeque;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue};
use nvmx_spec::{Command, Completion};

use super::fixed::FixedBufs;
use super::nvme_uring::{NVME_URING_CMD_IO, NvmeUringCmd, decode_completion};
use super::ring::{Ring, with_target};
use nvmx_core::be::xfer_check::{self, NsFormat};
use nvmx_core::be::{AsyncEngine, Direction, EngineParams, EngineSink, RawBuf};
use nvmx_core::error::{Error, Result};

/// The async interface id.
pub const ID: &str = "io_uring_cmd";

/// The `io_uring_cmd` engine.
pub struct UringCmd {
    ring: Ring<squeue::Entry128, cqueue::Entry32>,
    lba_nbytes: u32,
    slots: u32,
    /// Commands refused at submit time, reported at the next poke.
    early: VecDeque<(u32, Result<Completion>)>,
    label: String,
    /// `--register_buffers`: the table, and the index each slot names.
    fixed: Option<FixedBufs>,
    slot_fixed: Box<[Option<u16>]>,
}

/// Creates an `io_uring_cmd` engine on the descriptor of the device's sync
/// interface (the NVMe generic character device).
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    let fd = p.sync.raw_fd().ok_or_else(|| {
        Error::unsupported(
            ID,
            format!(
                "this device: io_uring_cmd needs a file descriptor; {} has none",
                p.sync.id()
            ),
        )
    })?;
    refuse_controller_node(fd)?;
    let ring = Ring::new(ID, fd, p.capacity, p.opts)?;
    let fixed = ring.fixed_bufs(p.capacity, p.opts)?;
    Ok(Box::new(UringCmd {
        fixed,
        slot_fixed: vec![None; p.capacity as usize].into_boxed_slice(),
        label: ring.label().to_string(),
        ring,
        lba_nbytes: p.lba_nbytes,
        slots: p.capacity,
        early: VecDeque::with_capacity(p.capacity as usize),
    }))
}

/// Refuses an NVMe controller character device: its `uring_cmd` handler
/// serves `NVME_URING_CMD_ADMIN` only, and every I/O command would fail.
/// A controller node is a character device that has no namespace id.
fn refuse_controller_node(fd: std::os::fd::RawFd) -> Result<()> {
    use std::os::fd::BorrowedFd;
    use std::os::unix::fs::FileTypeExt;
    // SAFETY: `fd` is the sync interface's open descriptor, which outlives
    // this call; the borrowed handle is only used for the calls below.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(file) = bfd.try_clone_to_owned().map(std::fs::File::from) else {
        return Ok(());
    };
    let is_char = file
        .metadata()
        .is_ok_and(|m| m.file_type().is_char_device());
    if !is_char {
        return Ok(());
    }
    match crate::linux::nvme::ns_id(&file) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => Err(Error::unsupported(
            ID,
            "a character device with no NVMe namespace id: on an NVMe controller node \
             (/dev/nvmeX) the kernel takes only admin commands through io_uring; open \
             the namespace's generic node /dev/ngXnY",
        )),
        _ => Ok(()),
    }
}

/// Builds the passthrough block for one command and its buffers, or says
/// why the buffers cannot serve it.
///
/// The data buffer goes in only when the opcode transfers data (its two low
/// bits), with exactly the length the command moves when that is known
/// (the shared check in `be/xfer_check.rs`: NLB blocks of
/// `lba_nbytes` for Read, Write, Compare and Zone Append, the DSM ranges,
/// ...) and its whole length otherwise; a shorter one is refused with
/// [`Error::ShortBuffer`]. The metadata buffer goes in whole whenever one
/// is given.
pub fn marshal(cmd: &Command, data: RawBuf, meta: RawBuf, lba_nbytes: u32) -> Result<NvmeUringCmd> {
    let moves = Direction::of_opcode(cmd.opc) != Direction::None;
    let have = if data.is_none() || !moves {
        0
    } else {
        data.len
    };
    let need = xfer_check::check_io(cmd, Some(&NsFormat::data_only(lba_nbytes)), have, 0)?.data;
    let data = if !moves || data.is_none() {
        (0, 0)
    } else {
        let len = need.unwrap_or(data.len as u64);
        let len = u32::try_from(len).map_err(|_| Error::TooLarge {
            what: "data buffer",
            len,
            limit: u64::from(u32::MAX),
            limit_name: "bytes in one passthrough command",
        })?;
        (data.ptr as u64, len)
    };
    let meta = if meta.is_none() {
        (0, 0)
    } else {
        let len = u32::try_from(meta.len).map_err(|_| Error::TooLarge {
            what: "metadata buffer",
            len: meta.len as u64,
            limit: u64::from(u32::MAX),
            limit_name: "bytes in one passthrough command",
        })?;
        (meta.ptr as u64, len)
    };
    Ok(NvmeUringCmd::from_command(cmd, data, meta))
}

impl UringCmd {
    /// Gives back the fixed buffer of a slot that will not complete
    /// through the ring.
    fn release_fixed(&mut self, slot: u32) {
        if let (Some(f), Some(i)) = (self.fixed.as_mut(), self.slot_fixed[slot as usize].take()) {
            f.release(i);
        }
    }
}

// SAFETY: a slot is reported from its completion queue entry, when the
// kernel is done with the command's buffers, or from the early list for
// commands that never reached the ring; `submit` returns `Err` only when
// the entry was not pushed (clauses 1-3).
unsafe impl AsyncEngine for UringCmd {
    fn id(&self) -> &'static str {
        ID
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        if slot >= self.slots {
            return Err(Error::out_of_range(
                "slot",
                format!("{slot} is beyond the engine's {} slots", self.slots),
            ));
        }
        let ucmd = match marshal(cmd, data, meta, self.lba_nbytes) {
            Ok(u) => u,
            Err(e) => {
                self.early.push_back((slot, Err(e)));
                self.ring.signal();
                return Ok(());
            }
        };
        let area = ucmd.to_cmd_area();
        let moves_data = !data.is_none() && Direction::of_opcode(cmd.opc) != Direction::None;
        let fixed = match self.fixed.as_mut() {
            // SAFETY: the data buffer stays valid while the slot is in
            // flight (`submit`'s contract); the table is keyed by buffer id,
            // so a stale registration is never named for another buffer.
            Some(f) if moves_data => unsafe {
                f.acquire(&self.ring.submitter(), data.id, data.ptr, data.len)
            },
            _ => None,
        };
        self.slot_fixed[slot as usize] = fixed;
        let e = with_target!(self.ring.target(), |t| opcode::UringCmd80::new(
            t,
            NVME_URING_CMD_IO
        )
        .cmd(area)
        .buf_index(fixed)
        .build());
        // SAFETY: the entry names the data and metadata buffers with the
        // lengths checked by `marshal` (never more than each buffer holds);
        // `submit`'s contract keeps both valid and ours until the slot is
        // reported, which happens only after its CQE is reaped.
        let r = unsafe { self.ring.push(&e.user_data(u64::from(slot))) };
        if r.is_err() {
            self.release_fixed(slot);
        }
        r
    }

    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        let pending = !self.early.is_empty();
        self.ring.completion_fd(pending).map(Some)
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        self.ring.flush()?;
        self.ring.clear_notify();
        let mut n = 0;
        while max == 0 || n < max {
            let Some((slot, res)) = self.early.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        if max == 0 || n < max {
            let left = if max == 0 { 0 } else { max - n };
            let (label, fixed, slot_fixed) = (&self.label, &mut self.fixed, &mut self.slot_fixed);
            n += self.ring.reap(left, |cqe| {
                let slot = cqe.user_data() as u32;
                if let (Some(f), Some(i)) = (
                    fixed.as_mut(),
                    slot_fixed.get_mut(slot as usize).and_then(Option::take),
                ) {
                    f.release(i);
                }
                let res = decode_completion(cqe.result(), cqe.big_cqe()[0])
                    .map_err(|e| Error::io("io_uring_cmd", label.as_str(), e));
                sink.complete(slot, res);
                true
            });
        }
        if self.ring.notifying() && (!self.early.is_empty() || self.ring.cq_pending()) {
            self.ring.signal();
        }
        Ok(n)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Nothing to reap yet: one io_uring_enter submits what is queued
        // and waits, instead of a submitting poke and then a wait. (A
        // reap that only requeued short transfers returns 0; the queue's
        // wait calls again.)
        if self.early.is_empty() && !self.ring.cq_pending() {
            self.ring.wait(timeout)?;
        }
        self.poke(0, sink)
    }
}
