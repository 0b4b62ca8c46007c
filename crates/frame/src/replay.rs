//! The per-key replay window (SPEC §4.3).
//!
//! The window remembers the highest counter accepted and which of the `size` counters at and
//! below it were accepted. A counter above the highest is new; one at least `size` below it is
//! too old; one inside is new unless its bit is set. [`check`](ReplayWindow::check) only looks;
//! [`commit`](ReplayWindow::commit) is called after the tag verified, so a forged frame never
//! moves the window.

/// Outcome of a window check that refuses the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Counter already accepted.
    Replay,
    /// Counter at least `size` below the highest accepted.
    TooOld,
}

/// A sliding window over counters, as a ring of bits indexed by `ctr % capacity`.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    size: u64,
    highest: Option<u64>,
    bits: Vec<u64>,
}

impl ReplayWindow {
    /// A window that accepts reordering of up to `size` frames (`size >= 1`).
    pub(crate) fn new(size: u64) -> Self {
        let words = size.div_ceil(64).max(1) as usize;
        Self {
            size,
            highest: None,
            bits: vec![0; words],
        }
    }

    fn capacity(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    fn slot(&self, ctr: u64) -> (usize, u64) {
        let i = ctr % self.capacity();
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Whether `ctr` would be accepted. Does not change the window.
    #[inline]
    pub(crate) fn check(&self, ctr: u64) -> Result<(), Refused> {
        let Some(high) = self.highest else {
            return Ok(());
        };
        if ctr > high {
            return Ok(());
        }
        if high - ctr >= self.size {
            return Err(Refused::TooOld);
        }
        let (w, m) = self.slot(ctr);
        if self.bits[w] & m != 0 {
            Err(Refused::Replay)
        } else {
            Ok(())
        }
    }

    /// Records `ctr` as accepted. Call only after [`check`](Self::check) passed and the frame
    /// authenticated.
    #[inline]
    pub(crate) fn commit(&mut self, ctr: u64) {
        match self.highest {
            Some(high) if ctr <= high => {}
            Some(high) => {
                let advance = ctr - high;
                if advance >= self.capacity() {
                    self.bits.iter_mut().for_each(|w| *w = 0);
                } else {
                    // Slots passed over are forgotten; `ctr`'s own is set just below.
                    for c in high + 1..ctr {
                        let (w, m) = self.slot(c);
                        self.bits[w] &= !m;
                    }
                }
                self.highest = Some(ctr);
            }
            None => self.highest = Some(ctr),
        }
        let (w, m) = self.slot(ctr);
        self.bits[w] |= m;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_reorder_refuses_duplicates_and_old() {
        let mut w = ReplayWindow::new(4);
        for c in [10, 8, 9, 12] {
            assert_eq!(w.check(c), Ok(()));
            w.commit(c);
        }
        assert_eq!(w.check(9), Err(Refused::Replay));
        assert_eq!(w.check(11), Ok(()));
        assert_eq!(w.check(8), Err(Refused::TooOld));
        assert_eq!(w.check(13), Ok(()));
        // A jump larger than the ring clears it.
        w.commit(1000);
        assert_eq!(w.check(999), Ok(()));
        assert_eq!(w.check(1000), Err(Refused::Replay));
        assert_eq!(w.check(996), Err(Refused::TooOld));
    }

    #[test]
    fn matches_a_set_model() {
        // Deterministic pseudo-random walk, compared with an exact model.
        let size = 100;
        let mut w = ReplayWindow::new(size);
        let mut seen = std::collections::BTreeSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let high = seen.last().copied().unwrap_or(0u64);
            let ctr = (high + 40).saturating_sub(x % 200);
            let want = match seen.last() {
                Some(&h) if ctr <= h && h - ctr >= size => Err(Refused::TooOld),
                _ if seen.contains(&ctr) => Err(Refused::Replay),
                _ => Ok(()),
            };
            assert_eq!(w.check(ctr), want, "ctr {ctr}");
            if want.is_ok() {
                w.commit(ctr);
                seen.insert(ctr);
            }
        }
    }
}
