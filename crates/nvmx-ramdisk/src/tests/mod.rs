//! Tests of the ramdisk through its `SyncIo` and `Admin` interfaces, the
//! way the rest of nvmx calls it.

mod admin;
mod io;
mod open;
mod robust;

use nvmx_spec::cmd::NvmRw;
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion, Status};

use super::RamCtrl;
use super::params::Params;
use nvmx_core::be::{Admin, DataBuf, SyncIo};
use nvmx_core::error::Result;
use nvmx_core::uri::{Target, Uri};

/// A controller for a ramdisk URI such as `8MiB?lbaf=3`.
fn ctrl(uri: &str) -> RamCtrl {
    let uri = Uri::parse(uri).unwrap();
    let Target::Ramdisk { nbytes } = uri.target else {
        panic!("{uri:?} is not a ramdisk")
    };
    RamCtrl::new(Params::from_uri(&uri, nbytes).unwrap()).unwrap()
}

/// Bytes that differ from block to block and from seed to seed.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// An LBA-range command on nsid 1.
fn rw(opc: NvmOpcode, slba: u64, nlb: u16) -> Command {
    NvmRw {
        opc: opc.0,
        nsid: 1,
        slba,
        nlb,
        ..Default::default()
    }
    .to_command()
}

fn io(c: &RamCtrl, mut cmd: Command, data: DataBuf<'_>, meta: DataBuf<'_>) -> Result<Completion> {
    SyncIo::cmd_io(c, &mut cmd, data, meta)
}

fn admin(c: &RamCtrl, mut cmd: Command, data: DataBuf<'_>) -> Result<Completion> {
    Admin::cmd_admin(c, &mut cmd, data)
}

/// A status that will not succeed on retry, as the ramdisk reports errors.
fn dnr(sct: u8, sc: u8) -> Status {
    Status::new(sct, sc).dnr()
}

/// The completion status, asserting it was an NVMe completion.
fn status(r: Result<Completion>) -> Status {
    r.expect("an NVMe completion, not a host-side error")
        .status()
}

/// Writes `n` blocks at `slba`.
fn write(c: &RamCtrl, slba: u64, n: u16, data: &[u8], meta: &[u8]) -> Status {
    status(io(
        c,
        rw(NvmOpcode::WRITE, slba, n - 1),
        DataBuf::Out(data),
        DataBuf::Out(meta),
    ))
}

/// Reads `n` blocks at `slba` into fresh buffers sized for the format.
fn read(c: &RamCtrl, slba: u64, n: u16) -> (Status, Vec<u8>, Vec<u8>) {
    let ns = &*c.ns();
    let mut data = vec![0xeeu8; usize::from(n) * ns.host_block_bytes() as usize];
    let mut meta = vec![
        0xeeu8;
        if ns.separate_meta() {
            usize::from(n) * ns.ms() as usize
        } else {
            0
        }
    ];
    let st = status(io(
        c,
        rw(NvmOpcode::READ, slba, n - 1),
        DataBuf::In(&mut data),
        DataBuf::In(&mut meta),
    ));
    (st, data, meta)
}
