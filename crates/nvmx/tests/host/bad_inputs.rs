//! Rows of the bad-input catalogue (docs/BAD-INPUTS.md) that no other test
//! covers: each bad input gets an error naming the problem, no panic, and
//! leaves the data it would have touched as it was.

use crate::common;

use nvmx::{Device, Error, Options};

fn opts(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

/// Writes `nblocks` blocks of `byte` at LBA `slba`.
fn fill(dev: &Device, slba: u64, nblocks: u16, byte: u8) {
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let mut b = dev.alloc(bs * nblocks as usize).unwrap();
    b.iter_mut().for_each(|c| *c = byte);
    dev.write(slba, nblocks - 1, &b, None).unwrap();
}

/// Asserts that `nblocks` blocks at `slba` all hold `byte`.
fn holds(dev: &Device, slba: u64, nblocks: u16, byte: u8, why: &str) {
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let mut b = dev.alloc(bs * nblocks as usize).unwrap();
    dev.read(slba, nblocks - 1, &mut b, None).unwrap();
    assert!(b.iter().all(|&c| c == byte), "{why}: data was touched");
}

#[cfg(unix)]
#[test]
#[ignore = "needs a user other than root: run by testrig/host-env-tests.sh (as nobody)"]
fn permission_denied_names_the_path_and_the_os_error() {
    use std::os::unix::fs::PermissionsExt;
    if common::is_root() {
        return common::missing(common::NONROOT, "root ignores file modes");
    }
    let f = common::temp_file("perm", 1 << 20);
    std::fs::set_permissions(&f.0, std::fs::Permissions::from_mode(0o000)).unwrap();
    let e = Device::open(f.0.to_str().unwrap(), &Options::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(f.0.to_str().unwrap()) && msg.to_lowercase().contains("permission denied"),
        "{msg}"
    );
}

#[test]
fn malformed_pci_addresses_are_refused_by_open() {
    for (uri, word) in [("0000:01:40.0", "device"), ("0000:01:00.9", "function")] {
        let e = Device::open(uri, &Options::default()).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what: "PCI address", why } if why.contains(word)),
            "{uri}: {e}"
        );
    }
}

#[test]
fn malformed_ramdisk_sizes_and_parameters_are_refused_by_open() {
    for (uri, what, word) in [
        ("1XB", "ramdisk size", "unknown unit"),
        ("0MiB", "ramdisk size", "zero"),
        ("3KiB", "ramdisk size", "4 KiB"),
        ("8MiB?lbaf=99", "ramdisk parameter", "lbaf"),
        ("8MiB?mdts=99", "ramdisk parameter", "mdts"),
        ("8MiB?bogus=1", "ramdisk parameter", "bogus"),
    ] {
        let e = Device::open(uri, &Options::default()).unwrap_err();
        let ok = match &e {
            Error::Misaligned { what: w, why } => uri == "3KiB" && *w == what && why.contains(word),
            Error::Invalid { what: w, why } => *w == what && why.contains(word),
            _ => false,
        };
        assert!(ok, "{uri}: {e}");
    }
}

#[test]
fn buffer_shorter_than_the_blocks_is_refused_and_nothing_is_written() {
    let f = common::temp_file("short", 1 << 20);
    for uri in ["1MiB", f.0.to_str().unwrap()] {
        let dev = Device::open(uri, &Options::default()).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        fill(&dev, 0, 4, b'a');
        let short = vec![b'x'; 2 * bs];
        let e = dev.write(0, 3, &short, None).unwrap_err();
        assert!(
            matches!(e, Error::ShortBuffer { what: "data", len, need } if need == 2 * len),
            "{uri}: {e}"
        );
        let mut q = dev.queue(2).unwrap();
        let r = q
            .write(0, 3, dev.alloc(2 * bs).unwrap(), None, 1)
            .unwrap_err();
        assert!(matches!(r.error, Error::ShortBuffer { .. }), "{uri}: {r}");
        assert!(r.data.is_some(), "{uri}: the buffer is handed back");
        holds(&dev, 0, 4, b'a', uri);
    }
}

#[test]
fn lba_range_beyond_the_namespace_is_refused_and_nothing_is_written() {
    let dev = Device::open("1MiB", &Options::default()).unwrap();
    let g = dev.geometry().unwrap().clone();
    let bs = g.lba_nbytes as usize;
    fill(&dev, g.nsect - 2, 2, b'a');
    let data = vec![b'x'; 4 * bs];
    for e in [
        dev.write(g.nsect - 2, 3, &data, None).unwrap_err(),
        dev.write_zeroes(g.nsect - 2, 3).unwrap_err(),
        dev.write(u64::MAX - 1, 3, &data, None).unwrap_err(),
    ] {
        assert!(matches!(e, Error::OutOfRange { what: "LBA", .. }), "{e}");
    }
    let e = dev.dsm(&[(g.nsect - 1, 8)], true).unwrap_err();
    assert!(
        e.status().is_some_and(|s| (s.sct, s.sc) == (0, 0x80)),
        "{e}"
    );
    let mut q = dev.queue(2).unwrap();
    let r = q
        .write(g.nsect - 2, 3, dev.alloc(4 * bs).unwrap(), None, 1)
        .unwrap_err();
    assert!(
        matches!(r.error, Error::OutOfRange { what: "LBA", .. }),
        "{r}"
    );
    holds(&dev, g.nsect - 2, 2, b'a', "end of the namespace");
}

