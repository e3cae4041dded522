//! Targets shared by the integration tests: every backend configuration of
//! this platform that runs without hardware, each with a URI it can open.

#![allow(dead_code)]

use std::path::PathBuf;

use nvmx::{Device, Options};

mod env;
pub use env::*;

/// A configuration and the URI it is tested on.
pub struct Target {
    /// The configuration name (`--be`).
    pub be: &'static str,
    /// The URI.
    pub uri: String,
    /// Whether the async engine moves data (`nil` does not).
    pub moves_data: bool,
    /// `--dev-nsid`, for controller nodes.
    pub nsid: Option<u32>,
    /// More options by name (`Options::set`), e.g. `defer_taskrun`.
    pub opts: &'static [(&'static str, &'static str)],
    _tmp: Option<TempFile>,
    _loop: Option<LoopDev>,
}

impl Target {
    fn new(be: &'static str, uri: impl Into<String>) -> Target {
        Target {
            be,
            uri: uri.into(),
            moves_data: moves(be),
            nsid: None,
            opts: &[],
            _tmp: None,
            _loop: None,
        }
    }
}

/// A loop device over a temp file, detached when dropped.
pub struct LoopDev {
    /// `/dev/loopN`.
    pub path: String,
    _file: TempFile,
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.path])
            .status();
    }
}

