//! async `io_ring`: Windows 11's IoRing, looked up at run time.
//!
//! IoRing (`CreateIoRing`, `BuildIoRingReadFile`, `SubmitIoRing`,
//! `PopIoRingCompletion`, ...) is exported by `KernelBase.dll` on Windows
//! 11 and Windows Server 2022 only (writes need IoRing version 3, Windows 11
//! 22H2). Importing it directly would keep the program from starting
//! anywhere else, so [`api`] finds the functions with `GetProcAddress` once
//! and [`probe`] turns their absence into an [`Error::Unsupported`] naming
//! IoRing: the `ioring` configuration's open fails with it, so the default
//! selection moves on to the next configuration, and a queue asked for
//! with `--async io_ring` fails with it.
//!
//! The engine registers the queue's own handle on the device (reopened
//! for overlapped I/O) as file 0 and issues reads and writes against that
//! registered file. Data buffers are passed by address: the queue hands
//! each command whatever buffer the caller gave, so there is no fixed set
//! to register. Other opcodes run through the sync interface.

use std::collections::VecDeque;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nvmx_spec::opcode::NvmOpcode;
use nvmx_spec::{Command, Completion};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Storage::FileSystem::{
    FILE_WRITE_FLAGS_NONE, HIORING, IORING_BUFFER_REF, IORING_BUFFER_REF_0, IORING_CQE,
    IORING_CREATE_ADVISORY_FLAGS_NONE, IORING_CREATE_FLAGS, IORING_CREATE_REQUIRED_FLAGS_NONE,
    IORING_HANDLE_REF, IORING_HANDLE_REF_0, IORING_REF_RAW, IORING_REF_REGISTERED,
    IORING_SQE_FLAGS, IORING_VERSION, IORING_VERSION_3, IOSQE_FLAGS_NONE,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::core::HRESULT;

use super::sys;
use crate::cbi::run_sync;
use nvmx_core::be::plan::{Refused, RwGeo, lba_out_of_range, plan_rw};
use nvmx_core::be::{AsyncEngine, EngineParams, EngineSink, RawBuf, SyncIo};
use nvmx_core::error::{Error, Result};

/// The async interface id.
pub const ID: &str = "io_ring";

type CreateIoRing = unsafe extern "system" fn(
    IORING_VERSION,
    IORING_CREATE_FLAGS,
    u32,
    u32,
    *mut HIORING,
) -> HRESULT;
type CloseIoRing = unsafe extern "system" fn(HIORING) -> HRESULT;
type BuildIoRingRegisterFileHandles =
    unsafe extern "system" fn(HIORING, u32, *const HANDLE, usize) -> HRESULT;
type BuildIoRingReadFile = unsafe extern "system" fn(
    HIORING,
    IORING_HANDLE_REF,
    IORING_BUFFER_REF,
    u32,
    u64,
    usize,
    IORING_SQE_FLAGS,
) -> HRESULT;
type BuildIoRingWriteFile = unsafe extern "system" fn(
    HIORING,
    IORING_HANDLE_REF,
    IORING_BUFFER_REF,
    u32,
    u64,
    u32,
    usize,
    IORING_SQE_FLAGS,
) -> HRESULT;
/// What `GetProcAddress` returns when it finds a function.
type Proc = unsafe extern "system" fn() -> isize;
type SubmitIoRing = unsafe extern "system" fn(HIORING, u32, u32, *mut u32) -> HRESULT;
type PopIoRingCompletion = unsafe extern "system" fn(HIORING, *mut IORING_CQE) -> HRESULT;

/// The IoRing functions of this system.
#[derive(Clone, Copy)]
pub struct Api {
    create: CreateIoRing,
    close: CloseIoRing,
    register_files: BuildIoRingRegisterFileHandles,
    read: BuildIoRingReadFile,
    write: BuildIoRingWriteFile,
    submit: SubmitIoRing,
    pop: PopIoRingCompletion,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoRing API")
    }
}

/// The names looked up, in `KernelBase.dll`.
pub const FUNCTIONS: [&str; 7] = [
    "CreateIoRing",
    "CloseIoRing",
    "BuildIoRingRegisterFileHandles",
    "BuildIoRingReadFile",
    "BuildIoRingWriteFile",
    "SubmitIoRing",
    "PopIoRingCompletion",
];

