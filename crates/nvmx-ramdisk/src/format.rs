//! Format NVM and Sanitize, and the Sanitize Status log.
//!
//! **Format NVM** (CDW10: LBAFL 3:0, MSET 4, PI 7:5, PIL 8, SES 11:9,
//! LBAFU 13:12) replaces the namespace with one of the chosen LBA format,
//! metadata setting and protection information. Every block is released,
//! so all data and metadata read as zero afterwards, whatever SES says:
//! for a ramdisk a user data erase (SES 1) and a cryptographic erase
//! (SES 2) are the same thing. The namespace keeps its identifiers; its
//! size in blocks follows the new data size. An LBA format that does not
//! exist, or PI without room for the tuple in the metadata, is Invalid
//! Format (SCT 1, SC 0Ah).
//!
//! **Sanitize** (CDW10: SANACT 2:0, AUSE 3, OWPASS 7:4, OIPBP 8, NDAS 9;
//! CDW11: overwrite pattern) runs to completion before the command
//! completes, so the log never shows one in progress:
//!
//! - Block Erase (2) and Crypto Erase (4) release every block (they read
//!   as zero);
//! - Overwrite (3) writes the 32-bit pattern (little-endian, repeated) over
//!   every block's data and metadata, OWPASS times (0 means 16); with OIPBP
//!   the pattern is inverted between passes, so the last pass, and what
//!   stays, is the pattern when OWPASS is odd and its inverse when even;
//! - Exit Failure Mode (1) succeeds and changes nothing: a ramdisk
//!   sanitize does not fail.
//!
//! On a Key Value ramdisk (`kv=1`) Format NVM and every erasing Sanitize
//! delete all pairs; Format NVM there takes only the format the namespace
//! has (Invalid Format otherwise), as a KV namespace has no logical blocks.
//! With FDP (`fdp=1`) the reclaim unit accounting keeps the data and
//! metadata sizes the ramdisk was opened with, so Format NVM may change
//! MSET, PI and PIL but not to an LBA format of another size (Invalid
//! Format). A zoned namespace (`zoned=1`) keeps its sizes too (its zones
//! are given in bytes at open) and takes no PI; Format NVM and Sanitize
//! bring every zone back to its initial state.
//!
//! With NDAS (no-deallocate after sanitize) the log reports status 4
//! ("completed without deallocation"); the erased blocks still read as
//! zero. AUSE is recorded in the log's SCDW10 and has no other effect.

use nvmx_spec::Command;
use nvmx_spec::log::{SanitizeStatusLog, effects, sanitize_status};
use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::status::{sc, sc_cmd, sct};

use super::ctrl::RamCtrl;
use super::ctrl::sanitize::SanitizeState;
use super::fail::{Exec, Fail, NSID, NSID_ALL, field};
use super::media::Blocks;
use super::ns::Namespace;
use super::params::{LBA_FORMATS, Params, pi_tuple_nbytes};

/// Sanitize capabilities: crypto erase (bit 0), block erase (bit 1) and
/// overwrite (bit 2).
pub(super) const SANICAP: u32 = 0x7;
/// Format NVM attributes: format and secure erase apply per namespace
/// (bits 0 and 1 clear), cryptographic erase supported (bit 2).
pub(super) const FNA: u8 = 1 << 2;

/// Sanitize actions (SANACT).
mod sanact {
    pub const EXIT_FAILURE: u8 = 1;
    pub const BLOCK_ERASE: u8 = 2;
    pub const OVERWRITE: u8 = 3;
    pub const CRYPTO_ERASE: u8 = 4;
}

/// Effects (beyond CSUPP) of the admin commands this module runs, for
/// the Commands Supported and Effects log.
pub(super) fn admin_effects(opc: AdminOpcode) -> u32 {
    match opc {
        // Changes blocks and the namespace's format; one at a time per
        // namespace (CSE 001b).
        AdminOpcode::FORMAT_NVM => effects::LBCC | effects::NCC | 1 << 16,
        // Changes blocks; nothing else runs in the subsystem meanwhile
        // (CSE 010b).
        AdminOpcode::SANITIZE => effects::LBCC | 2 << 16,
        _ => 0,
    }
}

/// A namespace like `old`, formatted anew: all blocks released, every
/// zone of a zoned namespace back to its initial state.
fn reformatted(old: &Namespace, p: &Params) -> Result<Namespace, Fail> {
    let ns = match p.zoned {
        Some(z) => super::ns::zones::namespace(old.nsid, p, z),
        None => Namespace::new_nvm(old.nsid, p),
    };
    let mut ns = ns.map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL))?;
    // Identifiers survive a format.
    ns.nguid = old.nguid;
    ns.eui64 = old.eui64;
    Ok(ns)
}

