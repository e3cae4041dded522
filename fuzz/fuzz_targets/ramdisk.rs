//! The ramdisk controller under arbitrary command sequences.
//!
//! The first byte picks the namespace: a conventional one, mirrored by a
//! model of its bytes, or a zoned one. The rest is read as commands, a few
//! bytes each, until it runs out (at most 64 commands).
//!
//! Conventional: writes, reads, Write Zeroes, deallocating Dataset
//! Management, Flush, Write Uncorrectable and batches of queued writes,
//! at LBAs in range, across the end and near `u64::MAX`. Every command in
//! range succeeds and updates the model, every command out of range fails
//! and changes nothing, a read equals the model (or fails with Unrecovered
//! Read Error on blocks marked uncorrectable), and at the end the whole
//! namespace equals the model.
//!
//! Zoned: writes at or off the write pointer, appends, open, close,
//! finish, reset and reads. A write succeeds only at the write pointer and
//! moves it by the blocks written; an append lands at it; every valid
//! write pointer stays within its zone's capacity; written data reads
//! back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nvmx::spec::status::sc_media;
use nvmx::spec::zoned::ZoneState;
use nvmx::{Device, Error, Options};

/// 512 blocks of 512 bytes.
const CONVENTIONAL: &str = "256KiB";
const NBLOCKS: u64 = 512;
/// 4 zones of 64 blocks, capacity 48; 2 open and 3 active at most.
const ZONED: &str = "128KiB?zoned=1&zone_size=32KiB&zone_cap=24KiB&max_open=2&max_active=3";
const MAX_OPS: usize = 64;

/// The input, read a field at a time; zeroes once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An LBA: mostly in the namespace, sometimes across its end or near
    /// the top of the 64-bit range.
    fn lba(&mut self, nblocks: u64) -> u64 {
        let kind = self.u8();
        let x = u64::from(self.u16());
        match kind % 8 {
            6 => (nblocks - 8).saturating_add(x % 16),
            7 => u64::MAX - x % 4,
            _ => x % nblocks,
        }
    }
}

fn open(uri: &str) -> Device {
    let mut o = Options::default();
    o.set("be", "ramdisk_emu").unwrap();
    Device::open(uri, &o).unwrap()
}

/// The bytes a write with `seed` puts in `len` bytes starting at `lba`.
fn pattern(seed: u8, lba: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((lba as u8).wrapping_mul(3)) ^ (i as u8).wrapping_mul(13))
        .collect()
}

/// The byte range of `n` blocks at `slba`, when they are all in range.
fn span(slba: u64, n: u64, bs: usize) -> Option<std::ops::Range<usize>> {
    let end = slba.checked_add(n)?;
    (end <= NBLOCKS).then(|| slba as usize * bs..end as usize * bs)
}

