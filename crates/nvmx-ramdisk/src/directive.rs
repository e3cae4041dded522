//! Directives on the ramdisk's NVM namespace: Directive Send and Receive
//! for the Identify and Streams directives, and the directive a write
//! carries (streams, or data placement when FDP is on).
//!
//! Identify reports Identify and Streams supported, plus Data Placement
//! with FDP; Identify is always enabled, Streams when the host enables it,
//! Data Placement while FDP is enabled (it follows the FDP Mode feature and
//! cannot be enabled with Directive Send). Streams: a limit of
//! [`MSL`] streams, all of them available to the namespace; Allocate
//! Resources grants up to that many; a write with stream identifier 1 to
//! the limit opens the stream; Release Identifier closes one and Release
//! Resources closes all and gives the allocation back. Disabling the
//! Streams directive does the same. Streams are a hint: the data is stored
//! the same either way.

use nvmx_spec::Command;
use nvmx_spec::cmd::{NvmRw, dtype};
use nvmx_spec::directive::{
    Directive, IdentifyDirectiveParams, StreamsParams, identify_op, streams_op,
};
use nvmx_spec::identify::{IdentifyController, oacs};
use zerocopy::IntoBytes;

use super::bufs::out_buf;
use super::ctrl::RamCtrl;
use super::ctrl::fdp::Placement;
use super::fail::{Exec, Fail, field};
use super::ns::{Namespace, NsKind};
use nvmx_core::be::DataBuf;

/// Maximum streams limit (MSL), also the streams available to the namespace.
pub(super) const MSL: u16 = 16;
/// Stream write size, in logical blocks (SWS).
const SWS: u32 = 8;
/// Stream granularity size, in units of SWS (SGS).
const SGS: u16 = 1;

/// Sets OACS Directives in Identify Controller, and the FDP bits.
pub(super) fn identify_controller(ctrl: &RamCtrl, c: &mut IdentifyController) {
    c.oacs |= oacs::DIRECTIVES;
    if let Some(fdp) = &ctrl.fdp {
        fdp.identify_controller(c);
    }
}

/// The namespace named by a directive command: an NVM namespace.
fn nvm_namespace(ctrl: &RamCtrl, nsid: u32) -> Result<std::sync::Arc<Namespace>, Fail> {
    let ns = ctrl.namespace(nsid).ok_or_else(Fail::namespace)?;
    if ns.kind != NsKind::Nvm {
        return Err(Fail::field(field::CDW11 + 1));
    }
    Ok(ns)
}

/// Runs Directive Send.
pub(super) fn send(ctrl: &RamCtrl, cmd: &Command, _data: DataBuf<'_>) -> Exec {
    let d = Directive::from_command(cmd);
    nvm_namespace(ctrl, d.nsid)?;
    let mut st = ctrl.directives.state();
    match (d.dtype, d.doper) {
        (dtype::IDENTIFY, identify_op::SEND_ENABLE) => {
            let enable = d.cdw12 & 1 == 1;
            match (d.cdw12 >> 8) as u8 {
                dtype::STREAMS => {
                    st.streams = enable;
                    if !enable {
                        st.allocated = 0;
                        st.open.clear();
                    }
                    Ok(0)
                }
                // Identify is always on; data placement follows FDP mode.
                _ => Err(Fail::field(field::CDW12 + 1)),
            }
        }
        (dtype::STREAMS, op) => {
            if !st.streams {
                return Err(Fail::field(field::CDW11 + 1));
            }
            match op {
                streams_op::SEND_RELEASE_ID => {
                    if st.open.remove(&d.dspec) {
                        Ok(0)
                    } else {
                        Err(Fail::field(field::CDW11 + 2))
                    }
                }
                streams_op::SEND_RELEASE_RESOURCES => {
                    st.allocated = 0;
                    st.open.clear();
                    Ok(0)
                }
                _ => Err(Fail::field(field::CDW11)),
            }
        }
        (dtype::IDENTIFY, _) => Err(Fail::field(field::CDW11)),
        _ => Err(Fail::field(field::CDW11 + 1)),
    }
}

