//! `nvmx driver status|bind|unbind`: moves NVMe PCI functions between the
//! kernel's nvme driver and the drivers that give a process the device
//! (vfio-pci, uio_pci_generic), and says what a user-space driver would
//! still lack (IOMMU, modules, permissions, hugepages).

use clap::Subcommand;

use crate::error::CliResult;
use crate::output::Printer;

/// The `driver` subcommands.
#[derive(Subcommand, Debug)]
pub enum DriverCmd {
    /// Print PCI functions (all NVMe ones, or BDF): bound driver, IOMMU
    /// group, NUMA node, and what vfio and uio would lack.
    Status {
        /// PCI address, e.g. 0000:01:00.0 (default: every NVMe function).
        bdf: Option<String>,
    },
    /// Bind BDF to a driver (default: vfio-pci when an IOMMU is on, else
    /// uio_pci_generic). Refuses a device whose namespaces are mounted,
    /// swapped on or held by device-mapper, unless --force.
    Bind {
        /// PCI address, e.g. 0000:01:00.0.
        bdf: String,
        /// vfio-pci, uio_pci_generic or nvme.
        #[arg(long)]
        to: Option<String>,
        /// Bind even if the kernel has the device's namespaces in use.
        #[arg(long)]
        force: bool,
    },
    /// Unbind BDF from its driver (and clear driver_override).
    Unbind {
        /// PCI address, e.g. 0000:01:00.0.
        bdf: String,
        /// Unbind even if the kernel has the device's namespaces in use.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `driver` subcommand.
pub fn run(p: &Printer, cmd: &DriverCmd) -> CliResult {
    imp::run(p, cmd)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::BTreeMap;
    use std::path::Path;

    use nvmx::be::upcie::linux::hugepage::{self, HugepagePool};
    use nvmx::be::upcie::linux::pci::{Driver, Missing, PciSys};
    use nvmx::be::upcie::linux::preferred_driver;
    use nvmx::uri::PciAddr;
    use serde::Serialize;

    use super::DriverCmd;
    use crate::error::{CliError, CliResult};
    use crate::output::{Hex, Printer};

    /// One function, as `driver status` prints it.
    #[derive(Serialize)]
    struct FunctionView {
        addr: String,
        class: Hex,
        vendor: Hex,
        device: Hex,
        driver: Option<String>,
        driver_override: Option<String>,
        iommu_group: Option<u32>,
        iommu_group_members: Vec<String>,
        numa_node: Option<u32>,
        nvme_controllers: Vec<String>,
        in_use: Option<String>,
        /// `ok`, or what binding to the driver lacks.
        vfio: String,
        uio: String,
    }

    #[derive(Serialize)]
    struct SystemView {
        iommu: bool,
        modules: BTreeMap<&'static str, bool>,
        hugepages_2mib: HugepagePool,
        hugepages_note: Option<String>,
        root: bool,
    }

    #[derive(Serialize)]
    struct StatusView {
        nvmx_driver: StatusBody,
    }

    #[derive(Serialize)]
    struct StatusBody {
        system: SystemView,
        functions: Vec<FunctionView>,
    }

    fn addr(bdf: &str) -> CliResult<PciAddr> {
        Ok(PciAddr::parse(bdf)?)
    }

    fn readiness(pci: &PciSys, a: PciAddr, d: Driver) -> String {
        match pci.check_can_bind(a, d) {
            Ok(()) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    fn function_view(pci: &PciSys, a: PciAddr) -> CliResult<FunctionView> {
        let f = pci.function(a)?;
        Ok(FunctionView {
            addr: f.addr.clone(),
            class: Hex(u64::from(f.class)),
            vendor: Hex(u64::from(f.vendor)),
            device: Hex(u64::from(f.device)),
            driver: f.driver.clone(),
            driver_override: f.driver_override.clone(),
            iommu_group: f.iommu_group,
            iommu_group_members: f
                .iommu_group
                .map(|g| pci.group_members(g))
                .unwrap_or_default(),
            numa_node: f.numa_node,
            in_use: pci.in_use(a, Path::new("/dev"))?,
            nvme_controllers: f.nvme_controllers,
            vfio: readiness(pci, a, Driver::VfioPci),
            uio: readiness(pci, a, Driver::UioPciGeneric),
        })
    }

    fn system_view(pci: &PciSys) -> SystemView {
        let pool = hugepage::pool();
        let modules = ["vfio_pci", "vfio_iommu_type1", "uio_pci_generic", "nvme"]
            .into_iter()
            .map(|m| (m, pci.module_loaded(m)))
            .collect();
        SystemView {
            iommu: pci.iommu_on(),
            modules,
            hugepages_note: (pool.free == 0).then(|| {
                "no free 2 MiB hugepages: vfio uses 4 KiB pages, uio refuses (it gives the \
                 controller physical addresses, and only hugepages stay in place); reserve \
                 some with echo 64 > /proc/sys/vm/nr_hugepages"
                    .to_string()
            }),
            hugepages_2mib: pool,
            // /proc/self belongs to the effective user.
            root: std::fs::metadata("/proc/self")
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
                .unwrap_or(false),
        }
    }

    fn status(p: &Printer, pci: &PciSys, which: Vec<PciAddr>) -> CliResult {
        let functions = which
            .into_iter()
            .map(|a| function_view(pci, a))
            .collect::<CliResult<Vec<_>>>()?;
        p.print(&StatusView {
            nvmx_driver: StatusBody {
                system: system_view(pci),
                functions,
            },
        })?;
        Ok(())
    }

    pub fn run(p: &Printer, cmd: &DriverCmd) -> CliResult {
        let pci = PciSys::new();
        match cmd {
            DriverCmd::Status { bdf } => {
                let which = match bdf {
                    Some(b) => vec![addr(b)?],
                    None => pci.nvme_functions(),
                };
                status(p, &pci, which)
            }
            DriverCmd::Bind { bdf, to, force } => {
                let a = addr(bdf)?;
                let d = match to {
                    Some(t) => Driver::parse(t)?,
                    None => preferred_driver(&pci)?,
                };
                pci.bind_checked(a, d, *force, Path::new("/dev"))?;
                status(p, &pci, vec![a])
            }
            DriverCmd::Unbind { bdf, force } => {
                let a = addr(bdf)?;
                if !*force && let Some(why) = pci.in_use(a, Path::new("/dev"))? {
                    return Err(CliError::from(Missing::InUse(a, why).error("pci")));
                }
                pci.unbind(a)?;
                status(p, &pci, vec![a])
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::DriverCmd;
    use crate::error::{CliError, CliResult};
    use crate::output::Printer;

    pub fn run(_p: &Printer, _cmd: &DriverCmd) -> CliResult {
        Err(CliError::new(
            "nvmx driver: moving PCI functions between drivers is implemented on Linux only",
        ))
    }
}
