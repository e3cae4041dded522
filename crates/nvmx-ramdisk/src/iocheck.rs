//! The checks the NVM command set's I/O commands share, with and without
//! protection information: LBA range, MDTS, and the status a media
//! failure completes with.

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::status::{sc, sc_media, sct};

use super::ctrl::RamCtrl;
use super::fail::{Fail, field};
use super::media::MediaError;
use super::ns::Namespace;

/// The status for a media failure.
pub(super) fn media_fail(ctrl: &RamCtrl, e: MediaError) -> Fail {
    match e {
        MediaError::Uncorrectable { lba } => {
            ctrl.stats.media_error();
            Fail::dnr(sct::MEDIA, sc_media::UNRECOVERED_READ_ERROR).lba(lba)
        }
        MediaError::Miscompare { lba } => Fail::dnr(sct::MEDIA, sc_media::COMPARE_FAILURE).lba(lba),
        // Memory may be freed by then, so a retry may succeed.
        MediaError::OutOfMemory { lba } => Fail::retry(sct::GENERIC, sc::INTERNAL).lba(lba),
        MediaError::Bounds => Fail::dnr(sct::GENERIC, sc::INTERNAL),
    }
}

/// Checks that `slba` and `n` blocks lie within the namespace.
pub(super) fn check_range(ns: &Namespace, slba: u64, n: u64) -> Result<(), Fail> {
    match slba.checked_add(n) {
        Some(end) if end <= ns.nsze => Ok(()),
        _ => Err(Fail::dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
            .lba(slba)
            .at(field::CDW10, 0)),
    }
}

/// Checks the range of an LBA-range command and returns its block count.
pub(super) fn rw_range(ns: &Namespace, rw: &NvmRw) -> Result<u64, Fail> {
    let n = u64::from(rw.nblocks());
    check_range(ns, rw.slba, n)?;
    Ok(n)
}

/// Checks a data transfer of `n` blocks against MDTS. MDTS counts the
/// metadata too when it is interleaved with the data.
pub(super) fn check_mdts(ctrl: &RamCtrl, ns: &Namespace, n: u64) -> Result<(), Fail> {
    let bytes = n.saturating_mul(ns.host_block_bytes());
    match ctrl.params.max_transfer() {
        Some(max) if bytes > max => Err(Fail::field(field::CDW12)),
        _ => Ok(()),
    }
}