/// Runs Format NVM.
pub(super) fn format(ctrl: &RamCtrl, cmd: &Command) -> Exec {
    if !matches!(cmd.nsid, NSID | NSID_ALL) {
        return Err(Fail::namespace());
    }
    let c = cmd.cdw10;
    let lbaf = (c & 0xf) as u8 | (((c >> 12) & 0x3) as u8) << 4;
    let mset = c >> 4 & 1 == 1;
    let pi = (c >> 5 & 0x7) as u8;
    let pil = c >> 8 & 1 == 1;
    let ses = (c >> 9 & 0x7) as u8;
    let invalid_format = || Fail::dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_FORMAT);
    let Some(shape) = LBA_FORMATS.get(usize::from(lbaf)) else {
        return Err(invalid_format().at(field::CDW10, 0));
    };
    if ses > 2 {
        return Err(Fail::field(field::CDW10 + 1));
    }
    if pi > 3 || (pi != 0 && usize::from(shape.ms) < pi_tuple_nbytes(shape.pif)) {
        return Err(invalid_format().at(field::CDW10, 5));
    }
    let p = Params {
        lbaf,
        extended: mset && shape.ms > 0,
        pi,
        pil,
        ..ctrl.params
    };
    if p.nsze() == 0 {
        return Err(invalid_format().at(field::CDW10, 0));
    }
    let old = ctrl.ns();
    if let Some(kv) = &ctrl.kv {
        let same = (lbaf, p.extended, pi, pil) == (old.lbaf, old.extended, old.pi, old.pil);
        if !same {
            return Err(invalid_format().at(field::CDW10, 0));
        }
        kv.erase();
        return Ok(0);
    }
    let resized = (shape.ds, shape.ms) != (old.shape.ds, old.shape.ms);
    if ctrl.fdp.is_some() && resized {
        return Err(invalid_format().at(field::CDW10, 0));
    }
    if ctrl.params.zoned.is_some() && (resized || pi != 0) {
        return Err(invalid_format().at(field::CDW10, 0));
    }
    let ns = reformatted(&old, &p)?;
    ctrl.replace_ns(ns);
    Ok(0)
}

/// Runs Sanitize.
pub(super) fn sanitize(ctrl: &RamCtrl, cmd: &Command) -> Exec {
    let c = cmd.cdw10;
    let action = (c & 0x7) as u8;
    let owpass = match (c >> 4 & 0xf) as u8 {
        0 => 16,
        n => n,
    };
    let oipbp = c >> 8 & 1 == 1;
    let ndas = c >> 9 & 1 == 1;
    let pattern = cmd.cdw11;
    let old = ctrl.ns();
    let mut passes = 0u8;
    match action {
        sanact::EXIT_FAILURE => return Ok(0),
        sanact::BLOCK_ERASE | sanact::CRYPTO_ERASE => {
            let p = Params {
                lbaf: old.lbaf,
                extended: old.extended,
                pi: old.pi,
                pil: old.pil,
                ..ctrl.params
            };
            let ns = reformatted(&old, &p)?;
            ctrl.replace_ns(ns);
        }
        sanact::OVERWRITE => {
            let last = if oipbp && owpass % 2 == 0 {
                !pattern
            } else {
                pattern
            };
            overwrite(&old, last)?;
            passes = owpass;
        }
        _ => return Err(Fail::field(field::CDW10)),
    }
    if let Some(kv) = &ctrl.kv {
        kv.erase();
    }
    let status = if ndas {
        sanitize_status::COMPLETED_NO_DEALLOC
    } else {
        sanitize_status::COMPLETED
    };
    let mut s = ctrl
        .sanitize
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *s = SanitizeState {
        sstat: status | (passes & 0x1f) << 3,
        scdw10: c,
        written_at: ctrl
            .stats
            .written_512
            .load(std::sync::atomic::Ordering::Relaxed),
    };
    Ok(0)
}

/// Writes `pattern` (little-endian, repeated) over every block's data and
/// metadata.
fn overwrite(ns: &Namespace, pattern: u32) -> Result<(), Fail> {
    const BATCH: u64 = 256;
    let fill = |len: usize| -> Vec<u8> {
        pattern
            .to_le_bytes()
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()
    };
    let data = fill(BATCH as usize * ns.ds() as usize);
    let meta = fill(BATCH as usize * ns.ms() as usize);
    let mut lba = 0;
    while lba < ns.nsze {
        let n = BATCH.min(ns.nsze - lba);
        ns.media
            .write(
                lba,
                n,
                Blocks {
                    data: &data,
                    meta: &meta,
                    extended: false,
                },
            )
            .map_err(|_| Fail::dnr(sct::GENERIC, sc::INTERNAL).lba(lba))?;
        lba += n;
    }
    Ok(())
}

/// The Sanitize Status log.
pub(super) fn sanitize_log(ctrl: &RamCtrl) -> SanitizeStatusLog {
    let s = *ctrl
        .sanitize
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let written = ctrl
        .stats
        .written_512
        .load(std::sync::atomic::Ordering::Relaxed);
    // Global Data Erased: no user data written since manufacture or since
    // the last sanitize.
    let gde = u16::from(written == s.written_at) << 8;
    SanitizeStatusLog {
        // No sanitize in progress.
        sprog: 0xffff,
        sstat: u16::from(s.sstat) | gde,
        scdw10: s.scdw10,
        eto: 0,
        etbe: 0,
        etce: 0,
        etond: 0,
        etbend: 0,
        etcend: 0,
        rsvd32: [0; 480],
    }
}
