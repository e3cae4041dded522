//! The backend model: interfaces, configurations and their implementations.
//!
//! A backend configuration ([`config::BackendConfig`]) is a complete recipe
//! for reaching a device: which **dev** interface opens it, which **sync**
//! interface runs commands one at a time, which **admin** interface runs
//! admin commands, which **async** interface runs queues, and which **mem**
//! interface allocates buffers. Each interface has a string id (`psync`,
//! `emu`, `ramdisk`, ...) that users may name with `--sync`, `--async`, ...
//!
//! The interface traits live in this module:
//! - [`SyncIo`]: executes one I/O command and returns its completion.
//! - [`Admin`]: executes one admin command and returns its completion.
//! - [`AsyncEngine`]: the engine behind the facade's `Queue`.
//! - [`crate::buf::Memory`]: allocates buffers the device can reach.
//!
//! Implementations live in other crates: `nvmx-os` (the portable `emu`,
//! `thrpool` and `nil`, and the per-platform interfaces), `nvmx-ramdisk`
//! (the in-memory controller) and `nvmx-upcie` (the user-space driver).

pub mod config;
pub mod plan;
pub mod xfer_check;

use std::time::Duration;

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::{Command, Completion};

use crate::error::{Error, Result};
use crate::ident::Ident;

/// Which way a command moves data, from the opcode's two low bits (NVMe 2.0
/// base, figure 81: 01b host to controller, 10b controller to host).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// No data transfer.
    None,
    /// Host to controller (a write).
    ToDevice,
    /// Controller to host (a read).
    FromDevice,
    /// Both ways (vendor commands).
    Bidirectional,
}

impl Direction {
    /// The direction encoded in an opcode.
    pub const fn of_opcode(opc: u8) -> Direction {
        match opc & 0x3 {
            0 => Direction::None,
            1 => Direction::ToDevice,
            2 => Direction::FromDevice,
            _ => Direction::Bidirectional,
        }
    }
}

/// A data or metadata buffer handed to a sync or admin interface.
#[derive(Debug, Default)]
pub enum DataBuf<'a> {
    /// No buffer.
    #[default]
    None,
    /// Bytes the device reads (a write's payload).
    Out(&'a [u8]),
    /// Bytes the device writes (a read's destination, or both ways).
    In(&'a mut [u8]),
}

impl DataBuf<'_> {
    /// The buffer's length in bytes (0 for none).
    pub fn len(&self) -> usize {
        match self {
            DataBuf::None => 0,
            DataBuf::Out(b) => b.len(),
            DataBuf::In(b) => b.len(),
        }
    }

    /// Whether there is no buffer or it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, readable whichever way they go.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            DataBuf::None => &[],
            DataBuf::Out(b) => b,
            DataBuf::In(b) => b,
        }
    }

    /// The bytes as writable, when the device is to write them.
    pub fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        match self {
            DataBuf::In(b) => Some(b),
            _ => None,
        }
    }

    /// Start address, for alignment checks (null for none).
    pub fn as_ptr(&self) -> *const u8 {
        match self {
            DataBuf::None => std::ptr::null(),
            DataBuf::Out(b) => b.as_ptr(),
            DataBuf::In(b) => b.as_ptr(),
        }
    }

    /// Reborrows for a shorter lifetime, so one `DataBuf` can be passed on.
    pub fn reborrow(&mut self) -> DataBuf<'_> {
        match self {
            DataBuf::None => DataBuf::None,
            DataBuf::Out(b) => DataBuf::Out(b),
            DataBuf::In(b) => DataBuf::In(b),
        }
    }
}

/// A synchronous I/O interface: runs one command to completion.
///
/// Implementations are shared by the worker threads of `thrpool` queues, so
/// they must be `Send + Sync` and may be called concurrently.
pub trait SyncIo: Send + Sync {
    /// The interface id (`psync`, `ramdisk`, `nvme`, ...).
    fn id(&self) -> &'static str;

    /// Runs one I/O command. `cmd.nsid` is set; the data and metadata
    /// pointers are the backend's to fill. A non-success NVMe status is an
    /// `Ok` completion carrying that status; `Err` is for failures to
    /// execute at all (an OS error, a bad argument).
    fn cmd_io(&self, cmd: &mut Command, data: DataBuf<'_>, meta: DataBuf<'_>)
    -> Result<Completion>;

