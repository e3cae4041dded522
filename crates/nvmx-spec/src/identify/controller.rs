//! The Identify Controller data structure (CNS 0x01) with its power state
//! descriptors and capability bits.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{IDENTIFY_NBYTES, ser, trimmed_str, zeroed_default};

/// A power state descriptor (NVMe 2.0 base, figure "Power State Descriptor"): 32 bytes.
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
pub struct PowerStateDescriptor {
    /// Maximum power, in units given by `flags` bit 0 (MXPS).
    pub mp: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd2: u8,
    /// Bit 0: max power scale (MXPS); bit 1: non-operational state (NOPS).
    pub flags: u8,
    /// Entry latency in microseconds (ENLAT).
    pub enlat: u32,
    /// Exit latency in microseconds (EXLAT).
    pub exlat: u32,
    /// Relative read throughput (RRT, bits 4:0).
    pub rrt: u8,
    /// Relative read latency (RRL, bits 4:0).
    pub rrl: u8,
    /// Relative write throughput (RWT, bits 4:0).
    pub rwt: u8,
    /// Relative write latency (RWL, bits 4:0).
    pub rwl: u8,
    /// Idle power (IDLP).
    pub idlp: u16,
    /// Idle power scale (IPS, bits 7:6).
    pub ips: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd19: u8,
    /// Active power (ACTP).
    pub actp: u16,
    /// Active power workload (APW, bits 2:0) and active power scale (APS, bits 7:6).
    pub apws: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd23: [u8; 9],
}

const _: () = assert!(core::mem::size_of::<PowerStateDescriptor>() == 32);

impl PowerStateDescriptor {
    /// Whether this is a non-operational power state (NOPS).
    pub const fn non_operational(&self) -> bool {
        self.flags & 0x2 != 0
    }

    /// Maximum power in microwatts: MP is in 0.01 W units, or in 0.0001 W
    /// units when the max power scale bit (MXPS) is set.
    pub const fn max_power_uw(&self) -> u64 {
        if self.flags & 0x1 != 0 {
            self.mp as u64 * 100
        } else {
            self.mp as u64 * 10_000
        }
    }
}

/// Optional Admin Command Support (OACS) bits of [`IdentifyController::oacs`].
pub mod oacs {
    /// Security Send and Security Receive.
    pub const SECURITY: u16 = 1 << 0;
    /// Format NVM.
    pub const FORMAT_NVM: u16 = 1 << 1;
    /// Firmware Commit and Firmware Image Download.
    pub const FIRMWARE: u16 = 1 << 2;
    /// Namespace Management.
    pub const NS_MGMT: u16 = 1 << 3;
    /// Device Self-test.
    pub const DEVICE_SELF_TEST: u16 = 1 << 4;
    /// Directives.
    pub const DIRECTIVES: u16 = 1 << 5;
    /// NVMe-MI Send and Receive.
    pub const NVME_MI: u16 = 1 << 6;
    /// Virtualization Management.
    pub const VIRT_MGMT: u16 = 1 << 7;
    /// Doorbell Buffer Config.
    pub const DOORBELL_BUFFER_CONFIG: u16 = 1 << 8;
    /// Get LBA Status.
    pub const GET_LBA_STATUS: u16 = 1 << 9;
    /// Command and Feature Lockdown.
    pub const LOCKDOWN: u16 = 1 << 10;
}

/// Optional NVM Command Support (ONCS) bits of [`IdentifyController::oncs`].
pub mod oncs {
    /// Compare.
    pub const COMPARE: u16 = 1 << 0;
    /// Write Uncorrectable.
    pub const WRITE_UNCORRECTABLE: u16 = 1 << 1;
    /// Dataset Management.
    pub const DSM: u16 = 1 << 2;
    /// Write Zeroes.
    pub const WRITE_ZEROES: u16 = 1 << 3;
    /// Save field in Set Features and Select field in Get Features.
    pub const SAVE_SELECT: u16 = 1 << 4;
    /// Reservations.
    pub const RESERVATIONS: u16 = 1 << 5;
    /// Timestamp feature.
    pub const TIMESTAMP: u16 = 1 << 6;
    /// Verify.
    pub const VERIFY: u16 = 1 << 7;
    /// Copy.
    pub const COPY: u16 = 1 << 8;
}

