//! Host-side tests of the `nvme` interface: everything that needs no NVMe
//! device (status decoding, buffer direction rules, sysfs lookups, refusing
//! non-NVMe nodes). The ioctls themselves run in the QEMU guest rig.

use std::path::PathBuf;

use nvmx_spec::status::{sc, sc_media, sct};

use super::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "nvmx-nvme-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn ioctl_return_values_decode_to_completions() {
    let ok = completion_from_ioctl(0, 0x0000_0002_0000_0010);
    assert!(ok.is_success());
    assert!(!ok.phase());
    assert_eq!((ok.cdw0, ok.cdw1), (0x10, 0x2));
    // DNR | Invalid Field in Command, as the driver returns it.
    let c = completion_from_ioctl(0x4002, 0);
    let st = c.status();
    assert_eq!(
        (st.sct, st.sc, st.dnr),
        (sct::GENERIC, sc::INVALID_FIELD, true)
    );
    assert!(!c.phase());
    // Media error: Compare Failure (SCT 2, SC 0x85).
    let st = completion_from_ioctl(0x285, 0).status();
    assert_eq!(
        (st.sct, st.sc, st.dnr),
        (sct::MEDIA, sc_media::COMPARE_FAILURE, false)
    );
    // LBA Out of Range with More set.
    let st = completion_from_ioctl(0x2080, 0).status();
    assert_eq!((st.sc, st.m), (sc::LBA_OUT_OF_RANGE, true));
}

#[test]
fn kernel_direction_follows_opcode_bit_zero() {
    assert!(kernel_writes_buffer(0x02), "read");
    assert!(kernel_writes_buffer(0x06), "identify");
    assert!(
        kernel_writes_buffer(0x00),
        "flush, and vendor opcodes with bits 00"
    );
    assert!(!kernel_writes_buffer(0x01), "write");
    assert!(!kernel_writes_buffer(0x05), "compare");
    assert!(
        !kernel_writes_buffer(0x7f),
        "bidirectional opcodes are writes to the kernel"
    );
}

#[test]
fn read_only_buffers_are_refused_where_the_kernel_writes() {
    let bytes = [0u8; 512];
    let e = user_buf(&mut DataBuf::Out(&bytes), 0x02, "data buffer")
        .unwrap_err()
        .to_string();
    assert!(e.contains("writable"), "{e}");
    let (addr, len) = user_buf(&mut DataBuf::Out(&bytes), 0x01, "data buffer").unwrap();
    assert_eq!((addr, len), (bytes.as_ptr() as u64, 512));
    let mut out = [0u8; 64];
    let p = out.as_ptr() as u64;
    assert_eq!(
        user_buf(&mut DataBuf::In(&mut out), 0x02, "data buffer").unwrap(),
        (p, 64)
    );
    assert_eq!(
        user_buf(&mut DataBuf::None, 0x02, "data buffer").unwrap(),
        (0, 0)
    );
    assert_eq!(
        user_buf(&mut DataBuf::Out(&[]), 0x02, "data buffer").unwrap(),
        (0, 0)
    );
}

#[test]
fn passthru_carries_every_command_dword_and_no_flags() {
    let mut cmd = Command::new(0x02, 7);
    cmd.flags = 0x40;
    cmd.cdw2 = 2;
    cmd.cdw3 = 3;
    cmd.set_cdw10_11(0x1_0000_0010);
    cmd.cdw12 = 7;
    cmd.cdw13 = 13;
    cmd.cdw14 = 14;
    cmd.cdw15 = 15;
    let pt = passthru64(&cmd, (0x1000, 4096), (0x2000, 64), 30_000);
    assert_eq!((pt.opcode, pt.flags, pt.nsid), (0x02, 0, 7));
    assert_eq!((pt.cdw2, pt.cdw3, pt.cdw10, pt.cdw11), (2, 3, 0x10, 1));
    assert_eq!((pt.cdw12, pt.cdw13, pt.cdw14, pt.cdw15), (7, 13, 14, 15));
    assert_eq!(
        (pt.addr, pt.data_len, pt.metadata, pt.metadata_len),
        (0x1000, 4096, 0x2000, 64)
    );
    assert_eq!(pt.timeout_ms, 30_000);
    assert_eq!(timeout_ms(Duration::from_secs(60)), 60_000);
    assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), u32::MAX);
}

