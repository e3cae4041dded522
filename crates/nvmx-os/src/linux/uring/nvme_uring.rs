//! The Linux NVMe driver's io_uring passthrough ABI: the command block
//! carried in the 80-byte command area of an `IORING_OP_URING_CMD`
//! submission, the `cmd_op` codes that select it, and how the completion
//! comes back.
//!
//! The layout is the kernel's user ABI (`struct nvme_uring_cmd` in
//! `<linux/nvme_ioctl.h>`), written out here from the field list; the
//! tests pin every offset. The `cmd_op` codes are ioctl numbers built by the
//! kernel's `_IOWR` encoding, so they are computed the same way below
//! instead of being copied as magic numbers.

use std::io;
use std::mem::size_of;

use nvmx_spec::{Command, Completion};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// One NVMe command for `IORING_OP_URING_CMD` on `/dev/ngXnY`: the fields
/// of a submission queue entry that user space may choose, with plain
/// virtual addresses instead of PRPs (the driver maps them).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct NvmeUringCmd {
    /// Opcode (CDW0 bits 7:0).
    pub opcode: u8,
    /// CDW0 bits 15:8 (fused operation, PSDT). The driver picks PRP or SGL
    /// itself and refuses a non-zero value.
    pub flags: u8,
    /// Reserved.
    pub rsvd1: u16,
    /// Namespace identifier.
    pub nsid: u32,
    /// Command dword 2.
    pub cdw2: u32,
    /// Command dword 3.
    pub cdw3: u32,
    /// Virtual address of the separate metadata buffer (0 for none).
    pub metadata: u64,
    /// Virtual address of the data buffer (0 for none).
    pub addr: u64,
    /// Length of the metadata buffer in bytes.
    pub metadata_len: u32,
    /// Length of the data buffer in bytes.
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
    /// Per-command timeout in milliseconds (0: the driver's default).
    pub timeout_ms: u32,
    /// Reserved.
    pub rsvd2: u32,
}

const _: () = assert!(size_of::<NvmeUringCmd>() == 72);

/// Size of the command area of a 128-byte submission entry
/// (`IORING_SETUP_SQE128`), which holds one [`NvmeUringCmd`].
pub const CMD_AREA_NBYTES: usize = 80;

const _: () = assert!(size_of::<NvmeUringCmd>() <= CMD_AREA_NBYTES);

impl NvmeUringCmd {
    /// Builds the passthrough block for `cmd` with the given data and
    /// metadata addresses and lengths (0 and 0 for none). The command's
    /// own pointer fields (MPTR, PRP1, PRP2) and its command identifier
    /// are not copied: the driver fills them in.
    pub fn from_command(cmd: &Command, data: (u64, u32), meta: (u64, u32)) -> NvmeUringCmd {
        NvmeUringCmd {
            opcode: cmd.opc,
            flags: cmd.flags,
            rsvd1: 0,
            nsid: cmd.nsid,
            cdw2: cmd.cdw2,
            cdw3: cmd.cdw3,
            metadata: meta.0,
            addr: data.0,
            metadata_len: meta.1,
            data_len: data.1,
            cdw10: cmd.cdw10,
            cdw11: cmd.cdw11,
            cdw12: cmd.cdw12,
            cdw13: cmd.cdw13,
            cdw14: cmd.cdw14,
            cdw15: cmd.cdw15,
            timeout_ms: 0,
            rsvd2: 0,
        }
    }

    /// The 80-byte command area of the submission entry: this block,
    /// zero-padded.
    pub fn to_cmd_area(&self) -> [u8; CMD_AREA_NBYTES] {
        let mut area = [0u8; CMD_AREA_NBYTES];
        area[..size_of::<NvmeUringCmd>()].copy_from_slice(self.as_bytes());
        area
    }
}

/// `_IOWR(ty, nr, size)`, shared with the NVMe ioctls.
pub use crate::linux::nvme::ioctl::iowr;

/// The ioctl type letter of the NVMe driver.
const NVME_IOCTL_TYPE: u8 = b'N';

/// `cmd_op` of an I/O command with one data buffer:
/// `_IOWR('N', 0x80, struct nvme_uring_cmd)`.
pub const NVME_URING_CMD_IO: u32 = iowr(NVME_IOCTL_TYPE, 0x80, size_of::<NvmeUringCmd>());

/// `cmd_op` of an I/O command whose `addr`/`data_len` name an iovec
/// array: `_IOWR('N', 0x81, struct nvme_uring_cmd)`. Not used yet: a
/// queue has no vectored submission.
pub const NVME_URING_CMD_IO_VEC: u32 = iowr(NVME_IOCTL_TYPE, 0x81, size_of::<NvmeUringCmd>());

/// `cmd_op` of an admin command: `_IOWR('N', 0x82, struct nvme_uring_cmd)`.
pub const NVME_URING_CMD_ADMIN: u32 = iowr(NVME_IOCTL_TYPE, 0x82, size_of::<NvmeUringCmd>());

