//! Typed NVM command set functions on [`Device`], run synchronously.
//!
//! `nlb` is zero-based everywhere, as in the specification: `nlb = 0` is
//! one block. Each function checks the range, buffer sizes and MDTS against
//! the geometry before anything reaches the device, and returns
//! [`crate::Error::Status`] when the device answers with an error status.

use nvmx_spec::cmd::{IoFlags, NvmRw};
use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};

use std::io::{IoSlice, IoSliceMut};

use crate::be::{DataBuf, DataVec};
use crate::device::Device;
use crate::error::{Error, Result};

impl Device {
    fn rw(&self, opc: NvmOpcode, slba: u64, nlb: u16, flags: IoFlags) -> Command {
        NvmRw {
            opc: opc.0,
            nsid: self.nsid(),
            slba,
            nlb,
            flags,
            ..Default::default()
        }
        .to_command()
    }

    /// Reads `nlb + 1` blocks at `slba` into `data` (and `meta`).
    pub fn read(
        &self,
        slba: u64,
        nlb: u16,
        data: &mut [u8],
        meta: Option<&mut [u8]>,
    ) -> Result<Completion> {
        self.read_flags(slba, nlb, data, meta, IoFlags::NONE)
    }

    /// Reads with control flags (FUA, LR, PRACT/PRCHK).
    pub fn read_flags(
        &self,
        slba: u64,
        nlb: u16,
        data: &mut [u8],
        meta: Option<&mut [u8]>,
        flags: IoFlags,
    ) -> Result<Completion> {
        self.check_lba_io(slba, nlb, data.len(), meta.as_ref().map(|m| m.len()))?;
        let mut cmd = self.rw(NvmOpcode::READ, slba, nlb, flags);
        self.cmd_io(
            &mut cmd,
            DataBuf::In(data),
            meta.map_or(DataBuf::None, DataBuf::In),
        )
    }

    /// Writes `nlb + 1` blocks at `slba` from `data` (and `meta`).
    pub fn write(
        &self,
        slba: u64,
        nlb: u16,
        data: &[u8],
        meta: Option<&[u8]>,
    ) -> Result<Completion> {
        self.write_flags(slba, nlb, data, meta, IoFlags::NONE)
    }

    /// Writes with control flags (FUA, LR, PRACT/PRCHK).
    pub fn write_flags(
        &self,
        slba: u64,
        nlb: u16,
        data: &[u8],
        meta: Option<&[u8]>,
        flags: IoFlags,
    ) -> Result<Completion> {
        self.check_lba_io(slba, nlb, data.len(), meta.map(<[u8]>::len))?;
        let mut cmd = self.rw(NvmOpcode::WRITE, slba, nlb, flags);
        self.cmd_io(
            &mut cmd,
            DataBuf::Out(data),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )
    }

    /// Compares `nlb + 1` blocks at `slba` with `data`; a mismatch is
    /// [`Error::Status`] with Compare Failure (SCT 2, SC 0x85).
    pub fn compare(
        &self,
        slba: u64,
        nlb: u16,
        data: &[u8],
        meta: Option<&[u8]>,
    ) -> Result<Completion> {
        self.check_lba_io(slba, nlb, data.len(), meta.map(<[u8]>::len))?;
        let mut cmd = self.rw(NvmOpcode::COMPARE, slba, nlb, IoFlags::NONE);
        self.cmd_io(
            &mut cmd,
            DataBuf::Out(data),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )
    }

