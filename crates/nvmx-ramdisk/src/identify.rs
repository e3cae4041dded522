//! Identify: the data structures that describe the controller and its
//! namespace.

use nvmx_spec::Command;
use nvmx_spec::identify::{
    Cns, ControllerList, IDENTIFY_NBYTES, Identify, IdentifyController, IdentifyNamespace,
    IdentifyNvmController, IoCommandSetVectors, LbaFormat, NamespaceList, NsIdType, oncs,
};
use nvmx_spec::opcode::Csi;
use zerocopy::{FromZeros, IntoBytes};

use super::bufs::out_buf;
use super::ctrl::RamCtrl;
use super::ctrl::features::{CCTEMP, WCTEMP};
use super::errlog::ErrorLog;
use super::fail::{Exec, Fail, IEEE_OUI_BE, NSID_ALL, VID, field};
use super::ns::Namespace;
use super::nvm::{MCL, MSRC, MSSRL};
use super::params::LBA_FORMATS;
use nvmx_core::be::DataBuf;

/// Model number.
pub(super) const MODEL: &str = "nvmx ramdisk";
/// NVMe version 2.0.0, as the VS register encodes it.
const VERSION_2_0: u32 = 0x0002_0000;
/// Log page attributes: commands supported and effects (bit 1), extended
/// data for Get Log Page (bit 2), supported log pages (bit 5).
pub(super) const LPA: u8 = 1 << 1 | 1 << 2 | 1 << 5;
/// Volatile write cache present (bit 0); Flush with nsid FFFFFFFFh
/// supported (bits 2:1 = 11b).
const VWC: u8 = 0x7;
/// Deallocated blocks read as zeroes (bits 2:0 = 001b); Write Zeroes may
/// deallocate (bit 3).
const DLFEAT: u8 = 0x09;
/// Metadata capabilities: extended LBA (bit 0) and separate buffer (bit 1).
const MC: u8 = 0x3;
/// End-to-end data protection capabilities: types 1, 2 and 3 (bits 2:0),
/// PI in the first (bit 3) or last (bit 4) bytes of metadata.
const DPC: u8 = 0x1f;

/// Runs an Identify command.
pub(super) fn exec(ctrl: &RamCtrl, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let id = Identify::from_command(cmd);
    let buf = out_buf(&mut data, IDENTIFY_NBYTES as u64, "Identify")?;
    let page: Vec<u8> = match id.cns {
        Cns::NAMESPACE => match id.nsid {
            NSID_ALL => common_namespace().as_bytes().to_vec(),
            nsid => {
                let mut id = namespace(&*ctrl.namespace(nsid).ok_or_else(Fail::namespace)?);
                if let Some(fdp) = &ctrl.fdp {
                    fdp.identify_namespace(&mut id);
                }
                id.as_bytes().to_vec()
            }
        },
        Cns::CONTROLLER => controller(ctrl).as_bytes().to_vec(),
        Cns::ACTIVE_NSID_LIST => {
            if id.nsid >= 0xffff_fffe {
                return Err(Fail::namespace());
            }
            let mut list = NamespaceList::default();
            for (slot, ns) in list
                .nsid
                .iter_mut()
                .zip(ctrl.namespaces().filter(|ns| ns.nsid > id.nsid))
            {
                *slot = ns.nsid;
            }
            list.as_bytes().to_vec()
        }
        Cns::NS_ID_DESCRIPTOR_LIST => {
            descriptors(&*ctrl.namespace(id.nsid).ok_or_else(Fail::namespace)?)
        }
        Cns::CSI_NAMESPACE => {
            if id.nsid != NSID_ALL {
                ctrl.namespace(id.nsid).ok_or_else(Fail::namespace)?;
            }
            match id.csi {
                Csi::NVM => super::pi::nvm_namespace().as_bytes().to_vec(),
                Csi::KV => match ctrl.namespace(id.nsid) {
                    Some(ns) if ns.kind == super::ns::NsKind::Kv => {
                        super::kv::identify_namespace(ctrl, &ns).as_bytes().to_vec()
                    }
                    _ => return Err(Fail::field(field::CDW11 + 3)),
                },
                Csi::ZONED => super::zoned::identify_namespace(
                    &*ctrl
                        .namespace(id.nsid)
                        .ok_or_else(|| Fail::field(field::CDW11 + 3))?,
                )?
                .as_bytes()
                .to_vec(),
                _ => return Err(Fail::field(field::CDW11 + 3)),
            }
        }
        Cns::CSI_CONTROLLER => match id.csi {
            // Zeroes: no limits on Verify, Write Zeroes, Write
            // Uncorrectable or Dataset Management sizes.
            Csi::NVM => IdentifyNvmController::default().as_bytes().to_vec(),
            // The KV command set defines no controller fields: zeroes.
            Csi::KV if ctrl.kv.is_some() => vec![0u8; IDENTIFY_NBYTES],
            Csi::ZONED if ctrl.namespaces().any(|ns| ns.zones.is_some()) => {
                super::zoned::identify_controller().as_bytes().to_vec()
            }
            _ => return Err(Fail::field(field::CDW11 + 3)),
        },
        Cns::IO_CMDSET => {
            let mut v = IoCommandSetVectors::default();
            v.iocsc[0] = 1 << Csi::NVM.0;
            if ctrl.kv.is_some() {
                v.iocsc[0] |= 1 << Csi::KV.0;
            }
            if ctrl.namespaces().any(|ns| ns.zones.is_some()) {
                v.iocsc[0] |= 1 << Csi::ZONED.0;
            }
            v.as_bytes().to_vec()
        }
        // One controller (CNTID 1), attached to the one namespace.
        Cns::CONTROLLER_LIST | Cns::NS_CONTROLLER_LIST => {
            if id.cns == Cns::NS_CONTROLLER_LIST {
                ctrl.namespace(id.nsid).ok_or_else(Fail::namespace)?;
            }
            let mut list = ControllerList::new_zeroed();
            if id.cntid <= 1 {
                list.numid = 1;
                list.ids[0] = 1;
            }
            list.as_bytes().to_vec()
        }
        _ => return Err(Fail::field(field::CDW10)),
    };
    let n = page.len().min(buf.len());
    buf[..n].copy_from_slice(&page[..n]);
    Ok(0)
}

