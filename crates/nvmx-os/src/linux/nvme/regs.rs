//! Controller registers read from the PCI function's BAR0 through sysfs.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nvmx_spec::regs::ControllerRegisters;
use zerocopy::FromBytes;

use nvmx_core::error::{Error, Result};

/// Bytes of the register block read: CAP up to and including CRTO.
const REGS_NBYTES: usize = std::mem::size_of::<ControllerRegisters>();

/// The `resource0` file of a controller's or PCI function's sysfs
/// directory (`/sys/class/nvme/nvmeX` has it under `device/`).
fn bar0_path(dir: &Path) -> PathBuf {
    let own = dir.join("resource0");
    if own.exists() {
        own
    } else {
        dir.join("device").join("resource0")
    }
}

fn with_hint(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied {
        io::Error::new(
            e.kind(),
            format!("{e}; mapping BAR0 needs root (CAP_SYS_RAWIO) and a kernel without lockdown"),
        )
    } else if e.raw_os_error() == Some(libc::EINVAL) {
        io::Error::new(
            e.kind(),
            format!(
                "{e}; the kernel refuses to map a BAR its driver has claimed \
                 (CONFIG_IO_STRICT_DEVMEM): boot with iomem=relaxed or unbind the driver"
            ),
        )
    } else {
        e
    }
}

/// Reads the controller registers (offsets 0x00 to 0x6f) of an NVMe PCI
/// function from its BAR0, given its sysfs directory: a controller
/// (`/sys/class/nvme/nvme0`) or a PCI function
/// (`/sys/bus/pci/devices/0000:01:00.0`).
///
/// BAR0 is memory-mapped read-only and read one aligned 32-bit word at a
/// time, as register reads must be (sysfs resource files of memory BARs
/// only support `mmap`, not `read`). Reading registers has no side effect,
/// so this is harmless while the kernel driver owns the controller, but
/// kernels built with `CONFIG_IO_STRICT_DEVMEM` (most distributions')
/// refuse to map a BAR a driver has claimed unless booted with
/// `iomem=relaxed`. It needs root and fails under kernel lockdown. The
/// errors say which.
pub fn read_registers(dir: &Path) -> Result<ControllerRegisters> {
    let path = bar0_path(dir);
    let shown = path.display().to_string();
    let file = File::open(&path).map_err(|e| Error::io("open", &shown, with_hint(e)))?;
    // sysfs reports a resource file's size as the BAR's size; a BAR (or a
    // file standing in for one) too small for the registers would fault.
    let size = file
        .metadata()
        .map_err(|e| Error::io("stat", &shown, e))?
        .len();
    if size < REGS_NBYTES as u64 {
        return Err(Error::bad_reply(
            "BAR0",
            format!("{shown} is {size} bytes, smaller than the {REGS_NBYTES}-byte register block"),
        ));
    }
    let words = map_and_read(&file).map_err(|e| Error::io("mmap", &shown, with_hint(e)))?;
    let mut bytes = [0u8; REGS_NBYTES];
    for (dst, w) in bytes.chunks_exact_mut(4).zip(words) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    ControllerRegisters::read_from_bytes(&bytes[..])
        .map_err(|_| Error::bad_reply("BAR0", "register block has the wrong size"))
}

/// Maps the first `REGS_NBYTES` of `file` and reads them as 32-bit words.
fn map_and_read(file: &File) -> io::Result<[u32; REGS_NBYTES / 4]> {
    // SAFETY: a fresh shared read-only mapping chosen by the kernel
    // (address hint null) over an open file; it aliases no Rust memory.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            REGS_NBYTES,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let base = ptr.cast::<u32>();
    let mut words = [0u32; REGS_NBYTES / 4];
    for (i, w) in words.iter_mut().enumerate() {
        // SAFETY: `base` is page aligned and the mapping spans REGS_NBYTES
        // bytes, all backed by the file (its size was checked), so word `i`
        // is in bounds and aligned; the read is volatile because device
        // registers change under us.
        *w = u32::from_le(unsafe { std::ptr::read_volatile(base.add(i)) });
    }
    // SAFETY: `ptr` and the length are exactly those of the mapping made
    // above, and nothing refers to it any more.
    unsafe { libc::munmap(ptr, REGS_NBYTES) };
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_read_from_a_resource_file() {
        let dir = std::env::temp_dir().join(format!("nvmx-regs-{}", std::process::id()));
        let dev = dir.join("device");
        std::fs::create_dir_all(&dev).unwrap();
        let mut bar = vec![0u8; 4096];
        let cap: u64 = 0x7ff | 1 << 16 | 15 << 24 | 1 << 37;
        bar[0..8].copy_from_slice(&cap.to_le_bytes());
        bar[8..12].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        bar[0x1c..0x20].copy_from_slice(&1u32.to_le_bytes());
        std::fs::write(dev.join("resource0"), &bar).unwrap();
        let r = read_registers(&dir).unwrap();
        assert_eq!(r.cap.mqes(), 0x7ff);
        assert_eq!(r.cap.timeout_ms(), 7500);
        assert_eq!(r.vs.mjr(), 2);
        std::fs::write(dev.join("resource0"), [0u8; 16]).unwrap();
        let e = read_registers(&dir).unwrap_err().to_string();
        assert!(e.contains("smaller than"), "{e}");
        let e = read_registers(&dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("resource0"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
