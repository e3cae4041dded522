//! FreeBSD's backend configurations, in priority order.
//!
//! Defined here rather than in `platform/freebsd.rs` so that the list
//! compiles on every Unix host and its selection is tested there: on a
//! host that is not FreeBSD the `nvme` open function refuses and the
//! `kqueue` engine cannot be created, but the file and ramdisk
//! configurations open, so which configuration a URI and options pick
//! runs as on FreeBSD.
//!
//! NVMe nodes (`/dev/nvmeX`, `/dev/nvmeXnsY`, `/dev/ndaX`; all character
//! devices on FreeBSD) open over the NVMe driver's passthrough ioctl for
//! sync and admin commands ([`crate::be::freebsd::nvme`]). As on Linux, `emu` comes
//! first: it runs every opcode on every node, controller nodes included;
//! `kqueue` (POSIX aio completed through a kqueue) and `posix` read and
//! write the namespace node, so they serve namespace nodes only. xNVMe
//! lists `kqueue` first; `--be kqueue` picks it.

use crate::caps::Caps;
use crate::platform::common;
use nvmx_core::be::config::BackendConfig;
use nvmx_os::freebsd::{DEV_ID, nvme};
use nvmx_os::posix_aio::kqueue;
use nvmx_os::{cbi, file, posix_aio};

/// The `emu` configuration: NVMe passthrough ioctls, emulated async.
pub static EMU: BackendConfig = BackendConfig {
    name: "emu",
    descr: "NVMe driver passthrough (NVME_PASSTHROUGH_CMD) on /dev/nvmeX, /dev/nvmeXnsY and /dev/ndaX; emulated async (runs commands when poked)",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "emu",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: nvme::open,
    new_engine: cbi::emu::new_engine,
};

/// The `kqueue` configuration: NVMe passthrough ioctls; POSIX aio
/// queues on the namespace node, completed through a kqueue.
pub static KQUEUE: BackendConfig = BackendConfig {
    name: "kqueue",
    descr: "POSIX aio queues on the namespace node, completed through a kqueue (EVFILT_AIO); NVMe driver passthrough for sync and admin",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "kqueue",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: nvme::open,
    new_engine: kqueue::new_engine,
};

/// The `posix` configuration: NVMe passthrough ioctls; POSIX aio queues
/// on the namespace node, polled with `aio_error`.
pub static POSIX: BackendConfig = BackendConfig {
    name: "posix",
    descr: "POSIX aio queues on the namespace node (aio_error polling); NVMe driver passthrough for sync and admin",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "posix",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: nvme::open,
    new_engine: posix_aio::new_engine,
};

/// The `thrpool` configuration: NVMe passthrough ioctls from a thread pool.
pub static THRPOOL: BackendConfig = BackendConfig {
    name: "thrpool",
    descr: "NVMe driver passthrough on /dev/nvmeX, /dev/nvmeXnsY and /dev/ndaX; async by a thread pool",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "thrpool",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: nvme::open,
    new_engine: cbi::thrpool::new_engine,
};

/// The `nil` configuration: NVMe passthrough ioctls for sync and admin;
/// async completes at once without I/O, to measure overhead.
pub static NIL: BackendConfig = BackendConfig {
    name: "nil",
    descr: "NVMe driver passthrough for sync and admin; async completes at once without I/O (nil), to measure overhead",
    caps: Caps::NVME_CDEV.or(Caps::NVME_BDEV),
    async_id: "nil",
    sync_id: "nvme",
    admin_id: "nvme",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: nvme::open,
    new_engine: cbi::nil::new_engine,
};

/// The `kqueue_file` configuration: a file as a namespace, POSIX aio
/// completed through a kqueue.
pub static KQUEUE_FILE: BackendConfig = BackendConfig {
    name: "kqueue_file",
    descr: "File as a namespace: positional I/O, async by POSIX aio completed through a kqueue (EVFILT_AIO)",
    caps: Caps::FILE,
    async_id: "kqueue",
    sync_id: "psync",
    admin_id: "file_as_ns",
    dev_id: DEV_ID,
    mem_id: "heap",
    open: file::open,
    new_engine: kqueue::new_engine,
};

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

#[cfg(test)]
mod tests;
