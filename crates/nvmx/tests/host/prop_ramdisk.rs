//! Property tests of the ramdisk controller: arbitrary command sequences
//! never panic and keep its invariants.
//!
//! - A conventional ramdisk is mirrored by a model byte array: writes,
//!   Write Zeroes and deallocating DSM (also through a queue, and also
//!   out of range, which must change nothing) update the model, and every
//!   read, and a whole-namespace read at the end, equals it. Blocks marked
//!   by Write Uncorrectable (a media error on chosen LBAs) fail every read
//!   that touches them with Unrecovered Read Error until written again.
//! - On a zoned ramdisk arbitrary zone operations (writes at or off the
//!   write pointer, appends, open, close, finish, reset, reads) never
//!   panic; every zone's write pointer stays within
//!   `[zslba, zslba + zcap]` (where it is valid: not Full, Read Only or
//!   Offline), a successful write moves it by the blocks
//!   written, an append lands at it, and written data reads back. Every
//!   operation is held to the zone state model: an in-bounds write or
//!   append at the write pointer of a writable zone, a read within a zone,
//!   Finish and Reset must succeed (and land in Full, Empty); Open and
//!   Close succeed exactly in the states that allow them.
//!
//! Failing sequences are kept beside this file in
//! `prop_ramdisk.proptest-regressions` (commit it) and replayed first on
//! every run.

use nvmx::spec::zoned::ZoneState;
use nvmx::{Device, Error, Options};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Blocks of the conventional ramdisk (1 MiB of 512-byte blocks).
const NBLOCKS: u64 = 2048;

#[derive(Debug, Clone)]
enum Op {
    Write {
        slba: u64,
        nlb: u16,
        seed: u8,
    },
    Read {
        slba: u64,
        nlb: u16,
    },
    WriteZeroes {
        slba: u64,
        nlb: u16,
    },
    Dsm {
        slba: u64,
        n: u32,
        ad: bool,
    },
    Flush,
    /// Marks blocks uncorrectable: the media error a real drive reports.
    WriteUncor {
        slba: u64,
        nlb: u16,
    },
    Queued {
        slba: u64,
        nlb: u16,
        count: u8,
        seed: u8,
    },
}

/// LBAs mostly inside the namespace, sometimes across or past its end.
fn lba() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0..NBLOCKS,
        1 => NBLOCKS - 16..NBLOCKS + 16,
        1 => Just(u64::MAX - 3),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (lba(), 0u16..15, any::<u8>()).prop_map(|(slba, nlb, seed)| Op::Write { slba, nlb, seed }),
        4 => (lba(), 0u16..15).prop_map(|(slba, nlb)| Op::Read { slba, nlb }),
        1 => (lba(), 0u16..15).prop_map(|(slba, nlb)| Op::WriteZeroes { slba, nlb }),
        1 => (lba(), 0u32..20, any::<bool>()).prop_map(|(slba, n, ad)| Op::Dsm { slba, n, ad }),
        1 => Just(Op::Flush),
        1 => (lba(), 0u16..7).prop_map(|(slba, nlb)| Op::WriteUncor { slba, nlb }),
        2 => (lba(), 0u16..7, 1u8..9, any::<u8>())
            .prop_map(|(slba, nlb, count, seed)| Op::Queued { slba, nlb, count, seed }),
    ]
}

/// The bytes a write with `seed` puts at byte `i` of LBA `lba`.
fn pattern(seed: u8, lba: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed ^ (lba as u8) ^ (i as u8).wrapping_mul(7))
        .collect()
}

/// The byte range of `nblocks` at `slba`, when it lies in the namespace.
fn span(slba: u64, nblocks: u64, bs: usize, nsect: u64) -> Option<std::ops::Range<usize>> {
    let end = slba.checked_add(nblocks)?;
    (end <= nsect).then(|| slba as usize * bs..end as usize * bs)
}

