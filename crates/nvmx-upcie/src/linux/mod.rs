//! Linux backings of the user-space NVMe driver: vfio-pci and
//! uio_pci_generic.
//!
//! The driver core talks to a controller through
//! [`DeviceBacking`]: 32-bit access to
//! BAR0 and DMA memory with the controller's address of it. Linux offers
//! two ways for a process to get both:
//!
//! - **vfio-pci** ([`vfio::VfioBacking`]): the function is bound to
//!   `vfio-pci`; the process opens its IOMMU group (`/dev/vfio/<group>`),
//!   puts it in a type-1 v2 container, maps BAR0 from the device file, and
//!   maps its own memory into the IOMMU at addresses it chooses (IOVAs).
//!   The IOMMU confines the controller to that memory. Needs an IOMMU
//!   (`intel_iommu=on`; QEMU `-device intel-iommu`).
//! - **uio_pci_generic** ([`uio::UioBacking`]): the function is bound to
//!   `uio_pci_generic`, which only keeps other drivers off it; BAR0 is
//!   mapped from sysfs `resource0`, and the controller is given physical
//!   addresses, read from `/proc/self/pagemap`, of locked memory. No IOMMU
//!   needed; root is (`CAP_SYS_ADMIN` for pagemap, `CAP_SYS_RAWIO` for
//!   `resource0`), and the controller can reach all of memory.
//!
//! **Which one a PCI URI gets.** The driver the function is bound to
//! decides: `vfio-pci` means the `vfio` configuration, `uio_pci_generic`
//! means `uio`; each configuration refuses a function bound to anything
//! else, naming the driver it is bound to and the `nvmx driver bind`
//! command that fixes it, so with `vfio` ahead of `uio` in the list the
//! first that opens is the right one. A function bound to the kernel's
//! `nvme` driver is refused by both (its `/dev/nvmeX` nodes serve it);
//! nvmx never moves a device between drivers as a side effect of opening
//! it: `nvmx driver bind` does that, on purpose. [`preferred_driver`] says
//! which user-space driver `nvmx driver bind` picks when none is named.
//!
//! **Memory.** Under vfio, 2 MiB hugepages are used when the system has
//! free ones (see [`hugepage`]), otherwise 4 KiB pages: the IOMMU mapping
//! pins them, whatever the kernel does with the process's memory. Under
//! uio the controller gets physical addresses, and `mlock` does not keep
//! a 4 KiB page at its physical address (compaction and NUMA balancing
//! may migrate it, leaving the controller writing the old frame), so uio
//! takes all its DMA memory from 2 MiB hugepages, which the kernel does
//! not move, carving page-sized regions out of them; without free
//! hugepages it refuses, saying why.
//!
//! All `unsafe` code is in `mmio` (crate-private), and the promises of
//! the [`DeviceBacking`] contract in `uio` and `vfio`.

pub mod hugepage;
pub(crate) mod mmio;
pub(crate) mod pagemap;
pub mod pci;
pub mod uio;
pub mod vfio;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::backing::{DeviceBacking, DmaRegion};
use nvmx_core::error::{Error, Result};
use nvmx_core::opts::Options;
use nvmx_core::uri::{PciAddr, Target, Uri};

use mmio::Mapping;
use pci::{Driver, PciSys};

/// The PCI address a URI names, for the user-space configurations.
pub fn pci_addr(uri: &Uri, interface: &'static str) -> Result<PciAddr> {
    match &uri.target {
        Target::Pcie(a) => Ok(*a),
        _ => Err(Error::unsupported(
            interface,
            format!(
                "{:?}: not a PCI address (expected e.g. 0000:01:00.0)",
                uri.raw
            ),
        )),
    }
}

/// The user-space driver `nvmx driver bind` picks when none is named:
/// `vfio-pci` when an IOMMU is on and vfio-pci is available, else
/// `uio_pci_generic` when it is loaded; otherwise what is missing.
pub fn preferred_driver(pci: &PciSys) -> Result<Driver> {
    let have = |d: Driver| pci.driver_registered(d) || pci.module_loaded(d.module());
    if pci.iommu_on() && have(Driver::VfioPci) {
        Ok(Driver::VfioPci)
    } else if have(Driver::UioPciGeneric) {
        Ok(Driver::UioPciGeneric)
    } else if pci.iommu_on() {
        Err(pci::Missing::ModuleNotLoaded("vfio_pci").error("pci"))
    } else {
        Err(pci::Missing::ModuleNotLoaded("uio_pci_generic").error("pci"))
    }
}

/// Refuses architectures whose ordering of DMA memory against device
/// registers the driver's barriers do not cover (see the `dma` module).
fn check_arch(interface: &'static str) -> Result<()> {
    if cfg!(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64"
    )) {
        return Ok(());
    }
    Err(Error::unsupported(
        interface,
        format!(
            "the user-space driver on {}: its memory barriers against the device are written \
             for x86, x86-64 and AArch64 only",
            std::env::consts::ARCH
        ),
    ))
}