/// Attaches a loop device with `sector` byte sectors over a new file, or
/// says why it cannot (not root, no losetup).
pub fn loop_dev(nbytes: u64, sector: u32) -> Result<LoopDev, String> {
    if cfg!(target_os = "linux") && !is_root() {
        return Err("loop devices need root".into());
    }
    let f = temp_file(&format!("loop{sector}"), nbytes);
    let out = std::process::Command::new("losetup")
        .args([
            "--find",
            "--show",
            "--direct-io=on",
            "--sector-size",
            &sector.to_string(),
        ])
        .arg(&f.0)
        .output()
        .map_err(|e| format!("losetup: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(LoopDev { path, _file: f })
}

/// A file removed when dropped.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh sparse file of `nbytes` in the temp directory.
pub fn temp_file(tag: &str, nbytes: u64) -> TempFile {
    temp_file_in(&std::env::temp_dir(), tag, nbytes)
}

/// A fresh sparse file of `nbytes` in `dir`.
pub fn temp_file_in(dir: &std::path::Path, tag: &str, nbytes: u64) -> TempFile {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = dir.join(format!(
        "nvmx-test-{}-{}-{}.img",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&p).expect("create temp file");
    f.set_len(nbytes).expect("size temp file");
    TempFile(p)
}

/// Whether the tests run inside the QEMU guest with emulated NVMe devices.
pub fn in_guest() -> bool {
    std::env::var_os("NVMX_GUEST").is_some_and(|v| v == "1")
}

/// Async engines that move no data.
fn moves(be: &str) -> bool {
    !be.starts_with("nil") && be != "ramdisk"
}

/// File configurations of this platform.
pub fn file_configs() -> Vec<&'static str> {
    nvmx::be::config::configs()
        .iter()
        .filter(|c| c.caps.intersects(nvmx::Caps::FILE))
        .map(|c| c.name)
        .collect()
}

/// Whether a configuration's queues are io_uring rings, which also run the
/// suite with `defer_taskrun`.
pub fn is_uring(be: &str) -> bool {
    nvmx::be::config::configs()
        .iter()
        .any(|c| c.name == be && matches!(c.async_id, "io_uring" | "io_uring_cmd"))
}

/// The option variant the io_uring configurations run with too.
pub const DEFER_TASKRUN: &[(&str, &str)] = &[("defer_taskrun", "1")];

/// Configurations for block devices that are not NVMe (loop devices here).
pub fn bdev_configs() -> Vec<&'static str> {
    nvmx::be::config::configs()
        .iter()
        .filter(|c| c.caps.intersects(nvmx::Caps::BDEV))
        .map(|c| c.name)
        .collect()
}

/// Every configuration with a target it can open here, 8 MiB each: the
/// ramdisk ones, the file ones on the temp directory's filesystem and on
/// tmpfs, and (as root, on Linux) the block ones on loop devices with 512 B
/// and 4 KiB sectors.
pub fn targets() -> Vec<Target> {
    let mut v = Vec::new();
    for be in ["ramdisk", "ramdisk_emu", "ramdisk_thrpool"] {
        v.push(Target::new(be, "8MiB"));
    }
    // 4 KiB logical blocks (LBA format 2) with a smaller MDTS (128 KiB).
    v.push(Target::new("ramdisk_thrpool", "8MiB?lbaf=2&mdts=5"));
    let mut dirs = vec![std::env::temp_dir()];
    if std::path::Path::new("/dev/shm").is_dir() {
        dirs.push("/dev/shm".into());
    }
    for dir in &dirs {
        for be in file_configs() {
            let variants: &[&[(&str, &str)]] = if is_uring(be) {
                &[&[], DEFER_TASKRUN]
            } else {
                &[&[]]
            };
            for &opts in variants {
                let t = temp_file_in(dir, be, 8 << 20);
                let uri = t.0.to_string_lossy().into_owned();
                v.push(Target {
                    opts,
                    _tmp: Some(t),
                    ..Target::new(be, uri)
                });
            }
        }
    }
    // In the user-space driver's guest boots (testrig/vm/guest-upcie.sh),
    // a controller is bound to vfio-pci or uio_pci_generic and named by
    // NVMX_UPCIE_URI (its PCI address) and NVMX_UPCIE_BE (the
    // configuration); the kernel's NVMe nodes of it are gone, so only it
    // runs.
    if let (Ok(uri), Ok(be)) = (
        std::env::var("NVMX_UPCIE_URI"),
        std::env::var("NVMX_UPCIE_BE"),
    ) {
        let be = nvmx::be::config::configs()
            .iter()
            .find(|c| c.name == be)
            .map(|c| c.name)
            .unwrap_or_else(|| panic!("NVMX_UPCIE_BE={be} is no configuration"));
        v.push(Target {
            nsid: Some(1),
            ..Target::new(be, uri.clone())
        });
        // The same controller with SGLs for every transfer (QEMU offers
        // them), so both data-pointer kinds run the suite.
        v.push(Target {
            nsid: Some(1),
            ..Target::new(be, format!("{uri}?sgl=always"))
        });
    } else if in_guest() {
        // In the QEMU guest (testrig/vm), every configuration that serves NVMe
        // devices runs on the 4 KiB and 512 B namespaces: char device
        // (/dev/ngXnY) and namespace block device (/dev/nvmeXnY) as it serves.
        // TCP: a namespace reached over NVMe/TCP on loopback (nvmet-tcp),
        // set up by testrig/vm/guest-tcp.sh.
        for label in ["NVM4K", "NVM512", "TCP"] {
            for c in nvmx::be::config::configs() {
                for (cap, key) in [
                    (nvmx::Caps::NVME_CDEV, "CDEV"),
                    (nvmx::Caps::NVME_BDEV, "BDEV"),
                ] {
                    if !c.caps.intersects(cap) {
                        continue;
                    }
                    let var = format!("NVMX_DEV_{label}_{key}");
                    let Some(uri) = env_var(GUEST, &var) else {
                        continue;
                    };
                    if label == "NVM4K" && is_uring(c.name) {
                        v.push(Target {
                            opts: DEFER_TASKRUN,
                            ..Target::new(c.name, uri.clone())
                        });
                    }
                    v.push(Target::new(c.name, uri))
                }
                // The controller node (/dev/nvmeX with --dev-nsid) of the
                // single-namespace controllers, for every configuration that
                // takes one: io_uring_cmd does not (the kernel runs only
                // admin commands through io_uring there; a test checks the
                // refusal).
                if label != "NVM512"
                    && c.caps.intersects(nvmx::Caps::NVME_CDEV)
                    && c.async_id != "io_uring_cmd"
                    && let Ok(uri) = std::env::var(format!("NVMX_DEV_{label}_CTRL"))
                {
                    v.push(Target {
                        nsid: Some(1),
                        ..Target::new(c.name, uri)
                    });
                }
            }
        }
    }
    // Loop devices are Linux's; other platforms' block configurations
    // need real disks.
    let sectors: &[u32] = if cfg!(target_os = "linux") {
        &[512, 4096]
    } else {
        &[]
    };
    'sectors: for &sector in sectors {
        for be in bdev_configs() {
            let variants: &[&[(&str, &str)]] = if is_uring(be) {
                &[&[], DEFER_TASKRUN]
            } else {
                &[&[]]
            };
            for &opts in variants {
                let found = loop_dev(8 << 20, sector).map_err(|why| format!("{be}: {why}"));
                let Some(l) = require_env(ROOT, found) else {
                    continue 'sectors;
                };
                v.push(Target {
                    uri: l.path.clone(),
                    opts,
                    _loop: Some(l),
                    ..Target::new(be, "")
                });
            }
        }
    }
    v
}

