//! Zoned namespaces: the zone state machine, resource limits, Zone Append,
//! reports, select-all, descriptor extensions, ZRWA and the Changed Zone
//! List, on the ramdisk's zoned namespace.
//!
//! The `guest_*` tests run the same checks against QEMU's zoned namespace
//! through the `emu` (NVMe ioctls) and `io_uring_cmd` configurations, next
//! to a ramdisk shaped like it, when the QEMU guest rig exports
//! `NVMX_DEV_ZNS_CDEV`; elsewhere they are ignored (see `common::env`).

use nvmx::spec::status::{sc, sc_cmd, sct};
use nvmx::spec::zoned::{ZoneRecvAction, ZoneSendAction, ZoneState, ZrasFilter};
use nvmx::spec::{Command, Status};
use nvmx::zoned::ZoneGeometry;
use nvmx::{Device, Error, Options};

use crate::common;

/// A ramdisk with 16 zones of 256 blocks (capacity 192), 4 open and 6
/// active resources, 128-byte extensions and a 16-block ZRWA.
const SMALL: &str = "4MiB?lbaf=2&zoned=1&zone_size=1MiB&zone_cap=768KiB&max_open=4&max_active=6&zde=128&zrwa=64KiB&zrwafg=4";

/// A ramdisk shaped like the guest rig's QEMU ZNS namespace.
const QEMU_LIKE: &str = "512MiB?lbaf=2&zoned=1&zone_size=8MiB&zone_cap=6MiB&max_open=16&max_active=16&zrwa=64KiB&zrwafg=4";

fn open(uri: &str) -> Device {
    Device::open(uri, &Options::default()).unwrap_or_else(|e| panic!("open {uri}: {e}"))
}

fn status(sc_: u8) -> Status {
    Status::new(sct::COMMAND_SPECIFIC, sc_)
}

/// The status of a failed call, or `None` for success; any other error
/// fails the test.
fn st<T: std::fmt::Debug>(r: nvmx::Result<T>) -> Option<(u8, u8)> {
    match r {
        Ok(_) => None,
        Err(Error::Status { status, .. }) => Some((status.sct, status.sc)),
        Err(e) => panic!("expected a completion, got {e}"),
    }
}

fn cs(code: u8) -> Option<(u8, u8)> {
    Some((sct::COMMAND_SPECIFIC, code))
}

fn state(dev: &Device, zslba: u64) -> ZoneState {
    dev.zone_descriptor(zslba).unwrap().state()
}

fn wp(dev: &Device, zslba: u64) -> u64 {
    dev.zone_descriptor(zslba).unwrap().wp
}

