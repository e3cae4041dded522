//! Fault injection on the ramdisk.
//!
//! `fatal_after=N` makes the controller go fatal after N I/O commands.
//! Later commands fail by name through the sync path and through queues,
//! nothing panics, CSTS.CFS is reported, and a controller reset recovers
//! with the data written before intact.
//!
//! `stall_after=N` makes the controller hold every I/O command after the
//! first N without completing it. Every wait ends with a timeout error
//! naming what it waited for, a queue with held commands can be dropped,
//! the data written before is intact, and a controller reset aborts the
//! held commands (touching no data) and recovers the controller.

use nvmx::spec::status::{sc, sct};
use nvmx::{Device, Error, Options};

fn be(name: &str) -> Options {
    let mut o = Options::default();
    o.set("be", name).unwrap();
    o
}

/// Options for `config` with a short command timeout, so the waits on
/// held commands end soon.
fn be_with_timeout(name: &str, micros: u32) -> Options {
    let mut o = be(name);
    o.set("command-timeout", &micros.to_string()).unwrap();
    o
}

/// The configurations whose queues reach the controller (`nil` does not).
const QUEUED: [&str; 2] = ["ramdisk_emu", "ramdisk_thrpool"];

/// Whether `e` is the status a held command gets when a reset releases it.
fn aborted_by_reset(e: &Error) -> bool {
    matches!(e, Error::Status { status, .. }
        if status.sct == sct::GENERIC && status.sc == sc::ABORTED_SQ_DELETION && !status.dnr)
}

/// Reads block `lba` and returns its bytes.
fn block(dev: &Device, lba: u64) -> Vec<u8> {
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let mut b = vec![0u8; bs];
    dev.read(lba, 0, &mut b, None).unwrap();
    b
}

#[test]
fn a_controller_gone_fatal_fails_commands_by_name_and_a_reset_recovers_it() {
    for config in ["ramdisk", "ramdisk_emu", "ramdisk_thrpool"] {
        let dev = Device::open("1MiB?fatal_after=4", &be(config)).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        for lba in 0..4u64 {
            dev.write(lba, 0, &vec![lba as u8 + 1; bs], None).unwrap();
        }
        assert!(!dev.registers().unwrap().csts.cfs());
        let e = dev.write(4, 0, &vec![9u8; bs], None).unwrap_err();
        assert!(matches!(e, Error::ControllerFailed { .. }), "{config}: {e}");
        let mut back = vec![0u8; bs];
        let e = dev.read(0, 0, &mut back, None).unwrap_err();
        assert!(
            matches!(&e, Error::ControllerFailed { why, .. } if why.contains("CSTS.CFS")),
            "{config}: {e}"
        );
        let mut q = dev.queue(4).unwrap();
        // The nil engine (the plain ramdisk configuration's) runs nothing.
        let r = if q.engine_id() == "nil" {
            Ok(())
        } else {
            q.read(0, 0, dev.alloc(bs).unwrap(), None, 7)
        };
        match r {
            Err(r) => assert!(
                matches!(r.error, Error::ControllerFailed { .. }),
                "{config}: {r}"
            ),
            Ok(()) if q.engine_id() == "nil" => {}
            Ok(()) => {
                q.drain().unwrap();
                let c = q.pop().expect("a completion");
                let e = c.result.unwrap_err();
                assert!(
                    matches!(*e, Error::ControllerFailed { .. }),
                    "{config}: {e}"
                );
                assert_eq!(c.tag, 7);
            }
        }
        drop(q);
        dev.controller_reset().unwrap();
        assert!(!dev.registers().unwrap().csts.cfs(), "{config}");
        for lba in 0..5u64 {
            dev.read(lba, 0, &mut back, None).unwrap();
            let want = if lba < 4 { lba as u8 + 1 } else { 0 };
            assert!(
                back.iter().all(|&b| b == want),
                "{config}: LBA {lba} after the reset"
            );
        }
    }
}

#[test]
fn the_fatal_status_shows_in_the_registers() {
    let dev = Device::open("1MiB?fatal_after=0", &Options::default()).unwrap();
    let mut b = vec![0u8; 512];
    assert!(dev.read(0, 0, &mut b, None).is_err());
    assert!(dev.registers().unwrap().csts.cfs());
    assert!(dev.registers().unwrap().csts.rdy());
}

#[test]
fn a_malformed_fatal_after_is_named() {
    let e = Device::open("1MiB?fatal_after=soon", &Options::default()).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "ramdisk parameter", why } if why.contains("fatal_after") && why.contains("soon")),
        "{e}"
    );
}

