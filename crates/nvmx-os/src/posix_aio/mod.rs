//! `posix`: the async engine over POSIX asynchronous I/O (`aio_read`,
//! `aio_write`, `aio_fsync`, `aio_error`, `aio_return`, `aio_suspend`).
//!
//! POSIX aio is the one asynchronous file interface every Unix has. How it
//! runs differs: FreeBSD queues requests in the kernel; glibc and macOS
//! emulate it with threads inside the C library. glibc runs the requests
//! of one file descriptor one after another, so on Linux this engine gives
//! little overlap on a single file; `libaio` or io_uring do better there.
//!
//! # What it does with each command
//!
//! - **Read** and **Write** become `aio_read` / `aio_write` of
//!   `(nlb + 1) * lba_nbytes` bytes at byte offset `slba << ssw`. A data
//!   buffer shorter than that completes the command with
//!   [`nvmx_core::Error::ShortBuffer`] naming both sizes; a separate metadata
//!   buffer has no place in them and the queue refuses one.
//! - **Flush** becomes `aio_fsync(O_DSYNC)`. Where the C library refuses
//!   that (`EINVAL`, e.g. FreeBSD before 13.0), the command runs through
//!   the device's sync interface instead, and so does every later Flush on
//!   this queue.
//! - **Every other opcode** has no aio counterpart: it runs synchronously
//!   through the device's sync interface when submitted, and its completion
//!   is reported at the next poke.
//!
//! # Completion
//!
//! Each queue slot has one control block (`aiocb`), allocated once with the
//! engine. A poke asks `aio_error` about each request in flight
//! (`EINPROGRESS`: still running) and collects finished ones with
//! `aio_return`; a wait blocks in `aio_suspend` on the requests in flight.
//! Results map as for `libaio`: the full length succeeds, a short read is
//! LBA Out of Range (the range runs past the end), a short write is an
//! error naming the count, and a failed request carries the OS error.
//!
//! When the C library has no room for another request (`EAGAIN`, e.g.
//! FreeBSD's `vfs.aio.max_aio_queue_per_proc`), submit answers
//! [`nvmx_core::Error::Busy`] while others are in flight: poke and retry.
//!
//! `poll_io` and `poll_sq` are refused (nothing in POSIX aio polls).
//!
//! On Linux, [`AsyncEngine::completion_fd`] is supported: requests started
//! after it is first called ask the C library for a completion callback
//! (`SIGEV_THREAD`) that signals the descriptor. glibc starts a thread per
//! callback, so this costs a thread start per request, paid only by queues
//! that asked for the descriptor. Requests already in flight without the
//! callback keep the descriptor signalled at every poke until reaped.
//!
//! On FreeBSD the same engine also serves the `kqueue` configurations
//! (`PosixAio::with_kqueue`, see [`kqueue`]): each
//! request then reports its completion to a kqueue, and pokes and waits
//! read finished requests from it in batches instead of asking
//! `aio_error` about each one.

/// Applies `cfg(...)` for the platforms whose C library has POSIX aio to
/// each item (`+`), or its negation (`-`).
macro_rules! posix_aio_cfg {
    (+ $($item:item)*) => {
        $(
            #[cfg(any(
                target_os = "linux",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_vendor = "apple",
                target_os = "solaris",
                target_os = "illumos"
            ))]
            $item
        )*
    };
    (- $($item:item)*) => {
        $(
            #[cfg(not(any(
                target_os = "linux",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_vendor = "apple",
                target_os = "solaris",
                target_os = "illumos"
            )))]
            $item
        )*
    };
}

posix_aio_cfg! {+
    mod engine;
    #[cfg(target_os = "linux")]
    mod linux;
    #[cfg(test)]
    mod tests;
    pub use engine::PosixAio;

    fn create(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
        Ok(Box::new(PosixAio::new(p)?))
    }
}

posix_aio_cfg! {-
    fn create(_: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
        Err(Error::unsupported("posix", "this platform: its C library has no POSIX aio"))
    }
}

pub mod kqueue;
#[cfg(test)]
pub(crate) mod testutil;

use nvmx_core::be::config::BackendConfig;
use nvmx_core::be::{AsyncEngine, EngineParams};
use nvmx_core::caps::Caps;
use nvmx_core::error::{Error, Result};

/// The `posix_file` configuration: a file as a namespace, with `psync`
/// for sync commands, synthesized admin data, and POSIX aio for queues.
pub static POSIX_FILE: BackendConfig = BackendConfig {
    name: "posix_file",
    descr: "File as a namespace: positional I/O, async by POSIX aio (aio_read/aio_write)",
    caps: Caps::FILE,
    async_id: "posix",
    sync_id: "psync",
    admin_id: "file_as_ns",
    dev_id: crate::DEV_ID,
    mem_id: "heap",
    open: crate::file::open,
    new_engine,
};

/// Refuses the options this engine cannot honour.
fn check_opts(p: &EngineParams<'_>) -> Result<()> {
    if p.opts.poll_io {
        return Err(Error::unsupported(
            "posix",
            "polled completions (poll_io): POSIX aio has no polled mode; drop poll_io",
        ));
    }
    if p.opts.poll_sq {
        return Err(Error::unsupported(
            "posix",
            "submission polling (poll_sq): POSIX aio has no submission thread to poll; drop \
             poll_sq",
        ));
    }
    Ok(())
}

/// Creates a `posix` engine on the device's file descriptor.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    nvmx_core::be::refuse_extended_lba("posix", p)?;
    check_opts(p)?;
    create(p)
}
