//! Per-connection token buckets for frames/s and bytes/s (SPEC §7.4).

use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
}

/// Two token buckets (messages and bytes), each with a burst of one second's worth.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    frames: Bucket,
    bytes: Bucket,
    last: Instant,
}

impl RateLimiter {
    pub(crate) fn new(frames_per_second: u32, bytes_per_second: u64) -> Self {
        let f = f64::from(frames_per_second.max(1));
        let b = (bytes_per_second.max(1)) as f64;
        RateLimiter {
            frames: Bucket { rate: f, tokens: f },
            bytes: Bucket { rate: b, tokens: b },
            last: Instant::now(),
        }
    }

    /// Charges one message of `len` bytes; false if the connection is over budget.
    #[cfg(test)]
    pub(crate) fn charge(&mut self, len: usize, now: Instant) -> bool {
        self.charge_parts(1, len, now)
    }

    /// Takes one message from the message bucket if it holds one; a refusal costs nothing (a
    /// budget that refuses an action, rather than closing the connection over it).
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let b = &mut self.frames;
        b.tokens = (b.tokens + dt * b.rate).min(b.rate);
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }

    /// Charges `frames` messages and `len` bytes; false if the connection is over budget.
    pub(crate) fn charge_parts(&mut self, frames: u32, len: usize, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        for b in [&mut self.frames, &mut self.bytes] {
            b.tokens = (b.tokens + dt * b.rate).min(b.rate);
        }
        self.frames.tokens -= f64::from(frames);
        self.bytes.tokens -= len as f64;
        self.frames.tokens >= 0.0 && self.bytes.tokens >= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_refused_take_costs_nothing() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(2, 1);
        assert!(r.try_take(t0) && r.try_take(t0));
        for _ in 0..100 {
            assert!(!r.try_take(t0));
        }
        assert!(
            r.try_take(t0 + Duration::from_millis(500)),
            "refilled, no debt"
        );
    }

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(10, 1_000_000);
        for _ in 0..10 {
            assert!(r.charge(1, t0));
        }
        assert!(!r.charge(1, t0));
        let mut r = RateLimiter::new(10, 1_000_000);
        for _ in 0..10 {
            assert!(r.charge(1, t0));
        }
        assert!(r.charge(1, t0 + Duration::from_millis(200)));
        let mut r = RateLimiter::new(1000, 100);
        assert!(!r.charge(101, t0));
    }
}
