//! This platform: the backend configurations in priority order.

use super::common;
use nvmx_core::be::config::BackendConfig;

pub use nvmx_core::uri::classify::classify_path;
pub use nvmx_os::{DEV_ID, in_use};

/// This platform configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &common::EMU_FILE,
    &common::THRPOOL_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];
