//! Read and Write on a namespace formatted with protection information.
//!
//! The blocks are kept with their metadata apart from the data (the media
//! layout), whatever the host layout is. A command's data moves through a
//! bounce buffer in that layout so that PI can be inserted, checked and
//! stripped in one place:
//!
//! - **Write, PRACT 1**: the controller generates the PI tuple of every
//!   block (guard over the data and the metadata bytes before the tuple,
//!   LBAT, the reference tag the PI type asks for) and stores it. When the
//!   metadata is only the tuple, the host transfers no metadata at all.
//! - **Write, PRACT 0**: the host's tuples are checked as PRCHK says and
//!   stored as they are.
//! - **Read**: the stored tuples are checked as PRCHK says; with PRACT 1
//!   and metadata that is only the tuple, the metadata is stripped.
//!
//! A failed check completes with End-to-end Guard (82h), Application Tag
//! (83h) or Reference Tag (84h) Check Error, SCT Media, the LBA in the
//! error log. Invalid Protection Information (SCT 1, SC 81h) answers two
//! PRINFO requests that cannot be honoured: for type 1 with the reference
//! tag checked, an initial reference tag (ILBRT) other than the low bits
//! of SLBA; for type 3, which defines no reference tag, the reference tag
//! check bit set (as QEMU's controller does).
//!
//! Blocks never written or deallocated read as zero data and metadata; on
//! a PI namespace their tuple reads as the escape values instead (guard of
//! the zero data, application tag FFFFh, reference tag all ones), so they
//! pass every check, as the specification describes for deallocated
//! blocks. A block the host wrote with all-zero data and an all-zero
//! tuple is indistinguishable and reads the same way.

use nvmx_spec::Command;
use nvmx_spec::cmd::{IoFlags, NvmRw};
use nvmx_spec::identify::IdentifyNvmNamespace;
use nvmx_spec::pi::{PiFormat, PiType};
use nvmx_spec::status::{sc, sc_cmd, sc_media, sct};

use super::ctrl::RamCtrl;
use super::fail::{Exec, Fail, field};
use super::iocheck::{check_mdts, media_fail, rw_range};
use super::media::{Blocks, BlocksMut};
use super::ns::Namespace;
use super::params::LBA_FORMATS;
use nvmx_core::be::DataBuf;
use nvmx_core::error::Error;
use nvmx_core::pi::{PiField, PiLayout, PiTags, PiTuple, Prchk, check_tuple, guard_over};

/// The PI layout of `ns` in the media layout (metadata apart), or `None`
/// when the namespace is formatted without PI.
pub(super) fn layout(ns: &Namespace) -> Option<PiLayout> {
    (ns.pi != 0).then(|| PiLayout {
        pi_type: PiType(ns.pi),
        format: PiFormat(ns.shape.pif),
        first: ns.pil,
        ds: ns.ds() as usize,
        ms: ns.ms() as usize,
        extended: false,
    })
}

/// The NVM command set Identify Namespace (CNS 5, CSI 0): the
/// protection information format of every LBA format.
pub(super) fn nvm_namespace() -> IdentifyNvmNamespace {
    let mut id = IdentifyNvmNamespace::default();
    for (e, s) in id.elbaf.iter_mut().zip(LBA_FORMATS) {
        *e = u32::from(s.pif & 0x3) << 7;
    }
    id
}

/// The tags a command carries: ILBRT in CDW14 (and CDW3 bits 15:0 for the
/// upper bits of a 48-bit tag), LBAT and LBATM in CDW15.
fn tags(l: &PiLayout, cmd: &Command) -> PiTags {
    let mut ilbrt = u64::from(cmd.cdw14);
    if l.format == PiFormat::GUARD64 {
        ilbrt |= u64::from(cmd.cdw3 & 0xffff) << 32;
    }
    PiTags {
        ilbrt,
        apptag: cmd.cdw15 as u16,
        apptag_mask: (cmd.cdw15 >> 16) as u16,
    }
}

