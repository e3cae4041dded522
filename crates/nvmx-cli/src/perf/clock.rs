//! The latency clock: monotonic nanoseconds as a plain `u64`.
//!
//! Every I/O is timed, so the clock is on the hot path: `Instant` keeps
//! seconds and nanoseconds apart and its subtraction carries between
//! them, which costs more than the clock read itself. A `u64` of
//! nanoseconds subtracts in one instruction.

/// Monotonic time in nanoseconds since an arbitrary start.
#[cfg(unix)]
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists
    // on every Unix this builds for, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Monotonic time in nanoseconds since the first call.
#[cfg(not(unix))]
#[inline]
pub fn now_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_monotonic_and_counts_nanoseconds() {
        let a = super::now_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = super::now_ns();
        assert!(b >= a + 1_000_000, "{a} then {b}");
    }
}
