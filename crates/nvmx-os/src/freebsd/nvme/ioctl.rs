//! FreeBSD's NVMe driver ioctls as plain data: request numbers, the
//! structures they carry, building a passthrough request from a
//! [`Command`] and decoding its completion.
//!
//! Nothing here calls the system, so all of it compiles and is tested on
//! every host. The layouts follow FreeBSD's `sys/dev/nvme/nvme.h`
//! (`struct nvme_pt_command`, `struct nvme_get_nsid`, the `NVME_*` request
//! macros) and the request encoding follows `sys/sys/ioccom.h` (`_IOC`,
//! `_IOR`, `_IOWR`); the tests pin every size, offset and number.

use std::ffi::c_void;
use std::mem::{offset_of, size_of};

use nvmx_spec::{Command, Completion};

use nvmx_core::be::{DataBuf, Direction};
use nvmx_core::error::{Error, Result};

/// `IOC_VOID` of `sys/sys/ioccom.h`: the request has no argument.
pub const IOC_VOID: u32 = 0x2000_0000;
/// `IOC_OUT`: the kernel copies the argument out to the caller.
pub const IOC_OUT: u32 = 0x4000_0000;
/// `IOC_IN`: the kernel copies the argument in from the caller.
pub const IOC_IN: u32 = 0x8000_0000;
/// `IOC_INOUT`: both ways.
pub const IOC_INOUT: u32 = IOC_IN | IOC_OUT;
/// `IOCPARM_MASK`: the argument length field is 13 bits wide.
pub const IOCPARM_MASK: u32 = 0x1fff;

/// Encodes an ioctl request as `sys/sys/ioccom.h`'s `_IOC` does: the
/// direction bits, the argument length in bits 28:16, the group letter in
/// bits 15:8 and the number in bits 7:0.
pub const fn ioc(dir: u32, group: u8, num: u8, len: usize) -> u32 {
    dir | (((len as u32) & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32
}

/// `struct nvme_pt_command` of `sys/dev/nvme/nvme.h`: one NVMe command
/// passed through the driver with one user buffer.
///
/// The driver takes the opcode, the fused bits, dwords 2 and 3 and dwords
/// 10 to 15 from `cmd`; it sets the namespace itself on a namespace node
/// and takes `cmd.nsid` on a controller node. It builds the data pointers
/// from `buf`/`len` and ignores the metadata pointer: the structure has
/// no field for a metadata buffer. `is_read` says which way `buf` moves
/// (1: device to host). `driver_lock` is the driver's and must be null.
/// On return `cpl` holds completion dword 0 and the status field with the
/// phase tag cleared; the other completion fields are zero.
#[repr(C)]
#[derive(Debug)]
pub struct NvmePtCommand {
    /// The submission queue entry (`struct nvme_command`, 64 bytes).
    pub cmd: Command,
    /// The completion queue entry (`struct nvme_completion`, 16 bytes).
    pub cpl: Completion,
    /// The data buffer (`void *buf`), null for none.
    pub buf: *mut c_void,
    /// Its length in bytes (`uint32_t len`).
    pub len: u32,
    /// 1 when the device writes `buf`, 0 when it reads it.
    pub is_read: u32,
    /// `struct mtx *driver_lock`: the driver's, null from user space.
    pub driver_lock: *mut c_void,
}

/// `SPECNAMELEN` of `sys/sys/param.h` on current FreeBSD (older releases
/// had 63, which gives `NVME_GET_NSID` another request number).
pub const SPECNAMELEN: usize = 255;

/// `struct nvme_get_nsid` of `sys/dev/nvme/nvme.h`: what `NVME_GET_NSID`
/// answers. `cdev` is the controller's device name (`nvme0`),
/// NUL-terminated; `nsid` is the node's namespace, 0 on a controller node.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvmeGetNsid {
    /// The controller's name, NUL-terminated (`char cdev[SPECNAMELEN + 1]`).
    pub cdev: [u8; SPECNAMELEN + 1],
    /// The namespace identifier (`uint32_t nsid`).
    pub nsid: u32,
}

impl Default for NvmeGetNsid {
    fn default() -> Self {
        NvmeGetNsid {
            cdev: [0; SPECNAMELEN + 1],
            nsid: 0,
        }
    }
}

impl NvmeGetNsid {
    /// The controller name up to the first NUL (the whole field when the
    /// kernel left none); `None` when it is empty or not UTF-8.
    pub fn controller(&self) -> Option<&str> {
        let end = self
            .cdev
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.cdev.len());
        std::str::from_utf8(&self.cdev[..end])
            .ok()
            .filter(|s| !s.is_empty())
    }
}

/// `NVME_PASSTHROUGH_CMD`: `_IOWR('n', 0, struct nvme_pt_command)`.
pub const NVME_PASSTHROUGH_CMD: u32 = ioc(IOC_INOUT, b'n', 0, size_of::<NvmePtCommand>());
/// `NVME_RESET_CONTROLLER`: `_IO('n', 1)`, on a controller node.
pub const NVME_RESET_CONTROLLER: u32 = ioc(IOC_VOID, b'n', 1, 0);
/// `NVME_GET_NSID`: `_IOR('n', 2, struct nvme_get_nsid)`.
pub const NVME_GET_NSID: u32 = ioc(IOC_OUT, b'n', 2, size_of::<NvmeGetNsid>());
/// `NVME_GET_MAX_XFER_SIZE`: `_IOR('n', 3, uint64_t)` (newer kernels;
/// older ones answer `ENOTTY`).
pub const NVME_GET_MAX_XFER_SIZE: u32 = ioc(IOC_OUT, b'n', 3, size_of::<u64>());

