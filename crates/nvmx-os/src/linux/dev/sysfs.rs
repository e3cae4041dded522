//! Small readers for sysfs: attributes, symlinks, and the directory of a
//! device node found through `/sys/dev/{block,char}/MAJOR:MINOR`.
//!
//! Every function takes the sysfs root as a parameter (normally `/sys`) so
//! that tests can run against a fake tree in a temporary directory. None of
//! them fails: a missing or unreadable attribute is `None`, because sysfs
//! layouts differ between kernels and a caller always has a fallback.

use std::path::{Path, PathBuf};

/// The sysfs root of the running system.
pub const SYSFS: &str = "/sys";

/// An attribute's text with surrounding whitespace removed; `None` when it
/// cannot be read or is empty.
pub fn read_attr(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// An attribute holding a decimal or `0x`-prefixed hexadecimal number.
pub fn read_u64(path: &Path) -> Option<u64> {
    parse_u64(&read_attr(path)?)
}

/// Parses a decimal or `0x`-prefixed hexadecimal number.
pub fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The last component of a symlink's target (`driver` -> `nvme`).
pub fn link_name(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    Some(target.file_name()?.to_str()?.to_string())
}

/// Splits a Linux `dev_t` into major and minor numbers (the glibc
/// encoding: 12 bits of major and 20 of minor, spread over 64 bits).
pub const fn major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0x0fff);
    let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff);
    (major as u32, minor as u32)
}

/// Whether a device node is a block or a character device.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeType {
    /// A block device (`/sys/dev/block`).
    Block,
    /// A character device (`/sys/dev/char`).
    Char,
}

/// The canonical sysfs directory of the device node with number `rdev`.
pub fn node_dir(sys: &Path, ty: NodeType, rdev: u64) -> Option<PathBuf> {
    let (ma, mi) = major_minor(rdev);
    let sub = match ty {
        NodeType::Block => "block",
        NodeType::Char => "char",
    };
    std::fs::canonicalize(sys.join("dev").join(sub).join(format!("{ma}:{mi}"))).ok()
}

/// The first of `dir` and its ancestors (up to `levels` above it) that has
/// an entry named `name`, with that entry's path.
pub fn find_up(dir: &Path, name: &str, levels: usize) -> Option<PathBuf> {
    let mut d = Some(dir);
    for _ in 0..=levels {
        let cur = d?;
        let p = cur.join(name);
        if p.exists() {
            return Some(p);
        }
        d = cur.parent();
    }
    None
}

/// The `queue` directory of a block device's sysfs directory; a partition
/// has none of its own and uses its disk's.
pub fn queue_dir(block_dir: &Path) -> Option<PathBuf> {
    find_up(block_dir, "queue", 1).filter(|q| q.is_dir())
}

/// Parses names like `nvme3`: the prefix followed by a decimal number and
/// nothing else.
pub fn parse_numbered(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses namespace node names `<prefix>XnY` (`nvme0n1`, `ng2n3`) into
/// `(X, Y)`. Per-path nodes (`nvme0c1n1`) and partitions (`nvme0n1p2`)
/// are not namespace nodes and give `None`.
pub fn parse_ns_name(name: &str, prefix: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(prefix)?;
    let (x, y) = rest.split_once('n')?;
    let num = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    Some((num(x)?, num(y)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_t_splits_like_glibc() {
        // makedev(259, 0) and makedev(7, 3), and a large minor.
        assert_eq!(major_minor((259 << 8) & 0xfff00), (259, 0));
        assert_eq!(major_minor(7 << 8 | 3), (7, 3));
        let big: u64 = (0x12 << 8) | (0x345 & 0xff) | ((0x345 & !0xff) << 12);
        assert_eq!(major_minor(big), (0x12, 0x345));
    }

    #[test]
    fn names_parse_only_namespace_nodes() {
        assert_eq!(parse_numbered("nvme12", "nvme"), Some(12));
        assert_eq!(parse_numbered("nvme0n1", "nvme"), None);
        assert_eq!(parse_numbered("nvme", "nvme"), None);
        assert_eq!(parse_ns_name("nvme0n1", "nvme"), Some((0, 1)));
        assert_eq!(parse_ns_name("ng3n12", "ng"), Some((3, 12)));
        assert_eq!(parse_ns_name("nvme0c1n1", "nvme"), None);
        assert_eq!(parse_ns_name("nvme0n1p2", "nvme"), None);
        assert_eq!(parse_ns_name("nvme-subsys0", "nvme"), None);
    }

    #[test]
    fn numbers_parse_in_decimal_and_hex() {
        assert_eq!(parse_u64(" 1280\n"), Some(1280));
        assert_eq!(parse_u64("0x010802"), Some(0x010802));
        assert_eq!(parse_u64("write back"), None);
    }
}
