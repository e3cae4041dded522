//! Completion notification for the `posix` engine on Linux: each request
//! started after [`AsyncEngine::completion_fd`](nvmx_core::be::AsyncEngine::completion_fd)
//! asks the C library to call [`on_complete`] when it finishes
//! (`SIGEV_THREAD`), and that callback signals the queue's eventfd.
//!
//! glibc and musl run the callback on a new thread per completion, so this
//! costs a thread start per request; it is paid only by queues whose
//! completion descriptor was asked for.
//!
//! The callback may run after the engine has reaped the request, or even
//! after the engine is gone, so it must not rely on the engine: each
//! request carries its own strong reference to the notifier (an `Arc`
//! turned into the `sigev_value` pointer), which the callback consumes.
//! The eventfd therefore stays open until the last callback has run.

use std::mem::{offset_of, size_of};
use std::sync::Arc;

use crate::cbi::notify::Notifier;

/// Where the `sigev_notify_function` member of `struct sigevent` sits: the
/// C union after `sigev_value`, `sigev_signo` and `sigev_notify`, which the
/// libc crate exposes only as its `sigev_notify_thread_id` member. The
/// function pointer comes first in that union, the thread attributes
/// pointer right after it.
const FUNCTION_AT: usize = offset_of!(libc::sigevent, sigev_notify_thread_id);

const _: () = assert!(FUNCTION_AT == size_of::<libc::sigval>() + 2 * size_of::<libc::c_int>());
const _: () = assert!(FUNCTION_AT + 2 * size_of::<usize>() <= size_of::<libc::sigevent>());
const _: () = assert!(FUNCTION_AT.is_multiple_of(size_of::<usize>()));

/// Runs on a C-library thread when a request started by [`arm`] finishes.
extern "C" fn on_complete(v: libc::sigval) {
    // SAFETY: `arm` stored a pointer from `Arc::into_raw` in sigev_value,
    // and the C library calls this once per finished request, so this
    // takes back exactly the reference that request was given.
    let n = unsafe { Arc::from_raw(v.sival_ptr.cast_const().cast::<Notifier>()) };
    n.signal();
}

/// Makes the request about to start on `cb` signal `n` when it finishes.
/// If the request then fails to start, [`disarm`] must be called on the
/// same `cb`.
pub(super) fn arm(cb: &mut libc::aiocb, n: &Arc<Notifier>) {
    let ev = &mut cb.aio_sigevent;
    ev.sigev_notify = libc::SIGEV_THREAD;
    ev.sigev_value = libc::sigval {
        sival_ptr: Arc::into_raw(Arc::clone(n)).cast_mut().cast(),
    };
    let func: extern "C" fn(libc::sigval) = on_complete;
    let base = (&raw mut *ev).cast::<u8>();
    // SAFETY: FUNCTION_AT and the two pointer-sized members after it lie
    // inside the sigevent (checked at compile time above) and are aligned
    // for pointers; the writes go through a pointer derived from the whole
    // struct, and fill the C union's function and attributes members (no
    // attributes: a default thread).
    unsafe {
        base.add(FUNCTION_AT).cast::<usize>().write(func as usize);
        base.add(FUNCTION_AT + size_of::<usize>())
            .cast::<usize>()
            .write(0);
    }
}

/// Takes back the notifier reference [`arm`] gave a request that the C
/// library refused to start, so it never calls back.
///
/// # Safety
/// `cb` must have been passed to [`arm`] and its request must not have
/// started.
pub(super) unsafe fn disarm(cb: &libc::aiocb) {
    if cb.aio_sigevent.sigev_notify == libc::SIGEV_THREAD {
        // SAFETY: per the contract, the pointer came from Arc::into_raw in
        // `arm` and no callback will consume it.
        drop(unsafe {
            Arc::from_raw(
                cb.aio_sigevent
                    .sigev_value
                    .sival_ptr
                    .cast_const()
                    .cast::<Notifier>(),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_member_follows_the_three_leading_members() {
        // glibc and musl: sigval, signo, notify, then the union.
        assert_eq!(
            FUNCTION_AT,
            if cfg!(target_pointer_width = "64") {
                16
            } else {
                12
            }
        );
        assert_eq!(size_of::<libc::sigevent>(), 64);
    }

    #[test]
    fn arm_then_disarm_returns_the_reference() {
        let n = Arc::new(Notifier::new().unwrap());
        // SAFETY: all-zero is a valid aiocb.
        let mut cb: libc::aiocb = unsafe { std::mem::zeroed() };
        arm(&mut cb, &n);
        assert_eq!(Arc::strong_count(&n), 2);
        // SAFETY: armed above, never started.
        unsafe { disarm(&cb) };
        assert_eq!(Arc::strong_count(&n), 1);
    }
}