fn lookup() -> std::result::Result<Api, String> {
    let name: Vec<u16> = "KernelBase.dll\0".encode_utf16().collect();
    // SAFETY: `name` is a NUL-terminated UTF-16 string; KernelBase is
    // loaded in every Windows process, and the handle is not freed.
    let module = unsafe { GetModuleHandleW(name.as_ptr()) };
    if module.is_null() {
        return Err("KernelBase.dll is not loaded".into());
    }
    let mut found = [None; FUNCTIONS.len()];
    let mut missing = Vec::new();
    for (i, f) in FUNCTIONS.iter().enumerate() {
        let c = std::ffi::CString::new(*f).map_err(|e| e.to_string())?;
        // SAFETY: `module` is a loaded module and `c` a NUL-terminated
        // ASCII name.
        let p = unsafe { GetProcAddress(module, c.as_ptr().cast()) };
        match p {
            Some(p) => found[i] = Some(p),
            None => missing.push(*f),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "KernelBase.dll does not export {}",
            missing.join(", ")
        ));
    }
    let get = |i: usize| found[i].ok_or_else(|| format!("{} not found", FUNCTIONS[i]));
    // SAFETY: each pointer was exported under the name whose documented
    // signature the target type spells out (`ioringapi.h`).
    unsafe {
        Ok(Api {
            create: std::mem::transmute::<Proc, CreateIoRing>(get(0)?),
            close: std::mem::transmute::<Proc, CloseIoRing>(get(1)?),
            register_files: std::mem::transmute::<Proc, BuildIoRingRegisterFileHandles>(get(2)?),
            read: std::mem::transmute::<Proc, BuildIoRingReadFile>(get(3)?),
            write: std::mem::transmute::<Proc, BuildIoRingWriteFile>(get(4)?),
            submit: std::mem::transmute::<Proc, SubmitIoRing>(get(5)?),
            pop: std::mem::transmute::<Proc, PopIoRingCompletion>(get(6)?),
        })
    }
}

/// The IoRing functions, looked up once; the error says which are missing.
pub fn api() -> Result<&'static Api> {
    static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();
    API.get_or_init(lookup).as_ref().map_err(|why| {
        Error::unsupported(
            ID,
            format!(
                "IoRing on this system ({why}): IoRing needs Windows 11 or Windows Server 2022"
            ),
        )
    })
}

/// Whether this system has IoRing: `Ok` or the unsupported error that
/// makes the `ioring` configuration step aside.
pub fn probe() -> Result<()> {
    api().map(|_| ())
}

fn hr(what: &'static str, r: HRESULT) -> Result<()> {
    if r < 0 {
        return Err(Error::io(
            what,
            ID,
            std::io::Error::other(format!("HRESULT {:#010x}", r as u32)),
        ));
    }
    Ok(())
}

/// The `io_ring` engine.
pub struct IoRing {
    api: &'static Api,
    ring: HIORING,
    _file: Arc<OwnedHandle>,
    sync: Arc<dyn SyncIo>,
    geo: RwGeo,
    early: VecDeque<(u32, Result<Completion>)>,
    /// Bytes each in-flight slot asked for, to tell a short transfer.
    lens: Box<[u32]>,
    unsubmitted: u32,
    inflight: u32,
}

// SAFETY: the ring handle and the in-flight buffers belong to this engine
// alone; IoRing handles may be used from any thread, one at a time.
unsafe impl Send for IoRing {}

/// User data of the file registration entry (slots are below 4096).
const REGISTER_TAG: usize = usize::MAX;

