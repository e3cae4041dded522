//! All the `unsafe` of the Linux user-space driver backings, in one place.
//!
//! Three things need it:
//! - **Mappings** ([`Mapping`]): BAR0 mapped from sysfs `resource0` (uio)
//!   or from the vfio device file at the offset `VFIO_DEVICE_GET_REGION_INFO`
//!   reports, and anonymous memory (2 MiB hugepages or 4 KiB pages) for
//!   DMA. Registers are read and written with volatile 32-bit accesses
//!   after a bounds and alignment check; DMA memory is copied in and out
//!   with volatile byte accesses, because the controller may write it at
//!   any time.
//! - **vfio ioctls**: the `#[repr(C)]` argument structures of
//!   `<linux/vfio.h>` and their request numbers, computed with the `_IOC`
//!   helpers of [`nvmx_os::linux::nvme::ioctl`] (vfio's are all `_IO`,
//!   type `;`, numbers from 100); the tests pin them to the kernel values.
//! - **File descriptors** returned by an ioctl (the vfio device), which
//!   become owned [`File`]s here.
//!
//! Everything else (sysfs, pagemap, the IOVA allocator, the backings) is
//! safe code over this module.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::ptr::NonNull;

use nvmx_os::linux::nvme::ioctl::io as io_nr;

/// Size of the pages the driver hands out and translates (4 KiB).
pub const PAGE_SIZE: usize = 4096;
/// Size of a 2 MiB hugepage.
pub const HUGEPAGE_SIZE: usize = 2 << 20;

/// `MAP_HUGE_2MB`: log2(2 MiB) in the mmap flags' huge-page-size field.
const MAP_HUGE_2MB: libc::c_int = 21 << 26;

/// A memory mapping owned by this process: BAR0 of a device, or anonymous
/// memory for DMA. Unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    huge: bool,
}

