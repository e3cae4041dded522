//! Host tests of the FreeBSD NVMe ioctl data: numbers, layouts,
//! marshalling and completion decoding.

use std::mem::{align_of, offset_of, size_of};

use nvmx_spec::status::{Status, sc, sct};
use nvmx_spec::{Command, Completion};

use super::ioctl::*;
use super::*;
use nvmx_core::be::DataBuf;

#[test]
fn ioc_encodes_as_ioccom_h() {
    // sys/sys/ioccom.h: direction | (len & 0x1fff) << 16 | group << 8 | num.
    assert_eq!(ioc(IOC_VOID, b'n', 1, 0), 0x2000_6e01);
    assert_eq!(ioc(IOC_OUT, b't', 104, 8), 0x4008_7468); // TIOCGWINSZ
    assert_eq!(ioc(IOC_INOUT, b'n', 0, 0x2000), 0xc000_6e00); // length masked
    assert_eq!(IOC_INOUT, 0xc000_0000);
}

#[test]
fn request_numbers() {
    // _IOWR('n', 0, 104 bytes), _IO('n', 1), _IOR('n', 2, 260 bytes),
    // _IOR('n', 3, 8 bytes).
    assert_eq!(NVME_PASSTHROUGH_CMD, 0xc068_6e00);
    assert_eq!(NVME_RESET_CONTROLLER, 0x2000_6e01);
    assert_eq!(NVME_GET_NSID, 0x4104_6e02);
    assert_eq!(NVME_GET_MAX_XFER_SIZE, 0x4008_6e03);
}

#[test]
fn pt_command_layout() {
    // struct nvme_pt_command on LP64: cmd (64), cpl (16), buf (8), len (4),
    // is_read (4), driver_lock (8).
    assert_eq!(size_of::<NvmePtCommand>(), 104);
    assert_eq!(align_of::<NvmePtCommand>(), 8);
    assert_eq!(offset_of!(NvmePtCommand, cmd), 0);
    assert_eq!(offset_of!(NvmePtCommand, cpl), 64);
    assert_eq!(offset_of!(NvmePtCommand, buf), 80);
    assert_eq!(offset_of!(NvmePtCommand, len), 88);
    assert_eq!(offset_of!(NvmePtCommand, is_read), 92);
    assert_eq!(offset_of!(NvmePtCommand, driver_lock), 96);
    // struct nvme_command and struct nvme_completion field offsets.
    assert_eq!(offset_of!(Command, nsid), 4);
    assert_eq!(offset_of!(Command, cdw2), 8);
    assert_eq!(offset_of!(Command, cdw3), 12);
    assert_eq!(offset_of!(Command, mptr), 16);
    assert_eq!(offset_of!(Command, cdw10), 40);
    assert_eq!(offset_of!(Command, cdw15), 60);
    assert_eq!(offset_of!(Completion, cdw0), 0);
    assert_eq!(offset_of!(Completion, status), 14);
}

#[test]
fn get_nsid_layout_and_decoding() {
    assert_eq!(SPECNAMELEN, 255);
    assert_eq!(size_of::<NvmeGetNsid>(), 260);
    assert_eq!(offset_of!(NvmeGetNsid, cdev), 0);
    assert_eq!(offset_of!(NvmeGetNsid, nsid), 256);
    let mut g = NvmeGetNsid::default();
    assert_eq!(g.controller(), None);
    g.cdev[..5].copy_from_slice(b"nvme3");
    g.nsid = 2;
    assert_eq!(g.controller(), Some("nvme3"));
    // No NUL at all: the whole field.
    g.cdev = [b'a'; SPECNAMELEN + 1];
    assert_eq!(g.controller().map(str::len), Some(256));
    g.cdev[0] = 0xff;
    g.cdev[1] = 0;
    assert_eq!(g.controller(), None);
}

