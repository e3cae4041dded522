//! The zoned checks on the ramdisk's zoned namespace, and the ramdisk's
//! own zoned behaviour.

use nvmx::spec::Command;
use nvmx::spec::status::{sc, sc_cmd, sct};
use nvmx::spec::zoned::{ZoneSendAction, ZoneState, ZrasFilter};
use nvmx::{Device, Error, Options};

use super::checks::*;

#[test]
pub(super) fn ramdisk_zone_geometry_comes_from_identify() {
    let dev = open(SMALL);
    let g = dev.zone_geometry().unwrap();
    assert_eq!(g.nzones, 4);
    assert_eq!(g.zsze, 256);
    assert_eq!(g.zdes_nbytes, 128);
    assert_eq!((g.max_open, g.max_active), (Some(4), Some(6)));
    assert_eq!((g.zrwasz, g.zrwafg), (16, 4));
    assert!(g.read_across_zones);
    let geo = dev.geometry().unwrap();
    assert_eq!(geo.geo_type, nvmx::geo::GeoType::Zoned);
    assert_eq!(geo.nzone, 4);
    assert_eq!(dev.ident().csi, 2);
    assert_eq!(dev.zone_descriptor(0).unwrap().zcap, 192);
    assert_eq!(dev.identify_zoned_controller().unwrap().zasl, 0);
    let unlimited = open("8MiB?zoned=1");
    let g = unlimited.zone_geometry().unwrap();
    assert_eq!((g.nzones, g.zsze, g.zdes_nbytes), (8, 2048, 0));
    assert_eq!((g.max_open, g.max_active, g.zrwasz), (None, None, 0));
}

#[test]
pub(super) fn ramdisk_namespace_identification_names_the_zoned_command_set() {
    let dev = open(SMALL);
    let mut buf = vec![0u8; 4096];
    dev.identify(0x03, 1, 0, &mut buf).unwrap();
    assert!(
        nvmx::spec::identify::NsIdDescriptorIter::new(&buf)
            .any(|d| d.csi() == Some(nvmx::spec::opcode::Csi::ZONED))
    );
    // The I/O command set vector lists NVM and Zoned.
    dev.identify(0x1c, 0, 0, &mut buf).unwrap();
    assert_eq!(buf[0], 0b101);
    // A plain ramdisk has no zoned structures.
    let nvm = open("4MiB");
    let e = nvm.identify_zoned_namespace().unwrap_err();
    assert_eq!(e.status().map(|s| s.sc), Some(sc::INVALID_FIELD));
    assert!(nvm.zone_geometry().is_err());
}

#[test]
pub(super) fn ramdisk_zone_state_transitions_follow_the_table() {
    let bad = check_transitions(&open(SMALL));
    assert!(
        bad.is_empty(),
        "transitions that differ:\n{}",
        bad.join("\n")
    );
}

#[test]
pub(super) fn ramdisk_writes_only_at_the_write_pointer() {
    check_write_pointer_rules(&open(SMALL));
}

#[test]
pub(super) fn ramdisk_zone_append_returns_the_lba_it_wrote() {
    check_append(&open(SMALL));
}

#[test]
pub(super) fn ramdisk_select_all_applies_to_zones_in_suitable_states() {
    check_select_all(&open("8MiB?lbaf=2&zoned=1&zone_size=1MiB"));
}

#[test]
pub(super) fn ramdisk_reports_filter_limit_and_count() {
    check_reports(&open("16MiB?lbaf=2&zoned=1&zone_size=1MiB"));
}

#[test]
pub(super) fn ramdisk_reports_in_pieces_larger_than_mdts() {
    // 2048 zones of 8 blocks: a whole report is 128 KiB, MDTS 16 KiB.
    let dev = open("64MiB?lbaf=2&mdts=2&zoned=1&zone_size=32KiB");
    let rep = dev
        .report_zones(0, ZrasFilter::ALL, None, false, false)
        .unwrap();
    assert_eq!(rep.nr_zones, 2048);
    assert_eq!(rep.entries.len(), 2048);
    assert!(
        rep.entries
            .iter()
            .enumerate()
            .all(|(i, e)| e.descr.zslba == i as u64 * 8)
    );
}

#[test]
pub(super) fn ramdisk_active_limit() {
    let dev = open(SMALL);
    let g = dev.zone_geometry().unwrap();
    // SMALL has 4 zones: every one can be active; use a bigger namespace.
    drop(dev);
    let dev = open("8MiB?lbaf=2&zoned=1&zone_size=1MiB&max_open=3&max_active=3");
    let g2 = dev.zone_geometry().unwrap();
    assert_eq!(g.max_active, Some(6));
    check_active_limit(&dev, &g2);
}