// SAFETY: a Mapping is a region of memory (or device registers) owned
// exclusively by this value; every access through it is a volatile access
// bounded by `len`, which is sound from any thread. Concurrent register
// writes are a protocol matter for the driver, not a memory-safety one.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared references only perform bounded volatile
// accesses.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `file` at `offset`, shared and read-write: a BAR
    /// through sysfs `resource0` or through a vfio device file.
    pub fn map_file(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot map an empty region",
            ));
        }
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset out of range"))?;
        // SAFETY: a fresh mapping at an address the kernel chooses cannot
        // alias any Rust object; the descriptor is valid for the call.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                off,
            )
        };
        Self::from_mmap(p, len, false)
    }

    /// Maps `len` bytes of zeroed anonymous memory, faulted in at once:
    /// backed by 2 MiB hugepages when `huge` (then `len` must be a multiple
    /// of 2 MiB, and the call fails with `ENOMEM` when the system has no
    /// free hugepage), by 4 KiB pages otherwise.
    pub fn map_anon(len: usize, huge: bool) -> io::Result<Mapping> {
        let unit = if huge { HUGEPAGE_SIZE } else { PAGE_SIZE };
        if len == 0 || !len.is_multiple_of(unit) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("DMA memory length {len} is not a positive multiple of {unit}"),
            ));
        }
        let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE;
        if huge {
            flags |= libc::MAP_HUGETLB | MAP_HUGE_2MB;
        }
        // SAFETY: an anonymous mapping at an address the kernel chooses
        // cannot alias any Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        let m = Self::from_mmap(p, len, huge)?;
        // Write every page so that each has its own frame (not the shared
        // zero page) before anyone asks for its physical address.
        for off in (0..len).step_by(PAGE_SIZE) {
            m.write_u8(off, 0);
        }
        Ok(m)
    }

    fn from_mmap(p: *mut libc::c_void, len: usize, huge: bool) -> io::Result<Mapping> {
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        Ok(Mapping { ptr, len, huge })
    }

    /// Locks the pages in memory (`mlock`): they stay resident and keep
    /// their frames while mapped, so that physical addresses stay valid
    /// (the kernel may still migrate them for compaction; hugepages are
    /// never migrated this way, which is why uio prefers them).
    pub fn lock(&self) -> io::Result<()> {
        // SAFETY: mlock only changes residency of pages this mapping owns.
        let rc = unsafe { libc::mlock(self.ptr.as_ptr().cast(), self.len) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Start address in this process.
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Start of the mapping.
    pub fn as_non_null(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether hugepages back the mapping.
    pub fn is_huge(&self) -> bool {
        self.huge
    }

    fn in_bounds(&self, off: usize, n: usize) -> bool {
        off.checked_add(n).is_some_and(|end| end <= self.len)
    }

    /// Volatile 32-bit read at byte offset `off`; `None` when `off` is
    /// unaligned or out of bounds.
    pub fn read32(&self, off: usize) -> Option<u32> {
        if !off.is_multiple_of(4) || !self.in_bounds(off, 4) {
            return None;
        }
        // SAFETY: off + 4 <= len and off is 4-aligned (mappings are page
        // aligned), so the access lies inside this live mapping.
        Some(unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(off).cast::<u32>()) })
    }

    /// Volatile 32-bit write at byte offset `off`; false (nothing written)
    /// when `off` is unaligned or out of bounds.
    pub fn write32(&self, off: usize, value: u32) -> bool {
        if !off.is_multiple_of(4) || !self.in_bounds(off, 4) {
            return false;
        }
        // SAFETY: as in read32: aligned and inside this live mapping.
        unsafe { std::ptr::write_volatile(self.ptr.as_ptr().add(off).cast::<u32>(), value) };
        true
    }

    fn write_u8(&self, off: usize, v: u8) {
        if self.in_bounds(off, 1) {
            // SAFETY: off < len: inside this live mapping.
            unsafe { std::ptr::write_volatile(self.ptr.as_ptr().add(off), v) };
        }
    }

    /// Zeroes `len` bytes at `off`; false (nothing written) when out of
    /// bounds.
    pub fn zero(&self, off: usize, len: usize) -> bool {
        if !self.in_bounds(off, len) {
            return false;
        }
        // SAFETY: off + len <= self.len: inside this live mapping, which
        // only raw pointers reach.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(off), 0, len) };
        true
    }

    /// Copies `buf.len()` bytes out of the mapping at `off` with volatile
    /// reads; false (nothing copied) when out of bounds.
    pub fn read_bytes(&self, off: usize, buf: &mut [u8]) -> bool {
        if !self.in_bounds(off, buf.len()) {
            return false;
        }
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: off + i < off + buf.len() <= len: inside the mapping.
            *b = unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(off + i)) };
        }
        true
    }

    /// Copies `data` into the mapping at `off` with volatile writes; false
    /// (nothing copied) when out of bounds.
    pub fn write_bytes(&self, off: usize, data: &[u8]) -> bool {
        if !self.in_bounds(off, data.len()) {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            // SAFETY: off + i < off + data.len() <= len: inside the mapping.
            unsafe { std::ptr::write_volatile(self.ptr.as_ptr().add(off + i), *b) };
        }
        true
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe a mapping this value created and owns;
        // no reference into it outlives the value (accessors copy).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

// ----------------------------------------------------------------- vfio ABI

/// The vfio ioctl type character (`VFIO_TYPE`).
const VFIO_TYPE: u8 = b';';
/// The first vfio ioctl number (`VFIO_BASE`).
const VFIO_BASE: u8 = 100;

/// `VFIO_GET_API_VERSION`: the container's API version.
pub const VFIO_GET_API_VERSION: u32 = io_nr(VFIO_TYPE, VFIO_BASE);
/// `VFIO_CHECK_EXTENSION`: whether an IOMMU type is supported.
pub const VFIO_CHECK_EXTENSION: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 1);
/// `VFIO_SET_IOMMU`: selects the container's IOMMU model.
pub const VFIO_SET_IOMMU: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 2);
/// `VFIO_GROUP_GET_STATUS`: whether a group is viable.
pub const VFIO_GROUP_GET_STATUS: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 3);
/// `VFIO_GROUP_SET_CONTAINER`: adds a group to a container.
pub const VFIO_GROUP_SET_CONTAINER: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 4);
/// `VFIO_GROUP_GET_DEVICE_FD`: opens a device of the group by name.
pub const VFIO_GROUP_GET_DEVICE_FD: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 6);
/// `VFIO_DEVICE_GET_INFO`: number of regions and interrupts.
pub const VFIO_DEVICE_GET_INFO: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 7);
/// `VFIO_DEVICE_GET_REGION_INFO`: size and file offset of a region.
pub const VFIO_DEVICE_GET_REGION_INFO: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 8);
/// `VFIO_IOMMU_MAP_DMA`: maps process memory at an IOVA.
pub const VFIO_IOMMU_MAP_DMA: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 13);
/// `VFIO_IOMMU_UNMAP_DMA`: removes a mapping.
pub const VFIO_IOMMU_UNMAP_DMA: u32 = io_nr(VFIO_TYPE, VFIO_BASE + 14);

