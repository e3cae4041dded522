//! The open controller as nvmx's sync and admin interfaces.

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, PoisonError};

use nvmx_spec::Command;
use nvmx_spec::Completion;
use nvmx_spec::regs::{ControllerRegisters, offset};
use zerocopy::FromZeros;

use super::ctrl::{Controller, Stall, exec};
use super::ioq::IoQueue;
use super::memory::DmaMemory;
use super::xfer::{HostBuf, Xfer};
use nvmx_core::be::xfer_check;
use nvmx_core::be::{Admin, DataBuf, DataVec, Pseudo, SyncIo};
use nvmx_core::buf::Memory;
use nvmx_core::error::{Error, Result};

/// Entries of the driver-owned I/O queue pair that serves sync commands.
const SYNC_QUEUE_ENTRIES: u32 = 16;

/// An NVMe controller driven from user space: nvmx's `upcie` sync and
/// admin interfaces. Every raw command is checked against its buffers
/// before anything is mapped (`nvmx_core::be::xfer_check`).
///
/// Sync commands run one at a time on an I/O queue pair the driver owns
/// (created on first use), polled for their completion; admin commands
/// run on the admin queue.
pub struct UpcieCtrl {
    pub(crate) ctrl: Arc<Controller>,
    sync_q: Mutex<Option<IoQueue>>,
    mem: Arc<DmaMemory>,
}

impl std::fmt::Debug for UpcieCtrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpcieCtrl")
            .field("ctrl", &self.ctrl)
            .finish_non_exhaustive()
    }
}

impl UpcieCtrl {
    pub(crate) fn new(ctrl: Arc<Controller>) -> UpcieCtrl {
        let mem = Arc::new(DmaMemory::new(
            Arc::clone(&ctrl.backing),
            Arc::clone(&ctrl.health),
        ));
        UpcieCtrl {
            ctrl,
            sync_q: Mutex::new(None),
            mem,
        }
    }

    /// The name of the device (PCI address, or `emulated`).
    pub fn name(&self) -> &str {
        self.ctrl.backing.name()
    }

    /// The controller's reset generation: it grows by one on every reset
    /// (asked for, or after a timeout or a fatal status).
    pub fn generation(&self) -> u64 {
        self.ctrl.generation()
    }
}

impl UpcieCtrl {
    /// Runs one I/O command on the sync queue pair; the mapping comes back
    /// for the caller to copy bounced data out of.
    fn run_io(
        &self,
        cmd: &mut Command,
        data: &[HostBuf<'_>],
        meta: Option<HostBuf<'_>>,
    ) -> Result<(Completion, Xfer)> {
        self.ctrl.check_failed()?;
        // Refused before anything is mapped: a buffer shorter than what
        // the command moves.
        let data_len = data.iter().map(|d| d.len).sum();
        let meta_len = meta.map_or(0, |m| m.len);
        let format = self.ctrl.format(cmd.nsid);
        let need = xfer_check::check_io(cmd, format.as_ref(), data_len, meta_len)?;
        let mut guard = self.sync_q.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(q) = guard.as_mut()
            && let Err(e) = q.revive()
        {
            // Not re-created: a new queue pair next time.
            *guard = None;
            return Err(e);
        }
        let q = match guard.as_mut() {
            Some(q) => q,
            None => guard.insert(IoQueue::new(&self.ctrl, SYNC_QUEUE_ENTRIES)?),
        };
        let info = self.ctrl.info();
        let x = Xfer::map(
            &self.ctrl.pool,
            cmd,
            data,
            meta,
            self.ctrl.sgl_mode,
            info.sgl,
            need,
        )?;
        q.cid = q.cid.wrapping_add(1);
        cmd.cid = q.cid;
        let generation = self.ctrl.generation();
        match exec(
            &self.ctrl,
            &mut q.qp,
            cmd,
            self.ctrl.io_timeout,
            Some(generation),
        ) {
            Ok(cpl) => Ok((cpl, x)),
            Err(stall) => {
                let (err, disabled) = self.ctrl.recover(stall, cmd.opc);
                if disabled {
                    drop(x);
                } else {
                    // The controller may still write the bounce buffers
                    // and lists (and the caller's DMA buffer, which the
                    // allocator leaks from now on).
                    x.leak();
                }
                debug_assert!(stall != Stall::Reset || disabled);
                Err(err)
            }
        }
    }
}

impl SyncIo for UpcieCtrl {
    fn id(&self) -> &'static str {
        "upcie"
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        mut data: DataBuf<'_>,
        mut meta: DataBuf<'_>,
    ) -> Result<Completion> {
        let pieces: Vec<HostBuf<'_>> = HostBuf::of(data.as_slice()).into_iter().collect();
        let (cpl, x) = self.run_io(cmd, &pieces, HostBuf::of(meta.as_slice()))?;
        x.copy_out(data.as_mut_slice(), meta.as_mut_slice());
        Ok(cpl)
    }

