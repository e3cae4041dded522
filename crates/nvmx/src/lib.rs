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
//! The layers, from the bottom: [`nvmx_spec`] (wire layouts), the backend
//! interfaces in [`be`], backend selection ([`be::config`]), and the
//! user-facing [`Device`], [`Queue`] and [`Buffer`].
#![deny(missing_docs)]

pub mod be;
pub mod buf;
pub mod caps;
pub mod device;
pub mod directive;
pub mod enumerate;
pub mod error;
pub mod fdp;
pub mod format;
pub mod geo;
pub mod ident;
pub mod kv;
pub mod opts;
pub mod pi;
pub mod platform;
pub mod queue;
pub mod uri;
pub mod zoned;

mod admin;
mod copy;
mod nvm;
mod pseudo;

pub use nvmx_spec as spec;

pub use buf::Buffer;
pub use caps::Caps;
pub use copy::CopyRanges;
pub use device::Device;
pub use enumerate::enumerate;
pub use error::{Error, Result};
pub use format::{FormatNvm, Sanitize, SanitizeAction, SecureErase};
pub use geo::Geometry;
pub use ident::{DevType, Ident};
pub use opts::Options;
pub use pi::{PiIo, PiLayout, PiTags, Prchk};
pub use platform::in_use;
pub use queue::{Completed, Queue, Rejected};
pub use uri::Uri;

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
