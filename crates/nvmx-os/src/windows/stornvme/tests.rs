//! The StorNVMe buffers, byte by byte, and the parsing of recorded replies.

use nvmx_spec::Command;
use nvmx_spec::status::{sc, sct};

use super::*;

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn identify(cns: u32, nsid: u32) -> Command {
    Command {
        opc: 0x06,
        nsid,
        cdw10: cns,
        ..Default::default()
    }
}

#[test]
fn identify_controller_query_has_the_sdk_layout() {
    let q = ProtocolQuery::from_admin(&identify(1, 0)).unwrap();
    let b = q.to_bytes(4096).unwrap();
    assert_eq!(b.len(), 8 + 40 + 4096);
    assert_eq!(le32(&b, 0), STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY);
    assert_eq!(le32(&b, 0), 49);
    assert_eq!(le32(&b, 4), 0, "PropertyStandardQuery");
    assert_eq!(le32(&b, 8), 3, "ProtocolTypeNvme");
    assert_eq!(le32(&b, 12), 1, "NVMeDataTypeIdentify");
    assert_eq!(le32(&b, 16), 1, "CNS in ProtocolDataRequestValue");
    assert_eq!(le32(&b, 20), 0, "NSID in ProtocolDataRequestSubValue");
    assert_eq!(le32(&b, 24), 40, "data follows the 40-byte specific data");
    assert_eq!(le32(&b, 28), 4096, "ProtocolDataLength");
    assert!(b[32..].iter().all(|&x| x == 0));
}

#[test]
fn identify_namespace_query_carries_the_nsid() {
    let q = ProtocolQuery::from_admin(&identify(0, 1)).unwrap();
    let b = q.to_bytes(4096).unwrap();
    assert_eq!(le32(&b, 16), 0);
    assert_eq!(le32(&b, 20), 1);
}

#[test]
fn get_log_page_query_carries_lid_offset_lsi_lsp_and_rae() {
    let cmd = Command {
        opc: 0x02,
        nsid: u32::MAX,
        // LID 0x02 (SMART), LSP 3, RAE, NUMDL 127.
        cdw10: 0x02 | (3 << 8) | (1 << 15) | (127 << 16),
        cdw11: 0x0005 << 16, // LSI 5
        cdw12: 0x1000,       // offset low
        cdw13: 0x2,          // offset high
        ..Default::default()
    };
    let q = ProtocolQuery::from_admin(&cmd).unwrap();
    assert_eq!(q.property, STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY);
    let b = q.to_bytes(512).unwrap();
    assert_eq!(le32(&b, 12), NVME_DATA_TYPE_LOG_PAGE);
    assert_eq!(le32(&b, 16), 0x02);
    assert_eq!(le32(&b, 20), 0x1000, "offset 31:0");
    assert_eq!(le32(&b, 28), 512);
    assert_eq!(le32(&b, 8 + 28), 2, "offset 63:32 in SubValue2");
    assert_eq!(le32(&b, 8 + 32), 5, "LSI in SubValue3");
    assert_eq!(le32(&b, 8 + 36), 1 | (3 << 1), "RAE and LSP in SubValue4");
}

#[test]
fn namespace_scoped_log_asks_the_device_property() {
    let cmd = Command {
        opc: 0x02,
        nsid: 1,
        cdw10: 0x02,
        ..Default::default()
    };
    let q = ProtocolQuery::from_admin(&cmd).unwrap();
    assert_eq!(q.property, STORAGE_DEVICE_PROTOCOL_SPECIFIC_PROPERTY);
    assert_eq!(q.property, 50);
}

#[test]
fn get_features_query_carries_fid_and_cdw11() {
    let cmd = Command {
        opc: 0x0a,
        cdw10: 0x06 | (1 << 8), // VWC, select current... SEL bits ignored
        cdw11: 0xabcd,
        ..Default::default()
    };
    let q = ProtocolQuery::from_admin(&cmd).unwrap();
    let b = q.to_bytes(0).unwrap();
    assert_eq!(b.len(), 48);
    assert_eq!(le32(&b, 12), NVME_DATA_TYPE_FEATURE);
    assert_eq!(le32(&b, 16), 0x06);
    assert_eq!(le32(&b, 20), 0xabcd);
}

