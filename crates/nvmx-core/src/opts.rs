//! Device options, spelled as xNVMe spells them.
//!
//! [`Options`] says which backend configuration and interfaces to use and
//! how to open the device. Every field has the name of its xNVMe option
//! (`be`, `async`, `dev-nsid`, ...); [`Options::set`] takes those names so a
//! CLI or a config file can pass them through unchanged.

use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::error::{Error, Result};

/// How the device is opened: for reads and writes, reads only or writes
/// only (`--rdwr`, `--rdonly`, `--wronly`).
///
/// Files and devices are opened with the matching access; for every
/// interface the device also refuses the commands the mode forbids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenMode {
    /// Reads and writes (`--rdwr`, the default).
    #[default]
    ReadWrite,
    /// Reads only (`--rdonly`): commands that change data are refused.
    ReadOnly,
    /// Writes only (`--wronly`): commands that read data are refused.
    WriteOnly,
}

impl OpenMode {
    /// Whether commands that read data are allowed.
    pub const fn readable(self) -> bool {
        !matches!(self, OpenMode::WriteOnly)
    }

    /// Whether commands that change data are allowed.
    pub const fn writable(self) -> bool {
        !matches!(self, OpenMode::ReadOnly)
    }
}

/// Serialized as the three flags xNVMe's options have (`rdonly`, `wronly`,
/// `rdwr`), which is how [`Options`] printed the mode before it was one
/// field.
impl Serialize for OpenMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("OpenMode", 3)?;
        st.serialize_field("rdonly", &(*self == OpenMode::ReadOnly))?;
        st.serialize_field("wronly", &(*self == OpenMode::WriteOnly))?;
        st.serialize_field("rdwr", &(*self == OpenMode::ReadWrite))?;
        st.end()
    }
}

/// How a device is to be opened and which interfaces to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Options {
    /// Backend configuration name (`--be`), e.g. `emu_file`, `ramdisk`.
    pub be: Option<String>,
    /// Async interface id (`--async`), e.g. `emu`, `thrpool`, `nil`.
    #[serde(rename = "async")]
    pub async_: Option<String>,
    /// Sync interface id (`--sync`).
    pub sync: Option<String>,
    /// Admin interface id (`--admin`).
    pub admin: Option<String>,
    /// Memory interface id (`--mem`).
    pub mem: Option<String>,
    /// Namespace to open on a controller or PCIe device (`--dev-nsid`).
    pub nsid: u32,
    /// Access mode (`--rdonly`, `--wronly`, `--rdwr`; read-write by
    /// default).
    #[serde(flatten)]
    pub mode: OpenMode,
    /// Create the file if missing (`--create`).
    pub create: bool,
    /// Truncate the file on open (`--truncate`).
    pub truncate: bool,
    /// Bypass the page cache (`--direct`).
    pub direct: bool,
    /// Mode bits for a created file (`--create_mode`).
    pub create_mode: u32,
    /// Polled completions (`--poll_io`, io_uring IOPOLL).
    pub poll_io: bool,
    /// Kernel submission polling (`--poll_sq`, io_uring SQPOLL).
    pub poll_sq: bool,
    /// Register the file with the kernel (`--register_files`).
    pub register_files: bool,
    /// Register buffers with the kernel (`--register_buffers`).
    pub register_buffers: bool,
    /// io_uring: run completion work only when the queue's thread asks for
    /// completions (`--defer_taskrun`, `IORING_SETUP_DEFER_TASKRUN` with
    /// `SINGLE_ISSUER`). Fewer interruptions and context switches, but a
    /// queue then works only on the thread that first submitted through
    /// it. Off by default; `nvmx perf` turns it on for its queues.
    pub defer_taskrun: bool,
    /// NVMe-oF subsystem NQN (`--subnqn`).
    pub subnqn: Option<String>,
    /// NVMe-oF host NQN (`--hostnqn`).
    pub hostnqn: Option<String>,
    /// How long an admin command may take (`--admin-timeout`, in
    /// microseconds; 0 is refused).
    #[serde(serialize_with = "ser_micros")]
    pub admin_timeout: Duration,
    /// How long an I/O command may take (`--command-timeout`, in
    /// microseconds). 0 is refused, when parsed and when a queue is
    /// created: there is no "no timeout" value.
    #[serde(serialize_with = "ser_micros")]
    pub command_timeout: Duration,
}

