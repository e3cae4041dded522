//! NVM I/O commands: data, metadata, statuses.

use nvmx_spec::copy::{
    CopySourceRangeFormat0, CopySourceRangeFormat1, DESFMT_0, DESFMT_1, SimpleCopy,
};
use nvmx_spec::dsm::{Dsm, DsmRange};
use nvmx_spec::status::{sc, sc_cmd, sc_media, sct};
use zerocopy::IntoBytes;

use super::*;
use nvmx_core::error::Error;

/// Every LBA format, with separate and (when it has metadata) interleaved
/// metadata.
const LAYOUTS: &[&str] = &[
    "1MiB?lbaf=0",
    "1MiB?lbaf=1",
    "1MiB?lbaf=1&ext=1",
    "1MiB?lbaf=2",
    "1MiB?lbaf=3",
    "1MiB?lbaf=3&ext=1",
    "1MiB?lbaf=4",
    "1MiB?lbaf=4&ext=1",
];

/// Data and metadata buffers for `n` blocks in the format of `c`.
fn payload(c: &RamCtrl, n: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let ns = &*c.ns();
    let meta = if ns.separate_meta() {
        pattern(n * ns.ms() as usize, seed + 1000)
    } else {
        Vec::new()
    };
    (pattern(n * ns.host_block_bytes() as usize, seed), meta)
}

#[test]
fn write_read_compare_round_trip_in_every_lba_format() {
    for &uri in LAYOUTS {
        let c = ctrl(uri);
        let (data, meta) = payload(&c, 8, 7);
        assert_eq!(write(&c, 3, 8, &data, &meta), Status::SUCCESS, "{uri}");
        let (st, rdata, rmeta) = read(&c, 3, 8);
        assert_eq!(st, Status::SUCCESS, "{uri}");
        assert!(
            rdata == data,
            "{uri}: data read back differs from data written"
        );
        assert!(
            rmeta == meta,
            "{uri}: metadata read back differs from metadata written"
        );
        let cmp = io(
            &c,
            rw(NvmOpcode::COMPARE, 3, 7),
            DataBuf::Out(&data),
            DataBuf::Out(&meta),
        );
        assert_eq!(status(cmp), Status::SUCCESS, "{uri}");
        // Blocks around the written ones are still zero.
        let (st, before, _) = read(&c, 2, 1);
        assert_eq!(st, Status::SUCCESS);
        assert!(
            before.iter().all(|&b| b == 0),
            "{uri}: block 2 was never written"
        );
        let (_, after, after_meta) = read(&c, 11, 1);
        assert!(
            after.iter().chain(&after_meta).all(|&b| b == 0),
            "{uri}: block 11 was never written"
        );
    }
}

#[test]
fn metadata_goes_where_the_format_says() {
    // Separate: the metadata buffer holds 8 bytes per block.
    let c = ctrl("1MiB?lbaf=3");
    let data = pattern(2 * 4096, 1);
    let meta: Vec<u8> = (0..16).collect();
    assert_eq!(write(&c, 0, 2, &data, &meta), Status::SUCCESS);
    let (_, rdata, rmeta) = read(&c, 0, 2);
    assert!(rdata == data);
    assert_eq!(rmeta, meta);
    // Changing only the metadata makes Compare fail at the block it is in.
    let mut other = meta.clone();
    other[12] ^= 1;
    let cmp = io(
        &c,
        rw(NvmOpcode::COMPARE, 0, 1),
        DataBuf::Out(&data),
        DataBuf::Out(&other),
    );
    assert_eq!(status(cmp), dnr(sct::MEDIA, sc_media::COMPARE_FAILURE));
    assert_eq!(c.error_log().newest_first().next().map(|r| r.lba), Some(1));

    // Extended: each block is 4096 data bytes then 8 metadata bytes.
    let c = ctrl("1MiB?lbaf=3&ext=1");
    let mut ext = vec![0u8; 2 * 4104];
    ext[..4096].fill(0xa1);
    ext[4096..4104].copy_from_slice(b"meta-one");
    ext[4104..8200].fill(0xb2);
    ext[8200..].copy_from_slice(b"meta-two");
    assert_eq!(write(&c, 5, 2, &ext, &[]), Status::SUCCESS);
    // Reading the second block alone returns its own data and metadata.
    let (st, one, _) = read(&c, 6, 1);
    assert_eq!(st, Status::SUCCESS);
    assert!(one[..4096].iter().all(|&b| b == 0xb2));
    assert_eq!(&one[4096..], b"meta-two");
}

