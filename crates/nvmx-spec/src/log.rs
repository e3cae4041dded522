//! Get Log Page: log identifiers, the command view, and the fixed-layout
//! log pages (NVMe 2.0 base, section 5.16).
//!
//! The variable-length Flexible Data Placement logs are parsed in
//! [`crate::fdp`]; the zone report in [`crate::zoned`].

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::identify::{ser, trimmed_str, zeroed_default};
use crate::opcode::{AdminOpcode, Csi, open_enum};
use crate::status::Status;

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

/// An Error Information log entry (LID 0x01; NVMe 2.0 base, Get Log Page): 64 bytes.
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
pub struct ErrorInfoEntry {
    /// Error count: a unique, incrementing identifier; 0 marks an unused entry.
    pub error_count: u64,
    /// Submission queue identifier of the failed command.
    pub sqid: u16,
    /// Command identifier of the failed command.
    pub cid: u16,
    /// Phase tag (bit 0) and status field (bits 15:1) of the completion.
    pub status_field: u16,
    /// Parameter error location: byte (bits 7:0) and bit (bits 10:8) in the command.
    pub parm_error_location: u16,
    /// First LBA that saw the error.
    pub lba: u64,
    /// Namespace of the error.
    pub nsid: u32,
    /// Vendor specific information available: the log page with that LID holds more.
    pub vs: u8,
    /// Transport type (TRTYPE).
    pub trtype: u8,
    /// Command set identifier of the failed command, where reported.
    pub csi: u8,
    /// Opcode of the failed command, where reported.
    pub opc: u8,
    /// Command specific information.
    pub cs: u64,
    /// Transport type specific information.
    pub trtype_spec_info: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd42: [u8; 22],
}

const _: () = assert!(core::mem::size_of::<ErrorInfoEntry>() == 64);

impl ErrorInfoEntry {
    /// The decoded status of the failed command.
    pub const fn status(&self) -> Status {
        Status::from_raw(self.status_field >> 1)
    }

    /// Whether this entry holds an error (a non-zero error count).
    pub const fn is_valid(&self) -> bool {
        self.error_count != 0
    }
}

/// Critical warning bits of [`SmartHealthLog::critical_warning`].
pub mod critical_warning {
    /// Available spare capacity has fallen below the threshold.
    pub const SPARE: u8 = 1 << 0;
    /// A temperature is outside its threshold.
    pub const TEMPERATURE: u8 = 1 << 1;
    /// NVM subsystem reliability is degraded.
    pub const DEGRADED: u8 = 1 << 2;
    /// All media is read-only.
    pub const READ_ONLY: u8 = 1 << 3;
    /// Volatile memory backup device has failed.
    pub const VOLATILE_BACKUP: u8 = 1 << 4;
    /// Persistent memory region has become read-only or unreliable.
    pub const PMR_READ_ONLY: u8 = 1 << 5;
}

