//! # nvmx-ramdisk
//!
//! The ramdisk: an NVMe controller that lives in memory.
//!
//! This crate owns the software controller behind nvmx's `ramdisk`
//! configurations and the user-space driver's emulated PCIe device: its
//! namespaces, command sets, logs, features, fault injection and media.
//! It depends on `nvmx-core` (interface traits, errors, PI computation)
//! and `nvmx-spec` only; it must not depend on `nvmx-os`, `nvmx-upcie` or
//! the `nvmx` facade (no `Device`: it is a backend, not a user of one).
//!
//!
//! `open("1GB")` creates a controller with one NVM namespace (nsid 1) whose
//! logical blocks are kept in RAM. It answers the same commands a small
//! real controller does, with the same statuses, so everything above the
//! backend interfaces can be exercised without a device:
//!
//! - admin: Identify (controller, namespace,
//!   active namespace list, namespace identification descriptors, the NVM
//!   command set's specific structures), Get Log Page (error information,
//!   SMART / health, firmware slot, commands supported and effects,
//!   supported log pages, sanitize status), Get / Set Features, Format NVM
//!   and Sanitize (see the format module);
//! - NVM I/O: Read, Write, Compare, Write Zeroes, Write Uncorrectable,
//!   Flush, Dataset Management (deallocate), Verify and Copy, with LBA
//!   range, MDTS and namespace checks, separate or interleaved metadata,
//!   end-to-end protection information on Read and Write (see the pi
//!   module), and an error log of failed commands.
//!
//! The URI is a size with optional parameters, e.g. `64MiB?lbaf=3&ext=1`:
//!
//! | key    | values | meaning |
//! |--------|--------|---------|
//! | `lbaf` | 0-6 (default 0) | active LBA format: 512, 512+8, 4096, 4096+8, 4096+64, 512+16, 4096+16 bytes |
//! | `mdts` | 0-32 (default 7) | maximum transfer, 2^mdts pages of 4 KiB; 0 is no limit |
//! | `ext`  | 0 or 1 (default 0) | metadata interleaved with data (extended LBA) |
//! | `pi`   | 0-3 (default 0) | protection information type (DPS); needs metadata |
//! | `pil`  | 0 or 1 (default 0) | PI in the first (1) or last (0) bytes of metadata |
//!
//! The protection information format is a property of the LBA format, as
//! in the specification (extended LBA format PIF): formats 1, 3 and 4 carry
//! 16b guard PI (8 bytes), formats 5 and 6 carry 64b guard PI (16 bytes).
//! Format NVM (see the format module) changes all of these at run time.
//! | `kv`   | 0 or 1 (default 0) | a Key Value namespace (CSI 1) instead of NVM, see the kv module |
//! | `fdp`, `fdp.*` | see the fdp module | Flexible Data Placement: endurance group, reclaim groups and handles |
//! | `zoned` | 0 or 1 (default 0) | a zoned namespace; more keys in the zoned module |
//! | `fatal_after` | a count N | fault injection: the controller goes fatal after N I/O commands, see the fault module |
//! | `stall_after` | a count N | fault injection: after N I/O commands, later ones are held without a completion until a controller reset, see the fault module |
//!
//! The namespace holds `size / data size` blocks. Block memory is taken on
//! first write (see the media module), so a large ramdisk costs only what
//! is written to it.
//!
//! Module layout: `params` (URI parameters, LBA formats), `ctrl` (the
//! controller and the state its commands keep), `dispatch` (the sync and
//! admin interfaces and the opcode dispatch), `fail` (what handlers return),
//! `bufs` (host buffer checks), `ns` (namespaces, their command set and
//! zones), `nvm`, `iocheck`, `pi`, `zoned`, `kv` (I/O command sets),
//! `admin`, `identify`, `log`, `features`, `format`, `directive`, `fdp`
//! (admin commands), `errlog` and `stats` (error log and SMART counters),
//! `media` (block storage), `regs` (the controller registers it reports).
//! Modules import only modules below them: `admin`, `bufs`, `errlog`,
//! `fail`, `fault`, `media`, `params`, `stats`; then `ns`, `ctrl`; then the
//! command modules; `dispatch` on top.

mod admin;
mod bufs;
mod ctrl;
mod directive;
mod dispatch;
mod errlog;
mod fail;
mod fault;
mod fdp;
mod features;
mod format;
mod identify;
mod iocheck;
mod kv;
mod log;
mod media;
mod ns;
mod nvm;
mod params;
mod pi;
mod regs;
mod stats;
mod zoned;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use ctrl::RamCtrl;

use nvmx_core::be::Backend;
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};
use nvmx_core::opts::Options;
use nvmx_core::uri::{Target, Uri};

/// Builds a ramdisk controller for `uri` (a size with parameters), for the
/// user-space driver's emulated PCIe controller to serve commands with.
pub fn new_ctrl(uri: &Uri) -> Result<Arc<RamCtrl>> {
    let Target::Ramdisk { nbytes } = uri.target else {
        return Err(Error::invalid(
            "URI",
            format!("{:?} is not a ramdisk size (e.g. 1GB, 64MiB)", uri.raw),
        ));
    };
    Ok(Arc::new(RamCtrl::new(params::Params::from_uri(
        uri, nbytes,
    )?)?))
}

/// Opens a ramdisk: `uri` must name a size (`Target::Ramdisk`), and
/// `opts.nsid` must be 1, the ramdisk's one namespace.
///
/// The sync and admin interfaces are the same [`RamCtrl`].
pub fn open(uri: &Uri, opts: &Options) -> Result<Backend> {
    let Target::Ramdisk { nbytes } = uri.target else {
        return Err(Error::invalid(
            "URI",
            format!("{:?} is not a ramdisk size (e.g. 1GB, 64MiB)", uri.raw),
        ));
    };
    if opts.nsid != fail::NSID {
        return Err(Error::out_of_range(
            "dev-nsid",
            format!(
                "{:#x} does not exist: the ramdisk has one namespace, nsid 1",
                opts.nsid
            ),
        ));
    }
    let params = params::Params::from_uri(uri, nbytes)?;
    let ctrl = Arc::new(RamCtrl::new(params)?.with_io_timeout(opts.command_timeout));
    let ident = Ident {
        uri: uri.raw.clone(),
        dtype: DevType::Ramdisk,
        nsid: opts.nsid,
        csi: ctrl.ns().kind.csi().0,
        subnqn: ctrl.subnqn().to_string(),
    };
    Ok(Backend {
        sync: ctrl.clone(),
        admin: ctrl,
        ident,
    })
}
