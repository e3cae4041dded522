//! Get Log Page: log identifiers, the command view, and the fixed-layout
//! log pages (NVMe 2.0 base, section 5.16).
//!
//! The variable-length Flexible Data Placement logs are parsed in
//! [`crate::fdp`]; the zone report in [`crate::zoned`].
//!
//! One file per log page; every item is re-exported here, so the paths
//! stay `nvmx_spec::log::X`.

mod changed;
mod cmd_effects;
mod error;
mod firmware;
mod sanitize;
mod smart;

pub use changed::*;
pub use cmd_effects::*;
pub use error::*;
pub use firmware::*;
pub use sanitize::*;
pub use smart::*;

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::identify::{ser, zeroed_default};
use crate::opcode::{AdminOpcode, Csi, open_enum};

open_enum! {
    /// Log page identifiers (NVMe 2.0 base, figure "Get Log Page – Log Page Identifiers";
    /// ZNS 1.1 adds the Changed Zone List).
    LogPageId: u8 {
        /// Supported Log Pages.
        SUPPORTED_LOG_PAGES = 0x00, "Supported Log Pages";
        /// Error Information.
        ERROR_INFO = 0x01, "Error Information";
        /// SMART / Health Information.
        SMART_HEALTH = 0x02, "SMART / Health Information";
        /// Firmware Slot Information.
        FW_SLOT = 0x03, "Firmware Slot Information";
        /// Changed Namespace List.
        CHANGED_NS_LIST = 0x04, "Changed Namespace List";
        /// Commands Supported and Effects.
        CMD_EFFECTS = 0x05, "Commands Supported and Effects";
        /// Device Self-test.
        DEVICE_SELF_TEST = 0x06, "Device Self-test";
        /// Telemetry Host-Initiated.
        TELEMETRY_HOST = 0x07, "Telemetry Host-Initiated";
        /// Telemetry Controller-Initiated.
        TELEMETRY_CTRL = 0x08, "Telemetry Controller-Initiated";
        /// Endurance Group Information.
        ENDURANCE_GROUP = 0x09, "Endurance Group Information";
        /// Predictable Latency Per NVM Set.
        PREDICTABLE_LATENCY = 0x0a, "Predictable Latency Per NVM Set";
        /// Predictable Latency Event Aggregate.
        PREDICTABLE_LATENCY_AGG = 0x0b, "Predictable Latency Event Aggregate";
        /// Asymmetric Namespace Access.
        ANA = 0x0c, "Asymmetric Namespace Access";
        /// Persistent Event Log.
        PERSISTENT_EVENT = 0x0d, "Persistent Event Log";
        /// LBA Status Information.
        LBA_STATUS = 0x0e, "LBA Status Information";
        /// Endurance Group Event Aggregate.
        ENDURANCE_GROUP_AGG = 0x0f, "Endurance Group Event Aggregate";
        /// Media Unit Status.
        MEDIA_UNIT_STATUS = 0x10, "Media Unit Status";
        /// Supported Capacity Configuration List.
        CAPACITY_CONFIG_LIST = 0x11, "Supported Capacity Configuration List";
        /// Feature Identifiers Supported and Effects.
        FID_EFFECTS = 0x12, "Feature Identifiers Supported and Effects";
        /// NVMe-MI Commands Supported and Effects.
        MI_CMD_EFFECTS = 0x13, "NVMe-MI Commands Supported and Effects";
        /// Command and Feature Lockdown.
        LOCKDOWN = 0x14, "Command and Feature Lockdown";
        /// Boot Partition.
        BOOT_PARTITION = 0x15, "Boot Partition";
        /// Rotational Media Information.
        ROTATIONAL_MEDIA = 0x16, "Rotational Media Information";
        /// FDP Configurations.
        FDP_CONFIG = 0x20, "FDP Configurations";
        /// Reclaim Unit Handle Usage.
        RUH_USAGE = 0x21, "Reclaim Unit Handle Usage";
        /// FDP Statistics.
        FDP_STATS = 0x22, "FDP Statistics";
        /// FDP Events.
        FDP_EVENTS = 0x23, "FDP Events";
        /// Discovery (NVMe over Fabrics).
        DISCOVERY = 0x70, "Discovery";
        /// Reservation Notification.
        RESERVATION = 0x80, "Reservation Notification";
        /// Sanitize Status.
        SANITIZE_STATUS = 0x81, "Sanitize Status";
        /// Changed Zone List (Zoned Namespace command set).
        CHANGED_ZONE_LIST = 0xbf, "Changed Zone List";
    }
}

/// Number of dwords, zero-based, to request `nbytes` of log data: the value
/// for [`GetLogPage::numd`]. `nbytes` should be a non-zero multiple of 4;
/// a shorter length is rounded down, with a minimum of one dword.
pub const fn numd_for_nbytes(nbytes: usize) -> u32 {
    let ndw = (nbytes / 4) as u64;
    if ndw == 0 {
        0
    } else if ndw > 1 << 32 {
        u32::MAX
    } else {
        (ndw - 1) as u32
    }
}

