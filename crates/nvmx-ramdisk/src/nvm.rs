//! The NVM command set's I/O commands on an NVM namespace.
//!
//! Every command that addresses blocks is checked in this order: the LBA
//! range against the namespace size (LBA Out of Range), the transfer
//! against MDTS for commands that move data (Invalid Field), then the host
//! buffers (a host-side error, see the fail module). The data then moves
//! through the media module.
//!
//! SMART counting follows the NVM command set: Read and Compare are host
//! read commands; Read, Compare and Verify add to data units read; Write is
//! a host write command and adds to data units written, as does the
//! destination of a Copy. Write Zeroes, Write Uncorrectable and deallocate
//! count for neither.
//!
//! On a namespace formatted with protection information, Read and Write
//! go through the pi module (insert, check, strip); every other command,
//! and every command on a namespace without PI, ignores PRINFO, as the
//! specification says for namespaces formatted without it.

use nvmx_spec::Command;
use nvmx_spec::cmd::NvmRw;
use nvmx_spec::copy::{
    CopySourceRangeFormat0, CopySourceRangeFormat1, DESFMT_0, DESFMT_1, SimpleCopy,
};
use nvmx_spec::dsm::{Dsm, DsmRange};
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{sc, sc_cmd, sct};
use zerocopy::FromBytes;

use super::ctrl::RamCtrl;
use super::fail::{Exec, Fail, field};
use super::iocheck::{check_mdts, check_range, media_fail, rw_range};
use super::media::{Blocks, BlocksMut, MediaError};
use super::ns::Namespace;
use nvmx_core::be::DataBuf;
use nvmx_core::error::Error;

/// Copy: maximum single source range length in blocks (MSSRL).
pub(super) const MSSRL: u16 = 128;
/// Copy: maximum copy length in blocks (MCL).
pub(super) const MCL: u32 = 1024;
/// Copy: maximum source range count, 0-based (MSRC).
pub(super) const MSRC: u8 = 127;