#[test]
fn write_zeroes_clears_data_and_metadata_with_or_without_deac() {
    for deac in [false, true] {
        let c = ctrl("1MiB?lbaf=4");
        let (data, meta) = payload(&c, 6, 3);
        assert_eq!(write(&c, 10, 6, &data, &meta), Status::SUCCESS);
        let mut cmd = rw(NvmOpcode::WRITE_ZEROES, 11, 3);
        if deac {
            cmd.cdw12 |= 1 << 25;
        }
        assert_eq!(
            status(io(&c, cmd, DataBuf::None, DataBuf::None)),
            Status::SUCCESS
        );
        let (_, rdata, rmeta) = read(&c, 10, 6);
        let (bs, ms) = (4096, 64);
        assert!(rdata[..bs] == data[..bs], "block 10 is outside the range");
        assert!(
            rdata[bs..5 * bs].iter().all(|&b| b == 0),
            "blocks 11-14 read zero (deac {deac})"
        );
        assert!(
            rdata[5 * bs..] == data[5 * bs..],
            "block 15 is outside the range"
        );
        assert!(rmeta[..ms] == meta[..ms]);
        assert!(
            rmeta[ms..5 * ms].iter().all(|&b| b == 0),
            "metadata of 11-14 reads zero"
        );
        assert!(rmeta[5 * ms..] == meta[5 * ms..]);
    }
}

#[test]
fn lba_range_is_checked_without_overflow() {
    let c = ctrl("1MiB?lbaf=2"); // 256 blocks
    let block = pattern(4096, 1);
    assert_eq!(write(&c, 255, 1, &block, &[]), Status::SUCCESS);
    let two = pattern(8192, 1);
    assert_eq!(
        write(&c, 255, 2, &two, &[]),
        dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
    );
    assert_eq!(read(&c, 256, 1).0, dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
    for opc in [
        NvmOpcode::READ,
        NvmOpcode::WRITE_ZEROES,
        NvmOpcode::WRITE_UNCORRECTABLE,
        NvmOpcode::VERIFY,
    ] {
        let st = status(io(
            &c,
            rw(opc, u64::MAX, 0xffff),
            DataBuf::None,
            DataBuf::None,
        ));
        assert_eq!(
            st,
            dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE),
            "{opc:?} at u64::MAX"
        );
    }
    let rec = *c.error_log().newest_first().next().unwrap();
    assert_eq!(
        (rec.lba, rec.param),
        (u64::MAX, 40),
        "the LBA and CDW10 are named"
    );
}