    /// Scattered buffers go to the controller as they are (several PRP
    /// ranges when they meet at page boundaries, an SGL otherwise when the
    /// controller has SGLs) or through one bounce buffer.
    fn cmd_iov(
        &self,
        cmd: &mut Command,
        data: DataVec<'_, '_>,
        mut meta: DataBuf<'_>,
    ) -> Result<Completion> {
        match data {
            DataVec::Out(iov) => {
                let pieces: Vec<HostBuf<'_>> = iov.iter().filter_map(|s| HostBuf::of(s)).collect();
                let (cpl, x) = self.run_io(cmd, &pieces, HostBuf::of(meta.as_slice()))?;
                x.copy_out(None, meta.as_mut_slice());
                Ok(cpl)
            }
            DataVec::In(iov) => {
                let (cpl, x) = {
                    let pieces: Vec<HostBuf<'_>> =
                        iov.iter().filter_map(|s| HostBuf::of(s)).collect();
                    self.run_io(cmd, &pieces, HostBuf::of(meta.as_slice()))?
                };
                x.copy_out_vec(iov);
                x.copy_out(None, meta.as_mut_slice());
                Ok(cpl)
            }
        }
    }

    fn memory(&self) -> Option<Arc<dyn Memory>> {
        Some(self.mem.clone())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl Admin for UpcieCtrl {
    fn id(&self) -> &'static str {
        "upcie"
    }

    fn cmd_admin(&self, cmd: &mut Command, data: DataBuf<'_>) -> Result<Completion> {
        self.ctrl.admin_cmd(cmd, data)
    }

    fn pseudo(&self, op: Pseudo) -> Result<()> {
        match op {
            Pseudo::ControllerReset => self.ctrl.reset(),
            Pseudo::NamespaceRescan => self.ctrl.identify_controller(),
            Pseudo::SubsystemReset => {
                if !self.ctrl.cap.nssrs() {
                    return Err(Error::unsupported(
                        "upcie",
                        format!(
                            "{}: subsystem reset (CAP.NSSRS is 0: the controller has no NSSR register)",
                            self.name()
                        ),
                    ));
                }
                // "NVMe" in ASCII starts an NVM subsystem reset.
                self.ctrl.backing.write32(offset::NSSR, 0x4e56_4d65);
                self.ctrl.reset()
            }
        }
    }

    fn registers(&self) -> Result<ControllerRegisters> {
        let b = &self.ctrl.backing;
        let mut r = ControllerRegisters::new_zeroed();
        r.cap = nvmx_spec::regs::Cap(b.read64(offset::CAP));
        r.vs = nvmx_spec::regs::Version(b.read32(offset::VS));
        r.cc = nvmx_spec::regs::Cc(b.read32(offset::CC));
        r.csts = nvmx_spec::regs::Csts(b.read32(offset::CSTS));
        r.aqa = nvmx_spec::regs::Aqa(b.read32(offset::AQA));
        r.asq = nvmx_spec::regs::Asq(b.read64(offset::ASQ));
        r.acq = nvmx_spec::regs::Acq(b.read64(offset::ACQ));
        Ok(r)
    }
}
