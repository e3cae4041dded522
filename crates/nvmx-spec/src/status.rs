//! The completion status field, decoded: SCT, SC, CRD, M and DNR, with the
//! specification's names for generic, command-specific, media and path codes.

use core::fmt;
use serde::Serialize;

/// Status code types (SCT).
pub mod sct {
    /// Generic command status.
    pub const GENERIC: u8 = 0x0;
    /// Command specific status.
    pub const COMMAND_SPECIFIC: u8 = 0x1;
    /// Media and data integrity errors.
    pub const MEDIA: u8 = 0x2;
    /// Path related status.
    pub const PATH: u8 = 0x3;
    /// Vendor specific.
    pub const VENDOR: u8 = 0x7;
}

/// Generic command status codes (SCT 0) this project uses by name.
pub mod sc {
    /// Successful completion.
    pub const SUCCESS: u8 = 0x00;
    /// Invalid command opcode.
    pub const INVALID_OPCODE: u8 = 0x01;
    /// Invalid field in command.
    pub const INVALID_FIELD: u8 = 0x02;
    /// Command ID conflict.
    pub const CID_CONFLICT: u8 = 0x03;
    /// Data transfer error.
    pub const DATA_TRANSFER_ERROR: u8 = 0x04;
    /// Commands aborted due to power loss notification.
    pub const ABORTED_POWER_LOSS: u8 = 0x05;
    /// Internal error.
    pub const INTERNAL: u8 = 0x06;
    /// Command abort requested.
    pub const ABORT_REQUESTED: u8 = 0x07;
    /// Command aborted due to SQ deletion.
    pub const ABORTED_SQ_DELETION: u8 = 0x08;
    /// Invalid namespace or format.
    pub const INVALID_NS_OR_FORMAT: u8 = 0x0b;
    /// Invalid SGL segment descriptor.
    pub const INVALID_SGL_SEG_DESCR: u8 = 0x0d;
    /// Data SGL length invalid.
    pub const DATA_SGL_LENGTH_INVALID: u8 = 0x0f;
    /// Invalid use of controller memory buffer.
    pub const INVALID_CMB_USE: u8 = 0x12;
    /// PRP offset invalid.
    pub const PRP_OFFSET_INVALID: u8 = 0x13;
    /// Sanitize in progress.
    pub const SANITIZE_IN_PROGRESS: u8 = 0x1d;
    /// Namespace is write protected.
    pub const NS_WRITE_PROTECTED: u8 = 0x20;
    /// Command interrupted.
    pub const COMMAND_INTERRUPTED: u8 = 0x21;
    /// Flexible Data Placement is disabled in the endurance group (TP4146).
    pub const FDP_DISABLED: u8 = 0x29;
    /// Invalid placement handle list: a placement identifier given to I/O
    /// Management Send is not valid for the namespace (TP4146).
    pub const INVALID_PLACEMENT_HANDLE_LIST: u8 = 0x2a;
    /// LBA out of range.
    pub const LBA_OUT_OF_RANGE: u8 = 0x80;
    /// Capacity exceeded.
    pub const CAPACITY_EXCEEDED: u8 = 0x81;
    /// Namespace not ready.
    pub const NS_NOT_READY: u8 = 0x82;
}

