//! Linux: the backend configurations in priority order (first match wins).
//!
//! The order is xNVMe's: NVMe devices open with emulated async over the
//! NVMe ioctls, other block devices with emulated async over the block
//! layer, files with emulated async over positional I/O. Unlike xNVMe,
//! the configurations whose async interface issues plain reads and writes
//! (`io_uring`, `libaio`, `posix`) serve NVMe *block* devices only: the
//! generic char device `/dev/ngXnY` has no read/write, so those
//! configurations could only fail on it; `io_uring_cmd` serves it.

use super::common;
use crate::caps::Caps;
use nvmx_core::be::config::BackendConfig;
use nvmx_os::linux::{aio, block, nvme, uring};
use nvmx_os::{cbi, posix_aio};

pub use nvmx_core::uri::classify::classify_path;
pub use nvmx_os::{DEV_ID, in_use};

config!(
    IO_URING_CMD,
    "io_uring_cmd",
    "NVMe passthrough queues (IORING_OP_URING_CMD) on the NVMe char device; NVMe ioctls for sync and admin",
    Caps::NVME_CDEV,
    "io_uring_cmd",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    uring::cmd::new_engine
);
config!(
    IO_URING,
    "io_uring",
    "io_uring read/write queues on the NVMe namespace block device; NVMe ioctls for sync and admin",
    Caps::NVME_BDEV,
    "io_uring",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    uring::rw::new_engine
);
config!(
    IO_URING_BDEV,
    "io_uring_bdev",
    "io_uring read/write queues on a block device; block layer for sync and admin",
    Caps::NVME_BDEV.or(Caps::BDEV),
    "io_uring",
    "block",
    "block",
    DEV_ID,
    block::open,
    uring::rw::new_engine
);
config!(
    LIBAIO,
    "libaio",
    "Linux AIO queues on the NVMe namespace block device; NVMe ioctls for sync and admin",
    Caps::NVME_BDEV,
    "libaio",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    aio::new_engine
);
config!(
    LIBAIO_BDEV,
    "libaio_bdev",
    "Linux AIO queues on a block device; block layer for sync and admin",
    Caps::NVME_BDEV.or(Caps::BDEV),
    "libaio",
    "block",
    "block",
    DEV_ID,
    block::open,
    aio::new_engine
);
config!(
    POSIX,
    "posix",
    "POSIX aio queues on the NVMe namespace block device; NVMe ioctls for sync and admin",
    Caps::NVME_BDEV,
    "posix",
    "nvme",
    "nvme",
    DEV_ID,
    nvme::open,
    posix_aio::new_engine
);
config!(
    POSIX_BDEV,
    "posix_bdev",
    "POSIX aio queues on a block device; block layer for sync and admin",
    Caps::NVME_BDEV.or(Caps::BDEV),
    "posix",
    "block",
    "block",
    DEV_ID,
    block::open,
    posix_aio::new_engine
);
config!(
    NIL_BDEV,
    "nil_bdev",
    "Block device; async completes at once without I/O (nil), to measure overhead",
    Caps::NVME_BDEV.or(Caps::BDEV),
    "nil",
    "block",
    "block",
    DEV_ID,
    block::open,
    cbi::nil::new_engine
);

/// Linux configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &nvme::EMU,
    &block::EMU_BDEV,
    &IO_URING_CMD,
    &IO_URING,
    &IO_URING_BDEV,
    &LIBAIO,
    &LIBAIO_BDEV,
    &POSIX,
    &POSIX_BDEV,
    &nvme::THRPOOL,
    &block::THRPOOL_BDEV,
    &nvme::NIL,
    &NIL_BDEV,
    &nvmx_upcie::linux::VFIO,
    &nvmx_upcie::linux::UIO,
    &common::EMU_FILE,
    &common::THRPOOL_FILE,
    &uring::IO_URING_FILE,
    &aio::LIBAIO_FILE,
    &posix_aio::POSIX_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];
