//! The Commands Supported and Effects log page (LID 0x05).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::{ser, zeroed_default};

/// Bits of a Commands Supported and Effects entry (NVMe 2.0 base, Get Log Page).
pub mod effects {
    /// Command supported (CSUPP).
    pub const CSUPP: u32 = 1 << 0;
    /// Logical block content change (LBCC).
    pub const LBCC: u32 = 1 << 1;
    /// Namespace capability change (NCC).
    pub const NCC: u32 = 1 << 2;
    /// Namespace inventory change (NIC).
    pub const NIC: u32 = 1 << 3;
    /// Controller capability change (CCC).
    pub const CCC: u32 = 1 << 4;
    /// UUID selection supported.
    pub const UUID_SEL: u32 = 1 << 19;

    /// Command submission and execution (CSE, bits 18:16): 0 no restriction,
    /// 1 one at a time per namespace, 2 one at a time per subsystem.
    pub const fn cse(entry: u32) -> u8 {
        ((entry >> 16) & 0x7) as u8
    }
}

/// Commands Supported and Effects log (LID 0x05; NVMe 2.0 base, Get Log Page): 4096 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct CommandsSupportedEffects {
    /// Admin commands supported, indexed by opcode; see [`effects`].
    #[serde(serialize_with = "ser::sparse_u32")]
    pub acs: [u32; 256],
    /// I/O commands supported, indexed by opcode; see [`effects`].
    #[serde(serialize_with = "ser::sparse_u32")]
    pub iocs: [u32; 256],
    #[serde(skip)]
    /// Reserved.
    pub rsvd2048: [u8; 2048],
}

const _: () = assert!(core::mem::size_of::<CommandsSupportedEffects>() == 4096);

impl CommandsSupportedEffects {
    /// The effects entry of admin opcode `opc`.
    pub const fn admin(&self, opc: u8) -> u32 {
        self.acs[opc as usize]
    }

    /// The effects entry of I/O opcode `opc`.
    pub const fn io(&self, opc: u8) -> u32 {
        self.iocs[opc as usize]
    }

    /// Whether I/O opcode `opc` is supported.
    pub const fn io_supported(&self, opc: u8) -> bool {
        self.io(opc) & effects::CSUPP != 0
    }
}

zeroed_default!(CommandsSupportedEffects);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn command_effects_offsets_and_lookup() {
        assert_eq!(offset_of!(CommandsSupportedEffects, iocs), 1024);
        let mut log = CommandsSupportedEffects::default();
        log.iocs[0x01] = effects::CSUPP | effects::LBCC;
        log.acs[0x06] = effects::CSUPP;
        assert!(log.io_supported(0x01));
        assert!(!log.io_supported(0x02));
        assert_eq!(effects::cse(2 << 16), 2);
        let v = serde_json::to_value(log).unwrap();
        assert_eq!(v["iocs"]["1"], 3);
        assert_eq!(v["acs"].as_object().unwrap().len(), 1);
    }
}
