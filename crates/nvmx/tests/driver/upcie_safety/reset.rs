//! Resets and recovery: no buffer goes back while the emulated device
//! can still write it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{BDF, emu, open_with, opts, pattern};
use nvmx::Error;

/// A controller whose disable never completes: the reset fails, the
/// controller is failed by name, and the async command in flight keeps
/// its buffer. The late DMA that follows lands in memory that is still
/// mapped (leaked), not in memory given back and freed.
#[test]
fn a_reset_that_cannot_disable_keeps_async_buffers_and_fails_by_name() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(10_000));
    dev.geometry().unwrap();
    let mut q = dev.queue(4).unwrap();
    emu.inject_hold(1);
    q.read(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    assert_eq!(emu.held(), 1);
    emu.inject_stuck_disable(true);
    let e = dev.controller_reset().unwrap_err();
    assert!(
        matches!(&e, Error::ControllerFailed { name, .. } if name == "emulated"),
        "{e}"
    );
    // The queue must not report the command (that would give its buffer
    // back) while the controller may still write it.
    let e = q.poke(0).unwrap_err();
    assert!(matches!(e, Error::ControllerFailed { .. }), "{e}");
    assert!(
        q.pop().is_none(),
        "no completion while the device may write"
    );
    // New work is refused, naming the controller.
    let r = q.read(8, 7, dev.alloc(4096).unwrap(), None, 2).unwrap_err();
    assert!(
        matches!(r.error, Error::ControllerFailed { .. }),
        "{}",
        r.error
    );
    let mut buf = vec![0u8; 4096];
    let e = dev.read(0, 7, &mut buf, None).unwrap_err();
    assert!(matches!(e, Error::ControllerFailed { .. }), "{e}");
    drop(q);
    // The device finishes the held read now: it writes the buffer.
    assert_eq!(emu.release_held(), 1);
    assert_eq!(emu.stats().late_commands, 1);
    assert_eq!(
        emu.stats().dma_faults,
        0,
        "the late write found its buffer still mapped"
    );
}

/// The same for a sync command: its bounce buffer and the caller's DMA
/// buffer stay mapped after the failed reset.
#[test]
fn a_sync_command_whose_reset_fails_leaks_its_memory() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(300));
    dev.flush().unwrap();
    let mut dma = dev.alloc(4096).unwrap();
    emu.inject_hold(1);
    emu.inject_stuck_disable(true);
    let e = dev.read(0, 7, &mut dma, None).unwrap_err();
    assert!(
        matches!(&e, Error::ControllerFailed { name, why } if name == "emulated" && why.contains("Read")),
        "{e}"
    );
    drop(dma);
    let mut heap = vec![0u8; 4096];
    emu.inject_stuck_disable(false);
    assert!(matches!(
        dev.read(0, 7, &mut heap, None).unwrap_err(),
        Error::ControllerFailed { .. }
    ));
    assert_eq!(emu.release_held(), 1);
    assert_eq!(emu.stats().dma_faults, 0, "late write into freed memory");
    // An explicit reset that works makes the controller usable again.
    dev.controller_reset().unwrap();
    dev.write(0, 7, &pattern(4096, 1), None).unwrap();
    dev.read(0, 7, &mut heap, None).unwrap();
    assert_eq!(heap, pattern(4096, 1));
}

/// A reset with a controller that finishes its held commands before
/// RDY clears: queues on other threads see the new generation only after
/// that, so none of their buffers is freed under the late writes, and
/// every command either completes with its data or fails as lost, and
/// the queues keep completing commands after the resets (a queue told of
/// the reset before the controller stopped gets late completions in its
/// re-created ring and stalls).
#[test]
fn queues_on_several_threads_survive_resets_without_late_writes() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(5000));
    dev.geometry().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let dev = dev.clone();
            let stop = stop.clone();
            let done = done.clone();
            s.spawn(move || {
                let mut q = dev.queue(8).unwrap();
                let mut i = 0u64;
                let (mut ok, mut lost) = (0, 0);
                while !stop.load(Ordering::Relaxed) {
                    let slba = (t * 64 + i % 8) * 8;
                    let data = pattern(4096, t * 1000 + i % 8);
                    let mut b = dev.alloc(4096).unwrap();
                    b.copy_from_slice(&data);
                    if q.write(slba, 7, b, None, i).is_err() {
                        let _ = q.poke(0);
                        continue;
                    }
                    if let Err(e) = q.drain() {
                        panic!("thread {t}: {e}");
                    }
                    while let Some(c) = q.pop() {
                        match c.result {
                            Ok(_) => {
                                ok += 1;
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                assert!(matches!(*e, Error::Stale { .. }), "{e}");
                                lost += 1;
                            }
                        }
                        // The buffer goes (and its memory is unmapped) now.
                        drop(c.data);
                    }
                    let r = dev.alloc(4096).unwrap();
                    if q.read(slba, 7, r, None, i).is_ok() && q.drain().is_ok() {
                        while let Some(c) = q.pop() {
                            if c.result.is_ok() {
                                let got = c.data.unwrap();
                                // A lost write may have left the old data.
                                assert!(
                                    got[..] == data[..] || lost > 0,
                                    "thread {t}: wrong data at {slba}"
                                );
                            }
                        }
                    }
                    i += 1;
                }
                assert!(ok > 0, "thread {t}: nothing completed");
            });
        }
        let start = Instant::now();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(30));
            emu.inject_hold(2);
            emu.inject_slow_disable(40);
            std::thread::sleep(Duration::from_millis(10));
            dev.controller_reset().unwrap();
        }
        let after = done.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100));
        let progress = done.load(Ordering::Relaxed) - after;
        stop.store(true, Ordering::Relaxed);
        assert!(progress > 0, "no command completed after the resets");
        assert!(start.elapsed() < Duration::from_secs(20));
    });
    assert_eq!(emu.stats().dma_faults, 0, "a late write hit freed memory");
}

