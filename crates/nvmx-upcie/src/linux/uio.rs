//! The uio_pci_generic backing: BAR0 from sysfs `resource0`, DMA memory
//! locked in RAM and addressed by its physical address.
//!
//! `uio_pci_generic` does no more than keep other drivers off the
//! function; everything else is done through sysfs and `/proc`:
//! 1. the command register in `config` gets Memory Space and Bus Master;
//! 2. `resource0` is mapped shared for the registers;
//! 3. DMA memory comes from 2 MiB hugepages, locked (`mlock`), whose
//!    physical addresses come from `/proc/self/pagemap`; regions are
//!    carved out of them a page at a time.
//!
//! The controller sees physical memory directly, so a region must stay at
//! its physical address as long as the controller may use it, and a
//! region longer than one page must be physically contiguous. `mlock`
//! keeps a 4 KiB page resident but not in place: compaction and NUMA
//! balancing may migrate it. They leave hugetlb pages alone, so uio uses
//! nothing else, and refuses (naming the missing hugepages) when the
//! system has none free.

use std::fs::{File, OpenOptions};
use std::sync::{Arc, Mutex, MutexGuard};

use super::mmio::{HUGEPAGE_SIZE, Mapping, PAGE_SIZE};
use super::pci::{Driver, Missing, PciSys};
use super::{DmaMem, RegionOwner, RegionTable, bad_dma_len, hugepage, pagemap, round_up};
use crate::backing::{DeviceBacking, DmaRegion};
use nvmx_core::error::{Error, Result};
use nvmx_core::uri::PciAddr;

const ID: &str = "uio";

/// Pages per hugepage.
const PAGES: usize = HUGEPAGE_SIZE / PAGE_SIZE;

struct Shared {
    table: RegionTable,
    pagemap: File,
    chunks: Mutex<Vec<Chunk>>,
}

impl Shared {
    fn chunks(&self) -> MutexGuard<'_, Vec<Chunk>> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One locked 2 MiB hugepage and which of its 4 KiB pages are handed out.
struct Chunk {
    mem: Arc<RegionOwner>,
    phys: u64,
    used: Vec<bool>,
}

impl Chunk {
    /// The first run of `n` free pages.
    fn find(&self, n: usize) -> Option<usize> {
        let mut run = 0;
        for (i, &u) in self.used.iter().enumerate() {
            run = if u { 0 } else { run + 1 };
            if run == n {
                return Some(i + 1 - n);
            }
        }
        None
    }
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
                chunks: Mutex::new(Vec::new()),
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

    /// Maps, locks and checks one more hugepage.
    fn new_chunk(&self, len: usize) -> Result<Chunk> {
        if hugepage::pool().free == 0 {
            return Err(Missing::NoHugepages(len).error(ID));
        }
        let mem = Mapping::map_anon(HUGEPAGE_SIZE, true)
            .map_err(|_| Missing::NoHugepages(len).error(ID))?;
        mem.lock().map_err(|e| {
            Error::io(
                "mlock",
                format!("{} bytes of DMA memory (raise ulimit -l?)", mem.len()),
                e,
            )
        })?;
        let pages = self.phys_pages(&mem)?;
        let phys = pages[0];
        let contiguous = pages
            .iter()
            .enumerate()
            .all(|(i, &pa)| pa == phys + (i * PAGE_SIZE) as u64);
        if !contiguous {
            return Err(Error::BadReply {
                from: "/proc/self/pagemap",
                why: "a 2 MiB hugepage is not physically contiguous".into(),
            });
        }
        Ok(Chunk {
            mem: Arc::new(RegionOwner {
                mem,
                _keep: Arc::new(()),
            }),
            phys,
            used: vec![false; PAGES],
        })
    }

    fn alloc(&self, len: usize) -> Result<(DmaRegion, Arc<RegionOwner>)> {
        let len = round_up(len, PAGE_SIZE).ok_or_else(|| bad_dma_len(len, PAGE_SIZE))?;
        if len > HUGEPAGE_SIZE {
            return Err(Error::unsupported(
                ID,
                format!(
                    "a DMA region of {len} bytes: uio regions are physically contiguous, at most \
                     one 2 MiB hugepage"
                ),
            ));
        }
        let n = len / PAGE_SIZE;
        let mut chunks = self.shared.chunks();
        let found = chunks
            .iter()
            .enumerate()
            .find_map(|(ci, c)| c.find(n).map(|p| (ci, p)));
        let (ci, first) = match found {
            Some(f) => f,
            None => {
                chunks.push(self.new_chunk(len)?);
                (chunks.len() - 1, 0)
            }
        };
        let c = &mut chunks[ci];
        c.used[first..first + n].fill(true);
        let off = first * PAGE_SIZE;
        // Zeroed, as the contract wants, whoever had the pages before.
        c.mem.mem.zero(off, len);
        let owner = Arc::clone(&c.mem);
        let iova = c.phys + off as u64;
        drop(chunks);
        let vaddr = owner.mem.addr() + off;
        self.shared.table.insert(vaddr, len, iova);
        let shared = Arc::clone(&self.shared);
        let release = Box::new(move || {
            shared.table.remove(vaddr);
            if let Some(c) = shared.chunks().get_mut(ci) {
                c.used[first..first + n].fill(false);
            }
        });
        let ptr = std::ptr::NonNull::new(owner.mem.as_non_null().as_ptr().wrapping_add(off))
            .ok_or(Error::BadReply {
                from: "mmap",
                why: "a null mapping".into(),
            })?;
        let keep: Arc<dyn Send + Sync> = Arc::clone(&owner) as Arc<dyn Send + Sync>;
        // SAFETY: pages `first..first + n` of the locked hugepage `owner`
        // (kept mapped by the region) are zeroed, page aligned and handed
        // out to no one else until `release` marks them free; the hugepage
        // is physically contiguous (checked), so the controller reaches
        // byte `i` at `iova + i`.
        let region = unsafe { DmaRegion::new(ptr, len, iova, Some(release), Some(keep)) };
        Ok((region, owner))
    }
}

// SAFETY: regions are zeroed pages of locked hugepages, handed out once
// (rules 1-2), their controller addresses are physical addresses of the
// physically contiguous hugepage, read from pagemap (rule 3), `translate`
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_carved_first_fit_from_free_runs() {
        let mem = Mapping::map_anon(PAGE_SIZE, false).unwrap();
        let mut c = Chunk {
            mem: Arc::new(RegionOwner {
                mem,
                _keep: Arc::new(()),
            }),
            phys: 0x4000_0000,
            used: vec![false; PAGES],
        };
        assert_eq!(c.find(1), Some(0));
        assert_eq!(c.find(PAGES), Some(0));
        assert_eq!(c.find(PAGES + 1), None);
        c.used[0..3].fill(true);
        c.used[5] = true;
        assert_eq!(c.find(2), Some(3), "the gap between used pages");
        assert_eq!(c.find(3), Some(6));
        c.used.fill(true);
        assert_eq!(c.find(1), None);
    }
}
