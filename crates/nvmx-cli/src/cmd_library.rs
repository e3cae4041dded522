//! `nvmx library-info`: the library version, how it was built, and this
//! platform's backend configurations.

use serde::Serialize;

use crate::error::CliResult;
use crate::output::{Hex, Printer};

/// `ver:`.
#[derive(Serialize)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    /// Reads `MAJOR.MINOR.PATCH[-pre][+build]`; a part that is missing or
    /// not a number reads as 0.
    fn parse(v: &str) -> Version {
        let core = v.split(['-', '+']).next().unwrap_or("");
        let mut it = core.split('.').map(|n| n.parse().unwrap_or(0));
        Version {
            major: it.next().unwrap_or(0),
            minor: it.next().unwrap_or(0),
            patch: it.next().unwrap_or(0),
        }
    }
}

/// One backend configuration in `platform.backends:`.
#[derive(Serialize)]
struct Backend {
    name: &'static str,
    #[serde(rename = "async")]
    async_: &'static str,
    sync: &'static str,
    admin: &'static str,
    dev: &'static str,
    mem: &'static str,
    descr: &'static str,
    caps: Hex,
    caps_names: String,
}

/// `platform:`.
#[derive(Serialize)]
struct Platform {
    name: &'static str,
    backends: Vec<Backend>,
}

#[derive(Serialize)]
struct LibraryInfo {
    ver: Version,
    build: Vec<String>,
    platform: Platform,
}

/// `nvmx library-info`.
pub fn library_info(p: &Printer) -> CliResult {
    let backends = nvmx::be::config::configs()
        .iter()
        .map(|c| {
            let a = c.attr();
            Backend {
                name: a.name,
                async_: a.async_id,
                sync: a.sync,
                admin: a.admin,
                dev: a.dev,
                mem: a.mem,
                descr: a.descr,
                caps: Hex(a.caps.0.into()),
                caps_names: a.caps_names,
            }
        })
        .collect();
    let info = LibraryInfo {
        ver: Version::parse(nvmx::VERSION),
        build: vec![
            format!("version: {}", nvmx::VERSION),
            format!(
                "target: {}-{}",
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
            format!(
                "profile: {}",
                if cfg!(debug_assertions) {
                    "debug"
                } else {
                    "release"
                }
            ),
            // The library has no optional cargo features yet.
            "features: none".to_string(),
        ],
        platform: Platform {
            name: std::env::consts::OS,
            backends,
        },
    };
    p.comment("nvmx library information")?;
    p.print(&info)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_leniently() {
        let v = Version::parse("1.22.3-rc.1+abc");
        assert_eq!((v.major, v.minor, v.patch), (1, 22, 3));
        let v = Version::parse("2");
        assert_eq!((v.major, v.minor, v.patch), (2, 0, 0));
        let v = Version::parse("");
        assert_eq!((v.major, v.minor, v.patch), (0, 0, 0));
    }
}
