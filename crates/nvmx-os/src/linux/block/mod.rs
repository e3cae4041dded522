//! `block`: any Linux block device (loop, SCSI, virtio, NVMe namespace) as
//! a namespace, through the block layer's calls; sync and admin interfaces.
//!
//! The device is presented as one namespace whose logical block size is
//! the device's (`BLKSSZGET`):
//!
//! | NVMe command | block layer |
//! |---|---|
//! | Read, Write | `pread`/`pwrite` (`preadv`/`pwritev` for vectors) at `slba * lbs` |
//! | Flush | `fdatasync` (which also flushes the device's write cache) |
//! | Write Zeroes | `BLKZEROOUT` on the byte range |
//! | Dataset Management, deallocate | `BLKDISCARD` per range |
//! | Compare | read, compare; Compare Failure on a mismatch |
//! | Verify | read and discard |
//! | Zone Management Send / Receive | `BLK{OPEN,CLOSE,FINISH,RESET}ZONE`, `BLKREPORTZONE` |
//! | anything else | Invalid Opcode |
//!
//! Identify data is synthesized from the device ([`admin`]): sizes from
//! ioctls, the transfer limit, discard support, write cache and zoned
//! model from the queue's sysfs attributes, model and serial from the
//! device's. A host-managed zoned device is a zoned namespace (CSI 2).
//!
//! With `--direct` the device is opened with O_DIRECT, and buffers must be
//! aligned to the logical block size in address and length; a misaligned
//! one is refused with an error that says so, instead of the kernel's bare
//! EINVAL. The device's size is read once, at open.

pub mod admin;
pub(crate) mod ioctl;
pub(crate) mod zone;

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{Status, sc, sc_media, sct};
use nvmx_spec::{Command, Completion};

use crate::linux::dev::sysfs::{self, NodeType};
use nvmx_core::be::config::BackendConfig;
use nvmx_core::be::plan::{RwGeo, lba_out_of_range, lba_range};
use nvmx_core::be::{Backend, DataBuf, DataVec, SyncIo};
use nvmx_core::buf::Buffer;
use nvmx_core::caps::Caps;
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};
use nvmx_core::opts::Options;
use nvmx_core::uri::{Target, Uri};

/// The `emu_bdev` configuration: block device calls, emulated async.
pub static EMU_BDEV: BackendConfig = BackendConfig {
    name: "emu_bdev",
    descr: "Block device through the block layer (pread/pwrite, BLK* ioctls); emulated async (runs commands when poked)",
    caps: Caps::NVME_BDEV.or(Caps::BDEV),
    async_id: "emu",
    sync_id: "block",
    admin_id: "block",
    dev_id: "linux",
    mem_id: "heap",
    open,
    new_engine: crate::cbi::emu::new_engine,
};

/// The `thrpool_bdev` configuration: block device calls from a thread pool.
pub static THRPOOL_BDEV: BackendConfig = BackendConfig {
    name: "thrpool_bdev",
    descr: "Block device through the block layer (pread/pwrite, BLK* ioctls); async by a thread pool",
    caps: Caps::NVME_BDEV.or(Caps::BDEV),
    async_id: "thrpool",
    sync_id: "block",
    admin_id: "block",
    dev_id: "linux",
    mem_id: "heap",
    open,
    new_engine: crate::cbi::thrpool::new_engine,
};

/// Chunk size of Verify's reads.
const VERIFY_CHUNK: u64 = 1 << 20;

/// The DSM attribute bit that asks to deallocate (CDW11 bit 2).
const DSM_AD: u32 = 1 << 2;

/// What the queue's sysfs attributes say, read at open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueAttrs {
    /// `max_hw_sectors_kb`.
    pub max_hw_sectors_kb: Option<u64>,
    /// `discard_max_bytes` (0: no discard).
    pub discard_max_bytes: u64,
    /// `discard_zeroes_data` (always 0 on kernels since 4.12).
    pub discard_zeroes_data: bool,
    /// `write_zeroes_max_bytes` (0: no Write Zeroes offload).
    pub write_zeroes_max_bytes: u64,
    /// `zoned`: `none`, `host-aware` or `host-managed`.
    pub zoned: Option<String>,
    /// `chunk_sectors`: the zone size of a zoned device, in sectors.
    pub chunk_sectors: u64,
    /// `nr_zones`.
    pub nr_zones: u64,
    /// `max_open_zones` (0: no limit).
    pub max_open_zones: u64,
    /// `max_active_zones` (0: no limit).
    pub max_active_zones: u64,
}

