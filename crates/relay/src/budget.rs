//! Byte budgets for the queues and buffers an outsider can fill (SPEC §7.4, §7.5): every byte
//! a connection makes the relay hold is taken from a per-connection [`ByteBudget`] and given back
//! by dropping the [`Held`] that took it, so the accounting cannot leak on any exit path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A relay-wide gauge of held bytes with its high-water mark.
#[derive(Debug, Default)]
pub(crate) struct Gauge {
    now: AtomicU64,
    peak: AtomicU64,
}

impl Gauge {
    fn add(&self, n: usize) {
        let v = self.now.fetch_add(n as u64, Relaxed) + n as u64;
        self.peak.fetch_max(v, Relaxed);
    }

    fn sub(&self, n: usize) {
        self.now.fetch_sub(n as u64, Relaxed);
    }

    /// Bytes held now.
    pub(crate) fn now(&self) -> u64 {
        self.now.load(Relaxed)
    }

    /// The most bytes ever held at once.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Relaxed)
    }
}

/// One connection's budget of `limit` bytes for one kind of queue; what it hands out also
/// counts in a relay-wide [`Gauge`].
#[derive(Debug)]
pub(crate) struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
    gauge: Arc<Gauge>,
}

impl ByteBudget {
    pub(crate) fn new(limit: usize, gauge: Arc<Gauge>) -> Arc<Self> {
        Arc::new(ByteBudget {
            used: AtomicUsize::new(0),
            limit,
            gauge,
        })
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    fn reserve(&self, n: usize) -> bool {
        let ok = self
            .used
            .fetch_update(Relaxed, Relaxed, |u| {
                u.checked_add(n).filter(|t| *t <= self.limit)
            })
            .is_ok();
        if ok {
            self.gauge.add(n);
        }
        ok
    }

    /// Takes `n` bytes, or `None` (nothing taken) if that would go over the limit.
    pub(crate) fn take(self: &Arc<Self>, n: usize) -> Option<Held> {
        let mut h = Held::empty(self);
        h.grow(n).then_some(h)
    }
}

/// Bytes taken from a [`ByteBudget`]; given back when dropped.
#[derive(Debug)]
pub(crate) struct Held {
    budget: Arc<ByteBudget>,
    n: usize,
}

impl Held {
    /// Holds nothing yet.
    pub(crate) fn empty(budget: &Arc<ByteBudget>) -> Self {
        Held {
            budget: budget.clone(),
            n: 0,
        }
    }

    /// Takes `n` more bytes; false (nothing more taken) if that would go over the limit.
    pub(crate) fn grow(&mut self, n: usize) -> bool {
        let ok = self.budget.reserve(n);
        if ok {
            self.n += n;
        }
        ok
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.n, Relaxed);
        self.budget.gauge.sub(self.n);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_over_limit_and_gives_back_on_drop() {
        let g = Arc::new(Gauge::default());
        let b = ByteBudget::new(100, g.clone());
        let a = b.take(60).unwrap();
        assert!(b.take(41).is_none(), "over the limit: nothing taken");
        assert_eq!(b.used(), 60);
        let mut c = b.take(40).unwrap();
        assert!(!c.grow(1));
        assert_eq!((g.now(), g.peak()), (100, 100));
        drop(a);
        assert!(c.grow(60));
        drop(c);
        assert_eq!((b.used(), g.now(), g.peak()), (0, 0, 100));
        assert!(b.take(usize::MAX).is_none(), "no overflow");
    }
}
