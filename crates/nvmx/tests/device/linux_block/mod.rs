//! The `block` interface on real block devices: loop devices over sparse
//! files, with 512-byte and 4 KiB logical blocks.
//!
//! Needs root and `losetup`: these tests are ignored elsewhere (see
//! `common::env`); testrig/host-env-tests.sh and the guest suite run
//! them. The interface is tested directly (its
//! `open` with a parsed URI) and, once the platform lists the `emu_bdev`
//! and `thrpool_bdev` configurations, through `Device::open`.
#![cfg(target_os = "linux")]

use std::io::{IoSlice, IoSliceMut};
use std::path::PathBuf;
use std::process::Command as Proc;
use std::sync::Mutex;

use nvmx::be::linux::block::{self, BlockDev};
use nvmx::be::{Backend, DataBuf, DataVec};
use nvmx::spec::cmd::NvmRw;
use nvmx::spec::identify::{IdentifyController, IdentifyNamespace, oncs};
use nvmx::spec::opcode::NvmOpcode;
use nvmx::spec::status::{sc, sc_media, sct};
use nvmx::spec::{Command, Completion};
use nvmx::{Buffer, DevType, Device, Error, OpenMode, Options, Uri};
use zerocopy::FromBytes;

use crate::common;

const SIZE: u64 = 64 << 20;

/// A loop device over a sparse temp file, detached and removed on drop.
struct Loop {
    dev: String,
    file: PathBuf,
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Proc::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Attaching is serialized: concurrent `losetup --find` can pick the same
/// free device.
static ATTACH: Mutex<()> = Mutex::new(());

/// A loop device with `sector` logical blocks, or why there is none.
fn attach(tag: &str, sector: u32) -> Result<Loop, String> {
    if !common::is_root() {
        return Err("not root (loop devices need CAP_SYS_ADMIN)".into());
    }
    let file = std::env::temp_dir().join(format!("nvmx-lblk-{}-{tag}.img", std::process::id()));
    let f = std::fs::File::create(&file).map_err(|e| format!("create {}: {e}", file.display()))?;
    f.set_len(SIZE)
        .map_err(|e| format!("size {}: {e}", file.display()))?;
    drop(f);
    let _g = ATTACH.lock().unwrap_or_else(|p| p.into_inner());
    let out = Proc::new("losetup")
        .args(["--find", "--show", "--sector-size", &sector.to_string()])
        .arg(&file)
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            let _ = std::fs::remove_file(&file);
            return Err(format!(
                "losetup failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(format!("no losetup: {e}"));
        }
    };
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(Loop { dev, file })
}

/// A loop device, or the test returns (see `common::require_env`).
macro_rules! loop_or_skip {
    ($tag:expr, $sector:expr) => {
        match common::require_env(common::ROOT, attach($tag, $sector)) {
            Some(l) => l,
            None => return,
        }
    };
}

fn open_iface(dev: &str, opts: &Options) -> Backend {
    let uri = Uri::parse(dev).unwrap();
    assert_eq!(uri.target, nvmx::uri::Target::BlockDevice { nvme: false });
    match block::open(&uri, opts) {
        Ok(b) => b,
        Err(e) => panic!("open {dev}: {e}"),
    }
}

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

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn assert_status(cpl: Completion, sct_: u8, sc_: u8) {
    let st = cpl.status();
    assert_eq!(
        (st.sct, st.sc),
        (sct_, sc_),
        "expected SCT {sct_:#x} SC {sc_:#x}, got {st:?}"
    );
}

fn identify(be: &Backend, cns: u8, nsid: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut cmd = Command::new(0x06, nsid);
    cmd.cdw10 = u32::from(cns);
    let cpl = be.admin.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).unwrap();
    assert!(cpl.is_success(), "identify cns {cns}: {:?}", cpl.status());
    buf
}

// After `loop_or_skip!`, which the modules use.
mod interface;
mod loop_device;
mod nvme;
