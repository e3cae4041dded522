//! Identify: the CNS values, the command view, and the data structures it
//! returns.
//!
//! The base specification defines the controller and namespace-list
//! layouts (NVMe 2.0, section 5.17). The namespace layouts live in the
//! command-set specifications: [`IdentifyNamespace`] and
//! [`IdentifyNvmNamespace`] in the NVM command set spec 1.0,
//! [`IdentifyZonedNamespace`] in the Zoned Namespace command set spec 1.1,
//! and [`IdentifyKvNamespace`] in the Key Value command set spec 1.0.
//!
//! Every structure here is 4096 bytes, the size of an Identify transfer.

use core::fmt;

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::opcode::{AdminOpcode, Csi, open_enum};
use crate::pi::{PiFormat, PiType};

/// Size in bytes of every Identify data structure.
pub const IDENTIFY_NBYTES: usize = 4096;

open_enum! {
    /// Controller or Namespace Structure (CNS) values of the Identify
    /// command (NVMe 2.0 base, figure "CNS Values").
    Cns: u8 {
        /// Identify Namespace data structure for the given NSID.
        NAMESPACE = 0x00, "Identify Namespace";
        /// Identify Controller data structure.
        CONTROLLER = 0x01, "Identify Controller";
        /// Active namespace ID list (NSIDs above the given one).
        ACTIVE_NSID_LIST = 0x02, "Active Namespace ID list";
        /// Namespace identification descriptor list for the given NSID.
        NS_ID_DESCRIPTOR_LIST = 0x03, "Namespace Identification Descriptor list";
        /// NVM Set list.
        NVM_SET_LIST = 0x04, "NVM Set List";
        /// I/O command set specific Identify Namespace data structure.
        CSI_NAMESPACE = 0x05, "I/O Command Set specific Identify Namespace";
        /// I/O command set specific Identify Controller data structure.
        CSI_CONTROLLER = 0x06, "I/O Command Set specific Identify Controller";
        /// Active namespace ID list for the given I/O command set.
        CSI_ACTIVE_NSID_LIST = 0x07, "I/O Command Set specific Active Namespace ID list";
        /// I/O command set independent Identify Namespace data structure.
        IO_CMDSET_INDEPENDENT_NS = 0x08, "I/O Command Set Independent Identify Namespace";
        /// Allocated namespace ID list.
        ALLOCATED_NSID_LIST = 0x10, "Allocated Namespace ID list";
        /// Identify Namespace data structure for an allocated NSID.
        ALLOCATED_NAMESPACE = 0x11, "Identify Namespace for an Allocated NSID";
        /// Controllers attached to the given NSID.
        NS_CONTROLLER_LIST = 0x12, "Namespace Attached Controller list";
        /// Controllers that exist in the NVM subsystem.
        CONTROLLER_LIST = 0x13, "Controller list";
        /// Primary controller capabilities.
        PRIMARY_CTRL_CAPS = 0x14, "Primary Controller Capabilities";
        /// Secondary controller list.
        SECONDARY_CTRL_LIST = 0x15, "Secondary Controller list";
        /// Namespace granularity list.
        NS_GRANULARITY = 0x16, "Namespace Granularity List";
        /// UUID list.
        UUID_LIST = 0x17, "UUID List";
        /// Domain list.
        DOMAIN_LIST = 0x18, "Domain List";
        /// Endurance group list.
        ENDURANCE_GROUP_LIST = 0x19, "Endurance Group List";
        /// Allocated namespace ID list for the given I/O command set.
        CSI_ALLOCATED_NSID_LIST = 0x1a, "I/O Command Set specific Allocated Namespace ID list";
        /// I/O command set specific Identify Namespace for an allocated NSID.
        CSI_NS_ALLOCATED = 0x1b, "CSI specific Identify Namespace for an Allocated NSID";
        /// I/O command set data structure (vectors of supported sets).
        IO_CMDSET = 0x1c, "Identify I/O Command Set data structure";
    }
}

/// Typed view of the Identify admin command (NVMe 2.0 base, section 5.17).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Identify {
    /// Namespace identifier (for namespace CNS values).
    pub nsid: u32,
    /// Controller or namespace structure to return (CDW10 bits 7:0).
    pub cns: Cns,
    /// Controller identifier (CDW10 bits 31:16), for controller lists.
    pub cntid: u16,
    /// CNS specific identifier (CDW11 bits 15:0): an NVM set, domain or
    /// endurance group identifier, depending on `cns`.
    pub cnssi: u16,
    /// Command set identifier (CDW11 bits 31:24), for the CSI-specific CNS values.
    pub csi: Csi,
    /// UUID index (CDW14 bits 6:0); 0 selects no UUID.
    pub uuid: u8,
}

impl Identify {
    /// Identify Controller.
    pub const fn controller() -> Self {
        Self {
            nsid: 0,
            cns: Cns::CONTROLLER,
            cntid: 0,
            cnssi: 0,
            csi: Csi::NVM,
            uuid: 0,
        }
    }

