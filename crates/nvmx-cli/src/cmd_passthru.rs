//! `nvmx padc` and `nvmx pioc`: raw admin and I/O passthrough. Every
//! command dword is settable; data and metadata come from and go to files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use nvmx::Device;
use nvmx::be::{DataBuf, Direction};
use nvmx_spec::Command;
use serde::Serialize;

use crate::args::{DevArgs, UriArg, num_u8, num_u32};
use crate::cmd_idfy::hexdump;
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `nvmx padc` and `nvmx pioc`.
#[derive(Args, Debug)]
pub struct PassthruArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Opcode (overrides bits 7:0 of --cdw0).
    #[arg(long, value_parser = num_u8, value_name = "OPC")]
    opcode: Option<u8>,
    /// Namespace identifier (overrides --cdw1; default: the opened
    /// namespace for I/O, 0 for admin).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Command dword 0: opcode (7:0) and flags (15:8); the command
    /// identifier (31:16) is the driver's.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw0: u32,
    /// Command dword 1 (NSID).
    #[arg(long, value_parser = num_u32)]
    cdw1: Option<u32>,
    /// Command dword 2.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw2: u32,
    /// Command dword 3.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw3: u32,
    /// Command dwords 4-9 hold the metadata and data pointers, which the
    /// driver fills in from the buffers; only 0 is accepted.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw4: u32,
    /// See --cdw4.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw5: u32,
    /// See --cdw4.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw6: u32,
    /// See --cdw4.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw7: u32,
    /// See --cdw4.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw8: u32,
    /// See --cdw4.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw9: u32,
    /// Command dword 10.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw10: u32,
    /// Command dword 11.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw11: u32,
    /// Command dword 12.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw12: u32,
    /// Command dword 13.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw13: u32,
    /// Command dword 14.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw14: u32,
    /// Command dword 15.
    #[arg(long, value_parser = num_u32, default_value = "0")]
    cdw15: u32,
    /// File with the data a host-to-controller command sends.
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
    /// File for the data a controller-to-host command returns.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
    /// Data buffer size in bytes (default: the --data-input file's size).
    #[arg(long = "data-nbytes", value_parser = num_u32, value_name = "BYTES")]
    data_nbytes: Option<u32>,
    /// File with the metadata a command sends (I/O only).
    #[arg(long = "meta-input", value_name = "FILE")]
    meta_input: Option<PathBuf>,
    /// File for the metadata a command returns (I/O only).
    #[arg(long = "meta-output", value_name = "FILE")]
    meta_output: Option<PathBuf>,
    /// Metadata buffer size in bytes (default: the --meta-input file's size).
    #[arg(long = "meta-nbytes", value_parser = num_u32, value_name = "BYTES")]
    meta_nbytes: Option<u32>,
    /// Also print the command and the first bytes of returned data.
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    dev: DevArgs,
}

/// Which queue a passthrough command goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `padc`: the admin queue.
    Admin,
    /// `pioc`: an I/O queue.
    Io,
}

/// A buffer of a passthrough command: its bytes and where they go.
struct Side {
    bytes: Option<nvmx::Buffer>,
    output: Option<PathBuf>,
}

/// Builds a data or metadata buffer from the input/output/size options,
/// for a command moving data in `dir`.
fn side(
    dev: &Device,
    what: &str,
    dir: Direction,
    input: Option<&Path>,
    output: Option<&Path>,
    nbytes: Option<u32>,
) -> CliResult<Side> {
    let flag = |s: &str| format!("--{what}-{s}");
    match dir {
        Direction::ToDevice if output.is_some() => {
            return Err(CliError::new(format!(
                "{}: the opcode sends data to the controller; use {}",
                flag("output"),
                flag("input")
            )));
        }
        Direction::FromDevice if input.is_some() => {
            return Err(CliError::new(format!(
                "{}: the opcode returns data from the controller; use {}",
                flag("input"),
                flag("output")
            )));
        }
        Direction::None if input.is_some() || output.is_some() || nbytes.is_some_and(|n| n > 0) => {
            return Err(CliError::new(format!(
                "{what} options given, but the opcode transfers no data (bits 1:0 are 00)"
            )));
        }
        Direction::Bidirectional => {
            return Err(CliError::new(
                "the opcode transfers data both ways (bits 1:0 are 11), which nvmx does not pass through",
            ));
        }
        _ => {}
    }
    let data = match input {
        Some(p) => Some(std::fs::read(p).map_err(|e| CliError::file("reading", p, &e))?),
        None => None,
    };
    let len = match (nbytes, &data) {
        (Some(n), Some(d)) if n as usize > d.len() => {
            return Err(CliError::new(format!(
                "{}: {n} bytes, but {} holds {}",
                flag("nbytes"),
                input
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                d.len()
            )));
        }
        (Some(n), _) => n as usize,
        (None, Some(d)) => d.len(),
        (None, None) if output.is_some() => {
            return Err(CliError::new(format!(
                "{} needs {}",
                flag("output"),
                flag("nbytes")
            )));
        }
        (None, None) => 0,
    };
    if len == 0 {
        return Ok(Side {
            bytes: None,
            output: None,
        });
    }
    let mut b = dev.alloc(len)?;
    if let Some(d) = data {
        b.copy_from_slice(&d[..len]);
    }
    Ok(Side {
        bytes: Some(b),
        output: output.map(Path::to_path_buf),
    })
}

