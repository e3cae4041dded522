//! `nvmx kvs ...`: the Key Value command set (xNVMe's `kvs` tool):
//! `idfy-ns`, `store`, `retrieve`, `delete`, `exist`, `list`.
//!
//! Keys and values are given as text on the command line; `retrieve`
//! prints the value as text when it is UTF-8 and as a hex dump otherwise,
//! and writes the raw bytes to `--data-output`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use nvmx::kv::KvStoreOpts;
use nvmx::spec::identify::{Cns, IDENTIFY_NBYTES, IdentifyKvNamespace};
use nvmx::spec::opcode::Csi;
use serde::Serialize;
use zerocopy::FromBytes;

use crate::args::{DevArgs, UriArg, num_u32};
use crate::cmd_fdp::open_ns;
use crate::cmd_idfy::hexdump;
use crate::error::{CliError, CliResult};
use crate::output::Printer;

/// Largest value `retrieve` reads, unless `--data-nbytes` says otherwise.
const RETRIEVE_NBYTES: usize = 4096;

/// `nvmx kvs` subcommands.
#[derive(Subcommand, Debug)]
pub enum Kvs {
    /// Identify Namespace of the KV command set (CNS 0x5, CSI 0x1).
    #[command(name = "idfy-ns")]
    IdfyNs(KvTarget),
    /// Store a value under a key.
    Store(StoreArgs),
    /// Retrieve the value of a key.
    Retrieve(RetrieveArgs),
    /// Delete a key.
    Delete(KeyArgs),
    /// Whether a key exists.
    Exist(KeyArgs),
    /// List keys from a key on, in the device's order.
    List(ListArgs),
}

/// The URI, namespace and device options of a KV subcommand.
#[derive(Args, Debug)]
pub struct KvTarget {
    #[command(flatten)]
    uri: UriArg,
    /// Namespace the command addresses; opened as --dev-nsid when that is
    /// not given.
    #[arg(long, value_parser = num_u32, value_name = "NSID")]
    nsid: Option<u32>,
    #[command(flatten)]
    dev: DevArgs,
}

/// Arguments of `kvs delete` and `kvs exist`.
#[derive(Args, Debug)]
pub struct KeyArgs {
    #[command(flatten)]
    t: KvTarget,
    /// The key: 1 to 16 bytes of text.
    #[arg(long, value_name = "KEY")]
    key: String,
}

/// Arguments of `kvs store`.
#[derive(Args, Debug)]
pub struct StoreArgs {
    #[command(flatten)]
    t: KvTarget,
    /// The key: 1 to 16 bytes of text.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// The value, as text.
    #[arg(long, value_name = "VALUE")]
    value: String,
    /// Store only if the key exists (fails with Key Does Not Exist).
    #[arg(long = "only-update")]
    only_update: bool,
    /// Store only if the key does not exist (fails with Key Exists).
    #[arg(long = "only-add")]
    only_add: bool,
    /// Compression hint.
    #[arg(long)]
    compress: bool,
}

/// Arguments of `kvs retrieve`.
#[derive(Args, Debug)]
pub struct RetrieveArgs {
    #[command(flatten)]
    t: KvTarget,
    /// The key: 1 to 16 bytes of text.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// Host buffer size in bytes (default 4096); a longer value is cut.
    #[arg(long = "data-nbytes", value_parser = num_u32, value_name = "N")]
    data_nbytes: Option<u32>,
    /// Write the value's bytes to this file.
    #[arg(long = "data-output", value_name = "FILE")]
    data_output: Option<PathBuf>,
}

/// Arguments of `kvs list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    t: KvTarget,
    /// The key to list from.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// Host buffer size in bytes (default 4096).
    #[arg(long = "data-nbytes", value_parser = num_u32, default_value = "4096", value_name = "N")]
    data_nbytes: u32,
}

fn print_keyed<T: Serialize>(p: &Printer, key: &'static str, value: T) -> CliResult {
    p.print(&BTreeMap::from([(key, value)]))?;
    Ok(())
}

/// A byte string for printing: text when it is UTF-8, hex lines otherwise.
#[derive(Serialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    Hex(Vec<String>),
}

impl Bytes {
    fn of(b: &[u8]) -> Bytes {
        match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(char::is_control) => Bytes::Text(s.to_string()),
            _ => Bytes::Hex(hexdump(b)),
        }
    }
}