    /// Identify Namespace (NVM command set layout) for `nsid`.
    pub const fn namespace(nsid: u32) -> Self {
        Self {
            nsid,
            cns: Cns::NAMESPACE,
            cntid: 0,
            cnssi: 0,
            csi: Csi::NVM,
            uuid: 0,
        }
    }

    /// I/O command set specific Identify Controller for `csi`.
    pub const fn csi_controller(csi: Csi) -> Self {
        Self {
            nsid: 0,
            cns: Cns::CSI_CONTROLLER,
            cntid: 0,
            cnssi: 0,
            csi,
            uuid: 0,
        }
    }

    /// I/O command set specific Identify Namespace for `nsid` and `csi`.
    pub const fn csi_namespace(nsid: u32, csi: Csi) -> Self {
        Self {
            nsid,
            cns: Cns::CSI_NAMESPACE,
            cntid: 0,
            cnssi: 0,
            csi,
            uuid: 0,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, self.nsid);
        cmd.cdw10 = self.cns.0 as u32 | (self.cntid as u32) << 16;
        cmd.cdw11 = self.cnssi as u32 | (self.csi.0 as u32) << 24;
        cmd.cdw14 = (self.uuid & 0x7f) as u32;
        cmd
    }

    /// Decodes a submission entry as an Identify command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            cns: Cns(cmd.cdw10 as u8),
            cntid: (cmd.cdw10 >> 16) as u16,
            cnssi: cmd.cdw11 as u16,
            csi: Csi((cmd.cdw11 >> 24) as u8),
            uuid: (cmd.cdw14 & 0x7f) as u8,
        }
    }
}

/// The text of a fixed-size, space- or NUL-padded ASCII field, with the
/// padding trimmed. Bytes after the first invalid UTF-8 sequence are
/// dropped, so a malformed field yields its valid prefix rather than an
/// error.
pub fn trimmed_str(bytes: &[u8]) -> &str {
    let s = match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    s.trim_matches(|c: char| c == ' ' || c == '\0')
}

/// Field-level serde helpers shared by the layouts of this crate.
pub(crate) mod ser {
    use core::fmt;
    use serde::{Serialize, Serializer};

    /// A padded ASCII field, as its trimmed text.
    pub(crate) fn ascii<S: Serializer, const N: usize>(
        b: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::trimmed_str(b))
    }

    struct Hex<'a>(&'a [u8]);

    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }

    /// An identifier (EUI-64, NGUID, FGUID) as lowercase hex, in byte order.
    pub(crate) fn hex<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Hex(b))
    }

    /// An unaligned 16-bit little-endian field as one integer.
    pub(crate) fn u16_le<S: Serializer>(b: &[u8; 2], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(u16::from_le_bytes(*b))
    }

    /// A 128-bit little-endian counter as one integer. Values that fit are
    /// emitted as `u64`, which every serde format supports; only larger
    /// ones need the format's 128-bit support.
    pub(crate) fn u128_le<S: Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        let v = u128::from_le_bytes(*b);
        match u64::try_from(v) {
            Ok(v) => s.serialize_u64(v),
            Err(_) => s.serialize_u128(v),
        }
    }

    /// An array of any length as a sequence (serde derives stop at 32).
    pub(crate) fn seq<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    /// A table indexed by opcode or identifier, as a map of its non-zero entries.
    pub(crate) fn sparse_u32<S: Serializer, const N: usize>(
        a: &[u32; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(a.iter().enumerate().filter(|(_, v)| **v != 0))
    }
}

/// Implements `Default` as all-zero bytes, for layouts too big to derive it.
macro_rules! zeroed_default {
    ($($t:ty),* $(,)?) => {
        $(impl Default for $t {
            fn default() -> Self {
                <$t as zerocopy::FromZeros>::new_zeroed()
            }
        })*
    };
}
pub(crate) use zeroed_default;

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

/// An LBA format descriptor (NVM command set 1.0, figure "LBA Format Data Structure"): 4 bytes.
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
pub struct LbaFormat {
    /// Metadata size in bytes per logical block (MS).
    pub ms: u16,
    /// LBA data size as a power of two (LBADS); 0 means the format is unused.
    pub lbads: u8,
    /// Relative performance (RP, bits 1:0): 0 best, 3 degraded.
    pub rp: u8,
}

const _: () = assert!(core::mem::size_of::<LbaFormat>() == 4);

impl LbaFormat {
    /// Logical block data size in bytes; 0 for an unused or invalid format.
    pub const fn data_size(&self) -> u64 {
        if self.lbads < 9 || self.lbads >= 64 {
            0
        } else {
            1 << self.lbads
        }
    }

    /// Relative performance (bits 1:0 of `rp`).
    pub const fn relative_performance(&self) -> u8 {
        self.rp & 0x3
    }
}