/// Command specific status codes (SCT 1) this project uses by name.
pub mod sc_cmd {
    /// Completion queue invalid.
    pub const CQ_INVALID: u8 = 0x00;
    /// Invalid queue identifier.
    pub const INVALID_QID: u8 = 0x01;
    /// Invalid queue size.
    pub const INVALID_QUEUE_SIZE: u8 = 0x02;
    /// Invalid log page.
    pub const INVALID_LOG_PAGE: u8 = 0x09;
    /// Invalid format.
    pub const INVALID_FORMAT: u8 = 0x0a;
    /// Feature identifier not saveable.
    pub const FEATURE_NOT_SAVEABLE: u8 = 0x0d;
    /// Feature not changeable.
    pub const FEATURE_NOT_CHANGEABLE: u8 = 0x0e;
    /// Conflicting attributes (Dataset Management, Read, Write).
    pub const CONFLICTING_ATTRIBUTES: u8 = 0x80;
    /// Invalid protection information.
    pub const INVALID_PI: u8 = 0x81;
    /// Attempted write to read only range.
    pub const WRITE_TO_RO_RANGE: u8 = 0x82;
    /// Command size limit exceeded (Copy).
    pub const CMD_SIZE_LIMIT_EXCEEDED: u8 = 0x83;
    /// Invalid zone operation request (e.g. Zone Append to a zone with a
    /// zone random write area).
    pub const INVALID_ZONE_OPERATION: u8 = 0xb6;
    /// Zone random write area resources unavailable.
    pub const ZRWA_RESOURCES_UNAVAILABLE: u8 = 0xb7;
    /// Zoned boundary error.
    pub const ZONE_BOUNDARY_ERROR: u8 = 0xb8;
    /// Zone is full.
    pub const ZONE_FULL: u8 = 0xb9;
    /// Zone is read only.
    pub const ZONE_READ_ONLY: u8 = 0xba;
    /// Zone is offline.
    pub const ZONE_OFFLINE: u8 = 0xbb;
    /// Zone invalid write.
    pub const ZONE_INVALID_WRITE: u8 = 0xbc;
    /// Too many active zones.
    pub const TOO_MANY_ACTIVE_ZONES: u8 = 0xbd;
    /// Too many open zones.
    pub const TOO_MANY_OPEN_ZONES: u8 = 0xbe;
    /// Invalid zone state transition.
    pub const INVALID_ZONE_STATE_TRANSITION: u8 = 0xbf;
}

/// Media and data integrity status codes (SCT 2).
pub mod sc_media {
    /// Write fault.
    pub const WRITE_FAULT: u8 = 0x80;
    /// Unrecovered read error.
    pub const UNRECOVERED_READ_ERROR: u8 = 0x81;
    /// End-to-end guard check error.
    pub const GUARD_CHECK_ERROR: u8 = 0x82;
    /// End-to-end application tag check error.
    pub const APPTAG_CHECK_ERROR: u8 = 0x83;
    /// End-to-end reference tag check error.
    pub const REFTAG_CHECK_ERROR: u8 = 0x84;
    /// Compare failure.
    pub const COMPARE_FAILURE: u8 = 0x85;
    /// Access denied.
    pub const ACCESS_DENIED: u8 = 0x86;
    /// Deallocated or unwritten logical block.
    pub const DEALLOCATED_OR_UNWRITTEN: u8 = 0x87;
    /// End-to-end storage tag check error.
    pub const STORAGE_TAG_CHECK_ERROR: u8 = 0x88;
}

/// The 15-bit status field of a completion, decoded.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Status {
    /// Status code.
    pub sc: u8,
    /// Status code type.
    pub sct: u8,
    /// Command retry delay (an index into CRDT1..3).
    pub crd: u8,
    /// More: the Error Information log page has more.
    pub m: bool,
    /// Do not retry.
    pub dnr: bool,
}

impl Status {
    /// Successful completion.
    pub const SUCCESS: Self = Self::new(sct::GENERIC, sc::SUCCESS);

    /// A status of the given type and code, with CRD, M and DNR clear.
    pub const fn new(sct: u8, sc: u8) -> Self {
        Self {
            sc,
            sct,
            crd: 0,
            m: false,
            dnr: false,
        }
    }

    /// The same status with Do Not Retry set.
    pub const fn dnr(mut self) -> Self {
        self.dnr = true;
        self
    }

    /// Decodes the 15-bit status field (completion dword 3 bits 31:17,
    /// shifted down by 17).
    pub const fn from_raw(raw: u16) -> Self {
        Self {
            sc: (raw & 0xff) as u8,
            sct: ((raw >> 8) & 0x7) as u8,
            crd: ((raw >> 11) & 0x3) as u8,
            m: (raw >> 13) & 1 == 1,
            dnr: (raw >> 14) & 1 == 1,
        }
    }

    /// Encodes into the 15-bit status field.
    pub const fn to_raw(self) -> u16 {
        self.sc as u16
            | ((self.sct as u16 & 0x7) << 8)
            | ((self.crd as u16 & 0x3) << 11)
            | ((self.m as u16) << 13)
            | ((self.dnr as u16) << 14)
    }

    /// Whether this is a successful completion.
    pub const fn is_success(self) -> bool {
        self.sc == 0 && self.sct == 0
    }

