//! # nvmx-os
//!
//! The interfaces nvmx reaches a device through the operating system:
//! Linux ([`linux`]: NVMe ioctls, the block layer, io_uring, io_uring_cmd,
//! libaio, sysfs enumeration), FreeBSD ([`freebsd`]: NVMe passthrough,
//! kqueue), Windows ([`windows`]: StorNVMe, IOCP, IoRing), files as
//! namespaces ([`mod@file`]), POSIX aio ([`posix_aio`], on Unix), the
//! portable engines that need no OS queue ([`cbi`]: `emu`, `thrpool`,
//! `nil`), device enumeration ([`enumerate()`]) and this platform's dev
//! interface id and in-use check ([`DEV_ID`], [`in_use`]). Platform
//! modules compile on every host where their decoding can be tested; the
//! system calls sit behind `cfg`.
//!
//! It depends on `nvmx-core` (and `nvmx-spec`) only. It must not depend
//! on the ramdisk (except in tests), the user-space driver or the `nvmx`
//! facade, and it holds no list of configurations: which configuration
//! serves a URI is the facade's `platform` module's business.
#![deny(missing_docs)]

pub mod cbi;
pub mod enumerate;
pub mod file;
pub mod freebsd;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(unix)]
pub mod posix_aio;
pub mod windows;

pub use enumerate::{EnumEntry, EnumKind};

/// Lists the NVMe controllers, namespaces and unbound NVMe PCI functions
/// of this system (on Windows: the physical drives, with their bus type).
/// Platforms without a scanner yet return an empty list.
pub fn enumerate() -> nvmx_core::Result<Vec<EnumEntry>> {
    #[cfg(target_os = "linux")]
    {
        linux::dev::enumerate()
    }
    #[cfg(target_os = "freebsd")]
    {
        freebsd::dev::enumerate()
    }
    #[cfg(windows)]
    {
        windows::dev::enumerate()
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd", windows)))]
    {
        Ok(Vec::new())
    }
}

/// The dev interface id of this platform's configurations.
#[cfg(target_os = "linux")]
pub const DEV_ID: &str = "linux";
/// The dev interface id of this platform's configurations.
#[cfg(windows)]
pub const DEV_ID: &str = "windows";
/// The dev interface id of this platform's configurations.
#[cfg(target_os = "freebsd")]
pub const DEV_ID: &str = freebsd::DEV_ID;
/// The dev interface id of this platform's configurations.
#[cfg(not(any(target_os = "linux", windows, target_os = "freebsd")))]
pub const DEV_ID: &str = "posix";

/// Why the device at `path` is in use: on Linux a mounted file system,
/// swap, or a device-mapper/md/LVM holder on it or a partition of it;
/// `None` for files, ramdisks and unused devices. Tools check this before
/// writing. Not checked on other platforms yet: always `None` there.
pub fn in_use(path: &str) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        linux::dev::inuse::in_use(path)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// The library version, reported as the firmware revision of a file
/// opened as a namespace.
const VERSION: &str = env!("CARGO_PKG_VERSION");
