//! Latency recording for `hush bench`: an HDR-style log-linear histogram of nanoseconds and the
//! one monotonic clock every timestamp in a run is read from.
//!
//! Values below 128 ns are exact; above, each power of two is split into 64 linear sub-buckets,
//! so a reported quantile is within 1/64 (1.6 %) of the true sample. Recording is one index
//! computation and one add: no allocation after [`Histogram::new`].

use std::sync::OnceLock;
use std::time::Instant;

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const EXACT: usize = 2 * SUB;
const BUCKETS: usize = EXACT + (64 - (SUB_BITS + 1) as usize) * SUB;

/// Nanoseconds since the process's benchmark epoch (one `Instant`, monotonic, shared by every
/// thread of the process: the sender's stamp and the receiver's reading use the same clock).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A histogram of durations in nanoseconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

fn index(v: u64) -> usize {
    if v < EXACT as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let sub = ((v >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    EXACT + (exp - SUB_BITS - 1) as usize * SUB + sub
}

/// The smallest value that falls in bucket `i`.
fn lower_bound(i: usize) -> u64 {
    if i < EXACT {
        return i as u64;
    }
    let j = i - EXACT;
    let exp = (j / SUB) as u32 + SUB_BITS + 1;
    let sub = (j % SUB) as u64;
    (1u64 << exp) | (sub << (exp - SUB_BITS))
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }

    /// Records one value.
    pub fn record(&mut self, ns: u64) {
        if let Some(c) = self.counts.get_mut(index(ns)) {
            *c += 1;
        }
        self.total += 1;
        self.max = self.max.max(ns);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at quantile `q` (0..=1) in nanoseconds: the midpoint of the bucket holding
    /// the sample of rank `ceil(q * n)`, capped at the largest sample. 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let lo = lower_bound(i);
                let hi = lower_bound(i + 1);
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        for i in 0..BUCKETS - 1 {
            assert!(lower_bound(i) < lower_bound(i + 1), "bucket {i}");
            assert_eq!(index(lower_bound(i)), i);
            assert_eq!(index(lower_bound(i + 1) - 1), i);
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_relative_error() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (q, want) in [(0.5, 500_000.0), (0.99, 990_000.0), (0.999, 999_000.0)] {
            let got = h.quantile(q) as f64;
            assert!(
                (got - want).abs() / want < 1.0 / 64.0,
                "q{q}: {got} vs {want}"
            );
        }
        assert_eq!(h.len(), 100_000);
        let mut g = Histogram::new();
        g.record(7);
        g.merge(&h);
        assert_eq!(g.len(), 100_001);
        assert_eq!(g.quantile(0.0), 7);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
