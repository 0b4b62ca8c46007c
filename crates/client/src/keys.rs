//! The receive side and the key bookkeeping (SPEC §11.3, §11.4): the `Opener` with every
//! receiver key of the live epochs, the display names per epoch, the current `Sealer` (set in
//! the shared state), a bounded queue for frames of an epoch whose keys have not arrived yet
//! (the relay may forward a sender's first frames of a new epoch before the host's key message
//! reaches this client), and transport mode's lazily derived keys (SPEC §12).
//!
//! [`Inbound`] is the media hot path: the connection's datagram and stream readers hand each
//! frame to it, and it opens the frame in place under a short lock and puts the event on the
//! application's channel, with no hop through the driver. The driver takes the same lock to
//! install and erase keys, so a frame is never opened under a key the group layer has not
//! installed, and frames held for a not-yet-keyed epoch are released under the lock before any
//! newer frame of that epoch can be opened (per-sender order is kept).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use hush_frame::{BaseKey, CipherSuite, FrameError, Opened, Opener, Sealer};
use hush_group::issued::Issued;
use hush_group::{IdentityKey, RosterView, SenderSecret, split_kid};
use hush_session::IssuedRefusal;

use crate::blob::{AfterClassByte, DATA_AAD, DataKind};
use crate::event::{DataMessage, MediaFrame, MeetingEvent};
use crate::lanes::EventTx;
use crate::net::MediaSink;
use crate::shared::{SealState, Shared, lock};
use crate::stats::Counters;

/// Frames of a not-yet-keyed epoch kept at most (oldest dropped first).
const FUTURE_QUEUE: usize = 1024;
/// How many epochs past the keyed one a held frame may claim (SPEC §11.3).
pub(crate) const FUTURE_EPOCHS: u64 = 4;
/// Bytes of frames of a not-yet-keyed epoch kept at most (oldest dropped first, SPEC §11.3).
pub(crate) const FUTURE_QUEUE_BYTES: usize = 1 << 20;

/// Size of the blocks received frames are copied into when quinn's buffer is shared (several
/// datagrams of one GRO batch live in one allocation): one allocation per block, not per frame.
/// A block is freed when the last frame cut from it is dropped.
const ARENA_BLOCK: usize = 64 * 1024;

#[derive(Default)]
struct EpochKeys {
    names: HashMap<u16, Arc<str>>,
    /// Each sender's identity (e2ee mode): who sent a frame, whatever its display name.
    identities: HashMap<u16, IdentityKey>,
    kids: Vec<u64>,
}

enum Queued {
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

/// The media receive path shared by the connection's readers and the driver.
pub(crate) struct Inbound {
    keys: Mutex<Keys>,
    events: EventTx,
}

impl Inbound {
    pub(crate) fn new(shared: Arc<Shared>, events: EventTx) -> Self {
        Inbound {
            keys: Mutex::new(Keys::new(shared)),
            events,
        }
    }

    /// The keys, locked (never held across an await).
    pub(crate) fn keys(&self) -> MutexGuard<'_, Keys> {
        lock(&self.keys)
    }

    /// Puts a media event on the application's media lane; a full lane drops it (counted).
    fn push(&self, ev: MeetingEvent) {
        self.events.push(ev);
    }

    /// After new keys (call with the lock held): releases the held frames of the now keyed
    /// epoch. Media events go to the channel at once, before any later frame can be opened;
    /// data events are returned for the driver to emit in order with the other data.
    pub(crate) fn release_held(&self, keys: &mut Keys) -> Vec<MeetingEvent> {
        let mut data = Vec::new();
        for ev in keys.retry_future() {
            match ev {
                MeetingEvent::Media(_) => self.push(ev),
                ev => data.push(ev),
            }
        }
        data
    }
}

impl MediaSink for Inbound {
    fn on_media(&self, frame: Bytes) {
        let mut keys = self.keys();
        let buf = keys.to_mut(frame);
        if let Some(ev) = keys.open_media(buf) {
            self.push(ev);
        }
    }

    fn on_media_parts(&self, head: &[Bytes], tail: &[Bytes], len: usize) {
        let mut keys = self.keys();
        let buf = keys.join(head.iter().chain(tail), len);
        if let Some(ev) = keys.open_media(buf) {
            self.push(ev);
        }
    }
}

