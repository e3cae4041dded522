//! Host-only logic, one test binary: bad inputs, fault injection, the KV
//! command set, property tests of the parsers and of the ramdisk, the
//! queue's buffer bookkeeping (run under Miri by testrig/miri.sh) and
//! backend selection. Everything here runs on the ramdisk or on files, on
//! the host and under Wine; nothing needs a device.

#[path = "../common/mod.rs"]
mod common;

mod bad_inputs;
mod fault;
mod kv;
mod prop_parse;
mod prop_ramdisk;
mod queue_memory;
mod selection;
