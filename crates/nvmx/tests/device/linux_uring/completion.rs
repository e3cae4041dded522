//! Completions: the completion eventfd and pokes, a dropped queue with
//! reads in flight, and pokes with a limit.

use super::*;

#[test]
fn completion_fd_becomes_readable_and_poke_clears_it() {
    completion_fd_round(false);
}

/// With `--defer_taskrun` the kernel signals the eventfd when it queues
/// completion work, and only a poke on the owning thread turns the work
/// into completions: an event loop must still never stall.
#[test]
fn completion_fd_with_defer_taskrun_becomes_readable_and_poke_clears_it() {
    completion_fd_round(true);
}

fn completion_fd_round(defer: bool) {
    let f = temp_in(&std::env::temp_dir(), "cfd", 1 << 20);
    let dev = open(f.path(), &opts_with(|o| o.defer_taskrun = defer));
    let mut q = dev.queue(32).unwrap();
    let fd = q
        .completion_fd()
        .unwrap()
        .expect("io_uring has a completion fd");
    assert_eq!(
        q.completion_fd().unwrap(),
        Some(fd),
        "the same fd every time"
    );
    let readable = |ms: i32| {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        assert!(r >= 0, "poll: {}", std::io::Error::last_os_error());
        r == 1 && p.revents & libc::POLLIN != 0
    };
    assert!(!readable(0), "nothing submitted");
    for i in 0..32 {
        q.read(i, 0, dev.alloc(BS).unwrap(), None, i).unwrap();
    }
    // Queued, not yet submitted: the fd asks for the poke that submits.
    assert!(readable(0), "queued commands make the fd readable");
    let mut got = 0;
    let start = Instant::now();
    while got < 32 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "completions never signalled"
        );
        got += q.poke(0).unwrap();
        if got < 32 {
            assert!(
                readable(5000),
                "fd not readable with {} in flight",
                32 - got
            );
        }
    }
    // The kernel may signal the eventfd after the CQE is visible (it defers
    // the signal when a worker completes the request), so a late wake-up is
    // allowed: it must find nothing and must die out.
    let mut spurious = 0;
    while readable(20) {
        assert_eq!(q.poke(0).unwrap(), 0, "a late wake-up found work");
        spurious += 1;
        assert!(spurious < 3, "the fd stays readable with nothing to reap");
    }
    // Commands run at submit time (Write Zeroes) signal it too.
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    q.submit(wz, None, None, 99).unwrap();
    assert!(readable(1000));
    assert_eq!(q.poke(0).unwrap(), 1);
    assert!(!readable(0));
}

#[test]
fn dropping_a_queue_with_32_reads_in_flight_waits_for_them() {
    let f = temp_in(&std::env::temp_dir(), "dropq", 4 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    for _ in 0..3 {
        let mut q = dev.queue(32).unwrap();
        for i in 0..32 {
            q.read(i * 8, 7, dev.alloc(8 * BS).unwrap(), None, i)
                .unwrap();
        }
        q.poke(1).unwrap();
        let t = Instant::now();
        drop(q);
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    let mut q = dev.queue(32).unwrap();
    roundtrip(&mut q, 64, 0);
}

#[test]
fn poke_with_a_limit_reaps_no_more_than_asked() {
    let f = temp_in(&std::env::temp_dir(), "max", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(16).unwrap();
    for i in 0..16 {
        q.read(i, 0, dev.alloc(BS).unwrap(), None, i).unwrap();
    }
    let mut total = 0;
    let start = Instant::now();
    while total < 16 {
        assert!(start.elapsed() < Duration::from_secs(10));
        let n = q.poke(3).unwrap();
        assert!(n <= 3);
        total += n;
    }
    assert_eq!(q.outstanding(), 0);
}
