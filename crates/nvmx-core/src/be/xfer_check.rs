//! How many bytes a raw NVMe command moves, checked against its buffers
//! in one place.
//!
//! Every interface that hands a caller's buffer to hardware or to the
//! kernel (the user-space PCIe driver, `io_uring_cmd`, the Linux and
//! FreeBSD NVMe passthrough ioctls, Windows StorNVMe) maps the buffer's
//! length and no more, while the controller moves what the command says:
//! NLB + 1 blocks for a Read, NUMD + 1 dwords for a Get Log Page, 4 KiB
//! for an Identify. A buffer shorter than that would have the controller
//! read or write past it (under uio, at physical address 0 or wherever a
//! stale PRP-list entry points), so such a command is refused with
//! [`Error::ShortBuffer`] before anything is mapped.
//!
//! Opcodes whose transfer length the command does not fix (vendor
//! commands, features without a data structure) are not checked: the
//! buffer's length is all there is to go by. Admin commands that hand the
//! controller memory to keep using after they complete (Doorbell Buffer
//! Config, enabling a Host Memory Buffer) are refused outright.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use nvmx_spec::Command;
use nvmx_spec::identify::{Cns, IdentifyNamespace, IdentifyNvmNamespace, NsIdDescriptorIter};
use nvmx_spec::opcode::{AdminOpcode, Csi, KvOpcode, NvmOpcode};
use nvmx_spec::pi::PiType;
use zerocopy::FromBytes;

use super::{Admin, DataBuf};
use crate::error::{Error, Result};

/// What the transfer lengths of a namespace's I/O commands follow from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsFormat {
    /// Bytes per block in the data buffer: data, plus the metadata when it
    /// is interleaved (extended LBA).
    pub lba_nbytes: u32,
    /// Bytes of separate metadata per block (0 for none or interleaved);
    /// `None` when not known, and metadata is then not checked.
    pub meta_nbytes: Option<u32>,
    /// Bytes of interleaved metadata in each block of `lba_nbytes` (0
    /// for separate or no metadata).
    pub ext_meta_nbytes: u32,
    /// The metadata is exactly a protection information tuple, so with
    /// PRACT set the controller inserts and strips it: it is not
    /// transferred at all (no metadata buffer, and data-only blocks in
    /// the data buffer of an extended-LBA format).
    pub pi_meta_only: bool,
    /// The namespace's command set (0 NVM, 1 key-value, 2 zoned).
    pub csi: u8,
}

impl NsFormat {
    /// A format known by its data block size alone (metadata unchecked).
    #[cfg(any(target_os = "linux", test))]
    pub const fn data_only(lba_nbytes: u32) -> NsFormat {
        NsFormat {
            lba_nbytes,
            meta_nbytes: None,
            ext_meta_nbytes: 0,
            pi_meta_only: false,
            csi: 0,
        }
    }

    /// The format Identify Namespace describes, with `pi_tuple` the size
    /// of the protection information tuple (8 or 16, from the extended
    /// LBA format); `None` for an inactive namespace (a zero data size).
    pub fn from_identify(id: &IdentifyNamespace, csi: u8, pi_tuple: u32) -> Option<NsFormat> {
        let f = id.active_lbaf();
        let data = u32::try_from(f.data_size()).ok().filter(|&n| n > 0)?;
        let ms = u32::from(f.ms);
        let extended = id.extended_lba();
        Some(NsFormat {
            lba_nbytes: data + if extended { ms } else { 0 },
            meta_nbytes: Some(if extended { 0 } else { ms }),
            ext_meta_nbytes: if extended { ms } else { 0 },
            pi_meta_only: id.pi_type() != PiType::NONE && ms > 0 && ms == pi_tuple,
            csi,
        })
    }
}

/// The bytes a command moves through its data and metadata pointers;
/// `None` where the command does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Need {
    /// Data bytes.
    pub data: Option<u64>,
    /// Metadata bytes.
    pub meta: Option<u64>,
}

fn dwords(numd0: u32) -> u64 {
    (u64::from(numd0) + 1) * 4
}