/// Creates an `io_ring` engine, or fails with the unsupported error where
/// the system has no IoRing.
pub fn new_engine(p: &EngineParams<'_>) -> Result<Box<dyn AsyncEngine>> {
    let api = api()?;
    let h = p.sync.raw_handle().ok_or_else(|| {
        Error::unsupported(
            ID,
            format!("this device: the {} interface has no handle", p.sync.id()),
        )
    })?;
    nvmx_core::be::refuse_extended_lba(ID, p)?;
    let file = Arc::new(
        sys::reopen_overlapped(h, p.opts.direct).map_err(|e| Error::io("ReOpenFile", ID, e))?,
    );
    let mut ring: HIORING = std::ptr::null_mut();
    let flags = IORING_CREATE_FLAGS {
        Required: IORING_CREATE_REQUIRED_FLAGS_NONE,
        Advisory: IORING_CREATE_ADVISORY_FLAGS_NONE,
    };
    // SAFETY: `ring` is a valid out pointer; sizes are the queue's.
    let r = unsafe {
        (api.create)(
            IORING_VERSION_3,
            flags,
            p.capacity,
            p.capacity * 2,
            &mut ring,
        )
    };
    hr("CreateIoRing (version 3, Windows 11 22H2)", r)?;
    // Dropped on an error below, which closes the ring.
    let e = IoRing {
        api,
        ring,
        _file: Arc::clone(&file),
        sync: Arc::clone(p.sync),
        // IoRing reads and writes move data only: blocks of `1 << ssw`.
        geo: RwGeo::unbounded(p.ssw, 1u32.checked_shl(p.ssw).unwrap_or(0)),
        early: VecDeque::with_capacity(p.capacity as usize),
        lens: vec![0; p.capacity as usize].into_boxed_slice(),
        unsubmitted: 0,
        inflight: 0,
    };
    let handles = [file.as_raw_handle() as HANDLE];
    // SAFETY: the handle array outlives the submission below, which waits
    // for the registration to complete.
    hr("BuildIoRingRegisterFileHandles", unsafe {
        (api.register_files)(ring, 1, handles.as_ptr(), REGISTER_TAG)
    })?;
    let mut submitted = 0u32;
    // SAFETY: the ring is open; wait for the one entry.
    hr("SubmitIoRing", unsafe {
        (api.submit)(ring, 1, 5000, &mut submitted)
    })?;
    let mut cqe = IORING_CQE::default();
    // SAFETY: `cqe` is a valid out pointer.
    let r = unsafe { (api.pop)(ring, &mut cqe) };
    hr("PopIoRingCompletion", r)?;
    hr("IoRing file registration", cqe.ResultCode)?;
    Ok(Box::new(e))
}

impl IoRing {
    fn flush(&mut self, wait: u32, ms: u32) -> Result<()> {
        if self.unsubmitted == 0 && wait == 0 {
            return Ok(());
        }
        let mut n = 0u32;
        // SAFETY: the ring is open; `n` is a valid out pointer; the buffers
        // of the entries are the queue's in-flight slots.
        hr("SubmitIoRing", unsafe {
            (self.api.submit)(self.ring, wait, ms, &mut n)
        })?;
        self.inflight += self.unsubmitted;
        self.unsubmitted = 0;
        Ok(())
    }

    fn reap(&mut self, max: u32, ms: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        let mut n = 0;
        while max == 0 || n < max {
            let Some((slot, res)) = self.early.pop_front() else {
                break;
            };
            sink.complete(slot, res);
            n += 1;
        }
        let wait = u32::from(n == 0 && ms > 0 && (self.inflight + self.unsubmitted) > 0);
        self.flush(wait, ms)?;
        while (max == 0 || n < max) && self.inflight > 0 {
            let mut cqe = IORING_CQE::default();
            // SAFETY: the ring is open; `cqe` is a valid out pointer.
            let r = unsafe { (self.api.pop)(self.ring, &mut cqe) };
            hr("PopIoRingCompletion", r)?;
            if r == 1 {
                break; // S_FALSE: nothing to pop
            }
            if cqe.UserData == REGISTER_TAG {
                continue;
            }
            self.inflight -= 1;
            let slot = cqe.UserData as u32;
            let want = self.lens.get(slot as usize).copied().unwrap_or(0) as usize;
            let res = if cqe.ResultCode < 0 {
                Err(Error::io(
                    "IoRing read/write",
                    ID,
                    std::io::Error::other(format!("HRESULT {:#010x}", cqe.ResultCode as u32)),
                ))
            } else if cqe.Information < want {
                // Fewer bytes than asked: the range runs past the end of
                // the file or drive, as the file interface answers.
                Ok(lba_out_of_range())
            } else {
                Ok(Completion::success(0))
            };
            sink.complete(slot, res);
            n += 1;
        }
        Ok(n)
    }
}

