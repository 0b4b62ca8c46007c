//! Lock-free histograms for the forward path: one relaxed atomic increment per observation (plus
//! one for a sum), no allocation, no lock. Buckets are read (and made cumulative by the encoder)
//! only at scrape time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (inclusive, `le`) of `hush_frame_size_bytes`: powers of two from 64 B to the
/// largest frame a relay accepts (256 KiB), then `+Inf`.
pub(crate) const FRAME_SIZE_BOUNDS: [u64; 13] = [
    64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144,
];

/// Upper bounds (inclusive, `le`) of `hush_forward_seconds`, in nanoseconds: 1 µs to 100 ms,
/// then `+Inf`.
pub(crate) const FORWARD_BOUNDS_NS: [u64; 13] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    100_000_000,
];

/// Bucket counts, not cumulative; the last one is `+Inf` (above every bound).
#[derive(Debug)]
pub(crate) struct Buckets<const N: usize> {
    counts: [AtomicU64; N],
}

impl<const N: usize> Default for Buckets<N> {
    fn default() -> Self {
        Buckets {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl<const N: usize> Buckets<N> {
    fn add(&self, i: usize) {
        self.counts[i.min(N - 1)].fetch_add(1, Relaxed);
    }

    /// `(upper bound, count in that bucket)` pairs for the encoder, the last bound `+Inf`, and
    /// the total count. A bound is divided by `per_unit` for the exposed unit (a division, not
    /// a multiplication by the inverse, so 1000 ns prints as `1e-06`).
    pub(crate) fn read(&self, bounds: &[u64], per_unit: f64) -> ([(f64, u64); N], u64) {
        let mut out = [(f64::INFINITY, 0); N];
        let mut total = 0u64;
        for (i, slot) in out.iter_mut().enumerate() {
            let n = self.counts[i].load(Relaxed);
            total = total.wrapping_add(n);
            let bound = bounds
                .get(i)
                .map_or(f64::INFINITY, |b| *b as f64 / per_unit);
            *slot = (bound, n);
        }
        (out, total)
    }
}

/// `hush_frame_size_bytes`: the sizes of the media frames the relay forwards. Its sum is
/// `bytes_in` (counted at the same place with the same length), so recording a frame is one
/// atomic increment.
#[derive(Debug, Default)]
pub(crate) struct FrameSizes(pub(crate) Buckets<{ FRAME_SIZE_BOUNDS.len() + 1 }>);

impl FrameSizes {
    /// The bucket of `len`: the smallest power of two ≥ `len`, from 64 (2^6) on.
    pub(crate) fn observe(&self, len: u64) {
        let log2_ceil = u64::BITS - len.saturating_sub(1).leading_zeros();
        self.0.add(log2_ceil.saturating_sub(6) as usize);
    }
}

/// `hush_forward_seconds`: from a media frame read (a datagram received, or a media stream
/// read to its end) to its copies handed to every receiver (queued on the datagram path, or on
/// the receiver's stream queue) or dropped for them.
#[derive(Debug, Default)]
pub(crate) struct ForwardTimes {
    pub(crate) buckets: Buckets<{ FORWARD_BOUNDS_NS.len() + 1 }>,
    pub(crate) sum_ns: AtomicU64,
}

impl ForwardTimes {
    pub(crate) fn observe(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Relaxed);
        self.buckets
            .add(FORWARD_BOUNDS_NS.partition_point(|b| *b < ns));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_fall_in_the_smallest_bucket_that_holds_them() {
        let h = FrameSizes::default();
        for len in [0, 1, 64, 65, 128, 129, 262_144, 262_145, u64::MAX] {
            h.observe(len);
        }
        let (b, total) = h.0.read(&FRAME_SIZE_BOUNDS, 1.0);
        assert_eq!(total, 9);
        assert_eq!(b[0], (64.0, 3)); // 0, 1, 64
        assert_eq!(b[1], (128.0, 2)); // 65, 128
        assert_eq!(b[2], (256.0, 1)); // 129
        assert_eq!(b[12], (262_144.0, 1));
        assert_eq!(b[13], (f64::INFINITY, 2));
    }

    #[test]
    fn forward_times_use_inclusive_bounds_in_seconds() {
        let h = ForwardTimes::default();
        h.observe(Duration::from_nanos(1_000));
        h.observe(Duration::from_nanos(1_001));
        h.observe(Duration::from_secs(3600));
        let (b, total) = h.buckets.read(&FORWARD_BOUNDS_NS, 1e9);
        assert_eq!(total, 3);
        assert_eq!(b[0].1, 1);
        assert_eq!(b[0].0, 1e-6);
        assert_eq!(b[1].1, 1);
        assert_eq!(b[13], (f64::INFINITY, 1));
        assert_eq!(h.sum_ns.load(Relaxed), 3_600_000_002_001);
    }
}