#[test]
pub(super) fn ramdisk_open_limit_closes_an_implicitly_opened_zone() {
    let dev = open("8MiB?lbaf=2&zoned=1&zone_size=1MiB&max_open=2&max_active=4");
    let g = dev.zone_geometry().unwrap();
    let z: Vec<u64> = (0..5).map(|i| g.zslba(i)).collect();
    write_at(&dev, z[0], 0).unwrap();
    dev.zone_open(z[1]).unwrap();
    // Open resources are all taken: writing zone 2 closes implicitly
    // opened zone 0 to make room.
    write_at(&dev, z[2], 0).unwrap();
    assert_eq!(state(&dev, z[0]), ZoneState::CLOSED);
    assert_eq!(state(&dev, z[2]), ZoneState::IMPLICIT_OPEN);
    // Explicit opens are never closed for room.
    dev.zone_open(z[2]).unwrap();
    assert_eq!(st(write_at(&dev, z[3], 0)), cs(sc_cmd::TOO_MANY_OPEN_ZONES));
    assert_eq!(st(dev.zone_open(z[0])), cs(sc_cmd::TOO_MANY_OPEN_ZONES));
    // Three zones are active (0 closed, 1 and 2 open); one more may be.
    dev.zone_close(z[1]).unwrap();
    write_at(&dev, z[3], 0).unwrap();
    assert_eq!(st(dev.zone_open(z[4])), cs(sc_cmd::TOO_MANY_ACTIVE_ZONES));
    // Select-all open needs room for every closed zone, or opens none.
    assert_eq!(
        st(dev.zone_mgmt_all(ZoneSendAction::OPEN)),
        cs(sc_cmd::TOO_MANY_OPEN_ZONES)
    );
    assert_eq!(state(&dev, z[0]), ZoneState::CLOSED);
    assert_eq!(
        dev.zone_state_counts().unwrap(),
        [
            (ZoneState::EMPTY, 4),
            (ZoneState::IMPLICIT_OPEN, 1),
            (ZoneState::EXPLICIT_OPEN, 1),
            (ZoneState::CLOSED, 2),
        ]
    );
}

#[test]
pub(super) fn ramdisk_read_only_and_offline_zones() {
    let dev = open("8MiB?lbaf=2&zoned=1&zone_size=1MiB&ro_zones=2");
    let g = dev.zone_geometry().unwrap();
    let (ro, last) = (g.zslba(6), g.zslba(7));
    assert_eq!(state(&dev, ro), ZoneState::READ_ONLY);
    assert_eq!(dev.zone_descriptor(ro).unwrap().wp, u64::MAX);
    assert_eq!(st(write_at(&dev, ro, 0)), cs(sc_cmd::ZONE_READ_ONLY));
    assert_eq!(
        st(dev.zone_append(ro, 0, &block(&dev, 0, 0), None)),
        cs(sc_cmd::ZONE_READ_ONLY)
    );
    for a in [Act::Open, Act::Close, Act::Finish, Act::Reset] {
        assert_eq!(
            act(&dev, ro, a),
            cs(sc_cmd::INVALID_ZONE_STATE_TRANSITION),
            "{a:?}"
        );
    }
    let mut buf = vec![0u8; 4096];
    dev.read(ro, 0, &mut buf, None).unwrap();
    // The controller made them read only: the Changed Zone List says so,
    // until it is read without RAE.
    let log = dev.changed_zone_list(true).unwrap();
    assert_eq!(log.zids(), [ro, last]);
    let log = dev.changed_zone_list(false).unwrap();
    assert_eq!(log.zids(), [ro, last]);
    assert_eq!(dev.changed_zone_list(false).unwrap().nrzid, 0);
    // Offline: from read only only; then reads fail too.
    dev.zone_offline(ro).unwrap();
    assert_eq!(state(&dev, ro), ZoneState::OFFLINE);
    assert_eq!(
        st(dev.read(ro, 0, &mut buf, None)),
        cs(sc_cmd::ZONE_OFFLINE)
    );
    assert_eq!(st(write_at(&dev, ro, 0)), cs(sc_cmd::ZONE_OFFLINE));
    // A read crossing into the offline zone fails as well.
    let mut two = vec![0u8; 8192];
    assert_eq!(
        st(dev.read(ro - 1, 1, &mut two, None)),
        cs(sc_cmd::ZONE_OFFLINE)
    );
    dev.zone_mgmt_all(ZoneSendAction::OFFLINE).unwrap();
    assert_eq!(state(&dev, last), ZoneState::OFFLINE);
    assert_eq!(
        dev.zones_in_state(ZoneState::OFFLINE)
            .unwrap()
            .iter()
            .map(|d| d.zslba)
            .collect::<Vec<_>>(),
        [ro, last]
    );
    // Offline on other states is an invalid transition; reset-all skips
    // offline zones.
    assert_eq!(
        st(dev.zone_offline(0)),
        cs(sc_cmd::INVALID_ZONE_STATE_TRANSITION)
    );
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
    assert_eq!(state(&dev, last), ZoneState::OFFLINE);
}

