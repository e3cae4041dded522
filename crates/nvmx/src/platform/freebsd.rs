//! FreeBSD: the backend configurations in priority order (first match wins).
//!
//! NVMe nodes (`/dev/nvmeX`, `/dev/nvmeXnsY`, `/dev/ndaX`; all character
//! devices on FreeBSD) open over the NVMe driver's passthrough ioctl for
//! sync and admin commands (`be::freebsd::nvme`). As on Linux, `emu` comes
//! first: it runs every opcode on every node, controller nodes included;
//! `kqueue` (POSIX aio completed through a kqueue) and `posix` read and
//! write the namespace node, so they serve namespace nodes only. xNVMe
//! lists `kqueue` first; `--be kqueue` picks it.

use super::common;
use crate::be::cbi;
use crate::be::config::BackendConfig;
use crate::be::freebsd::{kqueue, nvme};
use crate::be::{file, posix_aio};
use crate::caps::Caps;

pub use super::unix::classify_path;

/// The dev interface id of this platform.
pub const DEV_ID: &str = "freebsd";

config!(
    EMU,
    "emu",
    "NVMe driver passthrough (NVME_PASSTHROUGH_CMD) on /dev/nvmeX, /dev/nvmeXnsY and /dev/ndaX; emulated async (runs commands when poked)",
    Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    "emu",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    cbi::emu::new_engine
);
config!(
    KQUEUE,
    "kqueue",
    "POSIX aio queues on the namespace node, completed through a kqueue (EVFILT_AIO); NVMe driver passthrough for sync and admin",
    Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    "kqueue",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    kqueue::new_engine
);
config!(
    POSIX,
    "posix",
    "POSIX aio queues on the namespace node (aio_error polling); NVMe driver passthrough for sync and admin",
    Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    "posix",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    posix_aio::new_engine
);
config!(
    THRPOOL,
    "thrpool",
    "NVMe driver passthrough on /dev/nvmeX, /dev/nvmeXnsY and /dev/ndaX; async by a thread pool",
    Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    "thrpool",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    cbi::thrpool::new_engine
);
config!(
    NIL,
    "nil",
    "NVMe driver passthrough for sync and admin; async completes at once without I/O (nil), to measure overhead",
    Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    "nil",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    cbi::nil::new_engine
);
config!(
    KQUEUE_FILE,
    "kqueue_file",
    "File as a namespace: positional I/O, async by POSIX aio completed through a kqueue (EVFILT_AIO)",
    Caps::FILE,
    "kqueue",
    "psync",
    "file_as_ns",
    DEV_ID,
    file::open,
    kqueue::new_engine
);

/// FreeBSD configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &EMU,
    &KQUEUE,
    &POSIX,
    &THRPOOL,
    &NIL,
    &common::EMU_FILE,
    &KQUEUE_FILE,
    &common::THRPOOL_FILE,
    &posix_aio::POSIX_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];

/// Why the device at `path` is in use (a mounted file system, ...), so
/// that tools refuse to write to it. Not checked on this platform yet:
/// always `None`.
pub fn in_use(path: &str) -> Option<String> {
    let _ = path;
    None
}
