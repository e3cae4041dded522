//! Flexible Data Placement and directives through `Device`: on the
//! ramdisk's FDP model everywhere, and in the QEMU guest (testrig/vm,
//! label FDP) on QEMU's FDP subsystem through the `emu` and `io_uring_cmd`
//! configurations.

use nvmx::spec::cmd::dtype;
use nvmx::spec::fdp::{FdpEventType, RuhType, ruha};
use nvmx::spec::feature::FdpMode;
use nvmx::spec::status::{sc, sc_cmd, sct};
use nvmx::{Device, Error, Options};

use crate::common;

/// Opens a ramdisk URI with the default configuration.
fn ram(uri: &str) -> Device {
    Device::open(uri, &Options::default()).unwrap_or_else(|e| panic!("open {uri}: {e}"))
}

/// The ramdisk FDP shape most tests use: 4 KiB blocks, 2 reclaim groups,
/// 4 handles of which the namespace uses 1, 2 and 3, reclaim units of 16
/// blocks.
const FDP_URI: &str = "8MiB?lbaf=2&fdp=1&fdp.nrg=2&fdp.nruh=4&fdp.runs=64K&fdp.ruhs=1;2;3";

fn status_of<T: std::fmt::Debug>(r: nvmx::Result<T>) -> (u8, u8) {
    match r {
        Err(Error::Status { status, .. }) => (status.sct, status.sc),
        other => panic!("expected an NVMe status error, got {other:?}"),
    }
}

fn invalid_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::Invalid { what, .. }) => what,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

fn out_of_range_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::OutOfRange { what, .. }) => what,
        other => panic!("expected Error::OutOfRange, got {other:?}"),
    }
}

fn misaligned_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::Misaligned { what, .. }) => what,
        other => panic!("expected Error::Misaligned, got {other:?}"),
    }
}

#[test]
fn identify_reports_fdp_and_the_endurance_group() {
    let dev = ram(FDP_URI);
    let c = dev.identify_controller().unwrap();
    assert_ne!(
        c.ctratt & nvmx::spec::identify::ctratt::FDP,
        0,
        "CTRATT.FDPS"
    );
    assert_eq!(c.endgidmax, 1);
    assert_eq!(dev.identify_namespace().unwrap().endgid, 1);
    let plain = ram("8MiB");
    let c = plain.identify_controller().unwrap();
    assert_eq!(c.ctratt & nvmx::spec::identify::ctratt::FDP, 0);
}