/// Controller Attributes (CTRATT) bits of [`IdentifyController::ctratt`].
pub mod ctratt {
    /// 128-bit host identifier.
    pub const HOST_ID_128: u32 = 1 << 0;
    /// Non-operational power state permissive mode.
    pub const NOPSPM: u32 = 1 << 1;
    /// NVM sets.
    pub const NVM_SETS: u32 = 1 << 2;
    /// Read recovery levels.
    pub const READ_RECOVERY_LEVELS: u32 = 1 << 3;
    /// Endurance groups.
    pub const ENDURANCE_GROUPS: u32 = 1 << 4;
    /// Predictable latency mode.
    pub const PREDICTABLE_LATENCY: u32 = 1 << 5;
    /// Namespace granularity.
    pub const NS_GRANULARITY: u32 = 1 << 7;
    /// UUID list.
    pub const UUID_LIST: u32 = 1 << 9;
    /// Fixed capacity management.
    pub const FIXED_CAPACITY_MGMT: u32 = 1 << 15;
    /// Flexible data placement (TP4146).
    pub const FDP: u32 = 1 << 19;
}

/// Identify Controller data structure (NVMe 2.0 base, figure 275).
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyController {
    /// PCI vendor ID (VID).
    pub vid: u16,
    /// PCI subsystem vendor ID (SSVID).
    pub ssvid: u16,
    /// Serial number (SN), ASCII, space padded.
    #[serde(serialize_with = "ser::ascii")]
    pub sn: [u8; 20],
    /// Model number (MN), ASCII, space padded.
    #[serde(serialize_with = "ser::ascii")]
    pub mn: [u8; 40],
    /// Firmware revision (FR), ASCII, space padded.
    #[serde(serialize_with = "ser::ascii")]
    pub fr: [u8; 8],
    /// Recommended arbitration burst (RAB), as a power of two.
    pub rab: u8,
    /// IEEE OUI identifier, least significant byte first.
    pub ieee: [u8; 3],
    /// Controller multi-path I/O and namespace sharing capabilities (CMIC).
    pub cmic: u8,
    /// Maximum data transfer size (MDTS), a power of two in units of CAP.MPSMIN; 0 = no limit.
    pub mdts: u8,
    /// Controller ID (CNTLID).
    pub cntlid: u16,
    /// Version (VER), in the format of the VS register.
    pub ver: u32,
    /// RTD3 resume latency in microseconds (RTD3R).
    pub rtd3r: u32,
    /// RTD3 entry latency in microseconds (RTD3E).
    pub rtd3e: u32,
    /// Optional asynchronous events supported (OAES).
    pub oaes: u32,
    /// Controller attributes (CTRATT), see [`ctratt`].
    pub ctratt: u32,
    /// Read recovery levels supported (RRLS), one bit per level.
    pub rrls: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd102: [u8; 9],
    /// Controller type (CNTRLTYPE): 1 I/O, 2 discovery, 3 administrative.
    pub cntrltype: u8,
    /// FRU globally unique identifier (FGUID).
    #[serde(serialize_with = "ser::hex")]
    pub fguid: [u8; 16],
    /// Command retry delay time 1 (CRDT1), in 100 ms units.
    pub crdt1: u16,
    /// Command retry delay time 2 (CRDT2), in 100 ms units.
    pub crdt2: u16,
    /// Command retry delay time 3 (CRDT3), in 100 ms units.
    pub crdt3: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd134: [u8; 106],
    #[serde(skip)]
    /// Reserved for the NVMe Management Interface.
    pub rsvd240: [u8; 13],
    /// NVM subsystem report (NVMSR).
    pub nvmsr: u8,
    /// VPD write cycle information (VWCI).
    pub vwci: u8,
    /// Management endpoint capabilities (MEC).
    pub mec: u8,
    /// Optional admin command support (OACS), see [`oacs`].
    pub oacs: u16,
    /// Abort command limit (ACL), zero-based.
    pub acl: u8,
    /// Asynchronous event request limit (AERL), zero-based.
    pub aerl: u8,
    /// Firmware updates (FRMW).
    pub frmw: u8,
    /// Log page attributes (LPA).
    pub lpa: u8,
    /// Error log page entries (ELPE), zero-based.
    pub elpe: u8,
    /// Number of power states supported (NPSS), zero-based.
    pub npss: u8,
    /// Admin vendor specific command configuration (AVSCC).
    pub avscc: u8,
    /// Autonomous power state transition attributes (APSTA).
    pub apsta: u8,
    /// Warning composite temperature threshold in kelvin (WCTEMP).
    pub wctemp: u16,
    /// Critical composite temperature threshold in kelvin (CCTEMP).
    pub cctemp: u16,
    /// Maximum time for firmware activation, in 100 ms units (MTFA).
    pub mtfa: u16,
    /// Host memory buffer preferred size, in 4 KiB units (HMPRE).
    pub hmpre: u32,
    /// Host memory buffer minimum size, in 4 KiB units (HMMIN).
    pub hmmin: u32,
    /// Total NVM capacity in bytes (TNVMCAP), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub tnvmcap: [u8; 16],
    /// Unallocated NVM capacity in bytes (UNVMCAP), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub unvmcap: [u8; 16],
    /// Replay protected memory block support (RPMBS).
    pub rpmbs: u32,
    /// Extended device self-test time, in minutes (EDSTT).
    pub edstt: u16,
    /// Device self-test options (DSTO).
    pub dsto: u8,
    /// Firmware update granularity, in 4 KiB units (FWUG).
    pub fwug: u8,
    /// Keep alive support, granularity in 100 ms units (KAS).
    pub kas: u16,
    /// Host controlled thermal management attributes (HCTMA).
    pub hctma: u16,
    /// Minimum thermal management temperature in kelvin (MNTMT).
    pub mntmt: u16,
    /// Maximum thermal management temperature in kelvin (MXTMT).
    pub mxtmt: u16,
    /// Sanitize capabilities (SANICAP).
    pub sanicap: u32,
    /// Host memory buffer minimum descriptor entry size, in 4 KiB units (HMMINDS).
    pub hmminds: u32,
    /// Host memory maximum descriptor entries (HMMAXD).
    pub hmmaxd: u16,
    /// NVM set identifier maximum (NSETIDMAX).
    pub nsetidmax: u16,
    /// Endurance group identifier maximum (ENDGIDMAX).
    pub endgidmax: u16,
    /// ANA transition time in seconds (ANATT).
    pub anatt: u8,
    /// Asymmetric namespace access capabilities (ANACAP).
    pub anacap: u8,
    /// ANA group identifier maximum (ANAGRPMAX).
    pub anagrpmax: u32,
    /// Number of ANA group identifiers (NANAGRPID).
    pub nanagrpid: u32,
    /// Persistent event log size, in 64 KiB units (PELS).
    pub pels: u32,
    /// Domain identifier (DOMAINID).
    pub domainid: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd358: [u8; 10],
    /// Max endurance group capacity in bytes (MEGCAP), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub megcap: [u8; 16],
    #[serde(skip)]
    /// Reserved.
    pub rsvd384: [u8; 128],
    /// Submission queue entry size (SQES): bits 3:0 required, 7:4 maximum, as log2.
    pub sqes: u8,
    /// Completion queue entry size (CQES): bits 3:0 required, 7:4 maximum, as log2.
    pub cqes: u8,
    /// Maximum outstanding commands (MAXCMD), for fabrics.
    pub maxcmd: u16,
    /// Number of namespaces (NN): the largest valid NSID.
    pub nn: u32,
    /// Optional NVM command support (ONCS), see [`oncs`].
    pub oncs: u16,
    /// Fused operation support (FUSES).
    pub fuses: u16,
    /// Format NVM attributes (FNA).
    pub fna: u8,
    /// Volatile write cache (VWC).
    pub vwc: u8,
    /// Atomic write unit normal, zero-based logical blocks (AWUN).
    pub awun: u16,
    /// Atomic write unit power fail, zero-based logical blocks (AWUPF).
    pub awupf: u16,
    /// I/O command set vendor specific command configuration (ICSVSCC).
    pub icsvscc: u8,
    /// Namespace write protection capabilities (NWPC).
    pub nwpc: u8,
    /// Atomic compare and write unit, zero-based logical blocks (ACWU).
    pub acwu: u16,
    /// Copy descriptor formats supported (OCFS), one bit per format.
    pub ocfs: u16,
    /// SGL support (SGLS).
    pub sgls: u32,
    /// Maximum number of allowed namespaces (MNAN).
    pub mnan: u32,
    /// Maximum domain namespace attachments (MAXDNA), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub maxdna: [u8; 16],
    /// Maximum I/O controller namespace attachments (MAXCNA).
    pub maxcna: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd564: [u8; 204],
    /// NVM subsystem NVMe qualified name (SUBNQN), UTF-8, NUL padded.
    #[serde(serialize_with = "ser::ascii")]
    pub subnqn: [u8; 256],
    #[serde(skip)]
    /// Reserved.
    pub rsvd1024: [u8; 768],
    /// I/O queue command capsule supported size, in 16 B units (IOCCSZ; fabrics).
    pub ioccsz: u32,
    /// I/O queue response capsule supported size, in 16 B units (IORCSZ; fabrics).
    pub iorcsz: u32,
    /// In capsule data offset, in 16 B units (ICDOFF; fabrics).
    pub icdoff: u16,
    /// Fabrics controller attributes (FCATT).
    pub fcatt: u8,
    /// Maximum SGL data block descriptors (MSDBD; fabrics).
    pub msdbd: u8,
    /// Optional fabric commands support (OFCS).
    pub ofcs: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1806: [u8; 242],
    /// Power state descriptors 0 to 31 (only `npss + 1` are valid).
    #[serde(serialize_with = "ser::seq")]
    pub psd: [PowerStateDescriptor; 32],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 1024],
}

