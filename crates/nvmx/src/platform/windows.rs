//! Windows: the backend configurations in priority order, and paths.
//!
//! The order is xNVMe's: a physical drive opens with emulated async over
//! StorNVMe (`emu`), files with overlapped I/O on a completion port
//! (`iocp_file`). Drives that are not NVMe (or not under StorNVMe) fail
//! the `nvme` open and fall through to the `*_bdev` configurations, whose
//! `block` admin interface synthesizes Identify. `ioring` steps aside where
//! the OS has no IoRing (before Windows 11).

use super::common;
use crate::caps::Caps;
use nvmx_core::be::config::BackendConfig;
use nvmx_os::windows::{disk, iocp, ioring};
use nvmx_os::{cbi, file};

pub use nvmx_os::{DEV_ID, in_use};

/// The mem interface id of this platform's devices and files.
pub const MEM_ID: &str = nvmx_os::windows::mem::ID;

config!(
    EMU,
    "emu",
    "Physical drive through the Windows NVMe driver (StorNVMe IOCTLs); emulated async",
    Caps::BDEV,
    "emu",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open,
    cbi::emu::new_engine,
    MEM_ID
);
config!(
    THRPOOL,
    "thrpool",
    "Physical drive through StorNVMe; async by a thread pool",
    Caps::BDEV,
    "thrpool",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open,
    cbi::thrpool::new_engine,
    MEM_ID
);
config!(
    IOCP,
    "iocp",
    "Physical drive through StorNVMe; overlapped reads and writes on an I/O completion port",
    Caps::BDEV,
    "iocp",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open,
    iocp::new_engine,
    MEM_ID
);
config!(
    IOCP_TH,
    "iocp_th",
    "Physical drive through StorNVMe; overlapped I/O reaped by a poller thread",
    Caps::BDEV,
    "iocp_th",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open,
    iocp::new_engine_th,
    MEM_ID
);
config!(
    IORING,
    "ioring",
    "Physical drive through StorNVMe; IoRing queues (Windows 11)",
    Caps::BDEV,
    "io_ring",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open_ioring,
    ioring::new_engine,
    MEM_ID
);
config!(
    NIL,
    "nil",
    "Physical drive through StorNVMe; async completes at once without I/O (nil)",
    Caps::BDEV,
    "nil",
    "nvme",
    "nvme",
    DEV_ID,
    disk::open,
    cbi::nil::new_engine,
    MEM_ID
);
config!(
    EMU_BDEV,
    "emu_bdev",
    "Any physical drive through the disk stack (Identify synthesized); emulated async",
    Caps::BDEV,
    "emu",
    "block",
    "block",
    DEV_ID,
    disk::open_block,
    cbi::emu::new_engine,
    MEM_ID
);
config!(
    IOCP_BDEV,
    "iocp_bdev",
    "Any physical drive through the disk stack; overlapped I/O on a completion port",
    Caps::BDEV,
    "iocp",
    "block",
    "block",
    DEV_ID,
    disk::open_block,
    iocp::new_engine,
    MEM_ID
);
config!(
    THRPOOL_BDEV,
    "thrpool_bdev",
    "Any physical drive through the disk stack; async by a thread pool",
    Caps::BDEV,
    "thrpool",
    "block",
    "block",
    DEV_ID,
    disk::open_block,
    cbi::thrpool::new_engine,
    MEM_ID
);
config!(
    IOCP_FILE,
    "iocp_file",
    "File as a namespace: overlapped reads and writes on an I/O completion port",
    Caps::FILE,
    "iocp",
    file::SYNC_ID,
    file::ADMIN_ID,
    DEV_ID,
    file::open,
    iocp::new_engine,
    MEM_ID
);
config!(
    IOCP_TH_FILE,
    "iocp_th_file",
    "File as a namespace: overlapped I/O reaped by a poller thread",
    Caps::FILE,
    "iocp_th",
    file::SYNC_ID,
    file::ADMIN_ID,
    DEV_ID,
    file::open,
    iocp::new_engine_th,
    MEM_ID
);

/// Windows configurations, in priority order (first match wins).
pub static CONFIGS: &[&BackendConfig] = &[
    &EMU,
    &THRPOOL,
    &IOCP,
    &IOCP_TH,
    &IORING,
    &NIL,
    &EMU_BDEV,
    &IOCP_BDEV,
    &THRPOOL_BDEV,
    &IOCP_FILE,
    &IOCP_TH_FILE,
    &common::THRPOOL_FILE,
    &common::EMU_FILE,
    &common::NIL_FILE,
    &common::RAMDISK_EMU,
    &common::RAMDISK,
    &common::RAMDISK_THRPOOL,
];

pub use nvmx_core::uri::classify::classify_path;