/// A reply as StorNVMe writes it for Identify Controller: the data
/// descriptor over the start of the buffer, the data 48 bytes in.
fn recorded_identify_reply() -> Vec<u8> {
    let mut b = vec![0u8; 8 + 40 + 4096];
    b[0..4].copy_from_slice(&48u32.to_le_bytes());
    b[4..8].copy_from_slice(&48u32.to_le_bytes());
    b[8..12].copy_from_slice(&3u32.to_le_bytes());
    b[12..16].copy_from_slice(&1u32.to_le_bytes());
    b[16..20].copy_from_slice(&1u32.to_le_bytes());
    b[24..28].copy_from_slice(&40u32.to_le_bytes());
    b[28..32].copy_from_slice(&4096u32.to_le_bytes());
    b[32..36].copy_from_slice(&0x1234u32.to_le_bytes());
    // Identify Controller: VID 0x144d, then "SN" at byte 4.
    b[48] = 0x4d;
    b[49] = 0x14;
    b[48 + 4..48 + 8].copy_from_slice(b"S123");
    b
}

#[test]
fn recorded_identify_reply_is_parsed() {
    let b = recorded_identify_reply();
    let r = parse_query_reply(&b, b.len()).unwrap();
    assert_eq!(r.data_offset, 48);
    assert_eq!(r.data_len, 4096);
    assert_eq!(r.dw0, 0x1234);
    assert_eq!(&b[r.data_offset..r.data_offset + 2], &[0x4d, 0x14]);
    assert_eq!(&b[r.data_offset + 4..r.data_offset + 8], b"S123");
}

#[test]
fn replies_with_a_bad_descriptor_are_refused() {
    let mut b = recorded_identify_reply();
    let bad = |e: &nvmx_core::Error| matches!(e, nvmx_core::Error::BadReply { .. });
    let e = parse_query_reply(&b, 20).unwrap_err();
    assert!(bad(&e), "short: {e}");
    b[28..32].copy_from_slice(&8192u32.to_le_bytes());
    let e = parse_query_reply(&b, b.len()).unwrap_err();
    assert!(bad(&e) && e.to_string().contains("does not fit"), "{e}");
    let mut b = recorded_identify_reply();
    b[0..4].copy_from_slice(&40u32.to_le_bytes());
    let e = parse_query_reply(&b, b.len()).unwrap_err();
    assert!(bad(&e) && e.to_string().contains("version 40"), "{e}");
}

#[test]
fn set_features_buffer_carries_fid_and_every_dword() {
    let cmd = Command {
        opc: 0x09,
        cdw10: 0x06 | (1 << 31),
        cdw11: 1,
        cdw12: 12,
        cdw13: 13,
        cdw14: 14,
        cdw15: 15,
        ..Default::default()
    };
    let b = set_features_bytes(&cmd, &[0xaa; 16]).unwrap();
    assert_eq!(b.len(), 8 + 64 + 16);
    assert_eq!(le32(&b, 0), STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY);
    assert_eq!(le32(&b, 4), 0, "PropertyStandardSet");
    assert_eq!(le32(&b, 8), PROTOCOL_TYPE_NVME);
    assert_eq!(le32(&b, 12), NVME_DATA_TYPE_FEATURE);
    assert_eq!(le32(&b, 16), 0x06);
    assert_eq!(le32(&b, 20), 1);
    assert_eq!(le32(&b, 24), 64, "data follows the 64-byte EXT structure");
    assert_eq!(le32(&b, 28), 16);
    assert_eq!(
        [le32(&b, 36), le32(&b, 40), le32(&b, 44), le32(&b, 48)],
        [12, 13, 14, 15]
    );
    assert!(b[72..].iter().all(|&x| x == 0xaa));
    let e = set_features_bytes(&identify(1, 0), &[]).unwrap_err();
    assert!(e.to_string().contains("not Set Features"), "{e}");
}

