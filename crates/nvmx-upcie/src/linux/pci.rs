//! PCI functions through sysfs: what a function is, which driver holds
//! it, and moving it between drivers.
//!
//! Every PCI function has a directory `/sys/bus/pci/devices/DDDD:BB:DD.F`
//! with its `class`, `vendor`, `device`, `numa_node`, a `driver` link to
//! the driver bound to it, an `iommu_group` link when an IOMMU translates
//! its DMA, and `config` (its configuration space). A function moves to
//! another driver the way the kernel intends for user-space drivers:
//! write the driver's name to `driver_override` (so that only that driver
//! may claim it), write the address to the old driver's `unbind`, then to
//! `/sys/bus/pci/drivers_probe`.
//!
//! [`PciSys`] takes the sysfs root as a parameter, so that the tests run
//! against a fake tree. Failures that a user can fix are [`Missing`]
//! values: each says what is missing and how to provide it.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use nvmx_core::error::{Error, Result};
use nvmx_core::uri::PciAddr;
use nvmx_os::linux::dev::sysfs;

/// PCI class code of an NVMe controller: mass storage (01h), non-volatile
/// memory (08h), NVMe programming interface (02h).
pub const PCI_CLASS_NVME: u32 = 0x01_0802;

/// Offset of the command register in configuration space.
const PCI_COMMAND: u64 = 0x04;
/// Command register: the function answers memory-space accesses (BARs).
pub const PCI_COMMAND_MEMORY: u16 = 1 << 1;
/// Command register: the function may master the bus (do DMA).
pub const PCI_COMMAND_MASTER: u16 = 1 << 2;

/// The drivers a function can be moved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Driver {
    /// `vfio-pci`: user-space access through the IOMMU.
    VfioPci,
    /// `uio_pci_generic`: user-space access without an IOMMU.
    UioPciGeneric,
    /// `nvme`: the kernel's NVMe driver.
    Nvme,
}