/// Identify Namespace data structure of the NVM command set (NVM command
/// set 1.0, figure "Identify Namespace Data Structure, NVM Command Set"):
/// CNS 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNamespace {
    /// Namespace size in logical blocks (NSZE).
    pub nsze: u64,
    /// Namespace capacity in logical blocks (NCAP).
    pub ncap: u64,
    /// Namespace utilization in logical blocks (NUSE).
    pub nuse: u64,
    /// Namespace features (NSFEAT).
    pub nsfeat: u8,
    /// Number of LBA formats (NLBAF), zero-based.
    pub nlbaf: u8,
    /// Formatted LBA size (FLBAS): format index bits 3:0 and 6:5, extended LBA bit 4.
    pub flbas: u8,
    /// Metadata capabilities (MC).
    pub mc: u8,
    /// End-to-end data protection capabilities (DPC).
    pub dpc: u8,
    /// End-to-end data protection type settings (DPS): type bits 2:0, PI first bit 3.
    pub dps: u8,
    /// Namespace multi-path I/O and namespace sharing capabilities (NMIC).
    pub nmic: u8,
    /// Reservation capabilities (RESCAP).
    pub rescap: u8,
    /// Format progress indicator (FPI).
    pub fpi: u8,
    /// Deallocate logical block features (DLFEAT).
    pub dlfeat: u8,
    /// Namespace atomic write unit normal (NAWUN), zero-based.
    pub nawun: u16,
    /// Namespace atomic write unit power fail (NAWUPF), zero-based.
    pub nawupf: u16,
    /// Namespace atomic compare and write unit (NACWU), zero-based.
    pub nacwu: u16,
    /// Namespace atomic boundary size normal (NABSN), zero-based.
    pub nabsn: u16,
    /// Namespace atomic boundary offset (NABO).
    pub nabo: u16,
    /// Namespace atomic boundary size power fail (NABSPF), zero-based.
    pub nabspf: u16,
    /// Namespace optimal I/O boundary in logical blocks (NOIOB).
    pub noiob: u16,
    /// NVM capacity in bytes (NVMCAP), 128-bit little-endian.
    #[serde(serialize_with = "ser::u128_le")]
    pub nvmcap: [u8; 16],
    /// Namespace preferred write granularity (NPWG), zero-based.
    pub npwg: u16,
    /// Namespace preferred write alignment (NPWA), zero-based.
    pub npwa: u16,
    /// Namespace preferred deallocate granularity (NPDG), zero-based.
    pub npdg: u16,
    /// Namespace preferred deallocate alignment (NPDA), zero-based.
    pub npda: u16,
    /// Namespace optimal write size (NOWS), zero-based.
    pub nows: u16,
    /// Maximum single source range length for Copy (MSSRL).
    pub mssrl: u16,
    /// Maximum copy length (MCL).
    pub mcl: u32,
    /// Maximum source range count for Copy (MSRC), zero-based.
    pub msrc: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd81: u8,
    /// Number of unique capability LBA formats (NULBAF).
    pub nulbaf: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd83: [u8; 9],
    /// ANA group identifier (ANAGRPID).
    pub anagrpid: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd96: [u8; 3],
    /// Namespace attributes (NSATTR): bit 0 write protected.
    pub nsattr: u8,
    /// NVM set identifier (NVMSETID).
    pub nvmsetid: u16,
    /// Endurance group identifier (ENDGID).
    pub endgid: u16,
    /// Namespace globally unique identifier (NGUID).
    #[serde(serialize_with = "ser::hex")]
    pub nguid: [u8; 16],
    /// IEEE extended unique identifier (EUI64).
    #[serde(serialize_with = "ser::hex")]
    pub eui64: [u8; 8],
    /// LBA formats 0 to 63 (only `nlbaf + 1` are valid; see [`Self::lbafs`]).
    #[serde(serialize_with = "ser::seq")]
    pub lbaf: [LbaFormat; 64],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 3712],
}

const _: () = assert!(core::mem::size_of::<IdentifyNamespace>() == IDENTIFY_NBYTES);

impl IdentifyNamespace {
    /// Index of the LBA format the namespace is formatted with.
    ///
    /// FLBAS bits 3:0 hold the low bits; bits 6:5 hold the two high bits,
    /// which only count when the namespace reports more than 16 formats.
    pub const fn flbas_index(&self) -> usize {
        let low = (self.flbas & 0xf) as usize;
        if self.nlbaf >= 16 {
            low | (((self.flbas >> 5) & 0x3) as usize) << 4
        } else {
            low
        }
    }

    /// Whether metadata is transferred at the end of each logical block
    /// (extended LBA, FLBAS bit 4) rather than in a separate buffer.
    pub const fn extended_lba(&self) -> bool {
        self.flbas & 0x10 != 0
    }

    /// The LBA format in use.
    pub const fn active_lbaf(&self) -> LbaFormat {
        self.lbaf[self.flbas_index() & 0x3f]
    }

    /// The valid LBA formats (`nlbaf + 1` of them).
    pub fn lbafs(&self) -> &[LbaFormat] {
        &self.lbaf[..(self.nlbaf as usize + 1).min(64)]
    }