pub(crate) struct Keys {
    shared: Arc<Shared>,
    opener: Opener,
    epochs: BTreeMap<u64, EpochKeys>,
    keyed: Option<u64>,
    /// The epoch of the latest roster whose key has not arrived yet.
    awaiting: Option<u64>,
    future: VecDeque<(u64, Queued)>,
    future_bytes: usize,
    expiring: Vec<(u64, u64)>,
    /// Transport mode: the issued epoch, to derive a sender's key on first sight (SPEC §12).
    transport: Option<Issued>,
    /// Left with keys kept (test hook): keep opening, never queue.
    pub(crate) frozen: bool,
    /// Where shared received frames are copied to be opened (see [`ARENA_BLOCK`]).
    arena: BytesMut,
}

fn base_key(s: &SenderSecret) -> Result<BaseKey, FrameError> {
    BaseKey::new(s.base_key.to_vec())
}

fn suite_of(id: u16) -> Result<CipherSuite, FrameError> {
    CipherSuite::from_id(id).ok_or_else(|| FrameError::UnknownSuite(format!("0x{id:04x}")))
}

impl Keys {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Keys {
            shared,
            opener: Opener::new(),
            epochs: BTreeMap::new(),
            keyed: None,
            awaiting: None,
            future: VecDeque::new(),
            future_bytes: 0,
            expiring: Vec::new(),
            transport: None,
            frozen: false,
            arena: BytesMut::new(),
        }
    }

    /// A mutable buffer holding `b`: quinn's own when nothing else shares it (no copy), else a
    /// copy cut from the arena.
    fn to_mut(&mut self, b: Bytes) -> BytesMut {
        match b.try_into_mut() {
            Ok(m) => m,
            Err(shared) => self.join([&shared], shared.len()),
        }
    }

    /// `parts` (`len` bytes in all) copied one after the other into a buffer cut from the arena:
    /// one allocation per [`ARENA_BLOCK`] bytes, not per frame (the block is reused once every
    /// frame cut from it has been dropped).
    fn join<'a>(&mut self, parts: impl IntoIterator<Item = &'a Bytes>, len: usize) -> BytesMut {
        if self.arena.capacity() < len {
            self.arena.reserve(ARENA_BLOCK.max(len));
        }
        for p in parts {
            self.arena.extend_from_slice(p);
        }
        self.arena.split()
    }

    /// Forgets every key (left, removed, disconnected).
    pub(crate) fn clear(&mut self) {
        self.opener = Opener::new();
        self.epochs.clear();
        self.keyed = None;
        self.awaiting = None;
        self.future.clear();
        self.set_future_bytes(0);
        self.expiring.clear();
        self.transport = None;
        self.shared.set_sealer(None);
    }

    /// Records the display names of an epoch's roster.
    pub(crate) fn set_roster(&mut self, view: &RosterView) {
        if self.keyed.is_none_or(|k| view.epoch > k) {
            self.awaiting = Some(view.epoch);
        }
        let e = self.epochs.entry(view.epoch).or_default();
        e.names = view
            .members
            .iter()
            .map(|m| (m.index, Arc::from(m.name.as_str())))
            .collect();
        e.identities = view.members.iter().map(|m| (m.index, m.identity)).collect();
    }

    fn add_key(&mut self, epoch: u64, s: &SenderSecret) -> Result<(), FrameError> {
        match self.opener.add_key(s.kid, suite_of(s.suite)?, base_key(s)?) {
            Ok(()) | Err(FrameError::DuplicateKid(_)) => {}
            Err(e) => return Err(e),
        }
        self.epochs.entry(epoch).or_default().kids.push(s.kid);
        Ok(())
    }

    /// Installs an epoch's keys: every receiver key in the opener, the own key as the sealer.
    pub(crate) fn install_epoch(
        &mut self,
        epoch: u64,
        mine: &SenderSecret,
        receivers: &[SenderSecret],
    ) -> Result<(), FrameError> {
        for r in receivers {
            self.add_key(epoch, r)?;
        }
        let sealer = Sealer::new(suite_of(mine.suite)?, mine.kid, base_key(mine)?);
        self.keyed = Some(epoch);
        if self.awaiting.is_some_and(|a| a <= epoch) {
            self.awaiting = None;
        }
        self.shared.set_sealer(Some(SealState { sealer, epoch }));
        Ok(())
    }

    /// Transport mode: installs the issued epoch's own key; receiver keys come lazily.
    pub(crate) fn install_issued(
        &mut self,
        issued: &Issued,
        previous: Option<&Issued>,
        now: u64,
        grace: u64,
    ) -> Result<(), IssuedRefusal> {
        let mine = issued.my_sender()?;
        match previous {
            Some(p) if p.meeting != issued.meeting => self.clear(),
            Some(p) if p.epoch != issued.epoch => {
                self.expiring.push((p.epoch, now.saturating_add(grace)));
            }
            _ => {}
        }
        let key = base_key(&mine)?;
        let sealer = Sealer::new(issued.suite, mine.kid, key);
        self.keyed = Some(issued.epoch);
        self.transport = Some(issued.clone());
        self.shared.set_sealer(Some(SealState {
            sealer,
            epoch: issued.epoch,
        }));
        Ok(())
    }

    /// Earliest transport-mode key expiry.
    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        self.expiring.iter().map(|(_, at)| *at).min()
    }

    /// Transport-mode epochs whose grace is over.
    pub(crate) fn poll(&mut self, now: u64) -> Vec<u64> {
        let mut due = Vec::new();
        self.expiring.retain(|(e, at)| {
            if *at <= now {
                due.push(*e);
                false
            } else {
                true
            }
        });
        due
    }

    /// Erases every key of `epoch`.
    pub(crate) fn expire(&mut self, epoch: u64) {
        if let Some(e) = self.epochs.remove(&epoch) {
            for kid in e.kids {
                self.opener.remove_key(kid);
            }
        }
    }

    fn identity(&self, epoch: u64, index: u16) -> Option<IdentityKey> {
        self.epochs
            .get(&epoch)
            .and_then(|e| e.identities.get(&index).copied())
    }

    fn name(&self, epoch: u64, index: u16) -> Arc<str> {
        self.epochs
            .get(&epoch)
            .and_then(|e| e.names.get(&index).cloned())
            .unwrap_or_else(|| Arc::from(format!("#{index}")))
    }

    fn is_future(&self, kid: u64) -> bool {
        split_kid(kid).0 > self.keyed.unwrap_or(0)
    }

    /// Whether a frame of a not-yet-keyed epoch is worth keeping: only for the next epochs this
    /// client can actually receive, at most [`FUTURE_EPOCHS`] past its keyed epoch (or past the
    /// roster it holds without the key yet; a host may start a few epochs in quick succession
    /// while its key messages are on the way). A frame claiming any other epoch (e.g. 2^47, from
    /// anyone) is refused at once instead of held (SPEC §11.3).
    fn can_wait_for(&self, kid: u64) -> bool {
        let epoch = split_kid(kid).0;
        let base = match (self.keyed, self.awaiting) {
            (Some(k), _) => k,
            (None, Some(a)) => a.saturating_sub(1),
            (None, None) => return false,
        };
        !self.frozen && self.is_future(kid) && epoch <= base.saturating_add(FUTURE_EPOCHS)
    }

    fn set_future_bytes(&mut self, n: usize) {
        self.future_bytes = n;
        self.shared
            .counters
            .future_queued_bytes
            .store(n as u64, std::sync::atomic::Ordering::Relaxed);
    }

    fn open<B: hush_frame::FrameBuffer + ?Sized>(
        &mut self,
        aad: &[u8],
        buf: &mut B,
    ) -> Result<Opened, FrameError> {
        match self.opener.open(aad, buf) {
            Err(FrameError::UnknownKid(kid)) => {
                // Transport mode: derive the sender's key on first sight (SPEC §12).
                let (epoch, index) = split_kid(kid);
                let Some(iss) = &self.transport else {
                    return Err(FrameError::UnknownKid(kid));
                };
                if epoch != iss.epoch || index == iss.your_index {
                    return Err(FrameError::UnknownKid(kid));
                }
                let s = iss.sender(index).map_err(|_| FrameError::UnknownKid(kid))?;
                self.add_key(epoch, &s)?;
                // Transport mode has no roster: name the sender once, not per frame.
                self.epochs
                    .entry(epoch)
                    .or_default()
                    .names
                    .entry(index)
                    .or_insert_with(|| Arc::from(format!("#{index}")));
                self.opener.open(aad, buf)
            }
            r => r,
        }
    }

    /// Holds a frame for the next epoch, within [`FUTURE_QUEUE`] frames and
    /// [`FUTURE_QUEUE_BYTES`] bytes (the oldest go first, counted).
    fn queue(&mut self, kid: u64, q: Queued) {
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

    /// Opens a media frame in place; `None` if it was refused (counted) or held for a future
    /// epoch.
    fn open_media(&mut self, mut buf: BytesMut) -> Option<MeetingEvent> {
        match self.open(&[], &mut buf) {
            Ok(o) => {
                Counters::inc(&self.shared.counters.media_opened);
                let (epoch, sender) = split_kid(o.kid);
                Some(MeetingEvent::Media(MediaFrame {
                    sender,
                    sender_name: self.name(epoch, sender),
                    sender_identity: self.identity(epoch, sender),
                    epoch,
                    ctr: o.ctr,
                    payload: buf.freeze(),
                }))
            }
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Media(buf));
                None
            }
            Err(e) => {
                self.shared.counters.refused_frame(&e);
                None
            }
        }
    }

    /// Opens a data message blob (`0xD1 ‖ SFrame`); `Ok(None)` if queued for a future epoch.
    pub(crate) fn on_data(
        &mut self,
        from: u64,
        blob: Bytes,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        let blob = self.to_mut(blob);
        self.open_data(from, blob)
    }

    fn open_data(
        &mut self,
        from: u64,
        mut blob: BytesMut,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        match self.open(DATA_AAD, &mut AfterClassByte(&mut blob)) {
            Ok(o) => {
                if blob.len() < 2 {
                    return Err(FrameError::Truncated {
                        len: blob.len().saturating_sub(1),
                        min: 1,
                    });
                }
                Counters::inc(&self.shared.counters.data_opened);
                let (epoch, sender) = split_kid(o.kid);
                let kind = DataKind::from_u8(blob[1]);
                Ok(Some(MeetingEvent::Data(DataMessage {
                    sender,
                    sender_name: self.name(epoch, sender),
                    sender_identity: self.identity(epoch, sender),
                    epoch,
                    kind,
                    payload: blob.freeze().slice(2..),
                })))
            }
            Err(FrameError::UnknownKid(kid)) if self.can_wait_for(kid) => {
                self.queue(kid, Queued::Data { from, blob });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// After new keys: opens the queued frames whose epoch is now keyed (see
    /// [`Inbound::release_held`]).
    fn retry_future(&mut self) -> Vec<MeetingEvent> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_buffers_are_taken_as_they_are_shared_ones_are_copied_to_the_arena() {
        let mut k = Keys::new(Arc::new(Shared::new()));
        // Uniquely owned (quinn's buffer once nothing else refers to it): no copy.
        let b = Bytes::from(vec![1u8, 2, 3, 4]);
        let at = b.as_ptr();
        let m = k.to_mut(b);
        assert_eq!(m.as_ptr(), at);
        assert_eq!(&m[..], &[1, 2, 3, 4]);
        // Shared (another datagram of the same receive batch still alive): copied, contents
        // equal, the other holder unaffected.
        let shared = Bytes::from(vec![5u8; 100]);
        let other = shared.clone();
        let m1 = k.to_mut(shared);
        assert_ne!(m1.as_ptr(), other.as_ptr());
        assert_eq!(&m1[..], &other[..]);
        // Frames cut one after the other from the same arena block.
        let m2 = k.to_mut(other.clone());
        assert_eq!(m2.as_ptr(), m1.as_ptr().wrapping_add(100));
        // Parts of a stream-carried frame are joined in order.
        let parts = [Bytes::from_static(b"ab"), Bytes::from_static(b"cde")];
        let j = k.join(parts.iter(), 5);
        assert_eq!(&j[..], b"abcde");
        // A frame larger than a block gets a block of its own.
        let big = Bytes::from(vec![9u8; ARENA_BLOCK + 1]);
        let keep = big.clone();
        let j = k.to_mut(big);
        assert_eq!(j.len(), ARENA_BLOCK + 1);
        assert_eq!(&j[..], &keep[..]);
    }
}