fn conventional(mut inp: Input<'_>) {
    let dev = open(CONVENTIONAL);
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    assert_eq!(dev.geometry().unwrap().nsect, NBLOCKS);
    let mut model = vec![0u8; NBLOCKS as usize * bs];
    let mut unc = vec![false; NBLOCKS as usize];
    let blocks = |r: &std::ops::Range<usize>| r.start / bs..r.end / bs;
    let mut q = dev.queue(8).unwrap();
    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        let op = inp.u8();
        let slba = inp.lba(NBLOCKS);
        let arg = inp.u8();
        match op % 7 {
            0 => {
                let nlb = u16::from(arg % 16);
                let n = u64::from(nlb) + 1;
                let data = pattern(inp.u8(), slba, n as usize * bs);
                let r = dev.write(slba, nlb, &data, None);
                match span(slba, n, bs) {
                    Some(s) => {
                        assert!(r.is_ok(), "write {slba}+{n}: {r:?}");
                        unc[blocks(&s)].fill(false);
                        model[s].copy_from_slice(&data);
                    }
                    None => assert!(r.is_err(), "write {slba}+{n} out of range succeeded"),
                }
            }
            1 => {
                let nlb = u16::from(arg % 16);
                let n = u64::from(nlb) + 1;
                let mut back = vec![0xa5u8; n as usize * bs];
                let r = dev.read(slba, nlb, &mut back, None);
                match span(slba, n, bs) {
                    Some(s) if unc[blocks(&s)].contains(&true) => {
                        let sc = r.as_ref().err().and_then(Error::status).map(|st| st.sc);
                        assert_eq!(
                            sc,
                            Some(sc_media::UNRECOVERED_READ_ERROR),
                            "read {slba}+{n}: {r:?}"
                        );
                    }
                    Some(s) => {
                        assert!(r.is_ok(), "read {slba}+{n}: {r:?}");
                        assert!(
                            back == model[s],
                            "read {slba}+{n} differs from what was written"
                        );
                    }
                    None => assert!(r.is_err(), "read {slba}+{n} out of range succeeded"),
                }
            }
            2 => {
                let nlb = u16::from(arg % 16);
                let n = u64::from(nlb) + 1;
                let r = dev.write_zeroes(slba, nlb);
                match span(slba, n, bs) {
                    Some(s) => {
                        assert!(r.is_ok(), "write zeroes {slba}+{n}: {r:?}");
                        unc[blocks(&s)].fill(false);
                        model[s].fill(0);
                    }
                    None => assert!(r.is_err(), "write zeroes {slba}+{n} out of range succeeded"),
                }
            }
            3 => {
                let n = u32::from(arg % 24);
                let ad = inp.u8() & 1 == 1;
                let r = dev.dsm(&[(slba, n)], ad);
                match span(slba, u64::from(n), bs) {
                    _ if n == 0 => assert!(r.is_ok(), "empty DSM range: {r:?}"),
                    Some(s) => {
                        assert!(r.is_ok(), "DSM {slba}+{n}: {r:?}");
                        if ad {
                            unc[blocks(&s)].fill(false);
                            model[s].fill(0);
                        }
                    }
                    None => assert!(r.is_err(), "DSM {slba}+{n} out of range succeeded"),
                }
            }
            4 => {
                dev.flush().unwrap();
            }
            5 => {
                let nlb = u16::from(arg % 8);
                let n = u64::from(nlb) + 1;
                let r = dev.write_uncorrectable(slba, nlb);
                match span(slba, n, bs) {
                    Some(s) => {
                        assert!(r.is_ok(), "write uncorrectable {slba}+{n}: {r:?}");
                        unc[blocks(&s)].fill(true);
                    }
                    None => assert!(
                        r.is_err(),
                        "write uncorrectable {slba}+{n} out of range succeeded"
                    ),
                }
            }
            _ => {
                // Consecutive writes through the queue: any completion
                // order leaves the same data.
                let nlb = u16::from(arg % 8);
                let n = u64::from(nlb) + 1;
                let count = 1 + inp.u8() % 8;
                let seed = inp.u8();
                let mut taken = Vec::new();
                for i in 0..u64::from(count) {
                    let at = slba.wrapping_add(i * n);
                    let data = pattern(seed, at, n as usize * bs);
                    let mut b = dev.alloc(data.len()).unwrap();
                    b.copy_from_slice(&data);
                    match (q.write(at, nlb, b, None, i), span(at, n, bs)) {
                        (Ok(()), Some(s)) => taken.push((s, data)),
                        (Err(r), None) => {
                            assert!(r.data.is_some(), "the refused buffer comes back");
                            assert!(matches!(r.error, Error::OutOfRange { .. }), "{}", r.error);
                        }
                        (r, s) => panic!("queued write {at}+{n}: {:?} for {s:?}", r.err()),
                    }
                }
                q.drain().unwrap();
                let mut done = 0;
                while let Some(c) = q.pop() {
                    assert!(c.result.is_ok(), "queued write: {:?}", c.result);
                    assert!(c.data.is_some(), "the buffer comes back");
                    done += 1;
                }
                assert_eq!(done, taken.len());
                for (s, data) in taken {
                    unc[blocks(&s)].fill(false);
                    model[s].copy_from_slice(&data);
                }
            }
        }
    }
    // The whole namespace equals the model, except blocks marked bad.
    let mut back = vec![0u8; bs];
    for lba in 0..NBLOCKS {
        let s = lba as usize * bs..(lba as usize + 1) * bs;
        if unc[lba as usize] {
            continue;
        }
        dev.read(lba, 0, &mut back, None).unwrap();
        assert!(
            back == model[s],
            "LBA {lba} differs from the model at the end"
        );
    }
}