/// Opens `uri` (a PCI address bound to vfio-pci) as a vfio backing.
pub fn open_vfio(uri: &Uri, _opts: &Options) -> Result<Arc<dyn DeviceBacking>> {
    check_arch("vfio")?;
    let addr = pci_addr(uri, "vfio")?;
    Ok(Arc::new(vfio::VfioBacking::open(&PciSys::new(), addr)?))
}

/// Opens `uri` (a PCI address bound to uio_pci_generic) as a uio backing.
pub fn open_uio(uri: &Uri, _opts: &Options) -> Result<Arc<dyn DeviceBacking>> {
    check_arch("uio")?;
    let addr = pci_addr(uri, "uio")?;
    Ok(Arc::new(uio::UioBacking::open(&PciSys::new(), addr)?))
}

// The backend configurations: the driver core over each backing.
mod configs {
    use super::*;
    use nvmx_core::be::Backend;
    use nvmx_core::be::config::BackendConfig;
    use nvmx_core::caps::Caps;

    fn open_vfio_backend(uri: &Uri, opts: &Options) -> Result<Backend> {
        crate::open_backing(open_vfio(uri, opts)?, uri, opts)
    }

    fn open_uio_backend(uri: &Uri, opts: &Options) -> Result<Backend> {
        crate::open_backing(open_uio(uri, opts)?, uri, opts)
    }

    /// The `vfio` configuration: the user-space NVMe driver over vfio-pci.
    pub static VFIO: BackendConfig = BackendConfig {
        name: "vfio",
        descr: "User-space NVMe driver over vfio-pci (IOMMU-mapped DMA); polled queues",
        caps: Caps::NVME_PCIE,
        async_id: "upcie",
        sync_id: "upcie",
        admin_id: "upcie",
        dev_id: nvmx_os::DEV_ID,
        mem_id: "upcie",
        open: open_vfio_backend,
        new_engine: crate::new_engine,
    };

    /// The `uio` configuration: the user-space NVMe driver over
    /// uio_pci_generic.
    pub static UIO: BackendConfig = BackendConfig {
        name: "uio",
        descr: "User-space NVMe driver over uio_pci_generic (pinned memory, physical addresses); polled queues",
        caps: Caps::NVME_PCIE,
        async_id: "upcie",
        sync_id: "upcie",
        admin_id: "upcie",
        dev_id: nvmx_os::DEV_ID,
        mem_id: "upcie",
        open: open_uio_backend,
        new_engine: crate::new_engine,
    };
}
pub use configs::{UIO, VFIO};

/// The DMA regions a backing has handed out: process address -> (length,
/// controller address), for `translate`.
#[derive(Debug, Default)]
pub(crate) struct RegionTable {
    map: Mutex<BTreeMap<usize, (usize, u64)>>,
}

impl RegionTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, (usize, u64)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, vaddr: usize, len: usize, iova: u64) {
        self.lock().insert(vaddr, (len, iova));
    }

    pub(crate) fn remove(&self, vaddr: usize) {
        self.lock().remove(&vaddr);
    }

    /// The controller address of `vaddr..vaddr+len`, when it lies in one
    /// region.
    pub(crate) fn translate(&self, vaddr: usize, len: usize) -> Option<u64> {
        let map = self.lock();
        let (&start, &(rlen, iova)) = map.range(..=vaddr).next_back()?;
        let end = vaddr.checked_add(len)?;
        (end <= start + rlen).then(|| iova + (vaddr - start) as u64)
    }
}

/// What keeps a region's memory mapped: the mapping itself and the
/// backing state its release needs.
pub(crate) struct RegionOwner {
    mem: Mapping,
    _keep: Arc<dyn Send + Sync>,
}

/// Builds a [`DmaRegion`] over `mem`; `release` runs first when it drops
/// (IOMMU unmap, table removal), then the memory is unmapped.
pub(crate) fn make_region(
    mem: Mapping,
    iova: u64,
    keep: Arc<dyn Send + Sync>,
    release: Box<dyn FnOnce() + Send + Sync>,
) -> (DmaRegion, Arc<RegionOwner>) {
    let ptr = mem.as_non_null();
    let len = mem.len();
    let owner = Arc::new(RegionOwner { mem, _keep: keep });
    let keep: Arc<dyn Send + Sync> = owner.clone();
    // SAFETY: `mem` is an anonymous mapping of `len` bytes (zeroed, page
    // aligned, reached only through raw pointers), kept mapped by `owner`
    // for as long as the region holds it; the caller mapped it for the
    // controller at `iova` (IOMMU or physical, contiguous) and `release`
    // undoes that before the mapping goes.
    let region = unsafe { DmaRegion::new(ptr, len, iova, Some(release), Some(keep)) };
    (region, owner)
}