/// `VFIO_API_VERSION`: the only version there is.
pub const VFIO_API_VERSION: i32 = 0;
/// `VFIO_TYPE1v2_IOMMU`: the type-1 IOMMU model, version 2.
pub const VFIO_TYPE1V2_IOMMU: u64 = 3;
/// Group status flag: every device of the group is bound to vfio (or none).
pub const VFIO_GROUP_FLAGS_VIABLE: u32 = 1;
/// Region flag: the region may be mmapped.
pub const VFIO_REGION_INFO_FLAG_MMAP: u32 = 4;
/// DMA mapping flag: the device may read the memory.
pub const VFIO_DMA_MAP_FLAG_READ: u32 = 1;
/// DMA mapping flag: the device may write the memory.
pub const VFIO_DMA_MAP_FLAG_WRITE: u32 = 2;
/// Region index of BAR0 on a vfio-pci device.
pub const VFIO_PCI_BAR0_REGION_INDEX: u32 = 0;
/// Region index of PCI configuration space on a vfio-pci device.
pub const VFIO_PCI_CONFIG_REGION_INDEX: u32 = 7;

/// `struct vfio_group_status` (8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfioGroupStatus {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_GROUP_FLAGS_*`.
    pub flags: u32,
}

/// `struct vfio_device_info` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfioDeviceInfo {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_DEVICE_FLAGS_*` (bit 1: PCI).
    pub flags: u32,
    /// Number of regions.
    pub num_regions: u32,
    /// Number of interrupt types.
    pub num_irqs: u32,
    /// Offset of the first capability, if any.
    pub cap_offset: u32,
    /// Padding.
    pub pad: u32,
}

/// `struct vfio_region_info` (32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfioRegionInfo {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_REGION_INFO_FLAG_*`.
    pub flags: u32,
    /// The region asked for.
    pub index: u32,
    /// Offset of the first capability, if any.
    pub cap_offset: u32,
    /// Region size in bytes.
    pub size: u64,
    /// Offset of the region in the device file.
    pub offset: u64,
}

/// `struct vfio_iommu_type1_dma_map` (32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfioDmaMap {
    /// Size of this structure.
    pub argsz: u32,
    /// `VFIO_DMA_MAP_FLAG_*`.
    pub flags: u32,
    /// Process address of the memory.
    pub vaddr: u64,
    /// Device address to map it at.
    pub iova: u64,
    /// Length in bytes.
    pub size: u64,
}

/// `struct vfio_iommu_type1_dma_unmap` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VfioDmaUnmap {
    /// Size of this structure.
    pub argsz: u32,
    /// Flags (none used).
    pub flags: u32,
    /// Device address of the mapping.
    pub iova: u64,
    /// Length in bytes.
    pub size: u64,
}

const _: () = assert!(std::mem::size_of::<VfioGroupStatus>() == 8);
const _: () = assert!(std::mem::size_of::<VfioDeviceInfo>() == 24);
const _: () = assert!(std::mem::size_of::<VfioRegionInfo>() == 32);
const _: () = assert!(std::mem::size_of::<VfioDmaMap>() == 32);
const _: () = assert!(std::mem::size_of::<VfioDmaUnmap>() == 24);

mod sealed {
    pub trait Sealed {}
}

/// The vfio argument structures: `#[repr(C)]`, plain data, starting with
/// `argsz`, so that the kernel reads and writes them in place.
pub trait VfioArg: sealed::Sealed + Sized {
    /// A zeroed structure with `argsz` set.
    fn new() -> Self;
}

macro_rules! vfio_arg {
    ($t:ty) => {
        impl sealed::Sealed for $t {}
        impl VfioArg for $t {
            fn new() -> Self {
                Self {
                    argsz: std::mem::size_of::<$t>() as u32,
                    ..Default::default()
                }
            }
        }
    };
}
vfio_arg!(VfioGroupStatus);
vfio_arg!(VfioDeviceInfo);
vfio_arg!(VfioRegionInfo);
vfio_arg!(VfioDmaUnmap);

