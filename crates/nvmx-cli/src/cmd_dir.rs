//! `nvmx lblk write-dir`, `lblk dir-send` and `lblk dir-receive`: writes
//! with a directive, and the Directive Send and Receive commands (xNVMe's
//! `lblk` spellings: `--dtype`, `--dspec`, `--doper`, `--endir`,
//! `--tgtdir`, `--nsr`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use nvmx::spec::cmd::dtype;
use nvmx::spec::directive::{
    IdentifyDirectiveParams, StreamsParams, identify_op, stream_status_ids, streams_op,
};
use serde::Serialize;
use zerocopy::FromBytes;

use crate::args::{DevArgs, UriArg, num_u8, num_u16, num_u32, num_u64};
use crate::cmd_fdp::open_ns;
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `lblk write-dir`.
#[derive(Args, Debug)]
pub struct WriteDirArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Starting logical block address (decimal or 0x hex).
    #[arg(long, value_parser = num_u64, value_name = "LBA")]
    slba: u64,
    /// Number of logical blocks, zero-based: 0 means one block.
    #[arg(long, value_parser = num_u16, value_name = "NLB")]
    nlb: u16,
    /// Directive type: 1 streams, 2 data placement (FDP).
    #[arg(long, value_parser = num_u8, default_value = "2", value_name = "DTYPE")]
    dtype: u8,
    /// Directive specific value: a stream identifier, or a placement
    /// identifier.
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "DSPEC")]
    dspec: u16,
    /// Namespace the command addresses; opened as --dev-nsid when that is
    /// not given.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Data to write; without it the 'anum' pattern (0-9a-zA-Z repeating).
    #[arg(long = "data-input", value_name = "FILE")]
    data_input: Option<PathBuf>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `lblk dir-send`.
#[derive(Args, Debug)]
pub struct DirSendArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace the command addresses.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Directive type: 0 identify, 1 streams.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "DTYPE")]
    dtype: u8,
    /// Directive operation: identify 1 enable directive; streams 1 release
    /// identifier, 2 release resources.
    #[arg(long, value_parser = num_u8, default_value = "1", value_name = "DOPER")]
    doper: u8,
    /// Directive specific value (the stream identifier to release).
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "DSPEC")]
    dspec: u16,
    /// Enable (1) or disable (0) the target directive (identify, enable).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "0|1")]
    endir: u8,
    /// The directive type to enable or disable (identify, enable).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "DTYPE")]
    tgtdir: u8,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `lblk dir-receive`.
#[derive(Args, Debug)]
pub struct DirRecvArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace the command addresses.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Directive type: 0 identify, 1 streams.
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "DTYPE")]
    dtype: u8,
    /// Directive operation: 1 return parameters; streams also 2 get status,
    /// 3 allocate resources.
    #[arg(long, value_parser = num_u8, default_value = "1", value_name = "DOPER")]
    doper: u8,
    /// Streams requested (streams, allocate resources).
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "N")]
    nsr: u16,
    #[command(flatten)]
    dev: DevArgs,
}

fn print_keyed<T: Serialize>(p: &Printer, key: &'static str, value: T) -> CliResult {
    p.print(&BTreeMap::from([(key, value)]))?;
    Ok(())
}

/// `nvmx lblk write-dir`.
pub fn write_dir(p: &Printer, a: &WriteDirArgs) -> CliResult {
    let dev = open_ns(&a.uri.uri, a.nsid, &a.dev)?;
    let g = dev.geometry()?.clone();
    let nblocks = u64::from(a.nlb) + 1;
    let nbytes = usize::try_from(nblocks * u64::from(g.lba_nbytes))
        .map_err(|_| CliError::new("the range does not fit in memory"))?;
    let mut data = dev.alloc(nbytes)?;
    match &a.data_input {
        Some(path) => {
            let mut f = std::fs::File::open(path)
                .map_err(|e| CliError::file("reading --data-input", path, &e))?;
            f.read_exact(&mut data).map_err(|e| {
                CliError::new(format!(
                    "reading --data-input {}: {e} (the range needs {nbytes} bytes)",
                    path.display()
                ))
            })?;
        }
        None => data.fill("anum")?,
    }
    dev.write_directive(a.slba, a.nlb, a.dtype, a.dspec, &data, None)
        .map_err(|e| CliError::command("write", e))?;
    p.comment(&format!(
        "lblk write-dir: slba {:#x} nlb {} dtype {} dspec {:#x}",
        a.slba, a.nlb, a.dtype, a.dspec
    ))?;
    #[derive(Serialize)]
    struct Out {
        slba: Hex,
        nlb: u16,
        nbytes: usize,
        dtype: u8,
        dspec: Hex,
        status: &'static str,
    }
    print_keyed(
        p,
        "lblk_write_dir",
        Out {
            slba: Hex(a.slba),
            nlb: a.nlb,
            nbytes,
            dtype: a.dtype,
            dspec: Hex(u64::from(a.dspec)),
            status: "ok",
        },
    )
}

