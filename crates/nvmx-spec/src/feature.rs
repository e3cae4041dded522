//! Get Features and Set Features: feature identifiers, the command views,
//! and decoders for the features whose value fits in a dword (NVMe 2.0
//! base, sections 5.15, 5.27 and 5.27.1).
//!
//! A feature's value goes to the controller in CDW11 (and for a few in
//! CDW12 to CDW15) of Set Features, and comes back in completion dword 0 of
//! Get Features. Each decoder here converts between that dword and named
//! fields with `from_cdw0()` and `to_cdw11()`.

use serde::Serialize;

use crate::cmd::Command;
use crate::opcode::{AdminOpcode, open_enum};

open_enum! {
    /// Feature identifiers (NVMe 2.0 base, figure "Feature Identifiers"; FDP in TP4146).
    FeatureId: u8 {
        /// Arbitration.
        ARBITRATION = 0x01, "Arbitration";
        /// Power Management.
        POWER_MGMT = 0x02, "Power Management";
        /// LBA Range Type.
        LBA_RANGE_TYPE = 0x03, "LBA Range Type";
        /// Temperature Threshold.
        TEMP_THRESHOLD = 0x04, "Temperature Threshold";
        /// Error Recovery.
        ERROR_RECOVERY = 0x05, "Error Recovery";
        /// Volatile Write Cache.
        VOLATILE_WRITE_CACHE = 0x06, "Volatile Write Cache";
        /// Number of Queues.
        NUM_QUEUES = 0x07, "Number of Queues";
        /// Interrupt Coalescing.
        IRQ_COALESCE = 0x08, "Interrupt Coalescing";
        /// Interrupt Vector Configuration.
        IRQ_CONFIG = 0x09, "Interrupt Vector Configuration";
        /// Write Atomicity Normal.
        WRITE_ATOMIC = 0x0a, "Write Atomicity Normal";
        /// Asynchronous Event Configuration.
        ASYNC_EVENT = 0x0b, "Asynchronous Event Configuration";
        /// Autonomous Power State Transition.
        AUTO_PST = 0x0c, "Autonomous Power State Transition";
        /// Host Memory Buffer.
        HOST_MEM_BUF = 0x0d, "Host Memory Buffer";
        /// Timestamp.
        TIMESTAMP = 0x0e, "Timestamp";
        /// Keep Alive Timer.
        KATO = 0x0f, "Keep Alive Timer";
        /// Host Controlled Thermal Management.
        HCTM = 0x10, "Host Controlled Thermal Management";
        /// Non-Operational Power State Config.
        NOPSC = 0x11, "Non-Operational Power State Config";
        /// Read Recovery Level Config.
        RRL = 0x12, "Read Recovery Level Config";
        /// Predictable Latency Mode Config.
        PLM_CONFIG = 0x13, "Predictable Latency Mode Config";
        /// Predictable Latency Mode Window.
        PLM_WINDOW = 0x14, "Predictable Latency Mode Window";
        /// LBA Status Information Report Interval.
        LBA_STATUS_INFO = 0x15, "LBA Status Information Report Interval";
        /// Host Behavior Support.
        HOST_BEHAVIOR = 0x16, "Host Behavior Support";
        /// Sanitize Config.
        SANITIZE_CONFIG = 0x17, "Sanitize Config";
        /// Endurance Group Event Configuration.
        ENDURANCE_EVENT = 0x18, "Endurance Group Event Configuration";
        /// I/O Command Set Profile.
        IOCS_PROFILE = 0x19, "I/O Command Set Profile";
        /// Spinup Control.
        SPINUP = 0x1a, "Spinup Control";
        /// Flexible Data Placement.
        FDP_MODE = 0x1d, "Flexible Data Placement";
        /// FDP Events.
        FDP_EVENTS = 0x1e, "FDP Events";
        /// Software Progress Marker.
        SW_PROGRESS = 0x80, "Software Progress Marker";
        /// Host Identifier.
        HOST_ID = 0x81, "Host Identifier";
        /// Reservation Notification Mask.
        RESV_MASK = 0x82, "Reservation Notification Mask";
        /// Reservation Persistence.
        RESV_PERSIST = 0x83, "Reservation Persistence";
        /// Namespace Write Protection Config.
        WRITE_PROTECT = 0x84, "Namespace Write Protection Config";
    }
}