/// SMART / Health Information log (LID 0x02; NVMe 2.0 base, Get Log Page): 512 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct SmartHealthLog {
    /// Critical warning bits, see [`critical_warning`].
    pub critical_warning: u8,
    /// Composite temperature in kelvin, little-endian (unaligned in the page).
    #[serde(serialize_with = "ser::u16_le")]
    pub temperature: [u8; 2],
    /// Available spare, percent.
    pub avail_spare: u8,
    /// Available spare threshold, percent.
    pub spare_thresh: u8,
    /// Percentage used (may exceed 100).
    pub percent_used: u8,
    /// Endurance group critical warning summary.
    pub endu_grp_crit_warn_sumry: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd7: [u8; 25],
    /// Data units read, in thousands of 512-byte units.
    #[serde(serialize_with = "ser::u128_le")]
    pub data_units_read: [u8; 16],
    /// Data units written, in thousands of 512-byte units.
    #[serde(serialize_with = "ser::u128_le")]
    pub data_units_written: [u8; 16],
    /// Host read commands completed.
    #[serde(serialize_with = "ser::u128_le")]
    pub host_read_commands: [u8; 16],
    /// Host write commands completed.
    #[serde(serialize_with = "ser::u128_le")]
    pub host_write_commands: [u8; 16],
    /// Controller busy time, in minutes.
    #[serde(serialize_with = "ser::u128_le")]
    pub ctrl_busy_time: [u8; 16],
    /// Power cycles.
    #[serde(serialize_with = "ser::u128_le")]
    pub power_cycles: [u8; 16],
    /// Power-on hours.
    #[serde(serialize_with = "ser::u128_le")]
    pub power_on_hours: [u8; 16],
    /// Unsafe shutdowns.
    #[serde(serialize_with = "ser::u128_le")]
    pub unsafe_shutdowns: [u8; 16],
    /// Media and data integrity errors.
    #[serde(serialize_with = "ser::u128_le")]
    pub media_errors: [u8; 16],
    /// Number of error information log entries over the controller's life.
    #[serde(serialize_with = "ser::u128_le")]
    pub num_err_log_entries: [u8; 16],
    /// Minutes spent above the warning composite temperature threshold.
    pub warning_temp_time: u32,
    /// Minutes spent above the critical composite temperature threshold.
    pub critical_comp_time: u32,
    /// Temperature sensors 1 to 8 in kelvin; 0 = not implemented.
    pub temp_sensor: [u16; 8],
    /// Thermal management temperature 1 transition count.
    pub thm_temp1_trans_count: u32,
    /// Thermal management temperature 2 transition count.
    pub thm_temp2_trans_count: u32,
    /// Total seconds at thermal management temperature 1.
    pub thm_temp1_total_time: u32,
    /// Total seconds at thermal management temperature 2.
    pub thm_temp2_total_time: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd232: [u8; 280],
}

const _: () = assert!(core::mem::size_of::<SmartHealthLog>() == 512);

impl SmartHealthLog {
    /// Composite temperature in kelvin.
    pub const fn temperature(&self) -> u16 {
        u16::from_le_bytes(self.temperature)
    }

    /// Composite temperature in degrees Celsius.
    pub const fn temperature_celsius(&self) -> i32 {
        self.temperature() as i32 - 273
    }

    /// Data units read (each 1000 × 512 bytes).
    pub const fn data_units_read(&self) -> u128 {
        u128::from_le_bytes(self.data_units_read)
    }

    /// Data units written (each 1000 × 512 bytes).
    pub const fn data_units_written(&self) -> u128 {
        u128::from_le_bytes(self.data_units_written)
    }

    /// Host read commands completed.
    pub const fn host_read_commands(&self) -> u128 {
        u128::from_le_bytes(self.host_read_commands)
    }

    /// Host write commands completed.
    pub const fn host_write_commands(&self) -> u128 {
        u128::from_le_bytes(self.host_write_commands)
    }

    /// Controller busy time in minutes.
    pub const fn ctrl_busy_time(&self) -> u128 {
        u128::from_le_bytes(self.ctrl_busy_time)
    }

    /// Power cycles.
    pub const fn power_cycles(&self) -> u128 {
        u128::from_le_bytes(self.power_cycles)
    }

    /// Power-on hours.
    pub const fn power_on_hours(&self) -> u128 {
        u128::from_le_bytes(self.power_on_hours)
    }

    /// Unsafe shutdowns.
    pub const fn unsafe_shutdowns(&self) -> u128 {
        u128::from_le_bytes(self.unsafe_shutdowns)
    }

    /// Media and data integrity errors.
    pub const fn media_errors(&self) -> u128 {
        u128::from_le_bytes(self.media_errors)
    }

    /// Number of error information log entries.
    pub const fn num_err_log_entries(&self) -> u128 {
        u128::from_le_bytes(self.num_err_log_entries)
    }
}

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

/// Changed Namespace List log (LID 0x04; NVMe 2.0 base, Get Log Page): the
/// namespace list layout. A first entry of `0xffffffff` means more than
/// 1024 namespaces changed.
pub type ChangedNsList = crate::identify::NamespaceList;

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