/// `nvmx lblk dir-send`.
pub fn dir_send(p: &Printer, a: &DirSendArgs) -> CliResult {
    let dev = open_ns(&a.uri.uri, a.nsid, &a.dev)?;
    let cdw12 = match (a.dtype, a.doper) {
        (dtype::IDENTIFY, identify_op::SEND_ENABLE) => {
            if a.endir > 1 {
                return Err(CliError::new(format!("--endir {}: 0 or 1", a.endir)));
            }
            u32::from(a.endir) | u32::from(a.tgtdir) << 8
        }
        _ => 0,
    };
    dev.dir_send(a.dtype, a.doper, a.dspec, cdw12, None)
        .map_err(|e| CliError::command("directive send", e))?;
    #[derive(Serialize)]
    struct Out {
        dtype: u8,
        doper: u8,
        dspec: Hex,
        cdw12: Hex,
        status: &'static str,
    }
    print_keyed(
        p,
        "dir_send",
        Out {
            dtype: a.dtype,
            doper: a.doper,
            dspec: Hex(u64::from(a.dspec)),
            cdw12: Hex(u64::from(cdw12)),
            status: "ok",
        },
    )
}

/// Directive types named in a bitmap.
fn types(bits: &[u8; 32]) -> Vec<&'static str> {
    [
        (dtype::IDENTIFY, "identify"),
        (dtype::STREAMS, "streams"),
        (dtype::DATA_PLACEMENT, "data placement"),
    ]
    .into_iter()
    .filter(|(t, _)| bits[0] & 1 << t != 0)
    .map(|(_, n)| n)
    .collect()
}

/// `nvmx lblk dir-receive`.
pub fn dir_recv(p: &Printer, a: &DirRecvArgs) -> CliResult {
    let dev = open_ns(&a.uri.uri, a.nsid, &a.dev)?;
    let fail = |e| CliError::command("directive receive", e);
    match (a.dtype, a.doper) {
        (dtype::IDENTIFY, identify_op::RECV_RETURN_PARAMS) => {
            let mut buf = vec![0u8; 4096];
            dev.dir_recv(a.dtype, a.doper, 0, 0, &mut buf)
                .map_err(fail)?;
            let id = IdentifyDirectiveParams::read_from_bytes(&buf)
                .map_err(|_| CliError::new("directive parameters: not 4096 bytes"))?;
            #[derive(Serialize)]
            struct Out {
                supported: Vec<&'static str>,
                enabled: Vec<&'static str>,
                persistent: Vec<&'static str>,
            }
            print_keyed(
                p,
                "dir_identify",
                Out {
                    supported: types(&id.supported),
                    enabled: types(&id.enabled),
                    persistent: types(&id.persistent),
                },
            )
        }
        (dtype::STREAMS, streams_op::RECV_RETURN_PARAMS) => {
            let mut buf = [0u8; 32];
            dev.dir_recv(a.dtype, a.doper, 0, 0, &mut buf)
                .map_err(fail)?;
            let sp = StreamsParams::read_from_bytes(&buf)
                .map_err(|_| CliError::new("streams parameters: not 32 bytes"))?;
            print_keyed(p, "dir_streams_params", sp)
        }
        (dtype::STREAMS, streams_op::RECV_GET_STATUS) => {
            let mut buf = vec![0u8; 128 * 1024];
            dev.dir_recv(a.dtype, a.doper, 0, 0, &mut buf)
                .map_err(fail)?;
            let ids: Vec<u16> = stream_status_ids(&buf).collect();
            #[derive(Serialize)]
            struct Out {
                open: usize,
                stream_ids: Vec<u16>,
            }
            print_keyed(
                p,
                "dir_streams_status",
                Out {
                    open: ids.len(),
                    stream_ids: ids,
                },
            )
        }
        (dtype::STREAMS, streams_op::RECV_ALLOCATE_RESOURCES) => {
            let n = dev.streams_allocate(a.nsr).map_err(fail)?;
            #[derive(Serialize)]
            struct Out {
                nsr: u16,
                nsa: u16,
            }
            print_keyed(p, "dir_streams_allocate", Out { nsr: a.nsr, nsa: n })
        }
        (t, op) => Err(CliError::new(format!(
            "--dtype {t} --doper {op}: dir-receive knows identify (0) return parameters (1), \
             and streams (1) return parameters (1), get status (2), allocate resources (3)"
        ))),
    }
}