    /// Logical block data size in bytes of the format in use.
    pub const fn lba_nbytes(&self) -> u64 {
        self.active_lbaf().data_size()
    }

    /// Metadata bytes per logical block of the format in use.
    pub const fn metadata_nbytes(&self) -> u16 {
        self.active_lbaf().ms
    }

    /// Protection information type the namespace is formatted with (DPS bits 2:0).
    pub const fn pi_type(&self) -> PiType {
        PiType(self.dps & 0x7)
    }

    /// Whether protection information sits in the first bytes of the
    /// metadata rather than the last (DPS bit 3).
    pub const fn pi_first(&self) -> bool {
        self.dps & 0x8 != 0
    }

    /// NVM capacity in bytes.
    pub const fn nvmcap(&self) -> u128 {
        u128::from_le_bytes(self.nvmcap)
    }

    /// Whether the namespace is thin provisioned (NSFEAT bit 0).
    pub const fn thin_provisioned(&self) -> bool {
        self.nsfeat & 0x1 != 0
    }
}

/// I/O command set specific Identify Controller data structure for the NVM
/// command set (NVM command set 1.0, "I/O Command Set Specific Identify Controller"):
/// CNS 0x06, CSI 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNvmController {
    /// Verify size limit (VSL), a power of two in units of CAP.MPSMIN; 0 = no limit.
    pub vsl: u8,
    /// Write Zeroes size limit (WZSL), as for `vsl`.
    pub wzsl: u8,
    /// Write Uncorrectable size limit (WUSL), as for `vsl`.
    pub wusl: u8,
    /// Dataset Management ranges limit (DMRL); 0 = no limit reported.
    pub dmrl: u8,
    /// Dataset Management range size limit in logical blocks (DMRSL).
    pub dmrsl: u32,
    /// Dataset Management size limit in logical blocks (DMSL).
    pub dmsl: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd16: [u8; 4080],
}

const _: () = assert!(core::mem::size_of::<IdentifyNvmController>() == IDENTIFY_NBYTES);

/// An extended LBA format (ELBAF) entry of [`IdentifyNvmNamespace`]
/// (NVM command set 1.0, figure "Extended LBA Format Data Structure"), decoded.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct ElbaFormat(pub u32);

impl ElbaFormat {
    /// Storage tag size in bits (STS, bits 6:0).
    pub const fn sts(self) -> u8 {
        (self.0 & 0x7f) as u8
    }

    /// Protection information format (PIF, bits 8:7).
    pub const fn pif(self) -> PiFormat {
        PiFormat(((self.0 >> 7) & 0x3) as u8)
    }
}

/// I/O command set specific Identify Namespace data structure for the NVM
/// command set (NVM command set 1.0, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x00.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyNvmNamespace {
    /// Logical block storage tag mask (LBSTM).
    pub lbstm: u64,
    /// Protection information capabilities (PIC).
    pub pic: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd9: [u8; 3],
    /// Extended LBA formats 0 to 63, parallel to [`IdentifyNamespace::lbaf`].
    #[serde(serialize_with = "ser::seq")]
    pub elbaf: [u32; 64],
    #[serde(skip)]
    /// Reserved.
    pub rsvd268: [u8; 3828],
}

const _: () = assert!(core::mem::size_of::<IdentifyNvmNamespace>() == IDENTIFY_NBYTES);

impl IdentifyNvmNamespace {
    /// The extended LBA format at `index`, decoded.
    pub const fn elba_format(&self, index: usize) -> ElbaFormat {
        ElbaFormat(self.elbaf[index & 0x3f])
    }

    /// Whether the 16b guard protection information format is supported (PIC bit 0).
    pub const fn supports_16b_guard(&self) -> bool {
        self.pic & 0x1 != 0
    }

    /// Whether storage tag check read is supported (PIC bit 1).
    pub const fn supports_stc_read(&self) -> bool {
        self.pic & 0x2 != 0
    }
}

/// I/O command set specific Identify Controller data structure for the
/// Zoned Namespace command set (ZNS 1.1, "I/O Command Set Specific Identify Controller"):
/// CNS 0x06, CSI 0x02.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyZonedController {
    /// Zone Append size limit (ZASL), a power of two in units of CAP.MPSMIN; 0 = MDTS.
    pub zasl: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 4095],
}

const _: () = assert!(core::mem::size_of::<IdentifyZonedController>() == IDENTIFY_NBYTES);

/// A zoned LBA format extension (ZNS 1.1, figure "LBA Format Extension Data Structure"): 16 bytes.
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
pub struct ZonedLbaFormatExt {
    /// Zone size in logical blocks (ZSZE).
    pub zsze: u64,
    /// Zone descriptor extension size, in 64 B units (ZDES).
    pub zdes: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd9: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<ZonedLbaFormatExt>() == 16);