fn block(dev: &Device, nlb: u16, seed: u8) -> Vec<u8> {
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    (0..(usize::from(nlb) + 1) * bs)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn write_at(dev: &Device, slba: u64, nlb: u16) -> nvmx::Result<nvmx::spec::Completion> {
    dev.write(slba, nlb, &block(dev, nlb, slba as u8), None)
}

/// Brings zone `z` into `s` from Empty.
fn put_in_state(dev: &Device, zslba: u64, s: ZoneState) {
    dev.zone_reset(zslba).unwrap();
    match s {
        ZoneState::EMPTY => {}
        ZoneState::IMPLICIT_OPEN => {
            write_at(dev, zslba, 0).unwrap();
        }
        ZoneState::EXPLICIT_OPEN => {
            dev.zone_open(zslba).unwrap();
        }
        ZoneState::CLOSED => {
            write_at(dev, zslba, 0).unwrap();
            dev.zone_close(zslba).unwrap();
        }
        ZoneState::FULL => {
            dev.zone_finish(zslba).unwrap();
        }
        _ => unreachable!("not reachable by the host"),
    }
    assert_eq!(state(dev, zslba), s, "zone {zslba:#x} set up");
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Open,
    Close,
    Finish,
    Reset,
    Offline,
    Write,
    Append,
}

fn act(dev: &Device, zslba: u64, a: Act) -> Option<(u8, u8)> {
    match a {
        Act::Open => st(dev.zone_open(zslba)),
        Act::Close => st(dev.zone_close(zslba)),
        Act::Finish => st(dev.zone_finish(zslba)),
        Act::Reset => st(dev.zone_reset(zslba)),
        Act::Offline => st(dev.zone_offline(zslba)),
        Act::Write => {
            let d = dev.zone_descriptor(zslba).unwrap();
            // A full zone has no valid write pointer: write at its start.
            let at = if d.state() == ZoneState::FULL {
                zslba
            } else {
                d.wp
            };
            st(write_at(dev, at, 0))
        }
        Act::Append => st(dev.zone_append(zslba, 0, &block(dev, 0, 7), None)),
    }
}

/// (from, action, expected status or the state after).
type Transition = (ZoneState, Act, Result<ZoneState, u8>);

const TRANSITIONS: &[Transition] = {
    use Act::*;
    use ZoneState as S;
    const INV: u8 = sc_cmd::INVALID_ZONE_STATE_TRANSITION;
    &[
        (S::EMPTY, Open, Ok(S::EXPLICIT_OPEN)),
        (S::EMPTY, Close, Err(INV)),
        (S::EMPTY, Finish, Ok(S::FULL)),
        (S::EMPTY, Reset, Ok(S::EMPTY)),
        (S::EMPTY, Offline, Err(INV)),
        (S::EMPTY, Write, Ok(S::IMPLICIT_OPEN)),
        (S::EMPTY, Append, Ok(S::IMPLICIT_OPEN)),
        (S::IMPLICIT_OPEN, Open, Ok(S::EXPLICIT_OPEN)),
        (S::IMPLICIT_OPEN, Close, Ok(S::CLOSED)),
        (S::IMPLICIT_OPEN, Finish, Ok(S::FULL)),
        (S::IMPLICIT_OPEN, Reset, Ok(S::EMPTY)),
        (S::IMPLICIT_OPEN, Offline, Err(INV)),
        (S::IMPLICIT_OPEN, Write, Ok(S::IMPLICIT_OPEN)),
        (S::IMPLICIT_OPEN, Append, Ok(S::IMPLICIT_OPEN)),
        (S::EXPLICIT_OPEN, Open, Ok(S::EXPLICIT_OPEN)),
        (S::EXPLICIT_OPEN, Close, Ok(S::CLOSED)),
        (S::EXPLICIT_OPEN, Finish, Ok(S::FULL)),
        (S::EXPLICIT_OPEN, Reset, Ok(S::EMPTY)),
        (S::EXPLICIT_OPEN, Offline, Err(INV)),
        (S::EXPLICIT_OPEN, Write, Ok(S::EXPLICIT_OPEN)),
        (S::EXPLICIT_OPEN, Append, Ok(S::EXPLICIT_OPEN)),
        (S::CLOSED, Open, Ok(S::EXPLICIT_OPEN)),
        (S::CLOSED, Close, Ok(S::CLOSED)),
        (S::CLOSED, Finish, Ok(S::FULL)),
        (S::CLOSED, Reset, Ok(S::EMPTY)),
        (S::CLOSED, Offline, Err(INV)),
        (S::CLOSED, Write, Ok(S::IMPLICIT_OPEN)),
        (S::CLOSED, Append, Ok(S::IMPLICIT_OPEN)),
        (S::FULL, Open, Err(INV)),
        (S::FULL, Close, Err(INV)),
        (S::FULL, Finish, Ok(S::FULL)),
        (S::FULL, Reset, Ok(S::EMPTY)),
        (S::FULL, Offline, Err(INV)),
        (S::FULL, Write, Err(sc_cmd::ZONE_FULL)),
        (S::FULL, Append, Err(sc_cmd::ZONE_FULL)),
    ]
};

/// Runs the transition table on zone 1 of `dev`; returns the mismatches.
fn check_transitions(dev: &Device) -> Vec<String> {
    let g = dev.zone_geometry().unwrap();
    let z = g.zslba(1);
    let mut bad = Vec::new();
    for &(from, a, want) in TRANSITIONS {
        put_in_state(dev, z, from);
        let got = match act(dev, z, a) {
            None => Ok(state(dev, z)),
            Some((sct::COMMAND_SPECIFIC, code)) => Err(code),
            Some(other) => {
                bad.push(format!("{from} {a:?}: status {other:x?}"));
                continue;
            }
        };
        if got != want {
            bad.push(format!("{from} {a:?}: expected {want:x?}, got {got:x?}"));
        }
    }
    dev.zone_reset(z).unwrap();
    bad
}

/// Writes go at the write pointer, within the capacity; the write pointer
/// moves and a zone written to its capacity is full.
fn check_write_pointer_rules(dev: &Device) {
    let g = dev.zone_geometry().unwrap();
    let zcap = dev.zone_descriptor(0).unwrap().zcap;
    let z = g.zslba(2);
    dev.zone_reset(z).unwrap();
    assert_eq!(wp(dev, z), z);
    assert_eq!(st(write_at(dev, z + 1, 0)), cs(sc_cmd::ZONE_INVALID_WRITE));
    assert_eq!(
        state(dev, z),
        ZoneState::EMPTY,
        "a refused write opens nothing"
    );
    write_at(dev, z, 3).unwrap();
    assert_eq!(wp(dev, z), z + 4);
    assert_eq!(st(write_at(dev, z, 0)), cs(sc_cmd::ZONE_INVALID_WRITE));
    // Across the capacity: Zone Boundary Error, nothing written.
    let before = wp(dev, z);
    let left = z + zcap - before;
    let mut cmd = Command::new(0x01, 0);
    cmd.set_cdw10_11(before);
    cmd.cdw12 = left as u32; // nlb = left, i.e. left + 1 blocks
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let data = vec![0u8; (left as usize + 1) * bs];
    if (data.len() as u64) <= u64::from(dev.geometry().unwrap().mdts_nbytes) {
        assert_eq!(
            st(dev.cmd_io(&mut cmd, nvmx::be::DataBuf::Out(&data), Default::default())),
            cs(sc_cmd::ZONE_BOUNDARY_ERROR)
        );
        assert_eq!(wp(dev, z), before);
    }
    // Fill it exactly: full, write pointer not valid.
    dev.zone_finish(z).unwrap();
    let d = dev.zone_descriptor(z).unwrap();
    assert_eq!(d.state(), ZoneState::FULL);
    assert_eq!(st(write_at(dev, z, 0)), cs(sc_cmd::ZONE_FULL));
    dev.zone_reset(z).unwrap();
    // Data written reads back; above the write pointer, zeroes.
    let data = block(dev, 1, 9);
    dev.write(z, 1, &data, None).unwrap();
    let mut back = vec![0u8; data.len()];
    dev.read(z, 1, &mut back, None).unwrap();
    assert_eq!(back, data);
    dev.zone_reset(z).unwrap();
}

/// Zone Append returns the LBAs it wrote, in order, and refuses an LBA
/// that is not a zone start.
fn check_append(dev: &Device) {
    let g = dev.zone_geometry().unwrap();
    let z = g.zslba(3);
    dev.zone_reset(z).unwrap();
    let mut expect = z;
    for nlb in [0u16, 3, 1] {
        let data = block(dev, nlb, nlb as u8);
        assert_eq!(dev.zone_append(z, nlb, &data, None).unwrap(), expect);
        let mut back = vec![0u8; data.len()];
        dev.read(expect, nlb, &mut back, None).unwrap();
        assert_eq!(back, data, "appended data at {expect:#x}");
        expect += u64::from(nlb) + 1;
    }
    assert_eq!(wp(dev, z), expect);
    // The library refuses a non-zone-start before the device sees it ...
    let e = dev
        .zone_append(z + 1, 0, &block(dev, 0, 0), None)
        .unwrap_err();
    assert!(matches!(e, Error::Misaligned { what: "zslba", .. }), "{e}");
    // ... and the device refuses it with Invalid Field.
    let mut cmd = Command::new(0x7d, 0);
    cmd.set_cdw10_11(z + 1);
    let data = block(dev, 0, 0);
    assert_eq!(
        st(dev.cmd_io(&mut cmd, nvmx::be::DataBuf::Out(&data), Default::default())),
        Some((sct::GENERIC, sc::INVALID_FIELD))
    );
    // Through a queue: the completion carries the LBA.
    let mut q = dev.queue(4).unwrap();
    for tag in 0..3u64 {
        let mut buf = dev.alloc_blocks(0).unwrap();
        buf.copy_from_slice(&block(dev, 0, tag as u8));
        q.zone_append(z, 0, buf, None, tag).unwrap();
    }
    q.drain().unwrap();
    let mut lbas = Vec::new();
    while let Some(c) = q.pop() {
        lbas.push(c.appended_lba().expect("append succeeded"));
    }
    lbas.sort_unstable();
    assert_eq!(lbas, [expect, expect + 1, expect + 2]);
    dev.zone_reset(z).unwrap();
}

/// Select-all actions apply to the zones in a state they apply to.
fn check_select_all(dev: &Device) {
    let g = dev.zone_geometry().unwrap();
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
    let (a, b, c) = (g.zslba(0), g.zslba(1), g.zslba(2));
    write_at(dev, a, 0).unwrap();
    dev.zone_open(b).unwrap();
    dev.zone_finish(c).unwrap();
    dev.zone_mgmt_all(ZoneSendAction::CLOSE).unwrap();
    assert_eq!(
        [state(dev, a), state(dev, b), state(dev, c)],
        [ZoneState::CLOSED, ZoneState::CLOSED, ZoneState::FULL]
    );
    dev.zone_mgmt_all(ZoneSendAction::OPEN).unwrap();
    assert_eq!(
        [state(dev, a), state(dev, b)],
        [ZoneState::EXPLICIT_OPEN, ZoneState::EXPLICIT_OPEN]
    );
    dev.zone_mgmt_all(ZoneSendAction::FINISH).unwrap();
    assert_eq!(dev.zones_in_state(ZoneState::FULL).unwrap().len(), 3);
    assert_eq!(
        state(dev, g.zslba(3)),
        ZoneState::EMPTY,
        "finish-all skips empty zones"
    );
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
    assert_eq!(
        dev.zones_in_state(ZoneState::EMPTY).unwrap().len() as u64,
        g.nzones
    );
    let e = dev.zone_mgmt_all(ZoneSendAction::SET_ZDE).unwrap_err();
    assert!(matches!(e, Error::Invalid { what: "zsa", .. }), "{e}");
}

/// Reports: filters, partial counts, limits and starting LBAs.
fn check_reports(dev: &Device) {
    let g = dev.zone_geometry().unwrap();
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
    write_at(dev, g.zslba(1), 0).unwrap();
    write_at(dev, g.zslba(4), 1).unwrap();
    dev.zone_finish(g.zslba(2)).unwrap();
    let all = dev
        .report_zones(0, ZrasFilter::ALL, None, false, false)
        .unwrap();
    assert_eq!(all.nr_zones, g.nzones);
    assert_eq!(all.entries.len() as u64, g.nzones);
    for (i, e) in all.entries.iter().enumerate() {
        assert_eq!(e.descr.zslba, g.zslba(i as u64));
        assert_eq!(e.descr.zt, 0x2);
    }
    assert_eq!(all.entries[4].descr.wp, g.zslba(4) + 2);
    let iopen = dev
        .report_zones(0, ZrasFilter::IOPEN, None, false, false)
        .unwrap();
    let starts: Vec<u64> = iopen.entries.iter().map(|e| e.descr.zslba).collect();
    assert_eq!(starts, [g.zslba(1), g.zslba(4)]);
    assert_eq!(iopen.nr_zones, 2);
    // From an LBA inside zone 2: zone 2 on.
    let from = dev
        .report_zones(g.zslba(2) + 5, ZrasFilter::ALL, Some(2), false, false)
        .unwrap();
    assert_eq!(from.entries.len(), 2);
    assert_eq!(from.entries[0].descr.zslba, g.zslba(2));
    assert_eq!(from.entries[0].descr.state(), ZoneState::FULL);
    assert_eq!(
        from.nr_zones,
        g.nzones - 2,
        "not partial: every zone from there"
    );
    // Partial: the header counts what came back.
    let part = dev
        .report_zones(0, ZrasFilter::EMPTY, Some(3), false, true)
        .unwrap();
    assert_eq!((part.nr_zones, part.entries.len()), (3, 3));
    // Raw: a buffer for one descriptor, non-partial, counts all matches.
    let mut buf = vec![0u8; 128];
    dev.zone_mgmt_recv(
        0,
        ZoneRecvAction::REPORT,
        ZrasFilter::EMPTY,
        false,
        &mut buf,
    )
    .unwrap();
    assert_eq!(
        u64::from_le_bytes(buf[..8].try_into().unwrap()),
        g.nzones - 3
    );
    dev.zone_mgmt_recv(0, ZoneRecvAction::REPORT, ZrasFilter::EMPTY, true, &mut buf)
        .unwrap();
    assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), 1);
    // Checked before the device: small buffers, bad start, bad filter.
    let e = dev
        .zone_mgmt_recv(
            0,
            ZoneRecvAction::REPORT,
            ZrasFilter::ALL,
            false,
            &mut [0u8; 32],
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Invalid {
                what: "report buffer",
                ..
            }
        ),
        "{e}"
    );
    let e = dev
        .report_zones(g.nzones * g.zsze, ZrasFilter::ALL, None, false, false)
        .unwrap_err();
    assert!(matches!(e, Error::OutOfRange { what: "slba", .. }), "{e}");
    let e = dev
        .report_zones(0, ZrasFilter(9), None, false, false)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfRange {
                what: "report filter",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        dev.first_zone_in_state(ZoneState::FULL)
            .unwrap()
            .unwrap()
            .zslba,
        g.zslba(2)
    );
    assert_eq!(dev.first_empty_zone().unwrap().unwrap().zslba, 0);
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
}

