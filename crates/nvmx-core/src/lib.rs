//! # nvmx-core
//!
//! The parts of nvmx every other crate builds on: errors ([`error`]),
//! buffers and the memory interface ([`buf`]), what was opened ([`ident`],
//! [`geo`], [`caps`]), options ([`opts`]) and URIs ([`uri`], with
//! [`uri::classify`] for paths), the backend interface traits an engine or
//! device implements ([`be`]: `SyncIo`, `Admin`, `AsyncEngine`) with the
//! configuration type and its selection ([`be::config`]), the one checked
//! planner of plain reads and writes ([`be::plan`]) and the check of a raw
//! command against its buffers ([`be::xfer_check`]), the async queue's
//! slot table ([`slots`]) and end-to-end protection information computed
//! on the host ([`pi`]).
//!
//! It must not depend on any backend (`nvmx-os`, `nvmx-ramdisk`,
//! `nvmx-upcie`) nor on the `nvmx` facade: they depend on it. It knows no
//! platform's list of configurations and opens no device; its own system
//! calls only classify a path (the transfer check asks an [`be::Admin`]
//! interface it is handed for Identify data).
#![deny(missing_docs)]

pub mod be;
pub mod buf;
pub mod caps;
pub mod error;
pub mod geo;
pub mod ident;
pub mod opts;
pub mod pi;
pub mod pi_mismatch;
pub mod slots;
pub mod uri;

pub use error::{Error, Result};