#[test]
pub(super) fn ramdisk_zone_descriptor_extensions() {
    let dev = open(SMALL);
    let g = dev.zone_geometry().unwrap();
    let ext: Vec<u8> = (0..128).map(|i| i as u8 ^ 0x5a).collect();
    dev.zone_set_descriptor_extension(g.zslba(1), &ext).unwrap();
    let d = dev.zone_descriptor(g.zslba(1)).unwrap();
    assert_eq!(
        d.state(),
        ZoneState::CLOSED,
        "setting an extension closes the zone"
    );
    assert!(d.has_extension());
    let rep = dev
        .report_zones(0, ZrasFilter::ALL, None, true, false)
        .unwrap();
    assert!(rep.extended);
    assert_eq!(rep.entries[1].ext, ext);
    assert!(rep.entries[0].ext.is_empty());
    // Only on an empty zone.
    assert_eq!(
        st(dev.zone_set_descriptor_extension(g.zslba(1), &ext)),
        cs(sc_cmd::INVALID_ZONE_STATE_TRANSITION)
    );
    // Reset drops it.
    dev.zone_reset(g.zslba(1)).unwrap();
    let rep = dev
        .report_zones(0, ZrasFilter::ALL, Some(2), true, false)
        .unwrap();
    assert!(!rep.entries[1].descr.has_extension() && rep.entries[1].ext.is_empty());
    // The size must match.
    let e = dev
        .zone_set_descriptor_extension(0, &ext[..64])
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    // No extensions in this format: extended reports are refused.
    let plain = open("8MiB?zoned=1");
    let e = plain
        .report_zones(0, ZrasFilter::ALL, None, true, false)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                interface: "namespace",
                ..
            }
        ),
        "{e}"
    );
}

/// The ZRWA steps both the ramdisk and QEMU are checked with: returns what
/// each step did, for comparison.
pub(super) fn zrwa_steps(dev: &Device) -> Vec<String> {
    let g = dev.zone_geometry().unwrap();
    let z = g.zslba(2);
    let mut log = Vec::new();
    let mut note = |what: &str, r: Option<(u8, u8)>| {
        let d = dev.zone_descriptor(z).unwrap();
        let wp = match d.wp {
            u64::MAX => "-".to_string(),
            w => format!("+{}", w - z),
        };
        log.push(format!(
            "{what}: {r:x?} {} wp{wp} za {:#x}",
            d.state(),
            d.za
        ));
    };
    dev.zone_reset(z).unwrap();
    note("open zrwa", st(dev.zone_open_zrwa(z)));
    // Inside the ZRWA, not at the write pointer: allowed.
    note("write +4", st(write_at(dev, z + 4, 3)));
    note("write +0", st(write_at(dev, z, 3)));
    note("flush +7", st(dev.zrwa_flush(z + 7)));
    // Below the write pointer: refused.
    note("write +0 again", st(write_at(dev, z, 0)));
    // A flush off the granularity is refused.
    note("flush +9", st(dev.zrwa_flush(z + 9)));
    note("write +8", st(write_at(dev, z + 8, 7)));
    note("flush +15", st(dev.zrwa_flush(z + 15)));
    note("append", st(dev.zone_append(z, 0, &block(dev, 0, 1), None)));
    note("finish", st(dev.zone_finish(z)));
    note("reset", st(dev.zone_reset(z)));
    log
}