#[test]
fn transfer_limit_comes_from_max_hw_sectors_kb_and_names_itself() {
    let t = TempDir::new("limit");
    let q = t.0.join("queue");
    std::fs::create_dir_all(&q).unwrap();
    assert_eq!(TransferLimit::from_queue_dir(&q), None);
    std::fs::write(q.join("max_hw_sectors_kb"), "512\n").unwrap();
    let l = TransferLimit::from_queue_dir(&q).unwrap();
    assert_eq!(l.nbytes, 512 * 1024);
    l.check(512 * 1024).unwrap();
    let e = l.check(512 * 1024 + 4096).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                len: 528_384,
                limit: 524_288,
                limit_name,
                ..
            } if limit_name.contains("max_hw_sectors_kb")
        ),
        "{e}"
    );
    std::fs::write(q.join("max_hw_sectors_kb"), "0\n").unwrap();
    assert_eq!(TransferLimit::from_queue_dir(&q), None);
}

#[test]
fn a_generic_node_uses_the_queue_of_its_block_sibling() {
    let t = TempDir::new("sibling");
    let ctrl = t.0.join("devices/pci0000:00/0000:00:04.0/nvme/nvme0");
    std::fs::create_dir_all(ctrl.join("ng0n1")).unwrap();
    std::fs::create_dir_all(ctrl.join("nvme0n1/queue")).unwrap();
    let q = queue_dir_of(&t.0, NodeType::Char, &ctrl.join("ng0n1")).unwrap();
    assert_eq!(q, ctrl.join("nvme0n1/queue"));
    // No sibling next to it: /sys/block/nvmeXnY.
    std::fs::create_dir_all(ctrl.join("ng0n2")).unwrap();
    assert_eq!(
        queue_dir_of(&t.0, NodeType::Char, &ctrl.join("ng0n2")),
        None
    );
    std::fs::create_dir_all(t.0.join("block/nvme0n2/queue")).unwrap();
    assert_eq!(
        queue_dir_of(&t.0, NodeType::Char, &ctrl.join("ng0n2")),
        Some(t.0.join("block/nvme0n2/queue"))
    );
    // A block node's own queue; a partition's is its disk's.
    let part = ctrl.join("nvme0n1/nvme0n1p1");
    std::fs::create_dir_all(&part).unwrap();
    assert_eq!(
        queue_dir_of(&t.0, NodeType::Block, &part),
        Some(ctrl.join("nvme0n1/queue"))
    );
}

#[test]
fn character_nodes_are_classified_by_their_sysfs_class() {
    let t = TempDir::new("class");
    let classes = t.0.join("class");
    for c in ["nvme", "nvme-generic", "mem"] {
        std::fs::create_dir_all(classes.join(c)).unwrap();
    }
    let node = |name: &str, class: &str| {
        let d = t.0.join("devices").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::symlink(classes.join(class), d.join("subsystem")).unwrap();
        d
    };
    assert_eq!(
        classify_char(Some(&node("nvme0", "nvme")), "nvme0"),
        Ok(NodeKind::Controller)
    );
    assert_eq!(
        classify_char(Some(&node("ng0n1", "nvme-generic")), "ng0n1"),
        Ok(NodeKind::Namespace)
    );
    let e = classify_char(Some(&node("null", "mem")), "null").unwrap_err();
    assert!(e.contains("\"mem\""), "{e}");
    // Without sysfs, the name decides whether NVME_IOCTL_ID is worth asking.
    assert_eq!(classify_char(None, "ng1n1"), Ok(NodeKind::Unknown));
    assert!(classify_char(None, "ttyS0").is_err());
}

#[test]
fn non_nvme_nodes_are_refused_before_any_passthrough() {
    let e = NvmeDev::open("/dev/null", &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/dev/null") && e.contains("not an NVMe"), "{e}");
    let uri = Uri::parse("/dev/null").unwrap();
    let mut u = uri.clone();
    u.target = Target::File { exists: true };
    assert!(
        open(&u, &Options::default())
            .err()
            .expect("refused")
            .to_string()
            .contains("not an NVMe device node")
    );
}
