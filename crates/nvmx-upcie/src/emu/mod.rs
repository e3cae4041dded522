//! An emulated NVMe PCIe controller behind [`DeviceBacking`], so the
//! driver runs on any host without a device.
//!
//! It models what the driver touches: the registers (CAP, VS, CC, CSTS,
//! AQA, ASQ, ACQ, NSSR and the doorbells at 0x1000 with the CAP.DSTRD
//! stride), the enable/disable/shutdown state machine, and queues in
//! "DMA memory" — page-aligned heap memory handed out by
//! [`DeviceBacking::alloc_dma`] at made-up IOVAs, with an unmapped page
//! between regions so an overrun faults. A write to a submission queue
//! tail doorbell fetches and runs the new commands at once, on the
//! writer's thread: Create/Delete I/O Completion/Submission Queue and
//! Number of Queues are handled here, every other command goes to a
//! ramdisk controller ([`nvmx_ramdisk::RamCtrl`]), with its data
//! gathered from and scattered to the PRPs or SGLs of the command.
//!
//! Faults can be injected (see the `inject_*` methods): a fatal status, a
//! dropped completion, a completion with the wrong phase tag, a slow or
//! stuck enable, a controller that does not support SGLs, commands held
//! back and run late (their DMA after the host gave up on them), a
//! disable that is slow or never clears CSTS.RDY, a failing queue
//! creation. A DMA access to memory that is no longer mapped (freed by
//! the host while the emulated device still used it) is counted in
//! [`EmuStats::dma_faults`].
//!
//! The module is split by concept: registers, memory and the state
//! machine here; fetching and running commands in `cmds`; walking PRPs
//! and SGLs in `dptr`.

// The one `unsafe` here is the promise of the DeviceBacking contract
// (`unsafe impl`); the memory itself is handled in `dma`.
#![deny(unsafe_code)]

mod cmds;
mod dptr;

use std::collections::{BTreeMap, HashMap};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nvmx_spec::Command;
use nvmx_spec::regs::{Aqa, Cc, offset};

use super::backing::{DeviceBacking, DmaRegion};
use super::dma::Pages;
use super::sgl::Desc;
use nvmx_core::be::{Admin, Pseudo};
use nvmx_core::error::{Error, Result};
use nvmx_core::uri::Uri;
use nvmx_ramdisk::RamCtrl;

const PAGE: u64 = 4096;
/// Where the made-up IOVAs start.
const IOVA_BASE: u64 = 0x1_0000_0000;
/// Queue pairs the emulated controller grants.
const MAX_QUEUES: u16 = 64;
/// The NSSR value that starts an NVM subsystem reset ("NVMe").
const NSSR_MAGIC: u32 = 0x4e56_4d65;
/// Byte offset of SGLS in Identify Controller.
const SGLS_OFFSET: usize = 536;
/// Size of the hugepages the emulated backing can round regions up to.
const HUGEPAGE: usize = 2 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct MemMap {
    by_iova: BTreeMap<u64, Arc<Pages>>,
    by_vaddr: BTreeMap<usize, (u64, usize)>,
    next_iova: u64,
}

impl MemMap {
    fn find(&self, iova: u64, len: usize) -> Option<(&Arc<Pages>, usize)> {
        let (&base, p) = self.by_iova.range(..=iova).next_back()?;
        let off = usize::try_from(iova - base).ok()?;
        (off.checked_add(len)? <= p.len()).then_some((p, off))
    }
}

struct Sq {
    base: u64,
    size: u16,
    cqid: u16,
    head: u16,
    tail: u16,
}

struct Cq {
    base: u64,
    size: u16,
    head: u16,
    tail: u16,
    phase: bool,
}

#[derive(Default)]
struct Faults {
    fatal_after: Option<u32>,
    drop_completions: u32,
    wrong_phase: u32,
    slow_enable: u32,
    refuse_sgl: bool,
    /// I/O commands still to hold back when fetched.
    hold: u32,
    /// CC.EN = 0 never clears CSTS.RDY: the controller keeps running.
    stuck_disable: bool,
    /// CSTS reads after CC.EN = 0 before RDY clears (held commands run
    /// just before).
    slow_disable: u32,
    /// Create I/O Submission Queue commands still to fail.
    fail_create: u32,
    /// SGLS bit 18: SGLs longer than the transfer are accepted.
    sgl_longer: bool,
}

/// An I/O command fetched and held back, to run late.
struct Held {
    qid: u16,
    cqid: u16,
    sqhd: u16,
    cmd: Command,
}