impl ZonedLbaFormatExt {
    /// Zone descriptor extension size in bytes.
    pub const fn zdes_nbytes(&self) -> usize {
        self.zdes as usize * 64
    }
}

/// I/O command set specific Identify Namespace data structure for the
/// Zoned Namespace command set (ZNS 1.1, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x02.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyZonedNamespace {
    /// Zone operation characteristics (ZOC): bit 0 variable capacity, bit 1 zone active excursions.
    pub zoc: u16,
    /// Optional zoned command support (OZCS): bit 0 read across zone boundaries, bit 1 ZRWA.
    pub ozcs: u16,
    /// Maximum active resources (MAR), zero-based; `u32::MAX` = no limit.
    pub mar: u32,
    /// Maximum open resources (MOR), zero-based; `u32::MAX` = no limit.
    pub mor: u32,
    /// Reset recommended limit in seconds (RRL).
    pub rrl: u32,
    /// Finish recommended limit in seconds (FRL).
    pub frl: u32,
    /// Reset recommended limit 1 (RRL1).
    pub rrl1: u32,
    /// Reset recommended limit 2 (RRL2).
    pub rrl2: u32,
    /// Reset recommended limit 3 (RRL3).
    pub rrl3: u32,
    /// Finish recommended limit 1 (FRL1).
    pub frl1: u32,
    /// Finish recommended limit 2 (FRL2).
    pub frl2: u32,
    /// Finish recommended limit 3 (FRL3).
    pub frl3: u32,
    /// Number of zone random write area resources (NUMZRWA), zero-based.
    pub numzrwa: u32,
    /// ZRWA flush granularity in logical blocks (ZRWAFG).
    pub zrwafg: u16,
    /// ZRWA size in logical blocks (ZRWASZ).
    pub zrwasz: u16,
    /// ZRWA capability (ZRWACAP): bit 0 explicit ZRWA flush.
    pub zrwacap: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd53: [u8; 2763],
    /// Zoned LBA format extensions, parallel to [`IdentifyNamespace::lbaf`].
    #[serde(serialize_with = "ser::seq")]
    pub lbafe: [ZonedLbaFormatExt; 64],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 256],
}

const _: () = assert!(core::mem::size_of::<IdentifyZonedNamespace>() == IDENTIFY_NBYTES);

/// A KV format data structure (KV command set 1.0, figure "KV Format Data Structure"): 16 bytes.
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
pub struct KvFormat {
    /// Maximum key length in bytes (KML).
    pub kml: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd2: u8,
    /// Additional format options: relative performance in bits 1:0.
    pub fopt: u8,
    /// Maximum value length in bytes (MVL).
    pub mvl: u32,
    /// Maximum number of keys (MNK); 0 = no limit reported.
    pub mnk: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd12: [u8; 4],
}

const _: () = assert!(core::mem::size_of::<KvFormat>() == 16);

/// I/O command set specific Identify Namespace data structure for the Key
/// Value command set (KV command set 1.0, "I/O Command Set Specific Identify Namespace"):
/// CNS 0x05, CSI 0x01.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyKvNamespace {
    /// Namespace size in bytes (NSZE).
    pub nsze: u64,
    #[serde(skip)]
    /// Reserved.
    pub rsvd8: [u8; 8],
    /// Namespace utilization in bytes (NUSE).
    pub nuse: u64,
    /// Namespace features (NSFEAT).
    pub nsfeat: u8,
    /// Number of KV formats (NKVF), zero-based.
    pub nkvf: u8,
    /// Namespace multi-path I/O and namespace sharing capabilities (NMIC).
    pub nmic: u8,
    /// Reservation capabilities (RESCAP).
    pub rescap: u8,
    /// Format progress indicator (FPI).
    pub fpi: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd29: [u8; 3],
    /// Namespace optimal value granularity in bytes (NOVG).
    pub novg: u32,
    /// ANA group identifier (ANAGRPID).
    pub anagrpid: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd40: [u8; 3],
    /// Namespace attributes (NSATTR).
    pub nsattr: u8,
    /// NVM set identifier (NVMSETID).
    pub nvmsetid: u16,
    /// Endurance group identifier (ENDGID).
    pub endgid: u16,
    /// Namespace globally unique identifier (NGUID).
    #[serde(serialize_with = "ser::hex")]
    pub nguid: [u8; 16],
    /// IEEE extended unique identifier (EUI64).
    #[serde(serialize_with = "ser::hex")]
    pub eui64: [u8; 8],
    /// KV formats 0 to 15 (only `nkvf + 1` are valid).
    pub kvf: [KvFormat; 16],
    #[serde(skip)]
    /// Reserved.
    pub rsvd328: [u8; 3512],
    #[serde(skip)]
    /// Vendor specific.
    pub vs: [u8; 256],
}

const _: () = assert!(core::mem::size_of::<IdentifyKvNamespace>() == IDENTIFY_NBYTES);