/// Runs the I/O command `cmd` on the NVM namespace `ns`.
pub(super) fn exec(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Exec {
    match NvmOpcode(cmd.opc) {
        NvmOpcode::FLUSH => Ok(0),
        NvmOpcode::WRITE => match super::pi::layout(ns) {
            Some(l) => super::pi::write(ctrl, ns, &l, cmd, data, meta),
            None => write(ctrl, ns, cmd, data, meta),
        },
        NvmOpcode::READ => match super::pi::layout(ns) {
            Some(l) => super::pi::read(ctrl, ns, &l, cmd, data, meta),
            None => read(ctrl, ns, cmd, data, meta),
        },
        NvmOpcode::COMPARE => compare(ctrl, ns, cmd, data, meta),
        NvmOpcode::WRITE_ZEROES => write_zeroes(ns, cmd),
        NvmOpcode::WRITE_UNCORRECTABLE => write_uncorrectable(ns, cmd),
        NvmOpcode::VERIFY => verify(ctrl, ns, cmd),
        NvmOpcode::DSM => dsm(ns, cmd, data),
        NvmOpcode::COPY => copy(ctrl, ns, cmd, data),
        NvmOpcode::IO_MGMT_RECV => super::fdp::io_mgmt_recv(ctrl, ns, cmd, data),
        NvmOpcode::IO_MGMT_SEND => super::fdp::io_mgmt_send(ctrl, ns, cmd, data),
        _ => Err(Fail::opcode()),
    }
}

/// The opcodes [`exec`] runs, for the Commands Supported and Effects log,
/// with whether each changes logical block content.
pub(super) const SUPPORTED: &[(NvmOpcode, bool)] = &[
    (NvmOpcode::FLUSH, false),
    (NvmOpcode::WRITE, true),
    (NvmOpcode::READ, false),
    (NvmOpcode::WRITE_UNCORRECTABLE, true),
    (NvmOpcode::COMPARE, false),
    (NvmOpcode::WRITE_ZEROES, true),
    (NvmOpcode::DSM, true),
    (NvmOpcode::VERIFY, false),
    (NvmOpcode::COPY, true),
    (NvmOpcode::IO_MGMT_RECV, false),
    (NvmOpcode::IO_MGMT_SEND, false),
];

/// Checks that the host gave buffers large enough for `n` blocks, naming
/// the command in the error.
fn check_buffers(
    ns: &Namespace,
    n: u64,
    data: &DataBuf<'_>,
    meta: &DataBuf<'_>,
) -> Result<(), Error> {
    let need = n.saturating_mul(ns.host_block_bytes());
    if (data.len() as u64) < need {
        return Err(Error::short_buffer("data", data.len() as u64, need));
    }
    if ns.separate_meta() {
        let need = n.saturating_mul(ns.ms());
        if (meta.len() as u64) < need {
            return Err(Error::short_buffer("metadata", meta.len() as u64, need));
        }
    }
    Ok(())
}

/// The payload of a write or compare, as blocks.
fn blocks_out<'a>(ns: &Namespace, data: &'a DataBuf<'_>, meta: &'a DataBuf<'_>) -> Blocks<'a> {
    let meta = if ns.separate_meta() {
        meta.as_slice()
    } else {
        &[]
    };
    Blocks {
        data: data.as_slice(),
        meta,
        extended: ns.extended,
    }
}

fn write(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    check_mdts(ctrl, ns, n)?;
    check_buffers(ns, n, &data, &meta)?;
    let plan = super::directive::plan_write(ctrl, &rw)?;
    ns.media
        .write(rw.slba, n, blocks_out(ns, &data, &meta))
        .map_err(|e| media_fail(ctrl, e))?;
    super::directive::commit_write(ctrl, ns, plan, n);
    ctrl.stats.written(n * ns.ds(), true);
    Ok(0)
}

fn read(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    mut data: DataBuf<'_>,
    mut meta: DataBuf<'_>,
) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    check_mdts(ctrl, ns, n)?;
    check_buffers(ns, n, &data, &meta)?;
    let data = data.as_mut_slice().ok_or_else(|| {
        Error::invalid(
            "data buffer",
            "a Read needs a buffer the device can write (DataBuf::In)",
        )
    })?;
    let meta: &mut [u8] = if ns.separate_meta() {
        meta.as_mut_slice().ok_or_else(|| {
            Error::invalid(
                "metadata buffer",
                "a Read needs a metadata buffer the device can write (DataBuf::In)",
            )
        })?
    } else {
        &mut []
    };
    ns.media
        .read(
            rw.slba,
            n,
            BlocksMut {
                data,
                meta,
                extended: ns.extended,
            },
        )
        .map_err(|e| media_fail(ctrl, e))?;
    ctrl.stats.read(n * ns.ds(), true);
    Ok(0)
}

fn compare(
    ctrl: &RamCtrl,
    ns: &Namespace,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    check_mdts(ctrl, ns, n)?;
    check_buffers(ns, n, &data, &meta)?;
    ns.media
        .compare(rw.slba, n, blocks_out(ns, &data, &meta))
        .map_err(|e| media_fail(ctrl, e))?;
    ctrl.stats.read(n * ns.ds(), true);
    Ok(0)
}

fn write_zeroes(ns: &Namespace, cmd: &Command) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    // Deallocated blocks read as zeroes (DLFEAT 001b), so with or without
    // DEAC (CDW12 bit 25) the blocks end up the same: zero data and
    // metadata, and chunks covered whole are given back either way.
    ns.media
        .zero(rw.slba, n)
        .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL).lba(rw.slba))?;
    Ok(0)
}

fn write_uncorrectable(ns: &Namespace, cmd: &Command) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    ns.media
        .mark_uncorrectable(rw.slba, n)
        .map_err(|e| match e {
            MediaError::OutOfMemory { lba } => Fail::retry(sct::GENERIC, sc::INTERNAL).lba(lba),
            _ => Fail::dnr(sct::GENERIC, sc::INTERNAL).lba(rw.slba),
        })?;
    Ok(0)
}

fn verify(ctrl: &RamCtrl, ns: &Namespace, cmd: &Command) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    ns.media
        .verify(rw.slba, n)
        .map_err(|e| media_fail(ctrl, e))?;
    ctrl.stats.read(n * ns.ds(), false);
    Ok(0)
}