#[derive(Default)]
struct State {
    cc: u32,
    csts: u32,
    aqa: u32,
    asq: u64,
    acq: u64,
    sqs: HashMap<u16, Sq>,
    cqs: HashMap<u16, Cq>,
    /// CSTS reads left before RDY sets after an enable.
    enable_reads: Option<u32>,
    /// CSTS reads left before RDY clears after a disable.
    disable_reads: Option<u32>,
    /// Commands held back ([`EmuBacking::inject_hold`]).
    held: Vec<Held>,
    faults: Faults,
    /// The last I/O command fetched, as the host wrote it.
    last_io: Option<Command>,
    /// Cached (bytes per block in the data buffer, separate metadata bytes
    /// per block).
    shape: Option<(u64, u64)>,
}

/// Counters the tests look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmuStats {
    /// Commands fetched from any submission queue.
    pub commands: u64,
    /// Commands whose data pointer was an SGL (PSDT 1 or 2).
    pub sgl_commands: u64,
    /// Commands whose metadata pointer held an SGL descriptor (PSDT 2).
    pub sgl_meta_commands: u64,
    /// Commands whose data went through a PRP list.
    pub prp_list_commands: u64,
    /// Calls of `alloc_dma`.
    pub dma_allocs: u64,
    /// Controller enables (CC.EN 0 to 1).
    pub enables: u64,
    /// Shutdown notifications (CC.SHN set).
    pub shutdowns: u64,
    /// DMA reads or writes at addresses no region is mapped at: memory
    /// the host freed while the device still used it.
    pub dma_faults: u64,
    /// Held commands that ran late.
    pub late_commands: u64,
}

/// The emulated controller (see the module documentation).
pub struct EmuBacking {
    ram: Arc<RamCtrl>,
    mem: Arc<Mutex<MemMap>>,
    st: Mutex<State>,
    dstrd: u8,
    mqes: u16,
    to: u8,
    commands: AtomicU64,
    sgl_commands: AtomicU64,
    sgl_meta_commands: AtomicU64,
    prp_list_commands: AtomicU64,
    dma_allocs: Arc<AtomicU64>,
    enables: AtomicU64,
    shutdowns: AtomicU64,
    dma_faults: AtomicU64,
    late_commands: AtomicU64,
    hugepage_regions: bool,
}

impl std::fmt::Debug for EmuBacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmuBacking").finish_non_exhaustive()
    }
}

impl EmuBacking {
    /// An emulated controller whose namespace is a ramdisk described by
    /// `ramdisk_uri` (a size with parameters, e.g. `64MiB?lbaf=1`).
    pub fn new(ramdisk_uri: &str) -> Result<EmuBacking> {
        let uri = Uri::parse(ramdisk_uri)?;
        let ram = nvmx_ramdisk::new_ctrl(&uri)?;
        Ok(EmuBacking {
            ram,
            mem: Arc::new(Mutex::new(MemMap {
                next_iova: IOVA_BASE,
                ..Default::default()
            })),
            st: Mutex::new(State::default()),
            dstrd: 0,
            mqes: 1023,
            to: 2,
            commands: AtomicU64::new(0),
            sgl_commands: AtomicU64::new(0),
            sgl_meta_commands: AtomicU64::new(0),
            prp_list_commands: AtomicU64::new(0),
            dma_allocs: Arc::new(AtomicU64::new(0)),
            enables: AtomicU64::new(0),
            shutdowns: AtomicU64::new(0),
            dma_faults: AtomicU64::new(0),
            late_commands: AtomicU64::new(0),
            hugepage_regions: false,
        })
    }

    /// Sets CAP.DSTRD: doorbells `4 << dstrd` bytes apart (0-15).
    pub fn with_dstrd(mut self, dstrd: u8) -> Self {
        self.dstrd = dstrd.min(15);
        self
    }

    /// Sets CAP.MQES: the largest queue has `mqes + 1` entries (1 to
    /// 4095, so 2 to 4096 entries).
    pub fn with_mqes(mut self, mqes: u16) -> Self {
        self.mqes = mqes.clamp(1, 4095);
        self
    }

    /// Sets CAP.TO in 500 ms units (at least 1).
    pub fn with_timeout_units(mut self, to: u8) -> Self {
        self.to = to.max(1);
        self
    }

    /// Rounds every DMA region longer than a page up to whole 2 MiB
    /// hugepages, as the uio and vfio backings do when they have them.
    pub fn with_hugepage_regions(mut self, on: bool) -> Self {
        self.hugepage_regions = on;
        self
    }

    /// Sets SGLS bit 18: whether SGLs longer than the data a command
    /// moves are accepted (by default they fail the command, as on
    /// controllers that enforce it).
    pub fn with_sgl_longer(self, on: bool) -> Self {
        lock(&self.st).faults.sgl_longer = on;
        self
    }