/// Runs `ops` on a fresh ramdisk and a model of it.
fn run_conventional(ops: &[Op]) -> Result<(), TestCaseError> {
    let dev = Device::open("1MiB", &Options::default()).unwrap();
    let g = dev.geometry().unwrap().clone();
    let bs = g.lba_nbytes as usize;
    prop_assert_eq!(g.nsect, NBLOCKS);
    let mut model = vec![0u8; g.nsect as usize * bs];
    // Blocks marked uncorrectable: reads of them fail until rewritten.
    let mut bad = vec![false; g.nsect as usize];
    let blocks = |s: &std::ops::Range<usize>| s.start / bs..s.end / bs;
    let mut q = dev.queue(8).unwrap();
    for op in ops {
        match *op {
            Op::Write { slba, nlb, seed } => {
                let n = u64::from(nlb) + 1;
                let data = pattern(seed, slba, n as usize * bs);
                let r = dev.write(slba, nlb, &data, None);
                match span(slba, n, bs, g.nsect) {
                    Some(s) => {
                        prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                        bad[blocks(&s)].fill(false);
                        model[s].copy_from_slice(&data);
                    }
                    None => prop_assert!(r.is_err(), "{op:?} beyond the end succeeded"),
                }
            }
            Op::Read { slba, nlb } => {
                let n = u64::from(nlb) + 1;
                let mut back = vec![0xeeu8; n as usize * bs];
                let r = dev.read(slba, nlb, &mut back, None);
                match span(slba, n, bs, g.nsect) {
                    Some(s) if bad[blocks(&s)].contains(&true) => {
                        let st = r.as_ref().err().and_then(Error::status);
                        prop_assert_eq!(
                            st.map(|st| st.sc),
                            Some(nvmx::spec::status::sc_media::UNRECOVERED_READ_ERROR),
                            "{:?}: {:?}",
                            op,
                            r
                        );
                    }
                    Some(s) => {
                        prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                        prop_assert!(back == model[s], "{op:?}: read differs from the model");
                    }
                    None => prop_assert!(r.is_err(), "{op:?} beyond the end succeeded"),
                }
            }
            Op::WriteZeroes { slba, nlb } => {
                let n = u64::from(nlb) + 1;
                let r = dev.write_zeroes(slba, nlb);
                match span(slba, n, bs, g.nsect) {
                    Some(s) => {
                        prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                        bad[blocks(&s)].fill(false);
                        model[s].fill(0);
                    }
                    None => prop_assert!(r.is_err(), "{op:?} beyond the end succeeded"),
                }
            }
            Op::Dsm { slba, n, ad } => {
                let r = dev.dsm(&[(slba, n)], ad);
                match span(slba, u64::from(n), bs, g.nsect) {
                    // An empty range names no block: a no-op wherever it is.
                    _ if n == 0 => prop_assert!(r.is_ok(), "{op:?}: {r:?}"),
                    Some(s) => {
                        prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                        if ad {
                            bad[blocks(&s)].fill(false);
                            model[s].fill(0);
                        }
                    }
                    None => prop_assert!(r.is_err(), "{op:?} beyond the end succeeded"),
                }
            }
            Op::Flush => {
                dev.flush().unwrap();
            }
            Op::WriteUncor { slba, nlb } => {
                let r = dev.write_uncorrectable(slba, nlb);
                match span(slba, u64::from(nlb) + 1, bs, g.nsect) {
                    Some(s) => {
                        prop_assert!(r.is_ok(), "{op:?}: {r:?}");
                        bad[blocks(&s)].fill(true);
                    }
                    None => prop_assert!(r.is_err(), "{op:?} beyond the end succeeded"),
                }
            }
            Op::Queued {
                slba,
                nlb,
                count,
                seed,
            } => {
                // Consecutive, non-overlapping writes: any completion
                // order leaves the same data.
                let n = u64::from(nlb) + 1;
                let mut expect_ok = Vec::new();
                for i in 0..u64::from(count) {
                    let at = slba.wrapping_add(i * n);
                    let data = pattern(seed, at, n as usize * bs);
                    let mut b = dev.alloc(data.len()).unwrap();
                    b.copy_from_slice(&data);
                    match (q.write(at, nlb, b, None, i), span(at, n, bs, g.nsect)) {
                        (Ok(()), Some(s)) => expect_ok.push((i, s, data)),
                        (Err(r), None) => prop_assert!(
                            r.data.is_some() && matches!(r.error, Error::OutOfRange { .. }),
                            "{op:?}: {r}"
                        ),
                        (r, s) => prop_assert!(false, "{op:?} #{i}: {:?} for {s:?}", r.err()),
                    }
                }
                q.drain().unwrap();
                let mut done = 0;
                while let Some(c) = q.pop() {
                    prop_assert!(c.result.is_ok(), "{op:?}: {:?}", c.result);
                    done += 1;
                }
                prop_assert_eq!(done, expect_ok.len());
                for (_, s, data) in expect_ok {
                    bad[blocks(&s)].fill(false);
                    model[s].copy_from_slice(&data);
                }
            }
        }
    }
    // The whole namespace equals the model.
    let chunk = 64usize;
    let mut back = vec![0u8; chunk * bs];
    for slba in (0..g.nsect).step_by(chunk) {
        let s = slba as usize * bs..(slba as usize + chunk) * bs;
        if bad[blocks(&s)].contains(&true) {
            continue;
        }
        dev.read(slba, chunk as u16 - 1, &mut back, None).unwrap();
        prop_assert!(
            back == model[s],
            "blocks {slba}.. differ from the model at the end"
        );
    }
    Ok(())
}

