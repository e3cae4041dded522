//! The Flexible Data Placement URI parameters (see the fdp module).

use nvmx_core::error::{Error, Result};

/// Largest number of reclaim groups.
const MAX_NRG: u16 = 32;
/// Largest number of reclaim unit handles (the handle set is a `u128`).
const MAX_NRUH: u16 = 128;

/// The FDP shape from the URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FdpParams {
    /// `fdp=1` was given.
    pub enabled: bool,
    /// Some `fdp.*` key was given.
    pub keyed: bool,
    /// Number of reclaim groups.
    pub nrg: u16,
    /// Number of reclaim unit handles.
    pub nruh: u16,
    /// Reclaim unit nominal size in bytes.
    pub runs: u64,
    /// The reclaim unit handles the namespace's placement handles name,
    /// as a set (placement handle i is the i-th lowest); `None` is all.
    pub ruhs: Option<u128>,
}

impl Default for FdpParams {
    fn default() -> Self {
        FdpParams {
            enabled: false,
            keyed: false,
            nrg: 1,
            nruh: 8,
            runs: 1 << 20,
            ruhs: None,
        }
    }
}

fn bad(why: String) -> Error {
    Error::invalid(
        "ramdisk parameter",
        format!(
            "{why}; FDP parameters: fdp=0|1, fdp.nrg=1..{MAX_NRG}, fdp.nruh=1..{MAX_NRUH}, \
             fdp.runs=SIZE (e.g. 1M), fdp.ruhs=ID;ID;..."
        ),
    )
}

fn parse_size(key: &str, value: &str) -> Result<u64> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = value.split_at(digits);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad(format!("{key}={value:?}: unknown unit {unit:?}"))),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| bad(format!("{key}={value:?} is not a size")))
}

impl FdpParams {
    /// Takes one `fdp` or `fdp.*` URI parameter; `false` if `key` is not one.
    pub fn parse(&mut self, key: &str, value: &str) -> Result<bool> {
        let num = |max: u16| -> Result<u16> {
            value
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad(format!("{key}={value:?} is not a number from 1 to {max}")))
        };
        match key {
            "fdp" => {
                self.enabled = match value {
                    "0" => false,
                    "1" => true,
                    _ => return Err(bad(format!("fdp={value:?} is not 0 or 1"))),
                };
                return Ok(true);
            }
            "fdp.nrg" => self.nrg = num(MAX_NRG)?,
            "fdp.nruh" => self.nruh = num(MAX_NRUH)?,
            "fdp.runs" => self.runs = parse_size(key, value)?,
            "fdp.ruhs" => {
                let mut set = 0u128;
                for id in value.split([';', ',']).filter(|s| !s.is_empty()) {
                    let id: u16 = id
                        .parse()
                        .ok()
                        .filter(|&n| n < MAX_NRUH)
                        .ok_or_else(|| bad(format!("fdp.ruhs: {id:?} is not a handle id")))?;
                    if set & 1 << id != 0 {
                        return Err(bad(format!("fdp.ruhs names handle {id} twice")));
                    }
                    set |= 1 << id;
                }
                if set == 0 {
                    return Err(bad("fdp.ruhs names no handle".into()));
                }
                self.ruhs = Some(set);
            }
            _ => return Ok(false),
        }
        self.keyed = true;
        Ok(true)
    }

    /// Checks the parameters together, for blocks of `ds` data bytes.
    pub fn validate(&self, ds: u32) -> Result<()> {
        if self.keyed && !self.enabled {
            return Err(bad("fdp.* parameters need fdp=1".into()));
        }
        if !self.enabled {
            return Ok(());
        }
        if self.runs < u64::from(ds) || !self.runs.is_multiple_of(u64::from(ds)) {
            return Err(bad(format!(
                "fdp.runs={} is not a whole number of {ds}-byte blocks",
                self.runs
            )));
        }
        if let Some(set) = self.ruhs {
            let top = 127 - set.leading_zeros() as u16;
            if top >= self.nruh {
                return Err(bad(format!(
                    "fdp.ruhs names handle {top}, but fdp.nruh={} has handles 0..{}",
                    self.nruh,
                    self.nruh - 1
                )));
            }
        }
        Ok(())
    }

    /// Reclaim group identifier format: bits that name the reclaim group.
    pub fn rgif(&self) -> u8 {
        match self.nrg {
            0 | 1 => 0,
            n => (16 - (n - 1).leading_zeros()) as u8,
        }
    }

    /// The reclaim unit handle of each placement handle, in order.
    pub fn placement_handles(&self) -> Vec<u16> {
        match self.ruhs {
            None => (0..self.nruh).collect(),
            Some(set) => (0..MAX_NRUH).filter(|&i| set & 1 << i != 0).collect(),
        }
    }
}
