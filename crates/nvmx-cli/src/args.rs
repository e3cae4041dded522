//! Command-line arguments shared by the subcommands: the device options
//! every device subcommand takes, and the number parsers.

use std::path::PathBuf;

use clap::Args;
use nvmx::{Device, Options};

use crate::error::CliResult;

/// Device and backend options, spelled as xNVMe's tools spell them.
///
/// They are turned into [`nvmx::Options`] through [`Options::set`], so the
/// library validates the values and names the bad one.
#[derive(Args, Debug, Clone, Default)]
pub struct DevArgs {
    /// Backend configuration, e.g. ramdisk, emu_file (see `nvmx library-info`).
    #[arg(long, value_name = "NAME", help_heading = "Backend options")]
    pub be: Option<String>,
    /// Async interface, e.g. emu, thrpool, nil.
    #[arg(long = "async", value_name = "ID", help_heading = "Backend options")]
    pub async_: Option<String>,
    /// Sync interface, e.g. psync, ramdisk.
    #[arg(long, value_name = "ID", help_heading = "Backend options")]
    pub sync: Option<String>,
    /// Admin interface, e.g. file_as_ns, ramdisk.
    #[arg(long, value_name = "ID", help_heading = "Backend options")]
    pub admin: Option<String>,
    /// Memory interface, e.g. heap.
    #[arg(long, value_name = "ID", help_heading = "Backend options")]
    pub mem: Option<String>,
    /// Namespace to open on a controller or PCIe device (default 1); not the
    /// nsid placed in a command (that is --nsid).
    #[arg(
        long = "dev-nsid",
        value_name = "NSID",
        help_heading = "Backend options"
    )]
    pub dev_nsid: Option<String>,
    /// Open read-only.
    #[arg(long, help_heading = "Open options")]
    pub rdonly: bool,
    /// Open write-only.
    #[arg(long, help_heading = "Open options")]
    pub wronly: bool,
    /// Open read-write (the default).
    #[arg(long, help_heading = "Open options")]
    pub rdwr: bool,
    /// Create the file when it does not exist.
    #[arg(long, help_heading = "Open options")]
    pub create: bool,
    /// Truncate the file on open.
    #[arg(long, help_heading = "Open options")]
    pub truncate: bool,
    /// Bypass the page cache (O_DIRECT).
    #[arg(long, help_heading = "Open options")]
    pub direct: bool,
    /// Mode bits of a created file, in hex (default 0x180, i.e. 0600).
    #[arg(
        long = "create-mode",
        alias = "create_mode",
        value_name = "HEX",
        help_heading = "Open options"
    )]
    pub create_mode: Option<String>,
    /// Polled completions (io_uring IOPOLL).
    #[arg(long = "poll_io", help_heading = "Open options")]
    pub poll_io: bool,
    /// Kernel-side submission polling (io_uring SQPOLL).
    #[arg(long = "poll_sq", help_heading = "Open options")]
    pub poll_sq: bool,
    /// Register the file with the kernel.
    #[arg(long = "register_files", help_heading = "Open options")]
    pub register_files: bool,
    /// Register buffers with the kernel.
    #[arg(long = "register_buffers", help_heading = "Open options")]
    pub register_buffers: bool,
    /// io_uring: run completion work only when the queue's thread reaps
    /// (DEFER_TASKRUN with SINGLE_ISSUER): `--defer_taskrun` or
    /// `--defer_taskrun=0`. Off by default; `perf` turns it on unless
    /// given `=0`.
    #[arg(
        long = "defer_taskrun",
        value_name = "1|0",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1",
        help_heading = "Open options"
    )]
    pub defer_taskrun: Option<String>,
    /// NVMe-oF subsystem NQN.
    #[arg(long, value_name = "NQN", help_heading = "Fabrics options")]
    pub subnqn: Option<String>,
    /// NVMe-oF host NQN.
    #[arg(long, value_name = "NQN", help_heading = "Fabrics options")]
    pub hostnqn: Option<String>,
    /// How long an I/O command may take before a wait gives up with a
    /// timeout error, in microseconds (default 30000000, 30 s; 0 is
    /// refused).
    #[arg(
        long = "command-timeout",
        value_name = "USEC",
        help_heading = "Open options"
    )]
    pub command_timeout: Option<String>,
    /// How long an admin command may take, in microseconds (default
    /// 60000000, 60 s; 0 is refused).
    #[arg(
        long = "admin-timeout",
        value_name = "USEC",
        help_heading = "Open options"
    )]
    pub admin_timeout: Option<String>,
    /// Write even to a device that holds a mounted file system, swap or a
    /// device-mapper/LVM volume (and run destructive commands).
    #[arg(long, help_heading = "Open options")]
    pub force: bool,
}

