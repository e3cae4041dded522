//! The Linux block layer's ioctl ABI (`<linux/fs.h>`, `<linux/blkzoned.h>`):
//! request numbers, the zone structures, and one safe wrapper per request.
//!
//! Zone positions and lengths are in 512-byte sectors whatever the logical
//! block size; byte ranges (`BLKZEROOUT`, `BLKDISCARD`) are in bytes.

use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;

use crate::linux::nvme::ioctl::{io, ior, iow, iowr};

/// The block layer's ioctl type number.
const B: u8 = 0x12;

/// `BLKSSZGET`: logical block size (an `int`).
pub const BLKSSZGET: u32 = io(B, 104);
/// `BLKDISCARD`: discards a byte range (`uint64_t[2]`: start, length).
pub const BLKDISCARD: u32 = io(B, 119);
/// `BLKGETSIZE64`: size in bytes (declared with a `size_t` argument, so
/// its number depends on the pointer width; the value is a `u64`).
pub const BLKGETSIZE64: u32 = ior(B, 114, size_of::<usize>());
/// `BLKPBSZGET`: physical block size (an `unsigned int`).
pub const BLKPBSZGET: u32 = io(B, 123);
/// `BLKZEROOUT`: zeroes a byte range (`uint64_t[2]`: start, length).
pub const BLKZEROOUT: u32 = io(B, 127);
/// `BLKREPORTZONE`: reports zones into a [`BlkZoneReport`] and the
/// [`BlkZone`] array that follows it.
pub const BLKREPORTZONE: u32 = iowr(B, 130, size_of::<BlkZoneReport>());
/// `BLKRESETZONE`: resets the zones of a [`BlkZoneRange`].
pub const BLKRESETZONE: u32 = iow(B, 131, size_of::<BlkZoneRange>());
/// `BLKGETZONESZ`: zone size in sectors (a `u32`; 0 when not zoned).
pub const BLKGETZONESZ: u32 = ior(B, 132, size_of::<u32>());
/// `BLKGETNRZONES`: number of zones (a `u32`; 0 when not zoned).
pub const BLKGETNRZONES: u32 = ior(B, 133, size_of::<u32>());
/// `BLKOPENZONE`: explicitly opens the zones of a [`BlkZoneRange`].
pub const BLKOPENZONE: u32 = iow(B, 134, size_of::<BlkZoneRange>());
/// `BLKCLOSEZONE`: closes the zones of a [`BlkZoneRange`].
pub const BLKCLOSEZONE: u32 = iow(B, 135, size_of::<BlkZoneRange>());
/// `BLKFINISHZONE`: finishes the zones of a [`BlkZoneRange`].
pub const BLKFINISHZONE: u32 = iow(B, 136, size_of::<BlkZoneRange>());

/// The kernel's `struct blk_zone` (64 bytes): one zone of a report.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlkZone {
    /// Zone start sector.
    pub start: u64,
    /// Zone size in sectors.
    pub len: u64,
    /// Write pointer sector.
    pub wp: u64,
    /// Zone type ([`zone_type`]).
    pub zone_type: u8,
    /// Zone condition ([`zone_cond`]); the values are the NVMe zone states.
    pub cond: u8,
    /// Non-sequential write resources active.
    pub non_seq: u8,
    /// Reset write pointer recommended.
    pub reset: u8,
    /// Reserved.
    pub resv: [u8; 4],
    /// Zone capacity in sectors; valid when the report's flags have
    /// [`BLK_ZONE_REP_CAPACITY`].
    pub capacity: u64,
    /// Reserved.
    pub reserved: [u8; 24],
}

/// The kernel's `struct blk_zone_report` header (16 bytes); the zones
/// follow it in the same buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlkZoneReport {
    /// First sector to report from.
    pub sector: u64,
    /// In: room in the zone array; out: zones reported.
    pub nr_zones: u32,
    /// Out: [`BLK_ZONE_REP_CAPACITY`] when `capacity` is valid.
    pub flags: u32,
}

/// The kernel's `struct blk_zone_range` (16 bytes): the sectors a zone
/// management ioctl applies to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlkZoneRange {
    /// First sector (a zone start).
    pub sector: u64,
    /// Number of sectors (whole zones).
    pub nr_sectors: u64,
}

const _: () = assert!(size_of::<BlkZone>() == 64);
const _: () = assert!(size_of::<BlkZoneReport>() == 16);
const _: () = assert!(size_of::<BlkZoneRange>() == 16);

/// Report flag: the zones' `capacity` fields are valid.
pub const BLK_ZONE_REP_CAPACITY: u32 = 1 << 0;