fn ser_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

impl Default for Options {
    /// xNVMe's defaults: read-write, nsid 1, mode 0600, admin timeout 60 s,
    /// command timeout 30 s.
    fn default() -> Self {
        Self {
            be: None,
            async_: None,
            sync: None,
            admin: None,
            mem: None,
            nsid: 1,
            mode: OpenMode::ReadWrite,
            create: false,
            truncate: false,
            direct: false,
            create_mode: 0o600,
            poll_io: false,
            poll_sq: false,
            register_files: false,
            register_buffers: false,
            defer_taskrun: false,
            subnqn: None,
            hostnqn: None,
            admin_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// The option names [`Options::set`] accepts, in xNVMe's spelling.
pub const OPTION_NAMES: &[&str] = &[
    "be",
    "async",
    "sync",
    "admin",
    "mem",
    "dev-nsid",
    "rdonly",
    "wronly",
    "rdwr",
    "create",
    "truncate",
    "direct",
    "create-mode",
    "poll_io",
    "poll_sq",
    "register_files",
    "register_buffers",
    "defer_taskrun",
    "subnqn",
    "hostnqn",
    "admin-timeout",
    "command-timeout",
];

impl Options {
    /// Sets one option by its xNVMe name. Flags take `true`/`false`/`1`/`0`
    /// (an empty value means `true`); numbers take decimal or `0x` hex;
    /// timeouts take microseconds, as xNVMe's do.
    ///
    /// `create_mode` and `create-mode` are both accepted, as are `dev_nsid`
    /// and `dev-nsid`: users type both.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let key = name.trim_start_matches('-').replace('_', "-");
        match key.as_str() {
            "be" => self.be = Some(non_empty("be", value)?),
            "async" => self.async_ = Some(non_empty("async", value)?),
            "sync" => self.sync = Some(non_empty("sync", value)?),
            "admin" => self.admin = Some(non_empty("admin", value)?),
            "mem" => self.mem = Some(non_empty("mem", value)?),
            "dev-nsid" => self.nsid = parse_u32("dev-nsid", value)?,
            "rdonly" => self.set_mode(OpenMode::ReadOnly, parse_flag("rdonly", value)?)?,
            "wronly" => self.set_mode(OpenMode::WriteOnly, parse_flag("wronly", value)?)?,
            // Read-write is the mode when neither of the others is set;
            // the flag is accepted but does not undo `rdonly` or `wronly`.
            "rdwr" => {
                parse_flag("rdwr", value)?;
            }
            "create" => self.create = parse_flag("create", value)?,
            "truncate" => self.truncate = parse_flag("truncate", value)?,
            "direct" => self.direct = parse_flag("direct", value)?,
            "create-mode" => {
                // xNVMe takes the mode in hex; a leading 0o picks octal.
                self.create_mode = if let Some(o) = value.strip_prefix("0o") {
                    u32::from_str_radix(o, 8)
                } else {
                    u32::from_str_radix(value.trim_start_matches("0x"), 16)
                }
                .map_err(|_| {
                    Error::invalid(
                        "create-mode",
                        format!("{value:?} is not a hex (or 0o octal) mode"),
                    )
                })?;
            }
            "poll-io" => self.poll_io = parse_flag("poll_io", value)?,
            "poll-sq" => self.poll_sq = parse_flag("poll_sq", value)?,
            "register-files" => self.register_files = parse_flag("register_files", value)?,
            "register-buffers" => self.register_buffers = parse_flag("register_buffers", value)?,
            "defer-taskrun" => self.defer_taskrun = parse_flag("defer_taskrun", value)?,
            "subnqn" => self.subnqn = Some(non_empty("subnqn", value)?),
            "hostnqn" => self.hostnqn = Some(non_empty("hostnqn", value)?),
            "admin-timeout" => self.admin_timeout = parse_timeout("admin-timeout", value)?,
            "command-timeout" => self.command_timeout = parse_timeout("command-timeout", value)?,
            _ => {
                return Err(Error::invalid(
                    "option",
                    format!(
                        "unknown option {name:?}; known options: {}",
                        OPTION_NAMES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Turns the `rdonly` or `wronly` flag (`mode`) on or off. Turning one
    /// on while the other is on is a conflict, and changes nothing.
    fn set_mode(&mut self, mode: OpenMode, on: bool) -> Result<()> {
        if on {
            if self.mode != OpenMode::ReadWrite && self.mode != mode {
                return Err(Error::conflict("options", "rdonly and wronly both set"));
            }
            self.mode = mode;
        } else if self.mode == mode {
            self.mode = OpenMode::ReadWrite;
        }
        Ok(())
    }

    /// Checks the options that [`Options::set`] cannot check alone: the
    /// namespace identifier. (`rdonly` with `wronly` is refused by `set`.)
    pub fn validate(&self) -> Result<()> {
        if self.nsid == 0 || self.nsid == u32::MAX {
            return Err(Error::out_of_range(
                "dev-nsid",
                format!(
                    "{:#x} is not a namespace identifier (0 and 0xffffffff are reserved)",
                    self.nsid
                ),
            ));
        }
        Ok(())
    }

    /// Whether writes are allowed by the access mode.
    pub fn writable(&self) -> bool {
        self.mode.writable()
    }

    /// Whether reads are allowed by the access mode.
    pub fn readable(&self) -> bool {
        self.mode.readable()
    }
}

fn non_empty(what: &'static str, v: &str) -> Result<String> {
    if v.is_empty() {
        Err(Error::invalid(what, "empty value"))
    } else {
        Ok(v.to_string())
    }
}

fn parse_flag(what: &'static str, v: &str) -> Result<bool> {
    match v {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(
            what,
            format!("{v:?} is not a flag value (use 1/0 or true/false)"),
        )),
    }
}

/// Parses a decimal or `0x`-prefixed hex number.
pub fn parse_u64(what: &'static str, v: &str) -> Result<u64> {
    let t = v.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse::<u64>()
    };
    r.map_err(|_| Error::invalid(what, format!("{v:?} is not a number (decimal or 0x hex)")))
}

/// Parses a timeout in microseconds. 0 is refused: every wait would end
/// before the first completion is reaped.
pub fn parse_timeout(what: &'static str, v: &str) -> Result<Duration> {
    match parse_u64(what, v)? {
        0 => Err(zero_timeout(what)),
        us => Ok(Duration::from_micros(us)),
    }
}

/// The error for a timeout of 0.
pub fn zero_timeout(what: &'static str) -> Error {
    Error::OutOfRange {
        what,
        why: "0 us: every wait would time out before reaping a completion; give a positive \
              number of microseconds"
            .into(),
    }
}

/// Parses a decimal or `0x`-prefixed hex number that must fit 32 bits.
pub fn parse_u32(what: &'static str, v: &str) -> Result<u32> {
    let n = parse_u64(what, v)?;
    u32::try_from(n).map_err(|_| Error::out_of_range(what, format!("{v} does not fit in 32 bits")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_xnvme() {
        let o = Options::default();
        assert_eq!(o.mode, OpenMode::ReadWrite);
        assert_eq!(o.nsid, 1);
        assert_eq!(o.create_mode, 0o600);
        assert_eq!(o.admin_timeout, Duration::from_secs(60));
        assert_eq!(o.command_timeout, Duration::from_secs(30));
    }

    #[test]
    fn a_zero_timeout_is_refused_naming_the_option() {
        let mut o = Options::default();
        for name in ["command-timeout", "admin-timeout"] {
            let e = o.set(name, "0").unwrap_err();
            assert!(
                matches!(e, Error::OutOfRange { what, .. } if what == name),
                "{e}"
            );
        }
        assert_eq!(o.command_timeout, Duration::from_secs(30), "unchanged");
        o.set("command-timeout", "1").unwrap();
        assert_eq!(o.command_timeout, Duration::from_micros(1));
    }

    #[test]
    fn set_accepts_xnvme_spellings() {
        let mut o = Options::default();
        o.set("be", "ramdisk").unwrap();
        o.set("--async", "thrpool").unwrap();
        o.set("dev-nsid", "0x2").unwrap();
        o.set("dev_nsid", "3").unwrap();
        o.set("poll_io", "").unwrap();
        o.set("create_mode", "1a4").unwrap();
        o.set("admin-timeout", "1000").unwrap();
        assert_eq!(o.be.as_deref(), Some("ramdisk"));
        assert_eq!(o.async_.as_deref(), Some("thrpool"));
        assert_eq!(o.nsid, 3);
        assert!(o.poll_io);
        assert_eq!(o.create_mode, 0o644);
        assert_eq!(o.admin_timeout, Duration::from_millis(1));
    }

    #[test]
    fn bad_option_names_and_values_are_named_in_the_error() {
        let mut o = Options::default();
        let e = o.set("bee", "x").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "option", why } if why.contains("unknown option \"bee\"")),
            "{e}"
        );
        let e = o.set("dev-nsid", "one").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "dev-nsid", why } if why.contains("\"one\"")),
            "{e}"
        );
        let e = o.set("direct", "maybe").unwrap_err();
        assert!(matches!(e, Error::Invalid { what: "direct", .. }), "{e}");
        let e = o.set("dev-nsid", "0x100000000").unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfRange {
                    what: "dev-nsid",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn open_mode_flags_set_one_mode_and_conflict_in_either_order() {
        for (first, second, kept) in [
            ("rdonly", "wronly", OpenMode::ReadOnly),
            ("wronly", "rdonly", OpenMode::WriteOnly),
        ] {
            let mut o = Options::default();
            o.set(first, "1").unwrap();
            assert_eq!(o.mode, kept);
            let e = o.set(second, "").unwrap_err();
            assert!(
                matches!(&e, Error::Conflict { what: "options", why } if why == "rdonly and wronly both set"),
                "{e}"
            );
            assert_eq!(o.mode, kept, "a refused flag changes nothing");
            o.set(first, "0").unwrap();
            assert_eq!(o.mode, OpenMode::ReadWrite);
            o.set(second, "true").unwrap();
            assert_ne!(o.mode, kept);
            assert!(o.validate().is_ok());
        }
        // Turning off the flag that is not set, and `rdwr` either way,
        // leave the mode as it is.
        let mut o = Options::default();
        o.set("rdonly", "1").unwrap();
        for (name, v) in [("wronly", "0"), ("rdwr", "1"), ("rdwr", "0")] {
            o.set(name, v).unwrap();
            assert_eq!(o.mode, OpenMode::ReadOnly, "{name}={v}");
        }
        assert!(!o.writable() && o.readable());
        assert!(matches!(
            o.set("rdwr", "maybe"),
            Err(Error::Invalid { what: "rdwr", .. })
        ));
    }

    #[test]
    fn the_open_mode_serializes_as_the_three_flags() {
        let mut o = Options::default();
        let flags = |o: &Options| {
            let v = serde_json::to_value(o).unwrap();
            (v["rdonly"].clone(), v["wronly"].clone(), v["rdwr"].clone())
        };
        assert_eq!(flags(&o), (false.into(), false.into(), true.into()));
        o.set("wronly", "1").unwrap();
        assert_eq!(flags(&o), (false.into(), true.into(), false.into()));
    }

    #[test]
    fn validate_rejects_reserved_nsids() {
        let mut o = Options::default();
        assert!(o.validate().is_ok());
        o.nsid = 0;
        assert!(matches!(
            o.validate(),
            Err(Error::OutOfRange {
                what: "dev-nsid",
                ..
            })
        ));
    }
}