/// Active resources: with every one taken, opening or writing an empty
/// zone fails; a closed zone still holds one.
fn check_active_limit(dev: &Device, g: &ZoneGeometry) {
    let Some(mar) = g.max_active else { return };
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
    for i in 0..u64::from(mar) {
        dev.zone_open(g.zslba(i)).unwrap();
    }
    let next = g.zslba(u64::from(mar));
    assert_eq!(st(dev.zone_open(next)), cs(sc_cmd::TOO_MANY_ACTIVE_ZONES));
    assert_eq!(
        st(write_at(dev, next, 0)),
        cs(sc_cmd::TOO_MANY_ACTIVE_ZONES)
    );
    assert_eq!(
        st(dev.zone_append(next, 0, &block(dev, 0, 1), None)),
        cs(sc_cmd::TOO_MANY_ACTIVE_ZONES)
    );
    assert_eq!(state(dev, next), ZoneState::EMPTY);
    dev.zone_close(g.zslba(0)).unwrap();
    assert_eq!(st(dev.zone_open(next)), cs(sc_cmd::TOO_MANY_ACTIVE_ZONES));
    // Finishing frees a resource.
    dev.zone_finish(g.zslba(0)).unwrap();
    dev.zone_open(next).unwrap();
    dev.zone_mgmt_all(ZoneSendAction::RESET).unwrap();
}