impl Driver {
    /// The driver's name under `/sys/bus/pci/drivers`.
    pub fn name(self) -> &'static str {
        match self {
            Driver::VfioPci => "vfio-pci",
            Driver::UioPciGeneric => "uio_pci_generic",
            Driver::Nvme => "nvme",
        }
    }

    /// The module that provides the driver (`/sys/module/<name>`).
    pub fn module(self) -> &'static str {
        match self {
            Driver::VfioPci => "vfio_pci",
            Driver::UioPciGeneric => "uio_pci_generic",
            Driver::Nvme => "nvme",
        }
    }

    /// Parses a driver name as users type it (`vfio-pci`, `vfio_pci`,
    /// `vfio`, `uio_pci_generic`, `uio`, `nvme`).
    pub fn parse(s: &str) -> Result<Driver> {
        match s.replace('_', "-").as_str() {
            "vfio-pci" | "vfio" => Ok(Driver::VfioPci),
            "uio-pci-generic" | "uio" => Ok(Driver::UioPciGeneric),
            "nvme" => Ok(Driver::Nvme),
            _ => Err(Error::invalid(
                "driver",
                format!("{s:?} (expected vfio-pci, uio_pci_generic or nvme)"),
            )),
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something the system lacks for a user-space driver, with the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No PCI function at this address.
    NoDevice(PciAddr),
    /// The function is not an NVMe controller.
    NotNvme(PciAddr, u32),
    /// No IOMMU groups: the IOMMU is off or absent (vfio needs it).
    IommuOff,
    /// The module providing a driver is not loaded.
    ModuleNotLoaded(&'static str),
    /// The vfio group device node is missing.
    NoGroupNode(PathBuf),
    /// Some function of the IOMMU group is bound to another driver.
    GroupNotViable(u32),
    /// An operation was refused for lack of privileges.
    NotPermitted(String),
    /// The function is bound to a driver other than the one needed.
    WrongDriver {
        /// The function.
        addr: PciAddr,
        /// The driver it is bound to (`None`: unbound).
        bound: Option<String>,
        /// The driver needed.
        want: Driver,
    },
    /// The kernel's NVMe driver has namespaces of it in use.
    InUse(PciAddr, String),
    /// No free 2 MiB hugepages, and the request needs physically
    /// contiguous memory larger than one page (uio).
    NoHugepages(usize),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::NoDevice(a) => write!(f, "no PCI function {a} (see lspci -D)"),
            Missing::NotNvme(a, c) => write!(
                f,
                "PCI function {a} has class {c:06x}, not an NVMe controller ({PCI_CLASS_NVME:06x})"
            ),
            Missing::IommuOff => write!(
                f,
                "IOMMU off: /sys/kernel/iommu_groups is empty; vfio-pci needs an IOMMU \
                 (boot with intel_iommu=on or amd_iommu=on, enable VT-d/AMD-Vi in the firmware), \
                 or use uio_pci_generic"
            ),
            Missing::ModuleNotLoaded(m) => {
                write!(f, "module {m} not loaded (run: modprobe {m})")
            }
            Missing::NoGroupNode(p) => write!(
                f,
                "vfio group node {} missing (is vfio loaded? modprobe vfio-pci)",
                p.display()
            ),
            Missing::GroupNotViable(g) => write!(
                f,
                "IOMMU group {g} not viable: every function in /sys/kernel/iommu_groups/{g}/devices \
                 must be bound to vfio-pci or to no driver"
            ),
            Missing::NotPermitted(what) => write!(
                f,
                "permission denied: {what} (run as root, or with CAP_SYS_ADMIN and CAP_SYS_RAWIO)"
            ),
            Missing::WrongDriver { addr, bound, want } => match bound {
                Some(d) => write!(
                    f,
                    "{addr} is bound to {d}, not {want} (run: nvmx driver bind {addr} --to {want})"
                ),
                None => write!(
                    f,
                    "{addr} is bound to no driver, not {want} (run: nvmx driver bind {addr} --to {want})"
                ),
            },
            Missing::InUse(a, why) => write!(
                f,
                "{a} is in use by the kernel: {why}; unmount it first (or --force)"
            ),
            Missing::NoHugepages(len) => write!(
                f,
                "no hugepages: uio gives the controller physical addresses, so its DMA memory \
                 ({len} bytes asked for) comes from 2 MiB hugepages, which stay in place (locked \
                 4 KiB pages may still be migrated); reserve some (echo 64 > \
                 /proc/sys/vm/nr_hugepages) or use vfio-pci"
            ),
        }
    }
}

impl Missing {
    /// The library error for this, found while setting up `interface`
    /// (`vfio`, `uio`, or `pci` for moving functions between drivers).
    /// What the machine lacks (an IOMMU, a module, hugepages) is
    /// [`Error::Unsupported`] by `interface`; a wrong address, function or
    /// binding, a missing permission or a function in use stays
    /// [`Error::Invalid`]: `invalid vfio setup: ...`.
    pub fn error(self, interface: &'static str) -> Error {
        if matches!(
            self,
            Missing::IommuOff
                | Missing::ModuleNotLoaded(_)
                | Missing::NoGroupNode(_)
                | Missing::NoHugepages(_)
        ) {
            return Error::unsupported(interface, self.to_string());
        }
        let what = match interface {
            "vfio" => "vfio setup",
            "uio" => "uio setup",
            _ => "PCI driver setup",
        };
        Error::invalid(what, self.to_string())
    }
}

/// The sysfs attributes of one PCI function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PciFunction {
    /// The address.
    pub addr: String,
    /// Class code (24 bits).
    pub class: u32,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// The driver bound to it, if any.
    pub driver: Option<String>,
    /// The `driver_override` set on it, if any.
    pub driver_override: Option<String>,
    /// The IOMMU group, when an IOMMU translates its DMA.
    pub iommu_group: Option<u32>,
    /// The NUMA node (`None`: the system has one, or does not say).
    pub numa_node: Option<u32>,
    /// The kernel controllers (`nvme0`, ...) while bound to `nvme`.
    pub nvme_controllers: Vec<String>,
}

impl PciFunction {
    /// Whether it is an NVMe controller.
    pub fn is_nvme(&self) -> bool {
        self.class == PCI_CLASS_NVME
    }
}

/// PCI functions under one sysfs root (normally `/sys`).
#[derive(Clone, Debug)]
pub struct PciSys {
    root: PathBuf,
}