open_enum! {
    /// Which value Get Features returns (SEL, CDW10 bits 10:8).
    Select: u8 {
        /// The current value.
        CURRENT = 0, "Current";
        /// The default value.
        DEFAULT = 1, "Default";
        /// The saved value.
        SAVED = 2, "Saved";
        /// The feature's capabilities (see [`FeatureCaps`]).
        SUPPORTED_CAPS = 3, "Supported Capabilities";
    }
}

/// Typed view of the Get Features admin command (NVMe 2.0 base, section 5.15).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct GetFeatures {
    /// Namespace identifier, for namespace-specific features.
    pub nsid: u32,
    /// Feature identifier (CDW10 bits 7:0).
    pub fid: FeatureId,
    /// Which value to return (CDW10 bits 10:8).
    pub sel: Select,
    /// Feature specific input (CDW11), e.g. the sensor for a temperature threshold.
    pub cdw11: u32,
    /// UUID index (CDW14 bits 6:0).
    pub uuid: u8,
}

impl GetFeatures {
    /// A request for the current value of `fid`.
    pub const fn new(fid: FeatureId) -> Self {
        Self {
            nsid: 0,
            fid,
            sel: Select::CURRENT,
            cdw11: 0,
            uuid: 0,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(AdminOpcode::GET_FEATURES.0, self.nsid);
        cmd.cdw10 = self.fid.0 as u32 | ((self.sel.0 & 0x7) as u32) << 8;
        cmd.cdw11 = self.cdw11;
        cmd.cdw14 = (self.uuid & 0x7f) as u32;
        cmd
    }

    /// Decodes a submission entry as a Get Features command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            fid: FeatureId(cmd.cdw10 as u8),
            sel: Select(((cmd.cdw10 >> 8) & 0x7) as u8),
            cdw11: cmd.cdw11,
            uuid: (cmd.cdw14 & 0x7f) as u8,
        }
    }
}

/// Typed view of the Set Features admin command (NVMe 2.0 base, section 5.27).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct SetFeatures {
    /// Namespace identifier, for namespace-specific features.
    pub nsid: u32,
    /// Feature identifier (CDW10 bits 7:0).
    pub fid: FeatureId,
    /// Save the value across power cycles (SV, CDW10 bit 31).
    pub save: bool,
    /// Feature specific value (CDW11).
    pub cdw11: u32,
    /// Feature specific value (CDW12).
    pub cdw12: u32,
    /// Feature specific value (CDW13).
    pub cdw13: u32,
    /// Feature specific value (CDW14); bits 6:0 are the UUID index.
    pub cdw14: u32,
    /// Feature specific value (CDW15).
    pub cdw15: u32,
}

impl SetFeatures {
    /// Sets `fid` to the value `cdw11`, without saving it.
    pub const fn new(fid: FeatureId, cdw11: u32) -> Self {
        Self {
            nsid: 0,
            fid,
            save: false,
            cdw11,
            cdw12: 0,
            cdw13: 0,
            cdw14: 0,
            cdw15: 0,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(AdminOpcode::SET_FEATURES.0, self.nsid);
        cmd.cdw10 = self.fid.0 as u32 | (self.save as u32) << 31;
        cmd.cdw11 = self.cdw11;
        cmd.cdw12 = self.cdw12;
        cmd.cdw13 = self.cdw13;
        cmd.cdw14 = self.cdw14;
        cmd.cdw15 = self.cdw15;
        cmd
    }

    /// Decodes a submission entry as a Set Features command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            fid: FeatureId(cmd.cdw10 as u8),
            save: cmd.cdw10 >> 31 == 1,
            cdw11: cmd.cdw11,
            cdw12: cmd.cdw12,
            cdw13: cmd.cdw13,
            cdw14: cmd.cdw14,
            cdw15: cmd.cdw15,
        }
    }
}

/// Capabilities of a feature, returned by Get Features with
/// [`Select::SUPPORTED_CAPS`] (NVMe 2.0 base, Get Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct FeatureCaps {
    /// The feature can be saved (bit 0).
    pub saveable: bool,
    /// The feature is namespace specific (bit 1).
    pub ns_specific: bool,
    /// The feature can be changed (bit 2).
    pub changeable: bool,
}

