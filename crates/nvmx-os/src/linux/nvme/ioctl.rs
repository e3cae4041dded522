//! The Linux NVMe driver's ioctl ABI (`<linux/nvme_ioctl.h>`): the
//! passthrough command structures and the request numbers.
//!
//! Request numbers are computed here the way the kernel's `_IOC` macros
//! compute them (direction, size, type and number packed into 32 bits),
//! so they follow the structure sizes instead of being copied as magic
//! values; the tests pin them to the kernel's values.

use std::mem::size_of;

// The `_IOC` encoding: most architectures use the generic one (2 direction
// bits at 30, 14 size bits at 16); powerpc, mips and sparc use 3 direction
// bits at 29 and 13 size bits, with different direction values.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod enc {
    pub const NONE: u32 = 1;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 4;
    pub const SIZEBITS: u32 = 13;
}
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod enc {
    pub const NONE: u32 = 0;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 1;
    pub const SIZEBITS: u32 = 14;
}

const SIZESHIFT: u32 = 16;
const DIRSHIFT: u32 = SIZESHIFT + enc::SIZEBITS;

/// `_IOC(dir, type, nr, size)`: packs a request number. Only meant for
/// constants: a size that does not fit the size field stops the build.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(
        size < (1 << enc::SIZEBITS),
        "ioctl argument too large for the size field"
    );
    (dir << DIRSHIFT) | ((size as u32) << SIZESHIFT) | ((ty as u32) << 8) | nr as u32
}

/// `_IO(type, nr)`: a request without an argument structure.
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(enc::NONE, ty, nr, 0)
}

/// `_IOR(type, nr, T)`: the kernel writes a `size`-byte argument.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(enc::READ, ty, nr, size)
}

/// `_IOW(type, nr, T)`: the kernel reads a `size`-byte argument.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(enc::WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, T)`: the kernel reads and writes the argument.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(enc::READ | enc::WRITE, ty, nr, size)
}

/// The kernel's `struct nvme_passthru_cmd` (72 bytes): one admin or I/O
/// command with a 32-bit result. Used by `NVME_IOCTL_ADMIN_CMD` and
/// `NVME_IOCTL_IO_CMD`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NvmePassthruCmd {
    /// Opcode.
    pub opcode: u8,
    /// Must be zero: the kernel picks PRP or SGL itself.
    pub flags: u8,
    /// Reserved.
    pub rsvd1: u16,
    /// Namespace identifier.
    pub nsid: u32,
    /// Command dword 2.
    pub cdw2: u32,
    /// Command dword 3.
    pub cdw3: u32,
    /// User address of the metadata buffer.
    pub metadata: u64,
    /// User address of the data buffer.
    pub addr: u64,
    /// Metadata buffer length in bytes.
    pub metadata_len: u32,
    /// Data buffer length in bytes.
    pub data_len: u32,
    /// Command dword 10.
    pub cdw10: u32,
    /// Command dword 11.
    pub cdw11: u32,
    /// Command dword 12.
    pub cdw12: u32,
    /// Command dword 13.
    pub cdw13: u32,
    /// Command dword 14.
    pub cdw14: u32,
    /// Command dword 15.
    pub cdw15: u32,
    /// Timeout in milliseconds; 0 uses the driver's default.
    pub timeout_ms: u32,
    /// Completion dword 0, written by the kernel.
    pub result: u32,
}

/// The kernel's `struct nvme_passthru_cmd64` (80 bytes): as
/// [`NvmePassthruCmd`] with a 64-bit result (completion dwords 0 and 1).
/// Used by `NVME_IOCTL_ADMIN64_CMD`, `NVME_IOCTL_IO64_CMD` and, with
/// `addr` pointing at an `iovec` array and `data_len` holding their count
/// (the kernel's `vec_cnt`), by `NVME_IOCTL_IO64_CMD_VEC`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NvmePassthruCmd64 {
    /// Opcode.
    pub opcode: u8,
    /// Must be zero: the kernel picks PRP or SGL itself.
    pub flags: u8,
    /// Reserved.
    pub rsvd1: u16,
    /// Namespace identifier.
    pub nsid: u32,
    /// Command dword 2.
    pub cdw2: u32,
    /// Command dword 3.
    pub cdw3: u32,
    /// User address of the metadata buffer.
    pub metadata: u64,
    /// User address of the data buffer, or of an `iovec` array.
    pub addr: u64,
    /// Metadata buffer length in bytes.
    pub metadata_len: u32,
    /// Data buffer length in bytes, or the number of `iovec`s.
    pub data_len: u32,
    /// Command dword 10.
    pub cdw10: u32,
    /// Command dword 11.
    pub cdw11: u32,
    /// Command dword 12.
    pub cdw12: u32,
    /// Command dword 13.
    pub cdw13: u32,
    /// Command dword 14.
    pub cdw14: u32,
    /// Command dword 15.
    pub cdw15: u32,
    /// Timeout in milliseconds; 0 uses the driver's default.
    pub timeout_ms: u32,
    /// Reserved.
    pub rsvd2: u32,
    /// Completion dwords 0 (low half) and 1 (high half), written by the
    /// kernel.
    pub result: u64,
}

