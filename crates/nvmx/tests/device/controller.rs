//! Controller operations through `Device`: resets, namespace rescan and
//! the registers, on the ramdisk (which implements them) and on a file
//! (which has no controller and says so).

use nvmx::spec::feature::{FeatureId, VolatileWriteCache};
use nvmx::{Device, Error, Options};

use crate::common;

#[test]
fn ramdisk_reset_restores_feature_defaults_and_keeps_data() {
    let dev = Device::open("4MiB", &Options::default()).unwrap();
    let vwc = |d: &Device| {
        let c = d
            .get_features(FeatureId::VOLATILE_WRITE_CACHE.0, 0, 0, 0, None)
            .unwrap();
        VolatileWriteCache::from_cdw0(c.cdw0).wce
    };
    let default = vwc(&dev);
    dev.set_features(
        FeatureId::VOLATILE_WRITE_CACHE.0,
        0,
        u32::from(!default),
        0,
        false,
        None,
    )
    .unwrap();
    assert_eq!(vwc(&dev), !default);
    let data = vec![0x5au8; 512];
    dev.write(3, 0, &data, None).unwrap();
    for reset in [Device::controller_reset, Device::subsystem_reset] {
        dev.set_features(
            FeatureId::VOLATILE_WRITE_CACHE.0,
            0,
            u32::from(!default),
            0,
            false,
            None,
        )
        .unwrap();
        reset(&dev).unwrap();
        assert_eq!(vwc(&dev), default, "a reset restores the default");
        let mut back = vec![0u8; 512];
        dev.read(3, 0, &mut back, None).unwrap();
        assert_eq!(back, data, "the media survives a reset");
    }
    dev.namespace_rescan().unwrap();
}

#[test]
fn ramdisk_registers_describe_a_ready_controller() {
    let dev = Device::open("4MiB", &Options::default()).unwrap();
    let r = dev.registers().unwrap();
    assert!(r.cc.en() && r.csts.rdy(), "enabled and ready");
    assert!(r.cap.nssrs(), "supports subsystem reset");
    assert_eq!(r.cap.mqes(), 1023);
    assert_eq!(r.cap.mpsmin_nbytes(), 4096);
    assert_eq!((r.vs.mjr(), r.vs.mnr()), (2, 0));
}

#[test]
fn a_file_has_no_controller_and_says_so() {
    let p = std::env::temp_dir().join(format!("nvmx-ctrl-{}.img", std::process::id()));
    std::fs::write(&p, vec![0u8; 1 << 16]).unwrap();
    let dev = Device::open(p.to_str().unwrap(), &Options::default()).unwrap();
    for (what, e) in [
        ("controller reset", dev.controller_reset().unwrap_err()),
        ("subsystem reset", dev.subsystem_reset().unwrap_err()),
        ("namespace rescan", dev.namespace_rescan().unwrap_err()),
        (
            "controller registers",
            dev.registers().map(|_| ()).unwrap_err(),
        ),
    ] {
        assert!(
            matches!(&e, Error::Unsupported { what: w, .. } if w.contains(what)),
            "{what}: {e}"
        );
    }
    std::fs::remove_file(&p).ok();
}

#[test]
fn namespace_and_controller_lists() {
    let dev = Device::open("4MiB", &Options::default()).unwrap();
    assert_eq!(dev.active_namespaces().unwrap(), vec![1]);
    assert_eq!(dev.controller_list(None, 0).unwrap(), vec![1]);
    assert_eq!(dev.controller_list(Some(1), 0).unwrap(), vec![1]);
    assert!(
        dev.controller_list(None, 2).unwrap().is_empty(),
        "no id at or above 2"
    );
    let e = dev.controller_list(Some(7), 0).unwrap_err();
    assert!(
        e.status().is_some(),
        "a missing namespace answers a status: {e}"
    );
    let mut buf = vec![0u8; 4096];
    let id = nvmx::spec::identify::Identify {
        uuid: 0x80,
        ..nvmx::spec::identify::Identify::controller()
    };
    let e = dev.identify_with(&id, &mut buf).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfRange {
                what: "UUID index",
                ..
            }
        ),
        "{e}"
    );
    let e = dev
        .identify_with(
            &nvmx::spec::identify::Identify::controller(),
            &mut buf[..100],
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortBuffer {
                len: 100,
                need: 4096,
                ..
            }
        ),
        "{e}"
    );
}

/// In the QEMU guest: the three-namespace controller lists its namespaces
/// through its controller node, and the nvmx registers equal the BAR.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn guest_controller_lists_its_namespaces() {
    let Some(ctrl) = common::env_var(common::GUEST, "NVMX_DEV_MULTINS_CTRL") else {
        return;
    };
    let dev = Device::open(&ctrl, &Options::default()).unwrap();
    assert_eq!(dev.active_namespaces().unwrap(), vec![1, 2, 3]);
    let ids = dev.controller_list(None, 0).unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let r = dev.registers().unwrap();
    assert!(r.cc.en() && r.csts.rdy() && r.cap.mqes() > 0);
}

#[test]
fn get_log_checks_every_field_before_the_device() {
    use nvmx::spec::log::{GetLogPage, LogPageId};
    let dev = Device::open("4MiB", &Options::default()).unwrap();
    let mut buf = vec![0u8; 512];
    let smart = GetLogPage::new(LogPageId::SMART_HEALTH, 0xffff_ffff, 512);
    dev.get_log(&smart, &mut buf).unwrap();
    assert_eq!(buf[3], 100, "available spare 100%");
    for (glp, what) in [
        (GetLogPage { lsp: 0x80, ..smart }, "log specific field"),
        (
            GetLogPage {
                uuid: 0x80,
                ..smart
            },
            "UUID index",
        ),
        (GetLogPage { lpo: 2, ..smart }, "log page offset"),
    ] {
        let e = dev.get_log(&glp, &mut buf).unwrap_err();
        let named = match &e {
            Error::OutOfRange { what: w, .. } | Error::Misaligned { what: w, .. } => *w == what,
            _ => false,
        };
        assert!(named, "{what}: {e}");
    }
    let e = dev.get_log(&smart, &mut buf[..6]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Invalid {
                what: "log buffer",
                ..
            }
        ),
        "{e}"
    );
}
