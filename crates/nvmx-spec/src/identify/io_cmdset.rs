//! The Identify I/O Command Set data structure (CNS 0x1C).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, zeroed_default};
use crate::opcode::Csi;

/// The Identify I/O Command Set data structure (CNS 0x1C; NVMe 2.0 base,
/// figure "Identify I/O Command Set Data Structure"): 512 command set
/// combinations, each a bit vector indexed by CSI.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IoCommandSetVectors {
    /// I/O command set combinations; bit `n` of an entry set means CSI `n`.
    #[serde(serialize_with = "ser::seq")]
    pub iocsc: [u64; 512],
}

const _: () = assert!(core::mem::size_of::<IoCommandSetVectors>() == IDENTIFY_NBYTES);

impl IoCommandSetVectors {
    /// Whether combination `index` includes the command set `csi`.
    pub const fn includes(&self, index: usize, csi: Csi) -> bool {
        csi.0 < 64 && self.iocsc[index & 0x1ff] >> csi.0 & 1 == 1
    }
}

zeroed_default!(IoCommandSetVectors);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_command_set_vectors_test_bits_by_csi() {
        let mut v = IoCommandSetVectors::default();
        v.iocsc[0] = 0b101;
        assert!(v.includes(0, Csi::NVM));
        assert!(!v.includes(0, Csi::KV));
        assert!(v.includes(0, Csi::ZONED));
    }
}
