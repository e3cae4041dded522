//! Controller operations: `nvmx ctrlr-reset`, `subsystem-reset`,
//! `ns-rescan`, `show-regs`, and `nvmx dsm` (Dataset Management with
//! every attribute).

use std::collections::BTreeMap;

use clap::Args;
use nvmx::be::DataBuf;
use nvmx_spec::Command;
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::regs::ControllerRegisters;
use serde::Serialize;

use crate::args::{DevArgs, UriArg, num_u32, num_u64};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of the commands that take only a device.
#[derive(Args, Debug)]
pub struct CtrlArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    dev: DevArgs,
}

/// Which controller operation to run.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `ctrlr-reset`.
    Reset,
    /// `subsystem-reset`.
    SubsystemReset,
    /// `ns-rescan`.
    Rescan,
}

/// `nvmx ctrlr-reset|subsystem-reset|ns-rescan URI`.
pub fn pseudo(p: &Printer, a: &CtrlArgs, op: Op) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let (name, r) = match op {
        Op::Reset => ("controller reset", dev.controller_reset()),
        Op::SubsystemReset => ("subsystem reset", dev.subsystem_reset()),
        Op::Rescan => ("namespace rescan", dev.namespace_rescan()),
    };
    r.map_err(|e| CliError::command(name, e))?;
    p.comment(&format!("{name}: done"))?;
    Ok(())
}

/// The registers as `show-regs` prints them: raw values and the fields
/// people look for.
#[derive(Serialize)]
struct Regs {
    cap: Hex,
    cap_fields: CapFields,
    vs: String,
    cc: Hex,
    cc_fields: CcFields,
    csts: Hex,
    csts_fields: CstsFields,
    aqa: Hex,
    asq: Hex,
    acq: Hex,
    cmbloc: Hex,
    cmbsz: Hex,
}

#[derive(Serialize)]
struct CapFields {
    mqes: u16,
    cqr: bool,
    to_ms: u32,
    dstrd: u8,
    nssrs: bool,
    css: Hex,
    mpsmin_nbytes: u64,
    mpsmax_nbytes: u64,
}

#[derive(Serialize)]
struct CcFields {
    en: bool,
    css: u8,
    mps: u8,
    shn: u8,
    iosqes: u8,
    iocqes: u8,
}

#[derive(Serialize)]
struct CstsFields {
    rdy: bool,
    cfs: bool,
    shst: u8,
    nssro: bool,
}

impl From<&ControllerRegisters> for Regs {
    fn from(r: &ControllerRegisters) -> Self {
        let (cap, cc, csts) = (r.cap, r.cc, r.csts);
        Regs {
            cap: Hex(cap.0),
            cap_fields: CapFields {
                mqes: cap.mqes(),
                cqr: cap.cqr(),
                to_ms: cap.timeout_ms(),
                dstrd: cap.dstrd(),
                nssrs: cap.nssrs(),
                css: Hex(cap.css().into()),
                mpsmin_nbytes: cap.mpsmin_nbytes(),
                mpsmax_nbytes: cap.mpsmax_nbytes(),
            },
            vs: format!("{}.{}.{}", r.vs.mjr(), r.vs.mnr(), r.vs.ter()),
            cc: Hex(cc.0.into()),
            cc_fields: CcFields {
                en: cc.en(),
                css: cc.css(),
                mps: cc.mps(),
                shn: cc.shn(),
                iosqes: cc.iosqes(),
                iocqes: cc.iocqes(),
            },
            csts: Hex(csts.0.into()),
            csts_fields: CstsFields {
                rdy: csts.rdy(),
                cfs: csts.cfs(),
                shst: csts.shst(),
                nssro: csts.nssro(),
            },
            aqa: Hex(r.aqa.0.into()),
            asq: Hex(r.asq.0),
            acq: Hex(r.acq.0),
            cmbloc: Hex(r.cmbloc.0.into()),
            cmbsz: Hex(r.cmbsz.0.into()),
        }
    }
}

/// `nvmx show-regs URI`.
pub fn show_regs(p: &Printer, a: &CtrlArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let r = dev
        .registers()
        .map_err(|e| CliError::command("reading controller registers", e))?;
    p.print(&BTreeMap::from([("regs", Regs::from(&r))]))?;
    Ok(())
}

/// Arguments of `nvmx dsm`.
#[derive(Args, Debug)]
pub struct DsmArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace (default: the opened one).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Attribute: deallocate the range.
    #[arg(long)]
    ad: bool,
    /// Attribute: integral dataset for write.
    #[arg(long)]
    idw: bool,
    /// Attribute: integral dataset for read.
    #[arg(long)]
    idr: bool,
    /// Starting LBA of the range.
    #[arg(long, value_parser = num_u64, value_name = "LBA")]
    slba: u64,
    /// Length of the range in logical blocks (a count, not zero-based, as
    /// in the range entry).
    #[arg(long, value_parser = num_u32, value_name = "NBLOCKS")]
    llb: u32,
    #[command(flatten)]
    dev: DevArgs,
}

/// `nvmx dsm URI --slba S --llb N [--ad] [--idw] [--idr]`.
pub fn dsm(p: &Printer, a: &DsmArgs) -> CliResult {
    if a.llb == 0 {
        return Err(CliError::new("invalid --llb: 0 blocks"));
    }
    let dev = if a.ad {
        a.dev.open_for_write(&a.uri.uri)?
    } else {
        a.dev.open(&a.uri.uri)?
    };
    let nsect = dev.geometry()?.nsect;
    if a.slba.checked_add(a.llb.into()).is_none_or(|e| e > nsect) {
        return Err(CliError::new(format!(
            "invalid range: --slba {:#x} + --llb {} exceeds the namespace's {nsect} blocks",
            a.slba, a.llb
        )));
    }
    let mut range = [0u8; 16];
    range[4..8].copy_from_slice(&a.llb.to_le_bytes());
    range[8..16].copy_from_slice(&a.slba.to_le_bytes());
    let mut cmd = Command::new(NvmOpcode::DSM.0, a.nsid.unwrap_or(dev.nsid()));
    cmd.cdw10 = 0; // one range, zero-based
    cmd.cdw11 = u32::from(a.idr) | (u32::from(a.idw) << 1) | (u32::from(a.ad) << 2);
    dev.cmd_io(&mut cmd, DataBuf::Out(&range), DataBuf::None)
        .map_err(|e| CliError::command("dataset management", e))?;
    p.comment(&format!(
        "dsm: slba {:#x}, {} blocks, ad {}, idw {}, idr {}",
        a.slba, a.llb, a.ad, a.idw, a.idr
    ))?;
    Ok(())
}
