//! Whether a device holds data the system is using: a mounted file
//! system, swap, or a device-mapper/md/LVM holder on it or on one of its
//! partitions. Tools check this before they write to a device.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::sysfs::{self, NodeType};

/// Why the device at `path` is in use, or `None` when nothing was found
/// (a file, a ramdisk, an unused device). For an NVMe generic node
/// (`/dev/ngXnY`) its block sibling is checked; for a controller node
/// (`/dev/nvmeX`) every namespace of it.
pub fn in_use(path: &str) -> Option<String> {
    in_use_at(
        Path::new(sysfs::SYSFS),
        path,
        &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
        &std::fs::read_to_string("/proc/swaps").unwrap_or_default(),
    )
}

/// [`in_use`] with the sysfs root and the mount and swap tables given.
pub fn in_use_at(sys: &Path, path: &str, mountinfo: &str, swaps: &str) -> Option<String> {
    let md = std::fs::metadata(path).ok()?;
    let ft = md.file_type();
    let disks: Vec<String> = if ft.is_block_device() {
        let dir = sysfs::node_dir(sys, NodeType::Block, md.rdev())?;
        vec![dir.file_name()?.to_str()?.to_string()]
    } else if ft.is_char_device() {
        let dir = sysfs::node_dir(sys, NodeType::Char, md.rdev())?;
        let name = dir.file_name()?.to_str()?.to_string();
        if let Some((x, y)) = sysfs::parse_ns_name(&name, "ng") {
            vec![format!("nvme{x}n{y}")]
        } else if let Some(x) = sysfs::parse_numbered(&name, "nvme") {
            namespaces_of(sys, x)
        } else {
            return None;
        }
    } else {
        return None;
    };
    disks
        .iter()
        .find_map(|d| disk_in_use(sys, d, mountinfo, swaps))
}

/// The block devices `nvme{x}nY` of controller `x`.
fn namespaces_of(sys: &Path, x: u32) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(sys.join("class/block")) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| sysfs::parse_ns_name(n, "nvme").is_some_and(|(cx, _)| cx == x))
        .collect()
}

/// Why block device `disk` (or a partition of it) is in use.
fn disk_in_use(sys: &Path, disk: &str, mountinfo: &str, swaps: &str) -> Option<String> {
    let dir = sys.join("class/block").join(disk);
    // The disk and its partitions: (name, "major:minor").
    let mut parts = vec![(disk.to_string(), sysfs::read_attr(&dir.join("dev"))?)];
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.join("partition").exists()
                && let (Some(n), Some(dev)) = (
                    p.file_name().and_then(|n| n.to_str()),
                    sysfs::read_attr(&p.join("dev")),
                )
            {
                parts.push((n.to_string(), dev));
            }
        }
    }
    for (name, dev) in &parts {
        if let Some(mp) = mount_point(mountinfo, dev) {
            return Some(format!("/dev/{name} is mounted at {mp}"));
        }
        if swaps
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .any(|s| Path::new(s).file_name().and_then(|f| f.to_str()) == Some(name))
        {
            return Some(format!("/dev/{name} is in use as swap"));
        }
        let pdir = if name == disk {
            dir.clone()
        } else {
            dir.join(name)
        };
        if let Some(h) = std::fs::read_dir(pdir.join("holders"))
            .ok()
            .and_then(|mut rd| rd.next())
            .and_then(|e| e.ok())
        {
            return Some(format!(
                "/dev/{name} is held by {} (device-mapper, md or LVM)",
                h.file_name().to_string_lossy()
            ));
        }
    }
    None
}

/// The mount point of the file system on device `dev` ("major:minor"),
/// from `/proc/self/mountinfo` (field 3 is the device, field 5 the mount
/// point, with spaces escaped as `\040`).
pub fn mount_point(mountinfo: &str, dev: &str) -> Option<String> {
    mountinfo.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, _, d, _, mp) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
        (d == dev).then(|| mp.replace("\\040", " "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
29 27 259:1 / /data\\040disk rw,relatime - ext4 /dev/nvme0n1p1 rw
31 27 7:0 / /mnt/loop rw - ext4 /dev/loop0 rw
";

    #[test]
    fn mount_points_come_from_field_three_and_five() {
        assert_eq!(
            mount_point(MOUNTINFO, "259:1").as_deref(),
            Some("/data disk")
        );
        assert_eq!(mount_point(MOUNTINFO, "7:0").as_deref(), Some("/mnt/loop"));
        assert_eq!(mount_point(MOUNTINFO, "259:0"), None);
        assert_eq!(mount_point("garbage\n\n1 2\n", "1:2"), None);
    }

    #[test]
    fn a_partition_mount_swap_or_holder_marks_the_disk_in_use() {
        let root = std::env::temp_dir().join(format!("nvmx-inuse-{}", std::process::id()));
        let disk = root.join("class/block/nvme0n1");
        std::fs::create_dir_all(disk.join("nvme0n1p1")).unwrap();
        std::fs::create_dir_all(disk.join("holders")).unwrap();
        std::fs::write(disk.join("dev"), "259:0\n").unwrap();
        std::fs::write(disk.join("nvme0n1p1/partition"), "1\n").unwrap();
        std::fs::write(disk.join("nvme0n1p1/dev"), "259:1\n").unwrap();
        let why = disk_in_use(&root, "nvme0n1", MOUNTINFO, "").unwrap();
        assert_eq!(why, "/dev/nvme0n1p1 is mounted at /data disk");
        let swaps = "Filename Type Size Used Priority\n/dev/nvme0n1p1 partition 1 0 -2\n";
        let why = disk_in_use(&root, "nvme0n1", "", swaps).unwrap();
        assert!(why.contains("swap"), "{why}");
        assert_eq!(disk_in_use(&root, "nvme0n1", "", ""), None);
        std::fs::create_dir_all(disk.join("holders/dm-0")).unwrap();
        let why = disk_in_use(&root, "nvme0n1", "", "").unwrap();
        assert!(why.contains("held by dm-0"), "{why}");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn files_are_not_devices_in_use() {
        let p = std::env::temp_dir().join(format!("nvmx-inuse-f-{}", std::process::id()));
        std::fs::write(&p, b"x").unwrap();
        assert_eq!(in_use(p.to_str().unwrap()), None);
        std::fs::remove_file(&p).ok();
        assert_eq!(in_use("/nonexistent/nvmx"), None);
    }
}
