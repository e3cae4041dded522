//! FreeBSD: the backend configurations in priority order.

use super::common;
use crate::be::config::BackendConfig;

pub use super::unix::classify_path;

/// The dev interface id of this platform.
pub const DEV_ID: &str = "freebsd";

/// FreeBSD configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &common::EMU_FILE,
    &common::THRPOOL_FILE,
    &crate::be::posix_aio::POSIX_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];
