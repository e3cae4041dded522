//! Where a transfer's data comes from and goes: the sources and sinks, the
//! `anum` pattern and the FNV-1a checksum.

use super::End;
use super::Transfer;

/// Where the data of a transfer comes from.
pub enum Source<'a> {
    /// Read from a device.
    Dev(&'a End),
    /// The `anum` pattern (0-9a-zA-Z repeating), by byte position.
    Pattern,
}

/// Where the data of a transfer goes.
pub enum Sink<'a> {
    /// Written to a device.
    Dev(&'a End),
    /// Folded into a checksum, in byte order.
    Checksum,
    /// Compared with the `anum` pattern.
    Verify,
}

/// The `anum` pattern, as [`nvmx::buf::fill`] writes it.
const ANUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Fills `buf` with the pattern bytes of positions `pos..pos + buf.len()`.
pub(super) fn fill_pattern(buf: &mut [u8], pos: u64) {
    let start = (pos % ANUM.len() as u64) as usize;
    for (b, p) in buf.iter_mut().zip(ANUM.iter().cycle().skip(start)) {
        *b = *p;
    }
}

/// The first byte of `buf` that differs from the pattern at `pos`.
pub(super) fn pattern_difference(buf: &[u8], pos: u64) -> Option<usize> {
    let start = (pos % ANUM.len() as u64) as usize;
    buf.iter()
        .zip(ANUM.iter().cycle().skip(start))
        .position(|(b, p)| b != p)
}

/// FNV-1a, 64 bit: the checksum `load` prints.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(pub u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Folds `bytes` in.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}
/// The checksum and pattern check, fed chunks in order.
#[derive(Default)]
pub(super) struct SinkState {
    pub(super) fnv: Fnv1a,
    pub(super) mismatch: Option<u64>,
    /// The chunk the sink takes next (async reordering).
    pub(super) next: u64,
}

impl SinkState {
    pub(super) fn take(&mut self, t: &Transfer<'_>, i: u64, buf: &[u8]) {
        let (pos, len) = t.chunk(i);
        let data = &buf[..len as usize];
        match t.dst {
            Sink::Checksum => self.fnv.update(data),
            Sink::Verify => {
                if self.mismatch.is_none() {
                    self.mismatch = pattern_difference(data, pos).map(|d| pos + d as u64);
                }
            }
            Sink::Dev(_) => {}
        }
        self.next = i + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_positional() {
        let mut a = [0u8; 100];
        fill_pattern(&mut a, 0);
        let mut b = [0u8; 40];
        fill_pattern(&mut b, 60);
        assert_eq!(&a[60..], &b[..]);
        assert_eq!(pattern_difference(&a[60..], 60), None);
        b[7] = b'!';
        assert_eq!(pattern_difference(&b, 60), Some(7));
    }
}
