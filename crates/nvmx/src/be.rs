//! The backend model: interfaces, configurations and their implementations.
//!
//! A backend configuration ([`config::BackendConfig`]) is a complete recipe
//! for reaching a device: which **dev** interface opens it, which **sync**
//! interface runs commands one at a time, which **admin** interface runs
//! admin commands, which **async** interface runs queues, and which **mem**
//! interface allocates buffers.
//!
//! This module gathers them under one path: the interface traits
//! ([`SyncIo`], [`Admin`], [`AsyncEngine`], from `nvmx-core`), the
//! portable and per-platform implementations (from `nvmx-os`), the
//! in-memory controller ([`ramdisk`], `nvmx-ramdisk`) and the user-space
//! PCIe driver ([`upcie`], `nvmx-upcie`).

pub use nvmx_core::be::*;
#[cfg(target_os = "linux")]
pub use nvmx_os::linux;
#[cfg(unix)]
pub use nvmx_os::posix_aio;
pub use nvmx_os::{cbi, file, freebsd, windows};
pub use nvmx_ramdisk as ramdisk;
pub use nvmx_upcie as upcie;

/// Backend configurations and how one is selected for a URI (the rules
/// and [`select_from`](config::select_from) are `nvmx-core`'s; this platform's list and
/// [`select`](config::select) over it are the facade's [`crate::platform`]).
pub mod config {
    pub use crate::platform::{configs, select};
    pub use nvmx_core::be::config::*;
}
