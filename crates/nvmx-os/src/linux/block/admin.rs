//! The `block` admin interface: Identify data synthesized from a block
//! device, so geometry and tools work on any block device as on a
//! namespace.
//!
//! - Identify Controller: model from the device's sysfs `model` (else
//!   "Linux block device"), serial from its `serial` (else the kernel
//!   name), firmware "linux", MDTS from `queue/max_hw_sectors_kb` (the
//!   largest power of two of 4 KiB pages not above it), ONCS Compare,
//!   Write Zeroes and Verify always (they are emulated) and Dataset
//!   Management when the device can discard, VWC from `queue/write_cache`.
//! - Identify Namespace: one LBA format with the logical block size;
//!   NSZE/NCAP/NUSE from the size; NPWG/NPWA from the physical block size;
//!   DLFEAT "deallocated blocks read as zeroes" when the device discards
//!   and the queue says zeroing is reliable (`discard_zeroes_data`, or
//!   `write_zeroes_max_bytes > 0`: a heuristic, true for loop devices,
//!   whose discard punches holes).
//! - Zoned (host-managed) devices also answer the Zoned command set's
//!   Identify Namespace (zone size, open and active limits) and Identify
//!   Controller (ZASL 0).
//! - Get Features Volatile Write Cache reads `queue/write_cache` live.

use nvmx_spec::identify::{
    Cns, IdentifyController, IdentifyNamespace, IdentifyZonedNamespace, NsIdType, oncs,
};
use nvmx_spec::opcode::{AdminOpcode, Csi};
use nvmx_spec::status::{sc, sc_cmd, sct};
use nvmx_spec::{Command, Completion};
use zerocopy::{FromZeros, IntoBytes};

use super::{BlockDev, status};
use crate::linux::dev::sysfs;
use nvmx_core::be::{Admin, DataBuf};
use nvmx_core::error::{Error, Result};

/// Feature identifier of the volatile write cache.
const FID_VWC: u8 = 0x06;

/// MDTS for a transfer limit of `kb` KiB: the largest power of two of
/// 4 KiB pages not above it. MDTS 0 means "no limit", so an unknown limit
/// gives 0 (nvmx then uses 1 MiB) and a limit under two pages gives 1.
pub fn mdts_from_kb(kb: Option<u64>) -> u8 {
    let Some(kb) = kb else { return 0 };
    let pages = kb / 4;
    if pages < 2 {
        return 1;
    }
    (63 - pages.leading_zeros()) as u8
}

fn put_str(dst: &mut [u8], s: &str) {
    // Identify strings are ASCII, space padded.
    dst.fill(b' ');
    for (d, b) in dst
        .iter_mut()
        .zip(s.bytes().filter(|b| b.is_ascii_graphic() || *b == b' '))
    {
        *d = b;
    }
}

fn copy_out(data: &mut DataBuf<'_>, bytes: &[u8]) -> Result<()> {
    let dst = data.as_mut_slice().ok_or_else(|| {
        Error::invalid(
            "identify buffer",
            "Identify needs a writable 4096-byte buffer",
        )
    })?;
    let n = dst.len().min(bytes.len());
    dst[..n].copy_from_slice(&bytes[..n]);
    Ok(())
}

impl BlockDev {
    /// A sysfs attribute of the device (`device/model`, ...): the disk's
    /// own directory, or for a partition its disk's.
    fn device_attr(&self, name: &str) -> Option<String> {
        let dir = self.sysfs_dir.as_deref()?;
        let rel = format!("device/{name}");
        sysfs::read_attr(&sysfs::find_up(dir, &rel, 1)?)
    }

    /// Whether the device has a volatile write cache, from
    /// `queue/write_cache` ("write back"), read now: it can be changed.
    pub fn write_cache(&self) -> bool {
        let q = self.sysfs_dir.as_deref().and_then(sysfs::queue_dir);
        q.and_then(|q| sysfs::read_attr(&q.join("write_cache")))
            .as_deref()
            == Some("write back")
    }

    /// Identify Controller data for this device.
    pub fn identify_controller(&self) -> IdentifyController {
        let mut c = IdentifyController::new_zeroed();
        put_str(
            &mut c.sn,
            &self
                .device_attr("serial")
                .unwrap_or_else(|| self.name.clone()),
        );
        put_str(
            &mut c.mn,
            &self
                .device_attr("model")
                .unwrap_or_else(|| "Linux block device".into()),
        );
        put_str(&mut c.fr, "linux");
        c.mdts = mdts_from_kb(self.queue.max_hw_sectors_kb);
        c.cntlid = 1;
        c.ver = 0x0002_0000;
        c.nn = self.nsid.max(1);
        c.oncs = oncs::COMPARE | oncs::WRITE_ZEROES | oncs::VERIFY;
        if self.queue.discard() {
            c.oncs |= oncs::DSM;
        }
        c.vwc = u8::from(self.write_cache());
        c.sqes = 0x66;
        c.cqes = 0x44;
        c
    }

    /// Identify Namespace data for this device.
    pub fn identify_namespace(&self) -> IdentifyNamespace {
        let mut n = IdentifyNamespace::new_zeroed();
        let nsze = self.nsze();
        n.nsze = nsze;
        n.ncap = nsze;
        n.nuse = nsze;
        n.nlbaf = 0;
        n.flbas = 0;
        n.lbaf[0].lbads = self.ssw as u8;
        let q = &self.queue;
        if q.discard() && (q.discard_zeroes_data || q.write_zeroes_max_bytes > 0) {
            n.dlfeat = 1;
        }
        let per_phys = self.pbs / self.lbs;
        if per_phys > 1 {
            // OPTPERF: NPWG/NPWA are valid (zero-based, in logical blocks).
            n.nsfeat |= 1 << 4;
            n.npwg = (per_phys - 1).min(u32::from(u16::MAX)) as u16;
            n.npwa = n.npwg;
        }
        n
    }

