//! Where each command goes (sequential or random offsets in a job's
//! range) and the verify stamps written into each block.

/// A xorshift64 generator: a few instructions per number, plenty for
/// offsets and fill patterns.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator; a zero seed is replaced (xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next number.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (> 0), without modulo bias worth caring about
    /// for offsets (Lemire's multiply-shift).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Offsets of a job: I/O units (of `--iosize`) numbered from 0 within its
/// range.
#[derive(Clone, Debug)]
pub struct Offsets {
    units: u64,
    cursor: u64,
    rng: Option<XorShift>,
}

impl Offsets {
    /// Sequential units, wrapping at `units`.
    pub fn sequential(units: u64) -> Self {
        Offsets {
            units,
            cursor: 0,
            rng: None,
        }
    }

    /// Uniformly random units below `units`.
    pub fn random(units: u64, seed: u64) -> Self {
        Offsets {
            units,
            cursor: 0,
            rng: Some(XorShift::new(seed)),
        }
    }

    /// The next unit.
    #[inline]
    pub fn next_unit(&mut self) -> u64 {
        match &mut self.rng {
            Some(r) => r.below(self.units),
            None => {
                let u = self.cursor;
                self.cursor += 1;
                if self.cursor == self.units {
                    self.cursor = 0;
                }
                u
            }
        }
    }
}

/// Size of the header at the start of every stamped block: LBA (8 bytes),
/// generation (4), seed (4).
const HEADER: usize = 16;

fn block_rng(lba: u64, generation: u32, seed: u64) -> XorShift {
    XorShift::new(
        lba.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ seed.rotate_left(17)
            ^ u64::from(generation) << 48
            | 1,
    )
}

/// Fills `block` (one logical block) with its stamp: a header naming
/// the LBA, generation and seed, then bytes derived from all three, so a
/// block written to the wrong place, a stale block and a torn block all
/// differ from what is expected.
pub fn stamp(block: &mut [u8], lba: u64, generation: u32, seed: u64) {
    let mut r = block_rng(lba, generation, seed);
    for chunk in block.chunks_mut(8) {
        let w = r.next_u64().to_le_bytes();
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
    if block.len() >= HEADER {
        block[..8].copy_from_slice(&lba.to_le_bytes());
        block[8..12].copy_from_slice(&generation.to_le_bytes());
        block[12..16].copy_from_slice(&(seed as u32).to_le_bytes());
    }
}

/// What a wrong block held.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// The LBA read.
    pub lba: u64,
    /// The first byte that differs, from the start of the block.
    pub offset: usize,
    /// The 8 bytes expected there, in hex.
    pub expected: String,
    /// The 8 bytes found there, in hex.
    pub found: String,
    /// The LBA the block's header names, when it holds a header at all:
    /// a block written to the wrong place.
    pub found_lba: Option<u64>,
}

fn hex8(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares `block` with its stamp; `scratch` is a block-sized buffer.
pub fn check(
    block: &[u8],
    scratch: &mut [u8],
    lba: u64,
    generation: u32,
    seed: u64,
) -> Option<Mismatch> {
    stamp(scratch, lba, generation, seed);
    let offset = block.iter().zip(scratch.iter()).position(|(a, b)| a != b)?;
    let at = offset & !7;
    let end = (at + 8).min(block.len());
    let found_lba = (block.len() >= HEADER && block[8..12] == generation.to_le_bytes())
        .then(|| u64::from_le_bytes(block[..8].try_into().unwrap_or_default()));
    Some(Mismatch {
        lba,
        offset,
        expected: hex8(&scratch[at..end]),
        found: hex8(&block[at..end]),
        found_lba,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_wraps_and_random_stays_in_range() {
        let mut s = Offsets::sequential(3);
        let v: Vec<u64> = (0..7).map(|_| s.next_unit()).collect();
        assert_eq!(v, [0, 1, 2, 0, 1, 2, 0]);
        let mut r = Offsets::random(10, 7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let u = r.next_unit();
            assert!(u < 10);
            seen[u as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every unit is reached");
    }

    #[test]
    fn stamps_tell_place_generation_and_seed_apart() {
        let mut a = vec![0u8; 512];
        let mut scratch = vec![0u8; 512];
        stamp(&mut a, 42, 1, 9);
        assert_eq!(check(&a, &mut scratch, 42, 1, 9), None);
        // Misplaced: the header names LBA 42.
        let m = check(&a, &mut scratch, 43, 1, 9).unwrap();
        assert_eq!((m.lba, m.offset, m.found_lba), (43, 0, Some(42)));
        // Stale generation, other seed.
        assert!(check(&a, &mut scratch, 42, 2, 9).is_some());
        assert!(check(&a, &mut scratch, 42, 1, 8).is_some());
        // One flipped byte deep inside.
        a[300] ^= 1;
        let m = check(&a, &mut scratch, 42, 1, 9).unwrap();
        assert_eq!(m.offset, 300);
        assert_eq!(m.expected.len(), 16);
        assert_ne!(m.expected, m.found);
        // Zeroes (never written) have no header.
        let z = vec![0u8; 512];
        assert_eq!(check(&z, &mut scratch, 5, 1, 9).unwrap().found_lba, None);
    }
}
