//! Zoned namespaces: the zone state machine, resource limits, Zone Append,
//! reports, select-all, descriptor extensions, ZRWA and the Changed Zone
//! List, on the ramdisk's zoned namespace.
//!
//! The `guest_*` tests run the same checks against QEMU's zoned namespace
//! through the `emu` (NVMe ioctls) and `io_uring_cmd` configurations, next
//! to a ramdisk shaped like it, when the QEMU guest rig exports
//! `NVMX_DEV_ZNS_CDEV`; elsewhere they are ignored (see `common::env`).
//!
//! [`checks`] holds the checks, [`ramdisk`] runs them on the ramdisk; the
//! guest tests stay here, where the guest suites select them by name
//! (`zoned::guest`).

mod checks;
mod ramdisk;

use nvmx::spec::zoned::ZoneSendAction;
use nvmx::{Device, Options};

use crate::common;

use checks::*;
use ramdisk::*;

// --- QEMU guest --------------------------------------------------------------

/// QEMU's zoned namespace through each configuration, or why not.
fn guest_devices(test: &str) -> Vec<(&'static str, Device)> {
    // The user-space driver's boots bind the controller away from the
    // kernel: it is reached by its PCI address instead.
    if let Some(be) = common::upcie_be() {
        return common::upcie_open("ZNS")
            .map(|d| vec![(be, d)])
            .unwrap_or_default();
    }
    let Some(cdev) = common::env_var(common::GUEST, "NVMX_DEV_ZNS_CDEV") else {
        eprintln!("{test}: not run");
        return Vec::new();
    };
    ["emu", "io_uring_cmd"]
        .into_iter()
        .map(|be| {
            let opts = Options {
                be: Some(be.into()),
                ..Default::default()
            };
            let dev =
                Device::open(&cdev, &opts).unwrap_or_else(|e| panic!("open {cdev} with {be}: {e}"));
            (be, dev)
        })
        .collect()
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices (or, through the user-space driver, guest-suite-upcie.sh): run by testrig/vm/guest-suite.sh"]
fn guest_zone_geometry_matches_the_rig() {
    for (be, dev) in guest_devices("guest_zone_geometry_matches_the_rig") {
        let g = dev.zone_geometry().unwrap();
        let env = |k: &str| std::env::var(format!("NVMX_DEV_ZNS_{k}")).ok();
        let lbs: u64 = env("LBS").and_then(|v| v.parse().ok()).unwrap_or(4096);
        let bytes = |k: &str| {
            env(k).map(|v| {
                let v = v.trim();
                match v.strip_suffix(['M', 'm']) {
                    Some(n) => n.parse::<u64>().unwrap() << 20,
                    None => v.parse::<u64>().unwrap(),
                }
            })
        };
        if let Some(zs) = bytes("ZONE_SIZE") {
            assert_eq!(g.zsze * lbs, zs, "{be}");
        }
        if let Some(zc) = bytes("ZONE_CAP") {
            assert_eq!(dev.zone_descriptor(0).unwrap().zcap * lbs, zc, "{be}");
        }
        if let Some(ma) = env("MAX_ACTIVE").and_then(|v| v.parse::<u32>().ok()) {
            assert_eq!(g.max_active, Some(ma), "{be}");
        }
        assert_eq!(dev.geometry().unwrap().nzone as u64, g.nzones, "{be}");
        eprintln!("{be}: {g:?}");
    }
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices (or, through the user-space driver, guest-suite-upcie.sh): run by testrig/vm/guest-suite.sh"]
fn guest_zone_state_machine_matches_the_ramdisk() {
    let ram = open(QEMU_LIKE);
    let ram_zrwa = zrwa_steps(&ram);
    for (be, dev) in guest_devices("guest_zone_state_machine_matches_the_ramdisk") {
        dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
        let bad = check_transitions(&dev);
        assert!(bad.is_empty(), "{be}: QEMU differs:\n{}", bad.join("\n"));
        check_write_pointer_rules(&dev);
        check_append(&dev);
        check_select_all(&dev);
        check_reports(&dev);
        let g = dev.zone_geometry().unwrap();
        check_active_limit(&dev, &g);
        check_arguments(&dev);
        if g.zrwasz > 0 {
            let got = zrwa_steps(&dev);
            assert_eq!(
                got,
                ram_zrwa,
                "{be}: ZRWA steps differ\nQEMU:\n{}\nramdisk:\n{}",
                got.join("\n"),
                ram_zrwa.join("\n")
            );
        }
        dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
        eprintln!("{be}: zone state machine matches the ramdisk");
    }
}
