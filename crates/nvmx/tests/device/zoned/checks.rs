//! The zoned checks both the ramdisk and QEMU's zoned namespace run, and
//! their helpers.

use nvmx::spec::status::{sc, sc_cmd, sct};
use nvmx::spec::zoned::{ZoneRecvAction, ZoneSendAction, ZoneState, ZrasFilter};
use nvmx::spec::{Command, Status};
use nvmx::zoned::ZoneGeometry;
use nvmx::{Device, Error, Options};

/// A ramdisk with 16 zones of 256 blocks (capacity 192), 4 open and 6
/// active resources, 128-byte extensions and a 16-block ZRWA.
pub(super) const SMALL: &str = "4MiB?lbaf=2&zoned=1&zone_size=1MiB&zone_cap=768KiB&max_open=4&max_active=6&zde=128&zrwa=64KiB&zrwafg=4";

/// A ramdisk shaped like the guest rig's QEMU ZNS namespace.
pub(super) const QEMU_LIKE: &str = "512MiB?lbaf=2&zoned=1&zone_size=8MiB&zone_cap=6MiB&max_open=16&max_active=16&zrwa=64KiB&zrwafg=4";

pub(super) fn open(uri: &str) -> Device {
    Device::open(uri, &Options::default()).unwrap_or_else(|e| panic!("open {uri}: {e}"))
}

pub(super) fn status(sc_: u8) -> Status {
    Status::new(sct::COMMAND_SPECIFIC, sc_)
}

/// The status of a failed call, or `None` for success; any other error
/// fails the test.
pub(super) fn st<T: std::fmt::Debug>(r: nvmx::Result<T>) -> Option<(u8, u8)> {
    match r {
        Ok(_) => None,
        Err(Error::Status { status, .. }) => Some((status.sct, status.sc)),
        Err(e) => panic!("expected a completion, got {e}"),
    }
}

pub(super) fn cs(code: u8) -> Option<(u8, u8)> {
    Some((sct::COMMAND_SPECIFIC, code))
}

pub(super) fn state(dev: &Device, zslba: u64) -> ZoneState {
    dev.zone_descriptor(zslba).unwrap().state()
}

pub(super) fn wp(dev: &Device, zslba: u64) -> u64 {
    dev.zone_descriptor(zslba).unwrap().wp
}

pub(super) fn block(dev: &Device, nlb: u16, seed: u8) -> Vec<u8> {
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    (0..(usize::from(nlb) + 1) * bs)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub(super) fn write_at(dev: &Device, slba: u64, nlb: u16) -> nvmx::Result<nvmx::spec::Completion> {
    dev.write(slba, nlb, &block(dev, nlb, slba as u8), None)
}

/// Brings zone `z` into `s` from Empty.
pub(super) fn put_in_state(dev: &Device, zslba: u64, s: ZoneState) {
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
pub(super) enum Act {
    Open,
    Close,
    Finish,
    Reset,
    Offline,
    Write,
    Append,
}

pub(super) fn act(dev: &Device, zslba: u64, a: Act) -> Option<(u8, u8)> {
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
pub(super) type Transition = (ZoneState, Act, Result<ZoneState, u8>);

pub(super) const TRANSITIONS: &[Transition] = {
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
pub(super) fn check_transitions(dev: &Device) -> Vec<String> {
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
pub(super) fn check_write_pointer_rules(dev: &Device) {
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
pub(super) fn check_append(dev: &Device) {
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
pub(super) fn check_select_all(dev: &Device) {
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
pub(super) fn check_reports(dev: &Device) {
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
pub(super) fn check_active_limit(dev: &Device, g: &ZoneGeometry) {
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
pub(super) fn check_arguments(dev: &Device) {
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
