//! The vfio-pci backing: an IOMMU group in a type-1 v2 container, BAR0
//! mapped from the device file, DMA memory mapped into the IOMMU at IOVAs
//! from a small allocator.
//!
//! Setup, in the kernel's order (Documentation/driver-api/vfio.rst):
//! 1. open the container `/dev/vfio/vfio`, check the API version and the
//!    type-1 v2 IOMMU extension;
//! 2. open the group `/dev/vfio/<group>` and check that it is viable (every
//!    function of the group bound to vfio-pci or to nothing);
//! 3. add the group to the container and select the type-1 v2 IOMMU;
//! 4. get the device's file from the group by its PCI address, find BAR0
//!    and configuration space with `VFIO_DEVICE_GET_REGION_INFO`, map
//!    BAR0 and set Memory Space and Bus Master in the command register.
//!
//! DMA memory is anonymous memory (2 MiB hugepages for regions of 1 MiB
//! and more when the system has them free, 4 KiB pages otherwise), mapped
//! with `VFIO_IOMMU_MAP_DMA` at an IOVA chosen by [`IovaAlloc`]; the
//! kernel pins it for as long as the mapping exists. A group can be open
//! only once at a time, so one process holds one backing per group.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::mmio::{self, HUGEPAGE_SIZE, Mapping, PAGE_SIZE, VfioArg};
use super::pci::{self, Driver, Missing, PciSys};
use super::{DmaMem, RegionOwner, RegionTable, bad_dma_len, hugepage, make_region, round_up};
use crate::backing::{DeviceBacking, DmaRegion};
use nvmx_core::error::{Error, Result};
use nvmx_core::uri::PciAddr;

const ID: &str = "vfio";

/// First IOVA handed out: 4 GiB, above the interrupt window (0xfee00000)
/// and the low reserved ranges of x86 IOMMUs.
pub const IOVA_BASE: u64 = 1 << 32;
/// End of the IOVA space used: 2^39, what every Intel IOMMU (3-level
/// tables, QEMU's default) translates.
pub const IOVA_LIMIT: u64 = 1 << 39;

/// Hands out IOVA ranges: a bump pointer, and a free list of returned
/// ranges (first fit, neighbours merged) that is searched first.
#[derive(Debug)]
pub struct IovaAlloc {
    next: u64,
    limit: u64,
    /// Free ranges (start, length), sorted by start, never adjacent.
    free: Vec<(u64, u64)>,
}

impl IovaAlloc {
    /// An allocator over `base..limit`.
    pub fn new(base: u64, limit: u64) -> IovaAlloc {
        IovaAlloc {
            next: base,
            limit,
            free: Vec::new(),
        }
    }

    /// A range of `len` bytes whose start is a multiple of `align` (a
    /// power of two); `None` when the space is used up.
    pub fn alloc(&mut self, len: u64, align: u64) -> Option<u64> {
        if len == 0 || !align.is_power_of_two() {
            return None;
        }
        let up = |a: u64| a.checked_add(align - 1).map(|x| x & !(align - 1));
        for i in 0..self.free.len() {
            let (s, l) = self.free[i];
            let Some(start) = up(s) else { continue };
            let end = s + l;
            if start.checked_add(len).is_some_and(|e| e <= end) {
                self.free.remove(i);
                if start > s {
                    self.free.insert(i, (s, start - s));
                }
                if start + len < end {
                    self.release(start + len, end - (start + len));
                }
                return Some(start);
            }
        }
        let start = up(self.next)?;
        let end = start.checked_add(len)?;
        if end > self.limit {
            return None;
        }
        if start > self.next {
            let gap = (self.next, start - self.next);
            self.release(gap.0, gap.1);
        }
        self.next = end;
        Some(start)
    }

    /// Returns a range handed out by [`IovaAlloc::alloc`].
    pub fn release(&mut self, start: u64, len: u64) {
        if len == 0 {
            return;
        }
        let i = self.free.partition_point(|&(s, _)| s < start);
        self.free.insert(i, (start, len));
        // Merge with the next, then with the previous range.
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
        // A free range ending at the bump pointer goes back to it.
        if let Some(&(s, l)) = self.free.last()
            && s + l == self.next
        {
            self.next = s;
            self.free.pop();
        }
    }

