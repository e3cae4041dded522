//! Physical Region Page entries (NVMe 2.0 base, 4.1.1): how a command
//! tells the controller where its data lies, one memory page at a time.
//!
//! PRP1 addresses the first byte (any dword-aligned offset in its page);
//! every later entry addresses the start of a page. With two pages in all,
//! PRP2 is the second page; with more, PRP2 points to a PRP list: a page
//! of 512 entries whose last entry, when more follow, points to the next
//! list page. The driver's memory page size is 4 KiB (CC.MPS = 0).

#![forbid(unsafe_code)]

use super::backing::DeviceBacking;

/// The memory page size the driver configures (CC.MPS = 0).
pub(crate) const PAGE: u64 = 4096;
/// PRP entries per list page.
const PER_PAGE: usize = (PAGE / 8) as usize;

/// The controller address of each page-sized piece of `vaddr..vaddr+len`,
/// asking `backing` page by page: the first may start inside a page, the
/// others are page aligned. `None` when some piece is not DMA memory of
/// the backing (the caller then bounces the data).
pub(crate) fn page_addrs(
    backing: &dyn DeviceBacking,
    vaddr: usize,
    len: usize,
) -> Option<Vec<u64>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let page = PAGE as usize;
    let mut out = Vec::with_capacity(len / page + 2);
    let end = vaddr.checked_add(len)?;
    let mut a = vaddr;
    while a < end {
        let next = (a / page + 1) * page;
        let n = next.min(end) - a;
        let iova = backing.translate(a, n)?;
        // The device sees the same offset in the page as the host.
        if iova % PAGE != (a % page) as u64 {
            return None;
        }
        out.push(iova);
        a += n;
    }
    Some(out)
}

/// How many 4 KiB list pages `n` PRP entries need (0 when PRP1 and PRP2
/// hold them all).
pub(crate) fn list_pages(n: usize) -> usize {
    if n <= 2 {
        return 0;
    }
    let mut rest = n - 1;
    let mut pages = 0;
    while rest > PER_PAGE {
        rest -= PER_PAGE - 1;
        pages += 1;
    }
    pages + 1
}

/// PRP1, PRP2 and the list-page contents for a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PrpLayout {
    /// The command's PRP1.
    pub prp1: u64,
    /// The command's PRP2 (0, a page, or the first list page).
    pub prp2: u64,
    /// The list pages' entries, 512 per page, to be written at the list
    /// address given to [`build`] (empty when there is no list).
    pub list: Vec<u64>,
}

/// Lays out `entries` (from [`page_addrs`]) with the list pages, when
/// needed, at controller address `list_iova` (contiguous,
/// [`list_pages`]`(entries.len())` pages).
pub(crate) fn build(entries: &[u64], list_iova: u64) -> PrpLayout {
    let prp1 = entries.first().copied().unwrap_or(0);
    match entries.len() {
        0 | 1 => PrpLayout {
            prp1,
            prp2: 0,
            list: Vec::new(),
        },
        2 => PrpLayout {
            prp1,
            prp2: entries[1],
            list: Vec::new(),
        },
        _ => {
            let mut list = Vec::with_capacity(entries.len() + entries.len() / PER_PAGE);
            let mut rest = &entries[1..];
            let mut page = 0u64;
            while rest.len() > PER_PAGE {
                list.extend_from_slice(&rest[..PER_PAGE - 1]);
                page += 1;
                list.push(list_iova + page * PAGE);
                rest = &rest[PER_PAGE - 1..];
            }
            list.extend_from_slice(rest);
            PrpLayout {
                prp1,
                prp2: list_iova,
                list,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(first: u64, n: usize) -> Vec<u64> {
        let mut v = vec![first];
        let base = first & !(PAGE - 1);
        v.extend((1..n as u64).map(|i| base + i * PAGE));
        v
    }

    #[test]
    fn one_and_two_pages_need_no_list() {
        assert_eq!(list_pages(1), 0);
        assert_eq!(list_pages(2), 0);
        let l = build(&[0x10_0200], 0x9000);
        assert_eq!((l.prp1, l.prp2, l.list.len()), (0x10_0200, 0, 0));
        let l = build(&pages(0x10_0200, 2), 0x9000);
        assert_eq!((l.prp1, l.prp2, l.list.len()), (0x10_0200, 0x10_1000, 0));
    }

    #[test]
    fn three_pages_use_one_list_page() {
        let l = build(&pages(0x10_0000, 3), 0x9000);
        assert_eq!(l.prp1, 0x10_0000);
        assert_eq!(l.prp2, 0x9000);
        assert_eq!(l.list, vec![0x10_1000, 0x10_2000]);
        assert_eq!(list_pages(3), 1);
    }

    #[test]
    fn a_full_list_page_does_not_chain() {
        // PRP1 + 512 entries: exactly one list page.
        let e = pages(0x100_0000, 513);
        assert_eq!(list_pages(513), 1);
        let l = build(&e, 0x9000);
        assert_eq!(l.list.len(), 512);
        assert_eq!(l.list[511], e[512]);
    }

    #[test]
    fn longer_lists_chain_through_the_last_entry() {
        let e = pages(0x100_0000, 514);
        assert_eq!(list_pages(514), 2);
        let l = build(&e, 0x9000);
        assert_eq!(l.list[510], e[511]);
        assert_eq!(l.list[511], 0xa000, "last entry of page 0 points at page 1");
        assert_eq!(&l.list[512..], &e[512..]);
        // 2 MiB + 1 page unaligned: 514 entries, and 4 MiB: 1024 + 1.
        assert_eq!(list_pages(1025), 3);
    }
}

#[cfg(test)]
mod translate_tests {
    use super::*;
    use crate::emu::EmuBacking;

    #[test]
    fn page_addrs_follow_the_backing_page_by_page() {
        let emu = EmuBacking::new("1MiB").unwrap();
        let r = emu.alloc_dma(3 * 4096).unwrap();
        let base = r.as_ptr().as_ptr() as usize;
        let e = page_addrs(&emu, base + 100, 2 * 4096).unwrap();
        assert_eq!(e, vec![r.iova() + 100, r.iova() + 4096, r.iova() + 8192]);
        assert_eq!(page_addrs(&emu, base, 4096).unwrap(), vec![r.iova()]);
        assert!(
            page_addrs(&emu, base + 4096, 3 * 4096).is_none(),
            "runs past the region"
        );
        let heap = [0u8; 64];
        assert!(page_addrs(&emu, heap.as_ptr() as usize, 64).is_none());
        let runs = crate::sgl::runs(&emu, base + 100, 2 * 4096).unwrap();
        assert_eq!(
            runs,
            vec![(r.iova() + 100, 2 * 4096)],
            "one region is one run"
        );
    }
}
