//! `nvmx lblk write-read-pi`: a write and a read with end-to-end
//! protection information, checked on both sides.
//!
//! Without `--pract` the tool generates the PI tuples itself (guard,
//! `--apptag`, the reference tag the PI type asks for), writes them with
//! the data, reads everything back with the `--prchk` checks and verifies
//! the tuples again on the host. With `--pract` the controller inserts the
//! PI on write and checks (and, when the metadata is only the tuple,
//! strips) it on read; the tool then compares the data.

use std::collections::BTreeMap;

use clap::Args;
use nvmx::pi::{self, PiTags};
use nvmx::{PiIo, Prchk};
use serde::Serialize;

use crate::args::{DevArgs, UriArg, num_u8, num_u16, num_u64};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `lblk write-read-pi`.
#[derive(Args, Debug)]
pub struct WriteReadPiArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Starting logical block address (decimal or 0x hex).
    #[arg(long, value_parser = num_u64, value_name = "LBA")]
    slba: u64,
    /// Number of logical blocks, zero-based: 0 means one block.
    #[arg(long, value_parser = num_u16, value_name = "NLB")]
    nlb: u16,
    /// Protection information action: the controller inserts PI on write
    /// and strips it on read.
    #[arg(long)]
    pract: bool,
    /// Protection information checks: 0x4 guard, 0x2 application tag,
    /// 0x1 reference tag, or a sum of them.
    #[arg(long, value_parser = num_u8, default_value = "0x7", value_name = "BITS")]
    prchk: u8,
    /// Logical block application tag.
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "TAG")]
    apptag: u16,
    /// Application tag mask: the bits of the tag that are checked.
    #[arg(
        long = "apptag_mask",
        alias = "apptag-mask",
        value_parser = num_u16,
        default_value = "0xffff",
        value_name = "MASK"
    )]
    apptag_mask: u16,
    /// Initial logical block reference tag, for PI types 2 and 3 (type 1
    /// uses the LBA).
    #[arg(long, value_parser = num_u64, default_value = "0", value_name = "TAG")]
    ilbrt: u64,
    #[command(flatten)]
    dev: DevArgs,
}

#[derive(Serialize)]
struct PiOut {
    slba: Hex,
    nlb: u16,
    pi_type: u8,
    pi_format: &'static str,
    pi_loc: &'static str,
    extended: bool,
    pract: bool,
    prchk: Hex,
    apptag: Hex,
    apptag_mask: Hex,
    /// The tuple of the first block, as stored (read without stripping).
    first_tuple: Option<Tuple>,
    data_compared: bool,
    pi_verified: bool,
    status: &'static str,
}

#[derive(Serialize)]
struct Tuple {
    guard: Hex,
    apptag: Hex,
    reftag: Hex,
}

/// Runs `lblk write-read-pi`.
pub fn write_read_pi(p: &Printer, a: &WriteReadPiArgs) -> CliResult {
    if a.prchk > 0x7 {
        return Err(CliError::new(format!(
            "--prchk {:#x}: the checks are 0x4 guard, 0x2 application tag, 0x1 reference tag",
            a.prchk
        )));
    }
    let dev = a.dev.open(&a.uri.uri)?;
    let l = dev.pi_layout()?;
    let n = usize::from(a.nlb) + 1;
    let tags = PiTags {
        ilbrt: a.ilbrt,
        apptag: a.apptag,
        apptag_mask: a.apptag_mask,
    };
    let io = PiIo {
        pract: a.pract,
        prchk: Prchk(a.prchk),
        tags,
    };
    let moves_meta = !(a.pract && l.ms_is_tuple());
    let stride = if moves_meta && l.extended {
        l.ds + l.ms
    } else {
        l.ds
    };
    let separate = moves_meta && !l.extended;
    let mut data: Vec<u8> = (0..n * stride)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 9)) as u8)
        .collect();
    let mut meta = separate.then(|| vec![0u8; n * l.ms]);
    if !a.pract {
        pi::generate(&l, a.slba, n, &tags, &mut data, meta.as_deref_mut())?;
    }
    dev.write_pi(a.slba, a.nlb, &data, meta.as_deref(), &io)
        .map_err(|e| CliError::command("write with protection information", e))?;
    let mut back = vec![0u8; data.len()];
    let mut mback = meta.as_ref().map(|m| vec![0u8; m.len()]);
    dev.read_pi(a.slba, a.nlb, &mut back, mback.as_deref_mut(), &io)
        .map_err(|e| CliError::command("read with protection information", e))?;
    for i in 0..n {
        let (x, y) = (&data[i * stride..][..l.ds], &back[i * stride..][..l.ds]);
        if x != y {
            return Err(CliError::new(format!(
                "write-read-pi: block {i} (LBA {:#x}) read back differs from what was written",
                a.slba + i as u64
            )));
        }
    }
    // Read once more without PRACT and without checks to see the stored
    // tuples, and verify them on the host.
    let raw_io = PiIo {
        pract: false,
        prchk: Prchk::NONE,
        tags,
    };
    let full_stride = if l.extended { l.ds + l.ms } else { l.ds };
    let mut raw = vec![0u8; n * full_stride];
    let mut rmeta = (!l.extended).then(|| vec![0u8; n * l.ms]);
    dev.read_pi(a.slba, a.nlb, &mut raw, rmeta.as_deref_mut(), &raw_io)
        .map_err(|e| CliError::command("read of the stored protection information", e))?;
    pi::verify(&l, a.slba, n, &tags, Prchk(a.prchk), &raw, rmeta.as_deref())?;
    let t0 = if l.extended {
        &raw[l.ds + l.tuple_offset()..]
    } else {
        &rmeta.as_deref().unwrap_or_default()[l.tuple_offset()..]
    };
    let first_tuple = l.decode(t0).map(|t| Tuple {
        guard: Hex(t.guard),
        apptag: Hex(u64::from(t.apptag)),
        reftag: Hex(t.reftag),
    });
    p.comment(&format!(
        "lblk write-read-pi: slba {:#x} nlb {} ({n} blocks), PI type {}",
        a.slba, a.nlb, l.pi_type.0
    ))?;
    let out = PiOut {
        slba: Hex(a.slba),
        nlb: a.nlb,
        pi_type: l.pi_type.0,
        pi_format: if l.tuple_nbytes() == 8 {
            "16b guard"
        } else {
            "64b guard"
        },
        pi_loc: if l.first { "first" } else { "last" },
        extended: l.extended,
        pract: a.pract,
        prchk: Hex(u64::from(a.prchk)),
        apptag: Hex(u64::from(a.apptag)),
        apptag_mask: Hex(u64::from(a.apptag_mask)),
        first_tuple,
        data_compared: true,
        pi_verified: true,
        status: "ok",
    };
    p.print(&BTreeMap::from([("lblk_write_read_pi", out)]))?;
    Ok(())
}
