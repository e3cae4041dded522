//! `nvmx idfy`, `nvmx idfy-ctrlr` and `nvmx idfy-ns`: run Identify and
//! print the data structure it returns.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;
use nvmx::Device;
use nvmx::be::DataBuf;
use nvmx_spec::identify::{
    Cns, ControllerList, IDENTIFY_NBYTES, Identify, IdentifyController, IdentifyKvNamespace,
    IdentifyNamespace, IdentifyNvmController, IdentifyNvmNamespace, IdentifyZonedController,
    IdentifyZonedNamespace, IoCommandSetVectors, NamespaceList, NsIdDescriptorIter,
};
use nvmx_spec::opcode::Csi;
use serde::Serialize;
use zerocopy::FromBytes;

use crate::args::{DataOutput, DevArgs, UriArg, num_u8, num_u16, num_u32};
use crate::error::{CliError, CliResult};
use crate::output::{Hex, Printer};

/// Arguments of `nvmx idfy`.
#[derive(Args, Debug)]
pub struct IdfyArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Controller or Namespace Structure to return (e.g. 0x0 namespace,
    /// 0x1 controller, 0x2 active namespace list, 0x5/0x6 command-set
    /// specific namespace/controller).
    #[arg(long, value_parser = num_u8, value_name = "CNS")]
    cns: u8,
    /// Controller identifier (CNTID), for controller lists.
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "CNTID")]
    cntid: u16,
    /// Namespace identifier placed in the command (default: the opened
    /// namespace for namespace structures, 0 otherwise).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    /// Command set identifier, for CNS 0x5, 0x6, 0x7, 0x1a, 0x1b (0 NVM,
    /// 1 KV, 2 Zoned).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "CSI")]
    csi: u8,
    /// CNS specific identifier: NVM set, domain or endurance group.
    #[arg(long, value_parser = num_u16, default_value = "0", value_name = "ID")]
    setid: u16,
    /// UUID index (0 selects none).
    #[arg(long, value_parser = num_u8, default_value = "0", value_name = "INDEX")]
    uuid: u8,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx idfy-ctrlr`.
#[derive(Args, Debug)]
pub struct IdfyCtrlrArgs {
    #[command(flatten)]
    uri: UriArg,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `nvmx idfy-ns` (and `nvmx lblk idfy`).
#[derive(Args, Debug)]
pub struct IdfyNsArgs {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace to identify (default: the opened one).
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    #[command(flatten)]
    out: DataOutput,
    #[command(flatten)]
    dev: DevArgs,
}

/// CNS values whose NSID field names a namespace; others get 0 by default.
fn cns_takes_nsid(cns: Cns) -> bool {
    matches!(
        cns,
        Cns::NAMESPACE
            | Cns::NS_ID_DESCRIPTOR_LIST
            | Cns::CSI_NAMESPACE
            | Cns::IO_CMDSET_INDEPENDENT_NS
            | Cns::ALLOCATED_NAMESPACE
            | Cns::NS_CONTROLLER_LIST
            | Cns::CSI_NS_ALLOCATED
    )
}

/// Sends Identify and returns the 4096 bytes.
fn run(dev: &Device, idfy: &Identify) -> CliResult<nvmx::Buffer> {
    let mut buf = dev.alloc(IDENTIFY_NBYTES)?;
    let mut cmd = idfy.to_command();
    dev.cmd_admin(&mut cmd, DataBuf::In(&mut buf[..]))
        .map_err(|e| CliError::command("identify", e))?;
    Ok(buf)
}

/// Writes the raw data to `--data-output` when given.
pub(crate) fn save(p: &Printer, path: Option<&Path>, data: &[u8]) -> CliResult {
    if let Some(path) = path {
        std::fs::write(path, data)
            .map_err(|e| CliError::file("writing --data-output", path, &e))?;
        p.comment(&format!("wrote {} bytes to {}", data.len(), path.display()))?;
    }
    Ok(())
}

/// Reads a structure from the Identify data.
pub(crate) fn decode<T: FromBytes>(buf: &[u8]) -> CliResult<T> {
    T::read_from_prefix(buf).map(|(v, _)| v).map_err(|_| {
        CliError::new(format!(
            "identify returned {} bytes, fewer than the structure needs",
            buf.len()
        ))
    })
}

/// Prints `value` under the top-level key `key`.
pub(crate) fn print_keyed<T: Serialize>(p: &Printer, key: &'static str, value: T) -> CliResult {
    p.print(&BTreeMap::from([(key, value)]))?;
    Ok(())
}

fn header(p: &Printer, idfy: &Identify) -> CliResult {
    let name = idfy.cns.name().unwrap_or("unknown CNS");
    p.comment(&format!(
        "identify: cns {:#x} ({name}), nsid {:#x}, cntid {:#x}, csi {:#x}",
        idfy.cns.0, idfy.nsid, idfy.cntid, idfy.csi.0
    ))?;
    Ok(())
}

/// `nvmx idfy URI --cns N`.
pub fn idfy(p: &Printer, a: &IdfyArgs) -> CliResult {
    if a.uuid > 0x7f {
        return Err(CliError::new(format!(
            "invalid --uuid: {} is not a UUID index (0-127)",
            a.uuid
        )));
    }
    let dev = a.dev.open(&a.uri.uri)?;
    let cns = Cns(a.cns);
    let nsid = a
        .nsid
        .unwrap_or(if cns_takes_nsid(cns) { dev.nsid() } else { 0 });
    let cmd = Identify {
        nsid,
        cns,
        cntid: a.cntid,
        cnssi: a.setid,
        csi: Csi(a.csi),
        uuid: a.uuid,
    };
    let buf = run(&dev, &cmd)?;
    header(p, &cmd)?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    print_decoded(p, &cmd, &buf)
}

/// Prints the Identify data as the structure its CNS (and CSI) select, or
/// as a summary with a hex dump when nvmx does not decode it.
fn print_decoded(p: &Printer, cmd: &Identify, buf: &[u8]) -> CliResult {
    match (cmd.cns, cmd.csi) {
        (Cns::NAMESPACE | Cns::ALLOCATED_NAMESPACE, _) => {
            print_keyed(p, "idfy_ns", decode::<IdentifyNamespace>(buf)?)
        }
        (Cns::CONTROLLER, _) => print_keyed(p, "idfy_ctrlr", decode::<IdentifyController>(buf)?),
        (
            Cns::ACTIVE_NSID_LIST
            | Cns::CSI_ACTIVE_NSID_LIST
            | Cns::ALLOCATED_NSID_LIST
            | Cns::CSI_ALLOCATED_NSID_LIST,
            _,
        ) => {
            let list = decode::<NamespaceList>(buf)?;
            print_keyed(
                p,
                "idfy_nslist",
                list.iter().map(|n| Hex(n.into())).collect::<Vec<_>>(),
            )
        }
        (Cns::NS_ID_DESCRIPTOR_LIST, _) => print_keyed(
            p,
            "idfy_nsdescr",
            NsIdDescriptorIter::new(buf).collect::<Vec<_>>(),
        ),
        (Cns::CSI_NAMESPACE | Cns::CSI_NS_ALLOCATED, Csi::NVM) => {
            print_keyed(p, "idfy_nvm_ns", decode::<IdentifyNvmNamespace>(buf)?)
        }
        (Cns::CSI_NAMESPACE | Cns::CSI_NS_ALLOCATED, Csi::ZONED) => {
            print_keyed(p, "idfy_zoned_ns", decode::<IdentifyZonedNamespace>(buf)?)
        }
        (Cns::CSI_NAMESPACE | Cns::CSI_NS_ALLOCATED, Csi::KV) => {
            print_keyed(p, "idfy_kv_ns", decode::<IdentifyKvNamespace>(buf)?)
        }
        (Cns::CSI_CONTROLLER, Csi::NVM) => {
            print_keyed(p, "idfy_nvm_ctrlr", decode::<IdentifyNvmController>(buf)?)
        }
        (Cns::CSI_CONTROLLER, Csi::ZONED) => print_keyed(
            p,
            "idfy_zoned_ctrlr",
            decode::<IdentifyZonedController>(buf)?,
        ),
        (Cns::NS_CONTROLLER_LIST | Cns::CONTROLLER_LIST, _) => {
            print_keyed(p, "idfy_ctrlrlist", decode::<ControllerList>(buf)?)
        }
        (Cns::IO_CMDSET, _) => {
            #[derive(Serialize)]
            struct Combination {
                index: usize,
                iocsc: Hex,
            }
            let v = decode::<IoCommandSetVectors>(buf)?;
            let used: Vec<_> = v
                .iocsc
                .iter()
                .enumerate()
                .filter(|(_, bits)| **bits != 0)
                .map(|(index, &bits)| Combination {
                    index,
                    iocsc: Hex(bits),
                })
                .collect();
            print_keyed(p, "idfy_cs", used)
        }
        _ => print_keyed(p, "idfy_raw", RawSummary::new(cmd.cns, buf)),
    }
}

/// Data nvmx does not decode: its size, how much of it is set, and the
/// first bytes.
#[derive(Serialize)]
struct RawSummary {
    cns: Hex,
    nbytes: usize,
    nonzero_nbytes: usize,
    head: Vec<String>,
}

impl RawSummary {
    fn new(cns: Cns, buf: &[u8]) -> Self {
        Self {
            cns: Hex(cns.0.into()),
            nbytes: buf.len(),
            nonzero_nbytes: buf.iter().filter(|&&b| b != 0).count(),
            head: hexdump(&buf[..buf.len().min(64)]),
        }
    }
}

/// Lines of `offset: xx xx ...`, 16 bytes each.
pub fn hexdump(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            format!("{:04x}: {}", i * 16, hex.join(" "))
        })
        .collect()
}

/// `nvmx idfy-ctrlr URI`.
pub fn idfy_ctrlr(p: &Printer, a: &IdfyCtrlrArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let cmd = Identify::controller();
    let buf = run(&dev, &cmd)?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    print_keyed(p, "idfy_ctrlr", decode::<IdentifyController>(&buf)?)
}

/// `nvmx idfy-cs URI`: Identify CNS 0x1C, the I/O command set
/// combinations.
pub fn idfy_cs(p: &Printer, a: &IdfyCtrlrArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let cmd = Identify {
        cns: Cns::IO_CMDSET,
        ..Identify::controller()
    };
    let buf = run(&dev, &cmd)?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    print_decoded(p, &cmd, &buf)
}

/// `nvmx idfy-ns URI`.
pub fn idfy_ns(p: &Printer, a: &IdfyNsArgs) -> CliResult {
    let dev = a.dev.open(&a.uri.uri)?;
    let cmd = Identify::namespace(a.nsid.unwrap_or(dev.nsid()));
    let buf = run(&dev, &cmd)?;
    save(p, a.out.data_output.as_deref(), &buf)?;
    print_keyed(p, "idfy_ns", decode::<IdentifyNamespace>(&buf)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_lines() {
        let b: Vec<u8> = (0u8..20).collect();
        let d = hexdump(&b);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            "0000: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
        );
        assert_eq!(d[1], "0010: 10 11 12 13");
        assert!(hexdump(&[]).is_empty());
    }
}
