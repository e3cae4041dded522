//! The ring both engines drive: set up from the device options, entries
//! pushed, submitted once per poke, completions reaped straight from the
//! shared completion ring, bounded waits, and the completion eventfd.
//!
//! Nothing here allocates after `Ring::new`: the rings are mapped once
//! and every later step only reads and writes them.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, squeue};

use crate::cbi::notify::Notifier;
use nvmx_core::error::{Error, Result};
use nvmx_core::opts::Options;

/// How long an idle `--poll_sq` kernel thread keeps polling the submission
/// ring before it sleeps, in milliseconds.
pub const SQ_THREAD_IDLE_MS: u32 = 1000;

/// Which file an entry names: the descriptor itself, or slot 0 of the
/// ring's registered file table (`--register_files`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// The plain descriptor.
    Fd(RawFd),
    /// Registered file 0.
    Fixed,
}

/// Builds an entry for the ring's target: `$t` is bound to `types::Fd` or
/// `types::Fixed(0)` (the opcode builders take either, through a sealed
/// trait that cannot be named here).
macro_rules! with_target {
    ($target:expr, |$t:ident| $body:expr) => {
        match $target {
            $crate::linux::uring::ring::Target::Fd(fd) => {
                let $t = io_uring::types::Fd(fd);
                $body
            }
            $crate::linux::uring::ring::Target::Fixed => {
                let $t = io_uring::types::Fixed(0);
                $body
            }
        }
    };
}
pub(crate) use with_target;

/// An io_uring instance aimed at one file.
pub(crate) struct Ring<S: squeue::EntryMarker, C: cqueue::EntryMarker> {
    uring: IoUring<S, C>,
    target: Target,
    iopoll: bool,
    sqpoll: bool,
    /// `--defer_taskrun`: the kernel runs completion work only when the
    /// owning thread enters with GETEVENTS.
    defer: bool,
    /// With `defer`: the thread that enabled the ring ([`thread_token`]),
    /// the only one the kernel lets enter it; 0 until the first enter.
    owner: usize,
    /// Entries pushed that the kernel may not have consumed yet.
    unsubmitted: bool,
    notify: Option<Notifier>,
    label: String,
    interface: &'static str,
}

/// The path behind `fd` for messages, or `fd N` when it has none.
pub(crate) fn fd_label(fd: RawFd) -> String {
    match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
        Ok(p) => p.display().to_string(),
        Err(_) => format!("fd {fd}"),
    }
}