impl Default for PciSys {
    fn default() -> Self {
        PciSys::new()
    }
}

fn write_attr(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            Missing::NotPermitted(format!("writing {}", path.display())).error("pci")
        } else {
            Error::io("write", path.display().to_string(), e)
        }
    })
}

impl PciSys {
    /// The running system's sysfs.
    pub fn new() -> PciSys {
        PciSys::at(sysfs::SYSFS)
    }

    /// A sysfs tree rooted at `root` (tests use fake trees).
    pub fn at(root: impl Into<PathBuf>) -> PciSys {
        PciSys { root: root.into() }
    }

    /// The function's sysfs directory.
    pub fn dir(&self, addr: PciAddr) -> PathBuf {
        self.root.join("bus/pci/devices").join(addr.to_string())
    }

    /// Reads the function's attributes.
    pub fn function(&self, addr: PciAddr) -> Result<PciFunction> {
        let dir = self.dir(addr);
        if !dir.exists() {
            return Err(Missing::NoDevice(addr).error("pci"));
        }
        let num = |n: &str| sysfs::read_u64(&dir.join(n));
        let mut nvme_controllers: Vec<String> = std::fs::read_dir(dir.join("nvme"))
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with("nvme"))
                    .collect()
            })
            .unwrap_or_default();
        nvme_controllers.sort();
        Ok(PciFunction {
            addr: addr.to_string(),
            class: num("class").unwrap_or(0) as u32,
            vendor: num("vendor").unwrap_or(0) as u16,
            device: num("device").unwrap_or(0) as u16,
            driver: sysfs::link_name(&dir.join("driver")),
            driver_override: sysfs::read_attr(&dir.join("driver_override"))
                .filter(|s| s != "(null)"),
            iommu_group: sysfs::link_name(&dir.join("iommu_group")).and_then(|g| g.parse().ok()),
            numa_node: sysfs::read_attr(&dir.join("numa_node")).and_then(|s| s.parse().ok()),
            nvme_controllers,
        })
    }

    /// Every NVMe controller function, in address order.
    pub fn nvme_functions(&self) -> Vec<PciAddr> {
        let Ok(rd) = std::fs::read_dir(self.root.join("bus/pci/devices")) else {
            return Vec::new();
        };
        let mut v: Vec<PciAddr> = rd
            .filter_map(|e| PciAddr::parse(e.ok()?.file_name().to_str()?).ok())
            .filter(|a| {
                sysfs::read_u64(&self.dir(*a).join("class")) == Some(u64::from(PCI_CLASS_NVME))
            })
            .collect();
        v.sort_by_key(|a| (a.domain, a.bus, a.dev, a.func));
        v
    }

    /// Whether `module` is loaded (or built in with a sysfs entry).
    pub fn module_loaded(&self, module: &str) -> bool {
        self.root.join("module").join(module).exists()
    }

    /// Whether a driver is registered with the PCI bus.
    pub fn driver_registered(&self, driver: Driver) -> bool {
        self.root
            .join("bus/pci/drivers")
            .join(driver.name())
            .exists()
    }

    /// Whether an IOMMU is on: `/sys/kernel/iommu_groups` has groups.
    pub fn iommu_on(&self) -> bool {
        std::fs::read_dir(self.root.join("kernel/iommu_groups"))
            .map(|mut rd| rd.next().is_some())
            .unwrap_or(false)
    }

    /// The functions in IOMMU group `group`.
    pub fn group_members(&self, group: u32) -> Vec<String> {
        let dir = self
            .root
            .join("kernel/iommu_groups")
            .join(group.to_string())
            .join("devices");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// What keeps `driver` from being bound to `addr`, if anything.
    pub fn check_can_bind(&self, addr: PciAddr, driver: Driver) -> Result<()> {
        let f = self.function(addr)?;
        if !f.is_nvme() {
            return Err(Missing::NotNvme(addr, f.class).error("pci"));
        }
        // Without an IOMMU, loading vfio-pci would not help: say so first.
        if driver == Driver::VfioPci && (f.iommu_group.is_none() || !self.iommu_on()) {
            return Err(Missing::IommuOff.error("vfio"));
        }
        if !self.driver_registered(driver) && !self.module_loaded(driver.module()) {
            return Err(Missing::ModuleNotLoaded(driver.module()).error("pci"));
        }
        Ok(())
    }

    /// [`PciSys::bind`], refusing first (unless `force`) a function whose
    /// namespaces the kernel's NVMe driver has in use, with device nodes
    /// under `dev` (`/dev`).
    pub fn bind_checked(
        &self,
        addr: PciAddr,
        driver: Driver,
        force: bool,
        dev: &Path,
    ) -> Result<()> {
        if !force
            && driver != Driver::Nvme
            && let Some(why) = self.in_use(addr, dev)?
        {
            return Err(Missing::InUse(addr, why).error("pci"));
        }
        self.bind(addr, driver)
    }

    /// Why the kernel's NVMe driver cannot let go of `addr`: a mounted
    /// file system, swap or a device-mapper holder on one of its
    /// namespaces. `dev` is the device directory (`/dev`).
    pub fn in_use(&self, addr: PciAddr, dev: &Path) -> Result<Option<String>> {
        let f = self.function(addr)?;
        for c in &f.nvme_controllers {
            let node = dev.join(c);
            if let Some(why) = nvmx_os::in_use(&node.to_string_lossy()) {
                return Ok(Some(format!("{}: {why}", node.display())));
            }
        }
        Ok(None)
    }

    /// Moves `addr` to `driver`: `driver_override`, unbind from the
    /// current driver, `drivers_probe`, then checks the result. For `nvme`
    /// the override is cleared afterwards so the kernel's normal matching
    /// applies again. Does not check whether the function is in use:
    /// callers do that first ([`PciSys::in_use`]).
    pub fn bind(&self, addr: PciAddr, driver: Driver) -> Result<()> {
        self.check_can_bind(addr, driver)?;
        let f = self.function(addr)?;
        if f.driver.as_deref() == Some(driver.name()) {
            return Ok(());
        }
        let dir = self.dir(addr);
        write_attr(&dir.join("driver_override"), driver.name())?;
        if f.driver.is_some() {
            write_attr(&dir.join("driver/unbind"), &addr.to_string())?;
        }
        write_attr(&self.root.join("bus/pci/drivers_probe"), &addr.to_string())?;
        if driver == Driver::Nvme {
            write_attr(&dir.join("driver_override"), "\n")?;
        }
        let now = sysfs::link_name(&dir.join("driver"));
        if now.as_deref() != Some(driver.name()) {
            return Err(Error::unsupported(
                "pci",
                format!(
                    "binding {addr} to {driver}: the driver did not claim it (now bound to {}); \
                     see dmesg",
                    now.as_deref().unwrap_or("no driver")
                ),
            ));
        }
        Ok(())
    }

    /// Unbinds `addr` from its driver and clears `driver_override`.
    pub fn unbind(&self, addr: PciAddr) -> Result<()> {
        let f = self.function(addr)?;
        let dir = self.dir(addr);
        if f.driver.is_some() {
            write_attr(&dir.join("driver/unbind"), &addr.to_string())?;
        }
        if f.driver_override.is_some() {
            write_attr(&dir.join("driver_override"), "\n")?;
        }
        Ok(())
    }

    /// Sets Memory Space and Bus Master in the command register through
    /// the `config` file (read-modify-write of 16 bits).
    pub fn enable_bus_master(&self, addr: PciAddr) -> Result<()> {
        let path = self.dir(addr).join("config");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    Missing::NotPermitted(format!("opening {}", path.display())).error("pci")
                } else {
                    Error::io("open", path.display().to_string(), e)
                }
            })?;
        set_command_bits(&file, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)
            .map_err(|e| Error::io("write", path.display().to_string(), e))
    }
}

