//! Files as namespaces: sync interface `psync`, admin interface
//! `file_as_ns` (on Windows both are called `file`, as in xNVMe, and
//! buffers come from the `windows` memory interface).
//!
//! A regular file is presented as an NVM namespace of 512-byte logical
//! blocks. Reads and writes are positional (`pread`/`pwrite`, and
//! `preadv`/`pwritev` for vectored commands on Unix); Flush is `fsync`;
//! Write Zeroes and Dataset Management deallocate write zeroes; Compare
//! reads and compares. Identify data is synthesized from the file.
//!
//! Unlike a real namespace a file grows: writes past the end extend it,
//! while reads past the end fail with LBA Out of Range, since those blocks
//! do not exist yet. The namespace size reported by Identify is the file's
//! size when Identify runs.

mod admin;
#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub mod windows_mem;
#[cfg(windows)]
use windows as os;

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::status::{Status, sc, sc_media, sct};
use nvmx_spec::{Command, Completion};

use nvmx_core::be::plan::{RwGeo, lba_out_of_range, lba_range};
use nvmx_core::be::{Backend, DataBuf, DataVec, SyncIo};
use nvmx_core::error::{Error, Result};
use nvmx_core::ident::{DevType, Ident};
use nvmx_core::opts::Options;
use nvmx_core::uri::{Target, Uri};

/// The sync interface id of files: `psync` on Unix, `file` on Windows
/// (xNVMe's names).
#[cfg(unix)]
pub const SYNC_ID: &str = "psync";
/// The sync interface id of files: `psync` on Unix, `file` on Windows
/// (xNVMe's names).
#[cfg(windows)]
pub const SYNC_ID: &str = "file";

/// The admin interface id of files: `file_as_ns` on Unix, `file` on
/// Windows (xNVMe's names).
#[cfg(unix)]
pub const ADMIN_ID: &str = "file_as_ns";
/// The admin interface id of files: `file_as_ns` on Unix, `file` on
/// Windows (xNVMe's names).
#[cfg(windows)]
pub const ADMIN_ID: &str = "file";

/// The mem interface id of files: `heap` on Unix, `windows`
/// (`VirtualAlloc`, sector aligned for unbuffered I/O) on Windows.
#[cfg(unix)]
pub const MEM_ID: &str = "heap";
/// The mem interface id of files: `heap` on Unix, `windows`
/// (`VirtualAlloc`, sector aligned for unbuffered I/O) on Windows.
#[cfg(windows)]
pub const MEM_ID: &str = "windows";

/// Logical block size of a file namespace (LBA data size 9).
pub const FILE_LBA_NBYTES: u64 = 512;

/// Largest transfer of one command on a file namespace (MDTS 8 with 4 KiB
/// pages = 1 MiB), so big commands are split like on a device.
pub const FILE_MDTS: u8 = 8;

/// An open file serving as a namespace.
#[derive(Debug)]
pub struct FileNs {
    file: File,
    path: String,
    direct: bool,
    /// The largest size the file is known to have had: a read that ends
    /// within it needs no `stat` (one system call per I/O otherwise). A
    /// file shrunk behind nvmx's back is caught by the short read, which
    /// then looks again.
    known_size: AtomicU64,
}

/// Opens a file as a namespace (configs `emu_file`, `thrpool_file`, ...).
pub fn open(uri: &Uri, opts: &Options) -> Result<Backend> {
    if !matches!(uri.target, Target::File { .. }) {
        return Err(Error::invalid(
            "URI",
            format!("{:?} is not a file", uri.raw),
        ));
    }
    if opts.nsid != 1 {
        return Err(Error::out_of_range(
            "dev-nsid",
            format!("{}: a file is a single namespace, nsid 1", opts.nsid),
        ));
    }
    let file = os::open(&uri.base, opts).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound && !opts.create {
            let hint = std::io::Error::new(e.kind(), format!("{e}; pass --create to create it"));
            Error::io("open", &uri.base, hint)
        } else {
            Error::io("open", &uri.base, e)
        }
    })?;
    let md = file
        .metadata()
        .map_err(|e| Error::io("stat", &uri.base, e))?;
    if !md.is_file() {
        return Err(Error::invalid(
            "URI",
            format!("{:?} is not a regular file", uri.base),
        ));
    }
    let ns = Arc::new(FileNs {
        file,
        path: uri.base.clone(),
        direct: opts.direct,
        known_size: AtomicU64::new(md.len()),
    });
    Ok(Backend {
        sync: ns.clone(),
        admin: ns,
        ident: Ident {
            uri: uri.raw.clone(),
            dtype: DevType::FsFile,
            nsid: 1,
            csi: nvmx_spec::opcode::Csi::FS.0,
            subnqn: String::new(),
        },
    })
}