const _: () = assert!(core::mem::size_of::<IdentifyController>() == IDENTIFY_NBYTES);

impl IdentifyController {
    /// The serial number, trimmed.
    pub fn serial(&self) -> &str {
        trimmed_str(&self.sn)
    }

    /// The model number, trimmed.
    pub fn model(&self) -> &str {
        trimmed_str(&self.mn)
    }

    /// The firmware revision, trimmed.
    pub fn firmware(&self) -> &str {
        trimmed_str(&self.fr)
    }

    /// The NVM subsystem NQN, trimmed.
    pub fn subnqn(&self) -> &str {
        trimmed_str(&self.subnqn)
    }

    /// The version field decoded (zero on controllers before NVMe 1.2).
    pub const fn version(&self) -> crate::regs::Version {
        crate::regs::Version(self.ver)
    }

    /// The IEEE OUI as a 24-bit value.
    pub const fn ieee_oui(&self) -> u32 {
        self.ieee[0] as u32 | (self.ieee[1] as u32) << 8 | (self.ieee[2] as u32) << 16
    }

    /// Maximum data transfer size in bytes, given the controller's minimum
    /// memory page size (`CAP.MPSMIN`, in bytes). `None` means no limit.
    pub const fn mdts_nbytes(&self, mpsmin_nbytes: u64) -> Option<u64> {
        if self.mdts == 0 {
            return None;
        }
        match mpsmin_nbytes.checked_shl(self.mdts as u32) {
            Some(n) if n >> self.mdts == mpsmin_nbytes => Some(n),
            _ => Some(u64::MAX),
        }
    }