    /// Runs one I/O command that an async engine took from a queue
    /// (`emu`, `thrpool`), which may leave the command without a
    /// completion.
    ///
    /// `Ok(None)` means the device holds the command and has not
    /// completed it (the ramdisk's `stall_after` fault): its buffers were
    /// not touched, and the engine keeps the slot in flight and offers the
    /// command again later with [`Offer::Again`]. With [`Offer::Blocking`]
    /// the call waits instead, without a bound, until the device completes
    /// the command, and never answers `Ok(None)`.
    ///
    /// The default runs [`SyncIo::cmd_io`], which always completes.
    fn cmd_io_queued(
        &self,
        cmd: &mut Command,
        data: DataBuf<'_>,
        meta: DataBuf<'_>,
        offer: Offer,
    ) -> Result<Option<Completion>> {
        let _ = offer;
        self.cmd_io(cmd, data, meta).map(Some)
    }

    /// The open file descriptor behind this interface, for async engines
    /// that submit to the kernel themselves (io_uring, libaio). It stays
    /// open as long as the device does, and a queue keeps its device open.
    #[cfg(unix)]
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }

    /// The open handle behind this interface, for async engines that
    /// submit overlapped I/O themselves (`iocp`, `io_ring`). It stays open
    /// as long as the device does.
    #[cfg(windows)]
    fn raw_handle(&self) -> Option<std::os::windows::io::RawHandle> {
        None
    }

    /// The memory interface buffers for this device should come from
    /// (the user-space driver's DMA memory); `None` means plain heap
    /// memory.
    fn memory(&self) -> Option<std::sync::Arc<dyn crate::buf::Memory>> {
        None
    }

    /// This interface as `Any`, so an engine constructor can find the
    /// concrete type behind it (the user-space driver's engine finds its
    /// controller so).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// Runs one I/O command whose data is scattered over several buffers.
    ///
    /// The default gathers the buffers into one (or scatters one into
    /// them) around [`SyncIo::cmd_io`]; interfaces with a native vectored
    /// call (preadv/pwritev, NVMe vectored ioctls) override it.
    fn cmd_iov(
        &self,
        cmd: &mut Command,
        data: DataVec<'_, '_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        gather_iov(self, cmd, data, meta)
    }
}

/// How an async engine offers a command to [`SyncIo::cmd_io_queued`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// The first offer, from a thread that must not block (`emu` runs
    /// commands on the caller's thread when it pokes): the device may
    /// answer that it holds the command.
    First,
    /// The command was held before and is offered again; the device
    /// answers as for [`Offer::First`].
    Again,
    /// The first offer, from a thread that may block (a `thrpool` worker):
    /// the device waits until it completes the command.
    Blocking,
}

/// Runs a vectored command through `sync`'s single-buffer
/// [`SyncIo::cmd_io`]: gathers the buffers into one for a write, scatters
/// one into them after a read. The default of [`SyncIo::cmd_iov`], and
/// the fallback of interfaces whose native vectored call cannot serve a
/// command.
pub fn gather_iov<S: SyncIo + ?Sized>(
    sync: &S,
    cmd: &mut Command,
    data: DataVec<'_, '_>,
    meta: DataBuf<'_>,
) -> Result<Completion> {
    match data {
        DataVec::Out(iov) => {
            let joined: Vec<u8> = iov.iter().flat_map(|s| s.iter().copied()).collect();
            sync.cmd_io(cmd, DataBuf::Out(&joined), meta)
        }
        DataVec::In(iov) => {
            let total = iov.iter().map(|s| s.len()).sum();
            let mut joined = vec![0u8; total];
            let cpl = sync.cmd_io(cmd, DataBuf::In(&mut joined), meta)?;
            let mut rest = &joined[..];
            for s in iov.iter_mut() {
                let (head, tail) = rest.split_at(s.len());
                s.copy_from_slice(head);
                rest = tail;
            }
            Ok(cpl)
        }
    }
}

/// Scattered data buffers for [`SyncIo::cmd_iov`].
#[derive(Debug)]
pub enum DataVec<'s, 'a> {
    /// Buffers the device reads, in order.
    Out(&'s [std::io::IoSlice<'a>]),
    /// Buffers the device writes, in order.
    In(&'s mut [std::io::IoSliceMut<'a>]),
}

