//! Backend selection: which configuration a URI and options pick, and what
//! the error says when none fits.

use crate::common;

use nvmx::{Caps, Device, Error, Options};

fn opts(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

#[test]
fn defaults_pick_the_first_configuration_for_each_kind() {
    // Unlike xNVMe, the default ramdisk configuration moves data (emu), so
    // a queue on `1GB` never silently drops I/O; `--be ramdisk` is nil.
    let d = Device::open("8MiB", &Options::default()).unwrap();
    assert_eq!(d.config().name, "ramdisk_emu");
    let d = Device::open("8MiB", &opts(&[("be", "ramdisk")])).unwrap();
    assert_eq!(d.config().async_id, "nil");
    assert_eq!(d.ident().dtype, nvmx::DevType::Ramdisk);
    let f = common::temp_file("sel", 1 << 20);
    let d = Device::open(f.0.to_str().unwrap(), &Options::default()).unwrap();
    // Windows lists iocp_file first, as xNVMe does.
    let file_default = if cfg!(windows) {
        "iocp_file"
    } else {
        "emu_file"
    };
    assert_eq!(d.config().name, file_default);
    assert_eq!(d.ident().dtype, nvmx::DevType::FsFile);
}

#[test]
fn naming_an_async_interface_picks_the_configuration_that_fits_the_uri() {
    let f = common::temp_file("sel", 1 << 20);
    let path = f.0.to_str().unwrap();
    let d = Device::open(path, &opts(&[("async", "thrpool")])).unwrap();
    assert_eq!(d.config().name, "thrpool_file");
    let d = Device::open("8MiB", &opts(&[("async", "thrpool")])).unwrap();
    assert_eq!(d.config().name, "ramdisk_thrpool");
    let d = Device::open("8MiB", &opts(&[("async", "emu")])).unwrap();
    assert_eq!(d.config().name, "ramdisk_emu");
}

#[test]
fn chosen_interface_names_are_written_back_into_the_options() {
    let d = Device::open("8MiB", &opts(&[("async", "emu")])).unwrap();
    let o = d.opts();
    assert_eq!(o.be.as_deref(), Some("ramdisk_emu"));
    assert_eq!(o.sync.as_deref(), Some("ramdisk"));
    assert_eq!(o.admin.as_deref(), Some("ramdisk"));
    assert_eq!(o.mem.as_deref(), Some("heap"));
    let ids = d.backend_ids();
    assert_eq!(
        (ids.be, ids.async_id, ids.caps),
        ("ramdisk_emu", "emu", Caps::RAMDISK)
    );
}

#[test]
fn unknown_names_are_rejected_with_the_known_ones_listed() {
    let e = Device::open("8MiB", &opts(&[("be", "io_urin")])).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { why, .. } if why.contains("\"io_urin\"") && why.contains("ramdisk") && why.contains("emu_file")),
        "{e}"
    );
    let e = Device::open("8MiB", &opts(&[("async", "nope")])).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "async interface (--async)", why } if why.contains("thrpool")),
        "{e}"
    );
    let e = Device::open("8MiB", &opts(&[("mem", "hugepage")])).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "mem interface (--mem)", why } if why.contains("heap")),
        "{e}"
    );
}

