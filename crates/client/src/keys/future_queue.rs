//! The bounded queue for frames of an epoch whose keys have not arrived yet (SPEC §11.3).

use bytes::BytesMut;
use hush_group::split_kid;

use super::Keys;
use crate::event::MeetingEvent;
use crate::stats::Counters;

/// Frames of a not-yet-keyed epoch kept at most (oldest dropped first).
const FUTURE_QUEUE: usize = 1024;
/// How many epochs past the keyed one a held frame may claim (SPEC §11.3).
pub(crate) const FUTURE_EPOCHS: u64 = 4;
/// Bytes of frames of a not-yet-keyed epoch kept at most (oldest dropped first, SPEC §11.3).
pub(crate) const FUTURE_QUEUE_BYTES: usize = 1 << 20;

pub(super) enum Queued {
    Media(BytesMut),
    Data { from: u64, blob: BytesMut },
}

impl Queued {
    fn len(&self) -> usize {
        match self {
            Queued::Media(b) | Queued::Data { blob: b, .. } => b.len(),
        }
    }
}

impl Keys {
    pub(super) fn is_future(&self, kid: u64) -> bool {
        split_kid(kid).0 > self.keyed.unwrap_or(0)
    }

    /// Whether a frame of a not-yet-keyed epoch is worth keeping: only for the next epochs this
    /// client can actually receive, at most [`FUTURE_EPOCHS`] past its keyed epoch (or past the
    /// roster it holds without the key yet; a host may start a few epochs in quick succession
    /// while its key messages are on the way). A frame claiming any other epoch (e.g. 2^47, from
    /// anyone) is refused at once instead of held (SPEC §11.3).
    pub(super) fn can_wait_for(&self, kid: u64) -> bool {
        let epoch = split_kid(kid).0;
        let base = match (self.keyed, self.awaiting) {
            (Some(k), _) => k,
            (None, Some(a)) => a.saturating_sub(1),
            (None, None) => return false,
        };
        !self.frozen && self.is_future(kid) && epoch <= base.saturating_add(FUTURE_EPOCHS)
    }

    pub(super) fn set_future_bytes(&mut self, n: usize) {
        self.future_bytes = n;
        self.shared
            .counters
            .future_queued_bytes
            .store(n as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Holds a frame for the next epoch, within [`FUTURE_QUEUE`] frames and
    /// [`FUTURE_QUEUE_BYTES`] bytes (the oldest go first, counted).
    pub(super) fn queue(&mut self, kid: u64, q: Queued) {
        let mut bytes = self.future_bytes;
        while !self.future.is_empty()
            && (self.future.len() >= FUTURE_QUEUE || bytes + q.len() > FUTURE_QUEUE_BYTES)
        {
            if let Some((_, old)) = self.future.pop_front() {
                bytes -= old.len();
            }
            Counters::inc(&self.shared.counters.dropped_future);
        }
        if q.len() > FUTURE_QUEUE_BYTES {
            Counters::inc(&self.shared.counters.dropped_future);
        } else {
            bytes += q.len();
            self.future.push_back((kid, q));
        }
        self.set_future_bytes(bytes);
    }

    /// After new keys: opens the queued frames whose epoch is now keyed (see
    /// [`Inbound::release_held`](super::Inbound::release_held)).
    pub(super) fn retry_future(&mut self) -> Vec<MeetingEvent> {
        let queued = std::mem::take(&mut self.future);
        self.future_bytes = 0;
        let mut out = Vec::new();
        for (kid, q) in queued {
            if self.can_wait_for(kid) {
                self.future_bytes += q.len();
                self.future.push_back((kid, q));
                continue;
            }
            if self.is_future(kid) {
                // Its epoch was skipped: it will never open.
                Counters::inc(&self.shared.counters.dropped_future);
                continue;
            }
            let ev = match q {
                Queued::Media(buf) => self.open_media(buf),
                Queued::Data { from, blob } => match self.open_data(from, blob) {
                    Ok(ev) => ev,
                    Err(e) => {
                        self.shared.counters.refused_frame(&e);
                        None
                    }
                },
            };
            out.extend(ev);
        }
        self.set_future_bytes(self.future_bytes);
        out
    }
}