#[test]
fn transfer_beyond_mdts_is_refused_and_nothing_is_written() {
    // mdts=1: 2^1 x 4 KiB = 8 KiB, 16 blocks of 512 bytes.
    let dev = Device::open("1MiB?mdts=1", &Options::default()).unwrap();
    let g = dev.geometry().unwrap().clone();
    assert_eq!(g.mdts_nbytes, 8 << 10);
    let blocks = (g.mdts_nbytes / g.lba_nbytes) as u16;
    fill(&dev, 0, blocks, b'a');
    fill(&dev, blocks as u64, 1, b'a');
    let data = vec![b'x'; (blocks as usize + 1) * g.lba_nbytes as usize];
    let e = dev.write(0, blocks, &data, None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                limit: 8192,
                limit_name: "MDTS bytes",
                ..
            }
        ),
        "{e}"
    );
    let mut q = dev.queue(2).unwrap();
    let r = q
        .write(0, blocks, dev.alloc(data.len()).unwrap(), None, 1)
        .unwrap_err();
    assert!(
        matches!(
            r.error,
            Error::TooLarge {
                limit_name: "MDTS bytes",
                ..
            }
        ),
        "{r}"
    );
    holds(&dev, 0, blocks, b'a', "MDTS");
    holds(&dev, blocks as u64, 1, b'a', "MDTS, last block");
}

#[test]
fn unknown_nsid_on_a_ramdisk_is_refused() {
    for nsid in ["2", "7"] {
        let e = Device::open("8MiB", &opts(&[("dev-nsid", nsid)])).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfRange {
                    what: "dev-nsid",
                    ..
                }
            ),
            "{nsid}: {e}"
        );
    }
}

/// A misaligned buffer with `--direct` on a file: refused with a message
/// naming the alignment (not a bare EINVAL), and the file keeps its data.
/// (Linux: the configurations named are Linux's.)
#[cfg(target_os = "linux")]
#[test]
fn misaligned_direct_io_buffer_is_refused_and_nothing_is_written() {
    // The temp dir may be tmpfs without O_DIRECT; /var/tmp is on disk.
    let dir = std::path::Path::new("/var/tmp");
    let path = dir.join(format!("nvmx-bad-direct-{}.img", std::process::id()));
    std::fs::write(&path, vec![b'a'; 1 << 20]).unwrap();
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            std::fs::remove_file(&self.0).ok();
        }
    }
    let _rm = Rm(path.clone());
    let mut tried = 0;
    for be in [
        "emu_file",
        "thrpool_file",
        "posix_file",
        "io_uring_file",
        "libaio_file",
    ] {
        let dev = match Device::open(
            path.to_str().unwrap(),
            &opts(&[("be", be), ("direct", "1")]),
        ) {
            Ok(d) => d,
            Err(e) => {
                println!("{be}: direct I/O not available here: {e}");
                continue;
            }
        };
        tried += 1;
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let mut big = dev.alloc(2 * bs + 4096).unwrap();
        big.iter_mut().for_each(|c| *c = b'x');
        let misaligned = |e: &Error| matches!(e, Error::Misaligned { what: "data buffer", why } if why.contains("aligned to 512 bytes"));
        let e = dev.write(0, 1, &big[1..2 * bs + 1], None).unwrap_err();
        assert!(misaligned(&e), "{be}: {e}");
        let mut back = dev.alloc(2 * bs).unwrap();
        let e = dev.read(0, 1, &mut big[1..2 * bs + 1], None).unwrap_err();
        assert!(misaligned(&e), "{be}: {e}");
        dev.read(0, 1, &mut back, None).unwrap();
        assert!(back.iter().all(|&c| c == b'a'), "{be}: data was touched");
    }
    assert!(tried > 0, "no file configuration opened with direct I/O");
}

#[cfg(unix)]
#[test]
fn a_path_with_a_newline_is_named_on_one_line() {
    // Found by the `parse` fuzz target: stat fails (the name is longer
    // than a file name may be) and the error echoed the newline.
    let uri = format!("1G\n{}", "x".repeat(300));
    let e = Device::open(&uri, &Options::default()).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, Error::Io { op: "stat", .. }), "{m}");
    assert!(!m.contains('\n') && m.contains("1G\\nxxx"), "{m:?}");
}

/// A file shrunk behind nvmx's back (another process truncates it): the
/// blocks past the new end answer LBA Out of Range, never stale bytes,
/// although the file interface remembers the larger size to skip a
/// `stat` per read; a write there grows it again and reads back. (Unix:
/// the shrinking handle is the test's own, which Windows' share modes may
/// refuse while nvmx holds the file.)
#[cfg(unix)]
#[test]
fn a_file_truncated_behind_nvmxs_back_answers_out_of_range() {
    for be in ["emu_file", "thrpool_file"] {
        let path =
            std::env::temp_dir().join(format!("nvmx-shrunk-{}-{be}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 1 << 20]).unwrap();
        let uri = path.to_str().unwrap();
        let dev = Device::open(uri, &opts(&[("be", be)])).unwrap();
        fill(&dev, 1000, 8, 0x5a);
        holds(&dev, 1000, 8, 0x5a, "before");
        // Shrink to 64 blocks, through another handle.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(64 * 512)
            .unwrap();
        let mut b = dev.alloc(8 * 512).unwrap();
        let e = dev.read(1000, 7, &mut b, None).unwrap_err();
        let st = e.status().unwrap_or_else(|| panic!("{be}: {e}"));
        assert_eq!(
            (st.sct, st.sc),
            (
                nvmx::spec::status::sct::GENERIC,
                nvmx::spec::status::sc::LBA_OUT_OF_RANGE
            ),
            "{be}"
        );
        // Straddling the new end too.
        let e = dev.read(60, 7, &mut b, None).unwrap_err();
        assert!(e.status().is_some(), "{be}: {e}");
        holds(&dev, 0, 8, 0, "below the new end");
        fill(&dev, 1000, 8, 0xa5);
        holds(&dev, 1000, 8, 0xa5, "written again");
        drop(dev);
        std::fs::remove_file(&path).unwrap();
    }
}