impl DataVec<'_, '_> {
    /// Total length in bytes.
    pub fn len(&self) -> usize {
        match self {
            DataVec::Out(v) => v.iter().map(|s| s.len()).sum(),
            DataVec::In(v) => v.iter().map(|s| s.len()).sum(),
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An admin interface: runs one admin command to completion.
pub trait Admin: Send + Sync {
    /// The interface id (`ramdisk`, `nvme`, `file_as_ns`, ...).
    fn id(&self) -> &'static str;

    /// Runs one admin command, with the same completion rules as
    /// [`SyncIo::cmd_io`].
    fn cmd_admin(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion>;

    /// Runs a controller operation that is not an NVMe command (a reset,
    /// a namespace rescan). The default: the interface has none.
    fn pseudo(&self, op: Pseudo) -> Result<()> {
        Err(Error::unsupported(
            self.id(),
            format!("{op}: this interface cannot reach a controller"),
        ))
    }

    /// Reads the controller registers (BAR0: CAP, VS, CC, CSTS, ...).
    /// The default: the interface cannot.
    fn registers(&self) -> Result<nvmx_spec::regs::ControllerRegisters> {
        Err(Error::unsupported(
            self.id(),
            "controller registers: this interface cannot read them",
        ))
    }
}

/// Controller operations that are not NVMe commands: the kernel or the
/// driver performs them (xNVMe calls them pseudo commands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pseudo {
    /// Controller reset (CC.EN cleared and set again).
    ControllerReset,
    /// NVM subsystem reset (NSSR register), where CAP.NSSRS allows it.
    SubsystemReset,
    /// Rescan of the controller's namespaces.
    NamespaceRescan,
}

impl std::fmt::Display for Pseudo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pseudo::ControllerReset => "controller reset",
            Pseudo::SubsystemReset => "subsystem reset",
            Pseudo::NamespaceRescan => "namespace rescan",
        })
    }
}

pub use crate::buf::RawBuf;

impl RawBuf {
    /// Rebuilds the borrowed form for a sync interface, in the direction
    /// the opcode says.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid for reads and writes for `'a`, and
    /// nothing else may access it during `'a`.
    pub unsafe fn as_data_buf<'a>(self, dir: Direction) -> DataBuf<'a> {
        if self.ptr.is_null() {
            return DataBuf::None;
        }
        if dir == Direction::ToDevice {
            // SAFETY: the caller guarantees validity and exclusivity for 'a.
            let s = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
            DataBuf::Out(s)
        } else {
            // SAFETY: as above; the device writes, so the slice is mutable.
            let s = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) };
            DataBuf::In(s)
        }
    }
}

/// Where an engine reports finished commands: each with the slot it was
/// submitted with, and its completion or the error that kept it from
/// running.
///
/// A queue's own reaping goes straight into its list of reaped
/// completions, a concrete call the engine's loop inlines (a dynamic call
/// per completion cost about 40 instructions per I/O); anything else
/// (tests, a queue being dropped) passes a closure.
pub struct EngineSink<'a>(SinkTo<'a>);

