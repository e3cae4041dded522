//! The ramdisk's URI parameters and the LBA formats it offers.
//!
//! A ramdisk URI is a size with optional `?key=value` parameters, e.g.
//! `1GB?lbaf=3&ext=1&mdts=5`. The parameters pick what a Format NVM would
//! pick on a real controller (the active LBA format and where metadata
//! goes) and what is fixed at manufacture (the maximum data transfer size).

pub(super) mod fdp;
pub(super) mod zoned;

use nvmx_core::error::{Error, Result};
use nvmx_core::uri::Uri;

/// One LBA format: the data and metadata sizes of a logical block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LbaShape {
    /// Data bytes per logical block (a power of two).
    pub ds: u32,
    /// Metadata bytes per logical block.
    pub ms: u16,
    /// Relative performance (Identify Namespace LBAF RP, 0 is best).
    pub rp: u8,
    /// Protection information format of the format (ELBAF PIF): 0 for
    /// 16b guard, 2 for 64b guard. Only used when the namespace is
    /// formatted with PI.
    pub pif: u8,
}

impl LbaShape {
    /// LBADS: the data size as a power of two.
    pub const fn lbads(self) -> u8 {
        self.ds.trailing_zeros() as u8
    }
}

/// The LBA formats the namespace offers, indexed by LBA format number.
pub(super) const LBA_FORMATS: [LbaShape; 7] = [
    LbaShape {
        ds: 512,
        ms: 0,
        rp: 2,
        pif: 0,
    },
    LbaShape {
        ds: 512,
        ms: 8,
        rp: 2,
        pif: 0,
    },
    LbaShape {
        ds: 4096,
        ms: 0,
        rp: 0,
        pif: 0,
    },
    LbaShape {
        ds: 4096,
        ms: 8,
        rp: 1,
        pif: 0,
    },
    LbaShape {
        ds: 4096,
        ms: 64,
        rp: 1,
        pif: 0,
    },
    // 16 metadata bytes hold a 64b guard PI tuple.
    LbaShape {
        ds: 512,
        ms: 16,
        rp: 2,
        pif: 2,
    },
    LbaShape {
        ds: 4096,
        ms: 16,
        rp: 1,
        pif: 2,
    },
];

/// The default MDTS exponent: 2^7 pages of 4 KiB, 512 KiB.
pub(super) const DEFAULT_MDTS: u8 = 7;

/// The largest MDTS exponent accepted; beyond it no command can reach the
/// limit anyway (65536 blocks of 4160 bytes are less than 2^17 pages).
const MAX_MDTS: u8 = 32;

/// The parameter names a ramdisk URI understands.
const KNOWN: &str = "lbaf=0..6 (LBA format), mdts=0..32 (max transfer 2^mdts x 4 KiB, 0 = no limit), \
                     ext=0|1 (metadata interleaved with data), pi=0..3 (protection information type), \
                     pil=0|1 (PI in the first bytes of metadata), \
                     fatal_after=N (fault injection: the controller goes fatal after N I/O commands), \
                     stall_after=N (fault injection: after N I/O commands the controller holds every \
                     later one without completing it, until a controller reset)";

/// Everything that shapes a ramdisk, from its URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Params {
    /// Size in bytes, as given.
    pub nbytes: u64,
    /// Index of the active LBA format in [`LBA_FORMATS`].
    pub lbaf: u8,
    /// The MDTS exponent (units of the 4 KiB minimum page size; 0 is no limit).
    pub mdts: u8,
    /// Whether metadata is interleaved with the data (extended LBA).
    pub extended: bool,
    /// Protection information type (DPS bits 2:0): 0 none, 1-3.
    pub pi: u8,
    /// Protection information in the first bytes of metadata (DPS bit 3).
    pub pil: bool,
    /// Flexible Data Placement (`fdp`, `fdp.*`).
    pub fdp: fdp::FdpParams,
    /// A Key Value namespace (`kv=1`).
    pub kv: bool,
    /// Zoned namespace parameters (`zoned=1`), see the zoned module.
    pub zoned: Option<zoned::ZoneParams>,
    /// Fault injection: go fatal after this many I/O commands
    /// (`fatal_after`), see the fault module.
    pub fatal_after: Option<u64>,
    /// Fault injection: hold every I/O command after this many
    /// (`stall_after`), see the fault module.
    pub stall_after: Option<u64>,
}