impl DevArgs {
    /// The library options these arguments ask for.
    pub fn to_options(&self) -> CliResult<Options> {
        let mut o = Options::default();
        let values = [
            ("be", &self.be),
            ("async", &self.async_),
            ("sync", &self.sync),
            ("admin", &self.admin),
            ("mem", &self.mem),
            ("dev-nsid", &self.dev_nsid),
            ("create-mode", &self.create_mode),
            ("subnqn", &self.subnqn),
            ("hostnqn", &self.hostnqn),
            ("command-timeout", &self.command_timeout),
            ("admin-timeout", &self.admin_timeout),
            ("defer_taskrun", &self.defer_taskrun),
        ];
        for (name, value) in values {
            if let Some(v) = value {
                o.set(name, v)?;
            }
        }
        let flags = [
            ("rdonly", self.rdonly),
            ("wronly", self.wronly),
            ("rdwr", self.rdwr),
            ("create", self.create),
            ("truncate", self.truncate),
            ("direct", self.direct),
            ("poll_io", self.poll_io),
            ("poll_sq", self.poll_sq),
            ("register_files", self.register_files),
            ("register_buffers", self.register_buffers),
        ];
        for (name, on) in flags {
            if on {
                o.set(name, "1")?;
            }
        }
        Ok(o)
    }

    /// Opens `uri` with these options.
    pub fn open(&self, uri: &str) -> CliResult<Device> {
        Ok(Device::open(uri, &self.to_options()?)?)
    }

    /// Opens `uri` for a command that changes what the device stores:
    /// refused, naming why, when the device is in use (a mounted file
    /// system, swap, a device-mapper holder) and `--force` was not given.
    pub fn open_for_write(&self, uri: &str) -> CliResult<Device> {
        self.check_not_in_use(uri)?;
        self.open(uri)
    }

    /// Refuses a device in use unless `--force`.
    pub fn check_not_in_use(&self, uri: &str) -> CliResult {
        match nvmx::in_use(uri) {
            Some(why) if !self.force => Err(crate::error::CliError::new(format!(
                "refusing to write to {uri}: {why}; pass --force to write anyway"
            ))),
            _ => Ok(()),
        }
    }
}

/// A device URI: a path, a ramdisk size (`64MiB`, `1GB?lbaf=2`), a PCIe
/// address or a fabrics address.
#[derive(Args, Debug, Clone)]
pub struct UriArg {
    /// Device URI: a file or device path, a ramdisk size such as 64MiB or
    /// '1GB?lbaf=2', a PCIe address, or host:port.
    #[arg(value_name = "URI")]
    pub uri: String,
}

/// An optional file to write the raw data to.
#[derive(Args, Debug, Clone, Default)]
pub struct DataOutput {
    /// Write the raw data to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    pub data_output: Option<PathBuf>,
}

/// Parses an unsigned number in decimal or `0x` hex of at most `max`.
fn parse_num(s: &str, max: u64) -> Result<u64, String> {
    let t = s.trim();
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Err(format!("{s:?} is not a number (use decimal or 0x hex)"));
    }
    let v = u64::from_str_radix(digits, radix).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("{s} does not fit in 64 bits"),
        _ => format!("{s:?} is not a number (use decimal or 0x hex)"),
    })?;
    if v > max {
        return Err(format!("{s} is too large (at most {max})"));
    }
    Ok(v)
}