#[test]
fn transfers_beyond_mdts_are_invalid_fields() {
    // mdts 7: 512 KiB, 128 blocks of 4 KiB.
    let c = ctrl("1MiB?lbaf=2");
    let max = pattern(128 * 4096, 2);
    assert_eq!(write(&c, 0, 128, &max, &[]), Status::SUCCESS);
    let over = pattern(129 * 4096, 2);
    assert_eq!(
        write(&c, 0, 129, &over, &[]),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    let mut buf = vec![0u8; 129 * 4096];
    let st = status(io(
        &c,
        rw(NvmOpcode::READ, 0, 128),
        DataBuf::In(&mut buf),
        DataBuf::None,
    ));
    assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_FIELD));
    // Commands without a data transfer are not limited by MDTS.
    let st = status(io(
        &c,
        rw(NvmOpcode::WRITE_ZEROES, 0, 255),
        DataBuf::None,
        DataBuf::None,
    ));
    assert_eq!(st, Status::SUCCESS);
    // Interleaved metadata counts: 128 blocks of 4104 bytes exceed 512 KiB.
    let c = ctrl("1MiB?lbaf=3&ext=1");
    let (data, _) = payload(&c, 128, 3);
    assert_eq!(
        write(&c, 0, 128, &data, &[]),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(write(&c, 0, 127, &data[..127 * 4104], &[]), Status::SUCCESS);
    // A smaller limit, and none at all.
    let c = ctrl("1MiB?lbaf=0&mdts=1");
    let (data, _) = payload(&c, 17, 4);
    assert_eq!(write(&c, 0, 16, &data[..8192], &[]), Status::SUCCESS);
    assert_eq!(
        write(&c, 0, 17, &data, &[]),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    let c = ctrl("64MiB?lbaf=0&mdts=0");
    let big = pattern(65536 * 512, 5);
    let st = status(io(
        &c,
        rw(NvmOpcode::WRITE, 1, 0xffff),
        DataBuf::Out(&big),
        DataBuf::None,
    ));
    assert_eq!(st, Status::SUCCESS, "65536 blocks, 32 MiB, with no limit");
    assert!(read(&c, 1, 0xffff).1 == big[..65535 * 512]);
}

#[test]
fn namespace_must_be_one_except_for_flush_of_all() {
    let c = ctrl("1MiB");
    let data = pattern(512, 1);
    for nsid in [0, 2, 0xffff_fffe, 0xffff_ffff] {
        let mut cmd = rw(NvmOpcode::WRITE, 0, 0);
        cmd.nsid = nsid;
        let st = status(io(&c, cmd, DataBuf::Out(&data), DataBuf::None));
        assert_eq!(
            st,
            dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT),
            "write to nsid {nsid:#x}"
        );
    }
    for (nsid, ok) in [(1, true), (0xffff_ffff, true), (0, false), (3, false)] {
        let st = status(io(
            &c,
            Command::new(NvmOpcode::FLUSH.0, nsid),
            DataBuf::None,
            DataBuf::None,
        ));
        let want = if ok {
            Status::SUCCESS
        } else {
            dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT)
        };
        assert_eq!(st, want, "flush of nsid {nsid:#x}");
    }
}

#[test]
fn unknown_io_opcodes_are_invalid() {
    let c = ctrl("1MiB");
    for opc in [0x03, 0x0d, 0x7d, 0x81, 0xff] {
        let st = status(io(&c, Command::new(opc, 1), DataBuf::None, DataBuf::None));
        assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_OPCODE), "opcode {opc:#x}");
    }
}

#[test]
fn short_or_read_only_buffers_are_host_errors() {
    let c = ctrl("1MiB?lbaf=1");
    let data = pattern(2 * 512, 1);
    let meta = pattern(16, 2);
    let e = io(
        &c,
        rw(NvmOpcode::WRITE, 0, 2),
        DataBuf::Out(&data),
        DataBuf::Out(&meta),
    )
    .unwrap_err();
    assert!(matches!(e, Error::ShortBuffer { what: "data", .. }), "{e}");
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                len: 1024,
                need: 1536,
                ..
            }
        ),
        "{e}"
    );
    let e = io(
        &c,
        rw(NvmOpcode::WRITE, 0, 1),
        DataBuf::Out(&data),
        DataBuf::Out(&meta[..8]),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                what: "metadata",
                ..
            }
        ),
        "{e}"
    );
    let e = io(
        &c,
        rw(NvmOpcode::READ, 0, 1),
        DataBuf::Out(&data),
        DataBuf::In(&mut [0u8; 16]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("DataBuf::In"), "{e}");
    // The device never saw these: nothing is in the error log.
    assert_eq!(c.error_log().total(), 0);
}

