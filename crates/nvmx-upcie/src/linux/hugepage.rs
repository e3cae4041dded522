//! Whether the system has 2 MiB hugepages to give, from sysfs.
//!
//! Hugepages are reserved by the administrator (`/proc/sys/vm/nr_hugepages`,
//! or `hugepages=N` on the kernel command line). Without them the backings
//! fall back to 4 KiB pages: vfio loses nothing but TLB reach; uio can then
//! hand out only single-page DMA regions, since separate 4 KiB pages are
//! not physically contiguous.

use std::path::Path;

use nvmx_os::linux::dev::sysfs;

/// The 2 MiB hugepage pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HugepagePool {
    /// Pages reserved.
    pub total: u64,
    /// Pages not in use.
    pub free: u64,
}

/// The 2 MiB pool under the sysfs root `sys` (zero when absent).
pub fn pool_at(sys: &Path) -> HugepagePool {
    let dir = sys.join("kernel/mm/hugepages/hugepages-2048kB");
    HugepagePool {
        total: sysfs::read_u64(&dir.join("nr_hugepages")).unwrap_or(0),
        free: sysfs::read_u64(&dir.join("free_hugepages")).unwrap_or(0),
    }
}

/// The 2 MiB pool of this system.
pub fn pool() -> HugepagePool {
    pool_at(Path::new(sysfs::SYSFS))
}
