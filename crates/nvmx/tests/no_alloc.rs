//! Steady state allocates nothing per I/O: a counting global allocator
//! watches reads and writes through the sync path and through each async
//! interface that runs here (nil, emu, thrpool, io_uring, libaio, posix)
//! after a warm-up, and the count must stay at zero.
//!
//! A configuration passes when its sync I/Os allocate nothing and one
//! window of queued I/Os allocates nothing (see the test for why more than
//! one window may be measured).
//!
//! The allocator counts every thread (worker threads of `thrpool` too), so
//! this binary holds one test and runs the configurations one after the
//! other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nvmx::{Device, Options};

mod common;

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter only observes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's layout contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `System.alloc` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for alloc.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Counts allocations while `f` runs.
fn count(f: impl FnOnce()) -> u64 {
    ALLOCS.store(0, Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
    f();
    ON.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::SeqCst)
}

const QD: u32 = 16;
const WARM: u64 = 2000;
const MEASURED: u64 = 20_000;

/// Keeps QD reads and writes in flight for `n` completions.
fn queue_loop(dev: &Device, q: &mut nvmx::Queue, n: u64, next: &mut u64) {
    let g = dev.geometry().unwrap();
    let span = g.nsect / 8;
    let mut done = 0;
    while done < n {
        q.wait().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
            done += 1;
            *next = next
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slba = (*next >> 33) % span * 8;
            let buf = c.data.unwrap();
            let nlb = (buf.len() / g.lba_nbytes as usize - 1) as u16;
            let r = if done % 2 == 0 {
                q.read(slba, nlb, buf, None, 0)
            } else {
                q.write(slba, nlb, buf, None, 0)
            };
            r.unwrap();
        }
    }
}

#[test]
fn steady_state_io_allocates_nothing() {
    let mut checked = Vec::new();
    let mut failed = Vec::new();
    for t in common::targets() {
        let dev = t.open();
        let nbytes = 8 * dev.geometry().unwrap().lba_nbytes as usize;
        // Sync path.
        let mut buf = dev.alloc(nbytes).unwrap();
        for i in 0..WARM {
            dev.write(i % 64 * 8, 7, &buf, None).unwrap();
        }
        // Threads of the previous configuration (thread-pool workers,
        // completion threads) may still be exiting and allocate while
        // they do, which the global counter sees; a per-I/O allocation
        // shows in every window, so up to five are measured and the last
        // must be clean.
        let mut sync = 0;
        for _ in 0..5 {
            sync = count(|| {
                for i in 0..MEASURED / 4 {
                    dev.write(i % 64 * 8, 7, &buf, None).unwrap();
                    dev.read(i % 64 * 8, 7, &mut buf, None).unwrap();
                }
            });
            if sync == 0 {
                break;
            }
        }
        // Async path.
        let mut q = dev.queue(QD).unwrap();
        for i in 0..QD {
            q.read(u64::from(i) * 8, 7, dev.alloc(nbytes).unwrap(), None, 0)
                .unwrap();
        }
        let mut next = 1;
        queue_loop(&dev, &mut q, WARM, &mut next);
        // A worker thread's first block on a channel sets up a per-thread
        // wait context once (crossbeam): a one-time allocation that can
        // fall into a window. A per-I/O allocation shows in every window,
        // so up to five are measured and the last must be clean.
        let mut windows = Vec::new();
        for _ in 0..5 {
            let n = count(|| queue_loop(&dev, &mut q, MEASURED, &mut next));
            windows.push(n);
            if n == 0 {
                break;
            }
        }
        let queued = *windows.last().unwrap();
        q.drain().unwrap();
        let what = format!("{} ({}) on {}", t.be, q.engine_id(), t.uri);
        println!(
            "{what}: {sync} allocations in {} sync I/Os, {windows:?} in windows of {MEASURED} \
             queued I/Os",
            MEASURED / 2
        );
        if sync > 0 || queued > 0 {
            failed.push(format!("{what}: sync {sync}, queued {queued}"));
        }
        checked.push(q.engine_id());
    }
    checked.sort_unstable();
    checked.dedup();
    println!("async interfaces checked: {checked:?}");
    for want in ["nil", "emu", "thrpool"] {
        assert!(checked.contains(&want), "{want} was not checked");
    }
    #[cfg(target_os = "linux")]
    for want in ["io_uring", "libaio", "posix"] {
        assert!(checked.contains(&want), "{want} was not checked");
    }
    assert!(
        failed.is_empty(),
        "allocations per I/O:\n{}",
        failed.join("\n")
    );
    let _ = Options::default();
}
