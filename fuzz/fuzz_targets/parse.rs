//! What users type, on arbitrary text: device URIs (and, for ramdisk
//! sizes, the ramdisk's parameters, by opening it), `Options::set` names
//! and values, ramdisk sizes and PCI addresses. Each either parses or is
//! refused with a one-line error; what parses round-trips.
//!
//! The input is read as UTF-8 (invalid sequences replaced). For
//! `Options::set` it is split at the first `=` into a name and a value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nvmx::uri::{PciAddr, Target, parse_size};
use nvmx::{Device, Options, Uri};

/// The largest ramdisk the target opens: its parameters are what is
/// tested, not the allocator.
const OPEN_LIMIT: u64 = 64 << 20;

fn one_line(what: &str, input: &str, e: &nvmx::Error) {
    let m = e.to_string();
    assert!(
        !m.is_empty() && !m.contains('\n'),
        "{what} {input:?}: {m:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();

    match Uri::parse(s) {
        Ok(u) => {
            let _ = (format!("{u:?}"), serde_json::to_string(&u), u.param("lbaf"));
            if let Target::Ramdisk { nbytes } = u.target
                && nbytes <= OPEN_LIMIT
            {
                let mut o = Options::default();
                o.set("be", "ramdisk").unwrap();
                match Device::open(s, &o) {
                    Ok(dev) => {
                        let g = dev.geometry().expect("an open ramdisk has a geometry");
                        assert!(g.nsect > 0 && g.lba_nbytes > 0, "{s:?}: {g:?}");
                    }
                    Err(e) => one_line("open", s, &e),
                }
            }
        }
        Err(e) => one_line("URI", s, &e),
    }

    let (name, value) = s.split_once('=').unwrap_or((s, ""));
    let mut o = Options::default();
    if let Err(e) = o.set(name, value) {
        one_line("option", s, &e);
        assert!(e.is_caller_mistake(), "{s:?}: {e}");
    }
    let _ = o.validate();

    match parse_size(s) {
        Ok(n) => assert!(n > 0 && n % 4096 == 0, "{s:?} -> {n}"),
        Err(e) => {
            one_line("size", s, &e);
            assert!(e.to_string().contains("ramdisk size"), "{s:?}: {e}");
        }
    }

    match PciAddr::parse(s) {
        Ok(a) => {
            assert!(a.dev < 32 && a.func < 8, "{s:?} -> {a}");
            assert_eq!(PciAddr::parse(&a.to_string()).ok(), Some(a), "{s:?}");
        }
        Err(e) => {
            one_line("PCI address", s, &e);
            assert!(e.to_string().contains("PCI address"), "{s:?}: {e}");
        }
    }
});