    /// Total NVM capacity in bytes.
    pub const fn tnvmcap(&self) -> u128 {
        u128::from_le_bytes(self.tnvmcap)
    }

    /// Unallocated NVM capacity in bytes.
    pub const fn unvmcap(&self) -> u128 {
        u128::from_le_bytes(self.unvmcap)
    }

    /// Required (minimum) submission queue entry size in bytes.
    pub const fn sqes_min_nbytes(&self) -> u32 {
        1 << (self.sqes & 0xf)
    }

    /// Required (minimum) completion queue entry size in bytes.
    pub const fn cqes_min_nbytes(&self) -> u32 {
        1 << (self.cqes & 0xf)
    }

    /// Whether the controller supports the given [`oncs`] bit(s).
    pub const fn supports_oncs(&self, bits: u16) -> bool {
        self.oncs & bits == bits
    }

    /// Whether the controller supports the given [`oacs`] bit(s).
    pub const fn supports_oacs(&self, bits: u16) -> bool {
        self.oacs & bits == bits
    }

    /// Whether SGLs are supported for NVM command set I/O (SGLS bits 1:0).
    pub const fn supports_sgl(&self) -> bool {
        self.sgls & 0x3 != 0
    }

    /// Whether a volatile write cache is present (VWC bit 0).
    pub const fn has_volatile_write_cache(&self) -> bool {
        self.vwc & 0x1 != 0
    }

    /// The valid power state descriptors (`npss + 1` of them).
    pub fn power_states(&self) -> &[PowerStateDescriptor] {
        &self.psd[..(self.npss as usize + 1).min(32)]
    }
}