/// The kernel's `struct nvme_user_io` (48 bytes), the argument of the
/// legacy `NVME_IOCTL_SUBMIT_IO`. Defined for its request number only.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NvmeUserIo {
    /// Opcode (read or write only).
    pub opcode: u8,
    /// Flags.
    pub flags: u8,
    /// Control (CDW12 bits 31:16).
    pub control: u16,
    /// Number of blocks, zero-based.
    pub nblocks: u16,
    /// Reserved.
    pub rsvd: u16,
    /// Metadata address.
    pub metadata: u64,
    /// Data address.
    pub addr: u64,
    /// Starting LBA.
    pub slba: u64,
    /// Dataset management hints.
    pub dsmgmt: u32,
    /// Reference tag.
    pub reftag: u32,
    /// Application tag.
    pub apptag: u16,
    /// Application tag mask.
    pub appmask: u16,
}

const _: () = assert!(size_of::<NvmePassthruCmd>() == 72);
const _: () = assert!(size_of::<NvmePassthruCmd64>() == 80);
const _: () = assert!(size_of::<NvmeUserIo>() == 48);

/// The ioctl type letter of the NVMe driver.
const N: u8 = b'N';

/// `NVME_IOCTL_ID`: returns the namespace identifier of the opened
/// namespace node; fails (ENOTTY) on a controller node.
pub const NVME_IOCTL_ID: u32 = io(N, 0x40);
/// `NVME_IOCTL_ADMIN_CMD`: an admin command, 32-bit result.
pub const NVME_IOCTL_ADMIN_CMD: u32 = iowr(N, 0x41, size_of::<NvmePassthruCmd>());
/// `NVME_IOCTL_SUBMIT_IO`: the legacy read/write ioctl.
pub const NVME_IOCTL_SUBMIT_IO: u32 = iow(N, 0x42, size_of::<NvmeUserIo>());
/// `NVME_IOCTL_IO_CMD`: an I/O command, 32-bit result.
pub const NVME_IOCTL_IO_CMD: u32 = iowr(N, 0x43, size_of::<NvmePassthruCmd>());
/// `NVME_IOCTL_RESET`: resets the controller (controller node only).
pub const NVME_IOCTL_RESET: u32 = io(N, 0x44);
/// `NVME_IOCTL_SUBSYS_RESET`: resets the NVM subsystem (controller node only).
pub const NVME_IOCTL_SUBSYS_RESET: u32 = io(N, 0x45);
/// `NVME_IOCTL_RESCAN`: rescans the namespaces (controller node only).
pub const NVME_IOCTL_RESCAN: u32 = io(N, 0x46);
/// `NVME_IOCTL_ADMIN64_CMD`: an admin command, 64-bit result.
pub const NVME_IOCTL_ADMIN64_CMD: u32 = iowr(N, 0x47, size_of::<NvmePassthruCmd64>());
/// `NVME_IOCTL_IO64_CMD`: an I/O command, 64-bit result.
pub const NVME_IOCTL_IO64_CMD: u32 = iowr(N, 0x48, size_of::<NvmePassthruCmd64>());
/// `NVME_IOCTL_IO64_CMD_VEC`: an I/O command whose data is an `iovec` array.
pub const NVME_IOCTL_IO64_CMD_VEC: u32 = iowr(N, 0x49, size_of::<NvmePassthruCmd64>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn passthru_cmd_layout_matches_the_kernel_header() {
        assert_eq!(size_of::<NvmePassthruCmd>(), 72);
        assert_eq!(offset_of!(NvmePassthruCmd, opcode), 0);
        assert_eq!(offset_of!(NvmePassthruCmd, flags), 1);
        assert_eq!(offset_of!(NvmePassthruCmd, nsid), 4);
        assert_eq!(offset_of!(NvmePassthruCmd, cdw2), 8);
        assert_eq!(offset_of!(NvmePassthruCmd, cdw3), 12);
        assert_eq!(offset_of!(NvmePassthruCmd, metadata), 16);
        assert_eq!(offset_of!(NvmePassthruCmd, addr), 24);
        assert_eq!(offset_of!(NvmePassthruCmd, metadata_len), 32);
        assert_eq!(offset_of!(NvmePassthruCmd, data_len), 36);
        assert_eq!(offset_of!(NvmePassthruCmd, cdw10), 40);
        assert_eq!(offset_of!(NvmePassthruCmd, cdw15), 60);
        assert_eq!(offset_of!(NvmePassthruCmd, timeout_ms), 64);
        assert_eq!(offset_of!(NvmePassthruCmd, result), 68);
    }

    #[test]
    fn passthru_cmd64_layout_matches_the_kernel_header() {
        assert_eq!(size_of::<NvmePassthruCmd64>(), 80);
        assert_eq!(offset_of!(NvmePassthruCmd64, metadata), 16);
        assert_eq!(offset_of!(NvmePassthruCmd64, addr), 24);
        assert_eq!(offset_of!(NvmePassthruCmd64, metadata_len), 32);
        assert_eq!(offset_of!(NvmePassthruCmd64, data_len), 36);
        assert_eq!(offset_of!(NvmePassthruCmd64, cdw10), 40);
        assert_eq!(offset_of!(NvmePassthruCmd64, cdw15), 60);
        assert_eq!(offset_of!(NvmePassthruCmd64, timeout_ms), 64);
        assert_eq!(offset_of!(NvmePassthruCmd64, rsvd2), 68);
        assert_eq!(offset_of!(NvmePassthruCmd64, result), 72);
    }

    #[test]
    fn user_io_layout_matches_the_kernel_header() {
        assert_eq!(size_of::<NvmeUserIo>(), 48);
        assert_eq!(offset_of!(NvmeUserIo, metadata), 8);
        assert_eq!(offset_of!(NvmeUserIo, addr), 16);
        assert_eq!(offset_of!(NvmeUserIo, slba), 24);
        assert_eq!(offset_of!(NvmeUserIo, dsmgmt), 32);
        assert_eq!(offset_of!(NvmeUserIo, appmask), 42);
    }

    // The values of <linux/nvme_ioctl.h> on x86_64 and arm64 (the generic
    // _IOC encoding), as `strace -e raw=ioctl` and nvme-cli show them.
    #[cfg(not(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    #[test]
    fn request_numbers_match_the_kernel() {
        assert_eq!(NVME_IOCTL_ID, 0x4e40);
        assert_eq!(NVME_IOCTL_ADMIN_CMD, 0xc048_4e41);
        assert_eq!(NVME_IOCTL_SUBMIT_IO, 0x4030_4e42);
        assert_eq!(NVME_IOCTL_IO_CMD, 0xc048_4e43);
        assert_eq!(NVME_IOCTL_RESET, 0x4e44);
        assert_eq!(NVME_IOCTL_SUBSYS_RESET, 0x4e45);
        assert_eq!(NVME_IOCTL_RESCAN, 0x4e46);
        assert_eq!(NVME_IOCTL_ADMIN64_CMD, 0xc050_4e47);
        assert_eq!(NVME_IOCTL_IO64_CMD, 0xc050_4e48);
        assert_eq!(NVME_IOCTL_IO64_CMD_VEC, 0xc050_4e49);
    }

    #[test]
    fn ioc_packs_direction_size_type_and_number() {
        let n = iowr(b'N', 0x47, 80);
        assert_eq!(n & 0xff, 0x47);
        assert_eq!((n >> 8) & 0xff, u32::from(b'N'));
        assert_eq!((n >> SIZESHIFT) & ((1 << enc::SIZEBITS) - 1), 80);
        assert_eq!(n >> DIRSHIFT, enc::READ | enc::WRITE);
        assert_eq!(io(b'N', 0x40) >> DIRSHIFT, enc::NONE);
    }
}