/// Argument checks made before any command is sent.
fn check_arguments(dev: &Device) {
    let g = dev.zone_geometry().unwrap();
    for e in [
        dev.zone_open(1).unwrap_err(),
        dev.zone_reset(g.zsze + 3).unwrap_err(),
        dev.zone_finish(g.nzones * g.zsze).unwrap_err(),
    ] {
        let what = match e {
            Error::Misaligned { what, .. } | Error::OutOfRange { what, .. } => what,
            _ => panic!("{e}"),
        };
        assert_eq!(what, "zslba");
    }
}

// --- ramdisk ---------------------------------------------------------------

#[test]
fn ramdisk_zone_geometry_comes_from_identify() {
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
fn ramdisk_namespace_identification_names_the_zoned_command_set() {
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
fn ramdisk_zone_state_transitions_follow_the_table() {
    let bad = check_transitions(&open(SMALL));
    assert!(
        bad.is_empty(),
        "transitions that differ:\n{}",
        bad.join("\n")
    );
}

#[test]
fn ramdisk_writes_only_at_the_write_pointer() {
    check_write_pointer_rules(&open(SMALL));
}

#[test]
fn ramdisk_zone_append_returns_the_lba_it_wrote() {
    check_append(&open(SMALL));
}

#[test]
fn ramdisk_select_all_applies_to_zones_in_suitable_states() {
    check_select_all(&open("8MiB?lbaf=2&zoned=1&zone_size=1MiB"));
}

#[test]
fn ramdisk_reports_filter_limit_and_count() {
    check_reports(&open("16MiB?lbaf=2&zoned=1&zone_size=1MiB"));
}

#[test]
fn ramdisk_reports_in_pieces_larger_than_mdts() {
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
fn ramdisk_active_limit() {
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
fn ramdisk_open_limit_closes_an_implicitly_opened_zone() {
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
fn ramdisk_read_only_and_offline_zones() {
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
fn ramdisk_zone_descriptor_extensions() {
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
fn zrwa_steps(dev: &Device) -> Vec<String> {
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
fn ramdisk_zrwa_writes_and_flushes() {
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
fn ramdisk_zrwa_implicit_flush_moves_the_write_pointer() {
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
fn ramdisk_argument_checks_name_what_is_wrong() {
    check_arguments(&open(SMALL));
}

#[test]
fn ramdisk_zoned_parameters_are_checked() {
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
fn ramdisk_other_commands_on_a_zoned_namespace() {
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
fn ramdisk_zone_state_machine_as_qemu_is_configured() {
    // The guest tests compare QEMU with this ramdisk; it must pass here.
    let dev = open(QEMU_LIKE);
    let bad = check_transitions(&dev);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let g = dev.zone_geometry().unwrap();
    check_active_limit(&dev, &g);
}

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
