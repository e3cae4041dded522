//! What one command costs the library: submit plus completion on a queue
//! (the `nil` async interface, which moves nothing, and `emu` over the
//! ramdisk, which copies 4 KiB), and one synchronous read on the ramdisk.
//!
//!   cargo bench -p nvmx --bench per_command
//!
//! Wall-clock numbers move with the machine's load; bench/icount.sh counts
//! instructions per I/O instead, which does not.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nvmx::{Device, Options};

fn open(be: &str) -> Device {
    let opts = Options {
        be: Some(be.into()),
        ..Default::default()
    };
    Device::open("64MiB", &opts).expect("open a ramdisk")
}

/// One read submitted and reaped per iteration, at queue depth 1.
fn queued(c: &mut Criterion, be: &str, name: &str) {
    let dev = open(be);
    let mut q = dev.queue(1).unwrap();
    let mut buf = Some(dev.alloc(4096).unwrap());
    let mut slba = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            slba = (slba + 8) % (16384 * 8);
            q.read(black_box(slba), 7, buf.take().unwrap(), None, 0)
                .unwrap();
            q.poke(0).unwrap();
            let done = q.pop().unwrap();
            done.result.unwrap();
            buf = done.data;
        })
    });
}

fn benches(c: &mut Criterion) {
    queued(c, "ramdisk", "queue read 4KiB qd1 nil (submit+complete)");
    queued(c, "ramdisk_emu", "queue read 4KiB qd1 emu over ramdisk");
    let dev = open("ramdisk");
    let mut buf = dev.alloc(4096).unwrap();
    let mut slba = 0u64;
    c.bench_function("sync read 4KiB ramdisk", |b| {
        b.iter(|| {
            slba = (slba + 8) % (16384 * 8);
            dev.read(black_box(slba), 7, &mut buf, None).unwrap();
        })
    });
}

criterion_group!(per_command, benches);
criterion_main!(per_command);
