//! Capabilities: what kind of target a URI names, and what kinds a backend
//! configuration serves. Selection intersects the two.

use std::fmt;

use serde::{Serialize, Serializer};

/// A set of target kinds, as a bit mask (xNVMe's `xnvme_be_cap` values).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Caps(pub u32);

impl Caps {
    /// An NVMe character device: `/dev/ngXnY`, `/dev/nvmeX`.
    pub const NVME_CDEV: Caps = Caps(0x1);
    /// An NVMe namespace block device: `/dev/nvmeXnY`.
    pub const NVME_BDEV: Caps = Caps(0x2);
    /// Any other block device: `/dev/sda`, `/dev/loop0`, `\\.\PhysicalDriveN`.
    pub const BDEV: Caps = Caps(0x4);
    /// A regular file (existing or to be created).
    pub const FILE: Caps = Caps(0x8);
    /// An in-memory ramdisk, named by its size.
    pub const RAMDISK: Caps = Caps(0x10);
    /// A PCIe function driven from user space.
    pub const NVME_PCIE: Caps = Caps(0x20);
    /// An NVMe-over-TCP target.
    pub const NVME_TCP: Caps = Caps(0x40);
    /// An NVMe-over-RDMA target.
    pub const NVME_RDMA: Caps = Caps(0x80);
    /// Multi-process sharing.
    pub const MPROC: Caps = Caps(0x100);
    /// No capability.
    pub const NONE: Caps = Caps(0);

    const NAMES: [(Caps, &'static str); 9] = [
        (Caps::NVME_CDEV, "NVME_CDEV"),
        (Caps::NVME_BDEV, "NVME_BDEV"),
        (Caps::BDEV, "BDEV"),
        (Caps::FILE, "FILE"),
        (Caps::RAMDISK, "RAMDISK"),
        (Caps::NVME_PCIE, "NVME_PCIE"),
        (Caps::NVME_TCP, "NVME_TCP"),
        (Caps::NVME_RDMA, "NVME_RDMA"),
        (Caps::MPROC, "MPROC"),
    ];

    /// Whether the two sets share a kind.
    pub const fn intersects(self, other: Caps) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union of two sets, usable in constants.
    pub const fn or(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }
}

impl std::ops::BitOr for Caps {
    type Output = Caps;
    fn bitor(self, rhs: Caps) -> Caps {
        self.or(rhs)
    }
}

impl fmt::Display for Caps {
    /// Prints the set as `NVME_CDEV|NVME_BDEV`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (c, n) in Caps::NAMES {
            if self.intersects(c) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        let known = Caps::NAMES.iter().fold(0, |a, (c, _)| a | c.0);
        if self.0 & !known != 0 {
            write!(f, "{}{:#x}", if first { "" } else { "|" }, self.0 & !known)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Caps({self})")
    }
}

impl Serialize for Caps {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_names_in_bit_order() {
        assert_eq!(
            (Caps::NVME_BDEV | Caps::NVME_CDEV).to_string(),
            "NVME_CDEV|NVME_BDEV"
        );
        assert_eq!(Caps::NONE.to_string(), "none");
        assert_eq!(Caps(0x1000 | 0x8).to_string(), "FILE|0x1000");
    }

    #[test]
    fn values_match_xnvme() {
        assert_eq!(Caps::FILE.0, 0x8);
        assert_eq!(Caps::RAMDISK.0, 0x10);
        assert_eq!(Caps::NVME_PCIE.0, 0x20);
    }
}