/// An ioctl whose argument is an integer (or none).
pub fn ioctl_int(file: &File, req: u32, arg: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: the vfio requests used with this function take an integer
    // argument (or ignore it); no memory of ours is passed.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), req as _, arg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// An ioctl whose argument is one of the vfio structures, read and
/// written by the kernel in place.
pub fn ioctl_arg<T: VfioArg>(file: &File, req: u32, arg: &mut T) -> io::Result<i32> {
    // SAFETY: `arg` is a live, exclusively borrowed #[repr(C)] structure
    // whose argsz tells the kernel its size; the kernel accesses no more.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), req as _, arg as *mut T) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// `VFIO_GROUP_SET_CONTAINER`: the argument is a pointer to the
/// container's descriptor.
pub fn vfio_group_set_container(group: &File, container: &File) -> io::Result<()> {
    let fd: libc::c_int = container.as_raw_fd();
    // SAFETY: the kernel reads one int through the pointer, which points
    // to a live local.
    let rc = unsafe { libc::ioctl(group.as_raw_fd(), VFIO_GROUP_SET_CONTAINER as _, &fd) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `VFIO_GROUP_GET_DEVICE_FD`: opens the device `name` (its PCI address)
/// of the group; the descriptor becomes an owned [`File`].
pub fn vfio_group_get_device_fd(group: &File, name: &CStr) -> io::Result<File> {
    // SAFETY: the kernel reads a NUL-terminated string from a live CStr.
    let fd = unsafe {
        libc::ioctl(
            group.as_raw_fd(),
            VFIO_GROUP_GET_DEVICE_FD as _,
            name.as_ptr(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the ioctl returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `VFIO_IOMMU_MAP_DMA` of the whole of `mem` at `iova`, readable and
/// writable by the device. The caller unmaps it (with
/// [`vfio_unmap_dma`]) before `mem` is dropped.
pub fn vfio_map_dma(container: &File, mem: &Mapping, iova: u64) -> io::Result<()> {
    let mut arg = VfioDmaMap {
        argsz: std::mem::size_of::<VfioDmaMap>() as u32,
        flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        vaddr: mem.addr() as u64,
        iova,
        size: mem.len() as u64,
    };
    // SAFETY: `arg` is a live #[repr(C)] vfio_iommu_type1_dma_map; the
    // memory it names is a live mapping owned by the caller, which the
    // kernel pins for as long as the IOMMU mapping exists.
    let rc = unsafe {
        libc::ioctl(
            container.as_raw_fd(),
            VFIO_IOMMU_MAP_DMA as _,
            &mut arg as *mut VfioDmaMap,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `VFIO_IOMMU_UNMAP_DMA` of `size` bytes at `iova`.
pub fn vfio_unmap_dma(container: &File, iova: u64, size: u64) -> io::Result<()> {
    let mut arg = VfioDmaUnmap::new();
    arg.iova = iova;
    arg.size = size;
    ioctl_arg(container, VFIO_IOMMU_UNMAP_DMA, &mut arg).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "x86"))]
    fn vfio_request_numbers_are_the_kernels() {
        assert_eq!(VFIO_GET_API_VERSION, 0x3b64);
        assert_eq!(VFIO_CHECK_EXTENSION, 0x3b65);
        assert_eq!(VFIO_SET_IOMMU, 0x3b66);
        assert_eq!(VFIO_GROUP_GET_STATUS, 0x3b67);
        assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3b68);
        assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
        assert_eq!(VFIO_DEVICE_GET_INFO, 0x3b6b);
        assert_eq!(VFIO_DEVICE_GET_REGION_INFO, 0x3b6c);
        assert_eq!(VFIO_IOMMU_MAP_DMA, 0x3b71);
        assert_eq!(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
    }

    #[test]
    fn vfio_structs_have_the_kernels_layout() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<VfioRegionInfo>(), 32);
        assert_eq!(offset_of!(VfioRegionInfo, size), 16);
        assert_eq!(offset_of!(VfioRegionInfo, offset), 24);
        assert_eq!(offset_of!(VfioDmaMap, vaddr), 8);
        assert_eq!(offset_of!(VfioDmaMap, iova), 16);
        assert_eq!(offset_of!(VfioDmaMap, size), 24);
        assert_eq!(offset_of!(VfioDmaUnmap, iova), 8);
        assert_eq!(VfioRegionInfo::new().argsz, 32);
        assert_eq!(VfioGroupStatus::new().argsz, 8);
    }

    #[test]
    fn anonymous_memory_is_zeroed_and_bounds_checked() {
        let m = Mapping::map_anon(2 * PAGE_SIZE, false).unwrap();
        assert_eq!(m.read32(0), Some(0));
        assert!(m.write32(PAGE_SIZE, 0xdead_beef));
        assert_eq!(m.read32(PAGE_SIZE), Some(0xdead_beef));
        assert_eq!(m.read32(2 * PAGE_SIZE), None, "past the end");
        assert_eq!(m.read32(2), None, "unaligned");
        assert!(!m.write32(usize::MAX - 1, 1), "overflowing offset");
        let mut b = [0u8; 4];
        assert!(m.read_bytes(PAGE_SIZE, &mut b));
        assert_eq!(u32::from_ne_bytes(b), 0xdead_beef);
        assert!(!m.read_bytes(2 * PAGE_SIZE - 2, &mut b));
        assert!(m.write_bytes(8, b"nvmx"));
        assert!(!m.write_bytes(2 * PAGE_SIZE, b"x"));
        assert!(
            Mapping::map_anon(100, false).is_err(),
            "not a page multiple"
        );
        assert!(
            Mapping::map_anon(PAGE_SIZE, true).is_err(),
            "not a hugepage multiple"
        );
    }
}