    /// The free list, for tests.
    pub fn free_ranges(&self) -> &[(u64, u64)] {
        &self.free
    }
}

struct Shared {
    container: File,
    // Held so the group stays attached to the container.
    _group: File,
    iova: Mutex<IovaAlloc>,
    table: RegionTable,
}

/// One NVMe PCI function bound to vfio-pci.
pub struct VfioBacking {
    name: String,
    bar0: Mapping,
    // The device file backs the BAR mapping.
    _device: File,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for VfioBacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioBacking")
            .field("name", &self.name)
            .field("bar0_len", &self.bar0.len())
            .finish()
    }
}

fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                Missing::NotPermitted(format!("opening {}", path.display())).error(ID)
            }
            std::io::ErrorKind::NotFound => Missing::NoGroupNode(path.to_path_buf()).error(ID),
            _ => Error::io("open", path.display().to_string(), e),
        })
}

fn ioerr<'a>(what: &'static str, path: &'a str) -> impl Fn(std::io::Error) -> Error + 'a {
    move |e| Error::io(what, path.to_string(), e)
}

impl VfioBacking {
    /// Opens `addr`, which must be an NVMe controller bound to vfio-pci in
    /// a viable IOMMU group, with the device nodes under `/dev/vfio`.
    pub fn open(pci: &PciSys, addr: PciAddr) -> Result<VfioBacking> {
        Self::open_with(pci, Path::new("/dev/vfio"), addr)
    }

    /// [`VfioBacking::open`] with the vfio device directory given.
    pub fn open_with(pci: &PciSys, dev_vfio: &Path, addr: PciAddr) -> Result<VfioBacking> {
        let f = pci.function(addr)?;
        if !f.is_nvme() {
            return Err(Missing::NotNvme(addr, f.class).error(ID));
        }
        if !pci.iommu_on() {
            return Err(Missing::IommuOff.error(ID));
        }
        if f.driver.as_deref() != Some(Driver::VfioPci.name()) {
            if f.driver.is_none()
                && !pci.driver_registered(Driver::VfioPci)
                && !pci.module_loaded(Driver::VfioPci.module())
            {
                return Err(Missing::ModuleNotLoaded("vfio_pci").error(ID));
            }
            return Err(Missing::WrongDriver {
                addr,
                bound: f.driver,
                want: Driver::VfioPci,
            }
            .error(ID));
        }
        let group_no = f.iommu_group.ok_or_else(|| Missing::IommuOff.error(ID))?;

        let cpath = dev_vfio.join("vfio");
        let cname = cpath.display().to_string();
        let container = open_rw(&cpath)?;
        let ver = mmio::ioctl_int(&container, mmio::VFIO_GET_API_VERSION, 0)
            .map_err(ioerr("VFIO_GET_API_VERSION", &cname))?;
        if ver != mmio::VFIO_API_VERSION {
            return Err(Error::unsupported(
                ID,
                format!(
                    "vfio API version {ver} (nvmx knows {})",
                    mmio::VFIO_API_VERSION
                ),
            ));
        }
        let has = mmio::ioctl_int(
            &container,
            mmio::VFIO_CHECK_EXTENSION,
            mmio::VFIO_TYPE1V2_IOMMU as libc::c_ulong,
        )
        .map_err(ioerr("VFIO_CHECK_EXTENSION", &cname))?;
        if has == 0 {
            return Err(Error::unsupported(
                ID,
                "the type-1 v2 IOMMU model (VFIO_TYPE1v2_IOMMU): modprobe vfio_iommu_type1",
            ));
        }

        let gpath: PathBuf = dev_vfio.join(group_no.to_string());
        let gname = gpath.display().to_string();
        let group = open_rw(&gpath)?;
        let mut status = mmio::VfioGroupStatus::new();
        mmio::ioctl_arg(&group, mmio::VFIO_GROUP_GET_STATUS, &mut status)
            .map_err(ioerr("VFIO_GROUP_GET_STATUS", &gname))?;
        if status.flags & mmio::VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(Missing::GroupNotViable(group_no).error(ID));
        }
        mmio::vfio_group_set_container(&group, &container)
            .map_err(ioerr("VFIO_GROUP_SET_CONTAINER", &gname))?;
        mmio::ioctl_int(
            &container,
            mmio::VFIO_SET_IOMMU,
            mmio::VFIO_TYPE1V2_IOMMU as libc::c_ulong,
        )
        .map_err(ioerr("VFIO_SET_IOMMU", &cname))?;

