//! Device URIs and their classification into [`Caps`].
//!
//! A URI is what the user types to name a device: a path, a ramdisk size, a
//! PCIe address or a fabrics address. [`Uri::parse`] decides which it is.
//! The order of the checks follows xNVMe's: an existing path is classified
//! by what it is on disk; otherwise a size is a ramdisk, `D:B:D.F` a PCIe
//! function, `host:port` a fabrics target, and anything else a file that
//! does not exist yet. Unlike xNVMe, a malformed size or PCIe address is an
//! error that says so rather than a file name.

use std::fmt;

use serde::Serialize;

pub mod classify;

use crate::caps::Caps;
use crate::error::{Error, Result};

/// A PCIe function address: domain, bus, device, function.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Serialize)]
pub struct PciAddr {
    /// PCI domain (segment).
    pub domain: u16,
    /// Bus number.
    pub bus: u8,
    /// Device number (0-31).
    pub dev: u8,
    /// Function number (0-7).
    pub func: u8,
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.domain, self.bus, self.dev, self.func
        )
    }
}

impl PciAddr {
    /// Parses `DDDD:BB:DD.F` (or `BB:DD.F`, domain 0).
    pub fn parse(s: &str) -> Result<PciAddr> {
        let bad = |why: &str| {
            Error::invalid(
                "PCI address",
                format!("{s:?}: {why} (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)"),
            )
        };
        let (head, func) = s.rsplit_once('.').ok_or_else(|| bad("missing .function"))?;
        let parts: Vec<&str> = head.split(':').collect();
        let (dom, bus, dev) = match parts.as_slice() {
            [d, b, v] => (*d, *b, *v),
            [b, v] => ("0", *b, *v),
            _ => return Err(bad("wrong number of ':'-separated fields")),
        };
        let hex = |t: &str, max: u32, name: &str| -> Result<u32> {
            let n =
                u32::from_str_radix(t, 16).map_err(|_| bad(&format!("{name} {t:?} is not hex")))?;
            if n > max {
                return Err(bad(&format!("{name} {t} is larger than {max:#x}")));
            }
            Ok(n)
        };
        let domain = hex(dom, 0xffff, "domain")? as u16;
        let bus = hex(bus, 0xff, "bus")? as u8;
        let dev = hex(dev, 0x1f, "device")? as u8;
        let func: u8 = func
            .parse()
            .ok()
            .filter(|f| *f <= 7)
            .ok_or_else(|| bad(&format!("function {func:?} is not 0-7")))?;
        Ok(PciAddr {
            domain,
            bus,
            dev,
            func,
        })
    }
}

/// What a URI names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A regular file; `exists` is false for a file to be created.
    File {
        /// Whether the file exists now.
        exists: bool,
    },
    /// A block device; `nvme` when it is an NVMe namespace (`/dev/nvmeXnY`).
    BlockDevice {
        /// Whether the kernel names it as an NVMe namespace.
        nvme: bool,
    },
    /// A character device (NVMe generic `/dev/ngXnY` or controller `/dev/nvmeX`).
    CharDevice,
    /// An in-memory ramdisk of `nbytes`.
    Ramdisk {
        /// Its size in bytes.
        nbytes: u64,
    },
    /// A PCIe function for a user-space driver.
    Pcie(PciAddr),
    /// An NVMe-oF target `host:port`.
    Fabrics {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// A classified device URI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Uri {
    /// The URI as the user gave it.
    pub raw: String,
    /// The part before any `?`: the path, size or address.
    pub base: String,
    /// `key=value` parameters after `?` (ramdisk URIs use them).
    pub params: Vec<(String, String)>,
    /// What it names.
    pub target: Target,
    /// The capability bits of the target.
    pub caps: Caps,
}

