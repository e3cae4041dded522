//! The kqueue of a `kqueue` engine: created with the engine, armed into
//! each request's sigevent, asked for finished requests in batches.

use std::collections::VecDeque;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::{EV_ONESHOT, KqEvent, Reaped, SigeventLayout, decode, kevent_flags_word, slot_token};

// libc's `sigevent` must be the struct spelled out in `SigeventLayout`:
// same size, and the members written here at the same places.
const _: () = {
    assert!(size_of::<libc::sigevent>() == size_of::<SigeventLayout>());
    assert!(offset_of!(libc::sigevent, sigev_notify) == offset_of!(SigeventLayout, sigev_notify));
    assert!(offset_of!(libc::sigevent, sigev_signo) == offset_of!(SigeventLayout, sigev_signo));
    assert!(offset_of!(libc::sigevent, sigev_value) == offset_of!(SigeventLayout, sigev_value));
    assert!(super::SIGEV_KEVENT == libc::SIGEV_KEVENT);
    assert!(super::EVFILT_AIO == libc::EVFILT_AIO);
    assert!(super::EV_ERROR == libc::EV_ERROR);
    assert!(super::EV_ONESHOT == libc::EV_ONESHOT);
    // `sigev_notify_kevent_flags` is the first member of the union that
    // libc calls `sigev_notify_thread_id`.
    assert!(
        offset_of!(libc::sigevent, sigev_notify_thread_id) == offset_of!(SigeventLayout, sigev_un)
    );
};

/// A kqueue receiving the completions of one engine's requests.
#[derive(Debug)]
pub(crate) struct Kq {
    fd: OwnedFd,
    /// Room for one `kevent` call's events (one per queue slot).
    events: Vec<libc::kevent>,
    capacity: u32,
}

// SAFETY: `events` holds plain integers and the `udata` pointers the
// kernel copied out of our own sigevents (slot numbers, never
// dereferenced); the descriptor may be used from any thread.
unsafe impl Send for Kq {}

fn timespec(d: Duration) -> libc::timespec {
    // SAFETY: timespec is plain integers (plus private padding on some
    // targets); all-zero is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    ts.tv_sec = libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX);
    ts.tv_nsec = d.subsec_nanos() as _;
    ts
}

impl Kq {
    /// Creates the kqueue for a queue of `capacity` slots.
    pub(crate) fn new(capacity: u32) -> io::Result<Kq> {
        // SAFETY: kqueue() takes no arguments and returns a new descriptor
        // or -1.
        let fd = unsafe { libc::kqueue() };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by kqueue() and nothing else owns
        // it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let n = capacity.max(1) as usize;
        // SAFETY: a kevent is integers and a pointer; all-zero is valid.
        let zero: libc::kevent = unsafe { std::mem::zeroed() };
        Ok(Kq {
            fd,
            events: vec![zero; n],
            capacity: capacity.max(1),
        })
    }

    /// Makes the request about to start with `ev` report its completion
    /// to this kqueue, tagged with `slot`.
    pub(crate) fn arm(&self, ev: &mut libc::sigevent, slot: u32) {
        ev.sigev_notify = libc::SIGEV_KEVENT;
        // `sigev_notify_kqueue` is `sigev_signo` (sys/sys/signal.h).
        ev.sigev_signo = self.fd.as_raw_fd();
        ev.sigev_value = libc::sigval {
            sival_ptr: slot_token(slot) as *mut libc::c_void,
        };
        // `sigev_notify_kevent_flags`: report the request once.
        ev.sigev_notify_thread_id = kevent_flags_word(EV_ONESHOT);
    }

    /// Moves the slots of finished requests into `ready`, waiting up to
    /// `timeout` for the first (not at all for a zero timeout); returns how
    /// many were added. An interrupted wait adds none.
    pub(crate) fn fetch(
        &mut self,
        timeout: Duration,
        ready: &mut VecDeque<u32>,
    ) -> io::Result<u32> {
        let ts = timespec(timeout);
        // SAFETY: no changes are passed; `events` has room for `len`
        // kevents, which the kernel fills; `ts` lives across the call.
        let n = unsafe {
            libc::kevent(
                self.fd.as_raw_fd(),
                std::ptr::null(),
                0,
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                &ts,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(0)
            } else {
                Err(e)
            };
        }
        let mut added = 0;
        let mut error = None;
        for ev in &self.events[..n as usize] {
            let plain = KqEvent {
                ident: ev.ident,
                filter: ev.filter,
                flags: ev.flags,
                #[allow(clippy::useless_conversion)]
                data: i64::from(ev.data),
                udata: ev.udata as usize,
            };
            match decode(&plain, self.capacity) {
                Reaped::Slot(s) => {
                    ready.push_back(s);
                    added += 1;
                }
                Reaped::Error(errno) => error = Some(errno),
                Reaped::Ignored => {}
            }
        }
        // Keep the slots of the same batch: report an error only when the
        // call brought nothing else.
        match error {
            Some(errno) if added == 0 => Err(io::Error::from_raw_os_error(errno)),
            _ => Ok(added),
        }
    }
}