/// Every zone's write pointer, checked against its zone where it is valid.
fn write_pointers(dev: &Device, zsze: u64, nzones: u64) -> Vec<(u64, ZoneState)> {
    (0..nzones)
        .map(|z| {
            let d = dev.zone_descriptor(z * zsze).unwrap();
            assert_eq!(d.zslba, z * zsze);
            let st = d.state();
            if st != ZoneState::FULL && st != ZoneState::OFFLINE && st != ZoneState::READ_ONLY {
                assert!(
                    d.wp >= d.zslba && d.wp <= d.zslba + d.zcap,
                    "zone {z} ({st:?}): write pointer {:#x} outside [{:#x}, {:#x}]",
                    d.wp,
                    d.zslba,
                    d.zslba + d.zcap
                );
            }
            (d.wp, st)
        })
        .collect()
}

fn zoned(mut inp: Input<'_>) {
    let dev = open(ZONED);
    let zg = dev.zone_geometry().unwrap();
    let bs = dev.geometry().unwrap().lba_nbytes as usize;
    let nsect = dev.geometry().unwrap().nsect;
    let mut model: Vec<Option<Vec<u8>>> = vec![None; nsect as usize];
    let mut zones = write_pointers(&dev, zg.zsze, zg.nzones);
    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        let op = inp.u8();
        let zone = u64::from(inp.u8()) % zg.nzones;
        let zslba = zone * zg.zsze;
        let arg = inp.u8();
        match op % 7 {
            0 => {
                let (wp, _) = zones[zone as usize];
                // Mostly at the write pointer, sometimes a few blocks off.
                let off = match arg % 8 {
                    0 => -2i64,
                    1 => 1,
                    2 => 3,
                    _ => 0,
                };
                let nlb = u16::from(inp.u8() % 24);
                let slba = wp.saturating_add_signed(off);
                let data = pattern(inp.u8(), slba, (usize::from(nlb) + 1) * bs);
                if dev.write(slba, nlb, &data, None).is_ok() {
                    assert_eq!(slba, wp, "a write off the write pointer succeeded");
                    let d = dev.zone_descriptor(slba).unwrap();
                    assert!(
                        d.state() == ZoneState::FULL || d.wp == wp + u64::from(nlb) + 1,
                        "write pointer {:#x} after writing {} blocks at {wp:#x}",
                        d.wp,
                        nlb + 1
                    );
                    for (i, b) in data.chunks(bs).enumerate() {
                        model[slba as usize + i] = Some(b.to_vec());
                    }
                }
            }
            1 => {
                let (wp, _) = zones[zone as usize];
                let nlb = u16::from(arg % 24);
                let data = pattern(inp.u8(), wp, (usize::from(nlb) + 1) * bs);
                if let Ok(at) = dev.zone_append(zslba, nlb, &data, None) {
                    assert_eq!(at, wp, "an append landed away from the write pointer");
                    for (i, b) in data.chunks(bs).enumerate() {
                        model[at as usize + i] = Some(b.to_vec());
                    }
                }
            }
            2 => {
                let _ = dev.zone_open(zslba);
            }
            3 => {
                let _ = dev.zone_close(zslba);
            }
            4 => {
                let _ = dev.zone_finish(zslba);
            }
            5 => {
                if dev.zone_reset(zslba).is_ok() {
                    model[zslba as usize..(zslba + zg.zsze) as usize].fill(None);
                }
            }
            _ => {
                let slba = zslba + u64::from(inp.u8()) % zg.zsze;
                let nlb = u16::from(arg % 16);
                let mut back = vec![0u8; (usize::from(nlb) + 1) * bs];
                match dev.read(slba, nlb, &mut back, None) {
                    Ok(_) => {
                        for (i, b) in back.chunks(bs).enumerate() {
                            if let Some(m) = &model[slba as usize + i] {
                                assert!(
                                    b == &m[..],
                                    "block {} reads back wrong",
                                    slba as usize + i
                                );
                            }
                        }
                    }
                    Err(e) => assert!(
                        matches!(e, Error::Status { .. } | Error::OutOfRange { .. }),
                        "read {slba}+{}: {e}",
                        nlb + 1
                    ),
                }
            }
        }
        zones = write_pointers(&dev, zg.zsze, zg.nzones);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        conventional(Input(rest));
    } else {
        zoned(Input(rest));
    }
});
