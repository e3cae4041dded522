//! The latency clock: nanoseconds as a plain `u64`.
//!
//! Every I/O is timed, so the clock is on the hot path: `Instant` keeps
//! seconds and nanoseconds apart and its subtraction carries between
//! them, which costs more than the clock read itself. A `u64` of
//! nanoseconds subtracts in one instruction.
//!
//! Two sources. `monotonic` is `clock_gettime(CLOCK_MONOTONIC)` (about
//! 40 ns per read on the 2-vCPU benchmark VM). `tsc` reads the x86 time
//! stamp counter directly (about 22 ns there) and scales it with a factor
//! calibrated against the monotonic clock at start; fio does the same
//! when the TSC is reliable. It is chosen only where the Linux kernel
//! itself runs its clock on the TSC (`current_clocksource` is `tsc`),
//! which the kernel does only when the counter is constant-rate and
//! synchronised across CPUs, so a command submitted on one CPU and reaped
//! on another still measures right.

use clap::ValueEnum;
use serde::Serialize;

/// Which clock times each command (`--clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockSource {
    /// The TSC where the kernel trusts it, else the monotonic clock.
    Auto,
    /// The x86 time stamp counter (Linux on x86_64, when the kernel's
    /// clocksource is `tsc`).
    Tsc,
    /// `clock_gettime(CLOCK_MONOTONIC)`.
    Monotonic,
}

/// A chosen, ready clock; copied into each job.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// TSC scaling: `ns = ((tsc - tsc0) * mult) >> 32`; `None` for the
    /// monotonic clock.
    tsc: Option<TscScale>,
}

#[derive(Clone, Copy, Debug)]
struct TscScale {
    tsc0: u64,
    mult: u64,
}

impl Clock {
    /// Picks and calibrates the clock `src` asks for; an explicit `tsc`
    /// where it cannot be trusted is an error saying why.
    pub fn choose(src: ClockSource) -> Result<Clock, String> {
        match src {
            ClockSource::Monotonic => Ok(Clock { tsc: None }),
            ClockSource::Auto => Ok(Clock {
                tsc: tsc::usable().ok().and_then(|()| calibrate()),
            }),
            ClockSource::Tsc => {
                tsc::usable()
                    .map_err(|why| format!("--clock tsc: {why}; use --clock monotonic"))?;
                let scale = calibrate().ok_or_else(|| {
                    "--clock tsc: the time stamp counter did not advance while calibrating; \
                     use --clock monotonic"
                        .to_string()
                })?;
                Ok(Clock { tsc: Some(scale) })
            }
        }
    }

    /// The name of the source in use, for the report.
    pub fn name(&self) -> &'static str {
        if self.tsc.is_some() {
            "tsc"
        } else {
            "monotonic"
        }
    }

    /// Nanoseconds since an arbitrary start; only differences mean
    /// anything.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        match self.tsc {
            Some(s) => {
                let d = tsc::read().wrapping_sub(s.tsc0);
                ((u128::from(d) * u128::from(s.mult)) >> 32) as u64
            }
            None => monotonic_ns(),
        }
    }
}

/// Measures the TSC rate against the monotonic clock across a 5 ms
/// sleep (a sleep, not a spin, so the start-up costs the same
/// instructions every run and instruction counts stay comparable).
fn calibrate() -> Option<TscScale> {
    let (t0, c0) = pair();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (t1, c1) = pair();
    let cycles = c1.checked_sub(c0).filter(|&c| c > 0)?;
    let mult = ((u128::from(t1.checked_sub(t0)?) << 32) / u128::from(cycles)) as u64;
    (mult > 0).then_some(TscScale { tsc0: c1, mult })
}

/// A monotonic reading and the counter at the same moment: the middle of
/// two counter reads around it.
fn pair() -> (u64, u64) {
    let a = tsc::read();
    let t = monotonic_ns();
    let b = tsc::read();
    (t, a / 2 + b / 2)
}

/// `CLOCK_MONOTONIC` in nanoseconds since an arbitrary start.
#[cfg(unix)]
#[inline]
fn monotonic_ns() -> u64 {
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
fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[path = "tsc_x86_64.rs"]
mod tsc;

/// Elsewhere there is no TSC source: `auto` means monotonic.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod tsc {
    pub fn usable() -> Result<(), String> {
        Err("the TSC clock is implemented for Linux on x86_64 only".into())
    }

    pub fn read() -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, ClockSource};

    fn counts_nanoseconds(c: Clock) {
        let a = c.now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = c.now_ns();
        // Sleeps overshoot, never undershoot; 10x covers a loaded machine.
        assert!(b >= a + 20_000_000, "{}: {a} then {b}", c.name());
        assert!(b < a + 200_000_000, "{}: {a} then {b}", c.name());
    }

    #[test]
    fn monotonic_counts_nanoseconds() {
        let c = Clock::choose(ClockSource::Monotonic).unwrap();
        assert_eq!(c.name(), "monotonic");
        counts_nanoseconds(c);
    }

    #[test]
    fn auto_counts_nanoseconds_whatever_it_picks() {
        counts_nanoseconds(Clock::choose(ClockSource::Auto).unwrap());
    }

    #[test]
    fn tsc_is_picked_exactly_when_usable() {
        match (super::tsc::usable(), Clock::choose(ClockSource::Tsc)) {
            (Ok(()), Ok(c)) => {
                assert_eq!(c.name(), "tsc");
                assert_eq!(Clock::choose(ClockSource::Auto).unwrap().name(), "tsc");
                counts_nanoseconds(c);
            }
            (Err(_), Err(e)) => {
                assert!(e.starts_with("--clock tsc: "), "{e}");
                assert!(e.ends_with("use --clock monotonic"), "{e}");
                assert_eq!(
                    Clock::choose(ClockSource::Auto).unwrap().name(),
                    "monotonic"
                );
            }
            (u, c) => panic!("usable {u:?} but choose {c:?}"),
        }
    }
}
