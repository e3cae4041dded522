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
use nvmx::{Buffer, DevType, Device, Error, Options, Uri};
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

/// Everything the interface does, on one loop device.
fn interface_round_trip(sector: u32) {
    let lp = loop_or_skip!(&format!("rt{sector}"), sector);
    let be = open_iface(&lp.dev, &Options::default());
    let lbs = sector as usize;
    let nsze = SIZE / u64::from(sector);
    assert_eq!(be.ident.dtype, DevType::BlockDevice);
    assert_eq!((be.ident.nsid, be.ident.csi), (1, 0));
    assert_eq!(be.sync.id(), "block");
    assert_eq!(be.admin.id(), "block");
    assert!(be.sync.raw_fd().is_some());

    // Identify, synthesized.
    let c = IdentifyController::read_from_bytes(&identify(&be, 1, 0)[..]).unwrap();
    assert_eq!(c.firmware(), "linux");
    assert_eq!(
        c.model(),
        "Linux block device",
        "loop devices have no model"
    );
    assert!(
        c.serial().starts_with("loop"),
        "serial falls back to the name: {:?}",
        c.serial()
    );
    assert_eq!(c.mdts, 8, "loop: max_hw_sectors_kb 1280 -> 256 pages");
    assert!(c.supports_oncs(oncs::COMPARE | oncs::WRITE_ZEROES | oncs::DSM | oncs::VERIFY));
    let n = IdentifyNamespace::read_from_bytes(&identify(&be, 0, 1)[..]).unwrap();
    assert_eq!((n.nsze, n.ncap, n.nuse), (nsze, nsze, nsze));
    assert_eq!(n.lbaf[0].lbads, sector.trailing_zeros() as u8);
    assert_eq!(
        n.dlfeat & 0x7,
        1,
        "loop discard punches holes: reads zeroes"
    );
    let desc = identify(&be, 3, 1);
    assert_eq!(&desc[..5], &[4, 1, 0, 0, 0], "one CSI descriptor, NVM");
    let mut cmd = Command::new(0x06, 2);
    let mut buf = vec![0u8; 4096];
    let cpl = be.admin.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).unwrap();
    assert_status(cpl, sct::GENERIC, sc::INVALID_NS_OR_FORMAT);
    let mut gf = Command::new(0x0a, 0);
    gf.cdw10 = 0x06;
    let vwc = be.admin.cmd_admin(&mut gf, DataBuf::None).unwrap();
    assert!(vwc.is_success() && vwc.cdw0 <= 1);

    // Write, read, compare.
    let data = pattern(8 * lbs, 7);
    let mut cmd = rw(NvmOpcode::WRITE, 16, 7);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut back = vec![0u8; 8 * lbs];
    let mut cmd = rw(NvmOpcode::READ, 16, 7);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
            .unwrap()
            .is_success()
    );
    assert!(back == data, "read back what was written");
    let mut cmd = rw(NvmOpcode::COMPARE, 16, 7);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut other = data.clone();
    other[lbs + 3] ^= 0xff;
    let mut cmd = rw(NvmOpcode::COMPARE, 16, 7);
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::Out(&other), DataBuf::None)
        .unwrap();
    assert_status(cpl, sct::MEDIA, sc_media::COMPARE_FAILURE);
    let mut cmd = rw(NvmOpcode::VERIFY, 0, 255);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
            .unwrap()
            .is_success()
    );

    // Vectored: write three pieces, read back into two.
    let v = pattern(4 * lbs, 99);
    let (a, rest) = v.split_at(lbs / 2);
    let (b, c2) = rest.split_at(2 * lbs);
    let mut cmd = rw(NvmOpcode::WRITE, 100, 3);
    let iov = [IoSlice::new(a), IoSlice::new(b), IoSlice::new(c2)];
    assert!(
        be.sync
            .cmd_iov(&mut cmd, DataVec::Out(&iov), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut x = vec![0u8; lbs];
    let mut y = vec![0u8; 3 * lbs];
    let mut cmd = rw(NvmOpcode::READ, 100, 3);
    let mut iov = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    assert!(
        be.sync
            .cmd_iov(&mut cmd, DataVec::In(&mut iov), DataBuf::None)
            .unwrap()
            .is_success()
    );
    assert!(x[..] == v[..lbs] && y[..] == v[lbs..]);
    // A vector whose size does not match the command is refused: longer
    // is a malformed request, shorter a short buffer.
    let mut cmd = rw(NvmOpcode::READ, 100, 0);
    let mut iov = [IoSliceMut::new(&mut y)];
    let e = be
        .sync
        .cmd_iov(&mut cmd, DataVec::In(&mut iov), DataBuf::None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Invalid {
                what: "data vector",
                ..
            }
        ),
        "{e}"
    );
    let mut cmd = rw(NvmOpcode::READ, 100, 3);
    let mut iov = [IoSliceMut::new(&mut y)];
    let e = be
        .sync
        .cmd_iov(&mut cmd, DataVec::In(&mut iov), DataBuf::None)
        .unwrap_err();
    let (len, need) = (3 * lbs as u64, 4 * lbs as u64);
    assert!(
        matches!(e, Error::ShortBuffer { what: "data vector", len: l, need: n } if l == len && n == need),
        "{e}"
    );

    // Write Zeroes (BLKZEROOUT) over part of the written range.
    let mut cmd = rw(NvmOpcode::WRITE_ZEROES, 18, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut cmd = rw(NvmOpcode::READ, 16, 7);
    be.sync
        .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
        .unwrap();
    assert!(
        back[..2 * lbs] == data[..2 * lbs],
        "before the zeroed range"
    );
    assert!(
        back[2 * lbs..4 * lbs].iter().all(|&b| b == 0),
        "zeroed range"
    );
    assert!(back[4 * lbs..] == data[4 * lbs..], "after the zeroed range");

    // Dataset Management deallocate (BLKDISCARD), then zeroes are read.
    let mut ranges = Vec::new();
    for (slba, nlb) in [(100u64, 4u32), (20, 4)] {
        ranges.extend_from_slice(&0u32.to_le_bytes());
        ranges.extend_from_slice(&nlb.to_le_bytes());
        ranges.extend_from_slice(&slba.to_le_bytes());
    }
    let mut cmd = Command::new(NvmOpcode::DSM.0, 1);
    cmd.cdw10 = 1;
    cmd.cdw11 = 1 << 2;
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&ranges), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut cmd = rw(NvmOpcode::READ, 100, 3);
    let mut z = vec![0xaau8; 4 * lbs];
    be.sync
        .cmd_io(&mut cmd, DataBuf::In(&mut z), DataBuf::None)
        .unwrap();
    assert!(
        z.iter().all(|&b| b == 0),
        "deallocated blocks read as zeroes"
    );
    let mut cmd = rw(NvmOpcode::READ, 16, 7);
    be.sync
        .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
        .unwrap();
    assert!(
        back[..2 * lbs] == data[..2 * lbs],
        "blocks before slba 20 are untouched"
    );

    // Flush (fdatasync), also to the broadcast nsid.
    let mut cmd = Command::new(NvmOpcode::FLUSH.0, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut cmd = Command::new(NvmOpcode::FLUSH.0, u32::MAX);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
            .unwrap()
            .is_success()
    );

    // Out of range, other namespaces, unsupported opcodes.
    let mut cmd = rw(NvmOpcode::READ, nsze - 1, 1);
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
        .unwrap();
    assert_status(cpl, sct::GENERIC, sc::LBA_OUT_OF_RANGE);
    let mut cmd = rw(NvmOpcode::WRITE_ZEROES, u64::MAX, 0);
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
        .unwrap();
    assert_status(cpl, sct::GENERIC, sc::LBA_OUT_OF_RANGE);
    let mut cmd = rw(NvmOpcode::READ, 0, 0);
    cmd.nsid = 2;
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
        .unwrap();
    assert_status(cpl, sct::GENERIC, sc::INVALID_NS_OR_FORMAT);
    for opc in [
        NvmOpcode::WRITE_UNCORRECTABLE,
        NvmOpcode::COPY,
        NvmOpcode::ZONE_MGMT_SEND,
        NvmOpcode::ZONE_APPEND,
    ] {
        let mut cmd = rw(opc, 0, 0);
        let cpl = be
            .sync
            .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
            .unwrap();
        assert_status(cpl, sct::GENERIC, sc::INVALID_OPCODE);
    }
    // A short buffer is the caller's error, not a status.
    let mut cmd = rw(NvmOpcode::READ, 0, 1);
    let mut small = vec![0u8; lbs];
    let e = be
        .sync
        .cmd_io(&mut cmd, DataBuf::In(&mut small), DataBuf::None)
        .unwrap_err();
    let (len, need) = (lbs as u64, 2 * lbs as u64);
    assert!(
        matches!(e, Error::ShortBuffer { what: "data", len: l, need: n } if l == len && n == need),
        "{e}"
    );
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn interface_round_trip_512() {
    interface_round_trip(512);
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn interface_round_trip_4096() {
    interface_round_trip(4096);
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn direct_io_checks_alignment_and_works_with_aligned_buffers() {
    let lp = loop_or_skip!("direct", 4096);
    let opts = Options {
        direct: true,
        ..Default::default()
    };
    let be = open_iface(&lp.dev, &opts);
    let mut buf = Buffer::new(8192).unwrap();
    buf.fill("anum").unwrap();
    let mut cmd = rw(NvmOpcode::WRITE, 3, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut back = Buffer::new(8192).unwrap();
    let mut cmd = rw(NvmOpcode::READ, 3, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::In(&mut back), DataBuf::None)
            .unwrap()
            .is_success()
    );
    assert!(back[..] == buf[..]);
    // Compare reads into its own aligned buffer: any caller buffer works.
    let copy = buf.to_vec();
    let mut cmd = rw(NvmOpcode::COMPARE, 3, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&copy), DataBuf::None)
            .unwrap()
            .is_success()
    );
    // Misaligned address: refused with a message, not a bare EINVAL.
    let mut big = Buffer::new(8192 + 4096).unwrap();
    let mut cmd = rw(NvmOpcode::READ, 3, 1);
    let e = be
        .sync
        .cmd_io(&mut cmd, DataBuf::In(&mut big[1..8193]), DataBuf::None)
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            Error::Misaligned {
                what: "data buffer",
                ..
            }
        ) && msg.contains("4096"),
        "{msg}"
    );
    let mut cmd = rw(NvmOpcode::WRITE, 3, 1);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&big[512..8704]), DataBuf::None)
            .is_err()
    );
    // Vectored with a misaligned piece.
    let mut cmd = rw(NvmOpcode::WRITE, 3, 1);
    let iov = [IoSlice::new(&big[..4096]), IoSlice::new(&big[4097..8193])];
    assert!(
        be.sync
            .cmd_iov(&mut cmd, DataVec::Out(&iov), DataBuf::None)
            .unwrap_err()
            .to_string()
            .contains("aligned")
    );
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn geometry_ioctls_and_read_only_opens() {
    let lp = loop_or_skip!("geo", 4096);
    let dev = BlockDev::open(&lp.dev, &Options::default()).unwrap();
    assert_eq!(dev.size_bytes(), SIZE);
    assert_eq!(dev.logical_block_size(), 4096);
    assert!(dev.physical_block_size() >= 4096);
    assert_eq!(dev.queue_attrs().max_hw_sectors_kb, Some(1280));
    assert!(dev.zoned().is_none());
    assert_eq!(dev.nr_zones().unwrap(), 0, "a loop device is not zoned");
    // The kernel refuses BLKREPORTZONE on a device that is not zoned.
    let e = dev.report_zones(0, 4).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Io {
                op: "BLKREPORTZONE",
                ..
            }
        ),
        "report zones of a loop device: {e:?}"
    );
    let ro = Options {
        rdonly: true,
        ..Default::default()
    };
    let be = open_iface(&lp.dev, &ro);
    let data = vec![1u8; 4096];
    let mut cmd = rw(NvmOpcode::WRITE, 0, 0);
    let e = be
        .sync
        .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
        .unwrap_err();
    assert!(matches!(e, Error::Io { op: "pwrite", .. }), "{e}");
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn nvme_interface_refuses_a_block_device_that_is_not_nvme() {
    let lp = loop_or_skip!("notnvme", 512);
    let uri = Uri::parse(&lp.dev).unwrap();
    let e = nvmx::be::linux::nvme::open(&uri, &Options::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not an NVMe device node"), "{e}");
    // Even when classified as an NVMe namespace, NVME_IOCTL_ID says no.
    let mut u = uri.clone();
    u.target = nvmx::uri::Target::BlockDevice { nvme: true };
    let e = nvmx::be::linux::nvme::open(&u, &Options::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("NVME_IOCTL_ID"), "{e}");
}

fn wired(be: &str) -> bool {
    nvmx::be::config::configs().iter().any(|c| c.name == be)
}

#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh and testrig/vm/guest-suite.sh"]
fn device_open_through_the_bdev_configurations() {
    for be in ["emu_bdev", "thrpool_bdev"] {
        assert!(wired(be), "{be} is one of Linux's configurations");
        for sector in [512u32, 4096] {
            let lp = loop_or_skip!(&format!("dev-{be}-{sector}"), sector);
            if be == "emu_bdev" {
                let d = Device::open(&lp.dev, &Options::default()).unwrap();
                assert_eq!(
                    d.config().name,
                    be,
                    "the default configuration for a loop device"
                );
            }
            let mut o = Options::default();
            o.set("be", be).unwrap();
            let dev = Device::open(&lp.dev, &o).unwrap();
            assert_eq!(dev.config().name, be);
            assert_eq!(dev.dtype(), DevType::BlockDevice);
            let g = dev.geometry().unwrap().clone();
            assert_eq!((g.nbytes, g.ssw), (sector, sector.trailing_zeros()));
            assert_eq!(g.nsect, SIZE / u64::from(sector));
            assert_eq!(g.tbytes, SIZE);
            assert_eq!(g.mdts_nbytes, 1 << 20);
            let mut buf = dev.alloc_blocks(3).unwrap();
            buf.fill("anum").unwrap();
            dev.write(8, 3, &buf, None).unwrap();
            let mut back = dev.alloc_blocks(3).unwrap();
            dev.read(8, 3, &mut back, None).unwrap();
            assert!(back[..] == buf[..]);
            dev.compare(8, 3, &buf, None).unwrap();
            dev.write_zeroes(8, 0).unwrap();
            let e = dev.compare(8, 3, &buf, None).unwrap_err();
            assert_eq!(e.status().map(|s| s.sc), Some(sc_media::COMPARE_FAILURE));
            dev.dsm(&[(8, 4)], true).unwrap();
            dev.flush().unwrap();
            assert!(
                dev.read(g.nsect, 0, &mut back, None).is_err(),
                "out of range"
            );
            // An async queue over the same device.
            let mut q = dev.queue(8).unwrap();
            let out = dev.alloc_blocks(3).unwrap();
            q.write(16, 3, buf, None, 1).unwrap();
            q.drain().unwrap();
            q.pop().unwrap().result.unwrap();
            q.read(16, 3, out, None, 2).unwrap();
            q.drain().unwrap();
            let done = q.pop().unwrap();
            done.result.unwrap();
            let mut expect = dev.alloc_blocks(3).unwrap();
            expect.fill("anum").unwrap();
            assert!(done.data.unwrap()[..] == expect[..]);
        }
    }
}

// --- NVMe nodes ------------------------------------------------------------
//
// These run where the kernel's NVMe driver has devices (the QEMU guest rig);
// elsewhere they are ignored. Reads and status checks run
// on every namespace; writes only on QEMU's emulated controllers, or
// anywhere when NVMX_TEST_NVME_WRITE is set.

use nvmx::be::linux::dev::{EnumEntry, EnumKind, enumerate};
use nvmx::be::linux::nvme::{self, NvmeDev};
use nvmx::spec::zoned::{
    ZoneMgmtRecv, ZoneMgmtSend, ZoneReport, ZoneSendAction, ZoneState, ZrasFilter,
};

fn nvme_entries() -> Result<Vec<EnumEntry>, String> {
    if !common::is_root() {
        return Err("not root (NVMe passthrough needs CAP_SYS_ADMIN)".into());
    }
    let v: Vec<EnumEntry> = enumerate()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|e| e.kind != EnumKind::PciFunction)
        .collect();
    if v.is_empty() {
        return Err("no NVMe device here (the QEMU guest rig runs this)".into());
    }
    Ok(v)
}