impl IdentifyKvNamespace {
    /// The valid KV formats (`nkvf + 1` of them).
    pub fn kv_formats(&self) -> &[KvFormat] {
        &self.kvf[..(self.nkvf as usize + 1).min(16)]
    }
}

/// A namespace ID list (CNS 0x02, 0x07, 0x10, 0x1A; also the Changed
/// Namespace List log page): up to 1024 NSIDs in increasing order, ended
/// by the first zero entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct NamespaceList {
    /// The NSIDs; entries after the first zero are unused.
    pub nsid: [u32; 1024],
}

const _: () = assert!(core::mem::size_of::<NamespaceList>() == IDENTIFY_NBYTES);

impl NamespaceList {
    /// The listed NSIDs, up to the first zero entry.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.nsid.iter().copied().take_while(|&id| id != 0)
    }

    /// Number of listed NSIDs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no NSID is listed.
    pub const fn is_empty(&self) -> bool {
        self.nsid[0] == 0
    }
}

impl Serialize for NamespaceList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A controller list (CNS 0x12, 0x13; NVMe 2.0 base, figure "Controller List Format"): a count
/// followed by up to 2047 controller identifiers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ControllerList {
    /// Number of identifiers (NUMID).
    pub numid: u16,
    /// Controller identifiers; only the first `numid` are valid.
    pub ids: [u16; 2047],
}

const _: () = assert!(core::mem::size_of::<ControllerList>() == IDENTIFY_NBYTES);

impl ControllerList {
    /// The valid controller identifiers.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..(self.numid as usize).min(2047)]
    }
}

impl Serialize for ControllerList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids())
    }
}

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

zeroed_default!(
    IdentifyController,
    IdentifyNamespace,
    IdentifyNvmController,
    IdentifyNvmNamespace,
    IdentifyZonedController,
    IdentifyZonedNamespace,
    IdentifyKvNamespace,
    NamespaceList,
    ControllerList,
    IoCommandSetVectors,
);

open_enum! {
    /// Namespace identifier types (NIDT) of a namespace identification
    /// descriptor (NVMe 2.0 base, figure "Namespace Identifier Type Values").
    NsIdType: u8 {
        /// IEEE extended unique identifier, 8 bytes.
        EUI64 = 0x1, "EUI64";
        /// Namespace globally unique identifier, 16 bytes.
        NGUID = 0x2, "NGUID";
        /// Namespace UUID, 16 bytes.
        UUID = 0x3, "UUID";
        /// Command set identifier, 1 byte.
        CSI = 0x4, "CSI";
    }
}

/// One namespace identification descriptor from a CNS 0x03 list,
/// borrowing its identifier bytes from the buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct NsIdDescriptor<'a> {
    /// Namespace identifier type (NIDT).
    pub nidt: NsIdType,
    /// Namespace identifier (NID), `NIDL` bytes long.
    #[serde(serialize_with = "ser_nid")]
    pub nid: &'a [u8],
}

fn ser_nid<S: serde::Serializer>(nid: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    struct Hex<'a>(&'a [u8]);
    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
    s.collect_str(&Hex(nid))
}

impl NsIdDescriptor<'_> {
    /// The command set identifier, if this is a CSI descriptor.
    pub fn csi(&self) -> Option<Csi> {
        match (self.nidt, self.nid) {
            (NsIdType::CSI, [csi, ..]) => Some(Csi(*csi)),
            _ => None,
        }
    }

    /// The 16-byte identifier, if this is an NGUID or UUID descriptor.
    pub fn id16(&self) -> Option<[u8; 16]> {
        match self.nidt {
            NsIdType::NGUID | NsIdType::UUID => self.nid.try_into().ok(),
            _ => None,
        }
    }

    /// The 8-byte identifier, if this is an EUI64 descriptor.
    pub fn eui64(&self) -> Option<[u8; 8]> {
        match self.nidt {
            NsIdType::EUI64 => self.nid.try_into().ok(),
            _ => None,
        }
    }
}

/// Walks a namespace identification descriptor list (CNS 0x03) without
/// allocating. Iteration stops at a descriptor of type 0, or at the first
/// descriptor that does not fit in the buffer.
#[derive(Clone, Debug)]
pub struct NsIdDescriptorIter<'a> {
    buf: &'a [u8],
}

impl<'a> NsIdDescriptorIter<'a> {
    /// Iterates the descriptors in `buf` (normally the 4096-byte Identify buffer).
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
}

