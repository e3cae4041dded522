//! Mapping a command's host buffers for the controller: data pointer
//! (PRPs or an SGL), metadata pointer, and bounce buffers.
//!
//! A buffer in the backing's DMA memory (from `Device::alloc`) is handed
//! to the controller where it lies. Any other buffer (heap memory given
//! to a sync call) is bounced: copied into driver-owned DMA memory before
//! the command and, for reads, copied back after it. PRP lists, SGL
//! segments and bounce buffers live as long as the [`Xfer`] that the
//! caller keeps until the command completes (or leaks, when the
//! controller could not be stopped).
//!
//! The buffers are cut to what the command moves when that is known
//! ([`nvmx_core::be::xfer_check`]), so PRP lists and SGLs describe the
//! transfer and no more: an SGL longer than the transfer is used only
//! when Identify Controller SGLS bit 18 allows it; otherwise a command
//! of unknown length goes by PRPs.

#![forbid(unsafe_code)]

use nvmx_spec::Command;
use nvmx_spec::cmd::psdt;

use std::sync::Arc;

use super::backing::{DeviceBacking, DmaRegion};
use super::dma;
use super::pool::{DmaPool, Pooled};
use super::prp::{self, PAGE};
use super::sgl::{self, Desc};
use nvmx_core::be::xfer_check::Need;
use nvmx_core::error::{Error, Result};

/// Which data pointer the driver builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SglMode {
    /// SGLs for buffers that are not contiguous for the controller, when
    /// it supports SGLs; PRPs otherwise.
    #[default]
    Auto,
    /// SGLs for every transfer, when the controller supports them.
    Always,
    /// PRPs only.
    Never,
}

impl SglMode {
    /// Parses the `sgl=` URI parameter.
    pub fn parse(v: &str) -> Result<SglMode> {
        match v {
            "auto" => Ok(SglMode::Auto),
            "always" | "1" => Ok(SglMode::Always),
            "never" | "0" => Ok(SglMode::Never),
            _ => Err(Error::invalid(
                "sgl",
                format!("{v:?}: use auto, always or never"),
            )),
        }
    }
}

/// What the controller supports, from Identify Controller SGLS.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SglCaps {
    /// SGLs for data (SGLS bits 1:0 non-zero).
    pub data: bool,
    /// MPTR holding an SGL descriptor (SGLS bit 19).
    pub meta: bool,
    /// SGLs longer than the data the command moves (SGLS bit 18).
    pub longer: bool,
}

impl SglCaps {
    /// Decodes Identify Controller SGLS.
    pub fn from_sgls(sgls: u32) -> SglCaps {
        SglCaps {
            data: sgls & 0b11 != 0,
            meta: sgls & (1 << 19) != 0,
            longer: sgls & (1 << 18) != 0,
        }
    }
}

/// A host buffer to map.
#[derive(Clone, Copy)]
pub(crate) struct HostBuf<'a> {
    /// Start address in this process.
    pub addr: usize,
    /// Length in bytes.
    pub len: usize,
    /// Its bytes, copied into a bounce buffer when one is needed.
    pub bytes: Option<&'a [u8]>,
}

impl<'a> HostBuf<'a> {
    /// A buffer given as a slice.
    pub fn of(b: &'a [u8]) -> Option<HostBuf<'a>> {
        (!b.is_empty()).then_some(HostBuf {
            addr: b.as_ptr() as usize,
            len: b.len(),
            bytes: Some(b),
        })
    }
}

/// The memory a mapped command needs until it completes.
#[derive(Debug, Default)]
pub(crate) struct Xfer {
    keep: Vec<Pooled>,
    data_bounce: Option<Pooled>,
    meta_bounce: Option<Pooled>,
    /// Bytes the bounce buffers carry (the transfer, not the region).
    data_nbytes: usize,
    meta_nbytes: usize,
}

impl Xfer {
    /// Copies bounced data and metadata back into the host buffers (after
    /// a command the controller wrote them).
    pub fn copy_out(&self, data: Option<&mut [u8]>, meta: Option<&mut [u8]>) {
        if let (Some(r), Some(d)) = (&self.data_bounce, data) {
            let n = d.len().min(self.data_nbytes);
            dma::read(r, 0, &mut d[..n]);
        }
        if let (Some(r), Some(m)) = (&self.meta_bounce, meta) {
            let n = m.len().min(self.meta_nbytes);
            dma::read(r, 0, &mut m[..n]);
        }
    }