/// What an I/O command moves on a namespace of format `fmt`.
pub fn io_need(cmd: &Command, fmt: &NsFormat) -> Need {
    if fmt.csi == Csi::KV.0 {
        // Store: value size; Retrieve and List: the host buffer size.
        return match KvOpcode(cmd.opc) {
            KvOpcode::STORE | KvOpcode::RETRIEVE | KvOpcode::LIST => Need {
                data: Some(u64::from(cmd.cdw10)),
                meta: None,
            },
            _ => Need::default(),
        };
    }
    let nlb = u64::from(cmd.cdw12 & 0xffff) + 1;
    let data = |n: u64| Need {
        data: Some(n),
        meta: None,
    };
    match NvmOpcode(cmd.opc) {
        NvmOpcode::WRITE | NvmOpcode::READ | NvmOpcode::COMPARE | NvmOpcode::ZONE_APPEND => {
            // PRACT with PI-only metadata: the controller inserts and
            // strips the PI, none of it crosses the bus.
            let stripped = cmd.cdw12 & (1 << 29) != 0 && fmt.pi_meta_only;
            let meta = fmt
                .meta_nbytes
                .map(|ms| if stripped { 0 } else { nlb * u64::from(ms) });
            let block = if stripped {
                fmt.lba_nbytes - fmt.ext_meta_nbytes
            } else {
                fmt.lba_nbytes
            };
            Need {
                data: Some(nlb * u64::from(block)),
                meta,
            }
        }
        NvmOpcode::DSM => data((u64::from(cmd.cdw10 & 0xff) + 1) * 16),
        NvmOpcode::COPY => {
            let nr = u64::from(cmd.cdw12 & 0xff) + 1;
            match (cmd.cdw12 >> 8) & 0xf {
                0 | 2 => data(nr * 32),
                1 | 3 => data(nr * 40),
                _ => Need::default(),
            }
        }
        // Reservation Register and Acquire: two keys; Release: one.
        NvmOpcode::RESV_REGISTER | NvmOpcode::RESV_ACQUIRE => data(16),
        NvmOpcode::RESV_RELEASE => data(8),
        NvmOpcode::RESV_REPORT => data(dwords(cmd.cdw10)),
        NvmOpcode::ZONE_MGMT_RECV => data(dwords(cmd.cdw12)),
        NvmOpcode::IO_MGMT_RECV => data(dwords(cmd.cdw11)),
        _ => Need::default(),
    }
}

/// The data size of feature `fid` when it has a data structure.
fn feature_nbytes(cmd: &Command) -> Option<u64> {
    let get = cmd.opc == AdminOpcode::GET_FEATURES.0;
    // Get Features with SEL 3 returns the capabilities in dword 0 only.
    if get && (cmd.cdw10 >> 8) & 0x7 == 3 {
        return Some(0);
    }
    match cmd.cdw10 & 0xff {
        0x03 => Some(4096),                                    // LBA Range Type
        0x0c => Some(256),                                     // Autonomous Power State Transition
        0x0d if get => Some(4096),                             // Host Memory Buffer attributes
        0x0e => Some(8),                                       // Timestamp
        0x16 => Some(512),                                     // Host Behavior Support
        0x81 => Some(if cmd.cdw11 & 1 != 0 { 16 } else { 8 }), // Host Identifier
        _ => None,
    }
}

