//! Physical addresses from `/proc/self/pagemap`, for uio_pci_generic,
//! where the controller sees physical memory (no IOMMU in between).
//!
//! The file holds one little-endian 64-bit entry per virtual page of the
//! process (Documentation/admin-guide/mm/pagemap.rst): bit 63 says the
//! page is present, bit 62 that it is swapped, and bits 0-54 hold the
//! page frame number. Without `CAP_SYS_ADMIN` the kernel reports frame
//! number 0 for every page, so a present page with frame 0 means "not
//! allowed to see it".

use std::fs::File;
use std::os::unix::fs::FileExt;

use nvmx_core::error::{Error, Result};

use super::mmio::PAGE_SIZE;

/// Bit 63: the page is present in RAM.
const PRESENT: u64 = 1 << 63;
/// Bit 62: the page is swapped out.
const SWAPPED: u64 = 1 << 62;
/// Bits 0-54: the page frame number of a present page.
const PFN_MASK: u64 = (1 << 55) - 1;

/// What one pagemap entry says about a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEntry {
    /// The page is in RAM at this frame number.
    Present(u64),
    /// The page is in RAM but the frame number is hidden (no
    /// `CAP_SYS_ADMIN`).
    Hidden,
    /// The page is swapped out.
    Swapped,
    /// The page is not mapped or never touched.
    Absent,
}

/// Decodes one pagemap entry.
pub fn decode(entry: u64) -> PageEntry {
    if entry & PRESENT != 0 {
        match entry & PFN_MASK {
            0 => PageEntry::Hidden,
            pfn => PageEntry::Present(pfn),
        }
    } else if entry & SWAPPED != 0 {
        PageEntry::Swapped
    } else {
        PageEntry::Absent
    }
}

/// The physical address of the page holding `vaddr` in this process
/// (plus `vaddr`'s offset in the page), from an open pagemap file.
pub fn phys_addr(pagemap: &File, vaddr: usize) -> Result<u64> {
    let page = (vaddr / PAGE_SIZE) as u64;
    let mut raw = [0u8; 8];
    pagemap
        .read_exact_at(&mut raw, page * 8)
        .map_err(|e| Error::io("read", "/proc/self/pagemap", e))?;
    phys_from_entry(u64::from_le_bytes(raw), vaddr)
}

/// The physical address that `entry` gives for `vaddr`.
pub fn phys_from_entry(entry: u64, vaddr: usize) -> Result<u64> {
    match decode(entry) {
        PageEntry::Present(pfn) => Ok(pfn * PAGE_SIZE as u64 + (vaddr % PAGE_SIZE) as u64),
        PageEntry::Hidden => Err(Error::unsupported(
            "uio",
            "physical addresses: /proc/self/pagemap hides frame numbers without CAP_SYS_ADMIN \
             (run as root)",
        )),
        PageEntry::Swapped | PageEntry::Absent => Err(Error::bad_reply(
            "/proc/self/pagemap",
            format!("page at {vaddr:#x} is not resident (not locked in memory?)"),
        )),
    }
}

/// Opens this process's pagemap.
pub fn open() -> Result<File> {
    File::open("/proc/self/pagemap").map_err(|e| Error::io("open", "/proc/self/pagemap", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Entries as read from /proc/self/pagemap (little-endian bytes).
    const ROOT_PRESENT: [u8; 8] = [0x34, 0x12, 0x05, 0x00, 0x00, 0x00, 0x80, 0x81];
    const USER_PRESENT: [u8; 8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x81];
    const SWAPPED_OUT: [u8; 8] = [0x02, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40];

    #[test]
    fn decodes_recorded_entries() {
        // Bit 63 present, bit 56 exclusive, PFN 0x51234.
        let e = u64::from_le_bytes(ROOT_PRESENT);
        assert_eq!(decode(e), PageEntry::Present(0x51234));
        assert_eq!(phys_from_entry(e, 0x7f00_0000_0123).unwrap(), 0x5123_4123);
        assert_eq!(decode(u64::from_le_bytes(USER_PRESENT)), PageEntry::Hidden);
        assert!(phys_from_entry(u64::from_le_bytes(USER_PRESENT), 0).is_err());
        assert_eq!(decode(u64::from_le_bytes(SWAPPED_OUT)), PageEntry::Swapped);
        assert_eq!(decode(0), PageEntry::Absent);
    }

    #[test]
    fn own_pagemap_answers_for_a_locked_page() {
        let m = super::super::mmio::Mapping::map_anon(PAGE_SIZE, false).unwrap();
        let f = open().unwrap();
        // As an unprivileged user the frame is hidden; as root it is real.
        match phys_addr(&f, m.addr()) {
            Ok(pa) => assert_eq!(pa % PAGE_SIZE as u64, 0),
            Err(e) => assert!(e.to_string().contains("CAP_SYS_ADMIN"), "{e}"),
        }
    }
}