/// Sanitize status values (SSTAT bits 2:0) of [`SanitizeStatusLog`].
pub mod sanitize_status {
    /// The NVM subsystem has never been sanitized.
    pub const NEVER: u8 = 0x0;
    /// The last sanitize operation completed successfully.
    pub const COMPLETED: u8 = 0x1;
    /// A sanitize operation is in progress.
    pub const IN_PROGRESS: u8 = 0x2;
    /// The last sanitize operation failed.
    pub const FAILED: u8 = 0x3;
    /// Completed successfully with no-deallocate after sanitize.
    pub const COMPLETED_NO_DEALLOC: u8 = 0x4;
}

/// Sanitize Status log (LID 0x81; NVMe 2.0 base, figure "Sanitize Status Log Page"): 512 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct SanitizeStatusLog {
    /// Sanitize progress (SPROG): fraction complete, numerator over 65536.
    pub sprog: u16,
    /// Sanitize status (SSTAT): status bits 2:0, overwrite passes bits 7:3,
    /// global data erased bit 8.
    pub sstat: u16,
    /// Command dword 10 of the last Sanitize command (SCDW10).
    pub scdw10: u32,
    /// Estimated time for overwrite, seconds (`u32::MAX` = unknown).
    pub eto: u32,
    /// Estimated time for block erase, seconds.
    pub etbe: u32,
    /// Estimated time for crypto erase, seconds.
    pub etce: u32,
    /// Estimated time for overwrite with no-deallocate, seconds.
    pub etond: u32,
    /// Estimated time for block erase with no-deallocate, seconds.
    pub etbend: u32,
    /// Estimated time for crypto erase with no-deallocate, seconds.
    pub etcend: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd32: [u8; 480],
}

const _: () = assert!(core::mem::size_of::<SanitizeStatusLog>() == 512);

impl SanitizeStatusLog {
    /// Status of the most recent sanitize operation, see [`sanitize_status`].
    pub const fn status(&self) -> u8 {
        (self.sstat & 0x7) as u8
    }

    /// Progress of a sanitize in progress, in percent.
    pub const fn progress_percent(&self) -> u32 {
        self.sprog as u32 * 100 / 65536
    }

    /// Whether global data has been erased since the last sanitize (SSTAT bit 8).
    pub const fn global_data_erased(&self) -> bool {
        self.sstat >> 8 & 1 == 1
    }
}

/// Changed Zone List log (LID 0xBF; ZNS 1.1, figure "Changed Zone List Log Page"): 4096 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ChangedZoneList {
    /// Number of zone identifiers (NRZID); `0xffff` means more than 511 changed.
    pub nrzid: u16,
    /// Reserved.
    pub rsvd2: [u8; 6],
    /// Zone identifiers: the start LBAs of the changed zones.
    pub zid: [u64; 511],
}

const _: () = assert!(core::mem::size_of::<ChangedZoneList>() == 4096);

impl ChangedZoneList {
    /// Whether more zones changed than the list holds.
    pub const fn overflowed(&self) -> bool {
        self.nrzid == 0xffff
    }

    /// The listed zone identifiers (empty when the list overflowed).
    pub fn zids(&self) -> &[u64] {
        if self.overflowed() {
            &[]
        } else {
            &self.zid[..(self.nrzid as usize).min(511)]
        }
    }
}

impl Serialize for ChangedZoneList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ChangedZoneList", 2)?;
        st.serialize_field("nrzid", &self.nrzid)?;
        st.serialize_field("zid", self.zids())?;
        st.end()
    }
}

