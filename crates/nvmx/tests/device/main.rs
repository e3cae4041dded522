//! Device conformance, one test binary: the suite every configuration
//! passes, controller operations, Simple Copy, MDTS, FDP, protection
//! information, zoned namespaces, the Linux interfaces (block, io_uring,
//! libaio and POSIX aio), Windows' own paths and the device benchmark.
//!
//! It runs on the host (ramdisks, files, loop devices as root), in the
//! QEMU guest against emulated NVMe controllers (testrig/vm/guest-suite.sh)
//! and under Wine (testrig/wine/windows-suite.sh). Tests that need such an
//! environment are ignored elsewhere, with the reason.

#[path = "../common/mod.rs"]
mod common;

mod aio;
mod bench_device;
mod conformance;
mod controller;
mod copy;
mod fdp;
mod linux_block;
mod linux_uring;
mod mdts;
mod pi;
mod raw_range;
mod windows;
mod zoned;
