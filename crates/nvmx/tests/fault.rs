//! Fault injection on the ramdisk: `fatal_after=N` makes the controller go
//! fatal after N I/O commands. Later commands fail by name through the
//! sync path and through queues, nothing panics, CSTS.CFS is reported, and
//! a controller reset recovers with the data written before intact.

use nvmx::{Device, Error, Options};

fn be(name: &str) -> Options {
    let mut o = Options::default();
    o.set("be", name).unwrap();
    o
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
        assert!(
            matches!(e, Error::QueueFailed(_)) && e.to_string().contains("fatal"),
            "{config}: {e}"
        );
        let mut back = vec![0u8; bs];
        let e = dev.read(0, 0, &mut back, None).unwrap_err().to_string();
        assert!(e.contains("CSTS.CFS"), "{config}: {e}");
        let mut q = dev.queue(4).unwrap();
        // The nil engine (the plain ramdisk configuration's) runs nothing.
        let r = if q.engine_id() == "nil" {
            Ok(())
        } else {
            q.read(0, 0, dev.alloc(bs).unwrap(), None, 7)
        };
        match r {
            Err(r) => assert!(r.to_string().contains("fatal"), "{config}: {r}"),
            Ok(()) if q.engine_id() == "nil" => {}
            Ok(()) => {
                q.drain().unwrap();
                let c = q.pop().expect("a completion");
                let e = c.result.unwrap_err().to_string();
                assert!(e.contains("fatal"), "{config}: {e}");
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
    let e = Device::open("1MiB?fatal_after=soon", &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("fatal_after") && e.contains("soon"), "{e}");
}
