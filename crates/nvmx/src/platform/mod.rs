//! Per-platform pieces: the ordered list of backend configurations and the
//! classification of paths. One file per platform, chosen at compile time.

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

#[cfg(unix)]
mod unix;

pub mod common;
