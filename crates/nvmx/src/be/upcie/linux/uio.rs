//! The uio_pci_generic backing: BAR0 from sysfs `resource0`, DMA memory
//! locked in RAM and addressed by its physical address.
//!
//! `uio_pci_generic` does no more than keep other drivers off the
//! function; everything else is done through sysfs and `/proc`:
//! 1. the command register in `config` gets Memory Space and Bus Master;
//! 2. `resource0` is mapped shared for the registers;
//! 3. DMA memory is anonymous memory, locked (`mlock`), whose physical
//!    addresses come from `/proc/self/pagemap`.
//!
//! The controller sees physical memory directly, so a region longer than
//! one page must be physically contiguous: a 2 MiB hugepage when the
//! system has one free; otherwise 4 KiB pages that happen to be adjacent,
//! else the allocation fails naming the missing hugepages.

use std::fs::{File, OpenOptions};
use std::sync::Arc;

use super::mmio::{HUGEPAGE_SIZE, Mapping, PAGE_SIZE};
use super::pci::{Driver, Missing, PciSys};
use super::{DmaMem, RegionOwner, RegionTable, hugepage, make_region, pagemap, round_up};
use crate::be::upcie::backing::{DeviceBacking, DmaRegion};
use crate::error::{Error, Result};
use crate::uri::PciAddr;

const ID: &str = "uio";

struct Shared {
    table: RegionTable,
    pagemap: File,
}

/// One NVMe PCI function bound to uio_pci_generic.
pub struct UioBacking {
    name: String,
    bar0: Mapping,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UioBacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UioBacking")
            .field("name", &self.name)
            .field("bar0_len", &self.bar0.len())
            .finish()
    }
}

impl UioBacking {
    /// Opens `addr`, which must be an NVMe controller bound to
    /// uio_pci_generic: enables bus mastering and maps BAR0.
    pub fn open(pci: &PciSys, addr: PciAddr) -> Result<UioBacking> {
        let f = pci.function(addr)?;
        if !f.is_nvme() {
            return Err(Missing::NotNvme(addr, f.class).error(ID));
        }
        if f.driver.as_deref() != Some(Driver::UioPciGeneric.name()) {
            if f.driver.is_none()
                && !pci.driver_registered(Driver::UioPciGeneric)
                && !pci.module_loaded(Driver::UioPciGeneric.module())
            {
                return Err(Missing::ModuleNotLoaded("uio_pci_generic").error(ID));
            }
            return Err(Missing::WrongDriver {
                addr,
                bound: f.driver,
                want: Driver::UioPciGeneric,
            }
            .error(ID));
        }
        // Physical addresses need CAP_SYS_ADMIN: find out now rather than
        // at the first allocation.
        let pagemap = pagemap::open()?;
        let probe = Mapping::map_anon(PAGE_SIZE, false)
            .map_err(|e| Error::io("mmap", "anonymous memory", e))?;
        pagemap::phys_addr(&pagemap, probe.addr())?;
        drop(probe);

        pci.enable_bus_master(addr)?;
        let path = pci.dir(addr).join("resource0");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    Missing::NotPermitted(format!("opening {}", path.display())).error(ID)
                } else {
                    Error::io("open", path.display().to_string(), e)
                }
            })?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path.display().to_string(), e))?
            .len() as usize;
        let bar0 = Mapping::map_file(&file, 0, len)
            .map_err(|e| Error::io("mmap", path.display().to_string(), e))?;
        Ok(UioBacking {
            name: addr.to_string(),
            bar0,
            shared: Arc::new(Shared {
                table: RegionTable::default(),
                pagemap,
            }),
        })
    }

    /// Allocates DMA memory with safe access to its bytes.
    pub fn dma_mem(&self, len: usize) -> Result<DmaMem> {
        self.alloc(len).map(DmaMem::new)
    }

    /// Physical address of every page of `mem`, in order.
    fn phys_pages(&self, mem: &Mapping) -> Result<Vec<u64>> {
        (0..mem.len())
            .step_by(PAGE_SIZE)
            .map(|off| pagemap::phys_addr(&self.shared.pagemap, mem.addr() + off))
            .collect()
    }

    fn alloc(&self, len: usize) -> Result<(DmaRegion, Arc<RegionOwner>)> {
        let len = round_up(len, PAGE_SIZE)
            .ok_or_else(|| Error::invalid("DMA length", format!("{len} bytes")))?;
        if len > HUGEPAGE_SIZE {
            return Err(Error::unsupported(
                ID,
                format!(
                    "a DMA region of {len} bytes: uio regions are physically contiguous, at most \
                     one 2 MiB hugepage"
                ),
            ));
        }
        let mut mem = None;
        if len > PAGE_SIZE && hugepage::pool().free > 0 {
            mem = Mapping::map_anon(HUGEPAGE_SIZE, true).ok();
        }
        let mem = match mem {
            Some(m) => m,
            None => Mapping::map_anon(len, false)
                .map_err(|e| Error::io("mmap", "anonymous memory", e))?,
        };
        mem.lock().map_err(|e| {
            Error::io(
                "mlock",
                format!("{} bytes of DMA memory (raise ulimit -l?)", mem.len()),
                e,
            )
        })?;
        let pages = self.phys_pages(&mem)?;
        let iova = pages[0];
        let contiguous = pages
            .iter()
            .enumerate()
            .all(|(i, &pa)| pa == iova + (i * PAGE_SIZE) as u64);
        if !contiguous {
            return Err(Missing::NoHugepages(len).error(ID));
        }
        let vaddr = mem.addr();
        self.shared.table.insert(vaddr, mem.len(), iova);
        let shared = self.shared.clone();
        let release = Box::new(move || shared.table.remove(vaddr));
        Ok(make_region(mem, iova, self.shared.clone(), release))
    }
}

// SAFETY: regions come from `make_region` over fresh anonymous mappings
// (rules 1-2), their controller addresses are physical addresses of locked hugepage-backed (or single-page) memory, read from pagemap (rule 3), `translate`
// answers from the table of live regions only (rule 4), and registers
// are bounds-checked volatile accesses to BAR0 (rule 5).
unsafe impl DeviceBacking for UioBacking {
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
