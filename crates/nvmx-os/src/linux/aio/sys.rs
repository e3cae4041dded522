//! The kernel's native AIO interface, without libaio: the `iocb` and
//! `io_event` layouts of `linux/aio_abi.h`, the completion ring the kernel
//! maps into the process, and an [`IoContext`] that owns one context.
//!
//! # The context and its ring
//!
//! `io_setup(nr, &ctx)` creates a context able to hold `nr` requests in
//! flight. The value it stores in `ctx` is not an opaque handle: it is the
//! address of a ring of completion events that the kernel has mapped into
//! the process. The ring starts with a 32-byte header (`id`, `nr`, `head`,
//! `tail`, `magic`, `compat_features`, `incompat_features`,
//! `header_length`) followed by `nr` [`IoEvent`]s. The kernel appends at
//! `tail`; whoever consumes advances `head`. `io_getevents` consumes in the
//! kernel; a process may also consume in user space by reading events
//! between `head` and `tail` and storing the new `head`, which saves a
//! system call per reap. The kernel has supported that since Linux 3.16,
//! when it learned to re-read `head` to recount free request slots.
//!
//! [`IoContext::reap_user`] does that when the header checks out (the magic
//! `0xa10a10a1`, no incompatible features, a 32-byte header); otherwise it
//! answers `None` and the caller uses [`IoContext::get_events`].
//!
//! `io_destroy` cancels what it can, waits for every request still in
//! flight, and unmaps the ring; [`IoContext`]'s `Drop` calls it.

use std::io;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// `IOCB_CMD_PREAD`: read `aio_nbytes` at `aio_offset` into `aio_buf`.
pub const IOCB_CMD_PREAD: u16 = 0;
/// `IOCB_CMD_PWRITE`: write `aio_nbytes` from `aio_buf` at `aio_offset`.
pub const IOCB_CMD_PWRITE: u16 = 1;
/// `IOCB_CMD_FDSYNC`: `fdatasync` the file (Linux 4.18 and later).
pub const IOCB_CMD_FDSYNC: u16 = 3;

/// `IOCB_FLAG_RESFD`: on completion, add 1 to the eventfd in `aio_resfd`.
pub const IOCB_FLAG_RESFD: u32 = 1 << 0;

/// The value of a valid ring header's `magic` field.
pub const AIO_RING_MAGIC: u32 = 0xa10a_10a1;

/// One request as `io_submit` reads it (`struct iocb`, 64 bytes).
///
/// The kernel copies it during `io_submit`, so the struct itself may be
/// reused as soon as the call returns; the buffer it points to may not.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iocb {
    /// Returned unchanged in [`IoEvent::data`]; nvmx stores the slot.
    pub aio_data: u64,
    /// Set by the kernel (little-endian order: key, then flags).
    #[cfg(target_endian = "little")]
    pub aio_key: u32,
    /// `RWF_*` flags for reads and writes.
    #[cfg(target_endian = "little")]
    pub aio_rw_flags: i32,
    /// `RWF_*` flags for reads and writes (big-endian order: flags, then
    /// key).
    #[cfg(target_endian = "big")]
    pub aio_rw_flags: i32,
    /// Set by the kernel.
    #[cfg(target_endian = "big")]
    pub aio_key: u32,
    /// One of the `IOCB_CMD_*` values.
    pub aio_lio_opcode: u16,
    /// I/O priority, with `IOCB_FLAG_IOPRIO`.
    pub aio_reqprio: i16,
    /// The file descriptor.
    pub aio_fildes: u32,
    /// Buffer address.
    pub aio_buf: u64,
    /// Buffer length in bytes.
    pub aio_nbytes: u64,
    /// Byte offset in the file.
    pub aio_offset: i64,
    /// Reserved; must be 0.
    pub aio_reserved2: u64,
    /// `IOCB_FLAG_*` values.
    pub aio_flags: u32,
    /// The eventfd signalled on completion, with [`IOCB_FLAG_RESFD`].
    pub aio_resfd: u32,
}

/// One completion (`struct io_event`, 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoEvent {
    /// The request's [`Iocb::aio_data`].
    pub data: u64,
    /// The user address of the request's `iocb`.
    pub obj: u64,
    /// Bytes transferred, or a negated errno.
    pub res: i64,
    /// Secondary result (0 for reads, writes and syncs).
    pub res2: i64,
}