#[test]
fn held_commands_time_out_wait_and_drain_and_a_reset_aborts_them() {
    for config in QUEUED {
        let dev = Device::open("1MiB?stall_after=4", &be_with_timeout(config, 200_000)).unwrap();
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        for lba in 0..4u64 {
            dev.write(lba, 0, &vec![lba as u8 + 1; bs], None).unwrap();
        }
        // The controller hangs now; queued commands are accepted.
        let mut q = dev.queue(4).unwrap();
        for i in 0..4u64 {
            let mut b = dev.alloc(bs).unwrap();
            b[..].fill(0xa0 + i as u8);
            q.write(4 + i, 0, b, None, i).unwrap();
        }
        assert_eq!(q.outstanding(), 4, "{config}");
        let e = q.wait().unwrap_err();
        assert!(
            matches!(e, Error::Timeout { millis: 200, .. }) && e.to_string().contains("completion"),
            "{config}: wait answered {e:?}"
        );
        let e = q.drain().unwrap_err();
        assert!(
            matches!(e, Error::Timeout { .. }),
            "{config}: drain answered {e:?}"
        );
        assert_eq!(q.outstanding(), 4, "{config}: nothing completed");
        assert!(q.pop().is_none(), "{config}");
        // The controller looks alive: ready, not fatal; admin commands work.
        let regs = dev.registers().unwrap();
        assert!(regs.csts.rdy() && !regs.csts.cfs(), "{config}");
        assert_eq!(dev.active_namespaces().unwrap(), vec![1], "{config}");

        dev.controller_reset().unwrap();
        q.drain().unwrap();
        let mut aborted = 0;
        let mut written = [false; 4];
        while let Some(c) = q.pop() {
            let i = c.tag as usize;
            assert!(c.data.is_some(), "{config}: the buffer comes back");
            match c.result {
                Ok(_) => written[i] = true,
                Err(e) if aborted_by_reset(&e) => aborted += 1,
                Err(e) => panic!("{config}: tag {i}: {e}"),
            }
        }
        assert!(aborted >= 1, "{config}: the held command is aborted");
        // Written before the hang: intact. Held and aborted: untouched.
        for lba in 0..8u64 {
            let want = match lba {
                0..4 => lba as u8 + 1,
                _ if written[lba as usize - 4] => 0xa0 + (lba - 4) as u8,
                _ => 0,
            };
            assert!(
                block(&dev, lba).iter().all(|&b| b == want),
                "{config}: LBA {lba} after the reset, want {want:#x}"
            );
        }
        // The queue works again: the fault fires once.
        q.write(9, 0, dev.alloc(bs).unwrap(), None, 9).unwrap();
        q.drain().unwrap();
        assert!(q.pop().unwrap().result.is_ok(), "{config}");
    }
}

#[test]
fn a_queue_with_held_commands_can_be_dropped_and_leaks_its_buffers() {
    for config in QUEUED {
        for wait_first in [false, true] {
            let dev = Device::open("1MiB?stall_after=0", &be_with_timeout(config, 50_000)).unwrap();
            let bs = dev.geometry().unwrap().lba_nbytes as usize;
            let mut q = dev.queue(2).unwrap();
            for i in 0..2u64 {
                let mut b = dev.alloc(bs).unwrap();
                b[..].fill(0x5a);
                q.write(i, 0, b, None, i).unwrap();
            }
            if wait_first {
                assert!(matches!(q.wait(), Err(Error::Timeout { .. })), "{config}");
            }
            // Returns: waits at most the command timeout (none after a
            // timed-out wait), then leaks the buffers and the engine.
            drop(q);
            dev.controller_reset().unwrap();
            for lba in 0..2 {
                assert!(
                    block(&dev, lba).iter().all(|&b| b == 0),
                    "{config}: LBA {lba}: a held write touched the media"
                );
            }
            // Dropping the device after its queue leaked is fine too.
            drop(dev);
        }
    }
}

#[test]
fn the_sync_path_times_out_on_a_held_command_and_runs_nothing() {
    let dev = Device::open("1MiB?stall_after=1", &be_with_timeout("ramdisk", 50_000)).unwrap();
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    dev.write(0, 0, &vec![0x11; bs], None).unwrap();
    let e = dev.write(1, 0, &vec![0x22; bs], None).unwrap_err();
    assert!(
        matches!(e, Error::Timeout { millis: 50, .. })
            && e.to_string().contains("Write")
            && e.to_string().contains("stall_after"),
        "{e}"
    );
    let mut b = vec![0u8; bs];
    let e = dev.read(0, 0, &mut b, None).unwrap_err();
    assert!(
        matches!(e, Error::Timeout { what, .. } if what.contains("Read")),
        "{e}"
    );
    dev.controller_reset().unwrap();
    assert!(block(&dev, 0).iter().all(|&b| b == 0x11));
    assert!(
        block(&dev, 1).iter().all(|&b| b == 0),
        "the timed-out write did not run"
    );
}

#[test]
fn a_reset_releases_a_sync_caller_held_by_the_controller() {
    // A long timeout: the reset from another thread ends the wait. If the
    // reset comes before the write reaches the controller, the write runs
    // (the fault fires once); either way the data says what the answer said.
    let dev = Device::open(
        "1MiB?stall_after=0",
        &be_with_timeout("ramdisk", 60_000_000),
    )
    .unwrap();
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let d2 = dev.clone();
    let t = std::thread::spawn(move || d2.write(3, 0, &vec![0x33; bs], None));
    std::thread::sleep(std::time::Duration::from_millis(50));
    dev.controller_reset().unwrap();
    let want = match t.join().unwrap() {
        Ok(_) => 0x33,
        Err(e) if aborted_by_reset(&e) => 0,
        Err(e) => panic!("{e}"),
    };
    assert!(block(&dev, 3).iter().all(|&b| b == want));
}

#[test]
fn the_nil_engine_never_reaches_a_stalled_controller() {
    // `--be ramdisk` completes queued commands without the controller, so
    // the fault cannot fire through its queues; its sync path still holds.
    let dev = Device::open("1MiB?stall_after=0", &be_with_timeout("ramdisk", 20_000)).unwrap();
    let mut q = dev.queue(2).unwrap();
    q.read(0, 0, dev.alloc(512).unwrap(), None, 1).unwrap();
    q.drain().unwrap();
    assert!(q.pop().unwrap().result.is_ok());
    let mut b = vec![0u8; 512];
    assert!(matches!(
        dev.read(0, 0, &mut b, None),
        Err(Error::Timeout { .. })
    ));
}

#[test]
fn a_malformed_stall_after_is_named() {
    let e = Device::open("1MiB?stall_after=-1", &Options::default()).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { what: "ramdisk parameter", why } if why.contains("stall_after") && why.contains("-1")),
        "{e}"
    );
}
