//! The zoned namespace's URI parameters (see the zoned module).

use nvmx_core::error::{Error, Result};
use nvmx_core::uri::{Uri, parse_size};

/// The URI parameter names the zoned module reads.
pub(crate) const PARAM_KEYS: &[&str] = &[
    "zoned",
    "zone_size",
    "zone_cap",
    "max_open",
    "max_active",
    "zde",
    "zrwa",
    "zrwafg",
    "ro_zones",
];

/// Default zone size in bytes.
const DEFAULT_ZONE_NBYTES: u64 = 1 << 20;

/// A Changed Zone List holds this many zone identifiers.
pub(crate) const CHANGED_ZONES_MAX: usize = 511;

/// The zoned parameters of a ramdisk URI, in bytes as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZoneParams {
    /// Zone size in bytes.
    pub zone_nbytes: u64,
    /// Zone capacity in bytes.
    pub cap_nbytes: u64,
    /// Open resources, 0 for no limit.
    pub max_open: u32,
    /// Active resources, 0 for no limit.
    pub max_active: u32,
    /// Zone descriptor extension size in bytes.
    pub zde_nbytes: u32,
    /// ZRWA size in bytes, 0 for none.
    pub zrwa_nbytes: u64,
    /// ZRWA flush granularity in blocks.
    pub zrwafg: u16,
    /// How many zones, counted from the last, start read only.
    pub ro_zones: u32,
}

fn bad(why: String) -> Error {
    Error::invalid(
        "ramdisk zoned parameter",
        format!(
            "{why}; zoned parameters: zoned=1, zone_size=SIZE, zone_cap=SIZE, max_open=N, \
             max_active=N, zde=BYTES (multiple of 64), zrwa=SIZE, zrwafg=BLOCKS, ro_zones=N"
        ),
    )
}

impl ZoneParams {
    /// Reads the zoned parameters of `uri`; `None` without `zoned=1`.
    /// `ds` is the data size of the chosen LBA format, `nbytes` the ramdisk
    /// size.
    pub fn from_uri(uri: &Uri, ds: u32, nbytes: u64) -> Result<Option<ZoneParams>> {
        let get = |k: &str| uri.param(k);
        let zoned = match get("zoned") {
            None | Some("0") => false,
            Some("1") => true,
            Some(v) => return Err(bad(format!("zoned={v:?} is not 0 or 1"))),
        };
        if !zoned {
            if let Some(k) = PARAM_KEYS[1..].iter().find(|k| get(k).is_some()) {
                return Err(bad(format!("{k} needs zoned=1")));
            }
            return Ok(None);
        }
        let size = |k: &str, default: u64| -> Result<u64> {
            get(k).map_or(Ok(default), |v| {
                parse_size(v).map_err(|e| bad(format!("{k}={v:?}: {e}")))
            })
        };
        let num = |k: &str| -> Result<u32> {
            get(k).map_or(Ok(0), |v| {
                v.parse::<u32>()
                    .map_err(|_| bad(format!("{k}={v:?} is not a decimal number")))
            })
        };
        let zone_nbytes = size("zone_size", DEFAULT_ZONE_NBYTES)?;
        let p =
            ZoneParams {
                zone_nbytes,
                cap_nbytes: size("zone_cap", zone_nbytes)?,
                max_open: num("max_open")?,
                max_active: num("max_active")?,
                zde_nbytes: num("zde")?,
                zrwa_nbytes: size("zrwa", 0).or_else(|e| match get("zrwa") {
                    Some("0") => Ok(0),
                    _ => Err(e),
                })?,
                zrwafg: match get("zrwafg") {
                    None => 1,
                    Some(v) => v.parse::<u16>().ok().filter(|&g| g > 0).ok_or_else(|| {
                        bad(format!("zrwafg={v:?} is not a block count 1..65535"))
                    })?,
                },
                ro_zones: num("ro_zones")?,
            };
        let ds = u64::from(ds);
        if !p.zone_nbytes.is_multiple_of(ds) || !p.cap_nbytes.is_multiple_of(ds) {
            return Err(bad(format!(
                "zone_size {} and zone_cap {} must be whole {ds}-byte blocks",
                p.zone_nbytes, p.cap_nbytes
            )));
        }
        if p.cap_nbytes > p.zone_nbytes {
            return Err(bad(format!(
                "zone_cap {} is larger than zone_size {}",
                p.cap_nbytes, p.zone_nbytes
            )));
        }
        if p.zone_nbytes > nbytes {
            return Err(bad(format!(
                "zone_size {} is larger than the ramdisk ({nbytes} bytes)",
                p.zone_nbytes
            )));
        }
        if !p.zde_nbytes.is_multiple_of(64) || p.zde_nbytes > 255 * 64 {
            return Err(bad(format!(
                "zde={} is not a multiple of 64 up to {}",
                p.zde_nbytes,
                255 * 64
            )));
        }
        if p.max_active != 0 && p.max_open > p.max_active {
            return Err(bad(format!(
                "max_open={} is larger than max_active={}",
                p.max_open, p.max_active
            )));
        }
        if p.max_open == 0 && p.max_active != 0 {
            return Err(bad(format!(
                "max_active={} needs a max_open limit too (at most max_active)",
                p.max_active
            )));
        }
        let zrwasz = p.zrwa_nbytes / ds;
        if p.zrwa_nbytes != 0
            && (!p.zrwa_nbytes.is_multiple_of(ds)
                || zrwasz > u64::from(u16::MAX)
                || 2 * p.zrwa_nbytes > p.cap_nbytes
                || !zrwasz.is_multiple_of(u64::from(p.zrwafg)))
        {
            return Err(bad(format!(
                "zrwa={} must be whole blocks, a multiple of zrwafg={}, at most half the zone capacity",
                p.zrwa_nbytes, p.zrwafg
            )));
        }
        Ok(Some(p))
    }
}
