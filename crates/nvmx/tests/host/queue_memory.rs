//! The queue's buffer bookkeeping on the ramdisk, through the `nil`, `emu`
//! and `thrpool` engines: submit and reap, a full queue, queues and devices
//! dropped with commands in flight, protection information and a zoned
//! namespace.
//!
//! These tests are small on purpose: `testrig/miri.sh` runs them under
//! Miri, which checks every raw-pointer hand-off between a queue's slots,
//! its engine and the ramdisk for undefined behaviour. They run in the
//! ordinary test suite as well.

use nvmx::pi::{self, PiTags};
use nvmx::spec::opcode::NvmOpcode;
use nvmx::{Device, Error, Options, PiIo, Prchk};

/// The ramdisk configurations, by async engine.
const CONFIGS: [&str; 3] = ["ramdisk", "ramdisk_emu", "ramdisk_thrpool"];

fn open(uri: &str, config: &str) -> Device {
    let mut o = Options::default();
    o.set("be", config).unwrap();
    if cfg!(miri) {
        // Miri interprets a thousand times slower than native code runs,
        // and with isolation off its clock is the real one: give the
        // queue's waits ten minutes instead of thirty seconds.
        o.set("command-timeout", "600000000").unwrap();
    }
    Device::open(uri, &o).unwrap_or_else(|e| panic!("{config} {uri}: {e}"))
}

/// Whether `config`'s engine moves data (`nil` completes without I/O).
fn moves_data(config: &str) -> bool {
    config != "ramdisk"
}

/// The byte block `lba` is filled with.
fn stamp(lba: u64) -> u8 {
    (lba as u8).wrapping_mul(37).wrapping_add(1)
}

#[test]
fn submit_and_reap_move_the_data_and_hand_every_buffer_back() {
    for config in CONFIGS {
        let dev = open("8KiB", config);
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let mut q = dev.queue(4).unwrap();
        // Writes: keep the queue full, reap with poke or wait.
        let mut next = 0u64;
        let mut done = 0u64;
        while done < 8 {
            while next < 8 && q.outstanding() < q.capacity() {
                let mut b = dev.alloc(bs).unwrap();
                b[..].fill(stamp(next));
                q.write(next, 0, b, None, next).unwrap();
                next += 1;
            }
            if q.poke(0).unwrap() == 0 {
                q.wait().unwrap();
            }
            while let Some(c) = q.pop() {
                assert!(c.result.is_ok(), "{config}: write {}", c.tag);
                assert_eq!(c.data.map(|d| d.len()), Some(bs), "{config}");
                assert!(c.meta.is_none());
                done += 1;
            }
        }
        assert_eq!(q.outstanding(), 0);
        // Reads, reaped by a closure.
        for lba in 0..8u64 {
            q.read(lba, 0, dev.alloc(bs).unwrap(), None, lba).unwrap();
            if q.outstanding() == q.capacity() {
                q.drain().unwrap();
            }
        }
        q.drain().unwrap();
        let mut seen = 0u32;
        q.poke_with(0, |c| {
            let data = c.data.expect("the buffer comes back");
            if moves_data(config) {
                assert!(
                    data.iter().all(|&b| b == stamp(c.tag)),
                    "{config}: LBA {} reads back wrong",
                    c.tag
                );
            }
            seen |= 1 << c.tag;
        })
        .unwrap();
        assert_eq!(seen, 0xff, "{config}: every read completed once");
    }
}

#[test]
fn a_full_queue_answers_busy_with_the_buffers_and_takes_more_after_a_poke() {
    for config in CONFIGS {
        let dev = open("8KiB", config);
        let mut q = dev.queue(2).unwrap();
        for tag in 0..2 {
            q.write(tag, 0, dev.alloc(512).unwrap(), None, tag).unwrap();
        }
        let mut b = dev.alloc(512).unwrap();
        b[0] = 0x77;
        let r = q.write(2, 0, b, None, 2).unwrap_err();
        assert!(
            matches!(
                r.error,
                Error::Busy {
                    outstanding: 2,
                    capacity: 2
                }
            ),
            "{config}: {}",
            r.error
        );
        let back = r.data.expect("the refused buffer comes back");
        assert_eq!(back[0], 0x77, "{config}: the refused buffer is untouched");
        q.drain().unwrap();
        assert_eq!(q.ready(), 2);
        q.write(2, 0, back, None, 2).unwrap();
        q.drain().unwrap();
        let tags: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|c| c.tag).collect();
        assert_eq!(tags.len(), 3, "{config}");
    }
}