/// Copies `s` into a space-padded ASCII field, cut to fit.
fn ascii<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b;
    }
    out
}

/// The firmware revision: the crate version, cut to 8 characters.
pub(super) fn firmware_revision() -> [u8; 8] {
    ascii(crate_version())
}

fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The Identify Controller data structure.
pub(super) fn controller(ctrl: &RamCtrl) -> IdentifyController {
    let capacity: u128 = ctrl
        .namespaces()
        .map(|ns| u128::from(ns.nsze) * u128::from(ns.ds()))
        .sum();
    let mut c = IdentifyController {
        vid: VID,
        ssvid: VID,
        sn: ascii(&format!("NVMX{:x}", ctrl.params.nbytes)),
        mn: ascii(MODEL),
        fr: firmware_revision(),
        ieee: [IEEE_OUI_BE[2], IEEE_OUI_BE[1], IEEE_OUI_BE[0]],
        mdts: ctrl.params.mdts,
        cntlid: 1,
        ver: VERSION_2_0,
        cntrltype: 1,                                // I/O controller
        oacs: nvmx_spec::identify::oacs::FORMAT_NVM, // no namespace management, firmware download, ...
        sanicap: super::format::SANICAP,
        fna: super::format::FNA,
        frmw: 0x3, // one firmware slot, slot 1, read-only
        lpa: LPA,
        elpe: (ErrorLog::CAPACITY - 1) as u8,
        npss: 0,
        wctemp: WCTEMP,
        cctemp: CCTEMP,
        tnvmcap: capacity.to_le_bytes(),
        sqes: 0x66,
        cqes: 0x44,
        nn: 1,
        oncs: oncs::COMPARE
            | oncs::WRITE_UNCORRECTABLE
            | oncs::DSM
            | oncs::WRITE_ZEROES
            | oncs::SAVE_SELECT
            | oncs::TIMESTAMP
            | oncs::VERIFY
            | oncs::COPY,
        vwc: VWC,
        ocfs: 0x3, // Copy descriptor formats 0h and 1h
        sgls: 0,
        ..Default::default()
    };
    let nqn = ctrl.subnqn.as_bytes();
    let n = nqn.len().min(c.subnqn.len() - 1);
    c.subnqn[..n].copy_from_slice(&nqn[..n]);
    // One operational power state of at most 1 W.
    c.psd[0].mp = 100;
    super::directive::identify_controller(ctrl, &mut c);
    c
}

/// The LBA format table.
fn lba_formats(ns: &mut IdentifyNamespace) {
    ns.nlbaf = (LBA_FORMATS.len() - 1) as u8;
    for (f, s) in ns.lbaf.iter_mut().zip(LBA_FORMATS) {
        *f = LbaFormat {
            ms: s.ms,
            lbads: s.lbads(),
            rp: s.rp,
        };
    }
    ns.mc = MC;
    ns.dpc = DPC;
    ns.dlfeat = DLFEAT;
    ns.mssrl = MSSRL;
    ns.mcl = MCL;
    ns.msrc = MSRC;
}

/// Identify Namespace for nsid FFFFFFFFh: what every namespace has in
/// common, the format table and capabilities.
fn common_namespace() -> IdentifyNamespace {
    let mut id = IdentifyNamespace::default();
    lba_formats(&mut id);
    id
}

/// The Identify Namespace data structure of `ns`.
pub(super) fn namespace(ns: &Namespace) -> IdentifyNamespace {
    let mut id = IdentifyNamespace::default();
    lba_formats(&mut id);
    id.nsze = ns.nsze;
    id.ncap = ns.nsze;
    id.nuse = ns.nsze;
    id.flbas = (ns.lbaf & 0xf) | u8::from(ns.extended) << 4 | (ns.lbaf >> 4 & 0x3) << 5;
    id.dps = (ns.pi & 0x7) | u8::from(ns.pil) << 3;
    id.nvmcap = (u128::from(ns.nsze) * u128::from(ns.ds())).to_le_bytes();
    id.nguid = ns.nguid;
    id.eui64 = ns.eui64;
    id
}

/// The namespace identification descriptor list of `ns`: EUI-64, NGUID
/// and command set.
fn descriptors(ns: &Namespace) -> Vec<u8> {
    let mut out = Vec::with_capacity(IDENTIFY_NBYTES);
    let mut put = |nidt: NsIdType, nid: &[u8]| {
        out.extend_from_slice(&[nidt.0, nid.len() as u8, 0, 0]);
        out.extend_from_slice(nid);
    };
    put(NsIdType::EUI64, &ns.eui64);
    put(NsIdType::NGUID, &ns.nguid);
    put(NsIdType::CSI, &[ns.kind.csi().0]);
    out.resize(IDENTIFY_NBYTES, 0);
    out
}
