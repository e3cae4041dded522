//! Opening: URI parameters, nsid, what the backend reports.

use super::*;
use crate::open;
use nvmx_core::error::Error;
use nvmx_core::ident::DevType;
use nvmx_core::opts::Options;

fn open_err(uri: &str) -> String {
    let uri = Uri::parse(uri).unwrap();
    match open(&uri, &Options::default()) {
        Ok(_) => panic!("{} opened", uri.raw),
        Err(e) => {
            assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
            e.to_string()
        }
    }
}

#[test]
fn open_reports_a_ramdisk_ident_and_shares_one_controller() {
    let uri = Uri::parse("8MiB?lbaf=2").unwrap();
    let be = open(&uri, &Options::default()).unwrap();
    assert_eq!(be.ident.dtype, DevType::Ramdisk);
    assert_eq!(be.ident.nsid, 1);
    assert_eq!(be.ident.csi, 0);
    assert_eq!(be.ident.uri, "8MiB?lbaf=2");
    assert_eq!(be.ident.subnqn, "nqn.2026-11.io.nvmx:ramdisk:8388608");
    assert_eq!(be.sync.id(), "ramdisk");
    assert_eq!(be.admin.id(), "ramdisk");
    // A write through the sync interface is seen by the admin interface's
    // SMART log: they are the same controller.
    let data = pattern(4096, 1);
    let mut cmd = rw(NvmOpcode::WRITE, 0, 0);
    assert!(
        be.sync
            .cmd_io(&mut cmd, DataBuf::Out(&data), DataBuf::None)
            .unwrap()
            .is_success()
    );
    let mut smart = vec![0u8; 512];
    let mut glp =
        nvmx_spec::log::GetLogPage::new(nvmx_spec::log::LogPageId::SMART_HEALTH, NSID_ALL, 512)
            .to_command();
    assert!(
        be.admin
            .cmd_admin(&mut glp, DataBuf::In(&mut smart))
            .unwrap()
            .is_success()
    );
    assert_eq!(smart[80], 1, "host write commands");
}

const NSID_ALL: u32 = 0xffff_ffff;

#[test]
fn open_rejects_other_namespaces_and_targets() {
    let uri = Uri::parse("8MiB").unwrap();
    let opts = Options {
        nsid: 2,
        ..Default::default()
    };
    let e = open(&uri, &opts).err().expect("nsid 2 does not exist");
    assert!(
        matches!(&e, Error::OutOfRange { what: "dev-nsid", why } if why.contains("one namespace, nsid 1")),
        "{e}"
    );
    let file = Uri {
        target: Target::File { exists: false },
        ..uri
    };
    let e = open(&file, &Options::default())
        .err()
        .expect("not a ramdisk")
        .to_string();
    assert!(e.contains("not a ramdisk size"), "{e}");
}

#[test]
fn bad_parameters_name_the_key_and_list_the_known_ones() {
    for (uri, says) in [
        ("8MiB?lbaf=7", "lbaf=7 is not an LBA format"),
        (
            "8MiB?lbaf=2&pi=1",
            "pi=1 needs an LBA format whose metadata holds the PI tuple",
        ),
        ("8MiB?lbaf=1&pi=4", "pi=4 is not a PI type"),
        ("8MiB?lbaf=x", "lbaf=\"x\" is not a small decimal number"),
        ("8MiB?lbaf=-1", "lbaf=\"-1\""),
        ("8MiB?mdts=33", "mdts=33 is larger than 32"),
        ("8MiB?mdts=999", "mdts=\"999\""),
        ("8MiB?ext=2", "ext=\"2\" is not 0 or 1"),
        ("8MiB?ext=1", "ext=1 needs an LBA format with metadata"),
        ("8MiB?lbaf=1&lbaf=2", "\"lbaf\" is given more than once"),
        ("8MiB?block=4096", "unknown key \"block\""),
    ] {
        let e = open_err(uri);
        assert!(e.starts_with("invalid ramdisk parameter: "), "{uri}: {e}");
        assert!(e.contains(says), "{uri}: expected {says:?} in {e}");
        assert!(
            e.contains("lbaf=0..6") && e.contains("mdts=") && e.contains("ext=0|1"),
            "{uri}: {e}"
        );
    }
}

#[test]
fn parameters_shape_the_namespace() {
    let c = ctrl("64KiB?lbaf=4&ext=1&mdts=0");
    assert_eq!((c.ns().lbaf, c.ns().extended, c.ns().nsze), (4, true, 16));
    assert_eq!(c.ns().host_block_bytes(), 4096 + 64);
    assert_eq!(c.params.max_transfer(), None);
    let c = ctrl("64KiB");
    assert_eq!((c.ns().lbaf, c.ns().extended, c.ns().nsze), (0, false, 128));
    assert_eq!(c.params.max_transfer(), Some(512 * 1024));
}

#[test]
fn a_size_below_one_block_is_rejected() {
    let uri = Uri::parse("8MiB?lbaf=2").unwrap();
    let e = Params::from_uri(&uri, 512).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "ramdisk size", why } if why == "512 bytes do not hold one 4096-byte logical block"),
        "{e}"
    );
    // A size that is not a multiple of the block size rounds down.
    let p = Params::from_uri(&uri, 3 * 4096 + 100).unwrap();
    assert_eq!(p.nsze(), 3);
}
