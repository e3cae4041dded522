//! The emulated controller's side of the data pointer: PRPs, PRP lists
//! and SGLs walked in its "DMA memory", data gathered and scattered.

use std::sync::atomic::Ordering;

use nvmx_spec::cmd::psdt;
use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion};

use super::{EmuBacking, PAGE, State};
use crate::sgl::{Desc, kind};
use nvmx_core::be::{DataBuf, Direction};
use nvmx_core::error::Result;

impl EmuBacking {
    /// Gathers the command's data (and metadata), runs `run` on it and
    /// scatters what the controller wrote back.
    pub(super) fn transfer(
        &self,
        st: &State,
        cmd: &mut Command,
        len: Option<usize>,
        meta_len: Option<usize>,
        run: impl FnOnce(&mut Command, DataBuf<'_>, DataBuf<'_>) -> Result<Completion>,
    ) -> (u32, u16) {
        let xfer_err = Self::status(sct::GENERIC, sc::DATA_TRANSFER_ERROR);
        let sel = cmd.psdt();
        if sel != psdt::PRP {
            if st.faults.refuse_sgl {
                return (0, Self::status(sct::GENERIC, 0x11));
            }
            self.sgl_commands.fetch_add(1, Ordering::Relaxed);
            if sel == psdt::SGL_MPTR_SGL {
                self.sgl_meta_commands.fetch_add(1, Ordering::Relaxed);
            }
        }
        let dir = Direction::of_opcode(cmd.opc);
        let data_segs = if dir == Direction::None || (cmd.prp1 == 0 && len.is_none()) {
            Vec::new()
        } else {
            match self.data_segments(cmd, len, st.faults.sgl_longer) {
                Some(s) => s,
                None => return (0, xfer_err),
            }
        };
        let meta_segs = match meta_len {
            None => Vec::new(),
            Some(n) => match self.meta_segments(cmd, n, st.faults.sgl_longer) {
                Some(s) => s,
                None => return (0, xfer_err),
            },
        };
        let Some(mut data) = self.gather(&data_segs) else {
            return (0, xfer_err);
        };
        let Some(mut meta) = self.gather(&meta_segs) else {
            return (0, xfer_err);
        };
        let to_host = matches!(dir, Direction::FromDevice | Direction::Bidirectional);
        let r = run(cmd, wrap(&mut data, to_host), wrap(&mut meta, to_host));
        let cpl = match r {
            Ok(c) => c,
            Err(_) => return (0, xfer_err),
        };
        if to_host && !(self.scatter(&data_segs, &data) && self.scatter(&meta_segs, &meta)) {
            return (0, xfer_err);
        }
        (cpl.cdw0, cpl.status >> 1)
    }

    fn gather(&self, segs: &[(u64, usize)]) -> Option<Vec<u8>> {
        let total = segs.iter().map(|s| s.1).sum();
        let mut v = vec![0u8; total];
        let mut at = 0;
        for &(iova, n) in segs {
            if !self.read_mem(iova, &mut v[at..at + n]) {
                return None;
            }
            at += n;
        }
        Some(v)
    }

    fn scatter(&self, segs: &[(u64, usize)], src: &[u8]) -> bool {
        let mut at = 0;
        for &(iova, n) in segs {
            if !self.write_mem(iova, &src[at..at + n]) {
                return false;
            }
            at += n;
        }
        true
    }