    /// Holds back the next `n` I/O commands fetched: no data moves and no
    /// completion is posted until [`EmuBacking::release_held`], or until a
    /// disable completes (a prompt disable discards them, as a controller
    /// reset aborts commands; a slow one runs them first).
    pub fn inject_hold(&self, n: u32) {
        lock(&self.st).faults.hold = n;
    }

    /// Runs the held commands now, moving their data and posting their
    /// completions (when their completion queue still exists): the late
    /// DMA of a device the host gave up on. Returns how many ran.
    pub fn release_held(&self) -> usize {
        let mut st = lock(&self.st);
        self.run_held(&mut st)
    }

    /// Commands held back now.
    pub fn held(&self) -> usize {
        lock(&self.st).held.len()
    }

    /// Makes CC.EN = 0 leave CSTS.RDY set and the controller running (a
    /// controller that cannot be stopped).
    pub fn inject_stuck_disable(&self, stuck: bool) {
        lock(&self.st).faults.stuck_disable = stuck;
    }

    /// Makes the next disables take `reads` CSTS reads before RDY clears;
    /// held commands run just before it does.
    pub fn inject_slow_disable(&self, reads: u32) {
        lock(&self.st).faults.slow_disable = reads;
    }

    /// Fails the next `n` Create I/O Submission Queue commands (Invalid
    /// Queue Identifier).
    pub fn inject_fail_create(&self, n: u32) {
        lock(&self.st).faults.fail_create = n;
    }

    /// Sets CSTS.CFS (fatal status) after `after` more commands are
    /// fetched; commands stop running until the controller is reset.
    pub fn inject_fatal(&self, after: u32) {
        lock(&self.st).faults.fatal_after = Some(after);
    }

    /// Runs the next `n` commands without posting their completions.
    pub fn inject_dropped_completions(&self, n: u32) {
        lock(&self.st).faults.drop_completions = n;
    }

    /// Posts the next `n` completions with the wrong phase tag.
    pub fn inject_wrong_phase(&self, n: u32) {
        lock(&self.st).faults.wrong_phase = n;
    }

    /// Makes the next enables take `reads` CSTS reads before RDY sets;
    /// `u32::MAX` never sets it.
    pub fn inject_slow_enable(&self, reads: u32) {
        lock(&self.st).faults.slow_enable = reads;
    }

    /// Makes the controller report no SGL support (Identify Controller
    /// SGLS = 0) and fail commands that use SGLs.
    pub fn inject_refuse_sgl(&self, refuse: bool) {
        lock(&self.st).faults.refuse_sgl = refuse;
    }

    /// The counters so far.
    pub fn stats(&self) -> EmuStats {
        EmuStats {
            commands: self.commands.load(Ordering::Relaxed),
            sgl_commands: self.sgl_commands.load(Ordering::Relaxed),
            sgl_meta_commands: self.sgl_meta_commands.load(Ordering::Relaxed),
            prp_list_commands: self.prp_list_commands.load(Ordering::Relaxed),
            dma_allocs: self.dma_allocs.load(Ordering::Relaxed),
            enables: self.enables.load(Ordering::Relaxed),
            shutdowns: self.shutdowns.load(Ordering::Relaxed),
            dma_faults: self.dma_faults.load(Ordering::Relaxed),
            late_commands: self.late_commands.load(Ordering::Relaxed),
        }
    }

    /// The last I/O command fetched from an I/O submission queue, as the
    /// host wrote it (data pointer, metadata pointer, PSDT).
    pub fn last_io_command(&self) -> Option<Command> {
        lock(&self.st).last_io
    }

    /// I/O submission queues that exist on the controller now.
    pub fn io_queues(&self) -> usize {
        lock(&self.st).sqs.keys().filter(|&&q| q != 0).count()
    }

    fn cap(&self) -> u64 {
        u64::from(self.mqes)
            | (1 << 16)
            | (u64::from(self.to) << 24)
            | (u64::from(self.dstrd) << 32)
            | (1 << 36)
            | (1 << 37)
            | (1 << 43)
    }

    fn read_mem(&self, iova: u64, dst: &mut [u8]) -> bool {
        let m = lock(&self.mem);
        let ok = m
            .find(iova, dst.len())
            .is_some_and(|(p, off)| p.read(off, dst));
        self.count_fault(ok)
    }

    fn write_mem(&self, iova: u64, src: &[u8]) -> bool {
        let m = lock(&self.mem);
        let ok = m
            .find(iova, src.len())
            .is_some_and(|(p, off)| p.write(off, src));
        self.count_fault(ok)
    }

