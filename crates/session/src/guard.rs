//! What anyone in the room can make a host do, bounded (SPEC §8.8.1). The relay delivers a
//! host every `Hello` and `JoinRequest` that any connection in the room sends, and a host that
//! answered each at once would spend its own relay budget on a stranger's behalf (one roster per
//! 8-byte `Hello`, one epoch and N + 1 messages per join request) until the relay closed it for
//! `RATE_LIMITED`. So:
//!
//! - a sender's `Hello` is answered at most once per [`HELLO_INTERVAL_MS`]; others are dropped;
//! - answers leave at most [`HELLO_BURST`] at once and [`HELLO_PER_SEC`] per second over all
//!   senders; a sender over that budget waits in a bounded set (at most [`DEFERRED_MAX`] ids)
//!   and all the waiting senders are answered by **one** broadcast of the roster when the budget
//!   allows, so an honest joiner is never left without a roster;
//! - a sender's join request is looked at (signature, HPKE) at most once per
//!   [`JOIN_INTERVAL_MS`];
//! - membership changes (admissions, departures) share epochs: a new epoch starts at most every
//!   [`EPOCH_GAP_MS`], so a flood of joins costs the host at most a few epochs a second
//!   (batching, as large meeting services do) while a lone change still takes effect at once.
//!
//! Plain state, time passed in (milliseconds), no I/O.

use std::collections::{BTreeSet, HashMap};

/// A sender's `Hello` is answered at most once per this interval.
pub const HELLO_INTERVAL_MS: u64 = 1000;
/// Roster answers to `Hello`, per second, over all senders.
pub const HELLO_PER_SEC: u64 = 20;
/// Roster answers that may leave at once.
pub const HELLO_BURST: u64 = 20;
/// Senders waiting for a deferred answer at most.
pub const DEFERRED_MAX: usize = 1024;
/// A sender's join request is looked at most once per this interval.
pub const JOIN_INTERVAL_MS: u64 = 1000;
/// Membership changes wait at most this long after the previous epoch, and are batched.
pub const EPOCH_GAP_MS: u64 = 200;
/// Senders whose last `Hello` or join request is remembered (older entries are forgotten).
const SENDERS_MAX: usize = 4096;

/// What to do with a `Hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloAnswer {
    /// Send the roster to this sender now.
    Now,
    /// Answer later, with everyone else waiting, in one broadcast ([`HostGuard::poll_hello`]).
    Deferred,
    /// Ignore it (this sender was answered a moment ago).
    Dropped,
}

/// Per-sender last-seen times, bounded in size.
#[derive(Debug, Default)]
struct LastSeen(HashMap<u64, u64>);

impl LastSeen {
    /// True (and records `now`) if `from` was not seen in the last `interval` ms.
    fn allow(&mut self, from: u64, now: u64, interval: u64) -> bool {
        if let Some(&at) = self.0.get(&from)
            && now < at.saturating_add(interval)
        {
            return false;
        }
        if self.0.len() >= SENDERS_MAX {
            self.0.retain(|_, at| now < at.saturating_add(interval));
            if self.0.len() >= SENDERS_MAX {
                return false;
            }
        }
        self.0.insert(from, now);
        true
    }

    fn forget(&mut self, id: u64) {
        self.0.remove(&id);
    }
}

/// The host's bounds on others' requests, and its epoch batching.
#[derive(Debug)]
pub struct HostGuard {
    hellos: LastSeen,
    joins: LastSeen,
    /// Token bucket for roster answers (tokens in thousandths, refilled by time).
    tokens_milli: u64,
    refilled_at: u64,
    deferred: BTreeSet<u64>,
    /// When the last epoch started, and when a staged membership change is due.
    last_epoch_at: Option<u64>,
    change_due: Option<u64>,
}

impl Default for HostGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl HostGuard {
    /// No sender seen yet, a full answer budget, no epoch yet.
    pub fn new() -> Self {
        HostGuard {
            hellos: LastSeen::default(),
            joins: LastSeen::default(),
            tokens_milli: HELLO_BURST * 1000,
            refilled_at: 0,
            deferred: BTreeSet::new(),
            last_epoch_at: None,
            change_due: None,
        }
    }

    fn refill(&mut self, now: u64) {
        let dt = now.saturating_sub(self.refilled_at);
        self.refilled_at = now;
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(dt.saturating_mul(HELLO_PER_SEC))
            .min(HELLO_BURST * 1000);
    }

    fn take_token(&mut self, now: u64) -> bool {
        self.refill(now);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }

    /// A `Hello` from `from` at `now`.
    pub fn hello(&mut self, from: u64, now: u64) -> HelloAnswer {
        if !self.hellos.allow(from, now, HELLO_INTERVAL_MS) {
            return HelloAnswer::Dropped;
        }
        if self.deferred.is_empty() && self.take_token(now) {
            return HelloAnswer::Now;
        }
        if self.deferred.len() < DEFERRED_MAX {
            self.deferred.insert(from);
        }
        HelloAnswer::Deferred
    }

    /// When deferred answers can go (one broadcast for all of them).
    pub fn hello_due(&self) -> Option<u64> {
        if self.deferred.is_empty() {
            return None;
        }
        let missing = 1000u64.saturating_sub(self.tokens_milli);
        Some(self.refilled_at + missing.div_ceil(HELLO_PER_SEC))
    }

