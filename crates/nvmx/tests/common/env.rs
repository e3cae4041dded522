//! Tests bound to an environment the plain host may lack.
//!
//! Such a test is marked `#[ignore = "needs <environment>: run by
//! <suite>"]`, so a plain `cargo test` lists it as ignored, with the
//! reason, instead of passing it without running it. The suite that
//! provides the environment runs it (`--ignored` or `--include-ignored`)
//! and sets `NVMX_REQUIRE_ENV` to the environments it provides,
//! comma-separated (or `all`); there a test whose environment is still
//! missing fails instead of returning early. Run without that variable
//! (`cargo test -- --ignored` by hand), it says on stderr that it did not
//! run and returns.
//!
//! Tests that run everywhere and cover one more target where an
//! environment is present (the conformance suite on loop devices as root,
//! on the guest's namespaces) use the same calls for that part.
//!
//! Shared by the nvmx and nvmx-cli tests; it depends on nothing but std.

use std::fmt::Display;

/// Root on a Linux host with loop devices (`losetup`): run by
/// testrig/host-env-tests.sh and, in the guest, by testrig/vm/guest-suite.sh.
pub const ROOT: &str = "root";
/// The QEMU guest's emulated NVMe controllers, named by the `NVMX_DEV_*`
/// variables: run by testrig/vm/guest-suite.sh.
pub const GUEST: &str = "guest";
/// Controllers bound to the user-space driver in the QEMU guest
/// (`NVMX_UPCIE_*`): run by testrig/vm/guest-suite-upcie.sh.
pub const UPCIE: &str = "upcie";
/// The guest boot without IOMMU, uio_pci_generic loaded, hugepages.
pub const UIO: &str = "uio";
/// The guest boot with an emulated IOMMU and vfio-pci.
pub const VFIO: &str = "vfio";
/// A Windows drive 0 that opens without StorNVMe (Wine has one): run by
/// testrig/wine/windows-suite.sh.
pub const WINE: &str = "wine";
/// A user other than root, for file-permission checks (root ignores file
/// modes): testrig/host-env-tests.sh runs these as `nobody`.
pub const NONROOT: &str = "nonroot";
/// A device named for a measurement (`NVMX_BENCH_URI`).
pub const BENCH: &str = "bench";

/// Whether the running suite promises `env` (`NVMX_REQUIRE_ENV` lists it,
/// or says `all`).
pub fn required(env: &str) -> bool {
    std::env::var("NVMX_REQUIRE_ENV")
        .is_ok_and(|v| v.split(',').map(str::trim).any(|e| e == env || e == "all"))
}

/// `env` is absent for the reason `why`: panics where the suite promised
/// it, else says on stderr that the test (or this part of it) did not run.
pub fn missing(env: &str, why: impl Display) {
    if required(env) {
        panic!("needs {env}, which NVMX_REQUIRE_ENV promises here, but {why}");
    }
    eprintln!("not run: needs {env}: {why}");
}

/// What `found` holds when the environment `env` is there; when it is not
/// (`Err(why)`), see [`missing`], then `None`: the caller returns.
pub fn require_env<T, E: Display>(env: &str, found: Result<T, E>) -> Option<T> {
    match found {
        Ok(v) => Some(v),
        Err(why) => {
            missing(env, why);
            None
        }
    }
}

/// The value of the variable `var`, which the environment `env` sets
/// (non-empty); see [`require_env`] when it is unset.
pub fn env_var(env: &str, var: &str) -> Option<String> {
    require_env(
        env,
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{var} is not set")),
    )
}

/// Whether the process runs as root (Unix; never elsewhere).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}
