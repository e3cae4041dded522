//! CPU time of the process and pinning of the calling thread.

use std::time::Duration;

/// User and system CPU time of the whole process.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    /// Time in user mode.
    pub user: Duration,
    /// Time in the kernel.
    pub sys: Duration,
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, o: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(o.user),
            sys: self.sys.saturating_sub(o.sys),
        }
    }
}

/// The process's CPU time so far; `None` where nvmx cannot read it
/// (platforms without getrusage).
#[cfg(unix)]
pub fn process_cpu_time() -> Option<CpuTime> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one rusage into the buffer it is given, which
    // is large enough; RUSAGE_SELF is a valid target.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Some(CpuTime {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
    })
}

/// The process's CPU time so far; `None` where nvmx cannot read it
/// (platforms without getrusage).
#[cfg(not(unix))]
pub fn process_cpu_time() -> Option<CpuTime> {
    None
}

/// Pins the calling thread to `cpu`.
#[cfg(target_os = "linux")]
pub fn pin_to(cpu: usize) -> Result<(), String> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(format!(
            "CPU {cpu} is beyond the largest CPU number the kernel takes"
        ));
    }
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so CPU_SET stays
    // inside the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; the set and its size match.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r != 0 {
        return Err(format!(
            "cannot pin a thread to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Pins the calling thread to `cpu` (not supported on this platform).
#[cfg(not(target_os = "linux"))]
pub fn pin_to(cpu: usize) -> Result<(), String> {
    Err(format!(
        "cannot pin a thread to CPU {cpu}: --cpulist is supported on Linux only"
    ))
}

/// Parses a CPU list such as `0,2-3`.
pub fn parse_cpulist(s: &str) -> Result<Vec<usize>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim) {
        let num = |t: &str| {
            t.parse::<usize>()
                .map_err(|_| format!("--cpulist {s:?}: {t:?} is not a CPU number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("--cpulist {s:?}: range {part} runs backwards"));
                }
                v.extend(a..=b);
            }
            None => v.push(num(part)?),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpulist("0").unwrap(), [0]);
        assert_eq!(parse_cpulist("0,2-4, 7").unwrap(), [0, 2, 3, 4, 7]);
        assert!(parse_cpulist("3-1").unwrap_err().contains("backwards"));
        assert!(parse_cpulist("a").unwrap_err().contains("\"a\""));
        assert!(parse_cpulist("").is_err());
    }

    #[test]
    fn cpu_time_moves_forward() {
        let Some(a) = process_cpu_time() else {
            if cfg!(unix) {
                panic!("getrusage failed");
            }
            return;
        };
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let d = process_cpu_time().unwrap() - a;
        assert!(d.user + d.sys > Duration::ZERO);
    }
}