    /// The (address, length) pieces of the data pointer.
    fn data_segments(
        &self,
        cmd: &Command,
        len: Option<usize>,
        longer_ok: bool,
    ) -> Option<Vec<(u64, usize)>> {
        if cmd.psdt() != psdt::PRP {
            let mut segs = self.walk_sgl(Desc::from_dptr(cmd.prp1, cmd.prp2))?;
            if let Some(n) = len {
                truncate(&mut segs, n, longer_ok)?;
            }
            return Some(segs);
        }
        let first = (PAGE - cmd.prp1 % PAGE) as usize;
        // Without a known length, PRP1's page and a page at PRP2.
        let len = len.unwrap_or(first + if cmd.prp2 != 0 { PAGE as usize } else { 0 });
        if !cmd.prp1.is_multiple_of(4) {
            return None;
        }
        let mut segs = vec![(cmd.prp1, first.min(len))];
        let mut rest = len - first.min(len);
        if rest == 0 {
            return Some(segs);
        }
        if rest <= PAGE as usize {
            if !cmd.prp2.is_multiple_of(PAGE) {
                return None;
            }
            segs.push((cmd.prp2, rest));
            return Some(segs);
        }
        self.prp_list_commands.fetch_add(1, Ordering::Relaxed);
        let mut at = cmd.prp2;
        if !at.is_multiple_of(8) {
            return None;
        }
        while rest > 0 {
            let e = self.read_u64(at)?;
            let last_slot = (at % PAGE) == PAGE - 8;
            if last_slot && rest > PAGE as usize {
                if e % PAGE != 0 {
                    return None;
                }
                at = e;
                continue;
            }
            if e % PAGE != 0 {
                return None;
            }
            let n = rest.min(PAGE as usize);
            segs.push((e, n));
            rest -= n;
            at += 8;
        }
        Some(segs)
    }

    fn meta_segments(
        &self,
        cmd: &Command,
        len: usize,
        longer_ok: bool,
    ) -> Option<Vec<(u64, usize)>> {
        if cmd.psdt() == psdt::SGL_MPTR_SGL {
            let mut segs = self.walk_sgl(self.read_desc(cmd.mptr)?)?;
            truncate(&mut segs, len, longer_ok)?;
            Some(segs)
        } else {
            Some(vec![(cmd.mptr, len)])
        }
    }

    /// Follows an SGL from its first descriptor.
    fn walk_sgl(&self, first: Desc) -> Option<Vec<(u64, usize)>> {
        let mut segs = Vec::new();
        let mut next = Some(first);
        let mut budget = 1 << 20;
        while let Some(d) = next.take() {
            match d.kind {
                kind::DATA_BLOCK => segs.push((d.addr, d.len as usize)),
                kind::SEGMENT | kind::LAST_SEGMENT => {
                    let n = d.len as usize / 16;
                    if n == 0 || d.len % 16 != 0 {
                        return None;
                    }
                    for i in 0..n {
                        budget -= 1;
                        if budget == 0 {
                            return None;
                        }
                        let e = self.read_desc(d.addr + 16 * i as u64)?;
                        match e.kind {
                            kind::DATA_BLOCK => segs.push((e.addr, e.len as usize)),
                            kind::SEGMENT | kind::LAST_SEGMENT
                                if i + 1 == n && d.kind == kind::SEGMENT =>
                            {
                                next = Some(e)
                            }
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(segs)
    }
}

/// A gathered buffer as the ramdisk takes it.
fn wrap(b: &mut [u8], to_host: bool) -> DataBuf<'_> {
    if b.is_empty() {
        DataBuf::None
    } else if to_host {
        DataBuf::In(b)
    } else {
        DataBuf::Out(b)
    }
}

/// Cuts `segs` to `len` bytes; `None` when they hold fewer, or more
/// when the controller does not take SGLs longer than the transfer
/// (SGLS bit 18 clear).
fn truncate(segs: &mut Vec<(u64, usize)>, len: usize, longer_ok: bool) -> Option<()> {
    let total: usize = segs.iter().map(|s| s.1).sum();
    if total > len && !longer_ok {
        return None;
    }
    let mut left = len;
    let mut out = Vec::with_capacity(segs.len());
    for &(a, n) in segs.iter() {
        if left == 0 {
            break;
        }
        let k = n.min(left);
        out.push((a, k));
        left -= k;
    }
    if left > 0 {
        return None;
    }
    *segs = out;
    Some(())
}
