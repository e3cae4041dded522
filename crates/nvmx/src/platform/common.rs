//! The configurations every platform has: the ramdisk ones and files as
//! namespaces. Each platform's list refers to these statics in its order.

use crate::caps::Caps;
use nvmx_os::{cbi, file};
use nvmx_ramdisk as ramdisk;

config!(
    RAMDISK,
    "ramdisk",
    "In-memory NVMe controller; async completes at once without I/O (nil)",
    Caps::RAMDISK,
    "nil",
    "ramdisk",
    "ramdisk",
    "ramdisk",
    ramdisk::open,
    cbi::nil::new_engine
);
config!(
    RAMDISK_THRPOOL,
    "ramdisk_thrpool",
    "In-memory NVMe controller; async by a thread pool",
    Caps::RAMDISK,
    "thrpool",
    "ramdisk",
    "ramdisk",
    "ramdisk",
    ramdisk::open,
    cbi::thrpool::new_engine
);
config!(
    RAMDISK_EMU,
    "ramdisk_emu",
    "In-memory NVMe controller; emulated async (runs commands when poked)",
    Caps::RAMDISK,
    "emu",
    "ramdisk",
    "ramdisk",
    "ramdisk",
    ramdisk::open,
    cbi::emu::new_engine
);
config!(
    EMU_FILE,
    "emu_file",
    "File as a namespace: positional I/O, emulated async",
    Caps::FILE,
    "emu",
    file::SYNC_ID,
    file::ADMIN_ID,
    super::DEV_ID,
    file::open,
    cbi::emu::new_engine,
    file::MEM_ID
);
config!(
    THRPOOL_FILE,
    "thrpool_file",
    "File as a namespace: positional I/O from a thread pool",
    Caps::FILE,
    "thrpool",
    file::SYNC_ID,
    file::ADMIN_ID,
    super::DEV_ID,
    file::open,
    cbi::thrpool::new_engine,
    file::MEM_ID
);
config!(
    NIL_FILE,
    "nil_file",
    "File as a namespace; async completes at once without I/O (nil), to measure overhead",
    Caps::FILE,
    "nil",
    file::SYNC_ID,
    file::ADMIN_ID,
    super::DEV_ID,
    file::open,
    cbi::nil::new_engine,
    file::MEM_ID
);