/// clap parser for 64-bit numbers (decimal or 0x hex).
pub fn num_u64(s: &str) -> Result<u64, String> {
    parse_num(s, u64::MAX)
}

/// clap parser for 32-bit numbers (decimal or 0x hex).
pub fn num_u32(s: &str) -> Result<u32, String> {
    parse_num(s, u32::MAX.into()).map(|v| v as u32)
}

/// clap parser for 16-bit numbers (decimal or 0x hex).
pub fn num_u16(s: &str) -> Result<u16, String> {
    parse_num(s, u16::MAX.into()).map(|v| v as u16)
}

/// clap parser for 8-bit numbers (decimal or 0x hex).
pub fn num_u8(s: &str) -> Result<u8, String> {
    parse_num(s, u8::MAX.into()).map(|v| v as u8)
}

/// clap parser for byte counts: decimal or `0x` hex, or a decimal number
/// with a binary unit (`K`, `KiB`, `KB`, `M`, `MiB`, `MB`, `G`, `GiB`, `GB`).
pub fn nbytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = t.split_at(digits);
    if unit.is_empty() || t.starts_with("0x") || t.starts_with("0X") {
        return crate::args::num_u64(t);
    }
    let shift = match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use K, M, G or KiB, MiB, GiB; all binary)"
            ));
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s} does not fit in 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_take_binary_units() {
        assert_eq!(nbytes("4096"), Ok(4096));
        assert_eq!(nbytes("0x1000"), Ok(4096));
        assert_eq!(nbytes("4K"), Ok(4096));
        assert_eq!(nbytes("1MiB"), Ok(1 << 20));
        assert_eq!(nbytes("2GB"), Ok(2 << 30));
        assert!(nbytes("1TB").unwrap_err().contains("unknown unit"));
        assert!(nbytes("x").is_err());
    }

    #[test]
    fn numbers_in_decimal_and_hex() {
        assert_eq!(num_u64("0"), Ok(0));
        assert_eq!(num_u64("42"), Ok(42));
        assert_eq!(num_u64("0x2A"), Ok(42));
        assert_eq!(num_u64("0X2a"), Ok(42));
        assert_eq!(num_u64("18446744073709551615"), Ok(u64::MAX));
        assert!(
            num_u64("18446744073709551616")
                .unwrap_err()
                .contains("64 bits")
        );
        assert!(num_u64("zz").unwrap_err().contains("not a number"));
        assert!(num_u64("0x").is_err());
        assert!(num_u64("").is_err());
        assert!(num_u64("-1").is_err());
        assert!(num_u64("+1").is_err());
        assert_eq!(num_u16("65535"), Ok(65535));
        assert!(num_u16("65536").unwrap_err().contains("at most 65535"));
        assert!(num_u8("0x100").unwrap_err().contains("at most 255"));
        assert_eq!(num_u32("0xffffffff"), Ok(u32::MAX));
    }

    #[test]
    fn dev_args_become_options() {
        let a = DevArgs {
            be: Some("ramdisk".into()),
            async_: Some("thrpool".into()),
            dev_nsid: Some("0x2".into()),
            rdonly: true,
            create_mode: Some("1a4".into()),
            poll_io: true,
            command_timeout: Some("250000".into()),
            ..Default::default()
        };
        let o = a.to_options().unwrap();
        assert_eq!(o.command_timeout, std::time::Duration::from_millis(250));
        assert_eq!(o.be.as_deref(), Some("ramdisk"));
        assert_eq!(o.async_.as_deref(), Some("thrpool"));
        assert_eq!(o.nsid, 2);
        assert!(o.mode == nvmx::OpenMode::ReadOnly && o.poll_io);
        assert_eq!(o.create_mode, 0o644);
        let bad = DevArgs {
            dev_nsid: Some("one".into()),
            ..Default::default()
        };
        assert!(
            bad.to_options()
                .unwrap_err()
                .to_string()
                .contains("dev-nsid")
        );
    }
}
