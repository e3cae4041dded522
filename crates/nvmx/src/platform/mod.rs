//! Per-platform pieces: the ordered list of backend configurations, the
//! selection over it ([`select`]), the classification of paths, the
//! in-use check and device enumeration ([`enumerate()`]). One file per
//! platform, chosen at compile time; the interfaces the lists name live in
//! `nvmx-os`, `nvmx-ramdisk` and `nvmx-upcie`.

use crate::be::Backend;
use crate::be::config::{BackendConfig, select_from};
use crate::error::Result;
use crate::opts::Options;
use crate::uri::Uri;

pub use nvmx_os::enumerate::enumerate;

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
        pub static $id: $crate::be::config::BackendConfig = $crate::be::config::BackendConfig {
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

/// The configurations of this platform, in priority order.
pub fn configs() -> &'static [&'static BackendConfig] {
    CONFIGS
}

/// Picks and opens the first configuration of this platform that fits
/// (see [`crate::be::config`] for the rules).
pub fn select(uri: &Uri, opts: &Options) -> Result<(&'static BackendConfig, Backend)> {
    select_from(configs(), uri, opts)
}