fn status(sct: u8, sc: u8) -> Completion {
    Completion::with_status(Status::new(sct, sc).dnr())
}

impl FileNs {
    /// The file's size in bytes, from `stat`; remembered in `known_size`.
    fn size(&self) -> Result<u64> {
        let n = self
            .file
            .metadata()
            .map_err(|e| Error::io("stat", &self.path, e))?
            .len();
        self.known_size.store(n, Ordering::Relaxed);
        Ok(n)
    }

    /// Whether bytes up to `end` exist: without a system call when the
    /// file was known to reach that far.
    fn reaches(&self, end: u64) -> Result<bool> {
        Ok(end <= self.known_size.load(Ordering::Relaxed) || end <= self.size()?)
    }

    /// A read's outcome. A read that came back short because the file
    /// shrank below `end` since it was known larger answers LBA Out of
    /// Range, as a fresh size check would have.
    fn read_done(&self, op: &'static str, r: std::io::Result<()>, end: u64) -> Result<Completion> {
        match r {
            Ok(()) => Ok(Completion::success(0)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && end > self.size()? => {
                Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE))
            }
            Err(e) => Err(Error::io(op, &self.path, e)),
        }
    }

    /// Notes that a write made the file reach `end`.
    fn grew_to(&self, end: u64) {
        self.known_size.fetch_max(end, Ordering::Relaxed);
    }

    /// Direct I/O needs block-aligned addresses and lengths; say so here
    /// instead of passing the kernel's bare EINVAL on.
    fn check_direct(&self, ptr: *const u8, len: usize) -> Result<()> {
        if self.direct
            && (!(ptr as usize).is_multiple_of(FILE_LBA_NBYTES as usize)
                || !len.is_multiple_of(FILE_LBA_NBYTES as usize))
        {
            return Err(Error::misaligned(
                "data buffer",
                format!(
                    "direct I/O on {} needs an address and length aligned to {FILE_LBA_NBYTES} bytes (got address {ptr:p}, length {len}); use a buffer from Device::alloc",
                    self.path
                ),
            ));
        }
        Ok(())
    }

    /// Byte range of an LBA command, or the status to answer with.
    fn range(
        &self,
        cmd: &Command,
        grows: bool,
    ) -> Result<std::result::Result<(u64, u64), Completion>> {
        let geo = RwGeo::unbounded(FILE_LBA_NBYTES.trailing_zeros(), FILE_LBA_NBYTES as u32);
        let (off, len) = match lba_range(cmd.cdw10_11(), (cmd.cdw12 & 0xffff) as u16, &geo) {
            Ok(p) => (p.off, p.len),
            Err(_) => return Ok(Err(lba_out_of_range())),
        };
        let end = off + len;
        if len > (4096u64 << FILE_MDTS) {
            return Ok(Err(status(sct::GENERIC, sc::INVALID_FIELD)));
        }
        if !grows && !self.reaches(end)? {
            return Ok(Err(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE)));
        }
        Ok(Ok((off, len)))
    }

    /// Makes a Force Unit Access write durable before it completes.
    fn fua(&self, cmd: &Command) -> Result<()> {
        if nvmx_core::be::is_fua(cmd) {
            self.file
                .sync_data()
                .map_err(|e| Error::io("fdatasync", &self.path, e))?;
        }
        Ok(())
    }

    fn write_zeroes_at(&self, mut off: u64, mut len: u64) -> Result<()> {
        // Page aligned, so that a file opened with O_DIRECT takes it.
        #[repr(C, align(4096))]
        struct Zeroes([u8; 64 * 1024]);
        static ZEROES: Zeroes = Zeroes([0; 64 * 1024]);
        while len > 0 {
            let n = len.min(ZEROES.0.len() as u64) as usize;
            os::write_all_at(&self.file, &ZEROES.0[..n], off)
                .map_err(|e| Error::io("pwrite", &self.path, e))?;
            off += n as u64;
            len -= n as u64;
        }
        Ok(())
    }

    fn compare(&self, off: u64, expect: &[u8]) -> Result<Completion> {
        // A page-aligned buffer of our own: a file opened with O_DIRECT
        // refuses (EINVAL) a read into an unaligned heap Vec.
        let mut have = nvmx_core::buf::Buffer::new(expect.len())?;
        os::read_exact_at(&self.file, &mut have, off)
            .map_err(|e| Error::io("pread", &self.path, e))?;
        Ok(if have[..] == *expect {
            Completion::success(0)
        } else {
            status(sct::MEDIA, sc_media::COMPARE_FAILURE)
        })
    }

    fn dsm(&self, cmd: &Command, ranges: &[u8]) -> Result<Completion> {
        let nr = (cmd.cdw10 & 0xff) as usize + 1;
        if ranges.len() < nr * 16 {
            return Err(Error::short_buffer(
                "DSM range",
                ranges.len() as u64,
                nr as u64 * 16,
            ));
        }
        // Only deallocate (AD) changes data; the hints need no action.
        if cmd.cdw11 & (1 << 2) == 0 {
            return Ok(Completion::success(0));
        }
        let size = self.size()?;
        for r in ranges.chunks_exact(16).take(nr) {
            let n = u64::from(u32::from_le_bytes([r[4], r[5], r[6], r[7]]));
            let slba = u64::from_le_bytes([r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
            let (Some(off), Some(len)) = (
                slba.checked_mul(FILE_LBA_NBYTES),
                n.checked_mul(FILE_LBA_NBYTES),
            ) else {
                return Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
            };
            if off.checked_add(len).is_none_or(|e| e > size) {
                return Ok(status(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
            }
            self.write_zeroes_at(off, len)?;
        }
        Ok(Completion::success(0))
    }
}

impl SyncIo for FileNs {
    fn id(&self) -> &'static str {
        SYNC_ID
    }

    #[cfg(windows)]
    fn raw_handle(&self) -> Option<std::os::windows::io::RawHandle> {
        use std::os::windows::io::AsRawHandle;
        Some(self.file.as_raw_handle())
    }

    #[cfg(windows)]
    fn memory(&self) -> Option<Arc<dyn nvmx_core::buf::Memory>> {
        Some(Arc::new(windows_mem::WindowsMemory))
    }

    #[cfg(unix)]
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.file.as_raw_fd())
    }

    fn cmd_io(
        &self,
        cmd: &mut Command,
        data: DataBuf<'_>,
        _meta: DataBuf<'_>,
    ) -> Result<Completion> {
        // A file has no metadata: a metadata buffer is ignored, as a
        // controller ignores MPTR on a format without metadata.
        match NvmOpcode(cmd.opc) {
            NvmOpcode::FLUSH => {
                self.file
                    .sync_data()
                    .map_err(|e| Error::io("fsync", &self.path, e))?;
                Ok(Completion::success(0))
            }
            NvmOpcode::READ => {
                let (off, len) = match self.range(cmd, false)? {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let mut data = data;
                let buf = data.as_mut_slice().ok_or_else(|| {
                    Error::invalid("data buffer", "Read needs a writable data buffer")
                })?;
                let buf = short_check(buf, len)?;
                self.check_direct(buf.as_ptr(), buf.len())?;
                let r = os::read_exact_at(&self.file, buf, off);
                self.read_done("pread", r, off + len)
            }
            NvmOpcode::WRITE => {
                let (off, len) = match self.range(cmd, true)? {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let buf = data.as_slice();
                if (buf.len() as u64) < len {
                    return Err(short(buf.len(), len));
                }
                let buf = &buf[..len as usize];
                self.check_direct(buf.as_ptr(), buf.len())?;
                os::write_all_at(&self.file, buf, off)
                    .map_err(|e| Error::io("pwrite", &self.path, e))?;
                self.grew_to(off + len);
                self.fua(cmd)?;
                Ok(Completion::success(0))
            }
            NvmOpcode::COMPARE => {
                let (off, len) = match self.range(cmd, false)? {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                let buf = data.as_slice();
                if (buf.len() as u64) < len {
                    return Err(short(buf.len(), len));
                }
                self.compare(off, &buf[..len as usize])
            }
            NvmOpcode::WRITE_ZEROES => {
                let (off, len) = match self.range(cmd, true)? {
                    Ok(r) => r,
                    Err(c) => return Ok(c),
                };
                self.write_zeroes_at(off, len)?;
                self.grew_to(off + len);
                Ok(Completion::success(0))
            }
            NvmOpcode::DSM => self.dsm(cmd, data.as_slice()),
            _ => Ok(status(sct::GENERIC, sc::INVALID_OPCODE)),
        }
    }

    fn cmd_iov(
        &self,
        cmd: &mut Command,
        data: DataVec<'_, '_>,
        meta: DataBuf<'_>,
    ) -> Result<Completion> {
        let (write, total) = match (&data, NvmOpcode(cmd.opc)) {
            (DataVec::In(_), NvmOpcode::READ) => (false, data.len()),
            (DataVec::Out(_), NvmOpcode::WRITE) => (true, data.len()),
            // Other opcodes take the gather/scatter path.
            _ => return nvmx_core::be::gather_iov(self, cmd, data, meta),
        };
        let (off, len) = match self.range(cmd, write)? {
            Ok(r) => r,
            Err(c) => return Ok(c),
        };
        if (total as u64) < len {
            return Err(Error::short_buffer("data vector", total as u64, len));
        }
        if (total as u64) > len {
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
                let r = os::read_vectored_exact_at(&self.file, iov, off);
                return self.read_done("preadv", r, off + len);
            }
            DataVec::Out(iov) => {
                for s in iov.iter() {
                    self.check_direct(s.as_ptr(), s.len())?;
                }
                os::write_vectored_all_at(&self.file, iov, off)
                    .map_err(|e| Error::io("pwritev", &self.path, e))?;
                self.grew_to(off + len);
                self.fua(cmd)?;
            }
        }
        Ok(Completion::success(0))
    }
}

fn short(have: usize, need: u64) -> Error {
    Error::short_buffer("data", have as u64, need)
}

fn short_check(buf: &mut [u8], len: u64) -> Result<&mut [u8]> {
    if (buf.len() as u64) < len {
        return Err(short(buf.len(), len));
    }
    Ok(&mut buf[..len as usize])
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Compare on a file opened with O_DIRECT reads into a buffer of its
    /// own; an unaligned one made the kernel answer EINVAL.
    #[test]
    fn compare_works_with_direct_io() {
        // The worktree's target directory: a disk file system (tmpfs
        // refuses O_DIRECT at open).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("nvmx-file-compare-{}", std::process::id()));
        std::fs::write(&path, vec![0x5au8; 64 * 1024]).unwrap();
        let uri = Uri::parse(path.to_str().unwrap()).unwrap();
        let opts = Options {
            direct: true,
            ..Options::default()
        };
        let be = open(&uri, &opts).expect("open with O_DIRECT");
        let same = nvmx_core::buf::Buffer::from_slice(&[0x5au8; 4096]).unwrap();
        let mut cmd = Command::new(NvmOpcode::COMPARE.0, 1);
        cmd.set_cdw10_11(8);
        cmd.cdw12 = 7;
        let cpl = be
            .sync
            .cmd_io(&mut cmd, DataBuf::Out(&same), DataBuf::None)
            .expect("compare on a direct file");
        assert!(cpl.is_success(), "{cpl:?}");
        let mut other = nvmx_core::buf::Buffer::from_slice(&[0x5au8; 4096]).unwrap();
        other[100] = 0;
        let cpl = be
            .sync
            .cmd_io(&mut cmd, DataBuf::Out(&other), DataBuf::None)
            .unwrap();
        assert!(!cpl.is_success(), "a differing block is a compare failure");
        std::fs::remove_file(&path).unwrap();
    }
}