enum SinkTo<'a> {
    Queue(crate::slots::Reaper<'a>),
    Fn(&'a mut dyn FnMut(u32, Result<Completion>)),
}

impl<'a> EngineSink<'a> {
    /// A sink that hands each completion to `f`.
    pub fn from_fn(f: &'a mut dyn FnMut(u32, Result<Completion>)) -> EngineSink<'a> {
        EngineSink(SinkTo::Fn(f))
    }

    /// The sink of a queue's reaping.
    pub fn queue(r: crate::slots::Reaper<'a>) -> EngineSink<'a> {
        EngineSink(SinkTo::Queue(r))
    }

    /// Reports that the command in `slot` finished with `res`.
    #[inline]
    pub fn complete(&mut self, slot: u32, res: Result<Completion>) {
        match &mut self.0 {
            SinkTo::Queue(r) => r.reap(slot, res),
            SinkTo::Fn(f) => f(slot, res),
        }
    }
}

/// Whether a read or write asks for Force Unit Access (CDW12 bit 30): the
/// data must be on stable media when the command completes. Interfaces
/// over files and block devices honour it with `fdatasync` after a write.
pub const fn is_fua(cmd: &Command) -> bool {
    cmd.cdw12 & (1 << 30) != 0
}

/// Whether an engine that turns NVMe commands into file I/O handles `opc`
/// as a plain read or write (moving data only, never separate metadata).
pub const fn is_plain_rw(opc: u8) -> bool {
    opc == nvmx_spec::opcode::NvmOpcode::READ.0 || opc == nvmx_spec::opcode::NvmOpcode::WRITE.0
}

/// Refuses a namespace with an extended-LBA format for an engine that
/// turns reads and writes into plain file I/O: the block device shows
/// blocks of data only (the kernel has the controller insert and strip
/// the metadata), so blocks of data and metadata interleaved would land at
/// the wrong offsets.
pub fn refuse_extended_lba(id: &'static str, p: &EngineParams<'_>) -> Result<()> {
    let data_nbytes = 1u64 << p.ssw.min(63);
    if u64::from(p.lba_nbytes) != data_nbytes {
        return Err(crate::Error::unsupported(
            id,
            format!(
                "an extended-LBA format ({} bytes per block, data and metadata interleaved): \
                 plain reads and writes see {data_nbytes}-byte blocks; use an NVMe passthrough \
                 engine (io_uring_cmd, emu, thrpool)",
                p.lba_nbytes
            ),
        ));
    }
    Ok(())
}

/// The engine behind an async queue (the facade's `Queue`).
///
/// The queue hands each command a slot number below its capacity, keeps the
/// command's buffers alive while it is in flight, and frees the slot when the
/// engine reports that slot complete.
///
/// # Safety
/// When the engine reports a slot, the queue hands that slot's buffers
/// back to the caller, who may read, write or free them. An
/// implementation therefore promises:
/// 1. [`AsyncEngine::poke`] and [`AsyncEngine::wait`] report through the
///    sink only slots that are in flight (accepted by `submit` or
///    `submit_rw` with `Ok` and not reported since), each exactly once;
/// 2. once it reports a slot, neither the engine nor anything it gave the
///    slot's buffers to (the kernel, a device, a worker thread) reads or
///    writes them again;
/// 3. when `submit` or `submit_rw` returns `Err`, the buffers were not
///    kept: nothing reads or writes them after the return.
pub unsafe trait AsyncEngine: Send {
    /// The interface id (`emu`, `thrpool`, `nil`, ...).
    fn id(&self) -> &'static str;

    /// Starts a command.
    ///
    /// # Safety
    /// `data` and `meta` must stay valid, and must not be read or written by
    /// anyone but the engine, until this slot is reported through `poke` or
    /// `wait`. `slot` must not be in flight already.
    unsafe fn submit(&mut self, slot: u32, cmd: &Command, data: RawBuf, meta: RawBuf)
    -> Result<()>;

    /// Starts a plain NVM Read or Write (`rw.opc`) that the queue has
    /// already checked against the namespace: in range, within MDTS, `data`
    /// long enough, no metadata. An engine that sends no NVMe command can
    /// override it to take the LBA range as it is, without the 64-byte
    /// command being built and decoded (`nil` does; the file engines do
    /// not yet); the default builds the command and calls `submit`.
    ///
    /// # Safety
    /// As for [`AsyncEngine::submit`].
    unsafe fn submit_rw(&mut self, slot: u32, rw: &NvmRw, data: RawBuf) -> Result<()> {
        // SAFETY: the caller keeps `submit`'s contract for `data`.
        unsafe { self.submit(slot, &rw.to_command(), data, RawBuf::NONE) }
    }

    /// Whether commands with opcode `opc` carry a separate metadata buffer
    /// to the device. Engines that turn reads and writes into plain file
    /// I/O cannot; the queue then refuses a metadata buffer for them
    /// rather than drop it.
    fn carries_metadata(&self, opc: u8) -> bool {
        let _ = opc;
        true
    }

    /// Reaps up to `max` completions (0 means all that are ready) without
    /// blocking, passing each to `sink`; returns how many were reaped.
    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32>;

    /// A descriptor that becomes readable when there is something to reap,
    /// for event loops (epoll, poll). Created on first call; `None` when the
    /// engine has none. Poking clears it.
    #[cfg(target_os = "linux")]
    fn completion_fd(&mut self) -> Result<Option<std::os::fd::RawFd>> {
        Ok(None)
    }

    /// Blocks until at least one completion is reaped or `timeout` passes;
    /// returns how many were reaped (0 on timeout). The default polls.
    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        // Ready completions cost no clock read.
        let n = self.poke(0, sink)?;
        if n > 0 {
            return Ok(n);
        }
        let start = std::time::Instant::now();
        loop {
            std::thread::yield_now();
            let n = self.poke(0, sink)?;
            if n > 0 || start.elapsed() >= timeout {
                return Ok(n);
            }
        }
    }
}

/// What a backend configuration's open function hands back.
pub struct Backend {
    /// The sync interface.
    pub sync: std::sync::Arc<dyn SyncIo>,
    /// The admin interface.
    pub admin: std::sync::Arc<dyn Admin>,
    /// What was opened: device type, nsid, command set.
    pub ident: Ident,
}

/// Parameters for creating an async engine.
pub struct EngineParams<'a> {
    /// The device's sync interface (used by `emu` and `thrpool`).
    pub sync: &'a std::sync::Arc<dyn SyncIo>,
    /// Queue capacity (a power of two below 4096).
    pub capacity: u32,
    /// log2 of the logical block size: byte offset = `slba << ssw`.
    pub ssw: u32,
    /// Bytes per logical block in the data buffer (data plus interleaved
    /// metadata).
    pub lba_nbytes: u32,
    /// The device's options (poll_io, poll_sq, ...).
    pub opts: &'a crate::opts::Options,
}

/// Creates an async engine for a queue.
pub type EngineCtor = fn(&EngineParams<'_>) -> Result<Box<dyn AsyncEngine>>;