/// Typed view of the Get Log Page admin command (NVMe 2.0 base, section 5.16).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct GetLogPage {
    /// Namespace identifier, or `0xffffffff` for the controller-wide page.
    pub nsid: u32,
    /// Log page identifier (CDW10 bits 7:0).
    pub lid: LogPageId,
    /// Log specific parameter (CDW10 bits 14:8, 7 bits).
    pub lsp: u8,
    /// Retain asynchronous event (CDW10 bit 15).
    pub rae: bool,
    /// Number of dwords to return, zero-based, split over NUMDL (CDW10 bits
    /// 31:16) and NUMDU (CDW11 bits 15:0). See [`numd_for_nbytes`].
    pub numd: u32,
    /// Log specific identifier (CDW11 bits 31:16), e.g. an endurance group.
    pub lsi: u16,
    /// Log page offset (CDW12 low, CDW13 high): a byte offset, or an index
    /// when `ot` is set.
    pub lpo: u64,
    /// Command set identifier (CDW14 bits 31:24).
    pub csi: Csi,
    /// Offset type (CDW14 bit 23): `lpo` is an entry index rather than bytes.
    pub ot: bool,
    /// UUID index (CDW14 bits 6:0).
    pub uuid: u8,
}

impl GetLogPage {
    /// A request for `nbytes` of log page `lid` for `nsid`, from offset 0.
    pub const fn new(lid: LogPageId, nsid: u32, nbytes: usize) -> Self {
        Self {
            nsid,
            lid,
            lsp: 0,
            rae: false,
            numd: numd_for_nbytes(nbytes),
            lsi: 0,
            lpo: 0,
            csi: Csi::NVM,
            ot: false,
            uuid: 0,
        }
    }

    /// Number of bytes the command transfers.
    pub const fn nbytes(&self) -> u64 {
        (self.numd as u64 + 1) * 4
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(AdminOpcode::GET_LOG_PAGE.0, self.nsid);
        cmd.cdw10 = self.lid.0 as u32
            | ((self.lsp & 0x7f) as u32) << 8
            | (self.rae as u32) << 15
            | (self.numd & 0xffff) << 16;
        cmd.cdw11 = self.numd >> 16 | (self.lsi as u32) << 16;
        cmd.cdw12 = self.lpo as u32;
        cmd.cdw13 = (self.lpo >> 32) as u32;
        cmd.cdw14 = (self.uuid & 0x7f) as u32 | (self.ot as u32) << 23 | (self.csi.0 as u32) << 24;
        cmd
    }

    /// Decodes a submission entry as a Get Log Page command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            lid: LogPageId(cmd.cdw10 as u8),
            lsp: ((cmd.cdw10 >> 8) & 0x7f) as u8,
            rae: cmd.cdw10 >> 15 & 1 == 1,
            numd: cmd.cdw10 >> 16 | (cmd.cdw11 & 0xffff) << 16,
            lsi: (cmd.cdw11 >> 16) as u16,
            lpo: cmd.cdw12 as u64 | (cmd.cdw13 as u64) << 32,
            csi: Csi((cmd.cdw14 >> 24) as u8),
            ot: cmd.cdw14 >> 23 & 1 == 1,
            uuid: (cmd.cdw14 & 0x7f) as u8,
        }
    }
}

/// Supported Log Pages log (LID 0x00; NVMe 2.0 base, Get Log Page): one
/// dword per log identifier, bit 0 set when supported.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct SupportedLogPages {
    /// LID supported and effects, indexed by log identifier.
    #[serde(serialize_with = "ser::sparse_u32")]
    pub lids: [u32; 256],
}

const _: () = assert!(core::mem::size_of::<SupportedLogPages>() == 1024);

impl SupportedLogPages {
    /// Whether log page `lid` is supported.
    pub const fn supports(&self, lid: LogPageId) -> bool {
        self.lids[lid.0 as usize] & 1 == 1
    }
}

zeroed_default!(SupportedLogPages);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_log_page_splits_numd_and_offset() {
        let mut glp = GetLogPage::new(LogPageId::FDP_CONFIG, 0xffff_ffff, 0x40_0000);
        glp.lsi = 1;
        glp.lpo = 0x1_0000_0200;
        glp.rae = true;
        glp.lsp = 0x7f;
        glp.csi = Csi::ZONED;
        glp.ot = true;
        glp.uuid = 3;
        let cmd = glp.to_command();
        assert_eq!(cmd.opc, 0x02);
        assert_eq!(glp.numd, 0xf_ffff);
        assert_eq!(cmd.cdw10, 0xffff_0000 | 1 << 15 | 0x7f << 8 | 0x20);
        assert_eq!(cmd.cdw11, 0x0001_000f);
        assert_eq!((cmd.cdw12, cmd.cdw13), (0x200, 1));
        assert_eq!(cmd.cdw14, 0x0280_0003);
        assert_eq!(GetLogPage::from_command(&cmd), glp);
        assert_eq!(glp.nbytes(), 0x40_0000);
    }

    #[test]
    fn numd_is_zero_based_dwords() {
        assert_eq!(numd_for_nbytes(512), 127);
        assert_eq!(numd_for_nbytes(4), 0);
        assert_eq!(numd_for_nbytes(0), 0);
        assert_eq!(numd_for_nbytes(4096), 1023);
    }

    #[test]
    fn unknown_log_page_id_round_trips() {
        let lid = LogPageId(0xca);
        assert_eq!(lid.name(), None);
        let cmd = GetLogPage::new(lid, 1, 512).to_command();
        assert_eq!(GetLogPage::from_command(&cmd).lid, lid);
        assert_eq!(LogPageId::SANITIZE_STATUS.0, 0x81);
    }

    #[test]
    fn supported_log_pages_checks_bit_zero() {
        let mut s = SupportedLogPages::default();
        s.lids[0x02] = 1;
        assert!(s.supports(LogPageId::SMART_HEALTH));
        assert!(!s.supports(LogPageId::ERROR_INFO));
    }
}
