//! Controller bring-up, the admin queue, I/O queue creation and reset.
//!
//! Bring-up follows NVMe 2.0 base section 3.5.1: read CAP; clear CC.EN
//! and wait for CSTS.RDY to clear; program AQA, ASQ and ACQ; set CC (NVM
//! or I/O command sets, 4 KiB pages, 64-byte SQ and 16-byte CQ entries)
//! with EN; wait for RDY. Every register wait is bounded by CAP.TO; every
//! command wait by the admin or I/O command timeout. A command that
//! times out, or a controller that reports a fatal status (CSTS.CFS),
//! leads to a controller reset; I/O queues notice the new generation and
//! re-create themselves on the controller before their next command.
//!
//! A reset first disables the controller and waits for CSTS.RDY to clear;
//! only then does the generation change, so no queue gives back memory of
//! a command while the controller may still write it (see `health`). A
//! controller that does not clear RDY within CAP.TO is marked failed by
//! name and its commands' memory is leaked.

#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nvmx_spec::identify::IdentifyController;
use nvmx_spec::opcode::{AdminOpcode, NvmOpcode};
use nvmx_spec::regs::{Aqa, Cap, Cc, Csts, offset};
use nvmx_spec::{Command, Completion};
use zerocopy::FromBytes;

use super::backing::DeviceBacking;
use super::health::Health;
use super::pool::DmaPool;
use super::qpair::QueuePair;
use super::xfer::{HostBuf, SglCaps, SglMode, Xfer};
use nvmx_core::be::DataBuf;
use nvmx_core::be::xfer_check::{self, FormatCache};
use nvmx_core::error::{Error, Result};

/// Admin queue entries.
const ADMIN_ENTRIES: u16 = 32;
/// I/O queue pairs asked for with Set Features Number of Queues.
const WANT_QUEUES: u16 = 64;
/// Set Features feature id: Number of Queues.
const FID_NUM_QUEUES: u32 = 0x07;

/// Why a wait for a completion ended without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stall {
    /// The command timeout passed.
    Timeout,
    /// Another thread reset the controller (after disabling it): the
    /// command was lost, and its memory is free again.
    Reset,
    /// CSTS.CFS: the controller failed.
    Fatal,
    /// All-ones register reads: the device is gone.
    Gone,
}

/// The name of a command, for timeout messages.
pub(crate) fn cmd_name(admin: bool, opc: u8) -> &'static str {
    let name = if admin {
        AdminOpcode(opc).name()
    } else {
        NvmOpcode(opc).name()
    };
    match (admin, name) {
        (_, Some(n)) => n,
        (true, None) => "an admin command",
        (false, None) => "an I/O command",
    }
}

/// What Identify Controller told the driver.
#[derive(Clone, Debug)]
pub(crate) struct CtrlInfo {
    /// Identify Controller data.
    pub id: Box<IdentifyController>,
    /// SGL support.
    pub sgl: SglCaps,
}

/// How an admin command is run.
#[derive(Clone, Copy, Default)]
struct Admin {
    /// PRP1 holds a queue ring the driver set (queue creation).
    keep_prp1: bool,
    /// Part of a reset: a stall is reported, not answered with a reset.
    in_reset: bool,
}

struct AdminQ {
    qp: QueuePair,
    cid: u16,
}

