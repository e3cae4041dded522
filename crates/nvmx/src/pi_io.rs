//! Reads and writes with protection information: the [`Device`] side of
//! [`crate::pi`], whose layout, generation and verification live in
//! `nvmx-core`.

use nvmx_spec::Completion;
use nvmx_spec::cmd::{IoFlags, NvmRw};
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::pi::{PiFormat, PiType};

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::pi::{PiIo, PiLayout, Prchk};

impl Device {
    /// The protection information layout of the namespace; an error when
    /// it is not formatted with PI.
    pub fn pi_layout(&self) -> Result<PiLayout> {
        PiLayout::from_geometry(self.geometry()?)
    }

    /// Whether a transfer with `pi` carries metadata from or to the host.
    fn pi_moves_meta(l: &PiLayout, pi: &PiIo) -> bool {
        !(pi.pract && l.ms_is_tuple())
    }

    /// A Read or Write (`opc`) of `nlb + 1` blocks at `slba` carrying the
    /// PI handling `pi` (see [`Device::write_pi`] for the fields), for
    /// submission through an async [`crate::Queue`]. The buffers are not
    /// checked here; [`Device::write_pi`] and [`Device::read_pi`] check
    /// them and run the command synchronously.
    pub fn pi_rw_command(
        &self,
        opc: NvmOpcode,
        slba: u64,
        nlb: u16,
        pi: &PiIo,
    ) -> Result<nvmx_spec::Command> {
        let l = self.pi_layout()?;
        let ilbrt = match l.pi_type {
            PiType::TYPE1 => slba & l.reftag_mask(),
            _ => pi.tags.ilbrt & l.reftag_mask(),
        };
        // Type 3 defines no reference tag; controllers refuse the check bit.
        let prchk = match l.pi_type {
            PiType::TYPE3 => Prchk(pi.prchk.0 & !Prchk::REFTAG.0),
            _ => pi.prchk,
        };
        let mut flags = prchk.flags();
        if pi.pract {
            flags = flags | IoFlags::PRACT;
        }
        let mut cmd = NvmRw {
            opc: opc.0,
            nsid: self.nsid(),
            slba,
            nlb,
            flags,
            reftag: ilbrt as u32,
            apptag: pi.tags.apptag,
            appmask: pi.tags.apptag_mask,
            ..Default::default()
        }
        .to_command();
        if l.format == PiFormat::GUARD64 {
            // 48-bit reference tag: bits 47:32 in CDW3 bits 15:0.
            cmd.cdw3 = ((ilbrt >> 32) & 0xffff) as u32;
        }
        Ok(cmd)
    }

    /// Checks the buffers of a PI transfer: with PRACT on a format whose
    /// metadata is only the tuple, blocks are data only and there is no
    /// metadata buffer; otherwise as for [`Device::check_lba_io`].
    fn check_pi_io(
        &self,
        slba: u64,
        nlb: u16,
        pi: &PiIo,
        data_len: usize,
        meta_len: Option<usize>,
    ) -> Result<()> {
        let l = self.pi_layout()?;
        if Self::pi_moves_meta(&l, pi) {
            return self.check_lba_io(slba, nlb, data_len, meta_len);
        }
        let n = usize::from(nlb) + 1;
        let g = self.geometry()?;
        if slba.checked_add(n as u64).is_none_or(|e| e > g.nsect) {
            return Err(Error::out_of_range(
                "LBA",
                format!(
                    "slba {slba:#x} + {n} blocks exceeds the namespace's {} blocks",
                    g.nsect
                ),
            ));
        }
        let need = n * l.ds;
        if data_len < need {
            // With PRACT and metadata that is only the PI, the buffer
            // holds data only.
            return Err(Error::short_buffer("data", data_len as u64, need as u64));
        }
        if meta_len.is_some_and(|m| m > 0) {
            return Err(Error::conflict(
                "metadata buffer",
                format!(
                    "with PRACT the controller inserts and strips the {}-byte PI, which is all the metadata: pass no metadata buffer",
                    l.ms
                ),
            ));
        }
        if need as u64 > u64::from(g.mdts_nbytes) {
            return Err(Error::too_large(
                "transfer",
                need as u64,
                g.mdts_nbytes.into(),
                "MDTS bytes",
            ));
        }
        Ok(())
    }

    /// Writes `nlb + 1` blocks at `slba` with the PI handling `pi`: PRACT
    /// and PRCHK in CDW12, ILBRT in CDW14 (and CDW3 for 64b guard), LBAT
    /// and LBATM in CDW15. Without PRACT the host supplies the PI in the
    /// metadata (see [`crate::pi::generate`]).
    pub fn write_pi(
        &self,
        slba: u64,
        nlb: u16,
        data: &[u8],
        meta: Option<&[u8]>,
        pi: &PiIo,
    ) -> Result<Completion> {
        self.check_pi_io(slba, nlb, pi, data.len(), meta.map(<[u8]>::len))?;
        let mut cmd = self.pi_rw_command(NvmOpcode::WRITE, slba, nlb, pi)?;
        self.cmd_io(
            &mut cmd,
            DataBuf::Out(data),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )
    }

    /// Reads `nlb + 1` blocks at `slba` with the PI handling `pi` (see
    /// [`Device::write_pi`]); a failed check is [`Error::Status`] with an
    /// End-to-end Guard, Application Tag or Reference Tag Check Error
    /// (SCT 2, SC 82h-84h).
    pub fn read_pi(
        &self,
        slba: u64,
        nlb: u16,
        data: &mut [u8],
        meta: Option<&mut [u8]>,
        pi: &PiIo,
    ) -> Result<Completion> {
        self.check_pi_io(slba, nlb, pi, data.len(), meta.as_ref().map(|m| m.len()))?;
        let mut cmd = self.pi_rw_command(NvmOpcode::READ, slba, nlb, pi)?;
        self.cmd_io(
            &mut cmd,
            DataBuf::In(data),
            meta.map_or(DataBuf::None, DataBuf::In),
        )
    }
}
