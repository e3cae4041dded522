//! A latency histogram with log-linear buckets (HDR style): exact below
//! 128 ns, then 64 buckets per power of two, so every recorded value is
//! within 1.6 % of its bucket's lower bound. Recording is two shifts and
//! an increment: cheap enough for every I/O.

/// Values below this are counted exactly.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR`].
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets: the linear part, then 64 per exponent 7..=63.
const NBUCKETS: usize = LINEAR as usize + (64 - 7) * SUB as usize;

/// Counts of latencies in nanoseconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; NBUCKETS].into_boxed_slice(),
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 7
    let sub = (v >> (e - SUB_BITS)) - SUB;
    LINEAR as usize + (e as usize - 7) * SUB as usize + sub as usize
}

/// The smallest value that falls in bucket `i`.
fn lower_bound(i: usize) -> u64 {
    if i < LINEAR as usize {
        return i as u64;
    }
    let j = i - LINEAR as usize;
    let e = 7 + (j / SUB as usize) as u32;
    let sub = (j % SUB as usize) as u64;
    (SUB + sub) << (e - SUB_BITS)
}

impl Histogram {
    /// Records one value.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket(ns)] += 1;
        self.total += 1;
        self.sum += u128::from(ns);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Adds `other`'s counts to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Smallest value recorded (0 when empty).
    pub fn min(&self) -> u64 {
        if self.total == 0 { 0 } else { self.min }
    }

    /// Largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Mean of the values recorded (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at percentile `p` (0-100): the lower bound of the bucket
    /// holding it, clamped to the recorded min and max.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return lower_bound(i).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_bounded() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, u64::MAX / 3, u64::MAX]) {
            let b = bucket(v);
            assert!(b < NBUCKETS, "{v}");
            assert!(b >= last || v >= 100_000, "{v}");
            last = b;
            let lo = lower_bound(b);
            assert!(lo <= v, "{v}: bucket {b} starts at {lo}");
            // Within 1/64 of the value.
            assert!(v - lo <= v / 64, "{v}: bucket {b} starts at {lo}");
        }
    }

    #[test]
    fn percentiles_of_a_known_set() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.min(), 1000);
        assert_eq!(h.max(), 1_000_000);
        assert!((h.mean() - 500_500.0).abs() < 1e-6);
        for (p, want) in [(50.0, 500_000u64), (99.0, 990_000), (100.0, 1_000_000)] {
            let got = h.percentile(p);
            assert!(
                got <= want && want - got <= want / 64,
                "p{p}: {got} vs {want}"
            );
        }
        let mut g = Histogram::default();
        g.record(5);
        g.merge(&h);
        assert_eq!((g.count(), g.min(), g.percentile(0.0)), (1001, 5, 5));
        assert_eq!(Histogram::default().percentile(50.0), 0);
    }
}
