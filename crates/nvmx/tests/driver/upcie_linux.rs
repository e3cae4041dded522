//! The Linux backings of the user-space driver against QEMU's NVMe
//! controllers, in the guest (testrig/vm/guest-suite-upcie.sh): move a
//! controller from the kernel's nvme driver to uio_pci_generic (boot
//! without IOMMU) or vfio-pci (boot with `--iommu`), map BAR0, bring the
//! controller up far enough for an Identify by DMA with a minimal admin
//! queue written here (so that the backings are proven without the driver
//! core), and give it back to nvme. Plus the setups that must fail with a
//! named reason. Outside the guest the tests are ignored (each names the
//! boot it needs).

#![cfg(target_os = "linux")]

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{Ordering, fence};
use std::time::{Duration, Instant};

use nvmx::Error;
use nvmx::be::upcie::backing::DeviceBacking;
use nvmx::be::upcie::linux::pci::{Driver, PciSys};
use nvmx::be::upcie::linux::uio::UioBacking;
use nvmx::be::upcie::linux::vfio::{IOVA_BASE, VfioBacking};
use nvmx::be::upcie::linux::{DmaMem, hugepage};
use nvmx::uri::PciAddr;

use crate::common;

/// Tests move devices between drivers: one at a time.
static DEVICES: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    DEVICES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether this is the guest boot `env` of testrig/vm/guest-suite-upcie.sh:
/// [`common::UIO`] (no IOMMU, uio_pci_generic loaded), [`common::VFIO`]
/// (`--iommu`) or either ([`common::UPCIE`]); see [`common::require_env`]
/// when it is not.
fn in_boot(env: &str) -> bool {
    let found = if std::env::var("NVMX_GUEST").as_deref() != Ok("1") {
        Err("not in the nvmx QEMU guest")
    } else if env == common::UIO && iommu() {
        Err("this guest boot has an IOMMU")
    } else if env == common::VFIO && !iommu() {
        Err("this guest boot has no IOMMU")
    } else {
        Ok(())
    };
    common::require_env(env, found).is_some()
}

fn iommu() -> bool {
    std::env::var("NVMX_GUEST_IOMMU").as_deref() == Ok("1")
}