#[test]
fn dataset_management_deallocates_ranges_that_then_read_zero() {
    let c = ctrl("1MiB?lbaf=1"); // 2048 blocks of 512 + 8
    let (data, meta) = payload(&c, 64, 9);
    assert_eq!(write(&c, 0, 64, &data, &meta), Status::SUCCESS);
    let ranges = [
        DsmRange::new(4, 4),
        DsmRange::new(40, 0),
        DsmRange::new(60, 2),
    ];
    let mut cmd = Dsm::deallocate(1, ranges.len()).to_command();
    // Without AD the ranges are hints only.
    cmd.cdw11 = 0b011;
    assert_eq!(
        status(io(&c, cmd, DataBuf::Out(ranges.as_bytes()), DataBuf::None)),
        Status::SUCCESS
    );
    assert!(read(&c, 0, 64).1 == data);
    cmd.cdw11 = 0b100;
    assert_eq!(
        status(io(&c, cmd, DataBuf::Out(ranges.as_bytes()), DataBuf::None)),
        Status::SUCCESS
    );
    let (_, rdata, rmeta) = read(&c, 0, 64);
    for b in 0..64usize {
        let gone = (4..8).contains(&b) || (60..62).contains(&b);
        let (d, m) = (&rdata[b * 512..(b + 1) * 512], &rmeta[b * 8..(b + 1) * 8]);
        if gone {
            assert!(
                d.iter().chain(m).all(|&x| x == 0),
                "block {b} was deallocated"
            );
        } else {
            assert!(
                d == &data[b * 512..(b + 1) * 512] && m == &meta[b * 8..(b + 1) * 8],
                "block {b} was kept"
            );
        }
    }
    // One range out of bounds fails the command before anything changes.
    assert_eq!(write(&c, 0, 64, &data, &meta), Status::SUCCESS);
    let ranges = [DsmRange::new(0, 8), DsmRange::new(2047, 2)];
    let cmd = Dsm::deallocate(1, 2).to_command();
    let st = status(io(&c, cmd, DataBuf::Out(ranges.as_bytes()), DataBuf::None));
    assert_eq!(st, dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
    assert!(read(&c, 0, 64).1 == data);
    // 256 ranges need 4 KiB of descriptors.
    let cmd = Dsm::deallocate(1, 256).to_command();
    let e = io(&c, cmd, DataBuf::Out(ranges.as_bytes()), DataBuf::None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                len: 32,
                need: 4096,
                ..
            }
        ),
        "{e}"
    );
}

/// A Copy of `ranges` (SLBA, NLB 0-based) to `sdlba` in descriptor format `desfmt`.
fn copy_cmd(sdlba: u64, ranges: &[(u64, u16)], desfmt: u8) -> (Command, Vec<u8>) {
    let mut buf = Vec::new();
    for &(slba, nlb) in ranges {
        match desfmt {
            DESFMT_0 => buf.extend_from_slice(CopySourceRangeFormat0::new(slba, nlb).as_bytes()),
            _ => buf.extend_from_slice(CopySourceRangeFormat1::new(slba, nlb).as_bytes()),
        }
    }
    (
        SimpleCopy::new(1, sdlba, ranges.len(), desfmt).to_command(),
        buf,
    )
}

#[test]
fn copy_concatenates_source_ranges_with_their_metadata_in_both_formats() {
    for desfmt in [DESFMT_0, DESFMT_1] {
        let c = ctrl("1MiB?lbaf=3");
        let (data, meta) = payload(&c, 32, 11);
        assert_eq!(write(&c, 0, 32, &data, &meta), Status::SUCCESS);
        let (cmd, descs) = copy_cmd(100, &[(20, 3), (2, 0), (9, 1)], desfmt);
        assert_eq!(
            status(io(&c, cmd, DataBuf::Out(&descs), DataBuf::None)),
            Status::SUCCESS,
            "format {desfmt}"
        );
        let (_, rdata, rmeta) = read(&c, 100, 7);
        let blocks: Vec<usize> = vec![20, 21, 22, 23, 2, 9, 10];
        for (i, b) in blocks.into_iter().enumerate() {
            assert!(
                rdata[i * 4096..(i + 1) * 4096] == data[b * 4096..(b + 1) * 4096],
                "block {i} is source {b}"
            );
            assert!(
                rmeta[i * 8..(i + 1) * 8] == meta[b * 8..(b + 1) * 8],
                "metadata {i} is source {b}"
            );
        }
        assert!(
            read(&c, 107, 1).1.iter().all(|&x| x == 0),
            "nothing past the copy"
        );
    }
}

#[test]
fn overlapping_copy_copies_the_data_as_it_was() {
    let c = ctrl("1MiB?lbaf=0");
    let (data, _) = payload(&c, 16, 5);
    assert_eq!(write(&c, 0, 16, &data, &[]), Status::SUCCESS);
    let (cmd, descs) = copy_cmd(4, &[(0, 7)], DESFMT_0);
    assert_eq!(
        status(io(&c, cmd, DataBuf::Out(&descs), DataBuf::None)),
        Status::SUCCESS
    );
    let (_, rdata, _) = read(&c, 0, 16);
    assert!(rdata[..4 * 512] == data[..4 * 512]);
    assert!(
        rdata[4 * 512..12 * 512] == data[..8 * 512],
        "blocks 4-11 hold the old 0-7"
    );
    assert!(rdata[12 * 512..] == data[12 * 512..]);
}

