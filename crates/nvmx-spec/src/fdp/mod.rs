//! Flexible Data Placement (NVMe 2.0 TP4146): the FDP log pages, the
//! reclaim unit handle status returned by I/O Management Receive, and the
//! I/O Management command views.
//!
//! Several of these layouts are variable-length: a fixed header followed
//! by a count of descriptors. Each has a parser here that borrows the
//! buffer and iterates the descriptors without allocating, copying each one
//! out so the buffer needs no particular alignment.
//!
//! Writes select a placement with `dtype = 2` (data placement) and the
//! placement identifier in `dspec`; see [`placement_id`].
//!
//! One file per log page or command family; every item is re-exported
//! here, so the paths stay `nvmx_spec::fdp::X`.

mod config;
mod events;
mod io_mgmt;
mod stats;
#[cfg(test)]
mod tests;
mod usage;

pub use config::*;
pub use events::*;
pub use io_mgmt::*;
pub use stats::*;
pub use usage::*;

use zerocopy::FromBytes;

/// The placement identifier for reclaim group `rgid` and placement handle
/// `phndl`, given the reclaim group identifier format (RGIF, the number of
/// upper bits that name the reclaim group; from the FDP attributes of the
/// configuration in use).
pub const fn placement_id(rgid: u16, phndl: u16, rgif: u8) -> u16 {
    if rgif == 0 {
        phndl
    } else if rgif >= 16 {
        rgid
    } else {
        rgid << (16 - rgif as u32) | (phndl & (u16::MAX >> rgif as u32))
    }
}

/// Reads up to `count` fixed-size records from the front of `buf`.
#[derive(Clone, Debug)]
pub struct Records<'a, T> {
    buf: &'a [u8],
    left: usize,
    _t: core::marker::PhantomData<T>,
}

impl<'a, T: FromBytes> Records<'a, T> {
    /// At most `count` records of `T` from `buf`; fewer if `buf` is short.
    pub fn new(buf: &'a [u8], count: usize) -> Self {
        let fit = buf.len() / core::mem::size_of::<T>();
        Self {
            buf,
            left: count.min(fit),
            _t: core::marker::PhantomData,
        }
    }
}

impl<T: FromBytes> Iterator for Records<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        let (rec, rest) = T::read_from_prefix(self.buf).ok()?;
        self.buf = rest;
        self.left -= 1;
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T: FromBytes> ExactSizeIterator for Records<'_, T> {}