impl FeatureCaps {
    /// Decodes completion dword 0.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            saveable: cdw0 & 1 != 0,
            ns_specific: cdw0 & 2 != 0,
            changeable: cdw0 & 4 != 0,
        }
    }
}

/// Arbitration (FID 0x01; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Arbitration {
    /// Arbitration burst, as a power of two; 7 = no limit (AB, bits 2:0).
    pub ab: u8,
    /// Low priority weight, zero-based (LPW, bits 15:8).
    pub lpw: u8,
    /// Medium priority weight, zero-based (MPW, bits 23:16).
    pub mpw: u8,
    /// High priority weight, zero-based (HPW, bits 31:24).
    pub hpw: u8,
}

impl Arbitration {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            ab: (cdw0 & 0x7) as u8,
            lpw: (cdw0 >> 8) as u8,
            mpw: (cdw0 >> 16) as u8,
            hpw: (cdw0 >> 24) as u8,
        }
    }

    /// Encodes CDW11 of Set Features.
    pub const fn to_cdw11(self) -> u32 {
        (self.ab & 0x7) as u32
            | (self.lpw as u32) << 8
            | (self.mpw as u32) << 16
            | (self.hpw as u32) << 24
    }
}

/// Power Management (FID 0x02; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct PowerManagement {
    /// Power state (PS, bits 4:0).
    pub ps: u8,
    /// Workload hint (WH, bits 7:5).
    pub wh: u8,
}

impl PowerManagement {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            ps: (cdw0 & 0x1f) as u8,
            wh: ((cdw0 >> 5) & 0x7) as u8,
        }
    }

    /// Encodes CDW11 of Set Features.
    pub const fn to_cdw11(self) -> u32 {
        (self.ps & 0x1f) as u32 | ((self.wh & 0x7) as u32) << 5
    }
}

/// Temperature Threshold (FID 0x04; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct TemperatureThreshold {
    /// Threshold in kelvin (TMPTH, bits 15:0).
    pub tmpth: u16,
    /// Sensor: 0 composite, 1 to 8 a temperature sensor (TMPSEL, bits 19:16).
    pub tmpsel: u8,
    /// Threshold type: 0 over, 1 under (THSEL, bits 21:20).
    pub thsel: u8,
}

impl TemperatureThreshold {
    /// Decodes completion dword 0 of Get Features. The sensor and type are
    /// those the request selected in CDW11, so they come back as given in
    /// `cdw11`.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            tmpth: cdw0 as u16,
            tmpsel: ((cdw0 >> 16) & 0xf) as u8,
            thsel: ((cdw0 >> 20) & 0x3) as u8,
        }
    }

    /// Encodes CDW11 of Set Features (also the selector of Get Features).
    pub const fn to_cdw11(self) -> u32 {
        self.tmpth as u32 | ((self.tmpsel & 0xf) as u32) << 16 | ((self.thsel & 0x3) as u32) << 20
    }

    /// The threshold in degrees Celsius.
    pub const fn celsius(self) -> i32 {
        self.tmpth as i32 - 273
    }
}

/// Error Recovery (FID 0x05; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct ErrorRecovery {
    /// Time limited error recovery, in 100 ms units; 0 = none (TLER, bits 15:0).
    pub tler: u16,
    /// Deallocated or unwritten logical block error enable (DULBE, bit 16).
    pub dulbe: bool,
}

impl ErrorRecovery {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            tler: cdw0 as u16,
            dulbe: cdw0 >> 16 & 1 == 1,
        }
    }

    /// Encodes CDW11 of Set Features.
    pub const fn to_cdw11(self) -> u32 {
        self.tler as u32 | (self.dulbe as u32) << 16
    }
}

/// Volatile Write Cache (FID 0x06; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct VolatileWriteCache {
    /// Volatile write cache enable (WCE, bit 0).
    pub wce: bool,
}

impl VolatileWriteCache {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self { wce: cdw0 & 1 == 1 }
    }

    /// Encodes CDW11 of Set Features.
    pub const fn to_cdw11(self) -> u32 {
        self.wce as u32
    }
}