#[test]
fn marshals_every_field_the_driver_reads() {
    let mut cmd = Command::new(0x02, 7);
    cmd.flags = 0x41; // fused + PSDT: not passed on
    cmd.cid = 0x1234;
    cmd.cdw2 = 2;
    cmd.cdw3 = 3;
    cmd.mptr = 0xdead;
    cmd.prp1 = 0xbeef;
    cmd.prp2 = 0xf00d;
    cmd.cdw10 = 10;
    cmd.cdw11 = 11;
    cmd.cdw12 = 12;
    cmd.cdw13 = 13;
    cmd.cdw14 = 14;
    cmd.cdw15 = 15;
    let mut buf = vec![0u8; 4096];
    let mut data = DataBuf::In(&mut buf);
    let b = pt_buf(&mut data, cmd.opc).unwrap();
    let pt = pt_command(&cmd, b);
    let c = &pt.cmd;
    assert_eq!((c.opc, c.flags, c.cid, c.nsid), (0x02, 0, 0, 7));
    assert_eq!((c.cdw2, c.cdw3), (2, 3));
    assert_eq!((c.mptr, c.prp1, c.prp2), (0, 0, 0));
    assert_eq!(
        [c.cdw10, c.cdw11, c.cdw12, c.cdw13, c.cdw14, c.cdw15],
        [10, 11, 12, 13, 14, 15]
    );
    assert_eq!(pt.len, 4096);
    assert_eq!(pt.is_read, 1);
    assert_eq!(pt.buf.cast::<u8>(), buf.as_mut_ptr());
    assert!(pt.driver_lock.is_null());
    assert_eq!(pt.cpl, Completion::success(0));
}

#[test]
fn direction_follows_the_opcode() {
    let mut b = vec![0u8; 512];
    // Write (01b): read-only buffer, is_read 0.
    let r = pt_buf(&mut DataBuf::Out(&b), 0x01).unwrap();
    assert_eq!((r.len, r.is_read), (512, 0));
    // A writable buffer for a write is still only read by the device.
    let r = pt_buf(&mut DataBuf::In(&mut b), 0x01).unwrap();
    assert_eq!(r.is_read, 0);
    // Read (10b) and bidirectional (11b) need a writable buffer.
    for opc in [0x02, 0x06, 0x03] {
        let e = pt_buf(&mut DataBuf::Out(&b), opc).unwrap_err().to_string();
        assert!(e.contains("writable"), "{e}");
        assert_eq!(pt_buf(&mut DataBuf::In(&mut b), opc).unwrap().is_read, 1);
    }
    // No direction (00b, e.g. Flush or vendor): a writable buffer is
    // mapped for the device to write, a read-only one for it to read.
    assert_eq!(pt_buf(&mut DataBuf::In(&mut b), 0x00).unwrap().is_read, 1);
    assert_eq!(pt_buf(&mut DataBuf::Out(&b), 0x00).unwrap().is_read, 0);
    // No buffer, or an empty one: null, length 0.
    assert_eq!(pt_buf(&mut DataBuf::None, 0x02).unwrap(), PtBuf::NONE);
    assert_eq!(
        pt_buf(&mut DataBuf::In(&mut []), 0x02).unwrap(),
        PtBuf::NONE
    );
    assert_eq!(pt_buf(&mut DataBuf::Out(&[]), 0x02).unwrap(), PtBuf::NONE);
}

#[test]
fn a_metadata_buffer_is_refused_naming_why() {
    assert!(refuse_metadata(&DataBuf::None).is_ok());
    assert!(refuse_metadata(&DataBuf::Out(&[])).is_ok());
    let m = [0u8; 8];
    let e = refuse_metadata(&DataBuf::Out(&m)).unwrap_err().to_string();
    assert!(e.contains("no metadata pointer"), "{e}");
    assert!(e.contains("NVME_PASSTHROUGH_CMD"), "{e}");
    assert!(e.contains("8 bytes"), "{e}");
}