#[test]
fn config_log_describes_the_uri_shape() {
    let dev = ram(FDP_URI);
    let cfgs = dev.fdp_configs(1).unwrap();
    assert_eq!(cfgs.ncfg, 0);
    assert_eq!(cfgs.configs.len(), 1);
    let c = &cfgs.configs[0];
    assert!(c.desc.valid());
    assert_eq!(c.desc.rgif(), 1, "two reclaim groups take one bit");
    assert_eq!((c.desc.nrg, c.desc.nruh, c.desc.runs), (2, 4, 64 << 10));
    assert_eq!(c.ruh_types, vec![RuhType::INITIALLY_ISOLATED; 4]);
    assert_eq!(cfgs.size as usize, 16 + 64 + 4 * 4);
    assert_eq!(c.placement_id(1, 2), 0x8002);
    // Endurance group 2 does not exist; 0 is refused before the device.
    assert_eq!(
        status_of(dev.fdp_configs(2)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(out_of_range_what(dev.fdp_configs(0)), "endurance group");
}

#[test]
fn ruh_usage_marks_the_namespace_handles() {
    let dev = ram(FDP_URI);
    let u: Vec<u8> = dev
        .fdp_ruh_usage(1)
        .unwrap()
        .iter()
        .map(|d| d.ruha)
        .collect();
    assert_eq!(
        u,
        [
            ruha::UNUSED,
            ruha::HOST_SPECIFIED,
            ruha::HOST_SPECIFIED,
            ruha::HOST_SPECIFIED
        ]
    );
}

#[test]
fn ruh_status_lists_every_placement_id_with_full_units() {
    let dev = ram(FDP_URI);
    let st = dev.fdp_ruh_status().unwrap();
    // 2 reclaim groups x 3 placement handles.
    assert_eq!(st.len(), 6);
    let ids: Vec<(u16, u16)> = st.iter().map(|d| (d.pid, d.ruhid)).collect();
    assert_eq!(
        ids,
        [
            (0, 1),
            (1, 2),
            (2, 3),
            (0x8000, 1),
            (0x8001, 2),
            (0x8002, 3)
        ]
    );
    assert!(st.iter().all(|d| d.ruamw == 16), "{st:?}");
}

fn ruamw(dev: &Device, pid: u16) -> u64 {
    dev.fdp_ruh_status()
        .unwrap()
        .iter()
        .find(|d| d.pid == pid)
        .unwrap_or_else(|| panic!("no status for pid {pid:#x}"))
        .ruamw
}

#[test]
fn placement_writes_move_usage_and_switch_full_units() {
    let dev = ram(FDP_URI);
    let buf = vec![0xa5u8; 4096 * 20];
    dev.write_placement(0, 2, 0x8001, &buf, None).unwrap();
    assert_eq!(ruamw(&dev, 0x8001), 13, "3 of 16 blocks used");
    assert_eq!(ruamw(&dev, 1), 16, "reclaim group 0 is untouched");
    // 13 blocks fill the unit exactly: the handle moves to a fresh one.
    dev.write_placement(3, 12, 0x8001, &buf, None).unwrap();
    assert_eq!(ruamw(&dev, 0x8001), 16);
    // 20 blocks: a full unit and 4 blocks of the next.
    dev.write_placement(16, 19, 0x8001, &buf, None).unwrap();
    assert_eq!(ruamw(&dev, 0x8001), 12);
    // Without a directive a write lands on placement handle 0 of group 0.
    dev.write(100, 0, &buf, None).unwrap();
    assert_eq!(ruamw(&dev, 0), 15);
    let s = dev.fdp_stats(1).unwrap();
    let written = (3 + 13 + 20 + 1) * 4096;
    assert_eq!(s.hbmw(), written);
    assert_eq!(s.mbmw(), written);
    assert_eq!(s.mbe(), 2 * 64 * 1024, "two units filled and erased");
    // The data is stored like any write.
    let mut back = vec![0u8; 4096];
    dev.read(16, 0, &mut back, None).unwrap();
    assert_eq!(back, buf[..4096]);
}

#[test]
fn events_are_logged_only_when_enabled() {
    let dev = ram(FDP_URI);
    let blk = vec![1u8; 4096];
    // Invalid placement identifier (handle 3 does not exist): the write
    // succeeds on the default handle but nothing is logged yet.
    dev.write_placement(0, 0, 3, &blk, None).unwrap();
    assert_eq!(ruamw(&dev, 0), 15);
    assert!(dev.fdp_events(1, true, 63).unwrap().is_empty());

    let all = dev.fdp_events_enabled(0, 16).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|e| !e.enabled));
    dev.set_fdp_events(
        0,
        true,
        &[
            FdpEventType::INVALID_PID,
            FdpEventType::RU_NOT_FULLY_WRITTEN,
        ],
        false,
    )
    .unwrap();
    let on: Vec<FdpEventType> = dev
        .fdp_events_enabled(0, 16)
        .unwrap()
        .into_iter()
        .filter(|e| e.enabled)
        .map(|e| e.etype)
        .collect();
    assert_eq!(
        on,
        [
            FdpEventType::RU_NOT_FULLY_WRITTEN,
            FdpEventType::INVALID_PID
        ]
    );

    dev.write_placement(1, 0, 3, &blk, None).unwrap();
    // A partly written unit replaced by a RUH update.
    dev.fdp_ruh_update(&[0]).unwrap();
    assert_eq!(ruamw(&dev, 0), 16);
    let ev = dev.fdp_events(1, true, 63).unwrap();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0].event_type(), FdpEventType::INVALID_PID);
    assert_eq!((ev[0].pid, ev[0].nsid), (3, 1));
    assert_eq!(ev[1].event_type(), FdpEventType::RU_NOT_FULLY_WRITTEN);
    assert_eq!((ev[1].pid, ev[1].rgid, ev[1].ruhid), (0, 0, 1));
    assert!(
        dev.fdp_events(1, false, 63).unwrap().is_empty(),
        "no controller events"
    );

    // Disabling stops the logging.
    dev.set_fdp_events(0, false, &[FdpEventType::INVALID_PID], false)
        .unwrap();
    dev.write_placement(2, 0, 3, &blk, None).unwrap();
    assert_eq!(dev.fdp_events(1, true, 63).unwrap().len(), 2);
}