zeroed_default!(
    SupportedLogPages,
    SmartHealthLog,
    FirmwareSlotLog,
    CommandsSupportedEffects,
    SanitizeStatusLog,
    ChangedZoneList,
);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

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
    fn error_info_entry_offsets_match_base_spec() {
        assert_eq!(offset_of!(ErrorInfoEntry, sqid), 8);
        assert_eq!(offset_of!(ErrorInfoEntry, status_field), 12);
        assert_eq!(offset_of!(ErrorInfoEntry, lba), 16);
        assert_eq!(offset_of!(ErrorInfoEntry, nsid), 24);
        assert_eq!(offset_of!(ErrorInfoEntry, trtype), 29);
        assert_eq!(offset_of!(ErrorInfoEntry, cs), 32);
        assert_eq!(offset_of!(ErrorInfoEntry, trtype_spec_info), 40);
    }

    #[test]
    fn error_info_status_drops_the_phase_bit() {
        let e = ErrorInfoEntry {
            error_count: 1,
            status_field: 0x0181 << 1 | 1,
            ..Default::default()
        };
        let st = e.status();
        assert_eq!(st.sct, 1);
        assert_eq!(st.sc, 0x81);
        assert!(e.is_valid());
    }

    #[test]
    fn smart_log_offsets_match_base_spec() {
        assert_eq!(offset_of!(SmartHealthLog, temperature), 1);
        assert_eq!(offset_of!(SmartHealthLog, percent_used), 5);
        assert_eq!(offset_of!(SmartHealthLog, data_units_read), 32);
        assert_eq!(offset_of!(SmartHealthLog, host_read_commands), 64);
        assert_eq!(offset_of!(SmartHealthLog, power_cycles), 112);
        assert_eq!(offset_of!(SmartHealthLog, power_on_hours), 128);
        assert_eq!(offset_of!(SmartHealthLog, num_err_log_entries), 176);
        assert_eq!(offset_of!(SmartHealthLog, warning_temp_time), 192);
        assert_eq!(offset_of!(SmartHealthLog, temp_sensor), 200);
        assert_eq!(offset_of!(SmartHealthLog, thm_temp1_trans_count), 216);
        assert_eq!(offset_of!(SmartHealthLog, thm_temp2_total_time), 228);
    }

    #[test]
    fn smart_log_decodes_counters_and_temperature() {
        let mut raw = [0u8; 512];
        raw[1..3].copy_from_slice(&310u16.to_le_bytes());
        raw[32] = 0x01;
        raw[47] = 0x80; // top byte of data units read
        raw[128..130].copy_from_slice(&1000u16.to_le_bytes());
        let log = SmartHealthLog::read_from_bytes(&raw[..]).unwrap();
        assert_eq!(log.temperature(), 310);
        assert_eq!(log.temperature_celsius(), 37);
        assert_eq!(log.data_units_read(), 1 << 127 | 1);
        assert_eq!(log.power_on_hours(), 1000);
        // Counters beyond 64 bits need the format's u128 support...
        let json = serde_json::to_string(&log).unwrap();
        assert!(json.contains(r#""data_units_read":170141183460469231731687303715884105729"#));
        // ...the others serialize as u64, so they also fit a serde_json::Value.
        let mut small = log;
        small.data_units_read = [0; 16];
        let v = serde_json::to_value(small).unwrap();
        assert_eq!(v["temperature"], 310);
        assert_eq!(v["power_on_hours"], 1000);
    }

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

    #[test]
    fn sanitize_log_offsets_match_base_spec() {
        assert_eq!(offset_of!(SanitizeStatusLog, sstat), 2);
        assert_eq!(offset_of!(SanitizeStatusLog, scdw10), 4);
        assert_eq!(offset_of!(SanitizeStatusLog, eto), 8);
        assert_eq!(offset_of!(SanitizeStatusLog, etcend), 28);
        let log = SanitizeStatusLog {
            sprog: 0x8000,
            sstat: 0x102,
            ..Default::default()
        };
        assert_eq!(log.status(), sanitize_status::IN_PROGRESS);
        assert_eq!(log.progress_percent(), 50);
        assert!(log.global_data_erased());
    }

    #[test]
    fn changed_zone_list_limits_to_nrzid() {
        assert_eq!(offset_of!(ChangedZoneList, zid), 8);
        let mut l = ChangedZoneList {
            nrzid: 2,
            ..Default::default()
        };
        l.zid[..3].copy_from_slice(&[0x1000, 0x2000, 0x3000]);
        assert_eq!(l.zids(), &[0x1000, 0x2000]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"nrzid":2,"zid":[4096,8192]}"#
        );
        l.nrzid = 0xffff;
        assert!(l.overflowed());
        assert!(l.zids().is_empty());
    }

    #[test]
    fn supported_log_pages_checks_bit_zero() {
        let mut s = SupportedLogPages::default();
        s.lids[0x02] = 1;
        assert!(s.supports(LogPageId::SMART_HEALTH));
        assert!(!s.supports(LogPageId::ERROR_INFO));
    }
}
