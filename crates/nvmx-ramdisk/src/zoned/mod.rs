//! A zoned namespace (ZNS command set, CSI 2) on the ramdisk.
//!
//! `64MiB?zoned=1&zone_size=1MiB` makes the ramdisk's namespace zoned: its
//! blocks are split into zones of `zone_size` bytes, each a sequential
//! write required zone with a write pointer and a state. The URI
//! parameters (sizes take the ramdisk size units, KiB/MiB/GiB):
//!
//! | key          | default       | meaning |
//! |--------------|---------------|---------|
//! | `zoned`      | 0             | 1 makes the namespace zoned |
//! | `zone_size`  | 1MiB          | zone size (ZSZE), a whole number of blocks |
//! | `zone_cap`   | `zone_size`   | zone capacity (ZCAP), at most the zone size |
//! | `max_open`   | 0 (no limit)  | open resources (MOR + 1) |
//! | `max_active` | 0 (no limit)  | active resources (MAR + 1) |
//! | `zde`        | 0             | zone descriptor extension size in bytes, a multiple of 64 |
//! | `zrwa`       | 0 (none)      | zone random write area size (ZRWASZ), a size |
//! | `zrwafg`     | 1             | ZRWA flush granularity in blocks (ZRWAFG) |
//! | `ro_zones`   | 0             | the last N zones start read only (for testing) |
//!
//! The namespace holds `size / zone_size` whole zones; a partial zone at
//! the end is not part of it.
//!
//! Decisions where the specification leaves a choice:
//!
//! - An implicit or explicit open that finds every open resource taken
//!   closes one implicitly opened zone (the lowest) to make room; only when
//!   all open zones are explicitly opened does it fail with Too Many Open
//!   Zones. Select-all Open never closes zones: it opens every closed zone
//!   or none.
//! - Close leaves a zone Closed even when nothing was written to it; Finish
//!   of an Empty zone needs no active resource.
//! - Reports give the write pointer as all ones for zones in the Full, Read
//!   Only and Offline states, where it is not valid.
//! - Reads may cross zone boundaries (OZCS bit 0) and read zeroes above the
//!   write pointer; reads of an offline zone fail with Zone Is Offline.
//! - Zones made read only by `ro_zones` are what the controller "changed":
//!   they are listed in the Changed Zone List log until it is read. Host
//!   commands never add to the list. No Asynchronous Event is raised.
//! - Zone Append to a zone with a ZRWA fails with Invalid Zone Operation
//!   Request, as on QEMU; Zone Append's size limit is MDTS (ZASL 0).
//! - There are as many ZRWA resources as active resources (NUMZRWA = MAR);
//!   an open asking for one when all are taken fails with ZRWA Resources
//!   Unavailable.
//! - With a ZRWA, a write may land anywhere in `[wp, wp + 2 * zrwasz)`; the
//!   part beyond `wp + zrwasz` implicitly flushes the write pointer forward
//!   (rounded up to the flush granularity).
//!
//! I/O opcodes on a zoned namespace: Flush, Read, Write, Compare, Write
//! Zeroes, Verify, Zone Management Send and Receive, and Zone Append;
//! others complete with Invalid Command Opcode.
//!
//! The parameters are read in `params::zoned`, `ns::zones` holds the zones
//! and their state machine; here [`io`] has the reads and writes, [`mgmt`]
//! Zone Management Send,
//! [`report`] Zone Management Receive, and [`identify`] the Identify
//! structures and the Changed Zone List log.

mod identify;
mod io;
mod mgmt;
mod report;

pub(crate) use identify::{changed_zone_list, identify_controller, identify_namespace};
pub(crate) use io::exec;

/// LBA Out of Range for a zone command whose LBA (in CDW10) is past the
/// namespace: shared by the I/O, management and report commands.
fn out_of_range(lba: u64) -> crate::fail::Fail {
    use nvmx_spec::status::{sc, sct};
    crate::fail::Fail::dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
        .lba(lba)
        .at(crate::fail::field::CDW10, 0)
}
