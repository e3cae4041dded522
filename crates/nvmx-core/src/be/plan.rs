//! The one checked planner for plain reads and writes.
//!
//! Interfaces that turn an NVM Read or Write into OS I/O (io_uring,
//! libaio, POSIX aio, Windows IOCP and IoRing, the psync file, block and
//! Windows disk interfaces) all need the same thing from a command: the
//! byte offset `slba << ssw` and the length `(nlb + 1) * lba_nbytes`. A
//! raw `Queue::submit` or `Device::cmd_io` can carry any
//! SLBA, so each step is overflow-checked here, once: a range that
//! wraps, runs past the namespace or past the largest offset the OS takes
//! is refused with LBA Out of Range, the status a controller answers,
//! instead of becoming a small offset that reads or writes the wrong
//! place. The async engines also hand the buffer's address to the kernel,
//! so their plan checks the buffer against the length as well.

use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion, Status};

use super::RawBuf;
use crate::error::{Error, Result};

/// The largest byte offset (end of a transfer) the OS calls take: file
/// offsets are signed 64-bit (`off_t`, `LARGE_INTEGER`), and -1 means
/// "the current position" to some of them.
pub const OS_MAX_END: u64 = i64::MAX as u64;

/// What a target needs to turn LBAs into bytes.
#[derive(Clone, Copy, Debug)]
pub struct RwGeo {
    /// log2 of the bytes one LBA spans on the target: the byte offset is
    /// `slba << ssw`.
    pub ssw: u32,
    /// Bytes per block in the data buffer (data, plus metadata when it is
    /// interleaved).
    pub lba_nbytes: u32,
    /// Blocks on the target; `u64::MAX` for a target without a fixed end
    /// (a file grows on write).
    pub nsze: u64,
    /// The largest end offset (`off + len`) the OS call takes.
    pub max_end: u64,
}

impl RwGeo {
    /// A target without a fixed end behind the OS's file offsets.
    pub const fn unbounded(ssw: u32, lba_nbytes: u32) -> RwGeo {
        RwGeo {
            ssw,
            lba_nbytes,
            nsze: u64::MAX,
            max_end: OS_MAX_END,
        }
    }
}

/// The bytes a plain Read or Write moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RwPlan {
    /// Byte offset on the target.
    pub off: u64,
    /// Bytes moved; `off + len` does not overflow and is within the
    /// target's `max_end`.
    pub len: u64,
}

/// Why a read or write is answered before it reaches the OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The LBA range wraps, passes the namespace's end or any offset the
    /// OS takes: the command completes with LBA Out of Range.
    LbaOutOfRange,
    /// The data buffer is shorter than the command moves.
    ShortBuffer {
        /// The buffer's length.
        len: u64,
        /// The bytes the command moves.
        need: u64,
    },
}

impl Refused {
    /// What the command completes with: LBA Out of Range as a device
    /// answers it (an `Ok` completion with that status, Do Not Retry),
    /// a short buffer as [`Error::ShortBuffer`]. Every interface answers
    /// a refused plan through this, the engines as an early completion.
    #[cold]
    pub fn completion(self) -> Result<Completion> {
        match self {
            Refused::LbaOutOfRange => Ok(lba_out_of_range()),
            Refused::ShortBuffer { len, need } => Err(Error::ShortBuffer {
                what: "data",
                len,
                need,
            }),
        }
    }
}

/// The completion of a command whose LBA range the target does not have.
pub fn lba_out_of_range() -> Completion {
    Completion::with_status(Status::new(sct::GENERIC, sc::LBA_OUT_OF_RANGE).dnr())
}

/// The byte range of `nlb + 1` blocks at `slba` on `geo`, every step
/// overflow-checked.
#[inline]
pub fn lba_range(slba: u64, nlb: u16, geo: &RwGeo) -> Result<RwPlan, Refused> {
    let nblocks = u64::from(nlb) + 1;
    let in_ns = slba.checked_add(nblocks).is_some_and(|end| end <= geo.nsze);
    let len = nblocks.checked_mul(u64::from(geo.lba_nbytes));
    let off = slba.checked_mul(1u64.checked_shl(geo.ssw).unwrap_or(0));
    match (in_ns, off, len) {
        // A zero-sized block (a shift of 64 or more) is no geometry.
        (true, Some(off), Some(len)) if geo.ssw < 64 && geo.lba_nbytes > 0 => {
            match off.checked_add(len) {
                Some(end) if end <= geo.max_end => Ok(RwPlan { off, len }),
                _ => Err(Refused::LbaOutOfRange),
            }
        }
        _ => Err(Refused::LbaOutOfRange),
    }
}

