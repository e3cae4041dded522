//! The Firmware Slot Information log page (LID 0x03).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::{trimmed_str, zeroed_default};

/// Firmware Slot Information log (LID 0x03; NVMe 2.0 base, Get Log Page): 512 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct FirmwareSlotLog {
    /// Active firmware info (AFI): active slot bits 2:0, next-reset slot bits 6:4.
    pub afi: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 7],
    /// Firmware revision for slots 1 to 7 (FRS1..FRS7), ASCII.
    #[serde(serialize_with = "ser_frs")]
    pub frs: [[u8; 8]; 7],
    #[serde(skip)]
    /// Reserved.
    pub rsvd64: [u8; 448],
}

const _: () = assert!(core::mem::size_of::<FirmwareSlotLog>() == 512);

fn ser_frs<S: serde::Serializer>(frs: &[[u8; 8]; 7], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(frs.iter().map(|f| trimmed_str(f)))
}

impl FirmwareSlotLog {
    /// The slot the running firmware was activated from (AFI bits 2:0).
    pub const fn active_slot(&self) -> u8 {
        self.afi & 0x7
    }

    /// The slot to activate at the next reset, if any (AFI bits 6:4).
    pub const fn next_slot(&self) -> Option<u8> {
        match (self.afi >> 4) & 0x7 {
            0 => None,
            s => Some(s),
        }
    }

    /// Firmware revision in `slot` (1 to 7), trimmed; `None` for other slot numbers.
    pub fn revision(&self, slot: u8) -> Option<&str> {
        let idx = (slot as usize).checked_sub(1)?;
        self.frs.get(idx).map(|f| trimmed_str(f))
    }
}

zeroed_default!(FirmwareSlotLog);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn firmware_slot_log_decodes_slots() {
        let mut log = FirmwareSlotLog {
            afi: 0x21,
            ..Default::default()
        };
        log.frs[0] = *b"1.2.3   ";
        log.frs[1] = *b"2.0.0\0\0\0";
        assert_eq!(log.active_slot(), 1);
        assert_eq!(log.next_slot(), Some(2));
        assert_eq!(log.revision(1), Some("1.2.3"));
        assert_eq!(log.revision(2), Some("2.0.0"));
        assert_eq!(log.revision(0), None);
        assert_eq!(log.revision(8), None);
        assert_eq!(offset_of!(FirmwareSlotLog, frs), 8);
        let v = serde_json::to_value(log).unwrap();
        assert_eq!(v["frs"][0], "1.2.3");
    }
}