impl<'a> Iterator for NsIdDescriptorIter<'a> {
    type Item = NsIdDescriptor<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // Header: NIDT (byte 0), NIDL (byte 1), two reserved bytes.
        let (&[nidt, nidl, _, _], rest) = self.buf.split_first_chunk::<4>()?;
        if nidt == 0 || rest.len() < nidl as usize {
            self.buf = &[];
            return None;
        }
        let (nid, rest) = rest.split_at(nidl as usize);
        self.buf = rest;
        Some(NsIdDescriptor {
            nidt: NsIdType(nidt),
            nid,
        })
    }
}

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

    #[test]
    fn identify_namespace_offsets_match_nvm_spec() {
        assert_eq!(offset_of!(IdentifyNamespace, nsze), 0);
        assert_eq!(offset_of!(IdentifyNamespace, nuse), 16);
        assert_eq!(offset_of!(IdentifyNamespace, nlbaf), 25);
        assert_eq!(offset_of!(IdentifyNamespace, flbas), 26);
        assert_eq!(offset_of!(IdentifyNamespace, dps), 29);
        assert_eq!(offset_of!(IdentifyNamespace, dlfeat), 33);
        assert_eq!(offset_of!(IdentifyNamespace, noiob), 46);
        assert_eq!(offset_of!(IdentifyNamespace, nvmcap), 48);
        assert_eq!(offset_of!(IdentifyNamespace, npwg), 64);
        assert_eq!(offset_of!(IdentifyNamespace, mssrl), 74);
        assert_eq!(offset_of!(IdentifyNamespace, mcl), 76);
        assert_eq!(offset_of!(IdentifyNamespace, msrc), 80);
        assert_eq!(offset_of!(IdentifyNamespace, nulbaf), 82);
        assert_eq!(offset_of!(IdentifyNamespace, anagrpid), 92);
        assert_eq!(offset_of!(IdentifyNamespace, nsattr), 99);
        assert_eq!(offset_of!(IdentifyNamespace, nvmsetid), 100);
        assert_eq!(offset_of!(IdentifyNamespace, endgid), 102);
        assert_eq!(offset_of!(IdentifyNamespace, nguid), 104);
        assert_eq!(offset_of!(IdentifyNamespace, eui64), 120);
        assert_eq!(offset_of!(IdentifyNamespace, lbaf), 128);
        assert_eq!(offset_of!(IdentifyNamespace, vs), 384);
    }

    #[test]
    fn command_set_specific_offsets_match_their_specs() {
        // NVM command set 1.0: I/O command set specific controller and namespace.
        assert_eq!(offset_of!(IdentifyNvmController, dmrl), 3);
        assert_eq!(offset_of!(IdentifyNvmController, dmrsl), 4);
        assert_eq!(offset_of!(IdentifyNvmController, dmsl), 8);
        assert_eq!(offset_of!(IdentifyNvmNamespace, pic), 8);
        assert_eq!(offset_of!(IdentifyNvmNamespace, elbaf), 12);
        // ZNS 1.1: zoned namespace and LBA format extension.
        assert_eq!(offset_of!(IdentifyZonedNamespace, mar), 4);
        assert_eq!(offset_of!(IdentifyZonedNamespace, frl), 16);
        assert_eq!(offset_of!(IdentifyZonedNamespace, numzrwa), 44);
        assert_eq!(offset_of!(IdentifyZonedNamespace, zrwacap), 52);
        assert_eq!(offset_of!(IdentifyZonedNamespace, lbafe), 2816);
        assert_eq!(offset_of!(IdentifyZonedNamespace, vs), 3840);
        assert_eq!(offset_of!(ZonedLbaFormatExt, zdes), 8);
        // KV command set 1.0: KV namespace and KV format.
        assert_eq!(offset_of!(IdentifyKvNamespace, nuse), 16);
        assert_eq!(offset_of!(IdentifyKvNamespace, nkvf), 25);
        assert_eq!(offset_of!(IdentifyKvNamespace, novg), 32);
        assert_eq!(offset_of!(IdentifyKvNamespace, nguid), 48);
        assert_eq!(offset_of!(IdentifyKvNamespace, kvf), 72);
        assert_eq!(offset_of!(KvFormat, mvl), 4);
        assert_eq!(offset_of!(KvFormat, mnk), 8);
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
    fn invalid_utf8_yields_the_valid_prefix() {
        assert_eq!(trimmed_str(b"ab\xffcd  "), "ab");
        assert_eq!(trimmed_str(b"\xff"), "");
        assert_eq!(trimmed_str(b"  x \0\0"), "x");
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

    #[test]
    fn flbas_index_uses_upper_bits_only_beyond_16_formats() {
        let mut ns = IdentifyNamespace::default();
        ns.lbaf[1] = LbaFormat {
            ms: 8,
            lbads: 12,
            rp: 0,
        };
        ns.lbaf[17] = LbaFormat {
            ms: 0,
            lbads: 9,
            rp: 0,
        };
        ns.flbas = 0x1 | 0x10 | 0x20; // index 1, extended, upper bits 01
        ns.nlbaf = 3;
        assert_eq!(ns.flbas_index(), 1);
        assert!(ns.extended_lba());
        assert_eq!(ns.lba_nbytes(), 4096);
        assert_eq!(ns.metadata_nbytes(), 8);
        assert_eq!(ns.lbafs().len(), 4);
        ns.nlbaf = 20;
        assert_eq!(ns.flbas_index(), 17);
        assert_eq!(ns.active_lbaf().data_size(), 512);
    }

    #[test]
    fn pi_settings_decode_from_dps() {
        let mut ns = IdentifyNamespace {
            dps: 0x8 | 0x1,
            ..Default::default()
        };
        assert_eq!(ns.pi_type(), PiType::TYPE1);
        assert!(ns.pi_first());
        ns.dps = 0x3;
        assert_eq!(ns.pi_type(), PiType::TYPE3);
        assert!(!ns.pi_first());
    }

    #[test]
    fn lba_format_data_size_rejects_unused_formats() {
        assert_eq!(LbaFormat::default().data_size(), 0);
        assert_eq!(
            LbaFormat {
                ms: 0,
                lbads: 9,
                rp: 2
            }
            .data_size(),
            512
        );
        assert_eq!(
            LbaFormat {
                ms: 0,
                lbads: 9,
                rp: 2
            }
            .relative_performance(),
            2
        );
    }

    #[test]
    fn elbaf_decodes_storage_tag_size_and_pi_format() {
        let f = ElbaFormat(0x2 << 7 | 16);
        assert_eq!(f.sts(), 16);
        assert_eq!(f.pif(), PiFormat::GUARD64);
    }

    #[test]
    fn identify_view_round_trips_and_places_fields() {
        let id = Identify {
            nsid: 3,
            cns: Cns::CSI_NAMESPACE,
            cntid: 0x12,
            cnssi: 7,
            csi: Csi::ZONED,
            uuid: 2,
        };
        let cmd = id.to_command();
        assert_eq!(cmd.opc, 0x06);
        assert_eq!(cmd.cdw10, 0x0012_0005);
        assert_eq!(cmd.cdw11, 0x0200_0007);
        assert_eq!(cmd.cdw14, 2);
        assert_eq!(Identify::from_command(&cmd), id);
        assert_eq!(Identify::controller().to_command().cdw10, 1);
    }

    #[test]
    fn unknown_cns_round_trips() {
        let cns = Cns(0x1f);
        assert_eq!(cns.name(), None);
        assert_eq!(
            Identify::from_command(
                &Identify {
                    cns,
                    ..Default::default()
                }
                .to_command()
            )
            .cns,
            cns
        );
        assert_eq!(Cns::IO_CMDSET.0, 0x1c);
        assert_eq!(Cns::NS_GRANULARITY.0, 0x16);
    }

    #[test]
    fn namespace_list_stops_at_first_zero() {
        let mut list = NamespaceList::default();
        assert!(list.is_empty());
        list.nsid[..3].copy_from_slice(&[1, 2, 7]);
        list.nsid[5] = 9; // after the terminator: ignored
        assert_eq!(list.len(), 3);
        assert_eq!(serde_json::to_string(&list).unwrap(), "[1,2,7]");
    }

    #[test]
    fn controller_list_exposes_numid_entries() {
        let mut raw = [0u8; 4096];
        raw[0..2].copy_from_slice(&2u16.to_le_bytes());
        raw[2..4].copy_from_slice(&0x41u16.to_le_bytes());
        raw[4..6].copy_from_slice(&0x42u16.to_le_bytes());
        let l = ControllerList::read_from_bytes(&raw[..]).unwrap();
        assert_eq!(l.ids(), &[0x41, 0x42]);
    }

    #[test]
    fn ns_id_descriptors_are_walked_without_allocation() {
        let mut buf = [0u8; 64];
        buf[0] = 3; // UUID
        buf[1] = 16;
        buf[4..20].copy_from_slice(&[0xab; 16]);
        buf[20] = 4; // CSI
        buf[21] = 1;
        buf[24] = 2;
        let descs: std::vec::Vec<_> = NsIdDescriptorIter::new(&buf).collect();
        assert_eq!(descs.len(), 2);
        assert_eq!(descs[0].nidt, NsIdType::UUID);
        assert_eq!(descs[0].id16(), Some([0xab; 16]));
        assert_eq!(descs[1].csi(), Some(Csi::ZONED));
        // A descriptor claiming more bytes than remain ends the walk.
        let truncated = [2u8, 16, 0, 0, 1, 2];
        assert_eq!(NsIdDescriptorIter::new(&truncated).count(), 0);
    }

    #[test]
    fn io_command_set_vectors_test_bits_by_csi() {
        let mut v = IoCommandSetVectors::default();
        v.iocsc[0] = 0b101;
        assert!(v.includes(0, Csi::NVM));
        assert!(!v.includes(0, Csi::KV));
        assert!(v.includes(0, Csi::ZONED));
    }

    #[test]
    fn identifiers_serialize_as_hex() {
        let ns = IdentifyNamespace {
            eui64: [0, 1, 2, 3, 0xa, 0xb, 0xc, 0xff],
            ..Default::default()
        };
        let v = serde_json::to_value(ns).unwrap();
        assert_eq!(v["eui64"], "000102030a0b0cff");
        assert_eq!(v["lbaf"].as_array().unwrap().len(), 64);
    }
}
