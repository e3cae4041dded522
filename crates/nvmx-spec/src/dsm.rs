//! Dataset Management: the range descriptor and the command view (NVM
//! command set 1.0, "Dataset Management command").
//!
//! The command's data buffer holds up to 256 [`DsmRange`] entries; the
//! command says how many and what the host intends for them, most often
//! "deallocate" (trim).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::opcode::NvmOpcode;

/// Maximum number of ranges in one Dataset Management command.
pub const DSM_MAX_RANGES: usize = 256;

/// A Dataset Management range (NVM command set 1.0, figure "Dataset
/// Management – Range Definition"): 16 bytes.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(C)]
pub struct DsmRange {
    /// Context attributes (access frequency, latency, sequential hints).
    pub cattr: u32,
    /// Length in logical blocks: a count, not zero-based.
    pub nlb: u32,
    /// Starting LBA.
    pub slba: u64,
}

const _: () = assert!(core::mem::size_of::<DsmRange>() == 16);

impl DsmRange {
    /// A range of `nlb` blocks from `slba`, with no context attributes.
    pub const fn new(slba: u64, nlb: u32) -> Self {
        Self {
            cattr: 0,
            nlb,
            slba,
        }
    }
}

/// Typed view of the Dataset Management command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Dsm {
    /// Namespace identifier.
    pub nsid: u32,
    /// Number of ranges, zero-based (CDW10 bits 7:0): 0 means one range.
    pub nr: u8,
    /// Integral dataset for read (IDR, CDW11 bit 0).
    pub idr: bool,
    /// Integral dataset for write (IDW, CDW11 bit 1).
    pub idw: bool,
    /// Deallocate (AD, CDW11 bit 2).
    pub ad: bool,
}

impl Dsm {
    /// A deallocate (trim) of `nranges` ranges (1 to 256).
    pub const fn deallocate(nsid: u32, nranges: usize) -> Self {
        let nr = if nranges == 0 {
            0
        } else if nranges > DSM_MAX_RANGES {
            255
        } else {
            (nranges - 1) as u8
        };
        Self {
            nsid,
            nr,
            idr: false,
            idw: false,
            ad: true,
        }
    }

    /// Number of ranges as a count (`nr + 1`).
    pub const fn nranges(&self) -> usize {
        self.nr as usize + 1
    }

    /// Size in bytes of the range buffer the command transfers.
    pub const fn nbytes(&self) -> usize {
        self.nranges() * core::mem::size_of::<DsmRange>()
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(NvmOpcode::DSM.0, self.nsid);
        cmd.cdw10 = self.nr as u32;
        cmd.cdw11 = self.idr as u32 | (self.idw as u32) << 1 | (self.ad as u32) << 2;
        cmd
    }

    /// Decodes a submission entry as a Dataset Management command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            nr: cmd.cdw10 as u8,
            idr: cmd.cdw11 & 1 != 0,
            idw: cmd.cdw11 & 2 != 0,
            ad: cmd.cdw11 & 4 != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn range_offsets_match_nvm_spec() {
        assert_eq!(offset_of!(DsmRange, cattr), 0);
        assert_eq!(offset_of!(DsmRange, nlb), 4);
        assert_eq!(offset_of!(DsmRange, slba), 8);
        let r = DsmRange::new(0x1122_3344, 8);
        assert_eq!(&r.as_bytes()[4..8], &8u32.to_le_bytes());
        assert_eq!(&r.as_bytes()[8..16], &0x1122_3344u64.to_le_bytes());
    }

    #[test]
    fn dsm_view_round_trips_and_sets_attribute_bits() {
        let dsm = Dsm::deallocate(1, 3);
        let cmd = dsm.to_command();
        assert_eq!(cmd.opc, 0x09);
        assert_eq!(cmd.cdw10, 2, "NR is zero-based");
        assert_eq!(cmd.cdw11, 0b100, "AD is CDW11 bit 2");
        assert_eq!(Dsm::from_command(&cmd), dsm);
        assert_eq!(dsm.nbytes(), 48);
        let all = Dsm {
            nsid: 1,
            nr: 255,
            idr: true,
            idw: true,
            ad: false,
        };
        assert_eq!(all.to_command().cdw11, 0b011);
        assert_eq!(all.nranges(), 256);
        assert_eq!(Dsm::deallocate(1, 1000).nr, 255);
    }
}