/// 4 zones of 256 4-KiB blocks, capacity 192, 4 open and 6 active.
const ZONED: &str = "4MiB?lbaf=2&zoned=1&zone_size=1MiB&zone_cap=768KiB&max_open=4&max_active=6";

#[derive(Debug, Clone)]
enum ZoneOp {
    /// Write at the write pointer plus `off` (0 is the valid case).
    Write {
        zone: u8,
        off: i8,
        nlb: u16,
        seed: u8,
    },
    Append {
        zone: u8,
        nlb: u16,
        seed: u8,
    },
    Open {
        zone: u8,
    },
    Close {
        zone: u8,
    },
    Finish {
        zone: u8,
    },
    Reset {
        zone: u8,
    },
    Read {
        zone: u8,
        off: u16,
        nlb: u16,
    },
}

fn zone_op() -> impl Strategy<Value = ZoneOp> {
    let zone = 0u8..4;
    prop_oneof![
        6 => (zone.clone(), prop_oneof![4 => Just(0i8), 1 => -3i8..4], 0u16..40, any::<u8>())
            .prop_map(|(zone, off, nlb, seed)| ZoneOp::Write { zone, off, nlb, seed }),
        3 => (zone.clone(), 0u16..40, any::<u8>()).prop_map(|(zone, nlb, seed)| ZoneOp::Append { zone, nlb, seed }),
        1 => zone.clone().prop_map(|zone| ZoneOp::Open { zone }),
        1 => zone.clone().prop_map(|zone| ZoneOp::Close { zone }),
        1 => zone.clone().prop_map(|zone| ZoneOp::Finish { zone }),
        1 => zone.clone().prop_map(|zone| ZoneOp::Reset { zone }),
        4 => (zone, 0u16..256, 0u16..15).prop_map(|(zone, off, nlb)| ZoneOp::Read { zone, off, nlb }),
    ]
}

/// Checks every zone's write pointer against its bounds; returns them.
fn check_zones(
    dev: &Device,
    zsze: u64,
    nzones: u64,
) -> Result<Vec<(u64, ZoneState)>, TestCaseError> {
    let mut out = Vec::new();
    for z in 0..nzones {
        let d = dev.zone_descriptor(z * zsze).unwrap();
        prop_assert_eq!(d.zslba, z * zsze);
        let st = d.state();
        // The write pointer is not valid in Full, Read Only and Offline
        // zones (the ramdisk reports all ones there).
        if st != ZoneState::FULL && st != ZoneState::OFFLINE && st != ZoneState::READ_ONLY {
            prop_assert!(
                d.wp >= d.zslba && d.wp <= d.zslba + d.zcap,
                "zone {z} ({st:?}): wp {:#x} outside [{:#x}, {:#x}]",
                d.wp,
                d.zslba,
                d.zslba + d.zcap
            );
        }
        out.push((d.wp, st));
    }
    Ok(out)
}

