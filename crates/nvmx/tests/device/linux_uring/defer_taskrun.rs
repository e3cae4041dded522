//! `--defer_taskrun`: the single-issuer ring and its thread rules.

use super::*;

// --- --defer_taskrun ----------------------------------------------------------

/// The ring is enabled by its first system call, so a queue made on one
/// thread and used on another works: the user becomes the single issuer.
#[test]
fn defer_taskrun_round_trip_on_a_queue_made_on_another_thread() {
    for dir in dirs() {
        let f = temp_in(&dir, "defer", 4 << 20);
        let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = true));
        let mut q = dev.queue(32).unwrap();
        std::thread::spawn(move || {
            roundtrip(&mut q, 300, 0);
            roundtrip(&mut q, 64, 7);
            drop(q);
        })
        .join()
        .unwrap();
        // A new queue on this thread owns its own ring.
        let mut q = dev.queue(8).unwrap();
        roundtrip(&mut q, 40, 1);
    }
}

/// A used queue moved to another thread answers an error naming the
/// option, and loses nothing: back on its owner it completes what was
/// submitted meanwhile, with the data.
#[test]
fn defer_taskrun_queue_moved_after_use_fails_clearly_and_loses_nothing() {
    use std::sync::mpsc::channel;
    let f = temp_in(&std::env::temp_dir(), "defer-move", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = true));
    let (to_main, from_owner) = channel::<Queue>();
    let (to_owner, from_main) = channel::<Queue>();
    let owner = std::thread::spawn(move || {
        let mut q = from_main.recv().unwrap();
        roundtrip(&mut q, 16, 0);
        to_main.send(q).unwrap();
        let mut q = from_main.recv().unwrap();
        assert_eq!(
            q.drain().unwrap(),
            4,
            "the four reads complete on the owner"
        );
        let mut tags = Vec::new();
        while let Some(c) = q.pop() {
            tags.push(check_read(c, BS));
        }
        tags.sort_unstable();
        assert_eq!(tags, [0, 1, 2, 3]);
    });
    to_owner.send(dev.queue(8).unwrap()).unwrap();
    let mut q = from_owner.recv().unwrap();
    for lba in 0..4 {
        q.read(lba, 0, dev.alloc(BS).unwrap(), None, lba).unwrap();
    }
    for e in [q.drain().unwrap_err(), q.poke(0).unwrap_err()] {
        let msg = e.to_string();
        assert!(
            msg.contains("--defer_taskrun") && msg.contains("another thread"),
            "{msg}"
        );
    }
    assert_eq!(q.outstanding(), 4);
    to_owner.send(q).unwrap();
    owner.join().unwrap();
}

#[test]
fn defer_taskrun_with_poll_sq_is_refused_naming_both() {
    let f = temp_in(&std::env::temp_dir(), "defer-sq", 1 << 20);
    let dev = open(
        f.path(),
        &opts_with(|o| {
            o.defer_taskrun = true;
            o.poll_sq = true;
        }),
    );
    let e = dev.queue(8).unwrap_err();
    assert!(
        matches!(&e, Error::Conflict { what: "options", why } if why.contains("defer_taskrun") && why.contains("poll_sq")),
        "{e}"
    );
}