    /// Copies bounced data back into scattered host buffers, in order.
    pub fn copy_out_vec(&self, pieces: &mut [std::io::IoSliceMut<'_>]) {
        if let Some(r) = &self.data_bounce {
            let mut at = 0;
            for p in pieces.iter_mut() {
                let n = p.len().min(self.data_nbytes.saturating_sub(at));
                dma::read(r, at, &mut p[..n]);
                at += n;
            }
        }
    }

    /// Bounce regions with the bytes they carry, for async completions
    /// that copy out themselves.
    pub fn bounces(&self) -> [Option<(&DmaRegion, usize)>; 2] {
        [
            self.data_bounce.as_deref().map(|r| (r, self.data_nbytes)),
            self.meta_bounce.as_deref().map(|r| (r, self.meta_nbytes)),
        ]
    }

    /// Keeps every page of the mapping for the rest of the process: the
    /// controller may still write them.
    pub fn leak(self) {
        std::mem::forget(self);
    }

    /// Fills `cmd`'s data pointer, metadata pointer and PSDT for `data`
    /// and `meta`, cut to what the command moves (`need`, from the
    /// transfer check the caller made).
    pub fn map(
        pool: &Arc<DmaPool>,
        cmd: &mut Command,
        data: &[HostBuf<'_>],
        meta: Option<HostBuf<'_>>,
        mode: SglMode,
        caps: SglCaps,
        need: Need,
    ) -> Result<Xfer> {
        let backing = &*pool.backing;
        let mut x = Xfer::default();
        let cut;
        let data = match need.data {
            Some(n) => {
                cut = cut_to(data, n);
                &cut[..]
            }
            None => data,
        };
        let meta = match (meta, need.meta) {
            (Some(_), Some(0)) => None,
            (Some(m), Some(n)) => Some(HostBuf {
                len: m.len.min(n as usize),
                bytes: m.bytes.map(|b| &b[..b.len().min(n as usize)]),
                ..m
            }),
            (m, _) => m,
        };
        cmd.prp1 = 0;
        cmd.prp2 = 0;
        cmd.mptr = 0;
        cmd.set_psdt(psdt::PRP);
        let mut use_sgl = false;
        let total: usize = data.iter().map(|d| d.len).sum();
        if total > 0 {
            let runs = data_runs(backing, data);
            let entries = prp_entries(backing, data);
            // An SGL as long as the buffer when the transfer's length is
            // unknown: only if the controller takes SGLs longer than the
            // data.
            use_sgl = caps.data
                && (need.data.is_some() || caps.longer)
                && match mode {
                    SglMode::Always => true,
                    // SGLs where PRPs would need a bounce and SGLs not.
                    SglMode::Auto => entries.is_none() && runs.is_some(),
                    SglMode::Never => false,
                };
            if use_sgl {
                let runs = match runs {
                    Some(r) => r,
                    None => vec![(x.bounce(pool, data, total)?, total as u32)],
                };
                let npages = sgl::list_pages(runs.len());
                let list = x.list_region(pool, npages)?;
                let l = sgl::build(&runs, list);
                x.write_descs(&l.list);
                (cmd.prp1, cmd.prp2) = l.sgl1.to_dptr();
                cmd.set_psdt(psdt::SGL_MPTR_CONTIG);
            } else {
                let entries = match entries {
                    Some(e) => e,
                    None => {
                        let b = x.bounce(pool, data, total)?;
                        let n = (total as u64).div_ceil(PAGE);
                        (0..n).map(|i| b + i * PAGE).collect()
                    }
                };
                let npages = prp::list_pages(entries.len());
                let list = x.list_region(pool, npages)?;
                let l = prp::build(&entries, list);
                if let Some(r) = x.keep.last().filter(|_| npages > 0) {
                    // The whole page: entries past the list are zero, never
                    // addresses left by an earlier command.
                    let bytes: Vec<u8> = l.list.iter().flat_map(|e| e.to_le_bytes()).collect();
                    dma::write_whole(r, &bytes);
                }
                cmd.prp1 = l.prp1;
                cmd.prp2 = l.prp2;
            }
        }
        if let Some(m) = meta {
            let runs = if m.addr % 4 == 0 {
                sgl::runs(backing, m.addr, m.len)
            } else {
                None
            };
            if use_sgl && caps.meta {
                let runs = match runs {
                    Some(r) if r.len() < sgl_meta_max() => r,
                    _ => {
                        let b = x.meta_bounce_in(pool, m)?;
                        vec![(b, m.len as u32)]
                    }
                };
                let page = pool.get(PAGE as usize)?;
                let descs: Vec<Desc> = if runs.len() == 1 {
                    vec![Desc {
                        addr: runs[0].0,
                        len: runs[0].1,
                        kind: sgl::kind::DATA_BLOCK,
                    }]
                } else {
                    let mut v = vec![Desc {
                        addr: page.iova() + 16,
                        len: (runs.len() * 16) as u32,
                        kind: sgl::kind::LAST_SEGMENT,
                    }];
                    v.extend(runs.iter().map(|&(addr, len)| Desc {
                        addr,
                        len,
                        kind: sgl::kind::DATA_BLOCK,
                    }));
                    v
                };
                let bytes: Vec<u8> = descs.iter().flat_map(|d| d.to_bytes()).collect();
                dma::write_whole(&page, &bytes);
                cmd.mptr = page.iova();
                x.keep.push(page);
                cmd.set_psdt(psdt::SGL_MPTR_SGL);
            } else {
                cmd.mptr = match runs {
                    Some(r) if r.len() == 1 => r[0].0,
                    _ => x.meta_bounce_in(pool, m)?,
                };
            }
        }
        Ok(x)
    }

    /// Copies `data` (the pieces in order) into a new bounce buffer of
    /// `total` bytes; its controller address.
    fn bounce(&mut self, pool: &Arc<DmaPool>, data: &[HostBuf<'_>], total: usize) -> Result<u64> {
        let r = pool.get(total)?;
        let mut at = 0;
        for d in data {
            if let Some(b) = d.bytes {
                dma::write(&r, at, b);
            }
            at += d.len;
        }
        let iova = r.iova();
        self.data_bounce = Some(r);
        self.data_nbytes = total;
        Ok(iova)
    }

    fn meta_bounce_in(&mut self, pool: &Arc<DmaPool>, m: HostBuf<'_>) -> Result<u64> {
        let r = pool.get(m.len)?;
        if let Some(b) = m.bytes {
            dma::write(&r, 0, b);
        }
        let iova = r.iova();
        self.meta_bounce = Some(r);
        self.meta_nbytes = m.len;
        Ok(iova)
    }

    /// Allocates `npages` list pages (kept last in `keep`); their address,
    /// or 0 for none.
    fn list_region(&mut self, pool: &Arc<DmaPool>, npages: usize) -> Result<u64> {
        if npages == 0 {
            return Ok(0);
        }
        let r = pool.get(npages * PAGE as usize)?;
        let iova = r.iova();
        self.keep.push(r);
        Ok(iova)
    }

    fn write_descs(&self, list: &[Desc]) {
        if list.is_empty() {
            return;
        }
        if let Some(r) = self.keep.last() {
            let bytes: Vec<u8> = list.iter().flat_map(|d| d.to_bytes()).collect();
            dma::write_whole(r, &bytes);
        }
    }
}

/// The first `n` bytes of `data`.
fn cut_to<'a>(data: &[HostBuf<'a>], n: u64) -> Vec<HostBuf<'a>> {
    let mut left = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(data.len());
    for d in data {
        if left == 0 {
            break;
        }
        let len = d.len.min(left);
        out.push(HostBuf {
            addr: d.addr,
            len,
            bytes: d.bytes.map(|b| &b[..len.min(b.len())]),
        });
        left -= len;
    }
    out
}

/// The contiguous runs of all pieces, in order; `None` when one is not
/// DMA memory (or not dword aligned).
fn data_runs(backing: &dyn DeviceBacking, data: &[HostBuf<'_>]) -> Option<Vec<(u64, u32)>> {
    let mut out = Vec::new();
    for d in data.iter().filter(|d| d.len > 0) {
        if d.addr % 4 != 0 {
            return None;
        }
        out.extend(sgl::runs(backing, d.addr, d.len)?);
    }
    Some(out)
}

/// PRP entries for all pieces, when PRPs can describe them: every piece
/// DMA memory, the first dword aligned, and every boundary between
/// pieces on a page boundary.
fn prp_entries(backing: &dyn DeviceBacking, data: &[HostBuf<'_>]) -> Option<Vec<u64>> {
    let pieces: Vec<&HostBuf<'_>> = data.iter().filter(|d| d.len > 0).collect();
    let page = PAGE as usize;
    let mut out = Vec::new();
    for (i, d) in pieces.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == pieces.len();
        if (first && d.addr % 4 != 0) || (!first && d.addr % page != 0) {
            return None;
        }
        if !last && (d.addr + d.len) % page != 0 {
            return None;
        }
        out.extend(prp::page_addrs(backing, d.addr, d.len)?);
    }
    Some(out)
}

/// Metadata runs that fit one page after the MPTR descriptor.
const fn sgl_meta_max() -> usize {
    (PAGE as usize - 16) / 16
}