/// Zone conditions (`enum blk_zone_cond`): the NVMe zone state values.
pub mod zone_cond {
    /// Empty.
    pub const EMPTY: u8 = 0x1;
    /// Implicitly opened.
    pub const IMP_OPEN: u8 = 0x2;
    /// Explicitly opened.
    pub const EXP_OPEN: u8 = 0x3;
    /// Closed.
    pub const CLOSED: u8 = 0x4;
    /// Read only.
    pub const READONLY: u8 = 0xd;
    /// Full.
    pub const FULL: u8 = 0xe;
    /// Offline.
    pub const OFFLINE: u8 = 0xf;
}

/// Zones fetched per `BLKREPORTZONE` call.
pub const REPORT_BATCH: usize = 128;

/// A report header followed by room for [`REPORT_BATCH`] zones, laid out
/// as the kernel expects (the zones start right after the 16-byte header).
#[repr(C)]
pub struct ZoneReportBuf {
    /// The header.
    pub hdr: BlkZoneReport,
    /// The zones.
    pub zones: [BlkZone; REPORT_BATCH],
}

const _: () = assert!(std::mem::offset_of!(ZoneReportBuf, zones) == size_of::<BlkZoneReport>());

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `BLKGETSIZE64`: the device size in bytes.
pub fn get_size64(f: &File) -> io::Result<u64> {
    let mut v: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which points
    // at a live local u64.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKGETSIZE64 as libc::Ioctl,
            &mut v as *mut u64,
        )
    })?;
    Ok(v)
}

/// `BLKSSZGET`: the logical block size in bytes.
pub fn get_ssz(f: &File) -> io::Result<u32> {
    let mut v: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which points at
    // a live local c_int.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKSSZGET as libc::Ioctl,
            &mut v as *mut libc::c_int,
        )
    })?;
    u32::try_from(v).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

/// `BLKPBSZGET`: the physical block size in bytes.
pub fn get_pbsz(f: &File) -> io::Result<u32> {
    let mut v: libc::c_uint = 0;
    // SAFETY: BLKPBSZGET writes one unsigned int through the pointer, which
    // points at a live local c_uint.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKPBSZGET as libc::Ioctl,
            &mut v as *mut libc::c_uint,
        )
    })?;
    Ok(v)
}

/// `BLKZEROOUT`: zeroes `len` bytes at byte offset `off` (both multiples of
/// the logical block size). The kernel offloads this when the device can
/// and writes zeroes otherwise; it also drops the range from the page
/// cache.
pub fn zeroout(f: &File, off: u64, len: u64) -> io::Result<()> {
    let range: [u64; 2] = [off, len];
    // SAFETY: BLKZEROOUT reads two u64 (start, length) through the pointer,
    // which points at a live local array of two u64.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKZEROOUT as libc::Ioctl, range.as_ptr()) })
}

/// `BLKDISCARD`: discards `len` bytes at byte offset `off` (both multiples
/// of the logical block size), dropping them from the page cache too.
pub fn discard(f: &File, off: u64, len: u64) -> io::Result<()> {
    let range: [u64; 2] = [off, len];
    // SAFETY: BLKDISCARD reads two u64 (start, length) through the pointer,
    // which points at a live local array of two u64.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKDISCARD as libc::Ioctl, range.as_ptr()) })
}

/// `BLKGETZONESZ`: the zone size in sectors (0 for a device that is not
/// zoned).
pub fn get_zone_sectors(f: &File) -> io::Result<u32> {
    let mut v: u32 = 0;
    // SAFETY: BLKGETZONESZ writes one u32 through the pointer, which points
    // at a live local u32.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKGETZONESZ as libc::Ioctl,
            &mut v as *mut u32,
        )
    })?;
    Ok(v)
}

/// `BLKGETNRZONES`: the number of zones (0 for a device that is not
/// zoned).
pub fn get_nr_zones(f: &File) -> io::Result<u32> {
    let mut v: u32 = 0;
    // SAFETY: BLKGETNRZONES writes one u32 through the pointer, which
    // points at a live local u32.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKGETNRZONES as libc::Ioctl,
            &mut v as *mut u32,
        )
    })?;
    Ok(v)
}

/// `BLKREPORTZONE`: fills `buf` with the zones from `sector` on; returns
/// how many were reported (0 past the last zone).
pub fn report_zone(f: &File, sector: u64, buf: &mut ZoneReportBuf) -> io::Result<usize> {
    buf.hdr = BlkZoneReport {
        sector,
        nr_zones: REPORT_BATCH as u32,
        flags: 0,
    };
    // SAFETY: the kernel reads the header and writes at most `nr_zones`
    // (REPORT_BATCH) zones right after it; `buf` is exclusively borrowed
    // and has exactly that room, laid out as the kernel's flexible array.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            BLKREPORTZONE as libc::Ioctl,
            buf as *mut ZoneReportBuf,
        )
    })?;
    Ok((buf.hdr.nr_zones as usize).min(REPORT_BATCH))
}