#[test]
fn a_configuration_that_does_not_fit_the_uri_says_why() {
    let f = common::temp_file("sel", 1 << 20);
    let e = Device::open(f.0.to_str().unwrap(), &opts(&[("be", "ramdisk")])).unwrap_err();
    let Error::NoBackend { tried, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        tried.len(),
        1,
        "only the configuration named by --be is listed: {e}"
    );
    assert_eq!(tried[0].config, "ramdisk");
    assert!(
        tried[0].reason.contains("serves RAMDISK, the URI is FILE"),
        "{e}"
    );
    let e = Device::open("8MiB", &opts(&[("sync", nvmx::be::file::SYNC_ID)]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("emu_file: serves FILE, the URI is RAMDISK"),
        "{e}"
    );
    assert!(
        !e.contains("ramdisk_emu"),
        "configurations excluded by --sync are not listed: {e}"
    );
}

#[test]
fn missing_paths_directories_and_creation() {
    let dir = std::env::temp_dir().join(format!("nvmx-sel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.img");
    let e = Device::open(missing.to_str().unwrap(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("open ") && e.contains("missing.img") && e.contains("--create"),
        "{e}"
    );
    let e = Device::open(dir.to_str().unwrap(), &Options::default()).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "URI", why } if why.contains("is a directory")),
        "{e}"
    );
    let d = Device::open(missing.to_str().unwrap(), &opts(&[("create", "1")])).unwrap();
    assert_eq!(
        d.geometry().unwrap().nsect,
        0,
        "a new file is an empty namespace"
    );
    d.write(0, 1, &[7u8; 1024], None).unwrap();
    assert_eq!(
        std::fs::metadata(&missing).unwrap().len(),
        1024,
        "writes grow the file"
    );
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zero_length_file_opens_and_reads_answer_out_of_range() {
    let f = common::temp_file("zero", 0);
    let d = Device::open(f.0.to_str().unwrap(), &Options::default()).unwrap();
    assert_eq!(d.geometry().unwrap().nsect, 0);
    let mut b = [0u8; 512];
    let e = d.read(0, 0, &mut b, None).unwrap_err();
    assert_eq!(
        e.status().map(|s| s.sc),
        Some(nvmx::spec::status::sc::LBA_OUT_OF_RANGE),
        "{e}"
    );
}

#[test]
fn reserved_nsids_are_refused() {
    for nsid in ["0", "0xffffffff"] {
        let e = Device::open("8MiB", &opts(&[("dev-nsid", nsid)])).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfRange {
                    what: "dev-nsid",
                    ..
                }
            ),
            "{e}"
        );
    }
    let e = Device::open("8MiB", &opts(&[("dev-nsid", "2")])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfRange {
                what: "dev-nsid",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn access_modes_are_enforced_on_every_backend() {
    let f = common::temp_file("acc", 1 << 20);
    for uri in ["8MiB", f.0.to_str().unwrap()] {
        let d = Device::open(uri, &opts(&[("rdonly", "1")])).unwrap();
        let mut b = vec![0u8; 512];
        d.read(0, 0, &mut b, None).unwrap();
        for e in [
            d.write(0, 0, &b, None).unwrap_err(),
            d.write_zeroes(0, 0).unwrap_err(),
        ] {
            assert!(
                matches!(&e, Error::Conflict { why, .. } if why.contains("read-only (--rdonly)")),
                "{uri}: {e}"
            );
        }
        let mut q = d.queue(2).unwrap();
        let r = q.write(0, 0, d.alloc(512).unwrap(), None, 0).unwrap_err();
        assert!(
            matches!(&r.error, Error::Conflict { why, .. } if why.contains("--rdonly"))
                && r.data.is_some(),
            "{uri}: {r}"
        );
        let d = Device::open(uri, &opts(&[("wronly", "1")])).unwrap();
        let e = d.read(0, 0, &mut b, None).unwrap_err();
        assert!(
            matches!(&e, Error::Conflict { why, .. } if why.contains("write-only (--wronly)")),
            "{uri}: {e}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn async_io_uring_alone_just_works_on_files() {
    let f = common::temp_file("uring", 1 << 20);
    for (async_id, want) in [
        ("io_uring", "io_uring_file"),
        ("libaio", "libaio_file"),
        ("posix", "posix_file"),
    ] {
        let d = Device::open(f.0.to_str().unwrap(), &opts(&[("async", async_id)])).unwrap();
        assert_eq!(d.config().name, want);
        d.write(0, 0, &[1u8; 512], None).unwrap();
    }
    // io_uring_cmd needs an NVMe char device: on a file it says so.
    let e = Device::open(f.0.to_str().unwrap(), &opts(&[("async", "io_uring_cmd")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("io_uring_cmd: serves NVME_CDEV, the URI is FILE"),
        "{e}"
    );
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root and loop devices: run by testrig/host-env-tests.sh"]
fn async_io_uring_alone_just_works_on_loop_devices() {
    let Some(l) = common::require_env(common::ROOT, common::loop_dev(1 << 20, 512)) else {
        return;
    };
    for (async_id, want) in [
        ("io_uring", "io_uring_bdev"),
        ("libaio", "libaio_bdev"),
        ("thrpool", "thrpool_bdev"),
    ] {
        let d = Device::open(&l.path, &opts(&[("async", async_id)])).unwrap();
        assert_eq!(d.config().name, want, "{async_id} on {}", l.path);
    }
    let d = Device::open(&l.path, &Options::default()).unwrap();
    assert_eq!(
        d.config().name,
        "emu_bdev",
        "a loop device opens with emu_bdev by default"
    );
}