        let name = addr.to_string();
        let cstr =
            CString::new(name.clone()).map_err(|_| Error::invalid("PCI address", name.clone()))?;
        let device = mmio::vfio_group_get_device_fd(&group, &cstr)
            .map_err(ioerr("VFIO_GROUP_GET_DEVICE_FD", &gname))?;
        let mut info = mmio::VfioDeviceInfo::new();
        mmio::ioctl_arg(&device, mmio::VFIO_DEVICE_GET_INFO, &mut info)
            .map_err(ioerr("VFIO_DEVICE_GET_INFO", &name))?;
        if info.num_regions <= mmio::VFIO_PCI_CONFIG_REGION_INDEX {
            return Err(Error::unsupported(
                ID,
                format!(
                    "{name}: only {} vfio regions (not a PCI device?)",
                    info.num_regions
                ),
            ));
        }
        let region = |index: u32| -> Result<mmio::VfioRegionInfo> {
            let mut r = mmio::VfioRegionInfo::new();
            r.index = index;
            mmio::ioctl_arg(&device, mmio::VFIO_DEVICE_GET_REGION_INFO, &mut r)
                .map_err(ioerr("VFIO_DEVICE_GET_REGION_INFO", &name))?;
            Ok(r)
        };
        let bar = region(mmio::VFIO_PCI_BAR0_REGION_INDEX)?;
        if bar.flags & mmio::VFIO_REGION_INFO_FLAG_MMAP == 0 || bar.size == 0 {
            return Err(Error::unsupported(
                ID,
                format!("{name}: BAR0 cannot be mmapped through vfio"),
            ));
        }
        let bar_len = usize::try_from(bar.size).map_err(|_| {
            Error::bad_reply(
                "VFIO_DEVICE_GET_REGION_INFO",
                format!("BAR0 size {:#x} does not fit this address space", bar.size),
            )
        })?;
        let bar0 = Mapping::map_file(&device, bar.offset, bar_len)
            .map_err(ioerr("mmap BAR0 of", &name))?;
        let cfg = region(mmio::VFIO_PCI_CONFIG_REGION_INDEX)?;
        pci::set_command_bits(
            &device,
            cfg.offset,
            pci::PCI_COMMAND_MEMORY | pci::PCI_COMMAND_MASTER,
        )
        .map_err(ioerr("write the command register of", &name))?;

        Ok(VfioBacking {
            name,
            bar0,
            _device: device,
            shared: Arc::new(Shared {
                container,
                _group: group,
                iova: Mutex::new(IovaAlloc::new(IOVA_BASE, IOVA_LIMIT)),
                table: RegionTable::default(),
            }),
        })
    }

    /// Allocates DMA memory with safe access to its bytes.
    pub fn dma_mem(&self, len: usize) -> Result<DmaMem> {
        self.alloc(len).map(DmaMem::new)
    }

    fn alloc(&self, len: usize) -> Result<(DmaRegion, Arc<RegionOwner>)> {
        let mut mem = None;
        if len >= HUGEPAGE_SIZE / 2 && hugepage::pool().free > 0 {
            let hlen =
                round_up(len, HUGEPAGE_SIZE).ok_or_else(|| bad_dma_len(len, HUGEPAGE_SIZE))?;
            mem = Mapping::map_anon(hlen, true).ok();
        }
        let mem = match mem {
            Some(m) => m,
            None => {
                let plen = round_up(len, PAGE_SIZE).ok_or_else(|| bad_dma_len(len, PAGE_SIZE))?;
                Mapping::map_anon(plen, false)
                    .map_err(|e| Error::io("mmap", format!("{plen} bytes of DMA memory"), e))?
            }
        };
        let align = if mem.is_huge() {
            HUGEPAGE_SIZE
        } else {
            PAGE_SIZE
        } as u64;
        let size = mem.len() as u64;
        let iova = self
            .shared
            .iova
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alloc(size, align)
            .ok_or_else(|| {
                Error::unsupported(
                    ID,
                    format!("{size} more bytes of IOVA space: it is used up"),
                )
            })?;
        if let Err(e) = mmio::vfio_map_dma(&self.shared.container, &mem, iova) {
            self.shared
                .iova
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .release(iova, size);
            return Err(Error::io(
                "VFIO_IOMMU_MAP_DMA",
                format!("{size} bytes at iova {iova:#x} (ulimit -l too low?)"),
                e,
            ));
        }
        let vaddr = mem.addr();
        self.shared.table.insert(vaddr, mem.len(), iova);
        let shared = self.shared.clone();
        let release = Box::new(move || {
            shared.table.remove(vaddr);
            // The unmap fails only if the mapping is gone already; the
            // IOVA range is then free either way.
            let _ = mmio::vfio_unmap_dma(&shared.container, iova, size);
            shared
                .iova
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .release(iova, size);
        });
        Ok(make_region(mem, iova, self.shared.clone(), release))
    }
}