#[test]
fn bad_placement_lists_and_feature_values_fail_with_their_status() {
    let dev = ram(FDP_URI);
    assert_eq!(
        status_of(dev.fdp_ruh_update(&[0, 7])),
        (sct::GENERIC, sc::INVALID_PLACEMENT_HANDLE_LIST)
    );
    assert_eq!(
        out_of_range_what(dev.fdp_ruh_update(&[])),
        "placement identifiers"
    );
    // Placement handle 3 does not exist (the namespace has 0..2).
    assert_eq!(
        status_of(dev.set_fdp_events(3, true, &[FdpEventType::INVALID_PID], false)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(
        status_of(dev.set_fdp_events(0, true, &[FdpEventType(0x42)], false)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(
        status_of(dev.set_fdp_events(0, true, &[FdpEventType::INVALID_PID], true)),
        (sct::COMMAND_SPECIFIC, sc_cmd::FEATURE_NOT_SAVEABLE)
    );
    assert_eq!(
        out_of_range_what(dev.set_fdp_events(0, true, &[], false)),
        "event types"
    );
    assert_eq!(
        out_of_range_what(dev.fdp_events_enabled(0, 0)),
        "event type count"
    );
    assert_eq!(
        out_of_range_what(dev.write_directive(0, 0, 16, 0, &[0; 4096], None)),
        "directive type"
    );
}

#[test]
fn fdp_mode_can_be_read_and_turned_off() {
    let dev = ram(FDP_URI);
    assert_eq!(
        dev.fdp_mode(1).unwrap(),
        FdpMode {
            fdpe: true,
            fdpcidx: 0
        }
    );
    let off = FdpMode {
        fdpe: false,
        fdpcidx: 0,
    };
    dev.set_fdp_mode(1, off, false).unwrap();
    assert_eq!(dev.fdp_mode(1).unwrap(), off);
    assert_eq!(
        status_of(dev.fdp_ruh_status()),
        (sct::GENERIC, sc::FDP_DISABLED)
    );
    assert_eq!(
        status_of(dev.write_placement(0, 0, 1, &[0; 4096], None)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    // Plain writes still work, and are not counted.
    dev.write(0, 0, &[0; 4096], None).unwrap();
    let on = FdpMode {
        fdpe: true,
        fdpcidx: 0,
    };
    dev.set_fdp_mode(1, on, false).unwrap();
    assert_eq!(dev.fdp_stats(1).unwrap().hbmw(), 0);
    assert_eq!(
        status_of(dev.set_fdp_mode(
            1,
            FdpMode {
                fdpe: true,
                fdpcidx: 1
            },
            false
        )),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
}

#[test]
fn without_fdp_the_commands_are_refused() {
    let dev = ram("8MiB");
    assert_eq!(
        status_of(dev.fdp_configs(1)),
        (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_LOG_PAGE)
    );
    assert_eq!(
        status_of(dev.fdp_ruh_status()),
        (sct::GENERIC, sc::INVALID_OPCODE)
    );
    assert_eq!(
        status_of(dev.fdp_mode(1)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(
        status_of(dev.write_placement(0, 0, 0, &[0; 512], None)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
}

#[test]
fn ramdisk_fdp_parameters_are_checked() {
    for (uri, needle) in [
        ("8MiB?fdp.nrg=2", "need fdp=1"),
        ("8MiB?fdp=1&fdp.nruh=0", "fdp.nruh"),
        ("8MiB?fdp=1&fdp.nrg=33", "fdp.nrg"),
        ("8MiB?fdp=1&fdp.runs=1000", "whole number"),
        ("8MiB?fdp=1&fdp.nruh=4&fdp.ruhs=1;4", "names handle 4"),
        ("8MiB?fdp=1&fdp.ruhs=1;1", "twice"),
        ("8MiB?fdp=2", "not 0 or 1"),
        ("8MiB?fdp=1&kv=1", "exclude"),
    ] {
        let e = Device::open(uri, &Options::default()).expect_err(uri);
        assert!(
            matches!(&e, Error::Invalid { why, .. } if why.contains(needle)),
            "{uri}: {e}"
        );
    }
}

#[test]
fn directives_identify_and_streams() {
    let dev = ram("8MiB?fdp=1");
    let p = dev.dir_identify().unwrap();
    assert!(p.is_supported(dtype::IDENTIFY) && p.is_supported(dtype::STREAMS));
    assert!(p.is_supported(dtype::DATA_PLACEMENT) && p.is_enabled(dtype::DATA_PLACEMENT));
    assert!(!p.is_enabled(dtype::STREAMS));
    let blk = vec![7u8; 512];
    // Streams off: a stream write is Invalid Field.
    assert_eq!(
        status_of(dev.write_directive(0, 0, dtype::STREAMS, 1, &blk, None)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(
        status_of(dev.streams_allocate(4)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    dev.dir_enable(dtype::STREAMS, true).unwrap();
    assert!(dev.dir_identify().unwrap().is_enabled(dtype::STREAMS));
    let sp = dev.streams_params().unwrap();
    assert_eq!((sp.msl, sp.nsa, sp.nso), (16, 0, 0));
    assert_eq!(dev.streams_allocate(4).unwrap(), 4);
    assert_eq!(dev.streams_allocate(100).unwrap(), 16, "capped at MSL");
    assert_eq!(dev.streams_allocate(4).unwrap(), 4);
    dev.write_directive(0, 0, dtype::STREAMS, 3, &blk, None)
        .unwrap();
    dev.write_directive(1, 0, dtype::STREAMS, 1, &blk, None)
        .unwrap();
    assert_eq!(
        status_of(dev.write_directive(2, 0, dtype::STREAMS, 5, &blk, None)),
        (sct::GENERIC, sc::INVALID_FIELD),
        "stream 5 is beyond the 4 allocated"
    );
    assert_eq!(dev.streams_status().unwrap(), [1, 3]);
    assert_eq!(dev.streams_params().unwrap().nso, 2);
    dev.streams_release_id(3).unwrap();
    assert_eq!(dev.streams_status().unwrap(), [1]);
    assert_eq!(
        status_of(dev.streams_release_id(3)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    dev.streams_release_resources().unwrap();
    assert!(dev.streams_status().unwrap().is_empty());
    assert_eq!(dev.streams_params().unwrap().nsa, 0);
    let mut back = vec![0u8; 512];
    dev.read(1, 0, &mut back, None).unwrap();
    assert_eq!(back, blk);
    // Data placement cannot be enabled by Directive Send; Identify is refused here.
    assert_eq!(
        status_of(dev.dir_enable(dtype::DATA_PLACEMENT, true)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
    assert_eq!(
        invalid_what(dev.dir_enable(dtype::IDENTIFY, true)),
        "directive type"
    );
    dev.dir_enable(dtype::STREAMS, false).unwrap();
    assert!(!dev.dir_identify().unwrap().is_enabled(dtype::STREAMS));
    assert_eq!(
        misaligned_what(dev.dir_recv(1, 1, 0, 0, &mut [0u8; 6])),
        "directive buffer"
    );
}

/// The QEMU guest's FDP namespace, through `be`; `None` (after saying
/// why, see `common::require_env`) outside the guest.
fn guest_fdp(be: &str) -> Option<Device> {
    if common::upcie_be().is_some() {
        // The user-space driver's boots: the controller bound to it, once.
        return (be == "emu").then(|| common::upcie_open("FDP")).flatten();
    }
    let key = if be == "io_uring_cmd" {
        "NVMX_DEV_FDP_CDEV"
    } else {
        "NVMX_DEV_FDP_BDEV"
    };
    let uri = common::env_var(common::GUEST, key)?;
    let opts = Options {
        be: Some(be.into()),
        ..Default::default()
    };
    Some(Device::open(&uri, &opts).unwrap_or_else(|e| panic!("{be}: open {uri}: {e}")))
}

fn guest_env(key: &str) -> Option<String> {
    std::env::var(format!("NVMX_DEV_FDP_{key}")).ok()
}

/// QEMU's FDP subsystem (nruh 8, nrg 32, runs 1M, namespace handles
/// 0;5;6;7): the configuration log, the handle status and usage, writes
/// with placement identifiers moving the available media writes and the
/// statistics, and a Reclaim Unit Not Fully Written event after an update.
#[test]
#[ignore = "needs the QEMU guest's NVMe devices (or, through the user-space driver, guest-suite-upcie.sh): run by testrig/vm/guest-suite.sh"]
fn guest_fdp_subsystem() {
    for be in ["emu", "io_uring_cmd"] {
        let Some(dev) = guest_fdp(be) else {
            return;
        };
        assert_ne!(
            dev.identify_controller().unwrap().ctratt & nvmx::spec::identify::ctratt::FDP,
            0,
            "{be}: CTRATT.FDPS"
        );
        let endgid = dev.identify_namespace().unwrap().endgid;
        assert_eq!(
            endgid, 1,
            "{be}: QEMU puts the namespace in endurance group 1"
        );
        let cfgs = dev.fdp_configs(endgid).unwrap();
        let c = &cfgs.configs[0];
        let nruh: u16 = guest_env("FDP_NRUH").map_or(8, |v| v.parse().unwrap());
        let nrg: u32 = guest_env("FDP_NRG").map_or(32, |v| v.parse().unwrap());
        assert_eq!((c.desc.nruh, c.desc.nrg), (nruh, nrg), "{be}: {c:?}");
        assert_eq!(c.desc.runs, 1 << 20, "{be}");
        assert!(c.desc.valid());
        let usage = dev.fdp_ruh_usage(endgid).unwrap();
        assert_eq!(usage.len(), usize::from(nruh));
        let host: Vec<usize> = usage
            .iter()
            .enumerate()
            .filter(|(_, d)| d.ruha == ruha::HOST_SPECIFIED)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(host, [0, 5, 6, 7], "{be}: the namespace's handles");

        let st = dev.fdp_ruh_status().unwrap();
        assert_eq!(
            st.len(),
            4 * nrg as usize,
            "{be}: 4 handles in every reclaim group"
        );
        let lbs = dev.geometry().unwrap().lba_nbytes as usize;
        let pid = c.placement_id(0, 2); // placement handle 2 is RUH 6
        let before = *st.iter().find(|d| d.pid == pid).unwrap();
        assert_eq!(before.ruhid, 6, "{be}");
        let stats0 = dev.fdp_stats(endgid).unwrap();
        let nlb = 3u16;
        let buf = vec![0x5au8; lbs * (usize::from(nlb) + 1)];
        dev.write_placement(0, nlb, pid, &buf, None).unwrap();
        let after = dev
            .fdp_ruh_status()
            .unwrap()
            .into_iter()
            .find(|d| d.pid == pid)
            .unwrap();
        let used = u64::from(nlb) + 1;
        let moved = if before.ruamw > used {
            before.ruamw - after.ruamw
        } else {
            used // the unit filled and the handle moved on
        };
        assert_eq!(moved, used, "{be}: {before:?} -> {after:?}");
        let stats1 = dev.fdp_stats(endgid).unwrap();
        assert_eq!(
            stats1.hbmw() - stats0.hbmw(),
            buf.len() as u128,
            "{be}: host bytes written"
        );

        // Enable the event, leave the unit part written, update the handle.
        dev.set_fdp_events(2, true, &[FdpEventType::RU_NOT_FULLY_WRITTEN], false)
            .unwrap();
        let on = dev.fdp_events_enabled(2, 8).unwrap();
        assert!(
            on.iter()
                .any(|e| e.etype == FdpEventType::RU_NOT_FULLY_WRITTEN && e.enabled),
            "{be}: {on:?}"
        );
        let n0 = dev.fdp_events(endgid, true, 63).unwrap().len();
        dev.fdp_ruh_update(&[pid]).unwrap();
        let ev = dev.fdp_events(endgid, true, 63).unwrap();
        assert!(
            ev.len() > n0 || ev.len() == 63,
            "{be}: no new host event: {ev:?}"
        );
        let last = ev.last().unwrap();
        assert_eq!(
            last.event_type(),
            FdpEventType::RU_NOT_FULLY_WRITTEN,
            "{be}"
        );
        assert_eq!(last.pid, pid, "{be}");
        let fresh = dev
            .fdp_ruh_status()
            .unwrap()
            .into_iter()
            .find(|d| d.pid == pid)
            .unwrap();
        assert_eq!(
            fresh.ruamw,
            (1u64 << 20) / lbs as u64,
            "{be}: a new, empty unit"
        );
        // The same through the configuration's async queue.
        let before = dev
            .fdp_ruh_status()
            .unwrap()
            .into_iter()
            .find(|d| d.pid == pid)
            .unwrap();
        let mut q = dev.queue(4).unwrap();
        let cmd = nvmx::spec::cmd::NvmRw {
            opc: nvmx::spec::opcode::NvmOpcode::WRITE.0,
            slba: 8,
            nlb: 1,
            dtype: dtype::DATA_PLACEMENT,
            dspec: pid,
            ..Default::default()
        }
        .to_command();
        let data = nvmx::Buffer::from_slice(&buf[..2 * lbs]).unwrap();
        q.submit(cmd, Some(data), None, 7)
            .map_err(|r| r.error)
            .unwrap();
        q.drain().unwrap();
        let done = q.pop().expect("one completion");
        done.result
            .unwrap_or_else(|e| panic!("{be}: queued placement write: {e}"));
        let after = dev
            .fdp_ruh_status()
            .unwrap()
            .into_iter()
            .find(|d| d.pid == pid)
            .unwrap();
        assert_eq!(
            before.ruamw - after.ruamw,
            2,
            "{be}: queued write of 2 blocks"
        );

        // An invalid placement identifier in an update: QEMU answers
        // Invalid Field, the specification Invalid Placement Handle List.
        let st = status_of(dev.fdp_ruh_update(&[c.placement_id(0, 9)]));
        assert!(
            st == (sct::GENERIC, sc::INVALID_FIELD)
                || st == (sct::GENERIC, sc::INVALID_PLACEMENT_HANDLE_LIST),
            "{be}: {st:x?}"
        );
        eprintln!(
            "guest FDP through {be}: rgif {}, {} placement ids, events and usage checked",
            c.desc.rgif(),
            4 * nrg
        );
    }
}
