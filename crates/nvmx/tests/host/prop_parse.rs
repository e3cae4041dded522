//! Property tests for what users type: URIs, `Options::set` names and
//! values, ramdisk sizes and PCI addresses. Arbitrary text never panics
//! (it parses or is refused with an error naming the problem), and valid
//! forms round-trip.
//!
//! Failing inputs are kept beside this file in
//! `prop_parse.proptest-regressions` (commit it) and replayed first on
//! every run.
//!
//! Unix hosts: Windows reads drive letters and backslashes in URIs, which
//! the arbitrary-text properties here do not model.

#![cfg(unix)]

use nvmx::uri::{PciAddr, Target, parse_size};
use nvmx::{Error, Options, Uri};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2048,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Text that looks like what users type: digits, units, separators and
/// the odd multi-byte character, plus fully arbitrary strings.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-FxXkKmMgGiIbB:./?&=_ -]{0,24}",
        "[0-9]{0,22}(KB|MB|GB|KiB|MiB|GiB|k|m|g|XB|)(\\?[a-z_]{0,8}=[0-9a-z]{0,6}(&[a-z_]{0,8}=[0-9]{0,4}){0,3})?",
        "([0-9a-f]{0,6}:){0,3}[0-9a-fA-Fz]{0,3}(\\.[0-9a-f]{0,2})?",
        ".{0,24}",
    ]
}

const NAMES: &[&str] = &[
    "be",
    "async",
    "sync",
    "admin",
    "mem",
    "dev-nsid",
    "dev_nsid",
    "--rdonly",
    "wronly",
    "rdwr",
    "create",
    "truncate",
    "direct",
    "create_mode",
    "create-mode",
    "poll_io",
    "poll-sq",
    "register_files",
    "register-buffers",
    "subnqn",
    "hostnqn",
    "admin-timeout",
    "command_timeout",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_uri_parses_or_names_the_problem(s in texty()) {
        match Uri::parse(&s) {
            Ok(u) => {
                let _ = (u.param("lbaf"), format!("{u:?}"));
            }
            Err(e) => prop_assert!(e.is_caller_mistake(), "{s:?}: {e}"),
        }
    }

    #[test]
    fn any_option_name_and_value_sets_or_names_the_problem(
        name in prop_oneof![proptest::sample::select(NAMES).prop_map(String::from), texty()],
        value in texty(),
    ) {
        let mut o = Options::default();
        if let Err(e) = o.set(&name, &value) {
            let m = e.to_string();
            prop_assert!(!m.contains('\n'), "one line: {m:?}");
            prop_assert!(e.is_caller_mistake(), "{name:?}={value:?}: {m}");
        }
        let _ = o.validate();
    }

    #[test]
    fn numbers_round_trip_through_options(n in any::<u32>(), hex in any::<bool>(), us in any::<u64>()) {
        let mut o = Options::default();
        let v = if hex { format!("{n:#x}") } else { n.to_string() };
        o.set("dev-nsid", &v).unwrap();
        prop_assert_eq!(o.nsid, n);
        prop_assert_eq!(o.validate().is_ok(), n != 0 && n != u32::MAX);
        o.set("admin-timeout", &us.to_string()).unwrap();
        prop_assert_eq!(o.admin_timeout, std::time::Duration::from_micros(us));
        let too_big = u64::from(u32::MAX) + 1 + u64::from(n);
        prop_assert!(o.set("dev-nsid", &too_big.to_string()).is_err());
    }

    #[test]
    fn ramdisk_sizes_parse_or_name_the_problem(s in texty()) {
        match parse_size(&s) {
            Ok(n) => prop_assert!(n > 0 && n % 4096 == 0, "{s:?} -> {n}"),
            Err(e) => prop_assert!(matches!(e, Error::Invalid { what: "ramdisk size", .. } | Error::Misaligned { what: "ramdisk size", .. }), "{s:?}: {e}"),
        }
    }

    #[test]
    fn valid_ramdisk_sizes_round_trip(
        n in 1u64..1 << 20,
        unit in proptest::sample::select(&[("KiB", 10u32), ("KB", 10), ("MiB", 20), ("MB", 20), ("GiB", 30), ("GB", 30)][..]),
        lbaf in 0u8..7,
    ) {
        let (name, shift) = unit;
        let n = if shift == 10 { n * 4 } else { n };
        let s = format!("{n}{name}");
        prop_assert_eq!(parse_size(&s).unwrap(), n << shift);
        let uri = format!("{s}?lbaf={lbaf}");
        let u = Uri::parse(&uri).unwrap();
        prop_assert_eq!(&u.target, &Target::Ramdisk { nbytes: n << shift });
        let lbaf = lbaf.to_string();
        prop_assert_eq!(u.param("lbaf"), Some(lbaf.as_str()));
        prop_assert_eq!(u.base, s);
    }

    #[test]
    fn pci_addresses_parse_or_name_the_problem(s in texty()) {
        match PciAddr::parse(&s) {
            Ok(a) => {
                prop_assert!(a.dev < 32 && a.func < 8, "{s:?} -> {a}");
                prop_assert_eq!(PciAddr::parse(&a.to_string()).unwrap(), a);
            }
            Err(e) => prop_assert!(matches!(e, Error::Invalid { what: "PCI address", .. }), "{s:?}: {e}"),
        }
    }

    #[test]
    fn valid_pci_addresses_round_trip(domain in any::<u16>(), bus in any::<u8>(), dev in 0u8..32, func in 0u8..8) {
        let a = PciAddr { domain, bus, dev, func };
        let s = a.to_string();
        prop_assert_eq!(PciAddr::parse(&s).unwrap(), a);
        prop_assert_eq!(Uri::parse(&s).unwrap().target, Target::Pcie(a));
        if domain == 0 {
            let short = format!("{bus:02x}:{dev:02x}.{func}");
            prop_assert_eq!(PciAddr::parse(&short).unwrap(), a);
        }
    }
}