impl QueueAttrs {
    /// Reads the attributes of a queue directory; missing ones are 0/None.
    pub fn read(queue: &Path) -> QueueAttrs {
        let n = |name: &str| sysfs::read_u64(&queue.join(name)).unwrap_or(0);
        QueueAttrs {
            max_hw_sectors_kb: sysfs::read_u64(&queue.join("max_hw_sectors_kb")),
            discard_max_bytes: n("discard_max_bytes"),
            discard_zeroes_data: n("discard_zeroes_data") != 0,
            write_zeroes_max_bytes: n("write_zeroes_max_bytes"),
            zoned: sysfs::read_attr(&queue.join("zoned")),
            chunk_sectors: n("chunk_sectors"),
            nr_zones: n("nr_zones"),
            max_open_zones: n("max_open_zones"),
            max_active_zones: n("max_active_zones"),
        }
    }

    /// Whether the device can discard (Dataset Management deallocate).
    pub fn discard(&self) -> bool {
        self.discard_max_bytes > 0
    }

    /// Whether the device is host-managed zoned (a zoned namespace).
    pub fn host_managed(&self) -> bool {
        self.zoned.as_deref() == Some("host-managed")
    }
}

/// Zone geometry of a host-managed zoned device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZonedInfo {
    /// Zone size in 512-byte sectors.
    pub zone_sectors: u64,
    /// Number of zones.
    pub nr_zones: u64,
    /// Maximum open zones (0: no limit).
    pub max_open: u64,
    /// Maximum active zones (0: no limit).
    pub max_active: u64,
}

/// An open block device serving as a namespace.
#[derive(Debug)]
pub struct BlockDev {
    file: File,
    path: String,
    /// Kernel name (`loop0`, `sda`, `nvme0n1`).
    name: String,
    nsid: u32,
    /// Logical block size.
    lbs: u32,
    /// log2 of `lbs`.
    ssw: u32,
    /// Physical block size.
    pbs: u32,
    /// Size in bytes.
    nbytes: u64,
    direct: bool,
    sysfs_dir: Option<PathBuf>,
    queue: QueueAttrs,
    zoned: Option<ZonedInfo>,
}