/// An id of the calling thread, cheap enough for every system call: the
/// address of a thread-local byte (never 0, and distinct between live
/// threads; a new thread may reuse a dead one's, which the kernel then
/// refuses with EEXIST, reported the same way).
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::EBUSY | libc::EINTR)
    )
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> Ring<S, C> {
    /// Sets up a ring of `entries` submission entries (a power of two; the
    /// completion ring gets twice as many) for `fd`, as the options ask:
    /// `poll_sq` (SQPOLL), `poll_io` (IOPOLL), `register_files`.
    /// `register_buffers` is the engine's to set up (see
    /// [`super::fixed`]).
    pub(crate) fn new(
        interface: &'static str,
        fd: RawFd,
        entries: u32,
        opts: &Options,
    ) -> Result<Self> {
        let label = fd_label(fd);
        let mut b = IoUring::<S, C>::builder();
        if opts.poll_sq {
            b.setup_sqpoll(SQ_THREAD_IDLE_MS);
        }
        if opts.poll_io {
            b.setup_iopoll();
        }
        if opts.defer_taskrun {
            if opts.poll_sq {
                return Err(Error::conflict(
                    "options",
                    "defer_taskrun with poll_sq: deferred completion work runs in the submitting \
                     thread's io_uring_enter, which a submission-polling ring does not make",
                ));
            }
            // Disabled until the first enter, which happens on the thread
            // that uses the queue: that thread becomes the single issuer,
            // not the one that created the queue.
            b.setup_r_disabled()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .setup_taskrun_flag();
        }
        let uring = b.build(entries).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::ENOSYS) => Some("this kernel has no io_uring"),
                Some(libc::EINVAL) if opts.defer_taskrun => {
                    Some("--defer_taskrun needs Linux 6.1 or later")
                }
                Some(libc::EPERM) if opts.poll_sq => {
                    Some("io_uring is disabled (sysctl kernel.io_uring_disabled), or --poll_sq needs privileges on this kernel")
                }
                Some(libc::EPERM) => Some("io_uring is disabled (sysctl kernel.io_uring_disabled) or blocked"),
                _ => None,
            };
            let e = match hint {
                Some(h) => io::Error::new(e.kind(), format!("{e}: {h}")),
                None => e,
            };
            Error::io("io_uring_setup", &label, e)
        })?;
        let target = if opts.register_files {
            uring
                .submitter()
                .register_files(&[fd])
                .map_err(|e| Error::io("io_uring register_files", &label, e))?;
            Target::Fixed
        } else {
            Target::Fd(fd)
        };
        Ok(Ring {
            uring,
            target,
            iopoll: opts.poll_io,
            sqpoll: opts.poll_sq,
            defer: opts.defer_taskrun,
            owner: 0,
            unsubmitted: false,
            notify: None,
            label,
            interface,
        })
    }

    /// What entries must name to reach the file.
    pub(crate) fn target(&self) -> Target {
        self.target
    }

    /// The file's path (or `fd N`), for messages.
    /// The ring's register interface (fixed buffers).
    pub(crate) fn submitter(&self) -> io_uring::Submitter<'_> {
        self.uring.submitter()
    }

    /// Sets up the fixed-buffer table when the options ask for it.
    pub(crate) fn fixed_bufs(
        &self,
        capacity: u32,
        opts: &Options,
    ) -> Result<Option<super::fixed::FixedBufs>> {
        if !opts.register_buffers {
            return Ok(None);
        }
        super::fixed::FixedBufs::new(&self.submitter(), capacity)
            .map(Some)
            .map_err(|e| {
                let hint = match e.raw_os_error() {
                    Some(libc::EINVAL) => {
                        ": this kernel has no sparse buffer tables (Linux 5.19 or later)"
                    }
                    Some(libc::ENOMEM) => ": the locked-memory limit (ulimit -l) is too low",
                    _ => "",
                };
                Error::io(
                    "io_uring register_buffers",
                    &self.label,
                    io::Error::new(e.kind(), format!("{e}{hint}")),
                )
            })
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Whether the ring polls for completions (`--poll_io`).
    pub(crate) fn iopoll(&self) -> bool {
        self.iopoll
    }

    /// Queues an entry; it reaches the kernel at the next [`Ring::flush`].
    /// A full ring (only possible while an SQPOLL thread lags) is handed to
    /// the kernel first.
    ///
    /// # Safety
    /// Every address the entry names must stay valid, and untouched by
    /// anyone else, until its completion has been reaped.
    pub(crate) unsafe fn push(&mut self, e: &S) -> Result<()> {
        for _ in 0..2 {
            // SAFETY: forwarded from this function's contract.
            if unsafe { self.uring.submission().push(e) }.is_ok() {
                // An event loop waiting on the completion fd must poke for
                // queued entries to reach the kernel: say so, once a batch.
                if !self.unsubmitted {
                    self.signal();
                }
                self.unsubmitted = true;
                return Ok(());
            }
            if self.sqpoll {
                match self.uring.submitter().squeue_wait() {
                    Ok(_) => {}
                    Err(e) if is_transient(&e) => {}
                    Err(e) => return Err(Error::io("io_uring_enter", &self.label, e)),
                }
            } else {
                self.submit_now()?;
            }
        }
        Err(Error::QueueFailed(format!(
            "{}: the submission ring for {} stays full although no more commands than its size are in flight",
            self.interface, self.label
        )))
    }

    /// Hands queued entries to the kernel (one `io_uring_enter`), and on a
    /// polled ring also polls for completions. Does nothing, and makes no
    /// system call, when nothing is queued and the ring is not polled.
    /// With `--defer_taskrun` it also enters when the kernel flags
    /// completion work to run (`IORING_SQ_TASKRUN`), since only an enter by
    /// this thread turns that work into completions.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.unsubmitted || self.iopoll || (self.defer && self.uring.submission().taskrun()) {
            self.submit_now()?;
        }
        Ok(())
    }

    /// Checks, before a system call on a `--defer_taskrun` ring, that the
    /// calling thread may enter it, enabling the ring for this thread on
    /// the first call.
    #[inline]
    fn claim(&mut self) -> Result<()> {
        if !self.defer {
            return Ok(());
        }
        let me = thread_token();
        if self.owner == me {
            return Ok(());
        }
        if self.owner == 0 {
            self.uring
                .submitter()
                .register_enable_rings()
                .map_err(|e| Error::io("io_uring register_enable_rings", &self.label, e))?;
            self.owner = me;
            return Ok(());
        }
        Err(self.moved())
    }

    /// The error for a failed `io_uring_enter`: EEXIST on a
    /// `--defer_taskrun` ring means another thread entered it.
    #[cold]
    fn enter_failed(&self, e: io::Error) -> Error {
        if self.defer && e.raw_os_error() == Some(libc::EEXIST) {
            return self.moved();
        }
        Error::io("io_uring_enter", &self.label, e)
    }

    #[cold]
    fn moved(&self) -> Error {
        Error::QueueFailed(format!(
            "{}: this queue on {} was created with --defer_taskrun and first used on another \
             thread; the kernel lets only that thread submit to it and reap its completions \
             (IORING_SETUP_SINGLE_ISSUER). Use it from that thread, or open without \
             --defer_taskrun to move queues between threads",
            self.interface, self.label
        ))
    }

    fn submit_now(&mut self) -> Result<()> {
        self.claim()?;
        match self.uring.submit() {
            Ok(_) => {}
            // Completion ring overflowing or a transient shortage: the
            // entries stay queued and go in at the next flush, after a reap.
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(self.enter_failed(e)),
        }
        self.unsubmitted = !self.uring.submission().is_empty();
        Ok(())
    }

    /// Whether the completion ring holds entries, or (`--defer_taskrun`)
    /// the kernel holds completion work that the next flush turns into
    /// entries.
    pub(crate) fn cq_pending(&mut self) -> bool {
        !self.uring.completion().is_empty() || (self.defer && self.uring.submission().taskrun())
    }

    /// Takes completions off the ring without a system call, passing each
    /// to `f`, until `max` of them made `f` answer `true` (0: no limit) or
    /// the ring is empty. Returns how many did.
    pub(crate) fn reap(&mut self, max: u32, mut f: impl FnMut(C) -> bool) -> u32 {
        let mut cq = self.uring.completion();
        let mut n = 0;
        while max == 0 || n < max {
            let Some(cqe) = cq.next() else { break };
            if f(cqe) {
                n += 1;
            }
        }
        n
    }

    /// Submits what is queued and blocks until a completion is on the
    /// ring or `timeout` has passed.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Result<()> {
        if self.cq_pending() {
            return self.flush();
        }
        self.claim()?;
        // A polled ring ignores the wait timeout in the kernel (it spins
        // until enough completions), so poll from here instead.
        if self.iopoll || !self.uring.params().is_feature_ext_arg() {
            let deadline = Instant::now() + timeout;
            loop {
                self.submit_now()?;
                if self.cq_pending() {
                    return Ok(());
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(());
                }
                if self.iopoll {
                    std::hint::spin_loop();
                } else {
                    // Kernels before 5.11 take no timeout in
                    // io_uring_enter: look again shortly.
                    std::thread::sleep((deadline - now).min(Duration::from_micros(50)));
                }
            }
        }
        let ts = Timespec::from(timeout);
        let args = SubmitArgs::new().timespec(&ts);
        match self.uring.submitter().submit_with_args(1, &args) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ETIME) || is_transient(&e) => {}
            Err(e) => return Err(self.enter_failed(e)),
        }
        self.unsubmitted = !self.uring.submission().is_empty();
        Ok(())
    }

    /// The eventfd the kernel signals on every completion, registered with
    /// the ring on first call. `pending` says whether the engine holds
    /// completions of its own (the kernel does not know of them). It is
    /// also signalled when entries are queued but not yet submitted, since
    /// only a poke hands them to the kernel.
    pub(crate) fn completion_fd(&mut self, pending: bool) -> Result<RawFd> {
        if let Some(n) = &self.notify {
            return Ok(n.fd());
        }
        if self.iopoll {
            return Err(Error::unsupported(
                self.interface,
                "a completion fd with --poll_io: polled completions are only found by poking the queue, \
                 so nothing would wake an event loop",
            ));
        }
        let n = Notifier::new()?;
        self.uring
            .submitter()
            .register_eventfd(n.fd())
            .map_err(|e| Error::io("io_uring register_eventfd", &self.label, e))?;
        // Registered first, checked second: a completion posted in between
        // signals the eventfd itself.
        if pending || self.unsubmitted || self.cq_pending() {
            n.signal();
        }
        let fd = n.fd();
        self.notify = Some(n);
        Ok(fd)
    }

    /// Clears the completion eventfd, if there is one (start of a poke).
    pub(crate) fn clear_notify(&self) {
        if let Some(n) = &self.notify {
            n.clear();
        }
    }

    /// Marks the completion eventfd readable, if there is one.
    pub(crate) fn signal(&self) {
        if let Some(n) = &self.notify {
            n.signal();
        }
    }

    /// Whether a completion eventfd exists.
    pub(crate) fn notifying(&self) -> bool {
        self.notify.is_some()
    }
}
