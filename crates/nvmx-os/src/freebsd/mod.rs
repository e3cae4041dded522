//! FreeBSD interfaces: the NVMe driver's passthrough ioctls (`nvme`) and
//! enumeration of NVMe nodes under `/dev` (`dev`). POSIX aio completed
//! through a kqueue is [`crate::posix_aio::kqueue`], an engine of POSIX
//! aio.
//!
//! Each module keeps what can be checked without FreeBSD (ioctl numbers,
//! structure layouts, command marshalling, completion and event decoding,
//! device-name parsing) in code that compiles and is unit-tested on every
//! host. The system calls themselves sit in small
//! `#[cfg(target_os = "freebsd")]` submodules named `sys`, each `unsafe`
//! block with its reason; those are type-checked and linted for
//! `x86_64-unknown-freebsd` in CI but can only run on FreeBSD.

pub mod dev;
pub mod nvme;

/// The dev interface id of FreeBSD's configurations.
pub const DEV_ID: &str = "freebsd";