impl Uri {
    /// Classifies `raw`, looking at the filesystem for paths.
    pub fn parse(raw: &str) -> Result<Uri> {
        if raw.is_empty() {
            return Err(Error::invalid("URI", "empty device URI"));
        }
        if raw.contains('\0') {
            return Err(Error::invalid(
                "URI",
                format!("{raw:?} contains a NUL byte"),
            ));
        }
        // An existing path wins over every other reading.
        if let Some(target) = classify::classify_path(raw)? {
            let caps = caps_of(&target);
            return Ok(Uri {
                raw: raw.into(),
                base: raw.into(),
                params: Vec::new(),
                target,
                caps,
            });
        }
        let (base, query) = match raw.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (raw, None),
        };
        let params = match query {
            Some(q) => parse_params(q)?,
            None => Vec::new(),
        };
        let target = if looks_like_size(base) {
            Target::Ramdisk {
                nbytes: parse_size(base)?,
            }
        } else if looks_like_pci(base) {
            Target::Pcie(PciAddr::parse(base)?)
        } else if let Some((host, port)) = fabrics(base) {
            Target::Fabrics { host, port: port? }
        } else {
            if query.is_some() {
                return Err(Error::invalid(
                    "URI",
                    format!("{raw:?}: '?parameters' are only understood on ramdisk sizes"),
                ));
            }
            Target::File { exists: false }
        };
        let caps = caps_of(&target);
        Ok(Uri {
            raw: raw.into(),
            base: base.into(),
            params,
            target,
            caps,
        })
    }

    /// The value of a `?key=value` parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn caps_of(t: &Target) -> Caps {
    match t {
        Target::File { .. } => Caps::FILE,
        Target::BlockDevice { nvme: true } => Caps::NVME_BDEV,
        Target::BlockDevice { nvme: false } => Caps::BDEV,
        Target::CharDevice => Caps::NVME_CDEV,
        Target::Ramdisk { .. } => Caps::RAMDISK,
        Target::Pcie(_) => Caps::NVME_PCIE,
        Target::Fabrics { .. } => Caps::NVME_TCP,
    }
}

fn parse_params(q: &str) -> Result<Vec<(String, String)>> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::invalid(
                "URI parameter",
                format!("{kv:?} is not key=value"),
            )),
        })
        .collect()
}

/// A size is digits followed by letters and nothing else: `1GB`, `512MiB`.
fn looks_like_size(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && digits < s.len() && s[digits..].bytes().all(|b| b.is_ascii_alphabetic())
}

/// Parses a ramdisk size. `GB`, `MB` and `KB` mean GiB, MiB and KiB, as in
/// xNVMe (whose `1GB` ramdisk is 1 GiB); the binary spellings are accepted
/// too. The size must be a whole number of 4 KiB blocks.
pub fn parse_size(s: &str) -> Result<u64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "gb" | "gib" | "g" => 1 << 30,
        "mb" | "mib" | "m" => 1 << 20,
        "kb" | "kib" | "k" => 1 << 10,
        _ => {
            return Err(Error::invalid(
                "ramdisk size",
                format!("{s:?}: unknown unit {unit:?} (use KB, MB, GB or KiB, MiB, GiB)"),
            ));
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| Error::invalid("ramdisk size", format!("{s:?}: number too large")))?;
    let nbytes = n
        .checked_mul(mult)
        .ok_or_else(|| Error::invalid("ramdisk size", format!("{s:?} overflows 64 bits")))?;
    if nbytes == 0 {
        return Err(Error::invalid(
            "ramdisk size",
            format!("{s:?} is zero bytes"),
        ));
    }
    if nbytes % 4096 != 0 {
        return Err(Error::misaligned(
            "ramdisk size",
            format!("{s:?} is not a multiple of 4 KiB"),
        ));
    }
    Ok(nbytes)
}

