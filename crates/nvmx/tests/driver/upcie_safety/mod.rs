//! The driver's safety rules on its emulated controller: memory a device
//! may still write is never given back (resets that fail, late DMA,
//! concurrent queues during a reset), failed queue re-creation does not
//! loop, and raw commands are checked against their buffers before
//! anything is mapped.

mod reset;
mod xfer;

use std::sync::Arc;
use std::time::Duration;

use nvmx::be::upcie::emu::{EMULATED, EmuBacking};
use nvmx::be::upcie::open_backing;
use nvmx::{Device, Options, Uri};

pub(super) const BDF: &str = "0000:00:04.0";

pub(super) fn opts(timeout_ms: u64) -> Options {
    Options {
        command_timeout: Duration::from_millis(timeout_ms),
        admin_timeout: Duration::from_millis(timeout_ms),
        ..Options::default()
    }
}

pub(super) fn open_with(emu: &Arc<EmuBacking>, dev_uri: &str, o: &Options) -> Device {
    let uri = Uri::parse(dev_uri).unwrap();
    let be = open_backing(emu.clone(), &uri, o).expect("open over the emulated controller");
    Device::from_backend(be, &EMULATED, o)
}

pub(super) fn emu(ram: &str) -> Arc<EmuBacking> {
    Arc::new(
        EmuBacking::new(ram)
            .expect("emulated controller")
            .with_timeout_units(1),
    )
}

pub(super) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    nvmx::buf::fill_random(&mut v, seed);
    v
}
