//! The controller registers the ramdisk reports: those of an enabled,
//! ready controller that supports the I/O command sets and NVM subsystem
//! reset. There is no BAR behind them; they are built on each read.

use nvmx_spec::regs::{Aqa, Cap, Cc, ControllerRegisters, Csts, Version};
use zerocopy::FromZeros;

use super::ctrl::RamCtrl;

/// CAP: MQES 1023 (zero-based), contiguous queues required, timeout 7.5 s
/// (15 × 500 ms), NSSRS, CSS = NVM + I/O command sets, 4 KiB pages only.
const CAP: u64 = 1023 | (1 << 16) | (15 << 24) | (1 << 36) | (1 << 37) | (1 << 43);

/// CC: enabled, I/O command sets selected (CSS 110b), 64-byte SQ and
/// 16-byte CQ entries.
const CC: u32 = 1 | (0b110 << 4) | (6 << 16) | (4 << 20);

/// Builds the register block for `ctrl`.
pub(super) fn registers(ctrl: &RamCtrl) -> ControllerRegisters {
    let mut r = ControllerRegisters::new_zeroed();
    r.cap = Cap(CAP);
    r.vs = Version(0x0002_0000);
    r.cc = Cc(CC);
    // RDY, and CFS when an injected fault made the controller fatal.
    r.csts = Csts(1 | u32::from(ctrl.faults.is_fatal()) << 1);
    r.aqa = Aqa(31 | (31 << 16));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_decode_as_a_ready_controller() {
        let mut r = ControllerRegisters::new_zeroed();
        r.cap = Cap(CAP);
        assert_eq!(r.cap.mqes(), 1023);
        assert!(r.cap.nssrs());
        assert_eq!(Version(0x0002_0000).mjr(), 2);
        assert!(Csts(1).rdy());
        assert!(Cc(CC).en());
    }
}