    /// True if the deferred senders should now get one broadcast of the roster (they are then
    /// forgotten).
    pub fn poll_hello(&mut self, now: u64) -> bool {
        if self.deferred.is_empty() || !self.take_token(now) {
            return false;
        }
        self.deferred.clear();
        true
    }

    /// Whether to look at a join request from `from` at `now`.
    pub fn join(&mut self, from: u64, now: u64) -> bool {
        self.joins.allow(from, now, JOIN_INTERVAL_MS)
    }

    /// `id` left the room: forget it.
    pub fn left(&mut self, id: u64) {
        self.hellos.forget(id);
        self.joins.forget(id);
        self.deferred.remove(&id);
    }

    /// A membership change was staged at `now`: true if its epoch should start now, else it is
    /// due at [`HostGuard::change_due`].
    pub fn stage_change(&mut self, now: u64) -> bool {
        if self.change_due.is_some() {
            // Already scheduled: that epoch will carry this change too.
            return false;
        }
        let earliest = self
            .last_epoch_at
            .map_or(now, |at| at.saturating_add(EPOCH_GAP_MS));
        if earliest <= now {
            return true;
        }
        self.change_due = Some(earliest);
        false
    }

    /// When a staged change is due.
    pub fn change_due(&self) -> Option<u64> {
        self.change_due
    }

    /// True if a staged change is due at `now` (then cleared: start the epoch).
    pub fn poll_change(&mut self, now: u64) -> bool {
        if self.change_due.is_some_and(|d| d <= now) {
            self.change_due = None;
            return true;
        }
        false
    }

    /// An epoch started at `now` (it carries every staged change).
    pub fn epoch_started(&mut self, now: u64) {
        self.last_epoch_at = Some(now);
        self.change_due = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abuse_hello_flood_from_one_sender_is_answered_once_per_interval() {
        let mut g = HostGuard::new();
        let mut now_answers = 0;
        // 240 Hellos a second for 10 s from one sender.
        for i in 0..2400u64 {
            if g.hello(7, i * 1000 / 240) == HelloAnswer::Now {
                now_answers += 1;
            }
        }
        assert_eq!(now_answers, 10);
    }

    #[test]
    fn abuse_hello_flood_from_many_senders_is_batched_and_nobody_starves() {
        let mut g = HostGuard::new();
        let mut unicast = 0;
        let mut broadcasts = 0;
        let mut deferred_ids = BTreeSet::new();
        // 1000 distinct senders, one Hello each, within one second.
        for id in 0..1000u64 {
            let now = id;
            match g.hello(id, now) {
                HelloAnswer::Now => unicast += 1,
                HelloAnswer::Deferred => {
                    deferred_ids.insert(id);
                }
                HelloAnswer::Dropped => panic!("a first Hello is never dropped"),
            }
        }
        assert!(unicast <= HELLO_BURST + HELLO_PER_SEC);
        let mut now = 1000;
        while let Some(due) = g.hello_due() {
            assert!(due >= now.min(due));
            now = due.max(now);
            if g.poll_hello(now) {
                broadcasts += 1;
            }
            assert!(
                broadcasts < 10,
                "deferred senders answered in one broadcast"
            );
        }
        assert_eq!(broadcasts, 1);
        assert!(!deferred_ids.is_empty());
        // Total answers over ~1 s stay within the budget.
        assert!(unicast + broadcasts <= HELLO_BURST + 2 * HELLO_PER_SEC);
    }

    #[test]
    fn abuse_join_requests_are_looked_at_once_per_interval_per_sender() {
        let mut g = HostGuard::new();
        let looked = (0..1000u64).filter(|i| g.join(9, i * 5)).count();
        assert_eq!(looked, 5);
        assert!(g.join(10, 0), "another sender is not held back");
    }

    #[test]
    fn abuse_membership_changes_share_epochs() {
        let mut g = HostGuard::new();
        // The first change after a quiet period takes effect at once.
        assert!(g.stage_change(1000));
        g.epoch_started(1000);
        // A burst of 100 changes within 50 ms: one more epoch, EPOCH_GAP_MS later.
        let mut immediate = 0;
        for i in 0..100 {
            if g.stage_change(1000 + i / 2) {
                immediate += 1;
            }
        }
        assert_eq!(immediate, 0);
        assert_eq!(g.change_due(), Some(1000 + EPOCH_GAP_MS));
        assert!(!g.poll_change(1000 + EPOCH_GAP_MS - 1));
        assert!(g.poll_change(1000 + EPOCH_GAP_MS));
        g.epoch_started(1000 + EPOCH_GAP_MS);
        assert_eq!(g.change_due(), None);
        // Over 10 s of continuous changes (one per ms), at most 10_000 / EPOCH_GAP_MS epochs.
        let mut epochs = 0;
        for t in 2000..12_000u64 {
            if g.stage_change(t) || g.poll_change(t) {
                g.epoch_started(t);
                epochs += 1;
            }
        }
        assert!(epochs <= 10_000 / EPOCH_GAP_MS + 1, "{epochs} epochs");
        assert!(epochs >= 10_000 / EPOCH_GAP_MS - 1, "{epochs} epochs");
    }
}
