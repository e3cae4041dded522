//! # nvmx-upcie
//!
//! `upcie`: a user-space NVMe driver for PCIe controllers.
//!
//! This crate owns the driver (bring-up, queue pairs, PRP/SGL mapping,
//! reset), its machine boundary ([`backing::DeviceBacking`]) with the
//! Linux vfio-pci and uio_pci_generic backings, and the in-process
//! emulated device ([`emu`]) that serves it with the ramdisk controller.
//! It depends on `nvmx-core`, `nvmx-spec`, `nvmx-ramdisk` (the emulated
//! device) and `nvmx-os` (the Linux PCI scan and in-use check); it must
//! not depend on the `nvmx` facade.
//!
//!
//! The kernel's NVMe driver is bypassed: nvmx maps the controller's
//! registers, allocates memory the controller can reach by DMA, and drives
//! the controller itself, polling for completions. The design follows the
//! split that keeps such a driver testable:
//!
//! - [`backing::DeviceBacking`] is all the driver needs from the machine:
//!   32/64-bit register access to BAR0 and DMA memory with its controller
//!   addresses. The OS side implements it over vfio-pci (IOMMU mappings)
//!   and uio_pci_generic (pinned memory, physical addresses); [`emu`]
//!   implements it in process, serving commands with the ramdisk
//!   controller, so the whole driver is tested on any host.
//! - Everything above the trait is safe Rust: controller bring-up, the
//!   admin queue, I/O queue creation and controller reset (`ctrl`), queue
//!   pairs with phase tags and doorbells (`qpair`), PRP lists (`prp`)
//!   and SGLs ([`sgl`]), mapping of host buffers with bounce buffers for
//!   memory the controller cannot reach (`xfer`), the sync/admin
//!   interfaces ([`UpcieCtrl`]), the async engine (`engine`) and the
//!   buffer allocator (`memory`).
//! - The few `unsafe` blocks that touch DMA memory (volatile completion
//!   reads, copies into rings and bounce buffers, the barriers that order
//!   them against the device) live in one small module, `dma`, each with
//!   a `// SAFETY:` line; the async engine adds the ones its trait
//!   contract requires. [`DeviceBacking`] is an `unsafe trait`: its
//!   numbered contract is what that code relies on.
//! - Memory is given back only when the device is done with it: a
//!   command's buffers, bounce buffers and PRP/SGL pages are released
//!   once the command completed or a reset confirmed the controller
//!   disabled (CSTS.RDY = 0 after CC.EN = 0). When a reset cannot confirm
//!   it, the controller is failed by name ([`nvmx_core::Error::ControllerFailed`])
//!   and that memory is leaked on purpose.
//! - Every raw command is checked against its buffers before anything is
//!   mapped (the rules of `nvmx_core::be::xfer_check`: NLB for reads and writes
//!   with their metadata, NUMD, Identify's 4 KiB, feature data), and PRP
//!   lists and SGLs describe the transfer, no more.
//!
//! Queues: the admin queue (32 entries), one driver-owned I/O queue pair
//! for sync commands (created on first use), and one I/O queue pair per
//! nvmx `Queue`, sized to its capacity, with the queue's slot as
//! the command identifier. Commands are polled; a command that outlives
//! its timeout (`--admin-timeout`, `--command-timeout`) or a controller
//! that reports a fatal status is answered with a controller reset and an
//! error naming the command; I/O queues re-create themselves after a
//! reset. Dropping the device notifies the controller of a shutdown.
//!
//! The device URI may carry `?sgl=auto|always|never` (default `auto`):
//! SGLs for every transfer, for scattered buffers only, or never; SGLs are
//! used only when Identify Controller SGLS advertises them, and metadata
//! goes by SGL (PSDT 2) when SGLS bit 19 allows.