#[test]
fn protocol_command_buffer_has_the_sdk_layout() {
    let cmd = Command {
        opc: 0xc1,
        nsid: 1,
        prp1: 0xdead_beef,
        cdw10: 0x55,
        ..Default::default()
    };
    let (b, l) = protocol_command_bytes(&cmd, true, None, 512).unwrap();
    assert_eq!(l.error_info_offset, 80 + 64);
    assert_eq!(l.data_offset, 208);
    assert_eq!(l.total, 208 + 512);
    assert_eq!(b.len(), l.total);
    assert_eq!(le32(&b, 0), 1, "STORAGE_PROTOCOL_STRUCTURE_VERSION");
    assert_eq!(le32(&b, 4), 84, "sizeof(STORAGE_PROTOCOL_COMMAND)");
    assert_eq!(le32(&b, 8), 3);
    assert_eq!(le32(&b, 12), FLAG_ADAPTER_REQUEST);
    assert_eq!(le32(&b, 24), 64, "STORAGE_PROTOCOL_COMMAND_LENGTH_NVME");
    assert_eq!(le32(&b, 28), 64, "ErrorInfoLength");
    assert_eq!(le32(&b, 32), 0, "nothing to the device");
    assert_eq!(le32(&b, 36), 512, "DataFromDeviceTransferLength");
    assert_eq!(le32(&b, 40), COMMAND_TIMEOUT_SECS);
    assert_eq!(le32(&b, 44), 144, "ErrorInfoOffset");
    assert_eq!(le32(&b, 48), 0);
    assert_eq!(le32(&b, 52), 208, "DataFromDeviceBufferOffset");
    assert_eq!(le32(&b, 56), SPECIFIC_NVME_ADMIN_COMMAND);
    // The command itself at 80: opcode, nsid, zeroed data pointers, CDW10.
    assert_eq!(b[80], 0xc1);
    assert_eq!(le32(&b, 80 + 4), 1);
    assert!(b[80 + 24..80 + 40].iter().all(|&x| x == 0), "PRPs zeroed");
    assert_eq!(le32(&b, 80 + 40), 0x55);
}

#[test]
fn protocol_command_to_the_device_copies_the_data() {
    let cmd = Command {
        opc: 0x81,
        ..Default::default()
    };
    let (b, l) = protocol_command_bytes(&cmd, false, Some(&[7u8; 100]), 0).unwrap();
    assert_eq!(le32(&b, 12), 0, "a namespace request");
    assert_eq!(le32(&b, 32), 100);
    assert_eq!(le32(&b, 36), 0);
    assert_eq!(le32(&b, 48), 208);
    assert_eq!(le32(&b, 56), SPECIFIC_NVME_NVM_COMMAND);
    assert_eq!(&b[l.data_offset..], &[7u8; 100][..]);
}

#[test]
fn protocol_command_replies_give_dw0_or_the_logged_status() {
    let cmd = Command {
        opc: 0xc1,
        ..Default::default()
    };
    let (mut b, l) = protocol_command_bytes(&cmd, true, None, 0).unwrap();
    // Success, FixedProtocolReturnData = 0x77.
    b[16..20].copy_from_slice(&PROTOCOL_STATUS_SUCCESS.to_le_bytes());
    b[64..68].copy_from_slice(&0x77u32.to_le_bytes());
    let c = parse_protocol_command_reply(&b, &l).unwrap();
    assert!(c.is_success());
    assert_eq!(c.cdw0, 0x77);
    // Error with Invalid Opcode in the error log entry's Status Field
    // (bytes 13:12, status shifted past the phase bit).
    b[16..20].copy_from_slice(&PROTOCOL_STATUS_ERROR.to_le_bytes());
    let sf: u16 = (u16::from(sc::INVALID_OPCODE) | (u16::from(sct::GENERIC) << 8)) << 1;
    b[l.error_info_offset + 12..l.error_info_offset + 14].copy_from_slice(&sf.to_le_bytes());
    let c = parse_protocol_command_reply(&b, &l).unwrap();
    assert_eq!(
        (c.status().sct, c.status().sc),
        (sct::GENERIC, sc::INVALID_OPCODE)
    );
    // A driver-level failure without an NVMe status is an error naming it.
    b[16..20].copy_from_slice(&0xffu32.to_le_bytes());
    b[20..24].copy_from_slice(&0x32u32.to_le_bytes());
    let e = parse_protocol_command_reply(&b, &l).unwrap_err();
    assert!(e.to_string().contains("not supported"), "{e}");
    assert!(e.to_string().contains("0x32"), "{e}");
}