/// A sync command lost in another thread's reset ends at once, as lost,
/// without waiting for its timeout and without a second reset.
#[test]
fn a_sync_command_lost_in_another_threads_reset_ends_without_a_second_reset() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(5000));
    dev.flush().unwrap();
    let enables = emu.stats().enables;
    emu.inject_hold(1);
    std::thread::scope(|s| {
        let d = dev.clone();
        let reader = s.spawn(move || {
            let start = Instant::now();
            let mut buf = vec![0u8; 4096];
            let e = d.read(0, 7, &mut buf, None).unwrap_err();
            (e, start.elapsed())
        });
        while emu.held() == 0 {
            std::thread::yield_now();
        }
        dev.controller_reset().unwrap();
        let (e, took) = reader.join().unwrap();
        assert!(matches!(e, Error::Stale { .. }), "{e}");
        assert!(took < Duration::from_secs(2), "waited {took:?}");
    });
    assert_eq!(emu.stats().enables, enables + 1, "one reset, not two");
    dev.flush().unwrap();
}

/// A queue whose re-creation after a reset fails is broken for good: it
/// says so at once, and does not reset the controller again and again.
#[test]
fn a_failed_queue_recreation_is_reported_and_does_not_loop() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(300));
    dev.geometry().unwrap();
    let mut q = dev.queue(4).unwrap();
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
    emu.inject_fail_create(1);
    dev.controller_reset().unwrap();
    let enables = emu.stats().enables;
    let e = q.poke(0).unwrap_err();
    assert!(
        matches!(e, Error::QueueFailed(ref m) if m.contains("re-creating")),
        "{e}"
    );
    for i in 0..3 {
        let start = Instant::now();
        let r = q
            .write(0, 7, dev.alloc(4096).unwrap(), None, i)
            .unwrap_err();
        assert!(matches!(r.error, Error::QueueFailed(_)), "{}", r.error);
        assert!(start.elapsed() < Duration::from_millis(100));
    }
    assert_eq!(emu.stats().enables, enables, "no reset loop");
    // The rest of the device works; a new queue works.
    dev.flush().unwrap();
    let mut q2 = dev.queue(4).unwrap();
    q2.write(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    q2.drain().unwrap();
    q2.pop().unwrap().result.unwrap();
}

/// A timed-out command followed by a reset that works: the command's
/// held data is discarded by the disable (no late write at all), and it
/// is reported as timed out.
#[test]
fn a_timed_out_command_is_released_after_a_confirmed_disable() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(200));
    let mut q = dev.queue(4).unwrap();
    emu.inject_hold(1);
    q.read(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    assert!(matches!(
        *c.result.unwrap_err(),
        Error::Timeout { what: "Read", .. }
    ));
    drop(c.data);
    assert_eq!(emu.held(), 0, "the disable aborted it");
    assert_eq!(emu.release_held(), 0);
    assert_eq!(emu.stats().dma_faults, 0);
}

/// `--command-timeout 0` built in code is refused when the queue is
/// created, naming the option.
#[test]
fn a_zero_command_timeout_is_refused_for_a_queue() {
    let emu = emu("16MiB");
    let o = nvmx::Options {
        command_timeout: Duration::ZERO,
        ..opts(1000)
    };
    let dev = open_with(&emu, BDF, &o);
    let e = dev.queue(4).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfRange {
                what: "command-timeout",
                ..
            }
        ),
        "{e}"
    );
}