/// DMA memory from one of these backings, with safe access to its bytes:
/// for tests and tools that drive a controller without the driver core.
pub struct DmaMem {
    region: DmaRegion,
    owner: Arc<RegionOwner>,
    /// Where the region starts in the owner's mapping (uio carves regions
    /// out of hugepages).
    base: usize,
}

impl DmaMem {
    pub(crate) fn new(parts: (DmaRegion, Arc<RegionOwner>)) -> DmaMem {
        let base = parts.0.as_ptr().as_ptr() as usize - parts.1.mem.addr();
        DmaMem {
            region: parts.0,
            owner: parts.1,
            base,
        }
    }

    /// The controller's address of the first byte.
    pub fn iova(&self) -> u64 {
        self.region.iova()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether it is empty (never).
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// The process address of the first byte.
    pub fn addr(&self) -> usize {
        self.owner.mem.addr() + self.base
    }

    /// The region, as the driver core sees it.
    pub fn region(&self) -> &DmaRegion {
        &self.region
    }

    fn inside(&self, off: usize, n: usize) -> Result<usize> {
        match off.checked_add(n) {
            Some(end) if end <= self.len() => Ok(self.base + off),
            _ => Err(self.out_of_bounds(off, n)),
        }
    }

    /// Copies bytes out at `off`.
    pub fn read(&self, off: usize, buf: &mut [u8]) -> Result<()> {
        let at = self.inside(off, buf.len())?;
        if self.owner.mem.read_bytes(at, buf) {
            Ok(())
        } else {
            Err(self.out_of_bounds(off, buf.len()))
        }
    }

    /// Copies bytes in at `off`.
    pub fn write(&self, off: usize, data: &[u8]) -> Result<()> {
        let at = self.inside(off, data.len())?;
        if self.owner.mem.write_bytes(at, data) {
            Ok(())
        } else {
            Err(self.out_of_bounds(off, data.len()))
        }
    }

    /// Reads the 32-bit little-endian value at `off` (volatile, 4-aligned).
    pub fn read_u32(&self, off: usize) -> Result<u32> {
        let at = self.inside(off, 4)?;
        self.owner
            .mem
            .read32(at)
            .map(u32::from_le)
            .ok_or_else(|| self.out_of_bounds(off, 4))
    }

    fn out_of_bounds(&self, off: usize, n: usize) -> Error {
        Error::OutOfRange {
            what: "DMA memory access",
            why: format!("{n} bytes at offset {off} of a {}-byte region", self.len()),
        }
    }
}

impl std::fmt::Debug for DmaMem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.region.fmt(f)
    }
}

/// Rounds `len` up to a multiple of `unit` (a power of two); `None` on
/// overflow or for 0.
/// The error for a DMA length [`round_up`] refused: 0 bytes is a malformed
/// request, anything else rounds past the address space.
pub(crate) fn bad_dma_len(len: usize, unit: usize) -> Error {
    if len == 0 {
        Error::invalid("DMA length", "0 bytes")
    } else {
        Error::too_large(
            "DMA length",
            len as u64,
            (usize::MAX & !(unit - 1)) as u64,
            "bytes the address space holds",
        )
    }
}

pub(crate) fn round_up(len: usize, unit: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    len.checked_add(unit - 1).map(|l| l & !(unit - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_table_translates_inside_regions_only() {
        let t = RegionTable::default();
        t.insert(0x10000, 0x2000, 0x8000_0000);
        t.insert(0x20000, 0x1000, 0x9000_0000);
        assert_eq!(t.translate(0x10000, 0x1000), Some(0x8000_0000));
        assert_eq!(t.translate(0x11000, 0x1000), Some(0x8000_1000));
        assert_eq!(t.translate(0x11800, 0x800), Some(0x8000_1800));
        assert_eq!(t.translate(0x11800, 0x1000), None, "runs past the end");
        assert_eq!(t.translate(0xf000, 0x10), None, "before every region");
        assert_eq!(t.translate(0x20000, 0x1000), Some(0x9000_0000));
        assert_eq!(t.translate(usize::MAX, 2), None);
        t.remove(0x10000);
        assert_eq!(t.translate(0x10000, 0x1000), None);
    }

    #[test]
    fn rounds_to_pages() {
        assert_eq!(round_up(1, 4096), Some(4096));
        assert_eq!(round_up(4096, 4096), Some(4096));
        assert_eq!(round_up(4097, 4096), Some(8192));
        assert_eq!(round_up(0, 4096), None);
        assert_eq!(round_up(usize::MAX, 4096), None);
    }

    #[test]
    fn a_non_pci_uri_is_refused() {
        let u = Uri::parse("ramdisk:1MiB").or_else(|_| Uri::parse("1MiB"));
        if let Ok(u) = u {
            let e = pci_addr(&u, "vfio").unwrap_err();
            assert!(e.to_string().contains("not a PCI address"), "{e}");
        }
    }
}