fn may_write(e: &EnumEntry) -> bool {
    std::env::var_os("NVMX_TEST_NVME_WRITE").is_some() || e.model.starts_with("QEMU")
}

fn nvme_identify_ns(be: &Backend, nsid: u32) -> IdentifyNamespace {
    IdentifyNamespace::read_from_bytes(&identify(be, 0, nsid)[..]).unwrap()
}

fn zone_report(be: &Backend, nsid: u32, nzones: usize) -> Vec<nvmx::spec::zoned::ZoneDescriptor> {
    let mut buf = vec![0u8; 64 * (1 + nzones)];
    let mut cmd = ZoneMgmtRecv::report(nsid, 0, buf.len(), ZrasFilter::ALL, true).to_command();
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::In(&mut buf), DataBuf::None)
        .unwrap();
    assert!(
        cpl.is_success(),
        "zone report via {}: {:?}",
        be.sync.id(),
        cpl.status()
    );
    ZoneReport::parse(&buf, 0)
        .unwrap()
        .iter()
        .map(|e| e.descr)
        .collect()
}

fn zone_send(be: &Backend, nsid: u32, slba: u64, zsa: ZoneSendAction) {
    let mut cmd = ZoneMgmtSend::new(nsid, slba, zsa).to_command();
    let cpl = be
        .sync
        .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
        .unwrap();
    assert!(
        cpl.is_success(),
        "{zsa} via {}: {:?}",
        be.sync.id(),
        cpl.status()
    );
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn nvme_controllers_and_namespaces_open_and_answer() {
    let Some(entries) = common::require_env(common::GUEST, nvme_entries()) else {
        return;
    };
    for e in &entries {
        let uri = Uri::parse(&e.uri).unwrap();
        let be =
            nvme::open(&uri, &Options::default()).unwrap_or_else(|err| panic!("{}: {err}", e.uri));
        assert_eq!((be.sync.id(), be.admin.id()), ("nvme", "nvme"));
        assert_eq!(be.ident.subnqn, e.subnqn, "{}", e.uri);
        let c = IdentifyController::read_from_bytes(&identify(&be, 1, 0)[..]).unwrap();
        assert_eq!(c.model(), e.model, "{}", e.uri);
        if e.kind == EnumKind::Controller {
            assert_eq!(be.ident.dtype, DevType::NvmeController, "{}", e.uri);
            assert_eq!(be.ident.nsid, 1, "a controller node takes --dev-nsid");
            let dev = NvmeDev::open(&e.uri, &Options::default()).unwrap();
            assert!(dev.is_controller() && dev.nsid().is_err());
            continue;
        }
        assert_eq!(be.ident.dtype, DevType::NvmeNamespace, "{}", e.uri);
        assert_eq!(
            be.ident.nsid, e.nsid,
            "{}: NVME_IOCTL_ID and sysfs agree",
            e.uri
        );
        if e.csi != 0xff {
            assert_eq!(
                be.ident.csi, e.csi,
                "{}: Identify CNS 3 and sysfs agree",
                e.uri
            );
        }
        let n = nvme_identify_ns(&be, e.nsid);
        let f = n.active_lbaf();
        if f.ms != 0 || !matches!(be.ident.csi, 0 | 2) {
            continue;
        }
        let lbs = n.lba_nbytes() as usize;
        // The device's status comes back through the ioctl's return value.
        let mut buf = vec![0u8; lbs];
        let mut cmd = rw(NvmOpcode::READ, n.nsze, 0);
        cmd.nsid = e.nsid;
        let cpl = be
            .sync
            .cmd_io(&mut cmd, DataBuf::In(&mut buf), DataBuf::None)
            .unwrap();
        if e.transport.as_deref() == Some("tcp") {
            // The Linux NVMe target (nvmet) answers a read past the end of
            // a block-device-backed namespace with Internal Error; only the
            // status having come back through the ioctl is checked there.
            assert!(!cpl.is_success(), "{}: read past the end succeeded", e.uri);
        } else {
            assert_status(cpl, sct::GENERIC, sc::LBA_OUT_OF_RANGE);
        }
        let mut cmd = rw(NvmOpcode::READ, 0, 0);
        cmd.nsid = e.nsid;
        assert!(
            be.sync
                .cmd_io(&mut cmd, DataBuf::In(&mut buf), DataBuf::None)
                .unwrap()
                .is_success()
        );
        // A read-only buffer for a read is refused before the kernel.
        let mut cmd = rw(NvmOpcode::READ, 0, 0);
        cmd.nsid = e.nsid;
        assert!(
            be.sync
                .cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
                .is_err()
        );
        // Transfers above max_hw_sectors_kb are refused naming the limit.
        let dev = NvmeDev::open(&e.uri, &Options::default()).unwrap();
        let limit = dev
            .transfer_limit()
            .cloned()
            .unwrap_or_else(|| panic!("{}: no transfer limit found", e.uri));
        // Fabrics controllers report limits of gigabytes: provoking the
        // refusal there would need a buffer that large, so it is checked
        // on limits up to 64 MiB only.
        // The command must move the whole buffer: a longer buffer than
        // the command moves is cut to the command's length first.
        let blocks = limit.nbytes as usize / lbs + 1;
        if (limit.nbytes as usize) <= 64 << 20 && blocks <= 1 << 16 {
            let mut big = vec![0u8; blocks * lbs];
            let mut cmd = rw(NvmOpcode::READ, 0, (blocks - 1) as u16);
            cmd.nsid = e.nsid;
            let err = be
                .sync
                .cmd_io(&mut cmd, DataBuf::In(&mut big), DataBuf::None)
                .unwrap_err();
            let want = limit.nbytes;
            assert!(
                matches!(
                    err,
                    Error::TooLarge { len, limit: l, .. } if l == want && len == (blocks * lbs) as u64
                ),
                "{err}"
            );
        }

        // Eight blocks must fit one command (the small-MDTS controller
        // allows four of 4 KiB).
        if be.ident.csi == 0 && may_write(e) && limit.nbytes as usize >= 8 * lbs {
            let data = pattern(8 * lbs, e.nsid as u8);
            let mut cmd = rw(NvmOpcode::WRITE, 8, 7);
            cmd.nsid = e.nsid;
            assert!(
                be.sync
                    .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
                    .unwrap()
                    .is_success()
            );
            let mut x = vec![0u8; 3 * lbs];
            let mut y = vec![0u8; 5 * lbs];
            let mut cmd = rw(NvmOpcode::READ, 8, 7);
            cmd.nsid = e.nsid;
            let mut iov = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
            assert!(
                be.sync
                    .cmd_iov(&mut cmd, DataVec::In(&mut iov), DataBuf::None)
                    .unwrap()
                    .is_success()
            );
            assert!(
                x[..] == data[..3 * lbs] && y[..] == data[3 * lbs..],
                "{}: vectored read",
                e.uri
            );
            let mut cmd = rw(NvmOpcode::COMPARE, 8, 7);
            cmd.nsid = e.nsid;
            assert!(
                be.sync
                    .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
                    .unwrap()
                    .is_success()
            );
            let mut other = data.clone();
            other[5] ^= 1;
            let mut cmd = rw(NvmOpcode::COMPARE, 8, 7);
            cmd.nsid = e.nsid;
            let cpl = be
                .sync
                .cmd_io(&mut cmd, DataBuf::Out(&other), DataBuf::None)
                .unwrap();
            assert_status(cpl, sct::MEDIA, sc_media::COMPARE_FAILURE);
        }
    }
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn nvme_block_namespaces_through_the_block_interface() {
    let Some(entries) = common::require_env(common::GUEST, nvme_entries()) else {
        return;
    };
    for e in entries
        .iter()
        .filter(|e| e.kind == EnumKind::NamespaceBlock)
    {
        let uri = Uri::parse(&e.uri).unwrap();
        assert_eq!(uri.target, nvmx::uri::Target::BlockDevice { nvme: true });
        let be = block::open(&uri, &Options::default()).unwrap();
        assert_eq!(
            (be.ident.dtype, be.ident.nsid, be.ident.csi),
            (DevType::NvmeNamespace, e.nsid, e.csi),
            "{}",
            e.uri
        );
        let n = IdentifyNamespace::read_from_bytes(&identify(&be, 0, e.nsid)[..]).unwrap();
        assert!(n.nsze > 0);
        if e.csi != 2 {
            continue;
        }
        // A zoned namespace: the block layer's report matches the device's.
        let ng = entries
            .iter()
            .find(|g| g.kind == EnumKind::NamespaceChar && g.ctrl == e.ctrl && g.nsid == e.nsid)
            .expect("the generic node of a zoned namespace");
        let pt = nvme::open(&Uri::parse(&ng.uri).unwrap(), &Options::default()).unwrap();
        let via_block = zone_report(&be, e.nsid, 4);
        let via_nvme = zone_report(&pt, e.nsid, 4);
        assert_eq!(via_block.len(), via_nvme.len());
        for (b, p) in via_block.iter().zip(&via_nvme) {
            assert_eq!(
                (b.zslba, b.zcap, b.state(), b.zone_type()),
                (p.zslba, p.zcap, p.state(), p.zone_type())
            );
            if p.state() != ZoneState::FULL {
                assert_eq!(b.wp, p.wp);
            }
        }
        if !may_write(e) || via_nvme.len() < 2 {
            continue;
        }
        let z1 = via_nvme[1].zslba;
        let direct = block::open(
            &uri,
            &Options {
                direct: true,
                ..Default::default()
            },
        )
        .unwrap();
        zone_send(&direct, e.nsid, z1, ZoneSendAction::RESET);
        let lbs = n.lba_nbytes() as usize;
        let mut buf = Buffer::new(lbs).unwrap();
        buf.fill("anum").unwrap();
        let mut cmd = rw(NvmOpcode::WRITE, z1, 0);
        cmd.nsid = e.nsid;
        assert!(
            direct
                .sync
                .cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
                .unwrap()
                .is_success()
        );
        let z = zone_report(&pt, e.nsid, 2)[1];
        assert_eq!((z.wp, z.state()), (z1 + 1, ZoneState::IMPLICIT_OPEN));
        zone_send(&pt, e.nsid, z1, ZoneSendAction::FINISH);
        assert_eq!(zone_report(&direct, e.nsid, 2)[1].state(), ZoneState::FULL);
        zone_send(&direct, e.nsid, z1, ZoneSendAction::RESET);
        assert_eq!(zone_report(&pt, e.nsid, 2)[1].state(), ZoneState::EMPTY);
    }
}

/// In the guest: a controller reset and a namespace rescan through their
/// ioctls leave the controller usable, and data written before the reset
/// reads back after it. Uses the MULTINS controller, which no other test
/// writes to.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn controller_reset_and_rescan_keep_the_namespace_usable() {
    let (Some(ctrl), Some(ns)) = (
        common::env_var(common::GUEST, "NVMX_DEV_MULTINS_CTRL"),
        common::env_var(common::GUEST, "NVMX_DEV_MULTINS_NS1_BDEV"),
    ) else {
        return;
    };
    let dev = Device::open(&ns, &Options::default()).unwrap();
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let data = pattern(4 * bs, 0x5a);
    dev.write(64, 3, &data, None).unwrap();
    dev.flush().unwrap();
    let c = NvmeDev::open(&ctrl, &Options::default()).unwrap();
    c.controller_reset().unwrap();
    c.rescan().unwrap();
    // The kernel re-enables the controller asynchronously; I/O may fail
    // with EIO/EBUSY for a moment.
    let mut back = vec![0u8; 4 * bs];
    let start = std::time::Instant::now();
    loop {
        match dev.read(64, 3, &mut back, None) {
            Ok(_) => break,
            Err(e) if start.elapsed() < std::time::Duration::from_secs(30) => {
                eprintln!("after reset: {e}; retrying");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => panic!("the namespace did not come back after a controller reset: {e}"),
        }
    }
    assert_eq!(back, data, "data survives the reset");
}

/// In the guest: an NVM subsystem reset through its ioctl either resets
/// (when the controller reports CAP.NSSRS, read from BAR0 through sysfs)
/// and the namespace comes back, or is refused naming CAP.NSSRS. QEMU's
/// controller reports NSSRS = 0 up to at least 10.0, so the refusal is
/// what runs in CI. Uses the SMALLMDTS controller, which no test writes
/// data to that it reads back later.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn subsystem_reset_resets_or_is_refused_naming_nssrs() {
    let (Some(ctrl), Some(ns)) = (
        common::env_var(common::GUEST, "NVMX_DEV_SMALLMDTS_CTRL"),
        common::env_var(common::GUEST, "NVMX_DEV_SMALLMDTS_BDEV"),
    ) else {
        return;
    };
    let c = NvmeDev::open(&ctrl, &Options::default()).unwrap();
    let dir = c
        .sysfs_dir()
        .expect("a controller node has a sysfs directory");
    // The guest boots with iomem=relaxed so that BAR0 of a bound
    // controller can be mapped.
    let regs = nvmx::be::linux::nvme::read_registers(dir).unwrap();
    assert!(regs.cap.mqes() > 0, "CAP reads as a live register");
    let nssrs = regs.cap.nssrs();
    eprintln!("{ctrl}: CAP.NSSRS = {nssrs}");
    match c.subsystem_reset() {
        Ok(()) => {
            assert!(nssrs, "the kernel reset a subsystem whose CAP.NSSRS is 0");
            let dev = Device::open(&ns, &Options::default()).unwrap();
            let mut b = vec![0u8; dev.geometry().unwrap().lba_nbytes as usize];
            let start = std::time::Instant::now();
            while let Err(e) = dev.read(0, 0, &mut b, None) {
                assert!(
                    start.elapsed() < std::time::Duration::from_secs(30),
                    "the namespace did not come back after a subsystem reset: {e}"
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        Err(e) => {
            assert!(!nssrs, "CAP.NSSRS is 1 but the reset failed: {e}");
            assert!(
                matches!(e, Error::Unsupported { .. }) && e.to_string().contains("CAP.NSSRS"),
                "{e}"
            );
        }
    }
    // The namespace node cannot take controller-wide resets.
    let n = NvmeDev::open(&ns, &Options::default()).unwrap();
    let e = n.subsystem_reset().unwrap_err();
    assert!(e.to_string().contains("controller node"), "{e}");
}

/// In the guest: a controller node (/dev/nvmeX with --dev-nsid) runs I/O
/// through the emulated engines (the conformance suite covers that), but
/// an io_uring_cmd queue on it is refused when created, naming the node to
/// open instead: the kernel takes only admin commands through io_uring
/// there.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn io_uring_cmd_refuses_a_controller_node_naming_the_generic_node() {
    let Some(ctrl) = common::env_var(common::GUEST, "NVMX_DEV_NVM4K_CTRL") else {
        return;
    };
    let opts = Options {
        be: Some("io_uring_cmd".into()),
        nsid: 1,
        ..Default::default()
    };
    let dev = Device::open(&ctrl, &opts).unwrap();
    assert_eq!(dev.dtype(), DevType::NvmeController);
    let e = dev.queue(4).map(|_| ()).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("/dev/ngXnY"),
        "{e}"
    );
    // Sync I/O on the same handle goes through the controller node's
    // NVME_IOCTL_IO_CMD.
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let data = pattern(bs, 0x3c);
    dev.write(200, 0, &data, None).unwrap();
    let mut back = vec![0u8; bs];
    dev.read(200, 0, &mut back, None).unwrap();
    assert_eq!(back, data);
    // With several namespaces the kernel has no single one to send I/O
    // to from the controller node: refused, naming the nodes to open.
    if let Some(multi) = common::env_var(common::GUEST, "NVMX_DEV_MULTINS_CTRL") {
        let opts = Options {
            nsid: 1,
            ..Default::default()
        };
        let dev = Device::open(&multi, &opts).unwrap();
        let mut b = vec![0u8; dev.geometry().unwrap().lba_nbytes as usize];
        let e = dev.read(0, 0, &mut b, None).unwrap_err();
        assert!(
            matches!(e, Error::Unsupported { .. })
                && e.to_string().contains("more than one namespace"),
            "{e}"
        );
    }
}
