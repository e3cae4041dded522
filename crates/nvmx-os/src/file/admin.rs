//! `file_as_ns`: Identify data synthesized for a file, so geometry and
//! tools work on files as on namespaces.

use nvmx_spec::identify::{Cns, IdentifyController, IdentifyNamespace};
use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::status::{sc, sc_cmd, sct};
use nvmx_spec::{Command, Completion};
use zerocopy::{FromZeros, IntoBytes};

use super::{FILE_LBA_NBYTES, FILE_MDTS, FileNs, status};
use nvmx_core::be::{Admin, DataBuf};
use nvmx_core::error::{Error, Result};

/// Feature identifier of the volatile write cache.
const FID_VWC: u8 = 0x06;

fn put_str(dst: &mut [u8], s: &str) {
    // Identify strings are ASCII, space padded.
    dst.fill(b' ');
    for (d, b) in dst.iter_mut().zip(s.bytes().filter(u8::is_ascii)) {
        *d = b;
    }
}

impl FileNs {
    fn identify_controller(&self) -> IdentifyController {
        let mut c = IdentifyController::new_zeroed();
        put_str(&mut c.sn, &format!("{:016x}", fnv1a(self.path.as_bytes())));
        put_str(&mut c.mn, "nvmx file");
        put_str(&mut c.fr, crate::VERSION);
        c.mdts = FILE_MDTS;
        c.cntlid = 1;
        c.ver = 0x0002_0000;
        c.nn = 1;
        // Compare (bit 0), Write Zeroes (bit 3), Dataset Management (bit 2).
        c.oncs = 0b1101;
        c.vwc = 1;
        c.sqes = 0x66;
        c.cqes = 0x44;
        c
    }

    fn identify_namespace(&self) -> Result<IdentifyNamespace> {
        let mut n = IdentifyNamespace::new_zeroed();
        let nsze = self.size()? / FILE_LBA_NBYTES;
        n.nsze = nsze;
        n.ncap = nsze;
        n.nuse = nsze;
        n.nlbaf = 0;
        n.flbas = 0;
        // Deallocated blocks read as zeroes.
        n.dlfeat = 1;
        n.lbaf[0].lbads = 9;
        Ok(n)
    }
}

/// A stable serial number for a path (FNV-1a), so the same file always
/// shows the same serial.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
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

impl Admin for FileNs {
    fn id(&self) -> &'static str {
        super::ADMIN_ID
    }

    fn cmd_admin(&self, cmd: &mut Command, mut data: DataBuf<'_>) -> Result<Completion> {
        match AdminOpcode(cmd.opc) {
            AdminOpcode::IDENTIFY => {
                let cns = Cns((cmd.cdw10 & 0xff) as u8);
                let csi = (cmd.cdw11 >> 24) as u8;
                match cns {
                    Cns::CONTROLLER => copy_out(&mut data, self.identify_controller().as_bytes())?,
                    Cns::NAMESPACE if cmd.nsid == 1 => {
                        copy_out(&mut data, self.identify_namespace()?.as_bytes())?
                    }
                    Cns::NAMESPACE => return Ok(status(sct::GENERIC, sc::INVALID_NS_OR_FORMAT)),
                    Cns::ACTIVE_NSID_LIST => {
                        let mut list = [0u8; 4096];
                        if cmd.nsid < 1 {
                            list[..4].copy_from_slice(&1u32.to_le_bytes());
                        }
                        copy_out(&mut data, &list)?
                    }
                    // I/O command set specific structures of the NVM set
                    // carry nothing a file needs: all zero.
                    Cns::CSI_NAMESPACE | Cns::CSI_CONTROLLER if csi == 0 => {
                        copy_out(&mut data, &[0u8; 4096])?
                    }
                    _ => return Ok(status(sct::GENERIC, sc::INVALID_FIELD)),
                }
                Ok(Completion::success(0))
            }
            AdminOpcode::GET_FEATURES if (cmd.cdw10 & 0xff) as u8 == FID_VWC => {
                Ok(Completion::success(1))
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