/// Plans a plain Read or Write taken from a queue: the command's range
/// on `geo` and its data buffer, which must hold the `len` bytes the
/// engine hands to the kernel.
#[inline]
pub fn plan_rw(cmd: &Command, data: RawBuf, geo: &RwGeo) -> Result<RwPlan, Refused> {
    let plan = lba_range(cmd.cdw10_11(), (cmd.cdw12 & 0xffff) as u16, geo)?;
    let have = if data.is_none() { 0 } else { data.len as u64 };
    if have < plan.len {
        return Err(Refused::ShortBuffer {
            len: have,
            need: plan.len,
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn geo(ssw: u32, lba_nbytes: u32, nsze: u64) -> RwGeo {
        RwGeo {
            ssw,
            lba_nbytes,
            nsze,
            max_end: OS_MAX_END,
        }
    }

    fn rw(slba: u64, nlb: u16) -> Command {
        nvmx_spec::cmd::NvmRw {
            opc: 0x02,
            nsid: 1,
            slba,
            nlb,
            ..Default::default()
        }
        .to_command()
    }

    fn buf(len: usize) -> RawBuf {
        RawBuf {
            ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(),
            len,
            id: 1,
        }
    }

    /// The plan in exact (128-bit) arithmetic: what `lba_range` must
    /// agree with.
    fn exact(slba: u64, nlb: u16, g: &RwGeo) -> Option<RwPlan> {
        let n = u128::from(nlb) + 1;
        let off = u128::from(slba) << g.ssw.min(64);
        let len = n * u128::from(g.lba_nbytes);
        let ok = g.ssw < 64
            && g.lba_nbytes > 0
            && u128::from(slba) + n <= u128::from(g.nsze)
            && off + len <= u128::from(g.max_end);
        ok.then_some(RwPlan {
            off: off as u64,
            len: len as u64,
        })
    }

    #[test]
    fn slba_near_2_pow_64_is_out_of_range() {
        let g = RwGeo::unbounded(9, 512);
        for slba in [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 55) + 3, 1 << 54] {
            assert_eq!(
                lba_range(slba, 0, &g),
                Err(Refused::LbaOutOfRange),
                "{slba:#x}"
            );
        }
        // slba + nlb wraps past 2^64.
        assert_eq!(lba_range(u64::MAX - 3, 7, &g), Err(Refused::LbaOutOfRange));
        // The last blocks below the largest offset are fine.
        let last = (OS_MAX_END >> 9) - 8;
        assert_eq!(
            lba_range(last, 7, &g),
            Ok(RwPlan {
                off: last << 9,
                len: 4096
            })
        );
        assert_eq!(lba_range(last, 8, &g), Err(Refused::LbaOutOfRange));
    }

    #[test]
    fn the_namespace_end_is_exclusive() {
        let g = geo(12, 4096, 100);
        assert_eq!(
            lba_range(99, 0, &g),
            Ok(RwPlan {
                off: 99 << 12,
                len: 4096
            })
        );
        assert_eq!(lba_range(100, 0, &g), Err(Refused::LbaOutOfRange));
        assert_eq!(lba_range(96, 4, &g), Err(Refused::LbaOutOfRange));
    }

    #[test]
    fn a_short_or_missing_buffer_is_refused_with_both_lengths() {
        let g = geo(9, 520, 1000);
        assert_eq!(
            plan_rw(&rw(0, 1), buf(1039), &g),
            Err(Refused::ShortBuffer {
                len: 1039,
                need: 1040
            })
        );
        assert_eq!(
            plan_rw(&rw(0, 1), RawBuf::NONE, &g),
            Err(Refused::ShortBuffer { len: 0, need: 1040 })
        );
        assert_eq!(
            plan_rw(&rw(1, 1), buf(1040), &g),
            Ok(RwPlan {
                off: 512,
                len: 1040
            })
        );
        let e = Refused::ShortBuffer { len: 1, need: 2 }.completion();
        assert!(matches!(
            e,
            Err(Error::ShortBuffer {
                len: 1,
                need: 2,
                ..
            })
        ));
        let st = Refused::LbaOutOfRange.completion().unwrap().status();
        assert_eq!((st.sct, st.sc), (sct::GENERIC, sc::LBA_OUT_OF_RANGE));
    }

    fn extreme_u64() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            (0u64..4096).prop_map(|d| u64::MAX - d),
            (0u32..64, 0u64..16).prop_map(|(b, d)| (1u64 << b).wrapping_sub(d)),
            (0u32..64, 0u64..16).prop_map(|(b, d)| (1u64 << b).wrapping_add(d)),
            0u64..1024,
        ]
    }

    proptest! {
        /// The planner agrees with exact arithmetic on every geometry,
        /// extreme SLBAs, NLBs, block sizes, metadata sizes and bounds:
        /// whatever it accepts is in range, nothing it refuses was.
        #[test]
        fn plans_match_exact_arithmetic(
            slba in extreme_u64(),
            nlb in prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
            ssw in prop_oneof![9u32..=16, 0u32..=70],
            ms in prop_oneof![Just(0u32), Just(8), Just(64), any::<u32>()],
            nsze in extreme_u64(),
            max_end in prop_oneof![Just(OS_MAX_END), Just(u64::MAX), extreme_u64()],
            have in prop_oneof![Just(usize::MAX), any::<usize>(), 0usize..1 << 26],
        ) {
            let data = 1u64.checked_shl(ssw).unwrap_or(0);
            let lba_nbytes = u32::try_from(data).unwrap_or(u32::MAX).wrapping_add(ms);
            let g = RwGeo { ssw, lba_nbytes, nsze, max_end };
            let want = exact(slba, nlb, &g);
            let got = lba_range(slba, nlb, &g);
            prop_assert_eq!(got.ok(), want);
            match (plan_rw(&rw(slba, nlb), buf(have), &g), want) {
                (Ok(p), Some(w)) => {
                    prop_assert_eq!(p, w);
                    prop_assert!(have as u64 >= p.len);
                    prop_assert!(p.off.checked_add(p.len).is_some_and(|e| e <= max_end));
                }
                (Err(Refused::ShortBuffer { len, need }), Some(w)) => {
                    prop_assert_eq!((len, need), (have as u64, w.len));
                    prop_assert!(len < need);
                }
                (Err(Refused::LbaOutOfRange), None) => {}
                (r, w) => prop_assert!(false, "plan {:?}, exact {:?}", r, w),
            }
        }
    }
}