/// `cmd_op` of a vectored admin command:
/// `_IOWR('N', 0x83, struct nvme_uring_cmd)`.
pub const NVME_URING_CMD_ADMIN_VEC: u32 = iowr(NVME_IOCTL_TYPE, 0x83, size_of::<NvmeUringCmd>());

/// Decodes the completion of a passthrough command from its 32-byte CQE:
/// `res` and the first extra word (`big_cqe[0]`).
///
/// The driver reports the NVMe status field (the CQE's status half-word
/// without the phase bit) in `res`, so 0 is success and a positive value
/// is a non-success status; a negative `res` is an errno from the kernel
/// (the command never reached the device, or the transport failed). The
/// extra word holds the command's 64-bit result: dword 0 in the low half,
/// dword 1 in the high half (Zone Append's assigned LBA).
pub fn decode_completion(res: i32, result: u64) -> io::Result<Completion> {
    if res < 0 {
        return Err(io::Error::from_raw_os_error(-res));
    }
    Ok(Completion {
        cdw0: result as u32,
        cdw1: (result >> 32) as u32,
        // Completion keeps the phase tag in bit 0 and the status above it.
        status: ((res as u32 & 0x7fff) << 1) as u16,
        ..Completion::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn layout_matches_the_kernel_abi() {
        assert_eq!(size_of::<NvmeUringCmd>(), 72);
        assert_eq!(offset_of!(NvmeUringCmd, opcode), 0);
        assert_eq!(offset_of!(NvmeUringCmd, flags), 1);
        assert_eq!(offset_of!(NvmeUringCmd, rsvd1), 2);
        assert_eq!(offset_of!(NvmeUringCmd, nsid), 4);
        assert_eq!(offset_of!(NvmeUringCmd, cdw2), 8);
        assert_eq!(offset_of!(NvmeUringCmd, cdw3), 12);
        assert_eq!(offset_of!(NvmeUringCmd, metadata), 16);
        assert_eq!(offset_of!(NvmeUringCmd, addr), 24);
        assert_eq!(offset_of!(NvmeUringCmd, metadata_len), 32);
        assert_eq!(offset_of!(NvmeUringCmd, data_len), 36);
        assert_eq!(offset_of!(NvmeUringCmd, cdw10), 40);
        assert_eq!(offset_of!(NvmeUringCmd, cdw11), 44);
        assert_eq!(offset_of!(NvmeUringCmd, cdw12), 48);
        assert_eq!(offset_of!(NvmeUringCmd, cdw13), 52);
        assert_eq!(offset_of!(NvmeUringCmd, cdw14), 56);
        assert_eq!(offset_of!(NvmeUringCmd, cdw15), 60);
        assert_eq!(offset_of!(NvmeUringCmd, timeout_ms), 64);
        assert_eq!(offset_of!(NvmeUringCmd, rsvd2), 68);
    }

    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "arm"
    ))]
    #[test]
    fn cmd_op_codes_match_the_generic_ioctl_encoding() {
        // dir 3 (read|write) << 30 | 72 << 16 | 'N' << 8 | nr
        assert_eq!(NVME_URING_CMD_IO, 0xc048_4e80);
        assert_eq!(NVME_URING_CMD_IO_VEC, 0xc048_4e81);
        assert_eq!(NVME_URING_CMD_ADMIN, 0xc048_4e82);
        assert_eq!(NVME_URING_CMD_ADMIN_VEC, 0xc048_4e83);
    }

    #[test]
    fn cmd_area_is_the_block_then_zeroes() {
        let mut cmd = Command::new(0x02, 1);
        cmd.cdw12 = 7;
        let u = NvmeUringCmd::from_command(&cmd, (0x1000, 4096), (0, 0));
        let area = u.to_cmd_area();
        assert_eq!(area[0], 0x02);
        assert_eq!(u32::from_le_bytes(area[4..8].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(area[24..32].try_into().unwrap()), 0x1000);
        assert_eq!(u32::from_le_bytes(area[36..40].try_into().unwrap()), 4096);
        assert_eq!(u32::from_le_bytes(area[48..52].try_into().unwrap()), 7);
        assert!(area[72..].iter().all(|&b| b == 0));
    }

    #[test]
    fn decode_success_error_status_and_result() {
        let c = decode_completion(0, 0x0000_0002_0000_0010).unwrap();
        assert!(c.is_success());
        assert_eq!((c.cdw0, c.cdw1), (0x10, 0x2));
        assert_eq!(c.result64(), 0x2_0000_0010);
        // DNR | SCT generic | SC LBA out of range, as the driver reports it.
        let c = decode_completion(0x4080, 0).unwrap();
        let st = c.status();
        assert!(!c.is_success());
        assert_eq!((st.sct, st.sc, st.dnr), (0, 0x80, true));
        assert!(!c.phase());
        let e = decode_completion(-libc::EINVAL, 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}