fn run_zoned(ops: &[ZoneOp]) -> Result<(), TestCaseError> {
    let dev = Device::open(ZONED, &Options::default()).unwrap();
    let zg = dev.zone_geometry().unwrap();
    let g = dev.geometry().unwrap().clone();
    let bs = g.lba_nbytes as usize;
    let nzones = zg.nzones;
    prop_assert!(nzones >= 4);
    // What each written block holds, where the model knows.
    let mut model: Vec<Option<Vec<u8>>> = vec![None; g.nsect as usize];
    let mut zones = check_zones(&dev, zg.zsze, nzones)?;
    // A zone takes writes, appends and Open in these states (the
    // ramdisk's 4 zones never run out of open or active resources: 4 and
    // 6), Close in the open ones and Finish and Reset in all of them.
    let writable = |st: ZoneState| {
        matches!(
            st,
            ZoneState::EMPTY
                | ZoneState::IMPLICIT_OPEN
                | ZoneState::EXPLICIT_OPEN
                | ZoneState::CLOSED
        )
    };
    for op in ops {
        match *op {
            ZoneOp::Write {
                zone,
                off,
                nlb,
                seed,
            } => {
                let (wp, st) = zones[zone as usize];
                let zslba = u64::from(zone) * zg.zsze;
                let zcap = dev.zone_descriptor(zslba).unwrap().zcap;
                let slba = wp.saturating_add_signed(i64::from(off));
                let data = pattern(seed, slba, (usize::from(nlb) + 1) * bs);
                // A Full zone's write pointer is all ones.
                let fits = wp
                    .checked_add(u64::from(nlb))
                    .is_some_and(|last| last < zslba + zcap);
                match dev.write(slba, nlb, &data, None) {
                    Ok(_) => {
                        prop_assert!(
                            writable(st),
                            "{:?}: a write to a {:?} zone succeeded",
                            op,
                            st
                        );
                        prop_assert_eq!(
                            slba,
                            wp,
                            "{:?}: a write off the write pointer succeeded",
                            op
                        );
                        prop_assert!(fits, "{:?}: a write past the zone capacity succeeded", op);
                        let after = dev.zone_descriptor(slba).map(|d| d.wp);
                        let full = dev.zone_descriptor(slba).unwrap().state() == ZoneState::FULL;
                        prop_assert!(
                            full || after.as_ref().ok() == Some(&(wp + u64::from(nlb) + 1)),
                            "{op:?}: wp {after:?} after a write at {wp}"
                        );
                        for (i, b) in data.chunks(bs).enumerate() {
                            model[slba as usize + i] = Some(b.to_vec());
                        }
                    }
                    Err(e) => prop_assert!(
                        !(writable(st) && off == 0 && fits),
                        "{:?}: an in-bounds write at the write pointer of a {:?} zone failed: {}",
                        op,
                        st,
                        e
                    ),
                }
            }
            ZoneOp::Append { zone, nlb, seed } => {
                let zslba = u64::from(zone) * zg.zsze;
                let (wp, st) = zones[zone as usize];
                let zcap = dev.zone_descriptor(zslba).unwrap().zcap;
                // A Full zone's write pointer is all ones.
                let fits = wp
                    .checked_add(u64::from(nlb))
                    .is_some_and(|last| last < zslba + zcap);
                let data = pattern(seed, wp, (usize::from(nlb) + 1) * bs);
                match dev.zone_append(zslba, nlb, &data, None) {
                    Ok(at) => {
                        prop_assert!(
                            writable(st) && fits,
                            "{:?}: append to a {:?} zone at {} succeeded",
                            op,
                            st,
                            wp
                        );
                        prop_assert_eq!(at, wp, "{:?}: appended away from the write pointer", op);
                        for (i, b) in data.chunks(bs).enumerate() {
                            model[at as usize + i] = Some(b.to_vec());
                        }
                    }
                    Err(e) => prop_assert!(
                        !(writable(st) && fits),
                        "{:?}: an append that fits a {:?} zone failed: {}",
                        op,
                        st,
                        e
                    ),
                }
            }
            ZoneOp::Open { zone } => {
                let zslba = u64::from(zone) * zg.zsze;
                let (_, st) = zones[zone as usize];
                let r = dev.zone_open(zslba);
                prop_assert_eq!(
                    r.is_ok(),
                    writable(st),
                    "{:?} of a {:?} zone: {:?}",
                    op,
                    st,
                    r
                );
                if r.is_ok() {
                    let now = dev.zone_descriptor(zslba).unwrap().state();
                    prop_assert_eq!(now, ZoneState::EXPLICIT_OPEN, "{:?}", op);
                }
            }
            ZoneOp::Close { zone } => {
                let zslba = u64::from(zone) * zg.zsze;
                let (_, st) = zones[zone as usize];
                let closable = matches!(
                    st,
                    ZoneState::IMPLICIT_OPEN | ZoneState::EXPLICIT_OPEN | ZoneState::CLOSED
                );
                let r = dev.zone_close(zslba);
                prop_assert_eq!(r.is_ok(), closable, "{:?} of a {:?} zone: {:?}", op, st, r);
                if r.is_ok() {
                    let now = dev.zone_descriptor(zslba).unwrap().state();
                    prop_assert_eq!(now, ZoneState::CLOSED, "{:?}", op);
                }
            }
            ZoneOp::Finish { zone } => {
                let zslba = u64::from(zone) * zg.zsze;
                let r = dev.zone_finish(zslba);
                prop_assert!(r.is_ok(), "{:?}: {:?}", op, r);
                let now = dev.zone_descriptor(zslba).unwrap().state();
                prop_assert_eq!(now, ZoneState::FULL, "{:?}", op);
            }
            ZoneOp::Reset { zone } => {
                let zslba = u64::from(zone) * zg.zsze;
                let r = dev.zone_reset(zslba);
                prop_assert!(r.is_ok(), "{:?}: {:?}", op, r);
                let d = dev.zone_descriptor(zslba).unwrap();
                prop_assert_eq!((d.state(), d.wp), (ZoneState::EMPTY, zslba), "{:?}", op);
                for m in &mut model[zslba as usize..(zslba + zg.zsze) as usize] {
                    *m = None;
                }
            }
            ZoneOp::Read { zone, off, nlb } => {
                let slba = u64::from(zone) * zg.zsze + u64::from(off);
                let mut back = vec![0u8; (usize::from(nlb) + 1) * bs];
                // Within one zone a read always works; across a zone
                // boundary or past the namespace it may be refused.
                let within = u64::from(off) + u64::from(nlb) < zg.zsze;
                match dev.read(slba, nlb, &mut back, None) {
                    Ok(_) => {
                        for (i, b) in back.chunks(bs).enumerate() {
                            if let Some(m) = &model[slba as usize + i] {
                                prop_assert!(
                                    b == &m[..],
                                    "{op:?}: block {} differs",
                                    slba as usize + i
                                );
                            }
                        }
                    }
                    Err(e) => prop_assert!(
                        !within && matches!(e, Error::Status { .. } | Error::OutOfRange { .. }),
                        "{op:?}: {e}"
                    ),
                }
            }
        }
        zones = check_zones(&dev, zg.zsze, nzones)?;
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conventional_ramdisk_reads_what_was_written(ops in proptest::collection::vec(op(), 1..48)) {
        run_conventional(&ops)?;
    }

    #[test]
    fn zoned_ramdisk_keeps_write_pointers_in_bounds(ops in proptest::collection::vec(zone_op(), 1..64)) {
        run_zoned(&ops)?;
    }
}