#[test]
fn commands_take_the_path_stornvme_allows() {
    let r = |opc: u8| {
        route_admin(&Command {
            opc,
            ..Default::default()
        })
    };
    assert!(matches!(r(0x06), Ok(AdminRoute::Query(_))));
    assert!(matches!(r(0x02), Ok(AdminRoute::Query(_))));
    assert!(matches!(r(0x0a), Ok(AdminRoute::Query(_))));
    assert_eq!(r(0x09).unwrap(), AdminRoute::SetFeatures);
    for opc in [0x10, 0x11, 0x14, 0x80, 0x81, 0x82, 0x84, 0xc0, 0xff] {
        assert_eq!(r(opc).unwrap(), AdminRoute::Raw, "opcode {opc:#x}");
    }
    for opc in [
        0x00, 0x01, 0x04, 0x05, 0x08, 0x0c, 0x0d, 0x15, 0x19, 0x1a, 0x7c,
    ] {
        let e = r(opc).unwrap_err();
        assert!(
            e.to_string()
                .contains("not allowed by the Windows NVMe driver"),
            "opcode {opc:#x}: {e}"
        );
    }
    let e = r(0x0d).unwrap_err();
    assert!(e.to_string().contains("Namespace Management"), "{e}");

    let io = |opc: u8| {
        route_io(&Command {
            opc,
            ..Default::default()
        })
    };
    assert_eq!(io(0x02).unwrap(), IoRoute::Read);
    assert_eq!(io(0x01).unwrap(), IoRoute::Write);
    assert_eq!(io(0x00).unwrap(), IoRoute::Flush);
    assert_eq!(io(0x85).unwrap(), IoRoute::Raw);
    let e = io(0x08).unwrap_err();
    assert!(e.to_string().contains("Write Zeroes"), "{e}");
    assert!(
        e.to_string()
            .contains("not allowed by the Windows NVMe driver"),
        "{e}"
    );
}