/// An enabled controller: the admin queue and the queue bookkeeping.
pub(crate) struct Controller {
    /// Register and DMA access.
    pub backing: Arc<dyn DeviceBacking>,
    /// CAP as read at bring-up.
    pub cap: Cap,
    cap_timeout: Duration,
    /// Admin command timeout.
    pub admin_timeout: Duration,
    /// I/O command timeout.
    pub io_timeout: Duration,
    /// PRPs or SGLs.
    pub sgl_mode: SglMode,
    /// Driver-owned DMA memory for PRP lists, SGLs and bounce buffers.
    pub pool: Arc<DmaPool>,
    /// Failed or not, and whether memory must be leaked.
    pub health: Arc<Health>,
    /// Namespace formats, for the transfer check.
    pub formats: FormatCache,
    admin: Mutex<AdminQ>,
    qids: Mutex<BTreeSet<u16>>,
    max_qid: AtomicU64,
    generation: AtomicU64,
    info: Mutex<Arc<CtrlInfo>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Controller {
    /// Brings the controller up over `backing`.
    pub fn new(
        backing: Arc<dyn DeviceBacking>,
        admin_timeout: Duration,
        io_timeout: Duration,
        sgl_mode: SglMode,
    ) -> Result<Arc<Controller>> {
        let cap = Cap(backing.read64(offset::CAP));
        if cap.0 == u64::MAX {
            return Err(gone(&*backing, "reading CAP"));
        }
        if cap.mpsmin() != 0 {
            return Err(Error::unsupported(
                "upcie",
                format!(
                    "{}: a minimum memory page size of {} bytes (the driver uses 4 KiB pages)",
                    backing.name(),
                    cap.mpsmin_nbytes()
                ),
            ));
        }
        if cap.css() & 0x41 == 0 {
            return Err(Error::unsupported(
                "upcie",
                format!(
                    "{}: a controller without the NVM command set (CAP.CSS {:#x})",
                    backing.name(),
                    cap.css()
                ),
            ));
        }
        let entries = ADMIN_ENTRIES.min(cap.mqes().saturating_add(1)).max(2);
        let qp = QueuePair::new(Arc::clone(&backing), 0, entries, cap.dstrd())?;
        let ctrl = Controller {
            cap_timeout: Duration::from_millis(u64::from(cap.timeout_ms()).max(500)),
            pool: DmaPool::new(Arc::clone(&backing)),
            health: Arc::new(Health::new(backing.name())),
            formats: FormatCache::default(),
            backing,
            cap,
            admin_timeout,
            io_timeout,
            sgl_mode,
            admin: Mutex::new(AdminQ { qp, cid: 0 }),
            qids: Mutex::new(BTreeSet::new()),
            max_qid: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            info: Mutex::new(Arc::new(CtrlInfo {
                id: Box::new(zerocopy::FromZeros::new_zeroed()),
                sgl: SglCaps::default(),
            })),
        };
        {
            let mut aq = lock(&ctrl.admin);
            ctrl.disable()?;
            ctrl.enable(&mut aq)?;
            ctrl.set_num_queues(&mut aq)?;
        }
        ctrl.identify_controller()?;
        Ok(Arc::new(ctrl))
    }

    /// Identify Controller data and what follows from it.
    pub fn info(&self) -> Arc<CtrlInfo> {
        Arc::clone(&lock(&self.info))
    }

    /// The reset generation: it changes whenever the controller is reset,
    /// and I/O queues of an older generation must be re-created.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Reads Identify Controller again.
    pub fn identify_controller(&self) -> Result<()> {
        let mut buf = vec![0u8; 4096];
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, 0);
        cmd.cdw10 = 1;
        let cpl = self.admin_cmd(&mut cmd, DataBuf::In(&mut buf))?;
        Error::check(cmd.opc, cpl)?;
        let id = IdentifyController::read_from_bytes(&buf[..])
            .map(Box::new)
            .map_err(|_| Error::bad_reply("Identify Controller", "short data"))?;
        let sgl = SglCaps::from_sgls(id.sgls);
        *lock(&self.info) = Arc::new(CtrlInfo { id, sgl });
        Ok(())
    }

    fn csts(&self) -> Csts {
        Csts(self.backing.read32(offset::CSTS))
    }

