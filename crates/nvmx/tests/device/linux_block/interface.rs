//! The `block` interface driven directly on loop devices with 512-byte and
//! 4 KiB logical blocks.

use super::*;

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