/// Bytes per block in the host's data buffer, and whether metadata
/// crosses the bus.
fn host_shape(ns: &Namespace, l: &PiLayout, pract: bool) -> (usize, bool) {
    if pract && l.ms_is_tuple() {
        (l.ds, false)
    } else {
        (ns.host_block_bytes() as usize, true)
    }
}

/// Checks the host buffers of `n` blocks.
fn check_host(
    ns: &Namespace,
    n: usize,
    stride: usize,
    moves_meta: bool,
    data: &DataBuf<'_>,
    meta: &DataBuf<'_>,
) -> Result<(), Error> {
    let need = n * stride;
    if data.len() < need {
        return Err(Error::short_buffer("data", data.len() as u64, need as u64));
    }
    if moves_meta && ns.separate_meta() {
        let need = n * ns.ms() as usize;
        if meta.len() < need {
            return Err(Error::short_buffer(
                "metadata",
                meta.len() as u64,
                need as u64,
            ));
        }
    }
    Ok(())
}

/// The status of a failed check.
fn check_fail(f: PiField, lba: u64) -> Fail {
    let sc = match f {
        PiField::Guard => sc_media::GUARD_CHECK_ERROR,
        PiField::AppTag => sc_media::APPTAG_CHECK_ERROR,
        PiField::RefTag => sc_media::REFTAG_CHECK_ERROR,
    };
    Fail::dnr(sct::MEDIA, sc).lba(lba)
}

/// Checks every block of a media-layout transfer as `checks` says.
fn check_blocks(
    l: &PiLayout,
    slba: u64,
    tags: &PiTags,
    checks: Prchk,
    bd: &[u8],
    bm: &[u8],
) -> Result<(), Fail> {
    if checks == Prchk::NONE {
        return Ok(());
    }
    let off = l.tuple_offset();
    for (i, (d, m)) in bd.chunks_exact(l.ds).zip(bm.chunks_exact(l.ms)).enumerate() {
        let Some(pi) = l.decode(&m[off..]) else {
            continue;
        };
        check_tuple(l, slba, i as u64, tags, checks, pi, || {
            guard_over(l, d, &m[..off])
        })
        .map_err(|e| check_fail(e.field, e.lba))?;
    }
    Ok(())
}

/// Type 1 ties the initial reference tag to the LBA; type 3 has no
/// reference tag to check.
fn check_ilbrt(l: &PiLayout, slba: u64, tags: &PiTags, checks: Prchk) -> Result<(), Fail> {
    let bad = match l.pi_type {
        PiType::TYPE1 => tags.ilbrt != slba & l.reftag_mask(),
        PiType::TYPE3 => true,
        _ => false,
    };
    if checks.contains(Prchk::REFTAG) && bad {
        return Err(Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_PI)
            .lba(slba)
            .at(field::CDW14, 0));
    }
    Ok(())
}

