//! Counters of a meeting: frames sealed, opened, refused by reason. Lock-free (relaxed atomics),
//! shared between the driver task and the handle.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hush_frame::FrameError;

/// A snapshot of a meeting's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Media frames sealed and handed to the network.
    pub media_sealed: u64,
    /// Media frames opened.
    pub media_opened: u64,
    /// Data messages sealed and sent.
    pub data_sealed: u64,
    /// Data messages opened.
    pub data_opened: u64,
    /// Frames (media or data) refused: no key for their KID (e.g. a departed member's view).
    pub refused_unknown_kid: u64,
    /// Frames refused as replays or too old for the window.
    pub refused_replay: u64,
    /// Frames whose tag did not verify.
    pub refused_auth: u64,
    /// Frames and data messages forged in another member's name (SPEC §14): refused, or
    /// detected after delivery by the claimed sender's vouch. Each is also a
    /// `MeetingEvent::Forged`.
    pub forged: u64,
    /// Media frames refused because they are too far ahead of their sender's vouches.
    pub refused_unvouched: u64,
    /// Media frames delivered before their sender's vouch ([`crate::SenderAuth::Pending`]).
    pub media_pending: u64,
    /// Media frames delivered before their vouch that the vouch then confirmed.
    pub media_confirmed: u64,
    /// Vouches this client sent for its own media frames.
    pub vouches_sent: u64,
    /// Frames that do not parse (header, truncation).
    pub refused_malformed: u64,
    /// Group messages (rosters, keys, requests) refused.
    pub refused_group: u64,
    /// Blobs matching no class, and key service messages refused.
    pub refused_other: u64,
    /// Group messages this client could not send (each also a `MeetingEvent::SendFailed`).
    pub send_failed: u64,
    /// Frames of a future epoch dropped because the wait queue was full or the epoch never came.
    pub dropped_future: u64,
    /// Media-lane events (media, data, refusals) dropped because the application did not read
    /// them fast enough (the lane's count or byte budget was full).
    pub dropped_events: u64,
    /// Control-lane events dropped because the application did not read them at all (the lane
    /// holds `CONTROL_CAPACITY` events).
    pub dropped_control_events: u64,
    /// Bytes of frames waiting for the next epoch's key (bounded, SPEC §11.3).
    pub future_queued_bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) media_sealed: AtomicU64,
    pub(crate) media_opened: AtomicU64,
    pub(crate) data_sealed: AtomicU64,
    pub(crate) data_opened: AtomicU64,
    refused_unknown_kid: AtomicU64,
    refused_replay: AtomicU64,
    refused_auth: AtomicU64,
    pub(crate) forged: AtomicU64,
    refused_unvouched: AtomicU64,
    pub(crate) media_pending: AtomicU64,
    pub(crate) media_confirmed: AtomicU64,
    pub(crate) vouches_sent: AtomicU64,
    refused_malformed: AtomicU64,
    pub(crate) refused_group: AtomicU64,
    pub(crate) refused_other: AtomicU64,
    pub(crate) send_failed: AtomicU64,
    pub(crate) dropped_future: AtomicU64,
    pub(crate) dropped_events: AtomicU64,
    pub(crate) dropped_control_events: AtomicU64,
    pub(crate) future_queued_bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// Counts a frame the opener refused, by reason.
    pub(crate) fn refused_frame(&self, e: &FrameError) {
        let c = match e {
            FrameError::UnknownKid(_) => &self.refused_unknown_kid,
            FrameError::Replay { .. } | FrameError::TooOld { .. } => &self.refused_replay,
            FrameError::Authentication => &self.refused_auth,
            FrameError::Forged { .. } => &self.forged,
            FrameError::Unvouched { .. } => &self.refused_unvouched,
            _ => &self.refused_malformed,
        };
        Self::inc(c);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let g = |c: &AtomicU64| c.load(Relaxed);
        Stats {
            media_sealed: g(&self.media_sealed),
            media_opened: g(&self.media_opened),
            data_sealed: g(&self.data_sealed),
            data_opened: g(&self.data_opened),
            refused_unknown_kid: g(&self.refused_unknown_kid),
            refused_replay: g(&self.refused_replay),
            refused_auth: g(&self.refused_auth),
            forged: g(&self.forged),
            refused_unvouched: g(&self.refused_unvouched),
            media_pending: g(&self.media_pending),
            media_confirmed: g(&self.media_confirmed),
            vouches_sent: g(&self.vouches_sent),
            refused_malformed: g(&self.refused_malformed),
            refused_group: g(&self.refused_group),
            refused_other: g(&self.refused_other),
            send_failed: g(&self.send_failed),
            dropped_future: g(&self.dropped_future),
            dropped_events: g(&self.dropped_events),
            dropped_control_events: g(&self.dropped_control_events),
            future_queued_bytes: g(&self.future_queued_bytes),
        }
    }
}
