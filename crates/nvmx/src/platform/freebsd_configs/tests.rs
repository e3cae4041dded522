//! Host tests of FreeBSD's configuration list: its order and interfaces,
//! and what selection over it picks. Files and ramdisks open here as on
//! FreeBSD; the NVMe open function and the kqueue engine refuse off
//! FreeBSD, which the tests expect.

use super::*;
use crate::opts::Options;
use crate::uri::Uri;
use nvmx_core::be::config::select_from;

fn opts(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

fn temp_file(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("nvmx-fbsd-cfg-{}-{tag}.img", std::process::id()));
    std::fs::write(&p, vec![0u8; 1 << 20]).unwrap();
    p
}

#[test]
fn the_list_covers_the_issue_scope_in_order() {
    let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "emu",
            "kqueue",
            "posix",
            "thrpool",
            "nil",
            "emu_file",
            "kqueue_file",
            "thrpool_file",
            "posix_file",
            "nil_file",
            "ramdisk_emu",
            "ramdisk",
            "ramdisk_thrpool",
        ]
    );
    for c in &CONFIGS[..5] {
        assert_eq!(
            (c.sync_id, c.admin_id, c.dev_id),
            ("nvme", "nvme", "freebsd")
        );
        assert!(c.caps.intersects(Caps::NVME_CDEV), "{}", c.name);
        assert_eq!(c.name, c.async_id);
    }
    assert_eq!(KQUEUE_FILE.async_id, "kqueue");
    assert_eq!(
        (KQUEUE_FILE.sync_id, KQUEUE_FILE.admin_id),
        ("psync", "file_as_ns")
    );
    assert_eq!(KQUEUE_FILE.caps, Caps::FILE);
}

#[test]
fn files_and_sizes_pick_as_on_freebsd() {
    let f = temp_file("pick");
    let path = f.to_str().unwrap();
    let pick = |o: &Options| {
        let uri = Uri::parse(path).unwrap();
        select_from(CONFIGS, &uri, o).map(|(c, _)| c.name)
    };
    assert_eq!(pick(&Options::default()).unwrap(), "emu_file");
    assert_eq!(pick(&opts(&[("async", "kqueue")])).unwrap(), "kqueue_file");
    assert_eq!(pick(&opts(&[("async", "posix")])).unwrap(), "posix_file");
    assert_eq!(
        pick(&opts(&[("async", "thrpool")])).unwrap(),
        "thrpool_file"
    );
    // --be kqueue is the NVMe one: it does not serve files, and says so.
    let e = pick(&opts(&[("be", "kqueue")])).unwrap_err().to_string();
    assert!(e.contains("kqueue"), "{e}");
    let _ = std::fs::remove_file(&f);
    let uri = Uri::parse("8MiB").unwrap();
    let (c, _) = select_from(CONFIGS, &uri, &Options::default()).unwrap();
    assert_eq!(c.name, "ramdisk_emu");
}

#[cfg(not(target_os = "freebsd"))]
#[test]
fn nvme_nodes_are_refused_off_freebsd_naming_each_configuration() {
    use crate::error::Error;
    // /dev/null is a character device: an NVMe candidate by kind.
    let uri = Uri::parse("/dev/null").unwrap();
    let Err(Error::NoBackend { tried, .. }) = select_from(CONFIGS, &uri, &Options::default())
    else {
        panic!("an NVMe configuration opened /dev/null")
    };
    let tried: Vec<&str> = tried.iter().map(|r| r.config).collect();
    for name in ["emu", "kqueue", "posix", "thrpool", "nil"] {
        assert!(tried.contains(&name), "{name} not in {tried:?}");
    }
}