/// Dataset Management: deallocates the ranges when AD is set; the other
/// attributes are hints a ramdisk has no use for.
fn dsm(ns: &Namespace, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let dsm = Dsm::from_command(cmd);
    let need = dsm.nbytes();
    let buf = data.as_slice();
    let Some(buf) = buf.get(..need) else {
        return Err(Error::short_buffer("data", buf.len() as u64, need as u64).into());
    };
    // Every range is checked before any is deallocated.
    let mut ranges = Vec::with_capacity(dsm.nranges());
    for raw in buf.chunks_exact(size_of::<DsmRange>()) {
        let r =
            DsmRange::read_from_bytes(raw).map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL))?;
        if r.nlb == 0 {
            continue;
        }
        check_range(ns, r.slba, u64::from(r.nlb))?;
        ranges.push(r);
    }
    if dsm.ad {
        for r in ranges {
            ns.media
                .zero(r.slba, u64::from(r.nlb))
                .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL).lba(r.slba))?;
        }
    }
    Ok(0)
}

/// The source ranges of a Copy, as (SLBA, block count), from descriptors of
/// either format.
fn copy_ranges(desfmt: u8, buf: &[u8]) -> Result<Vec<(u64, u64)>, Fail> {
    fn parse<T: FromBytes>(
        buf: &[u8],
        range: impl Fn(T) -> (u64, u64),
    ) -> Result<Vec<(u64, u64)>, Fail> {
        buf.chunks_exact(size_of::<T>())
            .map(|raw| {
                T::read_from_bytes(raw)
                    .map(&range)
                    .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL))
            })
            .collect()
    }
    match desfmt {
        DESFMT_0 => parse(buf, |d: CopySourceRangeFormat0| {
            (d.slba, u64::from(d.nblocks()))
        }),
        _ => parse(buf, |d: CopySourceRangeFormat1| {
            (d.slba, u64::from(d.nblocks()))
        }),
    }
}

/// Copy: reads every source range, then writes them one after another at
/// the destination, so overlapping sources and destination copy the data
/// as it was before the command. Metadata is copied with the data.
fn copy(ctrl: &RamCtrl, ns: &Namespace, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let sc = SimpleCopy::from_command(cmd);
    if !matches!(sc.desfmt, DESFMT_0 | DESFMT_1) {
        return Err(Fail::field(field::CDW12 + 1));
    }
    let too_long = || Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::CMD_SIZE_LIMIT_EXCEEDED);
    if sc.nranges() > usize::from(MSRC) + 1 {
        return Err(too_long().at(field::CDW12, 0));
    }
    let need = sc.nranges() * sc.entry_nbytes();
    let buf = data.as_slice();
    let Some(buf) = buf.get(..need) else {
        return Err(Error::short_buffer("data", buf.len() as u64, need as u64).into());
    };
    let ranges = copy_ranges(sc.desfmt, buf)?;
    let mut total = 0u64;
    for &(slba, n) in &ranges {
        if n > u64::from(MSSRL) {
            return Err(too_long().lba(slba));
        }
        check_range(ns, slba, n)?;
        total += n;
    }
    if total > u64::from(MCL) {
        return Err(too_long());
    }
    check_range(ns, sc.sdlba, total)?;
    // At most MCL blocks: a few MiB.
    let (ds, ms) = (ns.ds() as usize, ns.ms() as usize);
    let blocks = total as usize;
    let mut bounce = vec![0u8; blocks * ds];
    let mut bounce_meta = vec![0u8; blocks * ms];
    let (mut data_left, mut meta_left) = (&mut bounce[..], &mut bounce_meta[..]);
    for (slba, n) in ranges {
        let internal = || Fail::dnr(sct::GENERIC, sc::INTERNAL);
        let (d, rest) = std::mem::take(&mut data_left)
            .split_at_mut_checked(n as usize * ds)
            .ok_or_else(internal)?;
        let (m, mrest) = std::mem::take(&mut meta_left)
            .split_at_mut_checked(n as usize * ms)
            .ok_or_else(internal)?;
        (data_left, meta_left) = (rest, mrest);
        ns.media
            .read(
                slba,
                n,
                BlocksMut {
                    data: d,
                    meta: m,
                    extended: false,
                },
            )
            .map_err(|e| media_fail(ctrl, e))?;
    }
    ns.media
        .write(
            sc.sdlba,
            total,
            Blocks {
                data: &bounce,
                meta: &bounce_meta,
                extended: false,
            },
        )
        .map_err(|e| media_fail(ctrl, e))?;
    ctrl.stats.written(total * ns.ds(), false);
    Ok(0)
}
