//! # nvmx
//!
//! One safe API over every way a program can talk to an NVMe device:
//! kernel interfaces, a user-space driver, and portable fallbacks, picked at
//! run time by URI and options.
//!
//! ```
//! use nvmx::{Device, Options};
//!
//! # fn main() -> nvmx::Result<()> {
//! // A 64 MiB in-memory NVMe controller: no setup, no device.
//! let dev = Device::open("64MiB", &Options::default())?;
//! let geo = dev.geometry()?.clone();
//! let mut buf = dev.alloc_blocks(7)?;
//! buf.fill("anum")?;
//! dev.write(0, 7, &buf, None)?;
//!
//! // The same through an async queue: the queue owns the buffer while the
//! // command is in flight and hands it back with the completion.
//! let mut q = dev.queue(16)?;
//! let out = dev.alloc(8 * geo.lba_nbytes as usize)?;
//! q.read(0, 7, out, None, 42)?;
//! q.drain()?;
//! let done = q.pop().expect("one completion");
//! assert_eq!(done.tag, 42);
//! done.result?;
//! assert_eq!(&done.data.unwrap()[..], &buf[..]);
//! # Ok(())
//! # }
//! ```
//!
//! The crates, from the bottom: [`nvmx_spec`] (wire layouts), `nvmx-core`
//! (errors, buffers, options, URIs, the backend interface traits in
//! [`be`], configuration selection in [`be::config`], the queue's slot
//! table, PI computation), the backends (`nvmx-os`: the OS interfaces and
//! portable engines; `nvmx-ramdisk`: the in-memory controller;
//! `nvmx-upcie`: the user-space PCIe driver), and this crate, the facade:
//! the platform's ordered configuration lists ([`platform`]) and the
//! user-facing [`Device`], [`Queue`] and [`Buffer`]. This crate owns only
//! what needs a `Device`; the backends must not depend on it, and its
//! public paths (`nvmx::be::...`, `nvmx::buf::...`) re-export theirs.
#![deny(missing_docs)]

pub mod be;
pub mod device;
pub mod directive;
pub mod fdp;
pub mod format;
pub mod kv;
pub mod platform;
pub mod queue;
pub mod zoned;

mod admin;
mod copy;
mod nvm;
mod pi_io;
mod pseudo;

pub use nvmx_core::{buf, caps, error, geo, ident, opts, pi, uri};
pub use nvmx_spec as spec;

/// Device enumeration: what NVMe devices this system has, without opening
/// them (implemented per platform in `nvmx-os`).
pub mod enumerate {
    pub use crate::platform::enumerate;
    pub use nvmx_os::enumerate::{EnumEntry, EnumKind};
}

pub use buf::Buffer;
pub use caps::Caps;
pub use copy::CopyRanges;
pub use device::Device;
pub use enumerate::enumerate;
pub use error::{Error, Result};
pub use format::{FormatNvm, Sanitize, SanitizeAction, SecureErase};
pub use geo::Geometry;
pub use ident::{DevType, Ident};
pub use opts::{OpenMode, Options};
pub use pi::{PiIo, PiLayout, PiTags, Prchk};
pub use platform::in_use;
pub use queue::{Completed, Queue, Rejected};
pub use uri::Uri;

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