/// The PCI address and serial of the first controller present among
/// `labels`.
fn controller(labels: &[&str]) -> Option<(PciAddr, String, String)> {
    for l in labels {
        let pci = std::env::var(format!("NVMX_DEV_{l}_PCI")).unwrap_or_default();
        if let Ok(a) = PciAddr::parse(&pci) {
            let serial = std::env::var(format!("NVMX_DEV_{l}_SERIAL")).unwrap_or_default();
            return Some((a, serial, l.to_string()));
        }
    }
    None
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

// Controller registers (NVMe 2.0 base, figure 33).
const CAP: usize = 0x00;
const VS: usize = 0x08;
const CC: usize = 0x14;
const CSTS: usize = 0x1c;
const AQA: usize = 0x24;
const ASQ: usize = 0x28;
const ACQ: usize = 0x30;
const DOORBELLS: usize = 0x1000;

/// Disables the controller (CC.EN = 0) and waits for CSTS.RDY = 0.
fn disable(b: &dyn DeviceBacking, timeout: Duration) {
    let cc = b.read32(CC);
    if cc & 1 != 0 {
        b.write32(CC, cc & !1);
    }
    wait_until("CSTS.RDY = 0", timeout, || b.read32(CSTS) & 1 == 0);
}

/// Brings the controller up with a 16-entry admin queue pair in DMA memory
/// from `mem`, runs Identify Controller into a DMA buffer, checks the
/// completion, disables the controller, and returns the 4096 bytes.
fn identify_by_dma(b: &dyn DeviceBacking, mem: &dyn Fn(usize) -> DmaMem) -> Vec<u8> {
    let cap = b.read64(CAP);
    let vs = b.read32(VS);
    assert_ne!(
        cap,
        u64::MAX,
        "CAP reads all ones: BAR0 not mapped or memory space off"
    );
    assert!(vs >= 0x0001_0000, "VS {vs:#x} is not an NVMe version");
    eprintln!("{}: CAP {cap:#018x} VS {vs:#010x}", b.name());
    let timeout = Duration::from_millis(500 * ((cap >> 24) & 0xff).max(1));
    let dstrd = ((cap >> 32) & 0xf) as usize;
    assert_eq!((cap >> 37) & 1, 1, "CAP.CSS: NVM command set");
    disable(b, timeout);

    const QD: u32 = 16;
    let asq = mem(4096);
    let acq = mem(4096);
    let buf = mem(4096);
    for m in [&asq, &acq, &buf] {
        assert_eq!(m.iova() % 4096, 0, "DMA memory page aligned");
        assert_eq!(
            b.translate(m.addr(), 4096),
            Some(m.iova()),
            "translate agrees with the region"
        );
        assert_eq!(b.translate(m.addr() + 512, 8), Some(m.iova() + 512));
    }
    b.write32(AQA, (QD - 1) | ((QD - 1) << 16));
    b.write64(ASQ, asq.iova());
    b.write64(ACQ, acq.iova());
    // IOCQES 16 bytes (2^4), IOSQES 64 bytes (2^6), MPS 4 KiB, NVM, EN.
    b.write32(CC, (4 << 20) | (6 << 16) | 1);
    wait_until("CSTS.RDY = 1", timeout, || {
        let csts = b.read32(CSTS);
        assert_eq!(csts & 2, 0, "CSTS.CFS: controller fatal status");
        csts & 1 == 1
    });

    let mut cmd = [0u8; 64];
    cmd[0] = 0x06; // Identify
    cmd[2..4].copy_from_slice(&0x1234u16.to_le_bytes());
    cmd[24..32].copy_from_slice(&buf.iova().to_le_bytes()); // PRP1
    cmd[40..44].copy_from_slice(&1u32.to_le_bytes()); // CNS 1: controller
    asq.write(0, &cmd).unwrap();
    fence(Ordering::SeqCst);
    b.write32(DOORBELLS, 1); // SQ 0 tail
    let mut dw3 = 0;
    wait_until("the Identify completion", Duration::from_secs(10), || {
        dw3 = acq.read_u32(12).unwrap();
        dw3 & (1 << 16) != 0 // phase tag of the first pass
    });
    fence(Ordering::SeqCst);
    b.write32(DOORBELLS + (4 << dstrd), 1); // CQ 0 head
    assert_eq!(dw3 & 0xffff, 0x1234, "command id echoed");
    assert_eq!(dw3 >> 17, 0, "Identify status (SCT/SC) {:#x}", dw3 >> 17);
    let sqhd = acq.read_u32(8).unwrap() & 0xffff;
    assert_eq!(sqhd, 1, "SQ head after one command");
    let mut id = vec![0u8; 4096];
    buf.read(0, &mut id).unwrap();
    disable(b, timeout);
    id
}

fn check_identify(id: &[u8], serial: &str, vendor: u16) {
    let vid = u16::from_le_bytes([id[0], id[1]]);
    let sn = String::from_utf8_lossy(&id[4..24]).trim().to_string();
    let mn = String::from_utf8_lossy(&id[24..64]).trim().to_string();
    eprintln!("identify: vid {vid:#06x} sn {sn:?} mn {mn:?}");
    assert_eq!(vid, vendor, "Identify VID is the PCI vendor id");
    assert_eq!(sn, serial, "Identify serial is the QEMU serial");
}

/// Gives `addr` back to the kernel's nvme driver and waits for its
/// controller to be live again.
fn rebind_nvme(pci: &PciSys, addr: PciAddr) {
    pci.bind(addr, Driver::Nvme).expect("rebind to nvme");
    wait_until(
        "the nvme controller to come back",
        Duration::from_secs(60),
        || {
            let f = pci.function(addr).unwrap();
            f.nvme_controllers.iter().any(|c| {
                std::fs::read_to_string(format!("/sys/class/nvme/{c}/state"))
                    .is_ok_and(|s| s.trim() == "live")
            })
        },
    );
}

fn run_user_space(driver: Driver) {
    let pci = PciSys::new();
    let Some((addr, serial, label)) = controller(&["NVM4K", "SMALLMDTS", "NVM512"]) else {
        panic!("no NVMe controller with a PCI address exported (NVMX_DEV_*_PCI)");
    };
    let f = pci.function(addr).unwrap();
    assert_eq!(f.driver.as_deref(), Some("nvme"), "{label} starts on nvme");
    pci.bind_checked(addr, driver, false, Path::new("/dev"))
        .unwrap_or_else(|e| panic!("bind {addr} to {driver}: {e}"));
    let result = std::panic::catch_unwind(|| {
        let f = pci.function(addr).unwrap();
        assert_eq!(f.driver.as_deref(), Some(driver.name()));
        assert!(f.nvme_controllers.is_empty(), "no kernel controller left");
        let id = match driver {
            Driver::UioPciGeneric => {
                let b = UioBacking::open(&pci, addr).unwrap_or_else(|e| panic!("uio open: {e}"));
                let id = identify_by_dma(&b, &|n| b.dma_mem(n).unwrap());
                // A region larger than one page: a hugepage when the boot
                // has free ones (--hugepages), else contiguous pages by
                // chance, else a refusal naming the missing hugepages.
                let free = hugepage::pool().free;
                match b.dma_mem(64 << 10) {
                    Ok(m) => {
                        eprintln!("uio: 64 KiB region: {} bytes at {:#x}", m.len(), m.iova());
                        let off = 15 * 4096;
                        assert_eq!(
                            b.translate(m.addr() + off, 4096),
                            Some(m.iova() + off as u64)
                        );
                    }
                    Err(e) => {
                        assert_eq!(free, 0, "{free} hugepages free, yet: {e}");
                        assert!(
                            matches!(&e, Error::Unsupported { what, .. } if what.contains("no hugepages")),
                            "{e}"
                        );
                        eprintln!("uio: 64 KiB region refused without hugepages: {e}");
                    }
                }
                id
            }
            _ => {
                let b = VfioBacking::open(&pci, addr).unwrap_or_else(|e| panic!("vfio open: {e}"));
                let id = identify_by_dma(&b, &|n| {
                    let m = b.dma_mem(n).unwrap();
                    assert!(m.iova() >= IOVA_BASE, "an IOVA, not a physical address");
                    m
                });
                let big = b.dma_mem(3 << 20).unwrap();
                eprintln!(
                    "vfio: 3 MiB region: {} bytes at iova {:#x} ({} hugepages free)",
                    big.len(),
                    big.iova(),
                    hugepage::pool().free
                );
                assert_eq!(
                    b.translate(big.addr() + (2 << 20), 4096),
                    Some(big.iova() + (2 << 20))
                );
                drop(big);
                id
            }
        };
        check_identify(&id, &serial, f.vendor);
    });
    rebind_nvme(&pci, addr);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
#[ignore = "needs the QEMU guest boot without IOMMU (uio): run by testrig/vm/guest-suite-upcie.sh"]
fn uio_identify_by_dma_then_rebind_to_nvme() {
    if !in_boot(common::UIO) {
        return;
    }
    let _g = lock();
    run_user_space(Driver::UioPciGeneric);
}

#[test]
#[ignore = "needs the QEMU guest boot with IOMMU (vfio): run by testrig/vm/guest-suite-upcie.sh"]
fn vfio_identify_by_dma_then_rebind_to_nvme() {
    if !in_boot(common::VFIO) {
        return;
    }
    let _g = lock();
    run_user_space(Driver::VfioPci);
}

#[test]
#[ignore = "needs the QEMU guest boot without IOMMU (uio): run by testrig/vm/guest-suite-upcie.sh"]
fn vfio_without_iommu_is_refused_naming_it() {
    if !in_boot(common::UIO) {
        return;
    }
    let _g = lock();
    let pci = PciSys::new();
    let (addr, _, _) = controller(&["NVM4K", "SMALLMDTS", "NVM512"]).expect("a controller");
    assert!(!pci.iommu_on());
    let e = pci.bind(addr, Driver::VfioPci).unwrap_err();
    let iommu_off =
        |e: &Error| matches!(e, Error::Unsupported { what, .. } if what.contains("IOMMU off"));
    assert!(iommu_off(&e), "bind: {e}");
    let e = VfioBacking::open(&pci, addr).unwrap_err();
    assert!(iommu_off(&e), "open: {e}");
    assert_eq!(
        pci.function(addr).unwrap().driver.as_deref(),
        Some("nvme"),
        "left alone"
    );
}

#[test]
#[ignore = "needs the QEMU guest boot with IOMMU (vfio): run by testrig/vm/guest-suite-upcie.sh"]
fn uio_without_its_module_is_refused_naming_it() {
    if !in_boot(common::VFIO) {
        return;
    }
    let pci = PciSys::new();
    assert!(
        !pci.module_loaded("uio_pci_generic"),
        "the --iommu boot loads no uio_pci_generic"
    );
    let _g = lock();
    let (addr, _, _) = controller(&["NVM4K", "SMALLMDTS", "NVM512"]).expect("a controller");
    let e = pci.bind(addr, Driver::UioPciGeneric).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { what, .. } if what.contains("module uio_pci_generic not loaded")),
        "{e}"
    );
    assert_eq!(
        pci.function(addr).unwrap().driver.as_deref(),
        Some("nvme"),
        "left alone"
    );
}

