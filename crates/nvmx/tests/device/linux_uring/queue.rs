//! `io_uring_file` through a device and a queue: round trips at several
//! depths, direct I/O, SQ polling, registered files and buffers, and
//! `--poll_io`.

use super::*;

// --- through a device and a queue -------------------------------------------

#[test]
fn queue_round_trip_at_qd_1_32_128_on_tmpfs_and_temp_dir() {
    for dir in dirs() {
        let f = temp_in(&dir, "rt", 8 << 20);
        let dev = open(f.path(), &opts_with(|_| {}));
        for cap in [1, 32, 128] {
            let mut q = dev.queue(cap).unwrap();
            assert_eq!(q.engine_id(), "io_uring");
            roundtrip(&mut q, 300, 0);
            roundtrip(&mut q, 256, 7);
            assert_eq!(q.outstanding(), 0);
        }
        // What the queue wrote, the sync path reads.
        let mut back = vec![0u8; 8 * BS];
        dev.read(8, 7, &mut back, None).unwrap();
        let mut want = vec![0u8; 8 * BS];
        fill_random(&mut want, 8);
        assert_eq!(first_difference(&back, &want), None, "{}", dir.display());
    }
}

#[test]
fn direct_io_round_trip_where_the_file_system_allows_it() {
    let mut ran = 0;
    for dir in [
        PathBuf::from("/var/tmp"),
        std::env::temp_dir(),
        PathBuf::from("/dev/shm"),
    ] {
        if !dir.is_dir() {
            continue;
        }
        let f = temp_in(&dir, "direct", 4 << 20);
        let dev = match Device::open(f.path(), &opts_with(|o| o.direct = true)) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: O_DIRECT open failed: {e}", dir.display());
                continue;
            }
        };
        let mut q = dev.queue(32).unwrap();
        roundtrip(&mut q, 128, 0);
        roundtrip(&mut q, 128, 7);
        ran += 1;
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

#[test]
fn poll_sq_round_trip() {
    let f = temp_in(&std::env::temp_dir(), "sqpoll", 4 << 20);
    let dev = open(f.path(), &opts_with(|o| o.poll_sq = true));
    let mut q = dev.queue(32).unwrap();
    roundtrip(&mut q, 200, 0);
    roundtrip(&mut q, 64, 3);
}

#[test]
fn register_files_round_trip_with_and_without_poll_sq() {
    for sq in [false, true] {
        let f = temp_in(&std::env::temp_dir(), "regfile", 4 << 20);
        let dev = open(
            f.path(),
            &opts_with(|o| {
                o.register_files = true;
                o.poll_sq = sq;
            }),
        );
        let mut q = dev.queue(16).unwrap();
        roundtrip(&mut q, 100, 1);
    }
}

#[test]
fn poll_io_without_direct_is_refused_with_a_clear_error() {
    let f = temp_in(&std::env::temp_dir(), "iopoll", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.poll_io = true));
    let e = dev.queue(8).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let m = e.to_string();
    assert!(m.contains("poll_io") && m.contains("--direct"), "{m}");
}

#[test]
fn poll_io_with_direct_works_or_says_the_file_cannot_be_polled() {
    let mut ran = 0;
    for dir in [std::env::temp_dir(), PathBuf::from("/dev/shm")] {
        if !dir.is_dir() {
            continue;
        }
        let f = temp_in(&dir, "iopoll-direct", 1 << 20);
        let Ok(dev) = Device::open(
            f.path(),
            &opts_with(|o| {
                o.poll_io = true;
                o.direct = true;
            }),
        ) else {
            println!("{}: no O_DIRECT", dir.display());
            continue;
        };
        let mut q = dev.queue(8).unwrap();
        let mut b = dev.alloc(BS).unwrap();
        b.fill("p").unwrap();
        q.write(3, 0, b, None, 0).unwrap();
        q.read(3, 0, dev.alloc(BS).unwrap(), None, 1).unwrap();
        q.drain().unwrap();
        // Each command either works or says this file cannot be polled (a
        // file system may poll some commands and not others).
        let mut order = Vec::new();
        while let Some(c) = q.pop() {
            order.push(c.tag);
            match c.result {
                Ok(_) => {
                    if c.tag == 1 {
                        let d = c.data.unwrap();
                        assert!(d.iter().all(|&x| x == b'p') || d.iter().all(|&x| x == 0));
                    }
                    println!("{} tag {}: polled I/O works", dir.display(), c.tag);
                }
                Err(e) => {
                    let m = e.to_string();
                    assert!(
                        matches!(*e, Error::Unsupported { .. }) && m.contains("poll_io"),
                        "{m}"
                    );
                    println!("{} tag {}: {m}", dir.display(), c.tag);
                }
            }
        }
        order.sort_unstable();
        assert_eq!(order, [0, 1]);
        assert!(
            dev.queue(8).unwrap().completion_fd().is_err(),
            "a polled queue has no completion fd"
        );
        ran += 1;
    }
    assert!(ran > 0, "no directory here takes O_DIRECT");
}