// SAFETY: a slot is reported from its IoRing completion entry, when the
// kernel is done with the buffer, or from `early` for commands that never
// reached the ring; `submit` returns `Err` only when building the entry
// failed, so the ring never saw the buffer (clauses 1-3).
unsafe impl AsyncEngine for IoRing {
    fn id(&self) -> &'static str {
        ID
    }

    fn carries_metadata(&self, opc: u8) -> bool {
        !nvmx_core::be::is_plain_rw(opc)
    }

    unsafe fn submit(
        &mut self,
        slot: u32,
        cmd: &Command,
        data: RawBuf,
        meta: RawBuf,
    ) -> Result<()> {
        if slot as usize >= self.lens.len() {
            return Err(Error::out_of_range(
                "slot",
                format!("{slot} is beyond the engine's {} slots", self.lens.len()),
            ));
        }
        let write = match NvmOpcode(cmd.opc) {
            NvmOpcode::READ => false,
            NvmOpcode::WRITE if !nvmx_core::be::is_fua(cmd) => true,
            _ => {
                // SAFETY: `submit`'s contract makes the buffers valid and
                // ours until the slot is reported.
                let res = unsafe { run_sync(&*self.sync, cmd, data, meta) };
                self.early.push_back((slot, res));
                return Ok(());
            }
        };
        // Checked once for every engine: a huge SLBA must not wrap to a
        // small offset.
        let plan = plan_rw(cmd, data, &self.geo).map_err(Refused::completion);
        let (off, len) = match plan.map(|p| (p.off, u32::try_from(p.len))) {
            Ok((off, Ok(len))) => (off, len),
            Ok((_, Err(_))) => {
                let e = Error::TooLarge {
                    what: "transfer",
                    len: u64::from(cmd.cdw12 & 0xffff) + 1,
                    limit: u64::from(u32::MAX.checked_shr(self.geo.ssw).unwrap_or(0)),
                    limit_name: "blocks one IoRing request moves",
                };
                self.early.push_back((slot, Err(e)));
                return Ok(());
            }
            Err(res) => {
                self.early.push_back((slot, res));
                return Ok(());
            }
        };
        let file = IORING_HANDLE_REF {
            Kind: IORING_REF_REGISTERED,
            Handle: IORING_HANDLE_REF_0 { Index: 0 },
        };
        let buf = IORING_BUFFER_REF {
            Kind: IORING_REF_RAW,
            Buffer: IORING_BUFFER_REF_0 {
                Address: data.ptr.cast(),
            },
        };
        // SAFETY: the buffer stays valid and the engine's until the slot is
        // reported (the caller's contract); the ring copies the entry.
        let r = unsafe {
            if write {
                (self.api.write)(
                    self.ring,
                    file,
                    buf,
                    len,
                    off,
                    FILE_WRITE_FLAGS_NONE as u32,
                    slot as usize,
                    IOSQE_FLAGS_NONE,
                )
            } else {
                (self.api.read)(
                    self.ring,
                    file,
                    buf,
                    len,
                    off,
                    slot as usize,
                    IOSQE_FLAGS_NONE,
                )
            }
        };
        hr("BuildIoRingReadFile/WriteFile", r)?;
        self.lens[slot as usize] = len;
        self.unsubmitted += 1;
        Ok(())
    }

    fn poke(&mut self, max: u32, sink: &mut EngineSink<'_>) -> Result<u32> {
        self.reap(max, 0, sink)
    }

    fn wait(&mut self, timeout: Duration, sink: &mut EngineSink<'_>) -> Result<u32> {
        let start = Instant::now();
        let ms = u32::try_from(timeout.as_millis())
            .unwrap_or(u32::MAX - 1)
            .max(1);
        let n = self.reap(0, ms, sink)?;
        if n == 0 && start.elapsed() < timeout {
            return self.reap(0, 0, sink);
        }
        Ok(n)
    }
}

impl Drop for IoRing {
    fn drop(&mut self) {
        if self.ring.is_null() {
            return;
        }
        if self.inflight + self.unsubmitted > 0 {
            // Entries may still be using their buffers: leak the ring
            // rather than close it under them.
            return;
        }
        // SAFETY: the ring is open and nothing is in flight.
        unsafe { (self.api.close)(self.ring) };
    }
}
