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
//! ramdisk controller ([`crate::be::ramdisk::RamCtrl`]), with its data
//! gathered from and scattered to the PRPs or SGLs of the command.
//!
//! Faults can be injected (see the `inject_*` methods): a fatal status, a
//! dropped completion, a completion with the wrong phase tag, a slow or
//! stuck enable, a controller that does not support SGLs.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nvmx_spec::cmd::psdt;
use nvmx_spec::regs::{Aqa, Cc, offset};
use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion, Status};
use zerocopy::{FromBytes, IntoBytes};

use super::backing::{DeviceBacking, DmaRegion};
use super::dma::Pages;
use super::sgl::{Desc, kind};
use crate::be::ramdisk::RamCtrl;
use crate::be::{Admin, DataBuf, Direction, Pseudo, SyncIo};
use crate::error::{Error, Result};
use crate::uri::Uri;

const PAGE: u64 = 4096;
/// Where the made-up IOVAs start.
const IOVA_BASE: u64 = 0x1_0000_0000;
/// Queue pairs the emulated controller grants.
const MAX_QUEUES: u16 = 64;
/// The NSSR value that starts an NVM subsystem reset ("NVMe").
const NSSR_MAGIC: u32 = 0x4e56_4d65;
/// Byte offset of SGLS in Identify Controller.
const SGLS_OFFSET: usize = 536;

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
        let ram = crate::be::ramdisk::new_ctrl(&uri)?;
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
        m.find(iova, dst.len())
            .is_some_and(|(p, off)| p.read(off, dst))
    }

    fn write_mem(&self, iova: u64, src: &[u8]) -> bool {
        let m = lock(&self.mem);
        m.find(iova, src.len())
            .is_some_and(|(p, off)| p.write(off, src))
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
        st.faults.fatal_after = None;
        st.shape = None;
    }

    fn write_cc(&self, st: &mut State, v: u32) {
        let old = Cc(st.cc);
        let new = Cc(v);
        st.cc = v;
        if old.en() && !new.en() {
            Self::reset_state(st);
            // Features not saved go back to their defaults; the media stays.
            let _ = self.ram.pseudo(Pseudo::ControllerReset);
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

    fn read_csts(&self, st: &mut State) -> u32 {
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

    /// Fetches and runs the commands between head and tail of SQ `qid`.
    fn process(&self, st: &mut State, qid: u16) {
        loop {
            if st.csts & 1 == 0 || st.csts & 2 != 0 {
                return;
            }
            let Some(sq) = st.sqs.get(&qid) else { return };
            if sq.head == sq.tail {
                return;
            }
            let cqid = sq.cqid;
            let Some(cq) = st.cqs.get(&cqid) else { return };
            if (cq.tail + 1) % cq.size == cq.head {
                return; // CQ full: wait for the head doorbell
            }
            if let Some(n) = st.faults.fatal_after {
                if n == 0 {
                    st.csts |= 2;
                    return;
                }
                st.faults.fatal_after = Some(n - 1);
            }
            let mut raw = [0u8; 64];
            let addr = sq.base + u64::from(sq.head) * 64;
            let sq = st.sqs.get_mut(&qid).map(|s| {
                s.head = (s.head + 1) % s.size;
                s.head
            });
            let Some(sqhd) = sq else { return };
            self.commands.fetch_add(1, Ordering::Relaxed);
            let (cdw0, status, cid) = if !self.read_mem(addr, &mut raw) {
                st.csts |= 2; // the SQ points nowhere: the controller fails
                return;
            } else {
                let mut cmd = Command::read_from_bytes(&raw[..]).unwrap_or_default();
                if qid != 0 {
                    st.last_io = Some(cmd);
                }
                let (cdw0, status) = if qid == 0 {
                    self.admin(st, &mut cmd)
                } else {
                    self.io(st, &mut cmd)
                };
                (cdw0, status, cmd.cid)
            };
            if st.faults.drop_completions > 0 {
                st.faults.drop_completions -= 1;
                continue;
            }
            let wrong = st.faults.wrong_phase > 0;
            if wrong {
                st.faults.wrong_phase -= 1;
            }
            let Some(cq) = st.cqs.get_mut(&cqid) else {
                return;
            };
            let phase = cq.phase != wrong;
            let cpl = Completion {
                cdw0,
                cdw1: 0,
                sqhd,
                sqid: qid,
                cid,
                status: (status << 1) | u16::from(phase),
            };
            let at = cq.base + u64::from(cq.tail) * 16;
            cq.tail += 1;
            if cq.tail == cq.size {
                cq.tail = 0;
                cq.phase = !cq.phase;
            }
            let b = cpl.as_bytes();
            // Everything but the status half-word first, then the status
            // with its phase tag.
            if !(self.write_mem(at, &b[..14]) && self.write_mem(at + 14, &b[14..])) {
                st.csts |= 2;
                return;
            }
        }
    }

    fn status(sct: u8, sc: u8) -> u16 {
        Status::new(sct, sc).dnr().to_raw()
    }

    fn admin(&self, st: &mut State, cmd: &mut Command) -> (u32, u16) {
        let qid = (cmd.cdw10 & 0xffff) as u16;
        let size = (cmd.cdw10 >> 16) as u16;
        let bad_qid = Self::status(sct::COMMAND_SPECIFIC, 0x01);
        let bad_size = Self::status(sct::COMMAND_SPECIFIC, 0x02);
        let field = Self::status(sct::GENERIC, sc::INVALID_FIELD);
        match cmd.opc {
            0x05 | 0x01 => {
                let create_cq = cmd.opc == 0x05;
                let exists = if create_cq {
                    st.cqs.contains_key(&qid)
                } else {
                    st.sqs.contains_key(&qid)
                };
                if qid == 0 || qid > MAX_QUEUES || exists {
                    return (0, bad_qid);
                }
                if size < 1 || size > self.mqes {
                    return (0, bad_size);
                }
                if cmd.cdw11 & 1 == 0 || !cmd.prp1.is_multiple_of(PAGE) {
                    return (0, field);
                }
                let entry = if create_cq { 16 } else { 64 };
                if lock(&self.mem)
                    .find(cmd.prp1, (usize::from(size) + 1) * entry)
                    .is_none()
                {
                    return (0, field);
                }
                if create_cq {
                    st.cqs.insert(
                        qid,
                        Cq {
                            base: cmd.prp1,
                            size: size + 1,
                            head: 0,
                            tail: 0,
                            phase: true,
                        },
                    );
                } else {
                    let cqid = (cmd.cdw11 >> 16) as u16;
                    if cqid == 0 || !st.cqs.contains_key(&cqid) {
                        return (0, Self::status(sct::COMMAND_SPECIFIC, 0x00));
                    }
                    st.sqs.insert(
                        qid,
                        Sq {
                            base: cmd.prp1,
                            size: size + 1,
                            cqid,
                            head: 0,
                            tail: 0,
                        },
                    );
                }
                (0, 0)
            }
            0x00 => {
                if qid == 0 || st.sqs.remove(&qid).is_none() {
                    return (0, bad_qid);
                }
                (0, 0)
            }
            0x04 => {
                if qid == 0 || !st.cqs.contains_key(&qid) {
                    return (0, bad_qid);
                }
                if st.sqs.values().any(|s| s.cqid == qid) {
                    return (0, Self::status(sct::COMMAND_SPECIFIC, 0x0c));
                }
                st.cqs.remove(&qid);
                (0, 0)
            }
            0x09 | 0x0a if cmd.cdw10 & 0xff == 0x07 => {
                let n = u32::from(MAX_QUEUES - 1);
                (n | (n << 16), 0)
            }
            _ => {
                let len = match cmd.opc {
                    0x06 => Some(4096),
                    0x02 => {
                        let numd = ((cmd.cdw11 & 0xffff) << 16) | (cmd.cdw10 >> 16);
                        Some((numd as usize + 1) * 4)
                    }
                    _ => None,
                };
                let ram: &dyn Admin = &*self.ram;
                let identify_ctrl = cmd.opc == 0x06 && cmd.cdw10 & 0xff == 0x01;
                // SGLs for data (no alignment rule) and SGLs in MPTR.
                let sgls: u32 = if st.faults.refuse_sgl {
                    0
                } else {
                    1 | (1 << 19)
                };
                let r = self.transfer(st, cmd, len, None, |c, mut d, _| {
                    let r = ram.cmd_admin(c, d.reborrow());
                    if let Some(b) = d.as_mut_slice().filter(|_| identify_ctrl)
                        && let Some(f) = b.get_mut(SGLS_OFFSET..SGLS_OFFSET + 4)
                    {
                        f.copy_from_slice(&sgls.to_le_bytes());
                    }
                    r
                });
                if cmd.opc == 0x80 || cmd.opc == 0x84 || cmd.opc == 0x0d {
                    st.shape = None;
                }
                r
            }
        }
    }

    fn io(&self, st: &mut State, cmd: &mut Command) -> (u32, u16) {
        let (block, ms) = *st.shape.get_or_insert_with(|| self.ram.xfer_shape());
        let nlb = u64::from(cmd.cdw12 & 0xffff) + 1;
        let (len, mlen) = match cmd.opc {
            0x01 | 0x02 | 0x05 | 0x7d => (Some((nlb * block) as usize), (nlb * ms) as usize),
            0x09 => (Some(((cmd.cdw10 & 0xff) as usize + 1) * 16), 0),
            0x19 => {
                let nr = (cmd.cdw12 & 0xff) as usize + 1;
                let desc = if (cmd.cdw12 >> 8) & 1 == 1 { 40 } else { 32 };
                (Some(nr * desc), 0)
            }
            0x7a => (Some((cmd.cdw12 as usize + 1) * 4), 0),
            _ => (None, 0),
        };
        let meta = (mlen > 0 && cmd.mptr != 0).then_some(mlen);
        let ram: &dyn SyncIo = &*self.ram;
        self.transfer(st, cmd, len, meta, |c, d, m| ram.cmd_io(c, d, m))
    }

    /// Gathers the command's data (and metadata), runs `run` on it and
    /// scatters what the controller wrote back.
    fn transfer(
        &self,
        st: &State,
        cmd: &mut Command,
        len: Option<usize>,
        meta_len: Option<usize>,
        run: impl FnOnce(&mut Command, DataBuf<'_>, DataBuf<'_>) -> Result<Completion>,
    ) -> (u32, u16) {
        let xfer_err = Self::status(sct::GENERIC, sc::DATA_TRANSFER_ERROR);
        let sel = cmd.psdt();
        if sel != psdt::PRP {
            if st.faults.refuse_sgl {
                return (0, Self::status(sct::GENERIC, 0x11));
            }
            self.sgl_commands.fetch_add(1, Ordering::Relaxed);
            if sel == psdt::SGL_MPTR_SGL {
                self.sgl_meta_commands.fetch_add(1, Ordering::Relaxed);
            }
        }
        let dir = Direction::of_opcode(cmd.opc);
        let data_segs = if dir == Direction::None || (cmd.prp1 == 0 && len.is_none()) {
            Vec::new()
        } else {
            match self.data_segments(cmd, len) {
                Some(s) => s,
                None => return (0, xfer_err),
            }
        };
        let meta_segs = match meta_len {
            None => Vec::new(),
            Some(n) => match self.meta_segments(cmd, n) {
                Some(s) => s,
                None => return (0, xfer_err),
            },
        };
        let Some(mut data) = self.gather(&data_segs) else {
            return (0, xfer_err);
        };
        let Some(mut meta) = self.gather(&meta_segs) else {
            return (0, xfer_err);
        };
        let to_host = matches!(dir, Direction::FromDevice | Direction::Bidirectional);
        let r = run(cmd, wrap(&mut data, to_host), wrap(&mut meta, to_host));
        let cpl = match r {
            Ok(c) => c,
            Err(_) => return (0, xfer_err),
        };
        if to_host && !(self.scatter(&data_segs, &data) && self.scatter(&meta_segs, &meta)) {
            return (0, xfer_err);
        }
        (cpl.cdw0, cpl.status >> 1)
    }

    fn gather(&self, segs: &[(u64, usize)]) -> Option<Vec<u8>> {
        let total = segs.iter().map(|s| s.1).sum();
        let mut v = vec![0u8; total];
        let mut at = 0;
        for &(iova, n) in segs {
            if !self.read_mem(iova, &mut v[at..at + n]) {
                return None;
            }
            at += n;
        }
        Some(v)
    }

    fn scatter(&self, segs: &[(u64, usize)], src: &[u8]) -> bool {
        let mut at = 0;
        for &(iova, n) in segs {
            if !self.write_mem(iova, &src[at..at + n]) {
                return false;
            }
            at += n;
        }
        true
    }

    /// The (address, length) pieces of the data pointer.
    fn data_segments(&self, cmd: &Command, len: Option<usize>) -> Option<Vec<(u64, usize)>> {
        if cmd.psdt() != psdt::PRP {
            let mut segs = self.walk_sgl(Desc::from_dptr(cmd.prp1, cmd.prp2))?;
            if let Some(n) = len {
                truncate(&mut segs, n)?;
            }
            return Some(segs);
        }
        let first = (PAGE - cmd.prp1 % PAGE) as usize;
        // Without a known length, PRP1's page and a page at PRP2.
        let len = len.unwrap_or(first + if cmd.prp2 != 0 { PAGE as usize } else { 0 });
        if !cmd.prp1.is_multiple_of(4) {
            return None;
        }
        let mut segs = vec![(cmd.prp1, first.min(len))];
        let mut rest = len - first.min(len);
        if rest == 0 {
            return Some(segs);
        }
        if rest <= PAGE as usize {
            if !cmd.prp2.is_multiple_of(PAGE) {
                return None;
            }
            segs.push((cmd.prp2, rest));
            return Some(segs);
        }
        self.prp_list_commands.fetch_add(1, Ordering::Relaxed);
        let mut at = cmd.prp2;
        if !at.is_multiple_of(8) {
            return None;
        }
        while rest > 0 {
            let e = self.read_u64(at)?;
            let last_slot = (at % PAGE) == PAGE - 8;
            if last_slot && rest > PAGE as usize {
                if e % PAGE != 0 {
                    return None;
                }
                at = e;
                continue;
            }
            if e % PAGE != 0 {
                return None;
            }
            let n = rest.min(PAGE as usize);
            segs.push((e, n));
            rest -= n;
            at += 8;
        }
        Some(segs)
    }

    fn meta_segments(&self, cmd: &Command, len: usize) -> Option<Vec<(u64, usize)>> {
        if cmd.psdt() == psdt::SGL_MPTR_SGL {
            let mut segs = self.walk_sgl(self.read_desc(cmd.mptr)?)?;
            truncate(&mut segs, len)?;
            Some(segs)
        } else {
            Some(vec![(cmd.mptr, len)])
        }
    }

    /// Follows an SGL from its first descriptor.
    fn walk_sgl(&self, first: Desc) -> Option<Vec<(u64, usize)>> {
        let mut segs = Vec::new();
        let mut next = Some(first);
        let mut budget = 1 << 20;
        while let Some(d) = next.take() {
            match d.kind {
                kind::DATA_BLOCK => segs.push((d.addr, d.len as usize)),
                kind::SEGMENT | kind::LAST_SEGMENT => {
                    let n = d.len as usize / 16;
                    if n == 0 || d.len % 16 != 0 {
                        return None;
                    }
                    for i in 0..n {
                        budget -= 1;
                        if budget == 0 {
                            return None;
                        }
                        let e = self.read_desc(d.addr + 16 * i as u64)?;
                        match e.kind {
                            kind::DATA_BLOCK => segs.push((e.addr, e.len as usize)),
                            kind::SEGMENT | kind::LAST_SEGMENT
                                if i + 1 == n && d.kind == kind::SEGMENT =>
                            {
                                next = Some(e)
                            }
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(segs)
    }
}

/// A gathered buffer as the ramdisk takes it.
fn wrap(b: &mut [u8], to_host: bool) -> DataBuf<'_> {
    if b.is_empty() {
        DataBuf::None
    } else if to_host {
        DataBuf::In(b)
    } else {
        DataBuf::Out(b)
    }
}

/// Cuts `segs` to `len` bytes; `None` when they hold fewer.
fn truncate(segs: &mut Vec<(u64, usize)>, len: usize) -> Option<()> {
    let mut left = len;
    let mut out = Vec::with_capacity(segs.len());
    for &(a, n) in segs.iter() {
        if left == 0 {
            break;
        }
        let k = n.min(left);
        out.push((a, k));
        left -= k;
    }
    if left > 0 {
        return None;
    }
    *segs = out;
    Some(())
}

impl DeviceBacking for EmuBacking {
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
        let pages = Arc::new(
            Pages::new(len).ok_or_else(|| Error::invalid("DMA memory", format!("{len} bytes")))?,
        );
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
        Ok(DmaRegion {
            ptr,
            len: plen,
            iova,
            release: Some(Box::new(move || {
                let mut m = lock(&mem);
                m.by_iova.remove(&iova);
                m.by_vaddr.remove(&vaddr);
            })),
            owner: Some(pages),
        })
    }

    fn translate(&self, vaddr: usize, len: usize) -> Option<u64> {
        let m = lock(&self.mem);
        let (&start, &(iova, rlen)) = m.by_vaddr.range(..=vaddr).next_back()?;
        let off = vaddr - start;
        (off.checked_add(len)? <= rlen).then(|| iova + off as u64)
    }
}

/// A backend configuration for devices built on [`EmuBacking`] with
/// [`super::open_backing`] and [`crate::Device::from_backend`]. It is not
/// in any platform's list: `Device::open` never selects it.
pub static EMULATED: crate::be::config::BackendConfig = crate::be::config::BackendConfig {
    name: "upcie_emulated",
    descr: "User-space NVMe driver on an in-process emulated controller (tests)",
    caps: crate::caps::Caps::NVME_PCIE,
    async_id: "upcie",
    sync_id: "upcie",
    admin_id: "upcie",
    dev_id: "upcie_emu",
    mem_id: "upcie",
    open: open_unavailable,
    new_engine: super::engine::new_engine,
};

fn open_unavailable(_: &Uri, _: &crate::opts::Options) -> Result<crate::be::Backend> {
    Err(Error::unsupported(
        "upcie_emu",
        "opening by URI: build the device with open_backing(EmuBacking) and Device::from_backend",
    ))
}