/// Runs Directive Receive.
pub(super) fn recv(ctrl: &RamCtrl, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let d = Directive::from_command(cmd);
    nvm_namespace(ctrl, d.nsid)?;
    let st = ctrl.directives.state();
    let page: Vec<u8> = match (d.dtype, d.doper) {
        (dtype::IDENTIFY, identify_op::RECV_RETURN_PARAMS) => {
            let mut p = IdentifyDirectiveParams::default();
            p.supported[0] = 1 << dtype::IDENTIFY | 1 << dtype::STREAMS;
            p.enabled[0] = 1 << dtype::IDENTIFY;
            if st.streams {
                p.enabled[0] |= 1 << dtype::STREAMS;
            }
            if let Some(fdp) = &ctrl.fdp {
                p.supported[0] |= 1 << dtype::DATA_PLACEMENT;
                if fdp.enabled() {
                    p.enabled[0] |= 1 << dtype::DATA_PLACEMENT;
                }
            }
            p.as_bytes().to_vec()
        }
        (dtype::STREAMS, streams_op::RECV_RETURN_PARAMS) => StreamsParams {
            msl: MSL,
            nssa: MSL - st.allocated,
            nsso: st.open.len() as u16,
            nssc: 0,
            sws: SWS,
            sgs: SGS,
            nsa: st.allocated,
            nso: st.open.len() as u16,
            ..Default::default()
        }
        .as_bytes()
        .to_vec(),
        (dtype::STREAMS, op) if st.streams => match op {
            streams_op::RECV_GET_STATUS => {
                let mut out = (st.open.len() as u16).to_le_bytes().to_vec();
                for id in &st.open {
                    out.extend_from_slice(&id.to_le_bytes());
                }
                out
            }
            streams_op::RECV_ALLOCATE_RESOURCES => {
                drop(st);
                let mut st = ctrl.directives.state();
                st.allocated = (d.cdw12 as u16).min(MSL);
                return Ok(u32::from(st.allocated));
            }
            _ => return Err(Fail::field(field::CDW11)),
        },
        (dtype::STREAMS, _) => return Err(Fail::field(field::CDW11 + 1)),
        (dtype::IDENTIFY, _) => return Err(Fail::field(field::CDW11)),
        _ => return Err(Fail::field(field::CDW11 + 1)),
    };
    let nbytes = d.nbytes();
    let buf = out_buf(&mut data, nbytes, "Directive Receive")?;
    let want = buf.len().min(usize::try_from(nbytes).unwrap_or(usize::MAX));
    let n = page.len().min(want);
    buf[..n].copy_from_slice(&page[..n]);
    buf[n..want].fill(0);
    Ok(0)
}

/// What a write's directive decided, applied once the data is stored.
#[derive(Clone, Copy, Debug)]
pub(super) struct WritePlan {
    placement: Option<Placement>,
}

/// Checks a write's directive (DTYPE, DSPEC) before the data moves: an
/// unknown or disabled directive, or a stream identifier out of range, is
/// Invalid Field in Command.
pub(super) fn plan_write(ctrl: &RamCtrl, rw: &NvmRw) -> Result<WritePlan, Fail> {
    let bad_dtype = || Fail::field(field::CDW12 + 2);
    match rw.dtype {
        0 | dtype::DATA_PLACEMENT => {}
        dtype::STREAMS => {
            let mut st = ctrl.directives.state();
            if !st.streams {
                return Err(bad_dtype());
            }
            let limit = if st.allocated > 0 { st.allocated } else { MSL };
            if rw.dspec == 0 || rw.dspec > limit {
                // DSPEC is CDW13 bits 31:16: byte 54 of the command.
                return Err(Fail::field(field::CDW12 + 6));
            }
            st.open.insert(rw.dspec);
        }
        _ => return Err(bad_dtype()),
    }
    let placement = match &ctrl.fdp {
        Some(fdp) => Some(fdp.place(rw)?),
        None if rw.dtype == dtype::DATA_PLACEMENT => return Err(bad_dtype()),
        None => None,
    };
    Ok(WritePlan { placement })
}

/// Accounts a stored write of `n` blocks.
pub(super) fn commit_write(ctrl: &RamCtrl, ns: &Namespace, plan: WritePlan, n: u64) {
    if let (Some(fdp), Some(p)) = (&ctrl.fdp, plan.placement) {
        fdp.written(ctrl, ns.nsid, p, n);
    }
}