/// What an admin command moves; an error for the commands that give the
/// controller memory to use after they complete.
pub fn admin_need(interface: &'static str, cmd: &Command) -> Result<Option<u64>> {
    Ok(match AdminOpcode(cmd.opc) {
        AdminOpcode::IDENTIFY => Some(4096),
        AdminOpcode::GET_LOG_PAGE => Some(dwords(((cmd.cdw11 & 0xffff) << 16) | (cmd.cdw10 >> 16))),
        AdminOpcode::GET_FEATURES | AdminOpcode::SET_FEATURES => {
            if cmd.opc == AdminOpcode::SET_FEATURES.0
                && cmd.cdw10 & 0xff == 0x0d
                && cmd.cdw11 & 1 != 0
            {
                return Err(Error::unsupported(
                    interface,
                    "enabling a Host Memory Buffer by raw Set Features: the controller would \
                     keep using host memory nvmx does not own",
                ));
            }
            feature_nbytes(cmd)
        }
        AdminOpcode::FW_DOWNLOAD | AdminOpcode::DIRECTIVE_SEND | AdminOpcode::DIRECTIVE_RECV => {
            Some(dwords(cmd.cdw10))
        }
        AdminOpcode::GET_LBA_STATUS => Some(dwords(cmd.cdw12)),
        AdminOpcode::SECURITY_SEND | AdminOpcode::SECURITY_RECV => Some(u64::from(cmd.cdw11)),
        // Create (SEL 0) takes a 4 KiB namespace structure; delete none.
        AdminOpcode::NS_MGMT => Some(if cmd.cdw10 & 0xf == 0 { 4096 } else { 0 }),
        AdminOpcode::NS_ATTACH => Some(4096),
        AdminOpcode::DOORBELL_BUFFER_CONFIG => {
            return Err(Error::unsupported(
                interface,
                "Doorbell Buffer Config: the controller would keep writing the shadow \
                 doorbell pages after the command",
            ));
        }
        _ => None,
    })
}

/// Refuses a buffer of `have` bytes for a transfer of `need`.
pub fn check_len(what: &'static str, have: usize, need: Option<u64>) -> Result<()> {
    match need {
        Some(need) if (have as u64) < need => Err(Error::ShortBuffer {
            what,
            len: have as u64,
            need,
        }),
        _ => Ok(()),
    }
}

/// Checks an I/O command's data and metadata buffers (`data_len`,
/// `meta_len` bytes; 0 for none) against what it moves.
pub fn check_io(
    cmd: &Command,
    fmt: Option<&NsFormat>,
    data_len: usize,
    meta_len: usize,
) -> Result<Need> {
    let Some(fmt) = fmt else {
        return Ok(Need::default());
    };
    let need = io_need(cmd, fmt);
    check_len("data", data_len, need.data)?;
    check_len("metadata", meta_len, need.meta)?;
    Ok(need)
}

/// Checks an admin command's data buffer against what it moves.
pub fn check_admin(interface: &'static str, cmd: &Command, data_len: usize) -> Result<Option<u64>> {
    let need = admin_need(interface, cmd)?;
    check_len("data", data_len, need)?;
    Ok(need)
}

/// Whether an admin command may change a namespace's format (or which
/// namespaces exist), so that cached formats must be looked up again.
pub const fn changes_formats(opc: u8) -> bool {
    matches!(
        AdminOpcode(opc),
        AdminOpcode::FORMAT_NVM
            | AdminOpcode::NS_MGMT
            | AdminOpcode::NS_ATTACH
            | AdminOpcode::SANITIZE
    )
}

/// Namespace formats by nsid, looked up with Identify on first use and
/// forgotten when an admin command through the same interface may have
/// changed them ([`changes_formats`]).
#[derive(Debug, Default)]
pub struct FormatCache {
    map: Mutex<HashMap<u32, Option<NsFormat>>>,
    epoch: AtomicU64,
}

impl FormatCache {
    /// Changes whenever cached formats are forgotten.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Forgets every format (after a Format NVM, a namespace change, a
    /// reset).
    pub fn forget(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Call after an admin command: forgets the formats when it may have
    /// changed them.
    pub fn note_admin(&self, opc: u8) {
        if changes_formats(opc) {
            self.forget();
        }
    }

    /// The format of namespace `nsid`, asking `admin` when not cached;
    /// `None` when the namespace is inactive or Identify fails.
    pub fn get(&self, nsid: u32, admin: &dyn Admin) -> Option<NsFormat> {
        if let Some(f) = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&nsid)
        {
            return *f;
        }
        let epoch = self.epoch();
        let f = lookup(nsid, admin);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // A format change while Identify ran: do not keep what it said.
        if self.epoch() == epoch {
            map.insert(nsid, f);
        }
        f
    }
}

