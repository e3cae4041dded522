//! Per-platform pieces: the ordered list of backend configurations and the
//! classification of paths. One file per platform, chosen at compile time.

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
