//! io_uring async engines: `io_uring` (reads and writes on any file
//! descriptor) and `io_uring_cmd` (NVMe passthrough on `/dev/ngXnY`).
//!
//! Both take the file descriptor of the device's sync interface
//! ([`nvmx_core::be::SyncIo::raw_fd`]) and set up one ring per queue with as
//! many submission entries as the queue has slots (the kernel gives the
//! completion ring twice as many). The slot number is each entry's
//! `user_data`.
//!
//! # The loop
//! Submitting only writes an entry into the shared submission ring. A poke
//! hands everything queued to the kernel with one `io_uring_enter` (none at
//! all when nothing is queued, or when an SQPOLL thread is awake), then
//! reads completions straight from the shared completion ring. A wait
//! submits and sleeps in the kernel until one completion arrives or the
//! timeout passes (`IORING_ENTER_EXT_ARG` with a timespec). Nothing is
//! allocated or locked per command: the slot table, the list of early
//! completions and the rings are sized at queue creation.
//!
//! # `io_uring`
//! - NVM Read and Write are `IORING_OP_READ`/`IORING_OP_WRITE` of
//!   `(nlb + 1) * lba_nbytes` bytes at byte `slba << ssw`. A data buffer
//!   shorter than that completes the command with [`Error::ShortBuffer`]
//!   naming both sizes; nothing is read or written past a buffer.
//! - Flush is `IORING_OP_FSYNC` with `IORING_FSYNC_DATASYNC`.
//! - Every other opcode (Compare, Write Zeroes, Dataset Management, ...)
//!   runs synchronously through the sync interface when it is submitted,
//!   and its completion is reported at the next poke. io_uring has no NVMe
//!   meaning for those commands on a plain descriptor, so they are correct
//!   but not asynchronous.
//! - Separate metadata buffers are ignored, as the `psync` interface
//!   ignores them on a file.
//! - A short transfer is resubmitted for the rest. A read that gets 0
//!   bytes has hit the end of the file and completes with the NVMe status
//!   LBA Out of Range, as `psync` answers; a write that moves 0 bytes is an
//!   I/O error. A negative result is [`Error::Io`] with the errno.
//!
//! # `io_uring_cmd`
//! Any I/O opcode goes to the driver in a [`nvme_uring::NvmeUringCmd`],
//! data and metadata included. The completion's `res` is the NVMe status
//! (or a negative errno) and the extra CQE words carry result dwords 0 and
//! 1 (Zone Append's LBA). For Read, Write, Compare and Zone Append the
//! data buffer is checked to hold what the command moves, so the device
//! cannot be told to transfer past it. The vectored form
//! (`NVME_URING_CMD_IO_VEC`) is not used: a queue has no vectored
//! submission yet. It only works on the NVMe generic character device;
//! the configurations using it come with the `nvme` sync interface.
//!
//! # Options
//! - `--poll_sq`: `IORING_SETUP_SQPOLL`, a kernel thread polls the
//!   submission ring (idle after 1 s without work).
//! - `--poll_io`: `IORING_SETUP_IOPOLL`, completions are polled instead of
//!   interrupt-driven. For `io_uring` this needs `--direct`, and creating
//!   the queue says so when the descriptor is not `O_DIRECT`; a file that
//!   cannot be polled even then fails each command with
//!   [`Error::Unsupported`] saying so. A polled queue has no completion
//!   fd, since only poking finds its completions.
//! - `--register_files`: the descriptor is registered with the ring and
//!   entries name it as fixed file 0.
//! - `--register_buffers`: the queue's buffers become fixed buffers of the
//!   ring, each registered the first time it is used (module `fixed`);
//!   reads and writes then use `READ_FIXED`/`WRITE_FIXED`, and
//!   `io_uring_cmd` sets `IORING_URING_CMD_FIXED`.
//! - `--defer_taskrun`: `IORING_SETUP_DEFER_TASKRUN` with `SINGLE_ISSUER`
//!   and `TASKRUN_FLAG`. The kernel queues completion work for the
//!   submitting thread instead of interrupting it, and runs it when that
//!   thread enters with GETEVENTS (a poke does when the kernel flags work,
//!   a wait always does). On a 2-CPU machine it lowered the CPU per 4 KiB
//!   read on a tmpfs file by 8-20 % (BENCHMARKS.md).
//!   The ring is created disabled and enabled by the first system call,
//!   so the thread that first submits or waits owns it, wherever the
//!   queue was created; any other thread gets [`Error::QueueFailed`](nvmx_core::Error::QueueFailed)
//!   naming the option, never a hang. Off by default because a queue
//!   moved between threads (a work-stealing executor) would fail;
//!   `nvmx perf` turns it on. Not with `--poll_sq`.
//!
//! # Completion fd
//! [`AsyncEngine::completion_fd`](nvmx_core::be::AsyncEngine::completion_fd)
//! registers an eventfd with the ring (`IORING_REGISTER_EVENTFD`), which
//! the kernel signals on each completion. The engine also signals it for
//! the completions it decides itself, and when commands are queued but
//! not yet handed to the kernel (once per batch), because only a poke
//! submits them: an event loop that submits, waits for the fd and pokes
//! never stalls. A poke clears it.
//!
//! # Dropping
//! A queue drains before its engine is dropped, and leaks the engine and
//! the buffers when commands are still in flight after the timeout. The
//! engine owns no memory the kernel writes other than the rings, whose
//! pages the kernel keeps referenced until its requests are gone, so
//! dropping it needs no special care.
//!
//! [`Error::ShortBuffer`]: nvmx_core::Error::ShortBuffer
//! [`Error::Io`]: nvmx_core::Error::Io
//! [`Error::Unsupported`]: nvmx_core::Error::Unsupported

pub mod cmd;
pub(crate) mod fixed;
pub mod nvme_uring;
pub(crate) mod ring;
pub mod rw;

use crate::file;
use nvmx_core::be::config::BackendConfig;
use nvmx_core::caps::Caps;

/// The `io_uring_file` configuration: a file as a namespace, positional
/// I/O through `psync` for sync commands and io_uring for queues.
pub static IO_URING_FILE: BackendConfig = BackendConfig {
    name: "io_uring_file",
    descr: "File as a namespace: queues through io_uring, sync commands by positional I/O",
    caps: Caps::FILE,
    async_id: rw::ID,
    sync_id: "psync",
    admin_id: "file_as_ns",
    dev_id: "linux",
    mem_id: "heap",
    open: file::open,
    new_engine: rw::new_engine,
};