/// On Windows the constants and sizes are checked against windows-sys,
/// which is generated from the SDK's metadata.
#[cfg(windows)]
#[test]
fn constants_and_sizes_equal_the_sdk() {
    use std::mem::{offset_of, size_of};
    use windows_sys::Win32::System::Ioctl as w;
    assert_eq!(
        IOCTL_STORAGE_QUERY_PROPERTY,
        w::IOCTL_STORAGE_QUERY_PROPERTY
    );
    assert_eq!(IOCTL_STORAGE_SET_PROPERTY, w::IOCTL_STORAGE_SET_PROPERTY);
    assert_eq!(
        IOCTL_STORAGE_PROTOCOL_COMMAND,
        w::IOCTL_STORAGE_PROTOCOL_COMMAND
    );
    assert_eq!(
        super::super::diskinfo::IOCTL_DISK_GET_DRIVE_GEOMETRY_EX,
        w::IOCTL_DISK_GET_DRIVE_GEOMETRY_EX
    );
    assert_eq!(
        size_of::<w::STORAGE_PROTOCOL_SPECIFIC_DATA>(),
        PROTOCOL_SPECIFIC_DATA_LEN
    );
    assert_eq!(
        size_of::<w::STORAGE_PROTOCOL_SPECIFIC_DATA_EXT>(),
        PROTOCOL_SPECIFIC_DATA_EXT_LEN
    );
    assert_eq!(
        size_of::<w::STORAGE_PROTOCOL_DATA_DESCRIPTOR>(),
        PROTOCOL_DATA_DESCRIPTOR_LEN
    );
    assert_eq!(
        offset_of!(w::STORAGE_PROPERTY_QUERY, AdditionalParameters),
        PROPERTY_HEADER_LEN
    );
    assert_eq!(
        offset_of!(w::STORAGE_PROPERTY_SET, AdditionalParameters),
        PROPERTY_HEADER_LEN
    );
    assert_eq!(size_of::<w::STORAGE_PROPERTY_QUERY>(), 12);
    assert_eq!(
        offset_of!(w::STORAGE_PROTOCOL_COMMAND, Command),
        PROTOCOL_COMMAND_HEADER_LEN
    );
    assert_eq!(
        size_of::<w::STORAGE_PROTOCOL_COMMAND>() as u32,
        PROTOCOL_COMMAND_STRUCT_LEN
    );
    assert_eq!(offset_of!(w::STORAGE_PROTOCOL_COMMAND, ReturnStatus), 16);
    assert_eq!(offset_of!(w::STORAGE_PROTOCOL_COMMAND, TimeOutValue), 40);
    assert_eq!(offset_of!(w::STORAGE_PROTOCOL_COMMAND, CommandSpecific), 56);
    assert_eq!(
        offset_of!(w::STORAGE_PROTOCOL_COMMAND, FixedProtocolReturnData),
        64
    );
    assert_eq!(
        offset_of!(w::STORAGE_PROTOCOL_SPECIFIC_DATA, ProtocolDataOffset),
        16
    );
    assert_eq!(
        offset_of!(w::STORAGE_PROTOCOL_SPECIFIC_DATA, FixedProtocolReturnData),
        24
    );
    assert_eq!(
        offset_of!(
            w::STORAGE_PROTOCOL_SPECIFIC_DATA,
            ProtocolDataRequestSubValue4
        ),
        36
    );
    assert_eq!(
        offset_of!(w::STORAGE_PROTOCOL_SPECIFIC_DATA_EXT, ProtocolDataSubValue5),
        40
    );
    assert_eq!(
        w::STORAGE_PROTOCOL_STRUCTURE_VERSION,
        PROTOCOL_STRUCTURE_VERSION
    );
    assert_eq!(
        w::STORAGE_PROTOCOL_COMMAND_LENGTH_NVME as usize,
        PROTOCOL_COMMAND_LENGTH_NVME
    );
    assert_eq!(
        w::STORAGE_PROTOCOL_COMMAND_FLAG_ADAPTER_REQUEST,
        FLAG_ADAPTER_REQUEST
    );
    assert_eq!(
        w::STORAGE_PROTOCOL_SPECIFIC_NVME_ADMIN_COMMAND,
        SPECIFIC_NVME_ADMIN_COMMAND
    );
    assert_eq!(
        w::STORAGE_PROTOCOL_SPECIFIC_NVME_NVM_COMMAND,
        SPECIFIC_NVME_NVM_COMMAND
    );
    assert_eq!(w::STORAGE_PROTOCOL_STATUS_SUCCESS, PROTOCOL_STATUS_SUCCESS);
    assert_eq!(
        w::StorageAdapterProtocolSpecificProperty,
        STORAGE_ADAPTER_PROTOCOL_SPECIFIC_PROPERTY as i32
    );
    assert_eq!(
        w::StorageDeviceProtocolSpecificProperty,
        STORAGE_DEVICE_PROTOCOL_SPECIFIC_PROPERTY as i32
    );
    assert_eq!(w::ProtocolTypeNvme, PROTOCOL_TYPE_NVME as i32);
    assert_eq!(w::NVMeDataTypeIdentify, NVME_DATA_TYPE_IDENTIFY as i32);
    assert_eq!(w::NVMeDataTypeLogPage, NVME_DATA_TYPE_LOG_PAGE as i32);
    assert_eq!(w::NVMeDataTypeFeature, NVME_DATA_TYPE_FEATURE as i32);
    assert_eq!(
        windows_sys::Win32::Storage::FileSystem::BusTypeNvme,
        super::super::diskinfo::BUS_TYPE_NVME as i32
    );
    assert_eq!(size_of::<w::DISK_GEOMETRY_EX>(), 40);
    assert_eq!(offset_of!(w::DISK_GEOMETRY_EX, DiskSize), 24);
    assert_eq!(offset_of!(w::STORAGE_DEVICE_DESCRIPTOR, BusType), 28);
    assert_eq!(
        offset_of!(w::STORAGE_DEVICE_DESCRIPTOR, SerialNumberOffset),
        24
    );
    assert_eq!(size_of::<w::STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR>(), 28);
}