/// Number of Queues (FID 0x07; NVMe 2.0 base, Set Features). Both
/// counts are zero-based: 0 means one queue.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct NumQueues {
    /// I/O submission queues requested or allocated (NSQR/NSQA, bits 15:0), zero-based.
    pub nsqa: u16,
    /// I/O completion queues requested or allocated (NCQR/NCQA, bits 31:16), zero-based.
    pub ncqa: u16,
}

impl NumQueues {
    /// Decodes completion dword 0 (of Get or Set Features): the allocated counts.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            nsqa: cdw0 as u16,
            ncqa: (cdw0 >> 16) as u16,
        }
    }

    /// Encodes CDW11 of Set Features: the requested counts.
    pub const fn to_cdw11(self) -> u32 {
        self.nsqa as u32 | (self.ncqa as u32) << 16
    }

    /// Number of I/O submission queues as a count.
    pub const fn sq_count(self) -> u32 {
        self.nsqa as u32 + 1
    }

    /// Number of I/O completion queues as a count.
    pub const fn cq_count(self) -> u32 {
        self.ncqa as u32 + 1
    }
}

/// Interrupt Coalescing (FID 0x08; NVMe 2.0 base, Set Features).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct InterruptCoalescing {
    /// Aggregation threshold, zero-based completions (THR, bits 7:0).
    pub thr: u8,
    /// Aggregation time, in 100 µs units (TIME, bits 15:8).
    pub time: u8,
}

impl InterruptCoalescing {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            thr: cdw0 as u8,
            time: (cdw0 >> 8) as u8,
        }
    }

    /// Encodes CDW11 of Set Features.
    pub const fn to_cdw11(self) -> u32 {
        self.thr as u32 | (self.time as u32) << 8
    }
}

/// Flexible Data Placement (FID 0x1D; TP4146). Set Features carries the
/// endurance group in CDW11 and this value in CDW12; Get Features takes
/// the endurance group in CDW11 and returns this value in dword 0.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct FdpMode {
    /// Flexible data placement enable (FDPE, bit 0).
    pub fdpe: bool,
    /// FDP configuration index (FDPCIDX, bits 15:8).
    pub fdpcidx: u8,
}

impl FdpMode {
    /// Decodes completion dword 0 of Get Features.
    pub const fn from_cdw0(cdw0: u32) -> Self {
        Self {
            fdpe: cdw0 & 1 == 1,
            fdpcidx: (cdw0 >> 8) as u8,
        }
    }

    /// Encodes CDW12 of Set Features.
    pub const fn to_cdw12(self) -> u32 {
        self.fdpe as u32 | (self.fdpcidx as u32) << 8
    }

    /// The Set Features command enabling (or disabling) FDP with this
    /// value on endurance group `endgid`.
    pub const fn set_features(self, endgid: u16, save: bool) -> SetFeatures {
        SetFeatures {
            nsid: 0,
            fid: FeatureId::FDP_MODE,
            save,
            cdw11: endgid as u32,
            cdw12: self.to_cdw12(),
            cdw13: 0,
            cdw14: 0,
            cdw15: 0,
        }
    }
}

/// FDP Events selection (FID 0x1E; TP4146): which placement handle's events
/// to read or set, in CDW11. Set Features adds the enable bit in CDW12 bit 0
/// and the event types in a data buffer.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct FdpEventsSelect {
    /// Placement handle (PHNDL, bits 15:0).
    pub phndl: u16,
    /// Number of FDP event types (NOET, bits 23:16).
    pub noet: u8,
}

impl FdpEventsSelect {
    /// Encodes CDW11.
    pub const fn to_cdw11(self) -> u32 {
        self.phndl as u32 | (self.noet as u32) << 16
    }

