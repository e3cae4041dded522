//! The `io_uring_cmd` marshalling, checked without an NVMe device.

use super::*;

// --- io_uring_cmd marshalling -----------------------------------------------

#[test]
fn nvme_uring_cmd_layout_is_72_bytes_in_an_80_byte_area() {
    assert_eq!(std::mem::size_of::<nvme_uring::NvmeUringCmd>(), 72);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, metadata), 16);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, addr), 24);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, data_len), 36);
    assert_eq!(std::mem::offset_of!(nvme_uring::NvmeUringCmd, cdw10), 40);
    assert_eq!(
        std::mem::offset_of!(nvme_uring::NvmeUringCmd, timeout_ms),
        64
    );
    assert_eq!(nvme_uring::CMD_AREA_NBYTES, 80);
    // _IOWR: read|write direction, 72-byte argument, type 'N'.
    assert_eq!(nvme_uring::NVME_URING_CMD_IO & 0xff, 0x80);
    assert_eq!((nvme_uring::NVME_URING_CMD_IO >> 8) & 0xff, u32::from(b'N'));
    assert_eq!(
        nvme_uring::NVME_URING_CMD_IO_VEC,
        nvme_uring::NVME_URING_CMD_IO + 1
    );
}

#[test]
fn marshal_a_read_with_data_and_metadata() {
    let mut data = vec![0u8; 8 * 4096];
    let mut meta = vec![0u8; 8 * 16];
    let mut c = NvmRw {
        opc: 0x02,
        nsid: 7,
        slba: 0x1_0000_0002,
        nlb: 7,
        reftag: 0xabcd,
        ..Default::default()
    }
    .to_command();
    c.cdw2 = 0x22;
    c.cdw3 = 0x33;
    c.cid = 0x1234;
    c.prp1 = 0xdead;
    let u = cmd::marshal(&c, raw(&mut data), raw(&mut meta), 4096).unwrap();
    assert_eq!(u.opcode, 0x02);
    assert_eq!(u.nsid, 7);
    assert_eq!((u.cdw2, u.cdw3), (0x22, 0x33));
    assert_eq!((u.cdw10, u.cdw11), (2, 1));
    assert_eq!(u.cdw12 & 0xffff, 7);
    assert_eq!(u.cdw14, 0xabcd);
    assert_eq!(u.addr, data.as_ptr() as u64);
    assert_eq!(u.data_len, 8 * 4096);
    assert_eq!(u.metadata, meta.as_ptr() as u64);
    assert_eq!(u.metadata_len, 8 * 16);
    assert_eq!(u.timeout_ms, 0);
    let area = u.to_cmd_area();
    assert_eq!(&area[24..32], &(data.as_ptr() as u64).to_le_bytes());
    // A larger buffer is cut to what the command moves.
    let mut big = vec![0u8; 16 * 4096];
    assert_eq!(
        cmd::marshal(&c, raw(&mut big), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        8 * 4096
    );
    // A shorter one is refused.
    assert!(cmd::marshal(&c, raw(&mut data[..4096]), RawBuf::NONE, 4096).is_err());
    // Commands without data carry no buffer, whatever was passed.
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 0,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    let u = cmd::marshal(&wz, raw(&mut data), RawBuf::NONE, 4096).unwrap();
    assert_eq!((u.addr, u.data_len), (0, 0));
    // DSM moves NR + 1 ranges of 16 bytes: the buffer is cut to them.
    let dsm = Command::new(0x09, 1);
    let mut ranges = vec![0u8; 64];
    assert_eq!(
        cmd::marshal(&dsm, raw(&mut ranges), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        16
    );
    // Vendor opcodes with data pass the whole buffer.
    let vendor = Command::new(0x82, 1);
    assert_eq!(
        cmd::marshal(&vendor, raw(&mut ranges), RawBuf::NONE, 4096)
            .unwrap()
            .data_len,
        64
    );
}

#[test]
fn decode_a_passthrough_cqe() {
    let ok = nvme_uring::decode_completion(0, 0x5_0000_0100).unwrap();
    assert!(ok.is_success());
    assert_eq!(ok.result64(), 0x5_0000_0100);
    let bad = nvme_uring::decode_completion(i32::from(0x285u16), 0).unwrap();
    let st = bad.status();
    assert_eq!((st.sct, st.sc), (sct::MEDIA, sc_media::COMPARE_FAILURE));
    let e = nvme_uring::decode_completion(-libc::EIO, 0).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EIO));
}
