//! The x86_64 time stamp counter on Linux.

/// Where the kernel says which clocksource it runs on.
const CURRENT: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/// Ok when the kernel itself keeps time with the TSC: it switches away
/// from it when the counter is unstable or out of sync between CPUs.
pub fn usable() -> Result<(), String> {
    let cs = std::fs::read_to_string(CURRENT).map_err(|e| {
        format!("cannot read {CURRENT} ({e}), so the TSC is not known to be reliable")
    })?;
    verdict(cs.trim())
}

/// The decision for the kernel's clocksource name `cs`.
pub fn verdict(cs: &str) -> Result<(), String> {
    if cs == "tsc" {
        Ok(())
    } else {
        Err(format!(
            "the kernel keeps time with {cs:?}, not \"tsc\", so the TSC is not known to be \
             constant-rate and synchronised across CPUs"
        ))
    }
}

/// The counter.
#[inline]
pub fn read() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads a counter;
    // Linux does not disable it for user space (PR_TSC_SIGSEGV is opt-in
    // per process and nvmx never sets it).
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_tsc_clocksource_is_trusted() {
        assert!(super::verdict("tsc").is_ok());
        let e = super::verdict("kvm-clock").unwrap_err();
        assert!(e.contains("\"kvm-clock\""), "{e}");
        assert!(super::verdict("hpet").is_err());
        assert!(super::verdict("").is_err());
    }
}
