//! The two lanes a meeting's events leave by (SPEC §11.5): a **control** lane for what the key
//! protocol decided (rosters, security codes, the e2ee status, admission requests, removal,
//! connection changes) and a **media** lane for what others sent (media frames, data messages,
//! refusals). Neither sender ever waits: the key protocol must never stall behind an application
//! that is slow, stuck at a prompt, or not reading at all.
//!
//! - The media lane is bounded in count (`event_capacity`) and in bytes (`event_bytes`, the
//!   payloads waiting to be read): an event that does not fit is dropped and counted
//!   (`Stats::dropped_events`). Its byte budget is released as the application reads.
//! - The control lane holds at most [`CONTROL_CAPACITY`] events. What reaches it is bounded in
//!   rate by the protocol itself (one epoch per batch of joins, a bounded waiting room), so a
//!   reading application never sees a drop; one that never reads loses the oldest news only
//!   (counted in `Stats::dropped_control_events`), and the current state is always readable
//!   from the [`crate::Meeting`] handle.
//!
//! [`MeetingEvents::recv`] serves the control lane first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use crate::event::MeetingEvent;
use crate::shared::Shared;
use crate::stats::Counters;

/// Control events kept for an application that does not read them.
pub const CONTROL_CAPACITY: usize = 1024;

/// Bytes an event holds in the media lane's budget: its payload (the rest is a few words).
fn weight(ev: &MeetingEvent) -> usize {
    const BASE: usize = 64;
    BASE + match ev {
        MeetingEvent::Media(f) => f.payload.len(),
        MeetingEvent::Data(d) => d.payload.len(),
        _ => 0,
    }
}

/// Which lane an event takes.
fn is_control(ev: &MeetingEvent) -> bool {
    !matches!(
        ev,
        MeetingEvent::Media(_) | MeetingEvent::Data(_) | MeetingEvent::Refused { .. }
    )
}

struct Budget {
    queued: AtomicUsize,
    max: usize,
}

/// The sending side, shared by the driver and the media readers. Never blocks.
#[derive(Clone)]
pub(crate) struct EventTx {
    control: mpsc::Sender<MeetingEvent>,
    media: mpsc::Sender<MeetingEvent>,
    budget: Arc<Budget>,
    shared: Arc<Shared>,
}

impl EventTx {
    /// Queues `ev` on its lane; drops and counts it if the lane is full.
    pub(crate) fn push(&self, ev: MeetingEvent) {
        if is_control(&ev) {
            if self.control.try_send(ev).is_err() {
                Counters::inc(&self.shared.counters.dropped_control_events);
            }
            return;
        }
        let w = weight(&ev);
        let before = self.budget.queued.fetch_add(w, Relaxed);
        if before.saturating_add(w) > self.budget.max || self.media.try_send(ev).is_err() {
            self.budget.queued.fetch_sub(w, Relaxed);
            Counters::inc(&self.shared.counters.dropped_events);
        }
    }
}

/// The receiving end of a meeting's events (both lanes).
pub struct MeetingEvents {
    control: mpsc::Receiver<MeetingEvent>,
    media: mpsc::Receiver<MeetingEvent>,
    budget: Arc<Budget>,
}

impl std::fmt::Debug for MeetingEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeetingEvents")
            .field("queued_bytes", &self.budget.queued.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// Both ends of a meeting's event lanes: `capacity` media events of at most `max_bytes` in all.
pub(crate) fn lanes(
    capacity: usize,
    max_bytes: usize,
    shared: Arc<Shared>,
) -> (EventTx, MeetingEvents) {
    let (ctx, crx) = mpsc::channel(CONTROL_CAPACITY);
    let (mtx, mrx) = mpsc::channel(capacity.max(16));
    let budget = Arc::new(Budget {
        queued: AtomicUsize::new(0),
        max: max_bytes,
    });
    (
        EventTx {
            control: ctx,
            media: mtx,
            budget: budget.clone(),
            shared,
        },
        MeetingEvents {
            control: crx,
            media: mrx,
            budget,
        },
    )
}

impl MeetingEvents {
    fn took(&self, ev: MeetingEvent) -> MeetingEvent {
        if !is_control(&ev) {
            self.budget.queued.fetch_sub(weight(&ev), Relaxed);
        }
        ev
    }

    /// The next event, control lane first; `None` once the meeting has ended and both lanes
    /// are empty.
    pub async fn recv(&mut self) -> Option<MeetingEvent> {
        let ev = tokio::select! {
            biased;
            Some(ev) = self.control.recv() => Some(ev),
            Some(ev) = self.media.recv() => Some(ev),
            else => None,
        };
        ev.map(|ev| self.took(ev))
    }

    /// The next control event only (rosters, codes, status, admission requests, connection),
    /// leaving media queued (and dropped once its budget is full).
    pub async fn recv_control(&mut self) -> Option<MeetingEvent> {
        self.control.recv().await
    }

    /// The next event if one is waiting, control lane first.
    pub fn try_recv(&mut self) -> Result<MeetingEvent, TryRecvError> {
        let ev = match self.control.try_recv() {
            Ok(ev) => ev,
            Err(TryRecvError::Empty) => self.media.try_recv()?,
            Err(TryRecvError::Disconnected) => match self.media.try_recv() {
                Err(TryRecvError::Empty) => return Err(TryRecvError::Disconnected),
                r => r?,
            },
        };
        Ok(self.took(ev))
    }

    /// Bytes of media-lane events waiting to be read.
    pub fn queued_bytes(&self) -> usize {
        self.budget.queued.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::event::Refusal;

    fn refused() -> MeetingEvent {
        MeetingEvent::Refused {
            from: 7,
            reason: Refusal::UnknownBlob,
        }
    }

    #[test]
    fn media_lane_is_bounded_in_bytes_and_never_blocks_control() {
        let shared = Arc::new(Shared::new());
        let (tx, mut rx) = lanes(4096, 6400, shared.clone());
        // 64-byte events: 100 fit in 6400 bytes, the rest are dropped, not queued.
        for _ in 0..1000 {
            tx.push(refused());
        }
        assert_eq!(rx.queued_bytes(), 6400);
        assert_eq!(shared.counters.snapshot().dropped_events, 900);
        // A full media lane does not hold back a control event, which is served first.
        tx.push(MeetingEvent::Reconnected);
        assert_eq!(rx.try_recv().unwrap(), MeetingEvent::Reconnected);
        // Reading releases the budget: the next event fits again.
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 100);
        assert_eq!(rx.queued_bytes(), 0);
        tx.push(refused());
        assert!(matches!(
            rx.try_recv().unwrap(),
            MeetingEvent::Refused { .. }
        ));
    }

    #[test]
    fn control_lane_drops_and_counts_when_nobody_reads() {
        let shared = Arc::new(Shared::new());
        let (tx, mut rx) = lanes(16, 1 << 20, shared.clone());
        for _ in 0..CONTROL_CAPACITY + 10 {
            tx.push(MeetingEvent::Reconnected);
        }
        assert_eq!(shared.counters.snapshot().dropped_control_events, 10);
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, CONTROL_CAPACITY);
    }
}