    /// The status code type's name.
    pub const fn sct_name(self) -> &'static str {
        match self.sct {
            sct::GENERIC => "Generic Command Status",
            sct::COMMAND_SPECIFIC => "Command Specific Status",
            sct::MEDIA => "Media and Data Integrity Errors",
            sct::PATH => "Path Related Status",
            sct::VENDOR => "Vendor Specific",
            _ => "Reserved",
        }
    }

    /// The specification's name for this status code, if known.
    pub const fn name(self) -> Option<&'static str> {
        Some(match (self.sct, self.sc) {
            (sct::GENERIC, c) => match c {
                0x00 => "Successful Completion",
                0x01 => "Invalid Command Opcode",
                0x02 => "Invalid Field in Command",
                0x03 => "Command ID Conflict",
                0x04 => "Data Transfer Error",
                0x05 => "Commands Aborted due to Power Loss Notification",
                0x06 => "Internal Error",
                0x07 => "Command Abort Requested",
                0x08 => "Command Aborted due to SQ Deletion",
                0x09 => "Command Aborted due to Failed Fused Command",
                0x0a => "Command Aborted due to Missing Fused Command",
                0x0b => "Invalid Namespace or Format",
                0x0c => "Command Sequence Error",
                0x0d => "Invalid SGL Segment Descriptor",
                0x0e => "Invalid Number of SGL Descriptors",
                0x0f => "Data SGL Length Invalid",
                0x10 => "Metadata SGL Length Invalid",
                0x11 => "SGL Descriptor Type Invalid",
                0x12 => "Invalid Use of Controller Memory Buffer",
                0x13 => "PRP Offset Invalid",
                0x14 => "Atomic Write Unit Exceeded",
                0x15 => "Operation Denied",
                0x16 => "SGL Offset Invalid",
                0x18 => "Host Identifier Inconsistent Format",
                0x19 => "Keep Alive Timer Expired",
                0x1a => "Keep Alive Timeout Invalid",
                0x1b => "Command Aborted due to Preempt and Abort",
                0x1c => "Sanitize Failed",
                0x1d => "Sanitize In Progress",
                0x1e => "SGL Data Block Granularity Invalid",
                0x1f => "Command Not Supported for Queue in CMB",
                0x20 => "Namespace is Write Protected",
                0x21 => "Command Interrupted",
                0x22 => "Transient Transport Error",
                0x23 => "Command Prohibited by Command and Feature Lockdown",
                0x24 => "Admin Command Media Not Ready",
                0x29 => "FDP Disabled",
                0x2a => "Invalid Placement Handle List",
                0x80 => "LBA Out of Range",
                0x81 => "Capacity Exceeded",
                0x82 => "Namespace Not Ready",
                0x83 => "Reservation Conflict",
                0x84 => "Format In Progress",
                0x85 => "Invalid Value Size",
                0x86 => "Invalid Key Size",
                0x87 => "KV Key Does Not Exist",
                0x88 => "Unrecovered Error",
                0x89 => "Key Exists",
                _ => return None,
            },
            (sct::COMMAND_SPECIFIC, c) => match c {
                0x00 => "Completion Queue Invalid",
                0x01 => "Invalid Queue Identifier",
                0x02 => "Invalid Queue Size",
                0x03 => "Abort Command Limit Exceeded",
                0x05 => "Asynchronous Event Request Limit Exceeded",
                0x06 => "Invalid Firmware Slot",
                0x07 => "Invalid Firmware Image",
                0x08 => "Invalid Interrupt Vector",
                0x09 => "Invalid Log Page",
                0x0a => "Invalid Format",
                0x0b => "Firmware Activation Requires Conventional Reset",
                0x0c => "Invalid Queue Deletion",
                0x0d => "Feature Identifier Not Saveable",
                0x0e => "Feature Not Changeable",
                0x0f => "Feature Not Namespace Specific",
                0x10 => "Firmware Activation Requires NVM Subsystem Reset",
                0x11 => "Firmware Activation Requires Controller Level Reset",
                0x12 => "Firmware Activation Requires Maximum Time Violation",
                0x13 => "Firmware Activation Prohibited",
                0x14 => "Overlapping Range",
                0x15 => "Namespace Insufficient Capacity",
                0x16 => "Namespace Identifier Unavailable",
                0x18 => "Namespace Already Attached",
                0x19 => "Namespace Is Private",
                0x1a => "Namespace Not Attached",
                0x1b => "Thin Provisioning Not Supported",
                0x1c => "Controller List Invalid",
                0x1d => "Device Self-test In Progress",
                0x1e => "Boot Partition Write Prohibited",
                0x1f => "Invalid Controller Identifier",
                0x20 => "Invalid Secondary Controller State",
                0x21 => "Invalid Number of Controller Resources",
                0x22 => "Invalid Resource Identifier",
                0x23 => "Sanitize Prohibited While Persistent Memory Region is Enabled",
                0x24 => "ANA Group Identifier Invalid",
                0x25 => "ANA Attach Failed",
                0x26 => "Insufficient Capacity",
                0x27 => "Namespace Attachment Limit Exceeded",
                0x28 => "Prohibition of Command Execution Not Supported",
                0x29 => "I/O Command Set Not Supported",
                0x2a => "I/O Command Set Not Enabled",
                0x2b => "I/O Command Set Combination Rejected",
                0x2c => "Invalid I/O Command Set",
                0x2d => "Identifier Unavailable",
                0x80 => "Conflicting Attributes",
                0x81 => "Invalid Protection Information",
                0x82 => "Attempted Write to Read Only Range",
                0x83 => "Command Size Limit Exceeded",
                0xb6 => "Invalid Zone Operation Request",
                0xb7 => "ZRWA Resources Unavailable",
                0xb8 => "Zoned Boundary Error",
                0xb9 => "Zone Is Full",
                0xba => "Zone Is Read Only",
                0xbb => "Zone Is Offline",
                0xbc => "Zone Invalid Write",
                0xbd => "Too Many Active Zones",
                0xbe => "Too Many Open Zones",
                0xbf => "Invalid Zone State Transition",
                _ => return None,
            },
            (sct::MEDIA, c) => match c {
                0x80 => "Write Fault",
                0x81 => "Unrecovered Read Error",
                0x82 => "End-to-end Guard Check Error",
                0x83 => "End-to-end Application Tag Check Error",
                0x84 => "End-to-end Reference Tag Check Error",
                0x85 => "Compare Failure",
                0x86 => "Access Denied",
                0x87 => "Deallocated or Unwritten Logical Block",
                0x88 => "End-to-End Storage Tag Check Error",
                _ => return None,
            },
            (sct::PATH, c) => match c {
                0x00 => "Internal Path Error",
                0x01 => "Asymmetric Access Persistent Loss",
                0x02 => "Asymmetric Access Inaccessible",
                0x03 => "Asymmetric Access Transition",
                0x60 => "Controller Pathing Error",
                0x70 => "Host Pathing Error",
                0x71 => "Command Aborted By Host",
                _ => return None,
            },
            _ => return None,
        })
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status(sct={:#x}, sc={:#04x}", self.sct, self.sc)?;
        if let Some(n) = self.name() {
            write!(f, " {n:?}")?;
        }
        if self.dnr {
            f.write_str(", dnr")?;
        }
        if self.m {
            f.write_str(", m")?;
        }
        if self.crd != 0 {
            write!(f, ", crd={}", self.crd)?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Status {
    /// Prints the name and the raw codes, e.g.
    /// `LBA Out of Range (sct 0x0, sc 0x80)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (sct {:#x}, sc {:#04x})", self.sct, self.sc),
            None => write!(
                f,
                "{} {:#04x} (sct {:#x})",
                self.sct_name(),
                self.sc,
                self.sct
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_status_round_trips_for_every_value() {
        for raw in 0..=0x7fffu16 {
            assert_eq!(Status::from_raw(raw).to_raw(), raw);
        }
    }

    #[test]
    fn names_cover_generic_command_specific_and_media_codes() {
        assert_eq!(
            Status::new(sct::GENERIC, sc::LBA_OUT_OF_RANGE).name(),
            Some("LBA Out of Range")
        );
        assert_eq!(
            Status::new(sct::COMMAND_SPECIFIC, sc_cmd::ZONE_FULL).name(),
            Some("Zone Is Full")
        );
        assert_eq!(
            Status::new(sct::MEDIA, sc_media::COMPARE_FAILURE).name(),
            Some("Compare Failure")
        );
        assert_eq!(Status::new(sct::VENDOR, 0xc0).name(), None);
    }

    #[test]
    fn display_names_the_status_and_its_codes() {
        let s = Status::new(sct::MEDIA, sc_media::UNRECOVERED_READ_ERROR).dnr();
        assert_eq!(
            std::format!("{s}"),
            "Unrecovered Read Error (sct 0x2, sc 0x81)"
        );
        let v = Status::new(sct::VENDOR, 0xc1);
        assert_eq!(std::format!("{v}"), "Vendor Specific 0xc1 (sct 0x7)");
    }
}