/// The header of the completion ring mapped at the context address.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct RingHeader {
    id: u32,
    nr: u32,
    head: u32,
    tail: u32,
    magic: u32,
    compat_features: u32,
    incompat_features: u32,
    header_length: u32,
}

const _: () = assert!(size_of::<Iocb>() == 64);
const _: () = assert!(size_of::<IoEvent>() == 32);
const _: () = assert!(size_of::<RingHeader>() == 32);
const _: () = assert!(offset_of!(Iocb, aio_lio_opcode) == 16 && offset_of!(Iocb, aio_resfd) == 60);

/// An AIO context: created by `io_setup`, destroyed (after its in-flight
/// requests finish) by `io_destroy` on drop.
#[derive(Debug)]
pub struct IoContext {
    ctx: libc::c_ulong,
    /// Events in the user-space ring when it may be read here.
    ring_nr: Option<u32>,
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

impl IoContext {
    /// Creates a context for up to `nr_events` requests in flight.
    pub fn new(nr_events: u32) -> io::Result<IoContext> {
        let mut ctx: libc::c_ulong = 0;
        // SAFETY: io_setup writes one aio_context_t (an unsigned long) to
        // the pointer, which points to a live, zeroed local as required.
        let r =
            unsafe { libc::syscall(libc::SYS_io_setup, nr_events as libc::c_long, &raw mut ctx) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut c = IoContext { ctx, ring_nr: None };
        c.ring_nr = c.check_ring();
        Ok(c)
    }

    /// The ring's event count when its header is one this code knows how
    /// to read; `None` sends every reap through `io_getevents`.
    fn check_ring(&self) -> Option<u32> {
        if self.ctx == 0 {
            return None;
        }
        let h = self.ctx as *const RingHeader;
        // SAFETY: a successful io_setup maps the ring, header first, at the
        // context address, readable by this process until io_destroy (in
        // our Drop). The kernel may write it concurrently, hence the
        // volatile read of a plain-old-data copy.
        let hdr = unsafe { h.read_volatile() };
        let ok = hdr.magic == AIO_RING_MAGIC
            && hdr.incompat_features == 0
            && hdr.header_length as usize == size_of::<RingHeader>()
            && hdr.nr > 0;
        ok.then_some(hdr.nr)
    }

    /// Whether [`IoContext::reap_user`] reads the ring in user space.
    pub fn reaps_in_user_space(&self) -> bool {
        self.ring_nr.is_some()
    }

    /// Makes every reap go through `io_getevents` (for tests and for
    /// comparing the two paths).
    pub fn disable_user_reaping(&mut self) {
        self.ring_nr = None;
    }

    /// Submits requests; returns how many the kernel took, which may be
    /// fewer than given. An error concerns the first request not taken.
    ///
    /// # Safety
    /// Every pointer must point to a valid [`Iocb`] for the duration of the
    /// call. Each request's buffer (`aio_buf`, `aio_nbytes` bytes) must stay
    /// valid for the transfer's direction, and untouched by anyone else,
    /// until its event has been reaped or this context is dropped.
    pub unsafe fn submit(&self, iocbs: &mut [*mut Iocb]) -> io::Result<usize> {
        if iocbs.is_empty() {
            return Ok(0);
        }
        // SAFETY: the kernel reads `len` pointers from the array and one
        // iocb through each; the caller vouches for the iocbs and for the
        // buffers they name, and the array outlives the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_submit,
                self.ctx,
                iocbs.len() as libc::c_long,
                iocbs.as_mut_ptr(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }

    /// Waits for at least `min_nr` events (none: returns at once), up to
    /// `timeout` (`None`: no limit), and stores up to `events.len()` of
    /// them. Returns how many were stored; an interrupted wait returns 0.
    pub fn get_events(
        &self,
        min_nr: usize,
        events: &mut [IoEvent],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let ts = timeout.map(timespec);
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the kernel writes at most `events.len()` io_events to
        // the exclusively borrowed slice and reads the timespec, which lives
        // on this stack frame for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_getevents,
                self.ctx,
                min_nr.min(events.len()) as libc::c_long,
                events.len() as libc::c_long,
                events.as_mut_ptr(),
                tsp,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(r as usize)
    }

    /// Copies ready events from the ring without a system call and marks
    /// them consumed; returns how many, or `None` when the ring cannot be
    /// read here (use [`IoContext::get_events`]).
    pub fn reap_user(&mut self, events: &mut [IoEvent]) -> Option<usize> {
        let nr = self.ring_nr?;
        let hdr = self.ctx as *mut RingHeader;
        // SAFETY: the ring is mapped read-write at the context address
        // until io_destroy (our Drop), `head` and `tail` are aligned u32s
        // in its header, and the kernel only ever updates them as whole
        // words, so atomic access is the right model for them.
        let (head_at, tail_at) = unsafe {
            (
                AtomicU32::from_ptr(&raw mut (*hdr).head),
                AtomicU32::from_ptr(&raw mut (*hdr).tail),
            )
        };
        // `&mut self`: no other thread reaps this context, and the kernel
        // moves `head` only inside our own io_getevents calls.
        let mut head = head_at.load(Ordering::Acquire) % nr;
        // Acquire pairs with the kernel's write barrier between filling an
        // event and publishing the new tail.
        let tail = tail_at.load(Ordering::Acquire) % nr;
        // SAFETY: the events follow the 32-byte header in the same mapping.
        let first = unsafe { hdr.add(1) }.cast::<IoEvent>();
        let mut n = 0;
        while head != tail && n < events.len() {
            // SAFETY: `head < nr` and the kernel sized the mapping for `nr`
            // events (it reported `nr` at setup and never changes it); the
            // event between head and tail is complete (see the Acquire
            // above) and the kernel does not rewrite it until `head` passes
            // it.
            events[n] = unsafe { first.add(head as usize).read_volatile() };
            head = (head + 1) % nr;
            n += 1;
        }
        if n > 0 {
            // Release: our reads of the events happen before the kernel can
            // see their slots as free.
            head_at.store(head, Ordering::Release);
        }
        Some(n)
    }

    /// Whether the ring holds unconsumed events (`None`: not readable here).
    pub fn ring_has_events(&self) -> Option<bool> {
        let nr = self.ring_nr?;
        let hdr = self.ctx as *mut RingHeader;
        // SAFETY: as in `reap_user`.
        let (head_at, tail_at) = unsafe {
            (
                AtomicU32::from_ptr(&raw mut (*hdr).head),
                AtomicU32::from_ptr(&raw mut (*hdr).tail),
            )
        };
        Some(head_at.load(Ordering::Acquire) % nr != tail_at.load(Ordering::Acquire) % nr)
    }
}

impl Drop for IoContext {
    fn drop(&mut self) {
        // SAFETY: destroys the context this value owns; io_destroy waits for
        // the requests still in flight before unmapping the ring, and
        // nothing uses `ctx` afterwards.
        let _ = unsafe { libc::syscall(libc::SYS_io_destroy, self.ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iocb_is_64_bytes_with_the_kernel_field_offsets() {
        assert_eq!(size_of::<Iocb>(), 64);
        assert_eq!(std::mem::align_of::<Iocb>(), 8);
        assert_eq!(offset_of!(Iocb, aio_data), 0);
        #[cfg(target_endian = "little")]
        {
            assert_eq!(offset_of!(Iocb, aio_key), 8);
            assert_eq!(offset_of!(Iocb, aio_rw_flags), 12);
        }
        #[cfg(target_endian = "big")]
        {
            assert_eq!(offset_of!(Iocb, aio_rw_flags), 8);
            assert_eq!(offset_of!(Iocb, aio_key), 12);
        }
        assert_eq!(offset_of!(Iocb, aio_lio_opcode), 16);
        assert_eq!(offset_of!(Iocb, aio_reqprio), 18);
        assert_eq!(offset_of!(Iocb, aio_fildes), 20);
        assert_eq!(offset_of!(Iocb, aio_buf), 24);
        assert_eq!(offset_of!(Iocb, aio_nbytes), 32);
        assert_eq!(offset_of!(Iocb, aio_offset), 40);
        assert_eq!(offset_of!(Iocb, aio_reserved2), 48);
        assert_eq!(offset_of!(Iocb, aio_flags), 56);
        assert_eq!(offset_of!(Iocb, aio_resfd), 60);
    }

    #[test]
    fn io_event_is_32_bytes_with_the_kernel_field_offsets() {
        assert_eq!(size_of::<IoEvent>(), 32);
        assert_eq!(offset_of!(IoEvent, data), 0);
        assert_eq!(offset_of!(IoEvent, obj), 8);
        assert_eq!(offset_of!(IoEvent, res), 16);
        assert_eq!(offset_of!(IoEvent, res2), 24);
    }

    #[test]
    fn ring_header_matches_the_kernel() {
        assert_eq!(size_of::<RingHeader>(), 32);
        assert_eq!(offset_of!(RingHeader, nr), 4);
        assert_eq!(offset_of!(RingHeader, head), 8);
        assert_eq!(offset_of!(RingHeader, tail), 12);
        assert_eq!(offset_of!(RingHeader, magic), 16);
        assert_eq!(offset_of!(RingHeader, header_length), 28);
    }

    #[test]
    fn this_kernel_maps_a_ring_with_the_known_header() {
        let c = IoContext::new(8).expect("io_setup");
        assert!(c.ctx != 0);
        assert!(
            c.reaps_in_user_space(),
            "ring header not recognised on this kernel"
        );
        assert_eq!(c.ring_has_events(), Some(false));
    }

    /// Reads /dev/zero with raw iocbs, reaping once through the ring and
    /// once through io_getevents.
    fn read_dev_zero(user: bool) {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open("/dev/zero").expect("open /dev/zero");
        let mut c = IoContext::new(4).expect("io_setup");
        if !user {
            c.disable_user_reaping();
        }
        let mut bufs = [[0xffu8; 512]; 3];
        let mut cbs: Vec<Iocb> = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, b)| Iocb {
                aio_data: 100 + i as u64,
                aio_lio_opcode: IOCB_CMD_PREAD,
                aio_fildes: f.as_raw_fd() as u32,
                aio_buf: b.as_mut_ptr() as u64,
                aio_nbytes: b.len() as u64,
                ..Default::default()
            })
            .collect();
        let mut ptrs: Vec<*mut Iocb> = cbs.iter_mut().map(|c| c as *mut Iocb).collect();
        // SAFETY: the iocbs and buffers outlive the reaping loop below.
        let n = unsafe { c.submit(&mut ptrs) }.expect("io_submit");
        assert_eq!(n, 3);
        let mut evs = [IoEvent::default(); 4];
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.len() < 3 && std::time::Instant::now() < deadline {
            let k = if user {
                c.reap_user(&mut evs).expect("ring readable")
            } else {
                c.get_events(1, &mut evs, Some(Duration::from_millis(100)))
                    .expect("io_getevents")
            };
            got.extend_from_slice(&evs[..k]);
        }
        got.sort_by_key(|e| e.data);
        assert_eq!(
            got.iter().map(|e| e.data).collect::<Vec<_>>(),
            [100, 101, 102]
        );
        assert!(got.iter().all(|e| e.res == 512 && e.res2 == 0), "{got:?}");
        assert_eq!(got[0].obj, ptrs[0] as u64, "obj is the iocb's address");
        assert!(bufs.iter().all(|b| b.iter().all(|&x| x == 0)));
        if user {
            assert_eq!(c.ring_has_events(), Some(false));
        }
    }

    #[test]
    fn raw_reads_of_dev_zero_reaped_from_the_user_ring() {
        read_dev_zero(true);
    }

    #[test]
    fn raw_reads_of_dev_zero_reaped_with_io_getevents() {
        read_dev_zero(false);
    }

    #[test]
    fn get_events_times_out_with_nothing_in_flight() {
        let c = IoContext::new(1).expect("io_setup");
        let mut evs = [IoEvent::default(); 1];
        let t = std::time::Instant::now();
        let n = c
            .get_events(1, &mut evs, Some(Duration::from_millis(20)))
            .expect("io_getevents");
        assert_eq!(n, 0);
        assert!(t.elapsed() >= Duration::from_millis(15));
    }
}