#[test]
fn dropping_a_queue_with_commands_in_flight_finishes_them_first() {
    for config in CONFIGS {
        let dev = open("8KiB", config);
        let mut q = dev.queue(4).unwrap();
        for lba in 0..4u64 {
            let mut b = dev.alloc(512).unwrap();
            b[..].fill(stamp(lba));
            q.write(lba, 0, b, None, lba).unwrap();
        }
        // Some reaped and never popped, some still in flight.
        let _ = q.poke(1).unwrap();
        drop(q);
        if moves_data(config) {
            let mut back = vec![0u8; 512];
            for lba in 0..4u64 {
                dev.read(lba, 0, &mut back, None).unwrap();
                assert!(
                    back.iter().all(|&b| b == stamp(lba)),
                    "{config}: LBA {lba}: the drop waited for the write"
                );
            }
        }
    }
}

#[test]
fn dropping_the_device_mid_flight_leaves_the_queue_working() {
    for config in CONFIGS {
        let dev = open("8KiB", config);
        let mut q = dev.queue(4).unwrap();
        let mut b = dev.alloc(512).unwrap();
        b[..].fill(0x3c);
        q.write(5, 0, b, None, 1).unwrap();
        q.read(6, 0, dev.alloc(512).unwrap(), None, 2).unwrap();
        drop(dev);
        q.drain().unwrap();
        assert_eq!(q.ready(), 2, "{config}");
        // The queue's own handle on the device still reaches it.
        q.read(5, 0, q.device().alloc(512).unwrap(), None, 3)
            .unwrap();
        q.drain().unwrap();
        let last = std::iter::from_fn(|| q.pop()).last().unwrap();
        assert_eq!(last.tag, 3);
        if moves_data(config) {
            assert!(last.data.unwrap().iter().all(|&b| b == 0x3c), "{config}");
        }
        // The last handle goes with the queue.
        drop(q);
    }
}

#[test]
fn protection_information_generated_on_the_host_verifies_after_a_queued_round_trip() {
    // 512 + 8 bytes, type 1, metadata separate and interleaved.
    for uri in ["8KiB?lbaf=1&pi=1", "8KiB?lbaf=1&pi=1&ext=1"] {
        for config in ["ramdisk_emu", "ramdisk_thrpool"] {
            let dev = open(uri, config);
            let l = dev.pi_layout().unwrap();
            let tags = PiTags {
                ilbrt: 0,
                apptag: 0x1234,
                apptag_mask: 0xffff,
            };
            let io = PiIo {
                pract: false,
                prchk: Prchk::ALL,
                tags,
            };
            let n = 2usize;
            let (slba, nlb) = (3u64, 1u16);
            let mut data = dev
                .alloc(n * (l.ds + if l.extended { l.ms } else { 0 }))
                .unwrap();
            for (i, b) in data.iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            let mut meta = (!l.extended).then(|| dev.alloc(n * l.ms).unwrap());
            pi::generate(&l, slba, n, &tags, &mut data, meta.as_deref_mut()).unwrap();
            let want = data.to_vec();
            let mut q = dev.queue(2).unwrap();
            let w = dev.pi_rw_command(NvmOpcode::WRITE, slba, nlb, &io).unwrap();
            q.submit(w, Some(data), meta, 1)
                .map_err(|r| r.error)
                .unwrap();
            q.drain().unwrap();
            q.pop().unwrap().result.unwrap();
            let r = dev.pi_rw_command(NvmOpcode::READ, slba, nlb, &io).unwrap();
            let d = dev.alloc(want.len()).unwrap();
            let m = (!l.extended).then(|| dev.alloc(n * l.ms).unwrap());
            q.submit(r, Some(d), m, 2).map_err(|r| r.error).unwrap();
            q.drain().unwrap();
            let c = q.pop().unwrap();
            c.result.unwrap_or_else(|e| panic!("{config} {uri}: {e}"));
            let d = c.data.unwrap();
            assert!(d[..] == want[..], "{config} {uri}: data differs");
            pi::verify(&l, slba, n, &tags, Prchk::ALL, &d, c.meta.as_deref())
                .unwrap_or_else(|e| panic!("{config} {uri}: {e}"));
        }
    }
}