pub mod backing;
mod ctrl;
mod dma;
pub mod emu;
mod engine;
mod health;
mod iface;
mod ioq;
#[cfg(target_os = "linux")]
pub mod linux;
mod memory;
mod pool;
mod prp;
mod qpair;
pub mod sgl;
#[cfg(test)]
mod tests;
mod xfer;

use std::sync::Arc;

use nvmx_spec::Command;
use nvmx_spec::opcode::AdminOpcode;

pub use backing::{DeviceBacking, DmaRegion};
#[cfg(target_os = "linux")]
pub(crate) use engine::new_engine;
pub use iface::UpcieCtrl;
pub use xfer::SglMode;

use nvmx_core::be::{Admin, Backend, DataBuf};
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};

/// Brings up the controller behind `backing` and opens namespace
/// `opts.nsid` (`--dev-nsid`; 0 opens the controller alone) on it.
///
/// The OS side (the vfio-pci and uio_pci_generic backend configurations)
/// calls this once it has a backing for the PCI function named by `uri`.
/// `uri` may carry `?sgl=auto|always|never`. Fails, naming the active
/// namespaces, when `opts.nsid` is not one of them.
pub fn open_backing(
    backing: Arc<dyn DeviceBacking>,
    uri: &nvmx_core::uri::Uri,
    opts: &nvmx_core::opts::Options,
) -> Result<Backend> {
    let sgl_mode = match uri.param("sgl") {
        Some(v) => SglMode::parse(v)?,
        None => SglMode::Auto,
    };
    let ctrl = ctrl::Controller::new(backing, opts.admin_timeout, opts.command_timeout, sgl_mode)?;
    let up = Arc::new(UpcieCtrl::new(ctrl));
    let info = up.ctrl.info();
    let subnqn = String::from_utf8_lossy(&info.id.subnqn)
        .trim_end_matches('\0')
        .trim()
        .to_string();
    let (dtype, csi) = if opts.nsid == 0 {
        (DevType::NvmeController, 0)
    } else {
        let active = active_nsids(&*up)?;
        if !active.contains(&opts.nsid) {
            let list: Vec<String> = active.iter().map(u32::to_string).collect();
            return Err(Error::out_of_range(
                "dev-nsid",
                format!(
                    "{} is not an active namespace of {}; active: {}",
                    opts.nsid,
                    up.name(),
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                ),
            ));
        }
        // Looked up now, not at the first I/O command.
        up.ctrl.format(opts.nsid);
        (DevType::NvmeNamespace, ns_csi(&*up, opts.nsid))
    };
    Ok(Backend {
        sync: up.clone(),
        admin: up,
        ident: Ident {
            uri: uri.raw.clone(),
            dtype,
            nsid: opts.nsid,
            csi,
            subnqn,
        },
    })
}

/// The active namespace list (Identify CNS 02h from nsid 0).
fn active_nsids(admin: &dyn Admin) -> Result<Vec<u32>> {
    let mut buf = vec![0u8; 4096];
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, 0);
    cmd.cdw10 = 0x02;
    let cpl = admin.cmd_admin(&mut cmd, DataBuf::In(&mut buf))?;
    Error::check(cmd.opc, cpl)?;
    Ok(buf
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .take_while(|&n| n != 0)
        .collect())
}

/// The namespace's command set, from its identification descriptors
/// (type 04h); NVM (0) when it reports none.
fn ns_csi(admin: &dyn Admin, nsid: u32) -> u8 {
    let mut buf = vec![0u8; 4096];
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
    cmd.cdw10 = 0x03;
    match admin.cmd_admin(&mut cmd, DataBuf::In(&mut buf)) {
        Ok(c) if c.is_success() => {}
        _ => return 0,
    }
    let mut at = 0;
    while at + 4 <= buf.len() {
        let (nidt, nidl) = (buf[at], usize::from(buf[at + 1]));
        if nidt == 0 {
            break;
        }
        if nidt == 4 && nidl >= 1 && at + 4 < buf.len() {
            return buf[at + 4];
        }
        at += 4 + nidl;
    }
    0
}
