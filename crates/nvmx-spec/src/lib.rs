//! NVMe specification data structures.
//!
//! This crate holds the wire layouts of the NVMe 2.0 base specification and
//! its command-set specifications (NVM, Zoned Namespace, Key Value) as plain
//! `#[repr(C)]` Rust types. It has no `unsafe` code and does no I/O: bytes go
//! in and out through [`zerocopy`], and every type serializes with serde for
//! printing.
//!
//! Conventions:
//! - Field names follow the specification's abbreviations (`slba`, `nlb`,
//!   `mdts`, `cdw10`).
//! - Values the specification leaves open (opcodes, status codes, log page
//!   and feature identifiers) are "open enums": newtypes over the raw integer
//!   with named constants, so an unknown value survives a round trip.
//! - Every layout's size is asserted at compile time, and key field offsets
//!   are checked in tests against the specification.
//! - Multi-byte fields are little-endian on the wire; the types use native
//!   integers, so this crate targets little-endian hosts (checked below).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

#[cfg(not(target_endian = "little"))]
compile_error!(
    "nvmx-spec maps NVMe's little-endian layouts onto native integers: big-endian hosts are not supported"
);

pub mod cmd;
pub mod cpl;
pub mod opcode;
pub mod status;

pub mod copy;
pub mod directive;
pub mod dsm;
pub mod fdp;
pub mod feature;
pub mod identify;
pub mod kv;
pub mod log;
pub mod pi;
pub mod regs;
pub mod zoned;

pub use cmd::Command;
pub use cpl::Completion;
pub use status::Status;
