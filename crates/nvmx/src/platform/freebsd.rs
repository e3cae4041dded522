//! FreeBSD: the backend configurations in priority order (first match
//! wins), defined in [`super::freebsd_configs`] so that their selection
//! is tested on every Unix host.

pub use super::freebsd_configs::CONFIGS;
pub use nvmx_core::uri::classify::classify_path;
pub use nvmx_os::{DEV_ID, in_use};