#[test]
#[ignore = "needs a QEMU guest boot of the user-space driver suite: run by testrig/vm/guest-suite-upcie.sh"]
fn a_controller_whose_namespace_is_in_use_is_refused() {
    if !in_boot(common::UPCIE) {
        return;
    }
    let Some(bdev) = common::env_var(common::UPCIE, "NVMX_DEV_NVM512_BDEV") else {
        return;
    };
    let _g = lock();
    let pci = PciSys::new();
    let addr = PciAddr::parse(&std::env::var("NVMX_DEV_NVM512_PCI").unwrap()).unwrap();
    let run = |cmd: &str, args: &[&str]| {
        let st = std::process::Command::new(cmd).args(args).status();
        assert!(st.is_ok_and(|s| s.success()), "{cmd} {args:?}");
    };
    run("mkswap", &["-q", &bdev]);
    run("swapon", &[&bdev]);
    let target = if iommu() {
        Driver::VfioPci
    } else {
        Driver::UioPciGeneric
    };
    let refused = pci.bind_checked(addr, target, false, Path::new("/dev"));
    run("swapoff", &[&bdev]);
    let e = refused.unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
    assert!(e.to_string().contains("swap"), "{e}");
    assert_eq!(
        pci.function(addr).unwrap().driver.as_deref(),
        Some("nvme"),
        "left alone"
    );
}

