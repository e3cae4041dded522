//! Simple Copy on [`Device`] with either source range format and every
//! command field (PRINFO for reads and writes, FUA, LR, directives,
//! protection tags) settable.

use nvmx_spec::Completion;
use nvmx_spec::copy::{
    CopySourceRangeFormat0, CopySourceRangeFormat1, DESFMT_0, DESFMT_1, SimpleCopy,
};
use zerocopy::IntoBytes;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

/// The source ranges of a copy, in one of the two formats the NVM command
/// set defines.
#[derive(Clone, Copy, Debug)]
pub enum CopyRanges<'a> {
    /// Format 0 (32-byte entries): LBA range, 32-bit reference tag.
    Format0(&'a [CopySourceRangeFormat0]),
    /// Format 1 (40-byte entries): LBA range, 80-bit storage and
    /// reference tag, for 64-bit guard protection information.
    Format1(&'a [CopySourceRangeFormat1]),
}

impl CopyRanges<'_> {
    fn len(&self) -> usize {
        match self {
            CopyRanges::Format0(r) => r.len(),
            CopyRanges::Format1(r) => r.len(),
        }
    }
}

impl Device {
    /// Simple Copy of `ranges` as `copy` describes it. The number of
    /// ranges and the descriptor format are taken from `ranges`; the
    /// namespace is the device's when `copy.nsid` is 0. 1 to 256 ranges.
    pub fn copy_with(&self, copy: &SimpleCopy, ranges: CopyRanges<'_>) -> Result<Completion> {
        let n = ranges.len();
        crate::nvm::check_nranges("copy ranges", n)?;
        let (desfmt, bytes) = match ranges {
            CopyRanges::Format0(r) => (DESFMT_0, r.as_bytes()),
            CopyRanges::Format1(r) => (DESFMT_1, r.as_bytes()),
        };
        // OCFS (Optional Copy Formats Supported) bit n: format n.
        let ocfs = self.identify_controller()?.ocfs;
        if ocfs & (1 << desfmt) == 0 {
            return Err(Error::unsupported(
                self.config().sync_id,
                format!("copy source range format {desfmt}: the controller's OCFS is {ocfs:#x}"),
            ));
        }
        let mut c = *copy;
        c.nr = (n - 1) as u8;
        c.desfmt = desfmt;
        if c.nsid == 0 {
            c.nsid = self.nsid();
        }
        let mut cmd = c.to_command();
        self.cmd_io(&mut cmd, DataBuf::Out(bytes), DataBuf::None)
    }
}