/// `X:Y:Z.F` or `Y:Z.F`: colons, then a dot after the last colon, and no
/// slash. Such a string is never taken as a fabrics address.
fn looks_like_pci(s: &str) -> bool {
    let colons = s.matches(':').count();
    !s.contains('/')
        && (colons == 2 || colons == 1)
        && s.rsplit_once(':')
            .is_some_and(|(_, tail)| tail.contains('.'))
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// `host:port` or `[v6addr]:port`.
fn fabrics(s: &str) -> Option<(String, Result<u16>)> {
    if s.contains('/') || s.contains('\\') {
        return None;
    }
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    let p = port.parse::<u16>().map_err(|_| {
        Error::invalid(
            "fabrics address",
            format!("{s:?}: port {port:?} is not 0-65535"),
        )
    });
    Some((host.to_string(), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramdisk_sizes_in_xnvme_and_binary_units() {
        assert_eq!(
            Uri::parse("1GB").unwrap().target,
            Target::Ramdisk { nbytes: 1 << 30 }
        );
        assert_eq!(
            Uri::parse("512MiB").unwrap().target,
            Target::Ramdisk { nbytes: 512 << 20 }
        );
        assert_eq!(Uri::parse("64KB").unwrap().caps, Caps::RAMDISK);
        let u = Uri::parse("8MB?lbaf=2").unwrap();
        assert_eq!(u.param("lbaf"), Some("2"));
        assert_eq!(u.base, "8MB");
    }

    #[test]
    fn malformed_sizes_are_errors_not_files() {
        let e = Uri::parse("1XB").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "ramdisk size", why } if why.contains("unknown unit")),
            "{e}"
        );
        let e = Uri::parse("0GB").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "ramdisk size", why } if why.contains("zero")),
            "{e}"
        );
        let e = Uri::parse("99999999999999999999GB").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Invalid {
                    what: "ramdisk size",
                    ..
                }
            ),
            "{e}"
        );
        let e = Uri::parse("3KiB").unwrap_err();
        assert!(
            matches!(&e, Error::Misaligned { what: "ramdisk size", why } if why.contains("4 KiB")),
            "{e}"
        );
    }

    #[test]
    fn pci_addresses_parse_and_malformed_ones_say_why() {
        let u = Uri::parse("0000:01:00.0").unwrap();
        assert_eq!(u.caps, Caps::NVME_PCIE);
        assert_eq!(
            u.target,
            Target::Pcie(PciAddr {
                domain: 0,
                bus: 1,
                dev: 0,
                func: 0
            })
        );
        assert_eq!(
            PciAddr::parse("3:00.1").unwrap().to_string(),
            "0000:03:00.1"
        );
        let e = Uri::parse("0000:01:40.0").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "PCI address", why } if why.contains("device")),
            "{e}"
        );
        let e = Uri::parse("0000:01:00.9").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "PCI address", why } if why.contains("function")),
            "{e}"
        );
    }

    #[test]
    fn fabrics_and_new_files() {
        let u = Uri::parse("10.9.8.1:4420").unwrap();
        assert_eq!(u.caps, Caps::NVME_TCP);
        assert_eq!(
            u.target,
            Target::Fabrics {
                host: "10.9.8.1".into(),
                port: 4420
            }
        );
        assert!(matches!(
            Uri::parse("localhost:99999"),
            Err(Error::Invalid { what: "fabrics address", why }) if why.contains("port")
        ));
        let u = Uri::parse("/nonexistent/dir/file.img").unwrap();
        assert_eq!(u.target, Target::File { exists: false });
        assert_eq!(u.caps, Caps::FILE);
    }

    #[test]
    fn existing_files_are_files() {
        let dir = std::env::temp_dir().join(format!("nvmx-uri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.img");
        std::fs::write(&f, [0u8; 512]).unwrap();
        let u = Uri::parse(f.to_str().unwrap()).unwrap();
        assert_eq!(u.target, Target::File { exists: true });
        let e = Uri::parse(dir.to_str().unwrap()).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "URI", why } if why.contains("directory")),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_uri_is_rejected() {
        assert!(
            matches!(Uri::parse(""), Err(Error::Invalid { what: "URI", why }) if why.contains("empty"))
        );
    }
}
