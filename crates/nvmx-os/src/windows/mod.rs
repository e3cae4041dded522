//! Windows: physical drives through the Windows NVMe driver (StorNVMe) and
//! the disk stack, files through overlapped I/O, and three async engines.
//!
//! Interfaces:
//! - dev `windows` (`dev`): opens `\\.\PhysicalDriveN` and files, and
//!   enumerates physical drives with their storage bus type.
//! - mem `windows` (`mem`): `VirtualAlloc`ed buffers, page (and so
//!   sector) aligned, as unbuffered I/O needs.
//! - sync/admin `nvme` (`disk`): Identify, Get Log Page and Get Features
//!   as protocol-specific property queries, Set Features as a property set,
//!   the commands StorNVMe lets through as `IOCTL_STORAGE_PROTOCOL_COMMAND`,
//!   reads and writes as `ReadFile`/`WriteFile`; the buffers are built and
//!   parsed in [`stornvme`], which compiles (and is tested) everywhere.
//! - sync/admin `block` (`disk`): any disk; Identify is synthesized from
//!   the geometry and storage descriptor IOCTLs ([`diskinfo`]).
//! - async `iocp` and `iocp_th` (`iocp`): overlapped reads and writes on
//!   a handle of the queue's own, one completion port per queue, reaped in
//!   batches with `GetQueuedCompletionStatusEx`, by the caller (`iocp`) or a
//!   poller thread (`iocp_th`).
//! - async `io_ring` (`ioring`): Windows 11's IoRing, looked up at run
//!   time, so a program still starts where the OS has none.
//!
//! The modules that call Windows exist only on Windows; `stornvme` and
//! `diskinfo` are plain Rust everywhere. All `unsafe` of this backend is in the Windows-only modules, one block
//! per system call, each with its `SAFETY` reason.

pub mod diskinfo;
pub mod stornvme;

#[cfg(windows)]
pub mod dev;
#[cfg(windows)]
pub mod disk;
#[cfg(windows)]
pub mod iocp;
#[cfg(windows)]
pub mod ioring;
#[cfg(windows)]
pub use crate::file::windows_mem as mem;
#[cfg(windows)]
mod sys;