/// Opens a block device (configurations `emu_bdev`, `thrpool_bdev`, and
/// the async ones over the `block` interfaces).
///
/// The identity is a [`DevType::BlockDevice`] with nsid 1, or, for an NVMe
/// namespace block device, a [`DevType::NvmeNamespace`] with the nsid the
/// NVMe driver reports. `--dev-nsid` does not apply: a block device is one
/// namespace. The command set is Zoned (2) for a host-managed zoned device
/// and NVM (0) otherwise.
pub fn open(uri: &Uri, opts: &Options) -> Result<Backend> {
    let Target::BlockDevice { nvme } = uri.target else {
        return Err(Error::invalid(
            "URI",
            format!("{:?} is not a block device", uri.raw),
        ));
    };
    let mut dev = BlockDev::open(&uri.base, opts)?;
    let mut dtype = DevType::BlockDevice;
    if nvme && let Ok(n) = crate::linux::nvme::ns_id(&dev.file) {
        dev.nsid = n;
        dtype = DevType::NvmeNamespace;
    }
    let csi = if dev.zoned.is_some() {
        nvmx_spec::opcode::Csi::ZONED.0
    } else {
        0
    };
    let subnqn = if dtype == DevType::NvmeNamespace {
        dev.sysfs_dir
            .as_deref()
            .and_then(|d| sysfs::find_up(d, "subsysnqn", 1))
            .and_then(|p| sysfs::read_attr(&p))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let nsid = dev.nsid;
    let dev = Arc::new(dev);
    Ok(Backend {
        sync: dev.clone(),
        admin: dev,
        ident: Ident {
            uri: uri.raw.clone(),
            dtype,
            nsid,
            csi,
            subnqn,
        },
    })
}

fn status(sct: u8, sc: u8) -> Completion {
    Completion::with_status(Status::new(sct, sc).dnr())
}

fn short(have: usize, need: u64) -> Error {
    Error::short_buffer("data", have as u64, need)
}

fn open_flags(opts: &Options) -> i32 {
    libc::O_CLOEXEC | if opts.direct { libc::O_DIRECT } else { 0 }
}

impl BlockDev {
    /// Makes a Force Unit Access write durable before it completes.
    fn fua(&self, cmd: &Command) -> Result<()> {
        if nvmx_core::be::is_fua(cmd) {
            self.file
                .sync_data()
                .map_err(|e| Error::io("fdatasync", &self.path, e))?;
        }
        Ok(())
    }

    /// Opens the block device at `path` with the access mode and O_DIRECT
    /// setting of `opts`.
    pub fn open(path: &str, opts: &Options) -> Result<BlockDev> {
        Self::open_at(Path::new(sysfs::SYSFS), path, opts)
    }

    fn open_at(sys: &Path, path: &str, opts: &Options) -> Result<BlockDev> {
        let file = std::fs::OpenOptions::new()
            .read(opts.mode.readable())
            .write(opts.mode.writable())
            .custom_flags(open_flags(opts))
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        let md = file.metadata().map_err(|e| Error::io("stat", path, e))?;
        if !md.file_type().is_block_device() {
            return Err(Error::invalid(
                "URI",
                format!("{path:?} is not a block device"),
            ));
        }
        let nbytes = ioctl::get_size64(&file).map_err(|e| Error::io("BLKGETSIZE64", path, e))?;
        let lbs = ioctl::get_ssz(&file).map_err(|e| Error::io("BLKSSZGET", path, e))?;
        if !lbs.is_power_of_two() || !(512..=1 << 16).contains(&lbs) {
            return Err(Error::bad_reply(
                "BLKSSZGET",
                format!(
                    "{path}: logical block size {lbs} is not a power of two from 512 to 64 KiB"
                ),
            ));
        }
        let pbs = ioctl::get_pbsz(&file).unwrap_or(lbs).max(lbs);
        let sysfs_dir = sysfs::node_dir(sys, NodeType::Block, md.rdev());
        let queue = sysfs_dir
            .as_deref()
            .and_then(sysfs::queue_dir)
            .map(|q| QueueAttrs::read(&q))
            .unwrap_or_default();
        let name = sysfs_dir
            .as_deref()
            .and_then(Path::file_name)
            .or_else(|| Path::new(path).file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("block")
            .to_string();
        let mut dev = BlockDev {
            file,
            path: path.to_string(),
            name,
            nsid: 1,
            lbs,
            ssw: lbs.trailing_zeros(),
            pbs,
            nbytes,
            direct: opts.direct,
            sysfs_dir,
            queue,
            zoned: None,
        };
        if dev.queue.host_managed() {
            let zone_sectors = match dev.queue.chunk_sectors {
                0 => u64::from(dev.zone_sectors().unwrap_or(0)),
                n => n,
            };
            let nr_zones = match dev.nr_zones() {
                Ok(n) if n > 0 => u64::from(n),
                _ => dev.queue.nr_zones,
            };
            if zone_sectors > 0 {
                dev.zoned = Some(ZonedInfo {
                    zone_sectors,
                    nr_zones,
                    max_open: dev.queue.max_open_zones,
                    max_active: dev.queue.max_active_zones,
                });
            }
        }
        Ok(dev)
    }

    /// The path the device was opened by.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The device's size in bytes (`BLKGETSIZE64`, read at open).
    pub fn size_bytes(&self) -> u64 {
        self.nbytes
    }

    /// The logical block size in bytes (`BLKSSZGET`).
    pub fn logical_block_size(&self) -> u32 {
        self.lbs
    }

    /// The physical block size in bytes (`BLKPBSZGET`).
    pub fn physical_block_size(&self) -> u32 {
        self.pbs
    }

    /// The queue attributes read at open.
    pub fn queue_attrs(&self) -> &QueueAttrs {
        &self.queue
    }

    /// The zone geometry, for a host-managed zoned device.
    pub fn zoned(&self) -> Option<&ZonedInfo> {
        self.zoned.as_ref()
    }

    /// Zeroes `len` bytes at byte offset `off` (`BLKZEROOUT`); both must be
    /// multiples of the logical block size.
    pub fn zero_out(&self, off: u64, len: u64) -> Result<()> {
        ioctl::zeroout(&self.file, off, len).map_err(|e| Error::io("BLKZEROOUT", &self.path, e))
    }

    /// Discards `len` bytes at byte offset `off` (`BLKDISCARD`); both must
    /// be multiples of the logical block size.
    pub fn discard(&self, off: u64, len: u64) -> Result<()> {
        ioctl::discard(&self.file, off, len).map_err(|e| Error::io("BLKDISCARD", &self.path, e))
    }

    /// Number of logical blocks.
    fn nsze(&self) -> u64 {
        self.nbytes >> self.ssw
    }

    /// Byte range of an LBA command, or the status to answer with.
    fn range(&self, cmd: &Command) -> std::result::Result<(u64, u64), Completion> {
        let geo = RwGeo {
            nsze: self.nsze(),
            ..RwGeo::unbounded(self.ssw, self.lbs)
        };
        match lba_range(cmd.cdw10_11(), (cmd.cdw12 & 0xffff) as u16, &geo) {
            Ok(p) => Ok((p.off, p.len)),
            Err(_) => Err(lba_out_of_range()),
        }
    }

    /// Direct I/O needs block-aligned addresses and lengths; say so here
    /// instead of passing the kernel's bare EINVAL on.
    fn check_direct(&self, ptr: *const u8, len: usize) -> Result<()> {
        let a = self.lbs as usize;
        if self.direct && (!(ptr as usize).is_multiple_of(a) || !len.is_multiple_of(a)) {
            return Err(Error::misaligned(
                "data buffer",
                format!(
                    "direct I/O on {} needs an address and length aligned to the {a}-byte logical \
                     block size (got address {ptr:p}, length {len}); use a buffer from \
                     Device::alloc",
                    self.path
                ),
            ));
        }
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()> {
        self.check_direct(buf.as_ptr(), buf.len())?;
        self.file
            .read_exact_at(buf, off)
            .map_err(|e| Error::io("pread", &self.path, e))
    }

    fn compare(&self, off: u64, expect: &[u8]) -> Result<Completion> {
        // Read into an aligned buffer of our own, so direct I/O works
        // whatever the caller's buffer is.
        let mut have = Buffer::new(expect.len())?;
        self.read_at(&mut have, off)?;
        Ok(if have[..] == *expect {
            Completion::success(0)
        } else {
            status(sct::MEDIA, sc_media::COMPARE_FAILURE)
        })
    }

    fn verify(&self, mut off: u64, mut len: u64) -> Result<Completion> {
        let mut buf = Buffer::new(len.min(VERIFY_CHUNK) as usize)?;
        while len > 0 {
            let n = len.min(VERIFY_CHUNK) as usize;
            self.read_at(&mut buf[..n], off)?;
            off += n as u64;
            len -= n as u64;
        }
        Ok(Completion::success(0))
    }

    fn dsm(&self, cmd: &Command, ranges: &[u8]) -> Result<Completion> {
        if !self.queue.discard() {
            return Ok(status(sct::GENERIC, sc::INVALID_OPCODE));
        }
        let nr = (cmd.cdw10 & 0xff) as usize + 1;
        if ranges.len() < nr * 16 {
            return Err(Error::short_buffer(
                "DSM range",
                ranges.len() as u64,
                nr as u64 * 16,
            ));
        }
        // Only deallocate changes data; the hints need no action.
        if cmd.cdw11 & DSM_AD == 0 {
            return Ok(Completion::success(0));
        }
        let mut todo = Vec::with_capacity(nr);
        for r in ranges.chunks_exact(16).take(nr) {
            let n = u64::from(u32::from_le_bytes([r[4], r[5], r[6], r[7]]));
            let slba = u64::from_le_bytes([r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
            if slba.checked_add(n).is_none_or(|e| e > self.nsze()) {
                return Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
            }
            if n > 0 {
                todo.push((slba << self.ssw, n << self.ssw));
            }
        }
        for (off, len) in todo {
            self.discard(off, len)?;
        }
        Ok(Completion::success(0))
    }
}

impl SyncIo for BlockDev {
    fn id(&self) -> &'static str {
        "block"
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        mut data: DataBuf<'_>,
        _meta: DataBuf<'_>,
    ) -> Result<Completion> {
        // A block device has no separate metadata: a metadata buffer is
        // ignored, as a controller ignores MPTR on a format without it.
        let opc = NvmOpcode(cmd.opc);
        let broadcast_ok = opc == NvmOpcode::FLUSH && cmd.nsid == u32::MAX;
        if cmd.nsid != self.nsid && !broadcast_ok {
            return Ok(status(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));
        }
        match opc {
            NvmOpcode::FLUSH => {
                self.file
                    .sync_data()
                    .map_err(|e| Error::io("fdatasync", &self.path, e))?;
                Ok(Completion::success(0))
            }
            NvmOpcode::READ => {
                let (off, len) = match self.range(cmd) {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let have = data.len();
                let buf = data.as_mut_slice().ok_or_else(|| {
                    Error::invalid("data buffer", "Read needs a writable data buffer")
                })?;
                let buf = buf
                    .get_mut(..len as usize)
                    .ok_or_else(|| short(have, len))?;
                self.read_at(buf, off)?;
                Ok(Completion::success(0))
            }
            NvmOpcode::WRITE => {
                let (off, len) = match self.range(cmd) {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let buf = data.as_slice();
                let buf = buf
                    .get(..len as usize)
                    .ok_or_else(|| short(buf.len(), len))?;
                self.check_direct(buf.as_ptr(), buf.len())?;
                self.file
                    .write_all_at(buf, off)
                    .map_err(|e| Error::io("pwrite", &self.path, e))?;
                self.fua(cmd)?;
                Ok(Completion::success(0))
            }
            NvmOpcode::COMPARE => {
                let (off, len) = match self.range(cmd) {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let buf = data.as_slice();
                let buf = buf
                    .get(..len as usize)
                    .ok_or_else(|| short(buf.len(), len))?;
                self.compare(off, buf)
            }
            NvmOpcode::VERIFY => match self.range(cmd) {
                Ok((off, len)) => self.verify(off, len),
                Err(c) => Ok(c),
            },
            NvmOpcode::WRITE_ZEROES => match self.range(cmd) {
                Ok((off, len)) => {
                    self.zero_out(off, len)?;
                    Ok(Completion::success(0))
                }
                Err(c) => Ok(c),
            },
            NvmOpcode::DSM => self.dsm(cmd, data.as_slice()),
            NvmOpcode::ZONE_MGMT_SEND if self.zoned.is_some() => self.zone_mgmt_send(cmd),
            NvmOpcode::ZONE_MGMT_RECV if self.zoned.is_some() => self.zone_mgmt_recv(cmd, data),
            _ => Ok(status(sct::GENERIC, sc::INVALID_OPCODE)),
        }
    }

    fn cmd_iov(
        &self,
        cmd: &mut Command,
        data: DataVec<'_, '_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        let native = matches!(
            (&data, NvmOpcode(cmd.opc)),
            (DataVec::In(_), NvmOpcode::READ) | (DataVec::Out(_), NvmOpcode::WRITE)
        );
        if !native {
            // Other opcodes take the gather/scatter path.
            return nvmx_core::be::gather_iov(self, cmd, data, meta);
        }
        if cmd.nsid != self.nsid {
            return Ok(status(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));
        }
        let (off, len) = match self.range(cmd) {
            Ok(r) => r,
            Err(c) => return Ok(c),
        };
        let total = data.len() as u64;
        if total < len {
            return Err(Error::short_buffer("data vector", total, len));
        }
        if total > len {
            // Longer than the command is a malformed request, not a short one.
            return Err(Error::invalid(
                "data vector",
                format!("{total} bytes in the vector, the command moves {len}"),
            ));
        }
        match data {
            DataVec::In(iov) => {
                for s in iov.iter() {
                    self.check_direct(s.as_ptr(), s.len())?;
                }
                crate::file::unix::read_vectored_exact_at(&self.file, iov, off)
                    .map_err(|e| Error::io("preadv", &self.path, e))?;
            }
            DataVec::Out(iov) => {
                for s in iov.iter() {
                    self.check_direct(s.as_ptr(), s.len())?;
                }
                crate::file::unix::write_vectored_all_at(&self.file, iov, off)
                    .map_err(|e| Error::io("pwritev", &self.path, e))?;
                self.fua(cmd)?;
            }
        }
        Ok(Completion::success(0))
    }
}

#[cfg(test)]
mod tests;