// SAFETY: regions come from `make_region` over fresh anonymous mappings
// (rules 1-2), their controller addresses are IOVAs the IOMMU maps to the region's memory (VFIO_IOMMU_MAP_DMA) until the release unmaps them (rule 3), `translate`
// answers from the table of live regions only (rule 4), and registers
// are bounds-checked volatile accesses to BAR0 (rule 5).
unsafe impl DeviceBacking for VfioBacking {
    fn name(&self) -> &str {
        &self.name
    }

    /// Reads a register; an offset outside BAR0 or unaligned reads as all
    /// ones, like a PCI read nobody answers.
    fn read32(&self, off: usize) -> u32 {
        self.bar0.read32(off).map(u32::from_le).unwrap_or(u32::MAX)
    }

    /// Writes a register; an offset outside BAR0 or unaligned is ignored.
    fn write32(&self, off: usize, value: u32) {
        self.bar0.write32(off, value.to_le());
    }

    fn alloc_dma(&self, len: usize) -> Result<DmaRegion> {
        self.alloc(len).map(|(r, _)| r)
    }

    fn translate(&self, vaddr: usize, len: usize) -> Option<u64> {
        self.shared.table.translate(vaddr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iova_alloc_bumps_aligns_and_reuses() {
        let mut a = IovaAlloc::new(0x1000, 0x100_0000);
        assert_eq!(a.alloc(0x1000, 0x1000), Some(0x1000));
        // Aligned to 64 KiB: the gap 0x2000..0x10000 goes to the free list.
        assert_eq!(a.alloc(0x2000, 0x1_0000), Some(0x1_0000));
        assert_eq!(a.free_ranges(), &[(0x2000, 0xe000)]);
        // A small one fits the gap first.
        assert_eq!(a.alloc(0x1000, 0x1000), Some(0x2000));
        assert_eq!(a.free_ranges(), &[(0x3000, 0xd000)]);
        a.release(0x1000, 0x1000);
        a.release(0x2000, 0x1000);
        assert_eq!(a.free_ranges(), &[(0x1000, 0xf000)], "merged");
        // Freeing the last range returns everything to the bump pointer.
        a.release(0x1_0000, 0x2000);
        assert_eq!(a.free_ranges(), &[] as &[(u64, u64)]);
        assert_eq!(a.alloc(0x1000, 0x1000), Some(0x1000));
    }

    #[test]
    fn iova_alloc_refuses_past_the_limit_and_bad_input() {
        let mut a = IovaAlloc::new(0, 0x4000);
        assert_eq!(a.alloc(0x4000, 0x1000), Some(0));
        assert_eq!(a.alloc(0x1000, 0x1000), None, "used up");
        assert_eq!(a.alloc(0, 0x1000), None);
        assert_eq!(a.alloc(0x1000, 3), None, "alignment not a power of two");
        assert_eq!(a.alloc(u64::MAX, 0x1000), None);
        a.release(0, 0x4000);
        assert_eq!(a.alloc(0x2000, 0x2000), Some(0));
    }

    #[test]
    fn opening_without_a_device_names_it() {
        let pci = PciSys::at(std::env::temp_dir().join("nvmx-no-such-sysfs"));
        let a = PciAddr::parse("0000:42:00.0").unwrap();
        let e = VfioBacking::open(&pci, a).unwrap_err();
        assert!(
            e.to_string().contains("no PCI function 0000:42:00.0"),
            "{e}"
        );
    }
}