    /// Zoned command set Identify Namespace data, for a zoned device.
    pub fn identify_zoned_namespace(&self) -> Option<IdentifyZonedNamespace> {
        let z = self.zoned.as_ref()?;
        let mut n = IdentifyZonedNamespace::new_zeroed();
        // MAR and MOR are zero-based, all ones meaning no limit.
        let limit = |v: u64| {
            if v == 0 {
                u32::MAX
            } else {
                u32::try_from(v - 1).unwrap_or(u32::MAX)
            }
        };
        n.mar = limit(z.max_active);
        n.mor = limit(z.max_open);
        n.lbafe[0].zsze = z.zone_sectors >> (self.ssw - 9);
        Some(n)
    }

    /// The namespace identification descriptor list: one CSI descriptor.
    fn ns_id_descriptors(&self) -> [u8; 8] {
        let csi = if self.zoned.is_some() {
            Csi::ZONED.0
        } else {
            Csi::NVM.0
        };
        [NsIdType::CSI.0, 1, 0, 0, csi, 0, 0, 0]
    }
}

impl Admin for BlockDev {
    fn id(&self) -> &'static str {
        "block"
    }

    fn cmd_admin(&self, cmd: &mut Command, mut data: DataBuf<'_>) -> Result<Completion> {
        match AdminOpcode(cmd.opc) {
            AdminOpcode::IDENTIFY => {
                let cns = Cns((cmd.cdw10 & 0xff) as u8);
                let csi = Csi((cmd.cdw11 >> 24) as u8);
                let ours = cmd.nsid == self.nsid;
                let zoned = self.zoned.is_some();
                match cns {
                    Cns::CONTROLLER => copy_out(&mut data, self.identify_controller().as_bytes())?,
                    Cns::NAMESPACE if ours => {
                        copy_out(&mut data, self.identify_namespace().as_bytes())?
                    }
                    Cns::NS_ID_DESCRIPTOR_LIST if ours => {
                        let mut list = [0u8; 4096];
                        list[..8].copy_from_slice(&self.ns_id_descriptors());
                        copy_out(&mut data, &list)?
                    }
                    Cns::NAMESPACE | Cns::NS_ID_DESCRIPTOR_LIST => {
                        return Ok(status(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));
                    }
                    Cns::ACTIVE_NSID_LIST => {
                        let mut list = [0u8; 4096];
                        if cmd.nsid < self.nsid {
                            list[..4].copy_from_slice(&self.nsid.to_le_bytes());
                        }
                        copy_out(&mut data, &list)?
                    }
                    Cns::CSI_NAMESPACE if !ours => {
                        return Ok(status(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));
                    }
                    Cns::CSI_NAMESPACE if csi == Csi::ZONED && zoned => {
                        match self.identify_zoned_namespace() {
                            Some(z) => copy_out(&mut data, z.as_bytes())?,
                            None => return Ok(status(sct::GENERIC, sc::INVALID_FIELD)),
                        }
                    }
                    // The NVM set's command-set-specific structures carry
                    // nothing a block device knows (no protection
                    // information, no extended formats): all zero. So does
                    // the Zoned controller structure (ZASL 0: as MDTS).
                    Cns::CSI_NAMESPACE | Cns::CSI_CONTROLLER if csi == Csi::NVM => {
                        copy_out(&mut data, &[0u8; 4096])?
                    }
                    Cns::CSI_CONTROLLER if csi == Csi::ZONED && zoned => {
                        copy_out(&mut data, &[0u8; 4096])?
                    }
                    _ => return Ok(status(sct::GENERIC, sc::INVALID_FIELD)),
                }
                Ok(Completion::success(0))
            }
            AdminOpcode::GET_FEATURES if (cmd.cdw10 & 0xff) as u8 == FID_VWC => {
                Ok(Completion::success(u32::from(self.write_cache())))
            }
            AdminOpcode::GET_FEATURES | AdminOpcode::SET_FEATURES => {
                Ok(status(sct::GENERIC, sc::INVALID_FIELD))
            }
            AdminOpcode::GET_LOG_PAGE => {
                Ok(status(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_LOG_PAGE))
            }
            _ => Ok(status(sct::GENERIC, sc::INVALID_OPCODE)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdts_is_the_largest_power_of_two_of_pages_within_the_limit() {
        assert_eq!(
            mdts_from_kb(Some(1280)),
            8,
            "loop: 1280 KiB = 320 pages -> 256 pages"
        );
        assert_eq!(mdts_from_kb(Some(1024)), 8);
        assert_eq!(mdts_from_kb(Some(512)), 7);
        assert_eq!(mdts_from_kb(Some(128)), 5);
        assert_eq!(mdts_from_kb(Some(32767)), 12);
        assert_eq!(mdts_from_kb(Some(4)), 1, "MDTS 0 would mean no limit");
        assert_eq!(mdts_from_kb(Some(0)), 1);
        assert_eq!(mdts_from_kb(None), 0);
        assert_eq!(mdts_from_kb(Some(u64::MAX)), 61);
    }

    #[test]
    fn identify_strings_are_ascii_and_space_padded() {
        let mut b = [0u8; 8];
        put_str(&mut b, "QEMU\u{e9}HARDDISK-LONG");
        assert_eq!(&b, b"QEMUHARD");
        put_str(&mut b, "ab");
        assert_eq!(&b, b"ab      ");
    }
}