    /// Waits for CSTS.RDY to equal `rdy`, bounded by CAP.TO.
    fn wait_ready(&self, rdy: bool, what: &'static str) -> Result<()> {
        let start = Instant::now();
        loop {
            let csts = self.csts();
            if csts.0 == u32::MAX {
                return Err(gone(&*self.backing, what));
            }
            if rdy && csts.cfs() {
                return Err(fatal(&*self.backing, what));
            }
            if csts.rdy() == rdy {
                return Ok(());
            }
            if start.elapsed() >= self.cap_timeout {
                return Err(Error::Timeout {
                    what,
                    millis: self.cap_timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Clears CC.EN and waits for CSTS.RDY to clear: from then on the
    /// controller touches no memory.
    fn disable(&self) -> Result<()> {
        let mut cc = Cc(self.backing.read32(offset::CC));
        if cc.en() {
            cc.set_en(false);
            self.backing.write32(offset::CC, cc.0);
        }
        self.wait_ready(
            false,
            "CSTS.RDY to clear after CC.EN=0 (controller disable)",
        )
    }

    /// Programs the admin queue of a disabled controller and enables it.
    fn enable(&self, aq: &mut AdminQ) -> Result<()> {
        aq.qp.reset();
        aq.cid = 0;
        let n = aq.qp.entries - 1;
        self.backing.write32(offset::AQA, Aqa::new(n, n).0);
        self.backing.write64(offset::ASQ, aq.qp.sq.iova());
        self.backing.write64(offset::ACQ, aq.qp.cq.iova());
        let mut cc = Cc(0);
        cc.set_css(if self.cap.css() & 0x40 != 0 { 0b110 } else { 0 });
        cc.set_mps(0);
        cc.set_ams(0);
        cc.set_iosqes(6);
        cc.set_iocqes(4);
        cc.set_en(true);
        self.backing.write32(offset::CC, cc.0);
        self.wait_ready(true, "CSTS.RDY after CC.EN=1 (controller enable)")
    }

    fn set_num_queues(&self, aq: &mut AdminQ) -> Result<()> {
        let mut cmd = Command::new(AdminOpcode::SET_FEATURES.0, 0);
        cmd.cdw10 = FID_NUM_QUEUES;
        let want = u32::from(WANT_QUEUES - 1);
        cmd.cdw11 = want | (want << 16);
        let how = Admin {
            in_reset: true,
            ..Admin::default()
        };
        let cpl = self.admin_locked(aq, &mut cmd, DataBuf::None, how, None)?;
        let cpl = Error::check(cmd.opc, cpl)?;
        let nsq = cpl.cdw0 & 0xffff;
        let ncq = cpl.cdw0 >> 16;
        let granted = nsq.min(ncq).min(want) + 1;
        self.max_qid.store(u64::from(granted), Ordering::Release);
        Ok(())
    }

    /// The format of namespace `nsid`, for the transfer check.
    pub fn format(&self, nsid: u32) -> Option<xfer_check::NsFormat> {
        self.formats.get(nsid, &AdminPort(self))
    }

    /// Resets the controller (disable, enable, Number of Queues) and
    /// starts a new generation, so I/O queues re-create themselves. A
    /// successful reset of a failed controller makes it usable again.
    pub fn reset(&self) -> Result<()> {
        let mut aq = lock(&self.admin);
        self.reset_locked(&mut aq).result
    }

    fn reset_locked(&self, aq: &mut AdminQ) -> Reset {
        if let Err(e) = self.disable() {
            // The controller may still be running commands: their memory
            // stays where it is.
            let err = self.health.fail(
                format!("a reset could not disable it, so memory it may still write is kept: {e}"),
                true,
            );
            return Reset {
                disabled: false,
                result: Err(err),
            };
        }
        self.health.disabled();
        // Only now: queues that see the new generation give back the
        // memory of their lost commands.
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.formats.forget();
        let up = self.enable(aq).and_then(|()| self.set_num_queues(aq));
        let result = match up {
            Ok(()) => {
                self.health.recovered();
                Ok(())
            }
            Err(e) => Err(self
                .health
                .fail(format!("a reset could not bring it back: {e}"), false)),
        };
        Reset {
            disabled: true,
            result,
        }
    }

    /// The error for a command on a failed controller, if it is.
    pub fn check_failed(&self) -> Result<()> {
        match self.health.check() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs an admin command, waiting up to the admin timeout. The data
    /// pointer is the driver's to fill: whatever the caller left in PRP1
    /// and PRP2 is replaced.
    pub fn admin_cmd(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion> {
        self.check_failed()?;
        let need = xfer_check::check_admin("upcie", cmd, data.len())?;
        let mut aq = lock(&self.admin);
        let r = self.admin_locked(&mut aq, cmd, data, Admin::default(), need);
        drop(aq);
        self.formats.note_admin(cmd.opc);
        r
    }

    /// Runs a Create I/O Completion/Submission Queue command whose PRP1
    /// is the ring the driver allocated.
    fn admin_ring_cmd(&self, cmd: &mut Command) -> Result<Completion> {
        let mut aq = lock(&self.admin);
        let how = Admin {
            keep_prp1: true,
            ..Admin::default()
        };
        self.admin_locked(&mut aq, cmd, DataBuf::None, how, None)
    }

    fn admin_locked(
        &self,
        aq: &mut AdminQ,
        cmd: &mut Command,
        mut data: DataBuf<'_>,
        how: Admin,
        need: Option<u64>,
    ) -> Result<Completion> {
        let ring = how.keep_prp1.then_some(cmd.prp1);
        // SGLs are not used for admin commands over PCIe.
        let x = Xfer::map(
            &self.pool,
            cmd,
            HostBuf::of(data.as_slice()).as_slice(),
            None,
            SglMode::Never,
            SglCaps::default(),
            xfer_check::Need {
                data: need,
                meta: None,
            },
        )?;
        if let Some(p1) = ring {
            cmd.prp1 = p1;
        }
        aq.cid = aq.cid.wrapping_add(1);
        cmd.cid = aq.cid;
        match exec(self, &mut aq.qp, cmd, self.admin_timeout, None) {
            Ok(cpl) => {
                x.copy_out(data.as_mut_slice(), None);
                Ok(cpl)
            }
            Err(stall) => {
                let err = self.stall_error(stall, true, cmd.opc, self.admin_timeout);
                if how.in_reset {
                    // The reset's own command, on an enabled controller:
                    // the reset reports it; the mapping stays.
                    x.leak();
                    return Err(err);
                }
                let reset = self.reset_locked(aq);
                reset.release_or_leak(x);
                Err(reset.combine(err))
            }
        }
    }

    /// Resets after a stalled I/O command: the error to report, and
    /// whether the controller is known to be disabled, so that the
    /// command's memory may be released (otherwise it must be leaked).
    pub fn recover(&self, stall: Stall, opc: u8) -> (Error, bool) {
        let err = self.stall_error(stall, false, opc, self.io_timeout);
        if stall == Stall::Reset {
            return (err, true);
        }
        let reset = {
            let mut aq = lock(&self.admin);
            self.reset_locked(&mut aq)
        };
        (reset.combine(err), reset.disabled)
    }

    fn stall_error(&self, stall: Stall, admin: bool, opc: u8, timeout: Duration) -> Error {
        let name = cmd_name(admin, opc);
        match stall {
            Stall::Timeout => Error::Timeout {
                what: name,
                millis: timeout.as_millis() as u64,
            },
            Stall::Fatal => fatal(&*self.backing, name),
            Stall::Gone => gone(&*self.backing, name),
            Stall::Reset => Error::Stale {
                what: "command",
                why: format!(
                    "{}: the controller was reset while {name} was in flight; it was lost",
                    self.backing.name()
                ),
            },
        }
    }

    /// Takes a free I/O queue identifier.
    pub(super) fn alloc_qid(&self) -> Result<u16> {
        let max = self
            .max_qid
            .load(Ordering::Acquire)
            .min(u64::from(u16::MAX)) as u16;
        let mut used = lock(&self.qids);
        let qid = (1..=max)
            .find(|q| !used.contains(q))
            .ok_or_else(|| Error::Busy {
                outstanding: u32::from(max),
                capacity: u32::from(max),
            })?;
        used.insert(qid);
        Ok(qid)
    }

    pub(super) fn free_qid(&self, qid: u16) {
        lock(&self.qids).remove(&qid);
    }

    /// Creates I/O CQ and SQ `qp.qid` on the controller from `qp`'s rings.
    pub(super) fn create_pair(&self, qp: &QueuePair) -> Result<()> {
        let size = u32::from(qp.entries - 1) << 16 | u32::from(qp.qid);
        let mut cq = Command::new(AdminOpcode::CREATE_IO_CQ.0, 0);
        cq.prp1 = qp.cq.iova();
        cq.cdw10 = size;
        cq.cdw11 = 1; // physically contiguous, no interrupts
        let cpl = self.admin_ring_cmd(&mut cq)?;
        Error::check(cq.opc, cpl)?;
        let mut sq = Command::new(AdminOpcode::CREATE_IO_SQ.0, 0);
        sq.prp1 = qp.sq.iova();
        sq.cdw10 = size;
        sq.cdw11 = u32::from(qp.qid) << 16 | 1;
        let cpl = self.admin_ring_cmd(&mut sq)?;
        if let Err(e) = Error::check(sq.opc, cpl) {
            self.delete_queue(AdminOpcode::DELETE_IO_CQ.0, qp.qid);
            return Err(e);
        }
        Ok(())
    }

    /// Deletes I/O queue `qid` (SQ or CQ by `opc`); whether the
    /// controller confirmed it.
    pub(super) fn delete_queue(&self, opc: u8, qid: u16) -> bool {
        let mut cmd = Command::new(opc, 0);
        cmd.cdw10 = u32::from(qid);
        self.admin_cmd(&mut cmd, DataBuf::None)
            .is_ok_and(|c| c.is_success())
    }

    /// Notifies the controller of a normal shutdown and waits (up to
    /// CAP.TO) for it to complete; then disables it. False when neither
    /// could be confirmed.
    fn shutdown(&self) -> bool {
        let mut cc = Cc(self.backing.read32(offset::CC));
        if cc.en() {
            cc.set_shn(0b01);
            self.backing.write32(offset::CC, cc.0);
            let start = Instant::now();
            while start.elapsed() < self.cap_timeout {
                let csts = self.csts();
                if csts.shst() == 0b10 || csts.0 == u32::MAX || csts.cfs() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        self.disable().is_ok()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if !self.shutdown() || self.health.untrusted() {
            // The controller may still write its admin queue.
            lock(&self.admin).qp.leak();
        }
    }
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("backing", &self.backing.name())
            .field("cap", &format_args!("{:#x}", self.cap.0))
            .finish_non_exhaustive()
    }
}

/// How a reset went.
struct Reset {
    /// CSTS.RDY cleared after CC.EN = 0: the controller touches no memory
    /// of the commands before the reset.
    disabled: bool,
    /// Whether the controller is up again.
    result: Result<()>,
}

impl Reset {
    /// Releases `x` when the controller is known to be disabled; leaks it
    /// otherwise.
    fn release_or_leak(&self, x: Xfer) {
        if self.disabled {
            drop(x);
        } else {
            x.leak();
        }
    }

    /// The error to report after a stall (`err`) and this reset.
    fn combine(&self, err: Error) -> Error {
        match &self.result {
            Ok(()) => err,
            Err(Error::ControllerFailed { name, why }) => Error::ControllerFailed {
                name: name.clone(),
                why: format!("{err}; then {why}"),
            },
            Err(e) => Error::QueueFailed(format!("{err}; the reset that followed failed: {e}")),
        }
    }
}

/// The controller's admin queue as an [`nvmx_core::be::Admin`], for the
/// format lookups of the transfer check.
struct AdminPort<'a>(&'a Controller);

impl nvmx_core::be::Admin for AdminPort<'_> {
    fn id(&self) -> &'static str {
        "upcie"
    }

    fn cmd_admin(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion> {
        self.0.admin_cmd(cmd, data)
    }
}

fn fatal(backing: &dyn DeviceBacking, what: &str) -> Error {
    Error::controller_failed(
        backing.name(),
        format!(
            "fatal status (CSTS.CFS) while waiting for {what}; the driver resets the controller"
        ),
    )
}

fn gone(backing: &dyn DeviceBacking, what: &str) -> Error {
    Error::controller_failed(
        backing.name(),
        format!("the device does not answer (registers read all ones) while {what}"),
    )
}

/// Submits `cmd` on `qp` and polls for its completion (by cid), checking
/// CSTS now and then, for at most `timeout`. With `generation`, a reset by
/// another thread ends the wait at once ([`Stall::Reset`]) instead of
/// after the timeout.
pub(crate) fn exec(
    ctrl: &Controller,
    qp: &mut QueuePair,
    cmd: &Command,
    timeout: Duration,
    generation: Option<u64>,
) -> std::result::Result<Completion, Stall> {
    let start = Instant::now();
    let backing = &ctrl.backing;
    let stop = |start| {
        if generation.is_some_and(|g| g != ctrl.generation()) {
            return Some(Stall::Reset);
        }
        check(backing, start, timeout)
    };
    while !qp.submit(cmd) {
        // A full ring: completions of abandoned commands still to reap.
        if qp.poll().is_none() {
            if let Some(s) = stop(start) {
                return Err(s);
            }
            std::thread::yield_now();
        }
    }
    let mut spins = 0u32;
    loop {
        while let Some(cpl) = qp.poll() {
            if cpl.cid == cmd.cid {
                return Ok(cpl);
            }
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            if let Some(s) = stop(start) {
                return Err(s);
            }
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// The controller's health and the clock: why to stop waiting, if so.
pub(crate) fn check(
    backing: &Arc<dyn DeviceBacking>,
    start: Instant,
    timeout: Duration,
) -> Option<Stall> {
    let csts = Csts(backing.read32(offset::CSTS));
    if csts.0 == u32::MAX {
        return Some(Stall::Gone);
    }
    if csts.cfs() {
        return Some(Stall::Fatal);
    }
    (start.elapsed() >= timeout).then_some(Stall::Timeout)
}