    /// Decodes CDW11.
    pub const fn from_cdw11(cdw11: u32) -> Self {
        Self {
            phndl: cdw11 as u16,
            noet: (cdw11 >> 16) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_features_places_fid_sel_and_uuid() {
        let gf = GetFeatures {
            nsid: 1,
            fid: FeatureId::TEMP_THRESHOLD,
            sel: Select::SUPPORTED_CAPS,
            cdw11: 0x10_0000,
            uuid: 5,
        };
        let cmd = gf.to_command();
        assert_eq!(cmd.opc, 0x0a);
        assert_eq!(cmd.cdw10, 0x0304);
        assert_eq!(cmd.cdw14, 5);
        assert_eq!(GetFeatures::from_command(&cmd), gf);
    }

    #[test]
    fn set_features_places_save_bit_31() {
        let mut sf = SetFeatures::new(
            FeatureId::NUM_QUEUES,
            NumQueues { nsqa: 7, ncqa: 7 }.to_cdw11(),
        );
        sf.save = true;
        sf.cdw15 = 9;
        let cmd = sf.to_command();
        assert_eq!(cmd.opc, 0x09);
        assert_eq!(cmd.cdw10, 0x8000_0007);
        assert_eq!(cmd.cdw11, 0x0007_0007);
        assert_eq!(SetFeatures::from_command(&cmd), sf);
    }

    #[test]
    fn unknown_feature_and_select_round_trip() {
        let gf = GetFeatures {
            fid: FeatureId(0xc0),
            sel: Select(5),
            ..Default::default()
        };
        let back = GetFeatures::from_command(&gf.to_command());
        assert_eq!(back.fid, FeatureId(0xc0));
        assert_eq!(back.sel, Select(5));
        assert_eq!(FeatureId(0xc0).name(), None);
        assert_eq!(FeatureId::FDP_MODE.0, 0x1d);
    }

    #[test]
    fn num_queues_are_zero_based() {
        let nq = NumQueues::from_cdw0(0x001f_000f);
        assert_eq!((nq.nsqa, nq.ncqa), (15, 31));
        assert_eq!((nq.sq_count(), nq.cq_count()), (16, 32));
        assert_eq!(nq.to_cdw11(), 0x001f_000f);
    }

    #[test]
    fn dword_decoders_round_trip() {
        let arb = Arbitration {
            ab: 3,
            lpw: 1,
            mpw: 2,
            hpw: 4,
        };
        assert_eq!(arb.to_cdw11(), 0x0402_0103);
        assert_eq!(Arbitration::from_cdw0(arb.to_cdw11()), arb);
        let pm = PowerManagement { ps: 3, wh: 2 };
        assert_eq!(PowerManagement::from_cdw0(pm.to_cdw11()), pm);
        let tt = TemperatureThreshold {
            tmpth: 343,
            tmpsel: 2,
            thsel: 1,
        };
        assert_eq!(tt.to_cdw11(), 343 | 2 << 16 | 1 << 20);
        assert_eq!(TemperatureThreshold::from_cdw0(tt.to_cdw11()), tt);
        assert_eq!(tt.celsius(), 70);
        let er = ErrorRecovery {
            tler: 50,
            dulbe: true,
        };
        assert_eq!(er.to_cdw11(), 0x1_0032);
        assert_eq!(ErrorRecovery::from_cdw0(er.to_cdw11()), er);
        assert!(VolatileWriteCache::from_cdw0(1).wce);
        assert_eq!(VolatileWriteCache { wce: false }.to_cdw11(), 0);
        let ic = InterruptCoalescing { thr: 7, time: 10 };
        assert_eq!(InterruptCoalescing::from_cdw0(ic.to_cdw11()), ic);
        let caps = FeatureCaps::from_cdw0(0b101);
        assert!(caps.saveable && !caps.ns_specific && caps.changeable);
    }

    #[test]
    fn fdp_mode_uses_cdw12_for_the_value() {
        let mode = FdpMode {
            fdpe: true,
            fdpcidx: 2,
        };
        assert_eq!(mode.to_cdw12(), 0x201);
        assert_eq!(FdpMode::from_cdw0(0x201), mode);
        let cmd = mode.set_features(1, true).to_command();
        assert_eq!(cmd.cdw10, 0x8000_001d);
        assert_eq!(cmd.cdw11, 1);
        assert_eq!(cmd.cdw12, 0x201);
        let sel = FdpEventsSelect { phndl: 3, noet: 6 };
        assert_eq!(FdpEventsSelect::from_cdw11(sel.to_cdw11()), sel);
    }
}