#[test]
pub(super) fn ramdisk_zrwa_writes_and_flushes() {
    let log = zrwa_steps(&open(SMALL));
    let text = log.join("\n");
    let want = [
        "open zrwa: None EOPEN wp+0 za 0x8",
        "write +4: None EOPEN wp+0 za 0x8",
        "write +0: None EOPEN wp+0 za 0x8",
        "flush +7: None EOPEN wp+8 za 0x8",
        "write +0 again: Some((1, bc)) EOPEN wp+8 za 0x8",
        "flush +9: Some((0, 2)) EOPEN wp+8 za 0x8",
        "write +8: None EOPEN wp+8 za 0x8",
        "flush +15: None EOPEN wp+16 za 0x8",
        "append: Some((1, b6)) EOPEN wp+16 za 0x8",
        "finish: None FULL wp- za 0x0",
        "reset: None EMPTY wp+0 za 0x0",
    ];
    assert_eq!(log, want, "\n{text}");
    // Without a ZRWA the library says so before sending anything.
    let plain = open("8MiB?zoned=1");
    for e in [
        plain.zone_open_zrwa(0).unwrap_err(),
        plain.zrwa_flush(0).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    }
}

#[test]
pub(super) fn ramdisk_zrwa_implicit_flush_moves_the_write_pointer() {
    let dev = open(SMALL);
    dev.zone_open_zrwa(0).unwrap();
    // 16-block ZRWA: a write ending 6 blocks past it moves the write
    // pointer by 8 (two 4-block granules).
    write_at(&dev, 0, 21).unwrap();
    assert_eq!(wp(&dev, 0), 8);
    // Beyond twice the ZRWA: Zone Invalid Write.
    assert_eq!(st(write_at(&dev, 40, 0)), cs(sc_cmd::ZONE_INVALID_WRITE));
}

#[test]
pub(super) fn ramdisk_argument_checks_name_what_is_wrong() {
    check_arguments(&open(SMALL));
}

#[test]
pub(super) fn ramdisk_zoned_parameters_are_checked() {
    for (uri, what) in [
        ("8MiB?zone_size=1MiB", "needs zoned=1"),
        ("8MiB?zoned=2", "not 0 or 1"),
        (
            "8MiB?zoned=1&zone_size=1MiB&zone_cap=2MiB",
            "larger than zone_size",
        ),
        ("8MiB?zoned=1&zone_size=16MiB", "larger than the ramdisk"),
        ("8MiB?zoned=1&zde=65", "multiple of 64"),
        (
            "8MiB?zoned=1&max_open=4&max_active=2",
            "larger than max_active",
        ),
        ("8MiB?zoned=1&zrwa=1MiB", "half the zone capacity"),
        ("8MiB?zoned=1&zrwafg=0", "zrwafg"),
        ("8MiB?zoned=1&kv=1", "excludes kv=1"),
    ] {
        let e = Device::open(uri, &Options::default()).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { why, .. } if why.contains(what)),
            "{uri}: {e}"
        );
    }
}

#[test]
pub(super) fn ramdisk_other_commands_on_a_zoned_namespace() {
    let dev = open(SMALL);
    // Write Zeroes follows the write pointer like Write.
    let mut cmd = Command::new(0x08, 0);
    cmd.set_cdw10_11(0);
    cmd.cdw12 = 3;
    dev.cmd_io(&mut cmd, Default::default(), Default::default())
        .unwrap();
    assert_eq!(wp(&dev, 0), 4);
    assert_eq!(
        st(dev.cmd_io(&mut cmd, Default::default(), Default::default())),
        cs(sc_cmd::ZONE_INVALID_WRITE)
    );
    // Copy is not offered on the zoned namespace.
    let mut copy = Command::new(0x19, 0);
    assert_eq!(
        st(dev.cmd_io(&mut copy, Default::default(), Default::default())),
        Some((sct::GENERIC, sc::INVALID_OPCODE))
    );
    // Reads may cross zones.
    let mut buf = vec![0u8; 2 * 4096];
    dev.read(255, 1, &mut buf, None).unwrap();
    // Failed zone commands land in the error log with the LBA.
    assert_eq!(st(write_at(&dev, 9, 0)), cs(sc_cmd::ZONE_INVALID_WRITE));
    let mut log = vec![0u8; 64];
    dev.get_log_page(0x01, 0, 0, 0xffff_ffff, false, &mut log)
        .unwrap();
    let e = <nvmx::spec::log::ErrorInfoEntry as zerocopy::FromBytes>::read_from_bytes(&log[..])
        .unwrap();
    assert_eq!(e.status(), status(sc_cmd::ZONE_INVALID_WRITE).dnr());
    assert_eq!(e.lba, 9);
}

#[test]
pub(super) fn ramdisk_zone_state_machine_as_qemu_is_configured() {
    // The guest tests compare QEMU with this ramdisk; it must pass here.
    let dev = open(QEMU_LIKE);
    let bad = check_transitions(&dev);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let g = dev.zone_geometry().unwrap();
    check_active_limit(&dev, &g);
}
