//! Scatter Gather Lists (NVMe 2.0 base, 4.1.2): a command's data as
//! (address, length) descriptors instead of pages.
//!
//! One contiguous piece fits in the command's SGL1 as a Data Block
//! descriptor. More pieces go in segments in memory: SGL1 is a Last
//! Segment descriptor pointing at a list of Data Block descriptors, or,
//! when they fill more than one page (256 descriptors), a Segment
//! descriptor whose segment ends with a descriptor pointing at the next
//! one (Segment, or Last Segment for the final one). Used when Identify
//! Controller SGLS advertises support; PSDT in the command says so.

#![forbid(unsafe_code)]

use super::backing::DeviceBacking;
use super::prp::PAGE;

/// Descriptors per segment page.
const PER_PAGE: usize = (PAGE / 16) as usize;

/// SGL descriptor types (the high nibble of the identifier byte).
pub mod kind {
    /// Data Block: the bytes themselves.
    pub const DATA_BLOCK: u8 = 0x0;
    /// Segment: a list of descriptors that is not the last.
    pub const SEGMENT: u8 = 0x2;
    /// Last Segment: the final list of descriptors.
    pub const LAST_SEGMENT: u8 = 0x3;
}

/// One 16-byte SGL descriptor (address subtype).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    /// Controller address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Descriptor type, from [`kind`].
    pub kind: u8,
}

impl Desc {
    /// The descriptor as the controller reads it.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.addr.to_le_bytes());
        b[8..12].copy_from_slice(&self.len.to_le_bytes());
        b[15] = self.kind << 4;
        b
    }

    /// Decodes 16 bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Desc {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        let mut l = [0u8; 4];
        l.copy_from_slice(&b[8..12]);
        Desc {
            addr: u64::from_le_bytes(a),
            len: u32::from_le_bytes(l),
            kind: b[15] >> 4,
        }
    }

    /// The descriptor as the command's PRP1/PRP2 pair (SGL1).
    pub fn to_dptr(self) -> (u64, u64) {
        let b = self.to_bytes();
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&b[..8]);
        hi.copy_from_slice(&b[8..]);
        (u64::from_le_bytes(lo), u64::from_le_bytes(hi))
    }

    /// Decodes SGL1 from the command's PRP1/PRP2 pair.
    pub fn from_dptr(prp1: u64, prp2: u64) -> Desc {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&prp1.to_le_bytes());
        b[8..].copy_from_slice(&prp2.to_le_bytes());
        Desc::from_bytes(&b)
    }
}

/// The contiguous runs (controller address, length) of
/// `vaddr..vaddr+len`, asking `backing` page by page and merging pieces
/// that follow each other. `None` when some piece is not DMA memory.
pub(crate) fn runs(
    backing: &dyn DeviceBacking,
    vaddr: usize,
    len: usize,
) -> Option<Vec<(u64, u32)>> {
    let page = PAGE as usize;
    let mut out: Vec<(u64, u32)> = Vec::new();
    let end = vaddr.checked_add(len)?;
    let mut a = vaddr;
    while a < end {
        let n = ((a / page + 1) * page).min(end) - a;
        let iova = backing.translate(a, n)?;
        match out.last_mut() {
            Some((start, l)) if *start + u64::from(*l) == iova && *l < u32::MAX / 2 => {
                *l += n as u32
            }
            _ => out.push((iova, n as u32)),
        }
        a += n;
    }
    Some(out)
}

/// How many 4 KiB segment pages `n` runs need (0 when SGL1 holds it).
pub(crate) fn list_pages(n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let mut rest = n;
    let mut pages = 1;
    while rest > PER_PAGE {
        rest -= PER_PAGE - 1;
        pages += 1;
    }
    pages
}

/// SGL1 and the segment pages for a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SglLayout {
    /// The command's SGL1.
    pub sgl1: Desc,
    /// The segments' descriptors, 256 per page, to be written at the
    /// segment address given to [`build`].
    pub list: Vec<Desc>,
}

/// Lays out `runs` with the segments, when needed, at controller address
/// `list_iova` ([`list_pages`]`(runs.len())` contiguous pages).
pub(crate) fn build(runs: &[(u64, u32)], list_iova: u64) -> SglLayout {
    let data = |&(addr, len): &(u64, u32)| Desc {
        addr,
        len,
        kind: kind::DATA_BLOCK,
    };
    if runs.len() <= 1 {
        let sgl1 = runs.first().map(data).unwrap_or(Desc {
            addr: 0,
            len: 0,
            kind: kind::DATA_BLOCK,
        });
        return SglLayout {
            sgl1,
            list: Vec::new(),
        };
    }
    // Segment sizes: 255 data + 1 pointer while more than a page is left.
    let mut sizes = Vec::new();
    let mut rest = runs.len();
    while rest > PER_PAGE {
        sizes.push(PER_PAGE);
        rest -= PER_PAGE - 1;
    }
    sizes.push(rest);
    let pointer = |page: usize| {
        let last = page + 1 == sizes.len();
        Desc {
            addr: list_iova + page as u64 * PAGE,
            len: (sizes[page] * 16) as u32,
            kind: if last {
                kind::LAST_SEGMENT
            } else {
                kind::SEGMENT
            },
        }
    };
    let mut list = Vec::with_capacity(runs.len() + sizes.len());
    let mut it = runs.iter();
    for (page, &n) in sizes.iter().enumerate() {
        let last = page + 1 == sizes.len();
        let ndata = if last { n } else { n - 1 };
        list.extend(it.by_ref().take(ndata).map(data));
        if !last {
            list.push(pointer(page + 1));
        }
    }
    SglLayout {
        sgl1: pointer(0),
        list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_is_a_data_block_in_sgl1() {
        let l = build(&[(0x10_0200, 5000)], 0x9000);
        assert_eq!(
            l.sgl1,
            Desc {
                addr: 0x10_0200,
                len: 5000,
                kind: kind::DATA_BLOCK
            }
        );
        assert!(l.list.is_empty());
        let (p1, p2) = l.sgl1.to_dptr();
        assert_eq!((p1, p2), (0x10_0200, 5000));
        assert_eq!(Desc::from_dptr(p1, p2), l.sgl1);
    }

    #[test]
    fn several_runs_go_in_a_last_segment() {
        let runs = [(0x10_0000, 4096), (0x20_0000, 512), (0x30_0000, 100)];
        let l = build(&runs, 0x9000);
        assert_eq!(
            l.sgl1,
            Desc {
                addr: 0x9000,
                len: 48,
                kind: kind::LAST_SEGMENT
            }
        );
        assert_eq!(l.list.len(), 3);
        assert_eq!(l.list[1].addr, 0x20_0000);
        assert_eq!(l.list[2].len, 100);
        assert_eq!(l.sgl1.to_bytes()[15], 0x30);
    }

    #[test]
    fn more_than_a_page_of_runs_chains_segments() {
        let runs: Vec<(u64, u32)> = (0..300u64).map(|i| (i * 0x10_0000, 4096)).collect();
        assert_eq!(list_pages(300), 2);
        let l = build(&runs, 0x9000);
        assert_eq!(l.sgl1.kind, kind::SEGMENT);
        assert_eq!(l.sgl1.len, 256 * 16);
        assert_eq!(l.list[255].kind, kind::LAST_SEGMENT);
        assert_eq!(l.list[255].addr, 0xa000);
        assert_eq!(l.list[255].len, (300 - 255) * 16);
        assert_eq!(l.list.len(), 301);
        assert_eq!(l.list[256].addr, 255 * 0x10_0000);
    }
}
