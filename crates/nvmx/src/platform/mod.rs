//! Per-platform pieces: the ordered list of backend configurations, the
//! selection over it ([`select`]), the classification of paths, the
//! in-use check and device enumeration ([`enumerate()`]). One file per
//! platform, chosen at compile time; the interfaces the lists name live in
//! `nvmx-os`, `nvmx-ramdisk` and `nvmx-upcie`.

use crate::error::Result;
use crate::opts::Options;
use crate::uri::Uri;
use nvmx_core::be::Backend;
use nvmx_core::be::config::{BackendConfig, select_from};

/// Defines one `BackendConfig` static (mem interface `heap` unless one is
/// given last).
macro_rules! config {
    ($id:ident, $name:literal, $descr:literal, $caps:expr, $async:literal, $sync:expr, $admin:expr, $dev:expr, $open:path, $engine:path) => {
        config!(
            $id, $name, $descr, $caps, $async, $sync, $admin, $dev, $open, $engine, "heap"
        );
    };
    ($id:ident, $name:literal, $descr:literal, $caps:expr, $async:literal, $sync:expr, $admin:expr, $dev:expr, $open:path, $engine:path, $mem:expr) => {
        #[doc = concat!("The `", $name, "` configuration: ", $descr, ".")]
        pub static $id: ::nvmx_core::be::config::BackendConfig =
            ::nvmx_core::be::config::BackendConfig {
                name: $name,
                descr: $descr,
                caps: $caps,
                async_id: $async,
                sync_id: $sync,
                admin_id: $admin,
                dev_id: $dev,
                mem_id: $mem,
                open: $open,
                new_engine: $engine,
            };
    };
}

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(target_os = "freebsd")]
pub use freebsd::*;

#[cfg(not(any(target_os = "linux", windows, target_os = "freebsd")))]
mod other;
#[cfg(not(any(target_os = "linux", windows, target_os = "freebsd")))]
pub use other::*;

pub mod common;
#[cfg(unix)]
pub mod freebsd_configs;

/// Lists the NVMe controllers, namespaces and unbound NVMe PCI functions
/// of this system (on Windows: the physical drives, with their bus type),
/// with this platform's scanner in `nvmx-os`.
pub fn enumerate() -> Result<Vec<nvmx_os::EnumEntry>> {
    nvmx_os::enumerate()
}

/// The configurations of this platform, in priority order.
pub fn configs() -> &'static [&'static BackendConfig] {
    CONFIGS
}

/// Picks and opens the first configuration of this platform that fits
/// (see [`nvmx_core::be::config`] for the rules).
pub fn select(uri: &Uri, opts: &Options) -> Result<(&'static BackendConfig, Backend)> {
    select_from(configs(), uri, opts)
}