// The layout the driver expects on LP64 FreeBSD (x86_64, aarch64): checked
// at compile time here, and against the numbers in the tests.
const _: () = {
    assert!(size_of::<Command>() == 64);
    assert!(size_of::<Completion>() == 16);
    if size_of::<usize>() == 8 {
        assert!(size_of::<NvmePtCommand>() == 104);
        assert!(offset_of!(NvmePtCommand, buf) == 80);
        assert!(offset_of!(NvmePtCommand, driver_lock) == 96);
    }
    assert!(size_of::<NvmeGetNsid>() == 260);
};

/// A checked data buffer for a passthrough command: address, length and
/// the `is_read` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtBuf {
    /// Start of the buffer (null for none).
    pub ptr: *mut c_void,
    /// Length in bytes.
    pub len: u32,
    /// 1 when the device writes the buffer.
    pub is_read: u32,
}

impl PtBuf {
    /// No buffer.
    pub const NONE: PtBuf = PtBuf {
        ptr: std::ptr::null_mut(),
        len: 0,
        is_read: 0,
    };
}

/// Checks `data` for a command with opcode `opc` and returns what the
/// passthrough structure needs.
///
/// The driver maps the buffer one way only, as `is_read` says. A read-only
/// buffer ([`DataBuf::Out`]) goes with `is_read = 0`, and is refused for an
/// opcode that moves data from the device (or both ways). A writable
/// buffer ([`DataBuf::In`]) goes with `is_read = 1`, except for an opcode
/// that moves data to the device. One command moves at most 4 GiB - 1.
pub fn pt_buf(data: &mut DataBuf<'_>, opc: u8) -> Result<PtBuf> {
    let dir = Direction::of_opcode(opc);
    let (ptr, len, is_read) = match data {
        DataBuf::None => return Ok(PtBuf::NONE),
        DataBuf::Out([]) | DataBuf::In([]) => return Ok(PtBuf::NONE),
        DataBuf::Out(b) => {
            if matches!(dir, Direction::FromDevice | Direction::Bidirectional) {
                return Err(Error::invalid(
                    "data buffer",
                    format!(
                        "opcode {opc:#04x} moves data from the device, so its buffer must be \
                         writable (DataBuf::In)"
                    ),
                ));
            }
            (b.as_ptr().cast_mut(), b.len(), 0)
        }
        DataBuf::In(b) => {
            let is_read = u32::from(dir != Direction::ToDevice);
            (b.as_mut_ptr(), b.len(), is_read)
        }
    };
    let len = u32::try_from(len).map_err(|_| {
        Error::too_large(
            "data buffer",
            len as u64,
            u32::MAX.into(),
            "bytes per command",
        )
    })?;
    Ok(PtBuf {
        ptr: ptr.cast(),
        len,
        is_read,
    })
}

/// Refuses a separate metadata buffer: FreeBSD's `struct nvme_pt_command`
/// (`sys/dev/nvme/nvme.h`) carries one data buffer and no metadata
/// pointer, and the driver does not pass the command's own metadata
/// pointer on, so the metadata could not reach the device.
pub fn refuse_metadata(meta: &DataBuf<'_>) -> Result<()> {
    if meta.is_empty() {
        return Ok(());
    }
    Err(Error::unsupported(
        "nvme",
        format!(
            "a separate metadata buffer ({} bytes): FreeBSD's NVME_PASSTHROUGH_CMD carries one \
             data buffer and no metadata pointer (struct nvme_pt_command); format the namespace \
             with extended LBAs, whose data buffer carries the metadata, or use a metadata-free \
             LBA format",
            meta.len()
        ),
    ))
}

/// Builds the passthrough request for `cmd`: the fields the driver takes
/// (opcode, dwords 2, 3 and 10 to 15, and the namespace, which only a
/// controller node uses), everything else zero as the header asks (the
/// driver builds the data pointers; fused and PSDT bits are not passed).
pub fn pt_command(cmd: &Command, data: PtBuf) -> NvmePtCommand {
    let mut c = Command::new(cmd.opc, cmd.nsid);
    c.cdw2 = cmd.cdw2;
    c.cdw3 = cmd.cdw3;
    c.cdw10 = cmd.cdw10;
    c.cdw11 = cmd.cdw11;
    c.cdw12 = cmd.cdw12;
    c.cdw13 = cmd.cdw13;
    c.cdw14 = cmd.cdw14;
    c.cdw15 = cmd.cdw15;
    NvmePtCommand {
        cmd: c,
        cpl: Completion::success(0),
        buf: data.ptr,
        len: data.len,
        is_read: data.is_read,
        driver_lock: std::ptr::null_mut(),
    }
}

/// The completion of a passthrough request the kernel accepted: dword 0
/// and the status field as the driver copied them back, the phase tag
/// cleared. Dword 1 does not come back from FreeBSD's driver (it is zero).
pub const fn completion_from_pt(pt: &NvmePtCommand) -> Completion {
    let mut cpl = Completion::success(pt.cpl.cdw0);
    cpl.cdw1 = pt.cpl.cdw1;
    cpl.status = pt.cpl.status & !1;
    cpl
}