    /// Reads emulated DMA memory at `iova`, as the device would.
    #[cfg(test)]
    pub(crate) fn read_iova(&self, iova: u64, dst: &mut [u8]) -> bool {
        self.read_mem(iova, dst)
    }

    fn count_fault(&self, ok: bool) -> bool {
        if !ok {
            self.dma_faults.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    fn read_u64(&self, iova: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read_mem(iova, &mut b).then(|| u64::from_le_bytes(b))
    }

    fn read_desc(&self, iova: u64) -> Option<Desc> {
        let mut b = [0u8; 16];
        self.read_mem(iova, &mut b).then(|| Desc::from_bytes(&b))
    }

    fn reset_state(st: &mut State) {
        st.sqs.clear();
        st.cqs.clear();
        st.csts = 0;
        st.enable_reads = None;
        st.disable_reads = None;
        // A reset aborts what the controller still held.
        st.held.clear();
        st.faults.fatal_after = None;
        st.shape = None;
    }

    fn write_cc(&self, st: &mut State, v: u32) {
        let old = Cc(st.cc);
        let new = Cc(v);
        st.cc = v;
        if old.en() && !new.en() {
            if st.faults.stuck_disable {
                return;
            }
            if st.faults.slow_disable > 0 {
                st.disable_reads = Some(st.faults.slow_disable);
                return;
            }
            self.disable_now(st);
            return;
        }
        if !old.en() && new.en() {
            self.enables.fetch_add(1, Ordering::Relaxed);
            let aqa = Aqa(st.aqa);
            st.sqs.insert(
                0,
                Sq {
                    base: st.asq,
                    size: aqa.asqs() + 1,
                    cqid: 0,
                    head: 0,
                    tail: 0,
                },
            );
            st.cqs.insert(
                0,
                Cq {
                    base: st.acq,
                    size: aqa.acqs() + 1,
                    head: 0,
                    tail: 0,
                    phase: true,
                },
            );
            let wait = st.faults.slow_enable;
            if wait == 0 {
                st.csts |= 1;
            } else {
                st.enable_reads = Some(wait);
            }
        }
        if new.en() && new.shn() != 0 && old.shn() == 0 {
            self.shutdowns.fetch_add(1, Ordering::Relaxed);
            st.csts = (st.csts & !(0b11 << 2)) | (0b10 << 2);
        }
    }

    /// CSTS.RDY clears: queues and held commands are gone.
    fn disable_now(&self, st: &mut State) {
        Self::reset_state(st);
        // Features not saved go back to their defaults; the media stays.
        let _ = self.ram.pseudo(Pseudo::ControllerReset);
    }

    fn read_csts(&self, st: &mut State) -> u32 {
        if st.disable_reads.is_none()
            && !st.faults.stuck_disable
            && !Cc(st.cc).en()
            && st.csts & 1 != 0
        {
            // A disable that was stuck completes once it is not any more.
            self.disable_now(st);
        }
        if let Some(n) = st.disable_reads {
            if n <= 1 {
                // Finishing what it held before it stops.
                self.run_held(st);
                self.disable_now(st);
            } else {
                st.disable_reads = Some(n - 1);
            }
        }
        if let Some(n) = st.enable_reads
            && n != u32::MAX
        {
            if n <= 1 {
                st.enable_reads = None;
                st.csts |= 1;
            } else {
                st.enable_reads = Some(n - 1);
            }
        }
        st.csts
    }

    fn doorbell(&self, st: &mut State, off: usize, v: u32) {
        let idx = (off - offset::DOORBELLS) / (4usize << self.dstrd);
        let Ok(qid) = u16::try_from(idx / 2) else {
            return;
        };
        let v = v as u16;
        if idx.is_multiple_of(2) {
            match st.sqs.get_mut(&qid) {
                Some(sq) if v < sq.size => sq.tail = v,
                _ => return,
            }
            self.process(st, qid);
        } else {
            match st.cqs.get_mut(&qid) {
                Some(cq) if v < cq.size => cq.head = v,
                _ => return,
            }
            // Room in the CQ: run what waits on it.
            let waiting: Vec<u16> = st
                .sqs
                .iter()
                .filter(|(_, s)| s.cqid == qid && s.head != s.tail)
                .map(|(&q, _)| q)
                .collect();
            for q in waiting {
                self.process(st, q);
            }
        }
    }
}

#[allow(unsafe_code)]
// SAFETY: the regions handed out are `Pages` (owned, zeroed, page
// aligned heap memory) kept alive by the region's owner until its
// release runs; their made-up IOVAs are unique and contiguous per region,
// and `translate` answers only inside a live region (contract rules 1-4).
// Registers are fields of the state, never process memory (rule 5).
unsafe impl DeviceBacking for EmuBacking {
    fn name(&self) -> &str {
        "emulated"
    }

    fn read32(&self, off: usize) -> u32 {
        let mut st = lock(&self.st);
        match off {
            offset::CAP => self.cap() as u32,
            o if o == offset::CAP + 4 => (self.cap() >> 32) as u32,
            offset::VS => 0x0002_0000,
            offset::CC => st.cc,
            offset::CSTS => self.read_csts(&mut st),
            offset::AQA => st.aqa,
            offset::ASQ => st.asq as u32,
            o if o == offset::ASQ + 4 => (st.asq >> 32) as u32,
            offset::ACQ => st.acq as u32,
            o if o == offset::ACQ + 4 => (st.acq >> 32) as u32,
            _ => 0,
        }
    }

    fn write32(&self, off: usize, value: u32) {
        let mut st = lock(&self.st);
        let lo = |r: u64| (r & !0xffff_ffff) | u64::from(value);
        let hi = |r: u64| (r & 0xffff_ffff) | (u64::from(value) << 32);
        match off {
            offset::CC => self.write_cc(&mut st, value),
            offset::AQA => st.aqa = value,
            offset::ASQ => st.asq = lo(st.asq),
            o if o == offset::ASQ + 4 => st.asq = hi(st.asq),
            offset::ACQ => st.acq = lo(st.acq),
            o if o == offset::ACQ + 4 => st.acq = hi(st.acq),
            offset::NSSR if value == NSSR_MAGIC => {
                Self::reset_state(&mut st);
                let _ = self.ram.pseudo(Pseudo::ControllerReset);
                st.cc = 0;
                st.csts = 1 << 4; // NSSRO
            }
            o if o >= offset::DOORBELLS => self.doorbell(&mut st, o, value),
            _ => {}
        }
    }

    fn alloc_dma(&self, len: usize) -> Result<DmaRegion> {
        self.dma_allocs.fetch_add(1, Ordering::Relaxed);
        let len = if self.hugepage_regions && len > PAGE as usize {
            len.checked_next_multiple_of(HUGEPAGE).unwrap_or(len)
        } else {
            len
        };
        let pages = Arc::new(Pages::new(len).ok_or(Error::TooLarge {
            what: "emulated DMA region",
            len: len as u64,
            limit: isize::MAX as u64,
            limit_name: "allocation size",
        })?);
        let plen = pages.len();
        let ptr: NonNull<u8> = pages.ptr();
        let iova = {
            let mut m = lock(&self.mem);
            let iova = m.next_iova;
            m.next_iova += plen as u64 + PAGE;
            m.by_iova.insert(iova, Arc::clone(&pages));
            m.by_vaddr.insert(ptr.as_ptr() as usize, (iova, plen));
            iova
        };
        let mem = Arc::clone(&self.mem);
        let vaddr = ptr.as_ptr() as usize;
        let release: Box<dyn FnOnce() + Send + Sync> = Box::new(move || {
            let mut m = lock(&mem);
            m.by_iova.remove(&iova);
            m.by_vaddr.remove(&vaddr);
        });
        Ok(Pages::into_region(pages, iova, release))
    }

    fn translate(&self, vaddr: usize, len: usize) -> Option<u64> {
        let m = lock(&self.mem);
        let (&start, &(iova, rlen)) = m.by_vaddr.range(..=vaddr).next_back()?;
        let off = vaddr - start;
        (off.checked_add(len)? <= rlen).then(|| iova + off as u64)
    }
}

/// A backend configuration for devices built on [`EmuBacking`] with
/// [`super::open_backing`] and the facade's `Device::from_backend`. It is not
/// in any platform's list: `Device::open` never selects it.
pub static EMULATED: nvmx_core::be::config::BackendConfig = nvmx_core::be::config::BackendConfig {
    name: "upcie_emulated",
    descr: "User-space NVMe driver on an in-process emulated controller (tests)",
    caps: nvmx_core::caps::Caps::NVME_PCIE,
    async_id: "upcie",
    sync_id: "upcie",
    admin_id: "upcie",
    dev_id: "upcie_emu",
    mem_id: "upcie",
    open: open_unavailable,
    new_engine: super::engine::new_engine,
};

fn open_unavailable(_: &Uri, _: &nvmx_core::opts::Options) -> Result<nvmx_core::be::Backend> {
    Err(Error::unsupported(
        "upcie_emu",
        "opening by URI: build the device with open_backing(EmuBacking) and Device::from_backend",
    ))
}