/// `--register_buffers` with a new buffer for every command: more
/// distinct buffers than the fixed table holds, so slots are registered
/// again and again (and some commands go without one); every byte checks.
#[test]
fn register_buffers_round_trip_with_fresh_buffers() {
    let mut direct_ran = 0;
    for dir in dirs() {
        for direct in [false, true] {
            let f = temp_in(&dir, "regbuf", 1 << 20);
            let dev = match Device::open(
                f.path(),
                &opts_with(|o| {
                    o.register_buffers = true;
                    o.direct = direct;
                }),
            ) {
                Ok(d) => d,
                // Only O_DIRECT may be refused, by the file system.
                Err(e) if direct => {
                    println!("{}: no O_DIRECT: {e}", dir.display());
                    continue;
                }
                Err(e) => panic!("{}: buffered open: {e}", dir.display()),
            };
            let mut q = dev.queue(32).unwrap();
            roundtrip(&mut q, 256, 0);
            roundtrip(&mut q, 64, 3);
            direct_ran += usize::from(direct);
        }
    }
    assert!(direct_ran > 0, "no directory here takes O_DIRECT");
}

/// `--register_buffers` the way a benchmark loop uses it: the same 16
/// buffers for 2000 commands, each read checked against what was written
/// there; then a buffer dropped and a new one (likely at the same address)
/// must not be served by the old registration.
#[test]
fn register_buffers_reused_buffers_read_back_what_was_written() {
    let f = temp_in(
        &std::path::PathBuf::from("/dev/shm"),
        "regbuf-reuse",
        256 * BS as u64,
    );
    let dev = open(f.path(), &opts_with(|o| o.register_buffers = true));
    let mut q = dev.queue(16).unwrap();
    let mut bufs: Vec<_> = (0..16).map(|_| Some(dev.alloc(BS).unwrap())).collect();
    let mut written = [0u64; 256];
    for round in 1..=125u64 {
        // 16 writes of fresh content, then 16 reads of the same blocks.
        for (i, b) in bufs.iter_mut().enumerate() {
            let lba = (round * 37 + i as u64 * 16) % 256;
            let mut buf = b.take().unwrap();
            written[lba as usize] = round * 1000 + lba;
            fill_random(&mut buf, written[lba as usize]);
            q.write(lba, 0, buf, None, i as u64).unwrap();
        }
        q.drain().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
            bufs[c.tag as usize] = c.data;
        }
        for (i, b) in bufs.iter_mut().enumerate() {
            let lba = (round * 37 + i as u64 * 16) % 256;
            let mut buf = b.take().unwrap();
            buf.fill("z").unwrap();
            q.read(lba, 0, buf, None, i as u64 | lba << 32).unwrap();
        }
        q.drain().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
            let lba = c.tag >> 32;
            let mut want = vec![0u8; BS];
            fill_random(&mut want, written[lba as usize]);
            let d = c.data.unwrap();
            assert_eq!(first_difference(&d, &want), None, "round {round} lba {lba}");
            bufs[(c.tag & 0xffff_ffff) as usize] = Some(d);
        }
    }
    // A new buffer in place of a dropped one reads into its own memory.
    drop(bufs);
    let b = dev.alloc(BS).unwrap();
    q.read(0, 0, b, None, 0).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    c.result.unwrap();
    let mut want = vec![0u8; BS];
    fill_random(&mut want, written[0]);
    assert!(written[0] != 0);
    assert_eq!(first_difference(&c.data.unwrap(), &want), None);
}