/// Runs a `kvs` subcommand.
pub fn run(p: &Printer, cmd: &Kvs) -> CliResult {
    match cmd {
        Kvs::IdfyNs(t) => idfy_ns(p, t),
        Kvs::Store(a) => store(p, a),
        Kvs::Retrieve(a) => retrieve(p, a),
        Kvs::Delete(a) => delete(p, a),
        Kvs::Exist(a) => exist(p, a),
        Kvs::List(a) => list(p, a),
    }
}

fn open(t: &KvTarget) -> CliResult<nvmx::Device> {
    open_ns(&t.uri.uri, t.nsid, &t.dev)
}

fn idfy_ns(p: &Printer, t: &KvTarget) -> CliResult {
    let dev = open(t)?;
    let mut buf = vec![0u8; IDENTIFY_NBYTES];
    dev.identify(Cns::CSI_NAMESPACE.0, dev.nsid(), Csi::KV.0, &mut buf)
        .map_err(|e| CliError::command("identify", e))?;
    let id = IdentifyKvNamespace::read_from_bytes(&buf)
        .map_err(|_| CliError::new("identify returned fewer than 4096 bytes"))?;
    p.comment(&format!(
        "identify: cns 0x5, csi 0x1 (Key Value), nsid {:#x}",
        dev.nsid()
    ))?;
    print_keyed(p, "kvs_idfy_ns", id)
}

#[derive(Serialize)]
struct Done<'a> {
    key: &'a str,
    status: &'static str,
}

fn store(p: &Printer, a: &StoreArgs) -> CliResult {
    let dev = open(&a.t)?;
    let opts = KvStoreOpts {
        only_update: a.only_update,
        only_add: a.only_add,
        compress: a.compress,
    };
    dev.kv_store(a.key.as_bytes(), a.value.as_bytes(), opts)
        .map_err(|e| CliError::command("store", e))?;
    #[derive(Serialize)]
    struct Out<'a> {
        key: &'a str,
        value_nbytes: usize,
        opts: KvStoreOpts,
        status: &'static str,
    }
    print_keyed(
        p,
        "kvs_store",
        Out {
            key: &a.key,
            value_nbytes: a.value.len(),
            opts,
            status: "ok",
        },
    )
}

fn retrieve(p: &Printer, a: &RetrieveArgs) -> CliResult {
    let dev = open(&a.t)?;
    let cap = a.data_nbytes.map_or(RETRIEVE_NBYTES, |n| n as usize);
    let mut buf = vec![0u8; cap];
    let n = dev
        .kv_retrieve(a.key.as_bytes(), &mut buf, false)
        .map_err(|e| CliError::command("retrieve", e))?;
    let got = &buf[..n.min(cap)];
    if let Some(path) = &a.data_output {
        std::fs::write(path, got).map_err(|e| CliError::file("writing --data-output", path, &e))?;
    }
    if n > cap {
        p.comment(&format!(
            "the value is {n} bytes; the {cap}-byte buffer holds its start (see --data-nbytes)"
        ))?;
    }
    #[derive(Serialize)]
    struct Out<'a> {
        key: &'a str,
        value_nbytes: usize,
        returned_nbytes: usize,
        value: Bytes,
    }
    print_keyed(
        p,
        "kvs_retrieve",
        Out {
            key: &a.key,
            value_nbytes: n,
            returned_nbytes: got.len(),
            value: Bytes::of(got),
        },
    )
}

fn delete(p: &Printer, a: &KeyArgs) -> CliResult {
    let dev = open(&a.t)?;
    dev.kv_delete(a.key.as_bytes())
        .map_err(|e| CliError::command("delete", e))?;
    print_keyed(
        p,
        "kvs_delete",
        Done {
            key: &a.key,
            status: "ok",
        },
    )
}

fn exist(p: &Printer, a: &KeyArgs) -> CliResult {
    let dev = open(&a.t)?;
    let exists = dev
        .kv_exist(a.key.as_bytes())
        .map_err(|e| CliError::command("exist", e))?;
    #[derive(Serialize)]
    struct Out<'a> {
        key: &'a str,
        exists: bool,
    }
    print_keyed(
        p,
        "kvs_exist",
        Out {
            key: &a.key,
            exists,
        },
    )
}

fn list(p: &Printer, a: &ListArgs) -> CliResult {
    let dev = open(&a.t)?;
    let l = dev
        .kv_list(a.key.as_bytes(), a.data_nbytes as usize)
        .map_err(|e| CliError::command("list", e))?;
    #[derive(Serialize)]
    struct Out {
        nkeys: u32,
        keys: Vec<Bytes>,
    }
    print_keyed(
        p,
        "kvs_list",
        Out {
            nkeys: l.reported,
            keys: l.keys.iter().map(|k| Bytes::of(k)).collect(),
        },
    )
}