/// Sets `bits` in the command register of the configuration space that
/// starts at byte `base` of `file` (sysfs `config`, or vfio's config
/// region).
pub fn set_command_bits(file: &File, base: u64, bits: u16) -> std::io::Result<()> {
    let mut cmd = [0u8; 2];
    file.read_exact_at(&mut cmd, base + PCI_COMMAND)?;
    let v = u16::from_le_bytes(cmd) | bits;
    file.write_all_at(&v.to_le_bytes(), base + PCI_COMMAND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tree(PathBuf);

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl Tree {
        fn new(tag: &str) -> Tree {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "nvmx-pci-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Tree(p)
        }
        fn attr(&self, rel: &str, v: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, v).unwrap();
        }
        fn link(&self, rel: &str, target: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::create_dir_all(self.0.join(target)).unwrap();
            symlink(self.0.join(target), p).unwrap();
        }
        /// An NVMe function at 0000:01:00.0 bound to nvme (controller
        /// nvme3), in IOMMU group 7.
        fn nvme_function(&self) -> PciAddr {
            let dev = "devices/pci0000:00/0000:00:02.0/0000:01:00.0";
            self.attr(&format!("{dev}/class"), "0x010802\n");
            self.attr(&format!("{dev}/vendor"), "0x1b36\n");
            self.attr(&format!("{dev}/device"), "0x0010\n");
            self.attr(&format!("{dev}/numa_node"), "-1\n");
            self.attr(&format!("{dev}/driver_override"), "(null)\n");
            std::fs::create_dir_all(self.0.join(dev).join("nvme/nvme3")).unwrap();
            self.link(&format!("{dev}/driver"), "bus/pci/drivers/nvme");
            self.link(&format!("{dev}/iommu_group"), "kernel/iommu_groups/7");
            self.link("kernel/iommu_groups/7/devices/0000:01:00.0", dev);
            self.link("bus/pci/devices/0000:01:00.0", dev);
            self.attr("bus/pci/drivers_probe", "");
            PciAddr::parse("0000:01:00.0").unwrap()
        }
    }

    #[test]
    fn reads_a_functions_attributes() {
        let t = Tree::new("attrs");
        let a = t.nvme_function();
        let pci = PciSys::at(&t.0);
        let f = pci.function(a).unwrap();
        assert_eq!(f.class, PCI_CLASS_NVME);
        assert_eq!((f.vendor, f.device), (0x1b36, 0x0010));
        assert_eq!(f.driver.as_deref(), Some("nvme"));
        assert_eq!(f.driver_override, None, "(null) is no override");
        assert_eq!(f.iommu_group, Some(7));
        assert_eq!(f.numa_node, None, "-1 is no node");
        assert_eq!(f.nvme_controllers, vec!["nvme3".to_string()]);
        assert!(pci.iommu_on());
        assert_eq!(pci.group_members(7), vec!["0000:01:00.0".to_string()]);
        assert_eq!(pci.nvme_functions(), vec![a]);
    }

    #[test]
    fn names_what_is_missing() {
        let t = Tree::new("missing");
        let a = t.nvme_function();
        let pci = PciSys::at(&t.0);
        let e = pci.check_can_bind(a, Driver::UioPciGeneric).unwrap_err();
        let lacks = |e: &Error, word: &str| matches!(e, Error::Unsupported { interface: "pci" | "vfio", what } if what.contains(word));
        assert!(lacks(&e, "module uio_pci_generic not loaded"), "{e}");
        t.attr("module/vfio_pci/refcnt", "0");
        std::fs::remove_file(t.0.join("kernel/iommu_groups/7/devices/0000:01:00.0")).unwrap();
        std::fs::remove_dir_all(t.0.join("kernel/iommu_groups")).unwrap();
        let e = pci.check_can_bind(a, Driver::VfioPci).unwrap_err();
        assert!(lacks(&e, "IOMMU off"), "{e}");
        let other = PciAddr::parse("0000:09:00.0").unwrap();
        let e = pci.function(other).unwrap_err();
        assert!(
            e.to_string().contains("no PCI function 0000:09:00.0"),
            "{e}"
        );
    }

    #[test]
    fn bind_writes_override_unbind_and_probe() {
        let t = Tree::new("bind");
        let a = t.nvme_function();
        t.attr("module/uio_pci_generic/refcnt", "0");
        let pci = PciSys::at(&t.0);
        // A fake tree does not rebind, so the check after probing fails;
        // what was written is what the kernel would have been told.
        let e = pci.bind(a, Driver::UioPciGeneric).unwrap_err();
        assert!(e.to_string().contains("did not claim it"), "{e}");
        let dir = pci.dir(a);
        assert_eq!(
            std::fs::read_to_string(dir.join("driver_override")).unwrap(),
            "uio_pci_generic"
        );
        assert_eq!(
            std::fs::read_to_string(t.0.join("bus/pci/drivers/nvme/unbind")).unwrap(),
            "0000:01:00.0"
        );
        assert_eq!(
            std::fs::read_to_string(t.0.join("bus/pci/drivers_probe")).unwrap(),
            "0000:01:00.0"
        );
        // Already bound to the target: nothing to do.
        pci.bind(a, Driver::Nvme).unwrap();
    }

    #[test]
    fn sets_bus_master_and_memory_space() {
        let t = Tree::new("cmd");
        let a = t.nvme_function();
        let mut cfg = vec![0u8; 64];
        cfg[4] = 0x00;
        cfg[5] = 0x04; // INTx disable, kept
        t.attr(
            "devices/pci0000:00/0000:00:02.0/0000:01:00.0/config",
            &String::from_utf8(cfg).unwrap(),
        );
        PciSys::at(&t.0).enable_bus_master(a).unwrap();
        let cfg = std::fs::read(t.0.join("bus/pci/devices/0000:01:00.0/config")).unwrap();
        assert_eq!(u16::from_le_bytes([cfg[4], cfg[5]]), 0x0406);
    }

    #[test]
    #[ignore = "needs a user other than root: run by testrig/host-env-tests.sh (as nobody)"]
    fn a_refused_sysfs_write_says_permission_denied() {
        let t = Tree::new("perm");
        let a = t.nvme_function();
        t.attr("module/uio_pci_generic/refcnt", "0");
        let ovr = t.0.join("bus/pci/devices/0000:01:00.0/driver_override");
        let mut perm = std::fs::metadata(&ovr).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o444);
        std::fs::set_permissions(&ovr, perm).unwrap();
        if std::fs::OpenOptions::new().write(true).open(&ovr).is_ok() {
            // Root: file modes do not apply (see crates/nvmx/tests/common/env.rs).
            let required = std::env::var("NVMX_REQUIRE_ENV").is_ok_and(|v| {
                v.split(',')
                    .any(|e| e.trim() == "nonroot" || e.trim() == "all")
            });
            assert!(
                !required,
                "needs nonroot, which NVMX_REQUIRE_ENV promises here, but this is root"
            );
            eprintln!("not run: needs nonroot: file permissions do not apply to root");
            return;
        }
        let e = PciSys::at(&t.0).bind(a, Driver::UioPciGeneric).unwrap_err();
        assert!(e.to_string().contains("permission denied: writing"), "{e}");
        assert!(e.to_string().contains("run as root"), "{e}");
    }

    #[test]
    fn preferred_driver_follows_the_iommu_and_modules() {
        let t = Tree::new("prefer");
        t.nvme_function();
        let pci = PciSys::at(&t.0);
        let e = super::super::preferred_driver(&pci).unwrap_err();
        assert!(
            matches!(&e, Error::Unsupported { interface: "pci", what } if what.contains("vfio_pci not loaded")),
            "{e}"
        );
        t.attr("module/uio_pci_generic/refcnt", "0");
        assert_eq!(
            super::super::preferred_driver(&pci).unwrap(),
            Driver::UioPciGeneric
        );
        t.attr("module/vfio_pci/refcnt", "0");
        assert_eq!(
            super::super::preferred_driver(&pci).unwrap(),
            Driver::VfioPci
        );
        std::fs::remove_dir_all(t.0.join("kernel/iommu_groups")).unwrap();
        assert_eq!(
            super::super::preferred_driver(&pci).unwrap(),
            Driver::UioPciGeneric
        );
    }

    #[test]
    fn parses_driver_names_users_type() {
        assert_eq!(Driver::parse("vfio_pci").unwrap(), Driver::VfioPci);
        assert_eq!(Driver::parse("uio").unwrap(), Driver::UioPciGeneric);
        assert_eq!(Driver::parse("nvme").unwrap(), Driver::Nvme);
        assert!(Driver::parse("spdk").is_err());
    }
}
