//! Host-side unit tests of the `block` interface that need no block
//! device; the device round trips are in `tests/device/linux_block.rs`.

use super::*;

#[test]
fn queue_attributes_are_read_from_sysfs_with_defaults_for_missing_ones() {
    let dir = std::env::temp_dir().join(format!("nvmx-blkq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(QueueAttrs::read(&dir), QueueAttrs::default());
    for (k, v) in [
        ("max_hw_sectors_kb", "1280\n"),
        ("discard_max_bytes", "4294966784\n"),
        ("write_zeroes_max_bytes", "4294966784\n"),
        ("discard_zeroes_data", "0\n"),
        ("zoned", "host-managed\n"),
        ("chunk_sectors", "2048\n"),
        ("nr_zones", "64\n"),
        ("max_open_zones", "14\n"),
    ] {
        std::fs::write(dir.join(k), v).unwrap();
    }
    let q = QueueAttrs::read(&dir);
    assert_eq!(q.max_hw_sectors_kb, Some(1280));
    assert!(q.discard() && q.host_managed());
    assert!(!q.discard_zeroes_data);
    assert_eq!(
        (
            q.chunk_sectors,
            q.nr_zones,
            q.max_open_zones,
            q.max_active_zones
        ),
        (2048, 64, 14, 0)
    );
    std::fs::write(dir.join("zoned"), "host-aware\n").unwrap();
    assert!(
        !QueueAttrs::read(&dir).host_managed(),
        "host-aware devices take random writes: conventional"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_block_devices_open() {
    let e = BlockDev::open("/dev/null", &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a block device"), "{e}");
    let mut u = Uri::parse("/dev/null").unwrap();
    u.target = Target::CharDevice;
    assert!(
        open(&u, &Options::default())
            .err()
            .expect("refused")
            .to_string()
            .contains("not a block device")
    );
    let e = BlockDev::open("/nonexistent/nvmx-dev", &Options::default()).unwrap_err();
    assert!(matches!(e, Error::Io { op: "open", .. }), "{e}");
}

#[test]
fn open_flags_follow_direct() {
    assert_eq!(open_flags(&Options::default()) & libc::O_DIRECT, 0);
    let o = Options {
        direct: true,
        ..Default::default()
    };
    assert_ne!(open_flags(&o) & libc::O_DIRECT, 0);
}