/// A zone management request: reset, open, close or finish.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ZoneOp {
    /// `BLKRESETZONE`.
    Reset,
    /// `BLKOPENZONE`.
    Open,
    /// `BLKCLOSEZONE`.
    Close,
    /// `BLKFINISHZONE`.
    Finish,
}

impl ZoneOp {
    /// The request number.
    pub const fn request(self) -> u32 {
        match self {
            ZoneOp::Reset => BLKRESETZONE,
            ZoneOp::Open => BLKOPENZONE,
            ZoneOp::Close => BLKCLOSEZONE,
            ZoneOp::Finish => BLKFINISHZONE,
        }
    }

    /// The request's name, for errors.
    pub const fn name(self) -> &'static str {
        match self {
            ZoneOp::Reset => "BLKRESETZONE",
            ZoneOp::Open => "BLKOPENZONE",
            ZoneOp::Close => "BLKCLOSEZONE",
            ZoneOp::Finish => "BLKFINISHZONE",
        }
    }
}

/// Applies `op` to the whole zones in `nr_sectors` sectors from `sector`.
pub fn zone_mgmt(f: &File, op: ZoneOp, sector: u64, nr_sectors: u64) -> io::Result<()> {
    let range = BlkZoneRange { sector, nr_sectors };
    // SAFETY: the four zone management requests read one blk_zone_range
    // through the pointer, which points at a live local one.
    check(unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            op.request() as libc::Ioctl,
            &range as *const BlkZoneRange,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn zone_structs_match_the_kernel_header() {
        assert_eq!(size_of::<BlkZone>(), 64);
        assert_eq!(offset_of!(BlkZone, len), 8);
        assert_eq!(offset_of!(BlkZone, wp), 16);
        assert_eq!(offset_of!(BlkZone, zone_type), 24);
        assert_eq!(offset_of!(BlkZone, cond), 25);
        assert_eq!(offset_of!(BlkZone, non_seq), 26);
        assert_eq!(offset_of!(BlkZone, reset), 27);
        assert_eq!(offset_of!(BlkZone, capacity), 32);
        assert_eq!(offset_of!(BlkZone, reserved), 40);
        assert_eq!(size_of::<BlkZoneReport>(), 16);
        assert_eq!(offset_of!(BlkZoneReport, nr_zones), 8);
        assert_eq!(offset_of!(BlkZoneReport, flags), 12);
        assert_eq!(size_of::<BlkZoneRange>(), 16);
        assert_eq!(offset_of!(BlkZoneRange, nr_sectors), 8);
        assert_eq!(size_of::<ZoneReportBuf>(), 16 + 64 * REPORT_BATCH);
    }

    #[cfg(all(
        target_pointer_width = "64",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn request_numbers_match_the_kernel() {
        assert_eq!(BLKSSZGET, 0x1268);
        assert_eq!(BLKGETSIZE64, 0x8008_1272);
        assert_eq!(BLKDISCARD, 0x1277);
        assert_eq!(BLKPBSZGET, 0x127b);
        assert_eq!(BLKZEROOUT, 0x127f);
        assert_eq!(BLKREPORTZONE, 0xc010_1282);
        assert_eq!(BLKRESETZONE, 0x4010_1283);
        assert_eq!(BLKGETZONESZ, 0x8004_1284);
        assert_eq!(BLKGETNRZONES, 0x8004_1285);
        assert_eq!(BLKOPENZONE, 0x4010_1286);
        assert_eq!(BLKCLOSEZONE, 0x4010_1287);
        assert_eq!(BLKFINISHZONE, 0x4010_1288);
    }

    #[test]
    fn size_and_zone_queries_fail_cleanly_on_a_regular_file() {
        let p = std::env::temp_dir().join(format!("nvmx-blkioctl-{}", std::process::id()));
        let f = File::create(&p).unwrap();
        assert!(get_size64(&f).is_err());
        assert!(get_nr_zones(&f).is_err());
        let mut buf = Box::new(ZoneReportBuf {
            hdr: BlkZoneReport::default(),
            zones: [BlkZone::default(); REPORT_BATCH],
        });
        assert!(report_zone(&f, 0, &mut buf).is_err());
        std::fs::remove_file(&p).unwrap();
    }
}