/// Controller resets while queues on several threads move data through
/// the user-space driver (uio in the boot without IOMMU, vfio in the
/// other): every read that succeeds returns what was written, a command
/// caught by a reset fails as lost (never with data from elsewhere), the
/// queues come back, and a final pass reads every block back.
#[test]
#[ignore = "needs a QEMU guest boot of the user-space driver suite: run by testrig/vm/guest-suite-upcie.sh"]
fn reset_during_io_through_the_driver() {
    if !in_boot(common::UPCIE) {
        return;
    }
    let _g = lock();
    let pci = PciSys::new();
    let (addr, _, label) = controller(&["NVM4K", "NVM512"]).expect("a controller");
    let (driver, be) = if iommu() {
        (Driver::VfioPci, "vfio")
    } else {
        (Driver::UioPciGeneric, "uio")
    };
    pci.bind_checked(addr, driver, false, Path::new("/dev"))
        .unwrap_or_else(|e| panic!("bind {addr} to {driver}: {e}"));
    let result = std::panic::catch_unwind(|| {
        let opts = nvmx::Options {
            be: Some(be.into()),
            command_timeout: Duration::from_secs(10),
            ..nvmx::Options::default()
        };
        let dev = nvmx::Device::open(&addr.to_string(), &opts)
            .unwrap_or_else(|e| panic!("open {addr} ({label}) --be {be}: {e}"));
        let bs = dev.geometry().unwrap().lba_nbytes as usize;
        let nlb = (4096 / bs - 1) as u16;
        let blocks = 4096 / bs as u64;
        let stamp = |t: u64, i: u64, round: u64| {
            let mut v = vec![0u8; 4096];
            for (k, c) in v.chunks_exact_mut(8).enumerate() {
                c.copy_from_slice(&(t << 48 | i << 32 | round << 16 | k as u64).to_le_bytes());
            }
            v
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (ok, lost) = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2u64)
                .map(|t| {
                    let dev = dev.clone();
                    let stop = &stop;
                    s.spawn(move || {
                        let mut q = dev.queue(8).unwrap();
                        let (mut ok, mut lost) = (0u64, 0u64);
                        let mut round = 0u64;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            round += 1;
                            for i in 0..8u64 {
                                let slba = (t * 8 + i) * blocks;
                                let mut b = dev.alloc(4096).unwrap();
                                b.copy_from_slice(&stamp(t, i, round));
                                if q.write(slba, nlb, b, None, i).is_err() {
                                    let _ = q.poke(0);
                                }
                            }
                            let _ = q.drain();
                            let mut written = [false; 8];
                            while let Some(c) = q.pop() {
                                match c.result {
                                    Ok(_) => written[c.tag as usize] = true,
                                    Err(e) => {
                                        lost += 1;
                                        eprintln!("write lost in a reset: {e}");
                                    }
                                }
                            }
                            for i in 0..8u64 {
                                let slba = (t * 8 + i) * blocks;
                                let _ = q.read(slba, nlb, dev.alloc(4096).unwrap(), None, i);
                            }
                            let _ = q.drain();
                            while let Some(c) = q.pop() {
                                if c.result.is_ok() && written[c.tag as usize] {
                                    let got = c.data.unwrap();
                                    assert_eq!(
                                        &got[..],
                                        &stamp(t, c.tag, round)[..],
                                        "thread {t} block {} round {round}",
                                        c.tag
                                    );
                                    ok += 1;
                                }
                            }
                        }
                        (ok, lost)
                    })
                })
                .collect();
            for _ in 0..4 {
                std::thread::sleep(Duration::from_millis(300));
                dev.controller_reset()
                    .unwrap_or_else(|e| panic!("controller reset of {addr}: {e}"));
            }
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            workers
                .into_iter()
                .map(|w| w.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        eprintln!("{be} on {addr}: {ok} reads verified, {lost} commands lost in 4 resets");
        assert!(ok > 0, "no read completed");
        // After the resets: everything works again.
        let data = stamp(9, 9, 9);
        dev.write(0, nlb, &data, None).unwrap();
        let mut back = vec![0u8; 4096];
        dev.read(0, nlb, &mut back, None).unwrap();
        assert_eq!(back, data);
    });
    rebind_nvme(&pci, addr);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