/// Identify Namespace and the command set of `nsid`.
fn lookup(nsid: u32, admin: &dyn Admin) -> Option<NsFormat> {
    if nsid == 0 || nsid == u32::MAX {
        return None;
    }
    let mut buf = vec![0u8; 4096];
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
    let cpl = admin.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).ok()?;
    if !cpl.is_success() {
        return None;
    }
    let id = IdentifyNamespace::read_from_bytes(&buf[..]).ok()?;
    // The PI tuple size of the active format: 16 bytes for the 32b and
    // 64b guard formats of the NVM command set's extended LBA formats.
    let mut pi_tuple = 8;
    if id.pi_type() != PiType::NONE {
        let mut nvm = vec![0u8; 4096];
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
        cmd.cdw10 = u32::from(Cns::CSI_NAMESPACE.0);
        if let Ok(c) = admin.cmd_admin(&mut cmd, DataBuf::In(&mut nvm))
            && c.is_success()
            && let Ok(n) = IdentifyNvmNamespace::read_from_bytes(&nvm[..])
        {
            pi_tuple = n.elba_format(id.flbas_index()).pif().tuple_nbytes() as u32;
        }
    }
    let mut desc = vec![0u8; 4096];
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, nsid);
    cmd.cdw10 = u32::from(Cns::NS_ID_DESCRIPTOR_LIST.0);
    let csi = match admin.cmd_admin(&mut cmd, DataBuf::In(&mut desc)) {
        Ok(c) if c.is_success() => NsIdDescriptorIter::new(&desc)
            .find_map(|d| d.csi())
            .map_or(0, |c| c.0),
        _ => 0,
    };
    NsFormat::from_identify(&id, csi, pi_tuple)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(opc: NvmOpcode, nlb: u16) -> Command {
        let mut c = Command::new(opc.0, 1);
        c.cdw12 = u32::from(nlb);
        c
    }

    const SEPARATE: NsFormat = NsFormat {
        lba_nbytes: 512,
        meta_nbytes: Some(8),
        ext_meta_nbytes: 0,
        pi_meta_only: true,
        csi: 0,
    };

    #[test]
    fn reads_writes_compares_and_appends_move_nlb_blocks_and_their_metadata() {
        for opc in [
            NvmOpcode::READ,
            NvmOpcode::WRITE,
            NvmOpcode::COMPARE,
            NvmOpcode::ZONE_APPEND,
        ] {
            let need = io_need(&rw(opc, 7), &SEPARATE);
            assert_eq!(need.data, Some(8 * 512), "{opc:?}");
            assert_eq!(need.meta, Some(8 * 8), "{opc:?}");
            let e = check_io(&rw(opc, 7), Some(&SEPARATE), 4096 - 1, 64).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::ShortBuffer {
                        what: "data",
                        len: 4095,
                        need: 4096
                    }
                ),
                "{e}"
            );
            let e = check_io(&rw(opc, 7), Some(&SEPARATE), 4096, 63).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::ShortBuffer {
                        what: "metadata",
                        need: 64,
                        ..
                    }
                ),
                "{e}"
            );
            check_io(&rw(opc, 7), Some(&SEPARATE), 4096, 64).unwrap();
        }
        // PRACT with PI-only metadata: the controller inserts and strips it.
        let mut c = rw(NvmOpcode::WRITE, 7);
        c.cdw12 |= 1 << 29;
        assert_eq!(io_need(&c, &SEPARATE).meta, Some(0));
        // Extended LBA: the metadata is in the data buffer.
        let ext = NsFormat {
            lba_nbytes: 520,
            meta_nbytes: Some(0),
            ext_meta_nbytes: 8,
            pi_meta_only: true,
            csi: 0,
        };
        assert_eq!(
            io_need(&rw(NvmOpcode::READ, 0xffff), &ext).data,
            Some(65536 * 520)
        );
        // PRACT strips PI-only interleaved metadata: data-only blocks.
        let mut c = rw(NvmOpcode::WRITE, 3);
        c.cdw12 |= 1 << 29;
        assert_eq!(
            io_need(&c, &ext),
            Need {
                data: Some(4 * 512),
                meta: Some(0)
            }
        );
        let not_pi_only = NsFormat {
            pi_meta_only: false,
            ..ext
        };
        assert_eq!(io_need(&c, &not_pi_only).data, Some(4 * 520));
        // Metadata unknown: data only.
        let need = io_need(&rw(NvmOpcode::READ, 1), &NsFormat::data_only(4096));
        assert_eq!((need.data, need.meta), (Some(8192), None));
        // No format: nothing to check against.
        check_io(&rw(NvmOpcode::READ, 7), None, 0, 0).unwrap();
    }

    #[test]
    fn other_io_commands_with_a_known_length() {
        let f = NsFormat::data_only(512);
        let mut dsm = Command::new(NvmOpcode::DSM.0, 1);
        dsm.cdw10 = 3;
        assert_eq!(io_need(&dsm, &f).data, Some(64));
        let mut copy = Command::new(NvmOpcode::COPY.0, 1);
        copy.cdw12 = 1 | (1 << 8);
        assert_eq!(io_need(&copy, &f).data, Some(80));
        let mut zmr = Command::new(NvmOpcode::ZONE_MGMT_RECV.0, 1);
        zmr.cdw12 = 1023;
        assert_eq!(io_need(&zmr, &f).data, Some(4096));
        assert_eq!(
            io_need(&Command::new(NvmOpcode::FLUSH.0, 1), &f),
            Need::default()
        );
        assert_eq!(
            io_need(&Command::new(0x81, 1), &f),
            Need::default(),
            "vendor"
        );
        // Key-value: the value or host buffer size in CDW10.
        let kv = NsFormat {
            csi: Csi::KV.0,
            ..f
        };
        let mut store = Command::new(0x01, 1);
        store.cdw10 = 100;
        store.cdw12 = 0xffff;
        assert_eq!(io_need(&store, &kv).data, Some(100));
    }

    #[test]
    fn admin_lengths_and_refused_commands() {
        let id = Command::new(AdminOpcode::IDENTIFY.0, 0);
        let e = check_admin("t", &id, 4095).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShortBuffer {
                    len: 4095,
                    need: 4096,
                    ..
                }
            ),
            "{e}"
        );
        let mut glp = Command::new(AdminOpcode::GET_LOG_PAGE.0, 0);
        glp.cdw10 = 0x02 | (127 << 16);
        assert_eq!(admin_need("t", &glp).unwrap(), Some(512));
        glp.cdw11 = 1; // NUMDU
        assert_eq!(admin_need("t", &glp).unwrap(), Some(((1 << 16) + 128) * 4));
        let mut ts = Command::new(AdminOpcode::SET_FEATURES.0, 0);
        ts.cdw10 = 0x0e;
        assert_eq!(admin_need("t", &ts).unwrap(), Some(8));
        ts.cdw10 = 0x07; // Number of Queues: dwords only
        assert_eq!(admin_need("t", &ts).unwrap(), None);
        let mut hmb = Command::new(AdminOpcode::SET_FEATURES.0, 0);
        hmb.cdw10 = 0x0d;
        hmb.cdw11 = 1;
        assert!(matches!(
            admin_need("t", &hmb),
            Err(Error::Unsupported { .. })
        ));
        let dbbuf = Command::new(AdminOpcode::DOORBELL_BUFFER_CONFIG.0, 0);
        assert!(matches!(
            admin_need("t", &dbbuf),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn the_cache_forgets_after_a_format() {
        let c = FormatCache::default();
        let e = c.epoch();
        c.note_admin(AdminOpcode::IDENTIFY.0);
        assert_eq!(c.epoch(), e);
        c.note_admin(AdminOpcode::FORMAT_NVM.0);
        assert_ne!(c.epoch(), e);
    }
}
