//! `kqueue`: POSIX aio requests whose completions are delivered through a
//! kqueue (`EVFILT_AIO`), reaped in batches.
//!
//! The engine is the [`posix`](crate::posix_aio) engine with another
//! way of learning that requests finished: every request asks the kernel
//! for a kevent on the queue's own kqueue (`sigev_notify = SIGEV_KEVENT`,
//! the kqueue descriptor in `sigev_notify_kqueue`, which is
//! `sigev_signo` under another name, and the queue slot as
//! `sigev_value`, which comes back as the event's `udata`). A poke then
//! asks the kqueue, without blocking, for up to a queue's worth of
//! finished requests in one `kevent` call, and collects only those with
//! `aio_return`, instead of asking `aio_error` about every request in
//! flight; a wait blocks in `kevent` with the timeout. Each request asks
//! for a one-shot event (`EV_ONESHOT` in `sigev_notify_kevent_flags`), so
//! it is reported once. A slot is collected only when `aio_error` says its
//! request finished, and a wait that times out with requests in flight
//! also asks `aio_error` about each of them, so a request whose event went
//! missing is still collected. What each command
//! becomes (reads and writes as `aio_read`/`aio_write`, Flush as
//! `aio_fsync`, every other opcode through the sync interface) and how
//! results map are the `posix` engine's.
//!
//! The layouts and constants this needs beyond the `libc` crate (the
//! `sigev_notify_kqueue` alias, the sigevent union's offset) are declared
//! here and checked against FreeBSD's `sys/sys/signal.h` and
//! `sys/sys/event.h` in host tests, and against `libc`'s definitions at
//! compile time on FreeBSD. The decoding of events is plain Rust, tested
//! on every host; the `kqueue`/`kevent` calls are in `sys` (FreeBSD only).

#[cfg(target_os = "freebsd")]
pub(crate) mod sys;
#[cfg(test)]
mod tests;

use nvmx_core::be::{AsyncEngine, EngineParams};
use nvmx_core::error::Result;

/// `SIGEV_KEVENT` of `sys/sys/signal.h`: completion as a kevent.
pub const SIGEV_KEVENT: i32 = 3;
/// `EVFILT_AIO` of `sys/sys/event.h`: the filter of aio completions.
pub const EVFILT_AIO: i16 = -3;
/// `EV_ERROR` of `sys/sys/event.h`: the event reports an error in `data`.
pub const EV_ERROR: u16 = 0x4000;
/// `EV_ONESHOT` of `sys/sys/event.h`: deliver the event once, then drop
/// it. Each request asks for it, so one request is reported once.
pub const EV_ONESHOT: u16 = 0x0010;

/// The value to store in the 32-bit `sigev_notify_thread_id` member
/// (`libc`'s only name for the start of the sigevent union) so that the
/// union's first `unsigned short`, `sigev_notify_kevent_flags`, holds
/// `flags` and the rest of that word is zero, on either byte order.
pub const fn kevent_flags_word(flags: u16) -> i32 {
    if cfg!(target_endian = "little") {
        flags as i32
    } else {
        ((flags as u32) << 16) as i32
    }
}

/// `struct sigevent` of FreeBSD's `sys/sys/signal.h` on LP64, spelled out:
/// `libc` hides its union, and FreeBSD names two of the fields differently
/// for kevent delivery (`sigev_notify_kqueue` is `sigev_signo`;
/// `sigev_notify_kevent_flags` is the union's first `unsigned short`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SigeventLayout {
    /// `int sigev_notify`: how to notify ([`SIGEV_KEVENT`]).
    pub sigev_notify: i32,
    /// `int sigev_signo`, alias `sigev_notify_kqueue`: the kqueue.
    pub sigev_signo: i32,
    /// `union sigval sigev_value`: comes back as the kevent's `udata`.
    pub sigev_value: usize,
    /// The union `_sigev_un` (`long __spare__[8]`); its first two bytes
    /// are `sigev_notify_kevent_flags` (EV_CLEAR, EV_DISPATCH, EV_ONESHOT
    /// only).
    pub sigev_un: [i64; 8],
}

/// A finished-request event as `kevent` returns it, reduced to plain
/// integers: `ident` (the aiocb's address), `filter`, `flags`, `data` and
/// `udata` (the `sigev_value` the request was started with).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KqEvent {
    /// The aiocb's address.
    pub ident: usize,
    /// The filter ([`EVFILT_AIO`]).
    pub filter: i16,
    /// Event flags ([`EV_ERROR`], ...).
    pub flags: u16,
    /// Filter data; the errno with [`EV_ERROR`].
    pub data: i64,
    /// The request's `sigev_value`: the queue slot.
    pub udata: usize,
}

/// What one event means to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaped {
    /// The request of this queue slot has finished: collect it.
    Slot(u32),
    /// The kqueue reported an error (the errno), not a request's result.
    Error(i32),
    /// Not an aio completion of this queue (another filter, or a slot
    /// beyond the queue): ignore it.
    Ignored,
}

/// Decodes one event for a queue of `capacity` slots.
pub fn decode(ev: &KqEvent, capacity: u32) -> Reaped {
    if ev.flags & EV_ERROR != 0 {
        return Reaped::Error(i32::try_from(ev.data).unwrap_or(i32::MAX));
    }
    if ev.filter != EVFILT_AIO {
        return Reaped::Ignored;
    }
    match u32::try_from(ev.udata) {
        Ok(slot) if slot < capacity => Reaped::Slot(slot),
        _ => Reaped::Ignored,
    }
}

/// The `sigev_value` a request of `slot` is started with.
pub const fn slot_token(slot: u32) -> usize {
    slot as usize
}

/// Creates a `kqueue` engine: the `posix` engine completing through a
/// kqueue. Only FreeBSD has one here; elsewhere it is refused.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    nvmx_core::be::refuse_extended_lba("kqueue", p)?;
    #[cfg(target_os = "freebsd")]
    {
        Ok(Box::new(crate::posix_aio::PosixAio::with_kqueue(p)?))
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        Err(nvmx_core::error::Error::unsupported(
            "kqueue",
            "this platform: kqueue aio completions (EVFILT_AIO) are FreeBSD's",
        ))
    }
}
