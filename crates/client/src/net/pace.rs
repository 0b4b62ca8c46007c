//! Pacing a connection below the budgets its relay announced in `Hello` (SPEC §6.3, §7.4): the
//! relay closes a connection over its frames/s or bytes/s budget (`RATE_LIMITED`), so a sender
//! of bulk data (a file) must never outrun it. A sans-IO token bucket, time passed in.
//!
//! Every message charges the bucket the way the relay counts it (one frame and its bytes).
//! Reliable blobs wait until the bucket allows them; media frames are real time and are only
//! charged, so bulk data yields to them.

use std::time::{Duration, Instant};

use hush_wire::RelayLimits;

/// The share of the relay's announced rate a client uses: a margin for timers, for QUIC
/// bunching packets, and for the relay's clock.
const SHARE: f64 = 0.8;
/// The burst a client allows itself, in seconds of its rate (the relay allows one second).
const BURST_SECS: f64 = 0.25;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
}

impl Bucket {
    fn new(limit: f64) -> Self {
        let rate = (limit * SHARE).max(1.0);
        Bucket { rate, tokens: 0.0 }
    }

    fn refill(&mut self, dt: f64) {
        self.tokens = (self.tokens + dt * self.rate).min(self.rate * BURST_SECS);
    }

    /// Time until the bucket is no longer in debt.
    fn debt(&self) -> Duration {
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Two buckets (messages and bytes) below a relay's announced limits; unlimited without them.
#[derive(Debug)]
pub(crate) struct Pacer {
    buckets: Option<(Bucket, Bucket)>,
    last: Instant,
}

impl Pacer {
    pub(crate) fn new(limits: Option<RelayLimits>, now: Instant) -> Self {
        Pacer {
            buckets: limits.map(|l| {
                (
                    Bucket::new(f64::from(l.frames_per_second)),
                    Bucket::new(l.bytes_per_second as f64),
                )
            }),
            last: now,
        }
    }

    /// Charges one message of `bytes`; returns how long the sender should wait before sending
    /// it so that the connection stays within its share of the relay's budget.
    pub(crate) fn charge(&mut self, bytes: usize, now: Instant) -> Duration {
        let Some((frames, octets)) = &mut self.buckets else {
            return Duration::ZERO;
        };
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        frames.refill(dt);
        octets.refill(dt);
        frames.tokens -= 1.0;
        octets.tokens -= bytes as f64;
        frames.debt().max(octets.debt())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(fps: u32, bps: u64) -> Option<RelayLimits> {
        Some(RelayLimits {
            frames_per_second: fps,
            bytes_per_second: bps,
            max_frame_size: 1200,
        })
    }

    /// A sender that always waits as told, over simulated seconds, never exceeds what the
    /// relay's own bucket (one second of burst, full at start) allows: the relay's check,
    /// replayed against the paced schedule.
    #[test]
    fn a_paced_sender_never_exceeds_the_relay_budget() {
        let t0 = Instant::now();
        for (fps, bps, size) in [
            (1000, 32 << 20, 65_000),
            (100, 1 << 20, 1200),
            (50, 10_000_000, 10),
        ] {
            let mut p = Pacer::new(limits(fps, bps), t0);
            let mut now = t0;
            let (mut f_tokens, mut b_tokens) = (f64::from(fps), bps as f64);
            let mut last = t0;
            let mut sent_bytes = 0usize;
            while now < t0 + Duration::from_secs(5) {
                now += p.charge(size, now);
                let dt = now.saturating_duration_since(last).as_secs_f64();
                last = now;
                f_tokens = (f_tokens + dt * f64::from(fps)).min(f64::from(fps)) - 1.0;
                b_tokens = (b_tokens + dt * bps as f64).min(bps as f64) - size as f64;
                assert!(
                    f_tokens >= 0.0 && b_tokens >= 0.0,
                    "over budget at {fps}/{bps}"
                );
                sent_bytes += size;
            }
            // And it does not crawl: at least 70 % of the budget that binds.
            let per_sec = (sent_bytes / 5) as f64;
            let binding = (bps as f64).min(f64::from(fps) * size as f64);
            assert!(per_sec > 0.7 * binding, "{per_sec} of {binding}");
        }
    }

    #[test]
    fn without_announced_limits_nothing_waits() {
        let t0 = Instant::now();
        let mut p = Pacer::new(None, t0);
        for _ in 0..10_000 {
            assert_eq!(p.charge(1 << 20, t0), Duration::ZERO);
        }
    }
}