zeroed_default!(IdentifyController);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn identify_controller_offsets_match_base_spec_figure_275() {
        assert_eq!(offset_of!(IdentifyController, sn), 4);
        assert_eq!(offset_of!(IdentifyController, mn), 24);
        assert_eq!(offset_of!(IdentifyController, fr), 64);
        assert_eq!(offset_of!(IdentifyController, mdts), 77);
        assert_eq!(offset_of!(IdentifyController, cntlid), 78);
        assert_eq!(offset_of!(IdentifyController, ver), 80);
        assert_eq!(offset_of!(IdentifyController, ctratt), 96);
        assert_eq!(offset_of!(IdentifyController, cntrltype), 111);
        assert_eq!(offset_of!(IdentifyController, fguid), 112);
        assert_eq!(offset_of!(IdentifyController, crdt3), 132);
        assert_eq!(offset_of!(IdentifyController, nvmsr), 253);
        assert_eq!(offset_of!(IdentifyController, oacs), 256);
        assert_eq!(offset_of!(IdentifyController, npss), 263);
        assert_eq!(offset_of!(IdentifyController, hmpre), 272);
        assert_eq!(offset_of!(IdentifyController, tnvmcap), 280);
        assert_eq!(offset_of!(IdentifyController, rpmbs), 312);
        assert_eq!(offset_of!(IdentifyController, sanicap), 328);
        assert_eq!(offset_of!(IdentifyController, anagrpmax), 344);
        assert_eq!(offset_of!(IdentifyController, domainid), 356);
        assert_eq!(offset_of!(IdentifyController, megcap), 368);
        assert_eq!(offset_of!(IdentifyController, sqes), 512);
        assert_eq!(offset_of!(IdentifyController, nn), 516);
        assert_eq!(offset_of!(IdentifyController, oncs), 520);
        assert_eq!(offset_of!(IdentifyController, ocfs), 534);
        assert_eq!(offset_of!(IdentifyController, sgls), 536);
        assert_eq!(offset_of!(IdentifyController, maxdna), 544);
        assert_eq!(offset_of!(IdentifyController, maxcna), 560);
        assert_eq!(offset_of!(IdentifyController, subnqn), 768);
        assert_eq!(offset_of!(IdentifyController, ioccsz), 1792);
        assert_eq!(offset_of!(IdentifyController, ofcs), 1804);
        assert_eq!(offset_of!(IdentifyController, psd), 2048);
        assert_eq!(offset_of!(IdentifyController, vs), 3072);
    }

    #[test]
    fn power_state_descriptor_offsets_match_base_spec() {
        assert_eq!(offset_of!(PowerStateDescriptor, enlat), 4);
        assert_eq!(offset_of!(PowerStateDescriptor, exlat), 8);
        assert_eq!(offset_of!(PowerStateDescriptor, rrt), 12);
        assert_eq!(offset_of!(PowerStateDescriptor, idlp), 16);
        assert_eq!(offset_of!(PowerStateDescriptor, actp), 20);
        assert_eq!(offset_of!(PowerStateDescriptor, apws), 22);
    }

    fn padded<const N: usize>(s: &str, pad: u8) -> [u8; N] {
        let mut b = [pad; N];
        b[..s.len()].copy_from_slice(s.as_bytes());
        b
    }

    #[test]
    fn controller_strings_are_trimmed_and_serialized_as_text() {
        let c = IdentifyController {
            sn: padded("S3EVNX0K", b' '),
            mn: padded("nvmx emulated controller", b' '),
            fr: padded("1.0", b' '),
            subnqn: padded("nqn.2024-01.io.nvmx:ctrl", 0),
            ..Default::default()
        };
        assert_eq!(c.serial(), "S3EVNX0K");
        assert_eq!(c.model(), "nvmx emulated controller");
        assert_eq!(c.firmware(), "1.0");
        assert_eq!(c.subnqn(), "nqn.2024-01.io.nvmx:ctrl");
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(v["sn"], "S3EVNX0K");
        assert_eq!(v["subnqn"], "nqn.2024-01.io.nvmx:ctrl");
        assert!(
            v.get("rsvd102").is_none(),
            "reserved fields are not serialized"
        );
        assert_eq!(v["psd"].as_array().unwrap().len(), 32);
    }

    #[test]
    fn controller_decodes_from_raw_bytes() {
        let mut raw = [0u8; 4096];
        raw[77] = 5; // mdts
        raw[516..520].copy_from_slice(&32u32.to_le_bytes()); // nn
        raw[280] = 0x10; // tnvmcap = 16
        raw[520..522].copy_from_slice(&(oncs::DSM | oncs::WRITE_ZEROES).to_le_bytes());
        raw[512] = 0x66;
        let c = IdentifyController::read_from_bytes(&raw[..]).unwrap();
        assert_eq!(c.nn, 32);
        assert_eq!(c.mdts_nbytes(4096), Some(128 * 1024));
        assert_eq!(c.tnvmcap(), 16);
        assert!(c.supports_oncs(oncs::DSM));
        assert!(!c.supports_oncs(oncs::COPY));
        assert_eq!(c.sqes_min_nbytes(), 64);
        assert_eq!(c.as_bytes(), &raw[..]);
        let mut c0 = c;
        c0.mdts = 0;
        assert_eq!(c0.mdts_nbytes(4096), None);
    }
}