#[test]
fn copy_limits_are_command_size_limit_exceeded() {
    let c = ctrl("4MiB?lbaf=0");
    let too_long = dnr(sct::COMMAND_SPECIFIC, sc_cmd::CMD_SIZE_LIMIT_EXCEEDED);
    let run = |ranges: &[(u64, u16)], sdlba: u64, desfmt: u8| {
        let (cmd, descs) = copy_cmd(sdlba, ranges, desfmt);
        status(io(&c, cmd, DataBuf::Out(&descs), DataBuf::None))
    };
    // One range of MSSRL (128) blocks is fine; 129 is not.
    assert_eq!(run(&[(0, 127)], 4000, DESFMT_0), Status::SUCCESS);
    assert_eq!(run(&[(0, 128)], 4000, DESFMT_0), too_long);
    // Eight ranges of 128 are MCL (1024) blocks; a ninth is too many.
    let eight: Vec<(u64, u16)> = (0..8).map(|i| (i * 128, 127)).collect();
    assert_eq!(run(&eight, 4096, DESFMT_1), Status::SUCCESS);
    let nine: Vec<(u64, u16)> = (0..9).map(|i| (i * 128, 127)).collect();
    assert_eq!(run(&nine, 4096, DESFMT_1), too_long);
    // At most MSRC + 1 = 128 ranges.
    let many: Vec<(u64, u16)> = (0..129).map(|i| (i, 0)).collect();
    assert_eq!(run(&many, 4096, DESFMT_0), too_long);
    assert_eq!(run(&many[..128], 4096, DESFMT_0), Status::SUCCESS);
    // Sources and destination must lie in the namespace (8192 blocks).
    assert_eq!(
        run(&[(8190, 3)], 0, DESFMT_0),
        dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
    );
    assert_eq!(
        run(&[(0, 3)], 8189, DESFMT_0),
        dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
    );
    assert_eq!(run(&[(u64::MAX, 0xffff)], 0, DESFMT_0), too_long);
    assert_eq!(
        run(&[(u64::MAX, 3)], 0, DESFMT_1),
        dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
    );
    // Descriptor formats other than 0h and 1h are invalid.
    let (mut cmd, descs) = copy_cmd(0, &[(0, 0)], DESFMT_0);
    cmd.cdw12 |= 2 << 8;
    assert_eq!(
        status(io(&c, cmd, DataBuf::Out(&descs), DataBuf::None)),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
}

#[test]
fn write_uncorrectable_fails_reads_until_the_blocks_are_written() {
    let c = ctrl("1MiB?lbaf=2");
    let (data, _) = payload(&c, 8, 1);
    assert_eq!(write(&c, 0, 8, &data, &[]), Status::SUCCESS);
    let unc = |slba, nlb| {
        status(io(
            &c,
            rw(NvmOpcode::WRITE_UNCORRECTABLE, slba, nlb),
            DataBuf::None,
            DataBuf::None,
        ))
    };
    assert_eq!(unc(2, 1), Status::SUCCESS); // blocks 2 and 3
    let unrecovered = dnr(sct::MEDIA, sc_media::UNRECOVERED_READ_ERROR);
    assert_eq!(read(&c, 0, 8).0, unrecovered);
    assert_eq!(c.error_log().newest_first().next().map(|r| r.lba), Some(2));
    assert_eq!(read(&c, 3, 1).0, unrecovered);
    assert_eq!(
        read(&c, 0, 2).0,
        Status::SUCCESS,
        "blocks before are readable"
    );
    assert_eq!(
        read(&c, 4, 4).0,
        Status::SUCCESS,
        "blocks after are readable"
    );
    let cmp = io(
        &c,
        rw(NvmOpcode::COMPARE, 0, 7),
        DataBuf::Out(&data),
        DataBuf::None,
    );
    assert_eq!(status(cmp), unrecovered);
    let verify = |slba, nlb| {
        status(io(
            &c,
            rw(NvmOpcode::VERIFY, slba, nlb),
            DataBuf::None,
            DataBuf::None,
        ))
    };
    assert_eq!(verify(0, 7), unrecovered);
    // Writing block 2 clears it; block 3 still fails, and the log names it.
    assert_eq!(
        write(&c, 2, 1, &data[2 * 4096..3 * 4096], &[]),
        Status::SUCCESS
    );
    assert_eq!(read(&c, 2, 1).0, Status::SUCCESS);
    assert_eq!(verify(0, 7), unrecovered);
    assert_eq!(c.error_log().newest_first().next().map(|r| r.lba), Some(3));
    // Write Zeroes and deallocate clear marks too.
    assert_eq!(
        status(io(
            &c,
            rw(NvmOpcode::WRITE_ZEROES, 3, 0),
            DataBuf::None,
            DataBuf::None
        )),
        Status::SUCCESS
    );
    assert_eq!(verify(0, 7), Status::SUCCESS);
    assert_eq!(unc(6, 0), Status::SUCCESS);
    assert_eq!(verify(6, 0), unrecovered);
    let range = [DsmRange::new(6, 1)];
    let dsm = Dsm::deallocate(1, 1).to_command();
    assert_eq!(
        status(io(&c, dsm, DataBuf::Out(range.as_bytes()), DataBuf::None)),
        Status::SUCCESS
    );
    assert_eq!(verify(0, 7), Status::SUCCESS);
    // A Copy from an uncorrectable block fails and writes nothing.
    assert_eq!(unc(0, 0), Status::SUCCESS);
    let (cmd, descs) = copy_cmd(100, &[(0, 1)], DESFMT_0);
    assert_eq!(
        status(io(&c, cmd, DataBuf::Out(&descs), DataBuf::None)),
        unrecovered
    );
    assert!(read(&c, 100, 2).1.iter().all(|&b| b == 0));
}

#[test]
fn verify_succeeds_on_readable_blocks() {
    let c = ctrl("1MiB?lbaf=2");
    let st = status(io(
        &c,
        rw(NvmOpcode::VERIFY, 0, 255),
        DataBuf::None,
        DataBuf::None,
    ));
    assert_eq!(st, Status::SUCCESS, "unwritten blocks verify");
    let (data, _) = payload(&c, 4, 1);
    assert_eq!(write(&c, 10, 4, &data, &[]), Status::SUCCESS);
    let st = status(io(
        &c,
        rw(NvmOpcode::VERIFY, 8, 7),
        DataBuf::None,
        DataBuf::None,
    ));
    assert_eq!(st, Status::SUCCESS);
}

#[test]
fn compare_reports_the_first_differing_block() {
    let c = ctrl("1MiB?lbaf=0");
    let (data, _) = payload(&c, 8, 2);
    assert_eq!(write(&c, 16, 8, &data, &[]), Status::SUCCESS);
    let mut other = data.clone();
    other[5 * 512 + 17] ^= 0x40;
    other[7 * 512] ^= 0x01;
    let mut cmd = rw(NvmOpcode::COMPARE, 16, 7);
    cmd.cid = 0x1234;
    let cpl = io(&c, cmd, DataBuf::Out(&other), DataBuf::None).unwrap();
    assert_eq!(cpl.status(), dnr(sct::MEDIA, sc_media::COMPARE_FAILURE));
    assert_eq!(cpl.cid, 0x1234);
    let rec = *c.error_log().newest_first().next().unwrap();
    assert_eq!((rec.lba, rec.cid, rec.sqid, rec.nsid), (21, 0x1234, 1, 1));
    // Against blocks never written, all zeroes compare equal.
    let zeroes = vec![0u8; 512];
    let st = status(io(
        &c,
        rw(NvmOpcode::COMPARE, 100, 0),
        DataBuf::Out(&zeroes),
        DataBuf::None,
    ));
    assert_eq!(st, Status::SUCCESS);
}

#[test]
fn commands_from_many_threads_do_not_mix() {
    let c = std::sync::Arc::new(ctrl("8MiB?lbaf=0")); // 16384 blocks, chunks of 2048
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for round in 0..50u32 {
                    // Ranges straddle chunk boundaries and each other's chunks.
                    let slba = u64::from(t) * 1500 + u64::from(round % 7) * 3;
                    let data = pattern(96 * 512, t * 1000 + round);
                    assert_eq!(write(&c, slba, 96, &data, &[]), Status::SUCCESS);
                    let (st, back, _) = read(&c, slba, 96);
                    assert_eq!(st, Status::SUCCESS);
                    assert!(back == data, "thread {t} round {round} read its own data");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