/// Targets whose namespace format has 8 metadata bytes per 512-byte
/// block, kept apart from the data or interleaved with it (extended LBA):
/// the ramdisk configurations everywhere and, in the QEMU guest, the PI1
/// (separate, protection information type 1) and PI1EXT (extended)
/// namespaces through every configuration that opens NVMe devices.
pub fn meta_targets() -> Vec<Target> {
    let mut v = Vec::new();
    for be in ["ramdisk", "ramdisk_emu", "ramdisk_thrpool"] {
        v.push(Target::new(be, "8MiB?lbaf=1"));
        v.push(Target::new(be, "8MiB?lbaf=1&ext=1"));
    }
    // In the user-space driver's boots, the PI1 controller bound to the
    // driver (NVMX_UPCIE_META_URI) instead of the kernel's PI namespaces.
    if let (Some(uri), Ok(be)) = (
        std::env::var("NVMX_UPCIE_META_URI")
            .ok()
            .filter(|u| !u.is_empty()),
        std::env::var("NVMX_UPCIE_BE"),
    ) {
        let be = nvmx::be::config::configs()
            .iter()
            .find(|c| c.name == be)
            .map(|c| c.name)
            .unwrap_or_else(|| panic!("NVMX_UPCIE_BE={be} is no configuration"));
        for u in [uri.clone(), format!("{uri}?sgl=always")] {
            v.push(Target {
                nsid: Some(1),
                ..Target::new(be, u)
            });
        }
    } else if in_guest() && std::env::var_os("NVMX_UPCIE_URI").is_none() {
        for label in ["PI1", "PI1EXT"] {
            for c in nvmx::be::config::configs() {
                for (cap, key) in [
                    (nvmx::Caps::NVME_CDEV, "CDEV"),
                    (nvmx::Caps::NVME_BDEV, "BDEV"),
                ] {
                    if !c.caps.intersects(cap) || c.caps.intersects(nvmx::Caps::BDEV) {
                        continue;
                    }
                    // The guest suite boots these; a run without them must
                    // not pass as if metadata had been tested.
                    let uri =
                        std::env::var(format!("NVMX_DEV_{label}_{key}")).unwrap_or_else(|_| {
                            panic!(
                                "the guest has no {label} {key}: boot the PI1 and PI1EXT \
                                 controllers (testrig/vm/guest-suite.sh does)"
                            )
                        });
                    v.push(Target::new(c.name, uri));
                }
            }
        }
    }
    v
}

impl Target {
    /// Opens the target with its configuration forced by `--be`.
    pub fn open(&self) -> Device {
        let mut opts = Options {
            be: Some(self.be.into()),
            ..Default::default()
        };
        if let Some(n) = self.nsid {
            opts.nsid = n;
        }
        for (k, v) in self.opts {
            opts.set(k, v).unwrap();
        }
        match Device::open(&self.uri, &opts) {
            Ok(d) => d,
            Err(e) => panic!("{}: open {:?} failed: {e}", self.be, self.uri),
        }
    }
}

/// In the user-space driver's guest boots (testrig/vm/guest-upcie.sh),
/// the configuration the command-set tests run through
/// (`NVMX_UPCIE_BE`); `None` elsewhere.
pub fn upcie_be() -> Option<&'static str> {
    let be = std::env::var("NVMX_UPCIE_BE").ok()?;
    let c = nvmx::be::config::configs()
        .iter()
        .find(|c| c.name == be)
        .unwrap_or_else(|| panic!("NVMX_UPCIE_BE={be} is no configuration"));
    Some(c.name)
}

/// The guest controller labelled `label` (ZNS, FDP, PI2, ...) bound to
/// the user-space driver: `NVMX_UPCIE_<LABEL>` holds its PCI address,
/// namespace 1 is opened through [`upcie_be`]. `None` when it is not
/// bound (see [`require_env`]).
pub fn upcie_open(label: &str) -> Option<Device> {
    let be = upcie_be()?;
    let pci = env_var(UPCIE, &format!("NVMX_UPCIE_{label}"))?;
    let opts = Options {
        be: Some(be.into()),
        nsid: 1,
        ..Default::default()
    };
    Some(Device::open(&pci, &opts).unwrap_or_else(|e| panic!("{be}: open {pci} ({label}): {e}")))
}