/// Write on a PI namespace.
pub(super) fn write(
    ctrl: &RamCtrl,
    ns: &Namespace,
    l: &PiLayout,
    cmd: &Command,
    data: DataBuf<'_>,
    meta: DataBuf<'_>,
) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    check_mdts(ctrl, ns, n)?;
    let pract = rw.flags.contains(IoFlags::PRACT);
    let checks = Prchk(rw.flags.prinfo() & 0x7);
    let tags = tags(l, cmd);
    let nb = n as usize;
    let (stride, moves_meta) = host_shape(ns, l, pract);
    check_host(ns, nb, stride, moves_meta, &data, &meta)?;
    check_ilbrt(l, rw.slba, &tags, checks)?;
    let (src, msrc) = (data.as_slice(), meta.as_slice());
    let mut bd = vec![0u8; nb * l.ds];
    let mut bm = vec![0u8; nb * l.ms];
    for (i, (d, m)) in bd
        .chunks_exact_mut(l.ds)
        .zip(bm.chunks_exact_mut(l.ms))
        .enumerate()
    {
        let b = &src[i * stride..(i + 1) * stride];
        d.copy_from_slice(&b[..l.ds]);
        if moves_meta {
            if ns.extended {
                m.copy_from_slice(&b[l.ds..l.ds + l.ms]);
            } else {
                m.copy_from_slice(&msrc[i * l.ms..(i + 1) * l.ms]);
            }
        }
    }
    if pract {
        let off = l.tuple_offset();
        for (i, (d, m)) in bd
            .chunks_exact(l.ds)
            .zip(bm.chunks_exact_mut(l.ms))
            .enumerate()
        {
            let pi = PiTuple {
                guard: guard_over(l, d, &m[..off]),
                apptag: tags.apptag,
                reftag: l.expected_reftag(rw.slba, tags.ilbrt, i as u64),
            };
            l.encode(pi, &mut m[off..])
                .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL))?;
        }
    } else {
        check_blocks(l, rw.slba, &tags, checks, &bd, &bm)?;
    }
    ns.media
        .write(
            rw.slba,
            n,
            Blocks {
                data: &bd,
                meta: &bm,
                extended: false,
            },
        )
        .map_err(|e| media_fail(ctrl, e))?;
    ctrl.stats.written(n * ns.ds(), true);
    Ok(0)
}

/// Read on a PI namespace.
pub(super) fn read(
    ctrl: &RamCtrl,
    ns: &Namespace,
    l: &PiLayout,
    cmd: &Command,
    mut data: DataBuf<'_>,
    mut meta: DataBuf<'_>,
) -> Exec {
    let rw = NvmRw::from_command(cmd);
    let n = rw_range(ns, &rw)?;
    check_mdts(ctrl, ns, n)?;
    let pract = rw.flags.contains(IoFlags::PRACT);
    let checks = Prchk(rw.flags.prinfo() & 0x7);
    let tags = tags(l, cmd);
    let nb = n as usize;
    let (stride, moves_meta) = host_shape(ns, l, pract);
    check_host(ns, nb, stride, moves_meta, &data, &meta)?;
    check_ilbrt(l, rw.slba, &tags, checks)?;
    let mut bd = vec![0u8; nb * l.ds];
    let mut bm = vec![0u8; nb * l.ms];
    ns.media
        .read(
            rw.slba,
            n,
            BlocksMut {
                data: &mut bd,
                meta: &mut bm,
                extended: false,
            },
        )
        .map_err(|e| media_fail(ctrl, e))?;
    let off = l.tuple_offset();
    for (d, m) in bd.chunks_exact(l.ds).zip(bm.chunks_exact_mut(l.ms)) {
        if m.iter().all(|&b| b == 0) && d.iter().all(|&b| b == 0) {
            let pi = PiTuple {
                guard: guard_over(l, d, &m[..off]),
                apptag: 0xffff,
                reftag: l.reftag_mask(),
            };
            l.encode(pi, &mut m[off..])
                .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL))?;
        }
    }
    check_blocks(l, rw.slba, &tags, checks, &bd, &bm)?;
    let out = data.as_mut_slice().ok_or_else(|| {
        Error::invalid(
            "data buffer",
            "a Read needs a buffer the device can write (DataBuf::In)",
        )
    })?;
    for (i, d) in bd.chunks_exact(l.ds).enumerate() {
        let b = &mut out[i * stride..(i + 1) * stride];
        b[..l.ds].copy_from_slice(d);
        if moves_meta && ns.extended {
            b[l.ds..l.ds + l.ms].copy_from_slice(&bm[i * l.ms..(i + 1) * l.ms]);
        }
    }
    if moves_meta && ns.separate_meta() {
        let m = meta.as_mut_slice().ok_or_else(|| {
            Error::invalid(
                "metadata buffer",
                "a Read needs a metadata buffer the device can write (DataBuf::In)",
            )
        })?;
        m[..bm.len()].copy_from_slice(&bm);
    }
    ctrl.stats.read(n * ns.ds(), true);
    Ok(0)
}