impl Side {
    fn as_data_buf(&mut self, dir: Direction) -> DataBuf<'_> {
        match (&mut self.bytes, dir) {
            (None, _) => DataBuf::None,
            (Some(b), Direction::FromDevice) => DataBuf::In(&mut b[..]),
            (Some(b), _) => DataBuf::Out(&b[..]),
        }
    }

    fn save(&self, p: &Printer) -> CliResult {
        if let (Some(b), Some(path)) = (&self.bytes, &self.output) {
            std::fs::write(path, &b[..]).map_err(|e| CliError::file("writing", path, &e))?;
            p.comment(&format!("wrote {} bytes to {}", b.len(), path.display()))?;
        }
        Ok(())
    }
}

/// The completion as printed.
#[derive(Serialize)]
struct Cpl {
    cdw0: Hex,
    cdw1: Hex,
    status: Hex,
}

/// `nvmx padc` / `nvmx pioc`.
pub fn passthru(p: &Printer, a: &PassthruArgs, queue: Queue) -> CliResult {
    let ptrs = [a.cdw4, a.cdw5, a.cdw6, a.cdw7, a.cdw8, a.cdw9];
    if let Some(i) = ptrs.iter().position(|&v| v != 0) {
        return Err(CliError::new(format!(
            "invalid --cdw{}: dwords 4-9 are the metadata and data pointers, which the \
             driver fills in from --data-*/--meta-*; leave them 0",
            i + 4
        )));
    }
    if queue == Queue::Admin && (a.meta_input.is_some() || a.meta_output.is_some()) {
        return Err(CliError::new("admin commands take no metadata (--meta-*)"));
    }
    let opc = a.opcode.unwrap_or(a.cdw0 as u8);
    if queue == Queue::Io && nvmx::device::writes_media(opc) {
        a.dev.check_not_in_use(&a.uri.uri)?;
    }
    let dev = a.dev.open(&a.uri.uri)?;
    let default_nsid = if queue == Queue::Io { dev.nsid() } else { 0 };
    let mut cmd = Command::new(opc, a.nsid.or(a.cdw1).unwrap_or(default_nsid));
    cmd.flags = (a.cdw0 >> 8) as u8;
    cmd.cdw2 = a.cdw2;
    cmd.cdw3 = a.cdw3;
    cmd.cdw10 = a.cdw10;
    cmd.cdw11 = a.cdw11;
    cmd.cdw12 = a.cdw12;
    cmd.cdw13 = a.cdw13;
    cmd.cdw14 = a.cdw14;
    cmd.cdw15 = a.cdw15;
    let dir = Direction::of_opcode(opc);
    let mut data = side(
        &dev,
        "data",
        dir,
        a.data_input.as_deref(),
        a.data_output.as_deref(),
        a.data_nbytes,
    )?;
    let mut meta = side(
        &dev,
        "meta",
        dir,
        a.meta_input.as_deref(),
        a.meta_output.as_deref(),
        a.meta_nbytes,
    )?;
    if a.verbose {
        p.print(&BTreeMap::from([("cmd", &cmd)]))?;
    }
    let name = if queue == Queue::Admin {
        "admin passthrough"
    } else {
        "I/O passthrough"
    };
    let cpl = match queue {
        Queue::Admin => dev.cmd_admin(&mut cmd, data.as_data_buf(dir)),
        Queue::Io => dev.cmd_io(&mut cmd, data.as_data_buf(dir), meta.as_data_buf(dir)),
    }
    .map_err(|e| CliError::command(name, e))?;
    data.save(p)?;
    meta.save(p)?;
    if a.verbose
        && dir == Direction::FromDevice
        && let Some(b) = &data.bytes
    {
        p.print(&BTreeMap::from([(
            "data_head",
            hexdump(&b[..b.len().min(64)]),
        )]))?;
    }
    p.print(&BTreeMap::from([(
        "cpl",
        Cpl {
            cdw0: Hex(cpl.cdw0.into()),
            cdw1: Hex(cpl.cdw1.into()),
            status: Hex(cpl.status.into()),
        },
    )]))?;
    Ok(())
}