#[test]
fn completion_decoding() {
    let mut pt = pt_command(&Command::new(0x06, 0), PtBuf::NONE);
    // Success with a result dword.
    pt.cpl.cdw0 = 0xabcd;
    let c = completion_from_pt(&pt);
    assert!(c.is_success());
    assert_eq!(c.cdw0, 0xabcd);
    // LBA Out of Range with DNR; a stray phase tag is dropped.
    let st = Status::new(sct::GENERIC, sc::LBA_OUT_OF_RANGE).dnr();
    pt.cpl = Completion::with_status(st);
    pt.cpl.status |= 1;
    let c = completion_from_pt(&pt);
    assert!(!c.is_success());
    assert!(!c.phase());
    assert_eq!(c.status(), st);
    assert_eq!(c.status().to_raw(), st.to_raw());
}

#[test]
fn node_names_and_transfer_limit() {
    assert_eq!(controller_node("nvme0"), "/dev/nvme0");
    assert_eq!(namespace_node("nvme2", 3), "/dev/nvme2ns3");
    assert!(check_transfer(None, u64::MAX).is_ok());
    assert!(check_transfer(Some(131072), 131072).is_ok());
    let e = check_transfer(Some(131072), 131073).unwrap_err();
    assert!(
        matches!(
            e,
            nvmx_core::Error::TooLarge {
                len: 131073,
                limit: 131072,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn routes_commands_by_node_kind() {
    // A namespace node: I/O here, admin on its controller node.
    let r = route("/dev/nvme0ns2", Some("nvme0"), 2, 1);
    assert_eq!(r.nsid, Some(2));
    assert_eq!(r.io.as_deref(), Ok("/dev/nvme0ns2"));
    assert_eq!(r.admin.as_deref(), Ok("/dev/nvme0"));
    // An nda disk: the same, the controller from NVME_GET_NSID.
    let r = route("/dev/nda0", Some("nvme1"), 1, 1);
    assert_eq!(r.io.as_deref(), Ok("/dev/nda0"));
    assert_eq!(r.admin.as_deref(), Ok("/dev/nvme1"));
    // ... unless the driver named none: admin is refused, naming why.
    let r = route("/dev/nda0", None, 1, 1);
    assert!(r.admin.unwrap_err().contains("did not name its controller"));
    // A controller node: admin here, I/O on the namespace of --dev-nsid.
    let r = route("/dev/nvme0", Some("nvme0"), 0, 3);
    assert_eq!(r.nsid, None);
    assert_eq!(r.admin.as_deref(), Ok("/dev/nvme0"));
    assert_eq!(r.io.as_deref(), Ok("/dev/nvme0ns3"));
    // ... never to no namespace or to all of them.
    for nsid in [0, u32::MAX] {
        let e = route("/dev/nvme0", Some("nvme0"), 0, nsid).io.unwrap_err();
        assert!(e.contains("names no single namespace"), "{e}");
    }
    let e = route("/dev/nvme0", None, 0, 1).io.unwrap_err();
    assert!(e.contains("open a namespace node"), "{e}");
}

#[test]
fn eio_from_an_nda_disk_names_where_the_status_is() {
    const EIO: i32 = 5;
    let h = cam_error_hint(true, Some(EIO), EIO).unwrap();
    assert!(h.contains("/dev/nvmeXnsY"), "{h}");
    assert_eq!(cam_error_hint(false, Some(EIO), EIO), None);
    assert_eq!(cam_error_hint(true, Some(22), EIO), None);
    assert_eq!(cam_error_hint(true, None, EIO), None);
}

#[test]
fn names_say_what_nvme_get_nsid_would() {
    assert_eq!(ident_from_name("/dev/nvme2"), Some(("nvme2".into(), 0)));
    assert_eq!(ident_from_name("/dev/nvme2ns5"), Some(("nvme2".into(), 5)));
    assert_eq!(ident_from_name("/dev/nda0"), None);
    assert_eq!(ident_from_name("/dev/ada0"), None);
}