    /// Reads `nlb + 1` blocks at `slba`, scattered over `iov` in order.
    pub fn readv(
        &self,
        slba: u64,
        nlb: u16,
        iov: &mut [IoSliceMut<'_>],
        meta: Option<&mut [u8]>,
    ) -> Result<Completion> {
        let total = iov.iter().map(|s| s.len()).sum();
        self.check_lba_io(slba, nlb, total, meta.as_ref().map(|m| m.len()))?;
        self.check_exact(nlb, total)?;
        let mut cmd = self.rw(NvmOpcode::READ, slba, nlb, IoFlags::NONE);
        self.cmd_iov(
            &mut cmd,
            DataVec::In(iov),
            meta.map_or(DataBuf::None, DataBuf::In),
        )
    }

    /// Writes `nlb + 1` blocks at `slba`, gathered from `iov` in order.
    pub fn writev(
        &self,
        slba: u64,
        nlb: u16,
        iov: &[IoSlice<'_>],
        meta: Option<&[u8]>,
    ) -> Result<Completion> {
        let total = iov.iter().map(|s| s.len()).sum();
        self.check_lba_io(slba, nlb, total, meta.map(<[u8]>::len))?;
        self.check_exact(nlb, total)?;
        let mut cmd = self.rw(NvmOpcode::WRITE, slba, nlb, IoFlags::NONE);
        self.cmd_iov(
            &mut cmd,
            DataVec::Out(iov),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )
    }

    /// A vector must hold exactly the blocks moved: a longer one would
    /// leave its tail silently untouched.
    fn check_exact(&self, nlb: u16, total: usize) -> Result<()> {
        let need = (u64::from(nlb) + 1) * u64::from(self.geometry()?.lba_nbytes);
        if (total as u64) < need {
            return Err(Error::short_buffer("data vector", total as u64, need));
        }
        if total as u64 != need {
            return Err(Error::invalid(
                "data vector",
                format!(
                    "{total} bytes in the vector; {} blocks need exactly {need}",
                    u64::from(nlb) + 1
                ),
            ));
        }
        Ok(())
    }

    fn check_range(&self, slba: u64, nlb: u16) -> Result<()> {
        let g = self.geometry()?;
        let n = u64::from(nlb) + 1;
        let limit = if self.dtype() == crate::DevType::FsFile {
            u64::MAX
        } else {
            g.nsect
        };
        if slba.checked_add(n).is_none_or(|e| e > limit) {
            return Err(Error::out_of_range(
                "LBA",
                format!(
                    "slba {slba:#x} + {n} blocks exceeds the namespace's {} blocks",
                    g.nsect
                ),
            ));
        }
        Ok(())
    }

    /// Writes zeroes to `nlb + 1` blocks at `slba` (no data transfer).
    pub fn write_zeroes(&self, slba: u64, nlb: u16) -> Result<Completion> {
        self.check_range(slba, nlb)?;
        let mut cmd = self.rw(NvmOpcode::WRITE_ZEROES, slba, nlb, IoFlags::NONE);
        self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Marks `nlb + 1` blocks at `slba` uncorrectable: reads fail until
    /// they are written again.
    pub fn write_uncorrectable(&self, slba: u64, nlb: u16) -> Result<Completion> {
        self.check_range(slba, nlb)?;
        let mut cmd = self.rw(NvmOpcode::WRITE_UNCORRECTABLE, slba, nlb, IoFlags::NONE);
        self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Verifies that `nlb + 1` blocks at `slba` are readable (no transfer).
    pub fn verify(&self, slba: u64, nlb: u16) -> Result<Completion> {
        self.check_range(slba, nlb)?;
        let mut cmd = self.rw(NvmOpcode::VERIFY, slba, nlb, IoFlags::NONE);
        self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Flushes the volatile write cache of the namespace.
    pub fn flush(&self) -> Result<Completion> {
        let mut cmd = Command::new(NvmOpcode::FLUSH.0, self.nsid());
        self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
    }

    /// Dataset Management: `ranges` are `(slba, nblocks)` pairs (a count,
    /// not zero-based, as in the range entries); `deallocate` sets AD.
    pub fn dsm(&self, ranges: &[(u64, u32)], deallocate: bool) -> Result<Completion> {
        check_nranges("DSM ranges", ranges.len())?;
        let mut buf = Vec::with_capacity(ranges.len() * 16);
        for &(slba, n) in ranges {
            buf.extend_from_slice(&0u32.to_le_bytes());
            buf.extend_from_slice(&n.to_le_bytes());
            buf.extend_from_slice(&slba.to_le_bytes());
        }
        let mut cmd = Command::new(NvmOpcode::DSM.0, self.nsid());
        cmd.cdw10 = ranges.len() as u32 - 1;
        cmd.cdw11 = if deallocate { 1 << 2 } else { 0 };
        self.cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
    }

    /// Simple Copy with source range format 0: copies each `(slba, nlb)`
    /// range (`nlb` zero-based) in order to `sdlba`.
    pub fn copy(&self, sdlba: u64, ranges: &[(u64, u16)]) -> Result<Completion> {
        check_nranges("copy ranges", ranges.len())?;
        // Format 0 entries are 32 bytes: slba at byte 8, nlb at byte 16.
        let mut buf = vec![0u8; ranges.len() * 32];
        for (e, &(slba, nlb)) in buf.chunks_exact_mut(32).zip(ranges) {
            e[8..16].copy_from_slice(&slba.to_le_bytes());
            e[16..18].copy_from_slice(&nlb.to_le_bytes());
        }
        let mut cmd = Command::new(NvmOpcode::COPY.0, self.nsid());
        cmd.set_cdw10_11(sdlba);
        cmd.cdw12 = ranges.len() as u32 - 1;
        self.cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
    }
}

/// Checks the range count of a Dataset Management or Copy command: 1 to
/// 256, the most its 8-bit zero-based NR field holds.
pub(crate) fn check_nranges(what: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::out_of_range(
            what,
            "0 ranges given; 1 to 256 allowed",
        ));
    }
    if n > 256 {
        return Err(Error::too_large(what, n as u64, 256, "ranges per command"));
    }
    Ok(())
}