impl Params {
    /// Reads the parameters of `uri`, whose size is `nbytes`.
    pub fn from_uri(uri: &Uri, nbytes: u64) -> Result<Params> {
        let mut p = Params {
            nbytes,
            lbaf: 0,
            mdts: DEFAULT_MDTS,
            extended: false,
            pi: 0,
            pil: false,
            fdp: Default::default(),
            kv: false,
            zoned: None,
            fatal_after: None,
            stall_after: None,
        };
        for (i, (key, value)) in uri.params.iter().enumerate() {
            if uri.params[..i].iter().any(|(k, _)| k == key) {
                return Err(bad(format!("{key:?} is given more than once")));
            }
            let num = || -> Result<u8> {
                value
                    .parse::<u8>()
                    .map_err(|_| bad(format!("{key}={value:?} is not a small decimal number")))
            };
            match key.as_str() {
                "lbaf" => {
                    p.lbaf = num()?;
                    if usize::from(p.lbaf) >= LBA_FORMATS.len() {
                        return Err(bad(format!(
                            "lbaf={} is not an LBA format; the ramdisk offers 0..{}",
                            p.lbaf,
                            LBA_FORMATS.len() - 1
                        )));
                    }
                }
                "mdts" => {
                    p.mdts = num()?;
                    if p.mdts > MAX_MDTS {
                        return Err(bad(format!("mdts={} is larger than {MAX_MDTS}", p.mdts)));
                    }
                }
                "ext" => {
                    p.extended = match value.as_str() {
                        "0" => false,
                        "1" => true,
                        _ => return Err(bad(format!("ext={value:?} is not 0 or 1"))),
                    }
                }
                "pi" => {
                    p.pi = num()?;
                    if p.pi > 3 {
                        return Err(bad(format!("pi={} is not a PI type 0..3", p.pi)));
                    }
                }
                "pil" => {
                    p.pil = match value.as_str() {
                        "0" => false,
                        "1" => true,
                        _ => return Err(bad(format!("pil={value:?} is not 0 or 1"))),
                    }
                }
                "kv" => {
                    p.kv = match value.as_str() {
                        "0" => false,
                        "1" => true,
                        _ => return Err(bad(format!("kv={value:?} is not 0 or 1"))),
                    }
                }
                "fatal_after" => p.fatal_after = Some(count(key, value)?),
                "stall_after" => p.stall_after = Some(count(key, value)?),
                k if p.fdp.parse(k, value)? => {}
                k if zoned::PARAM_KEYS.contains(&k) => {}
                _ => {
                    return Err(bad(format!(
                        "unknown key {key:?} (also kv=0|1, fdp=0|1, fdp.*, zoned=1 and its keys)"
                    )));
                }
            }
        }
        let shape = p.shape();
        p.fdp.validate(shape.ds)?;
        if p.kv && p.fdp.enabled {
            return Err(bad(
                "kv=1 and fdp=1 exclude each other: FDP places logical blocks".into(),
            ));
        }
        if p.extended && shape.ms == 0 {
            return Err(bad(format!(
                "ext=1 needs an LBA format with metadata (lbaf 1, 3 or 4), but lbaf {} has none",
                p.lbaf
            )));
        }
        if p.pi != 0 && usize::from(shape.ms) < pi_tuple_nbytes(shape.pif) {
            return Err(bad(format!(
                "pi={} needs an LBA format whose metadata holds the PI tuple \
                 (lbaf 1, 3, 4 for 16b guard; 5, 6 for 64b guard), but lbaf {} has {} metadata bytes",
                p.pi, p.lbaf, shape.ms
            )));
        }
        if nbytes < u64::from(shape.ds) {
            return Err(Error::invalid(
                "ramdisk size",
                format!(
                    "{nbytes} bytes do not hold one {}-byte logical block",
                    shape.ds
                ),
            ));
        }
        p.zoned = zoned::ZoneParams::from_uri(uri, shape.ds, nbytes)?;
        if p.zoned.is_some() && (p.kv || p.fdp.enabled) {
            return Err(bad(
                "zoned=1 excludes kv=1 and fdp=1: the namespace has one command set".into(),
            ));
        }
        if p.zoned.is_some() && p.pi != 0 {
            return Err(bad(format!(
                "pi={} is not offered on a zoned namespace (zoned=1): its I/O carries no protection information",
                p.pi
            )));
        }
        Ok(p)
    }

    /// The active LBA format.
    pub fn shape(&self) -> LbaShape {
        LBA_FORMATS
            .get(usize::from(self.lbaf))
            .copied()
            .unwrap_or(LBA_FORMATS[0])
    }

    /// Namespace size in logical blocks.
    pub fn nsze(&self) -> u64 {
        self.nbytes / u64::from(self.shape().ds)
    }

    /// The largest data transfer in bytes, or `None` for no limit.
    pub fn max_transfer(&self) -> Option<u64> {
        match self.mdts {
            0 => None,
            m => 4096u64.checked_shl(u32::from(m)),
        }
    }
}

/// Bytes of the PI tuple of protection information format `pif`.
pub(super) fn pi_tuple_nbytes(pif: u8) -> usize {
    nvmx_spec::pi::PiFormat(pif).tuple_nbytes()
}

/// A fault parameter's count of commands.
fn count(key: &str, value: &str) -> Result<u64> {
    value.parse::<u64>().map_err(|_| {
        bad(format!(
            "{key}={value:?} is not a decimal count of commands"
        ))
    })
}

fn bad(why: String) -> Error {
    Error::invalid(
        "ramdisk parameter",
        format!("{why}; known parameters: {KNOWN}"),
    )
}
