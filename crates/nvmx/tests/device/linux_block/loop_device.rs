//! Loop devices through nvmx: direct I/O alignment, geometry ioctls and
//! read-only opens, the NVMe interface's refusal, and `Device::open`
//! through the bdev configurations.

use super::*;

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
        mode: OpenMode::ReadOnly,
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