#[test]
fn zone_appends_through_a_queue_land_at_the_write_pointer() {
    for config in ["ramdisk_emu", "ramdisk_thrpool"] {
        let dev = open("16KiB?zoned=1&zone_size=4KiB", config);
        let g = dev.zone_geometry().unwrap();
        let z = g.zslba(1);
        let mut q = dev.queue(4).unwrap();
        for tag in 0..3u64 {
            let mut b = dev.alloc_blocks(0).unwrap();
            b[..].fill(0x40 + tag as u8);
            q.zone_append(z, 0, b, None, tag).unwrap();
        }
        q.drain().unwrap();
        let mut lbas = Vec::new();
        while let Some(c) = q.pop() {
            let lba = c.appended_lba().expect("append succeeded");
            let data = c.data.unwrap();
            lbas.push((lba, data[0]));
        }
        lbas.sort_unstable();
        assert_eq!(
            lbas.iter().map(|&(l, _)| l).collect::<Vec<_>>(),
            [z, z + 1, z + 2],
            "{config}"
        );
        let mut back = vec![0u8; 512];
        for (lba, byte) in lbas {
            dev.read(lba, 0, &mut back, None).unwrap();
            assert!(back.iter().all(|&b| b == byte), "{config}: LBA {lba}");
        }
        // A write away from the write pointer fails with its status and
        // hands the buffer back; the write pointer does not move.
        q.write(z + 5, 0, dev.alloc_blocks(0).unwrap(), None, 9)
            .unwrap();
        q.drain().unwrap();
        let c = q.pop().unwrap();
        assert!(
            matches!(
                c.result.as_ref().map_err(|e| &**e),
                Err(Error::Status { .. })
            ),
            "{config}: {:?}",
            c.result
        );
        assert!(c.data.is_some());
        dev.zone_reset(z).unwrap();
    }
}

#[test]
fn held_commands_keep_their_buffers_until_a_reset_aborts_them() {
    // The ramdisk's `stall_after` fault: `emu` keeps the held command's raw
    // buffers and offers them again on every poke; a `thrpool` worker holds
    // them while it blocks. Either way the buffers come back, untouched,
    // when a reset aborts the command.
    for config in ["ramdisk_emu", "ramdisk_thrpool"] {
        let mut o = Options::default();
        o.set("be", config).unwrap();
        o.set("command-timeout", "200000").unwrap();
        let dev = Device::open("8KiB?stall_after=1", &o).unwrap();
        // The first write runs (on the sync path, so no timeout depends on
        // how fast it runs), the queued ones are held.
        dev.write(0, 0, &[stamp(0); 512], None).unwrap();
        let mut q = dev.queue(2).unwrap();
        for lba in 1..3u64 {
            let mut b = dev.alloc(512).unwrap();
            b[..].fill(stamp(lba));
            q.write(lba, 0, b, None, lba).unwrap();
        }
        assert!(matches!(q.drain(), Err(Error::Timeout { .. })), "{config}");
        assert_eq!(q.outstanding(), 2, "{config}");
        dev.controller_reset().unwrap();
        // The aborted commands come back on the next poke (emu) or when the
        // woken worker runs (thrpool). Under Miri that can take longer than
        // the 200 ms timeout, and the point here is that they come back, not
        // how fast, so a timeout is retried a bounded number of times.
        let mut timeouts = 0;
        loop {
            match q.drain() {
                Ok(_) => break,
                Err(Error::Timeout { .. }) if timeouts < 50 => timeouts += 1,
                Err(e) => panic!("{config}: after the reset: {e}"),
            }
        }
        let mut tags = Vec::new();
        while let Some(c) = q.pop() {
            let data = c.data.expect("the buffer comes back");
            assert!(
                data.iter().all(|&b| b == stamp(c.tag)),
                "{config}: untouched"
            );
            tags.push(c.tag);
        }
        tags.sort_unstable();
        assert_eq!(tags, [1, 2], "{config}");
        let mut back = vec![0u8; 512];
        dev.read(0, 0, &mut back, None).unwrap();
        assert!(
            back.iter().all(|&b| b == stamp(0)),
            "{config}: written before"
        );
    }
}
