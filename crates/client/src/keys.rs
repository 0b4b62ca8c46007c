//! The receive side and the key bookkeeping (SPEC §11.3, §11.4): the `Opener` with every
//! receiver key of the live epochs, the display names per epoch, the current `Sealer` (set in
//! the shared state), a bounded queue for frames of an epoch whose keys have not arrived yet
//! (the relay may forward a sender's first frames of a new epoch before the host's key message
//! reaches this client), and transport mode's lazily derived keys (SPEC §12).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use hush_frame::{BaseKey, CipherSuite, FrameError, Opened, Opener, Sealer};
use hush_group::{RosterView, SenderSecret, split_kid};
use hush_keyservice::Issued;

use crate::blob::{AfterClassByte, DATA_AAD, DataKind};
use crate::driver::Mode;
use crate::event::{DataMessage, MediaFrame, MeetingEvent};
use crate::shared::{SealState, Shared};
use crate::stats::Counters;

/// Frames of a not-yet-keyed epoch kept at most (oldest dropped first).
const FUTURE_QUEUE: usize = 1024;

#[derive(Default)]
struct EpochKeys {
    names: HashMap<u16, Arc<str>>,
    kids: Vec<u64>,
}

enum Queued {
    Media(BytesMut),
    Data { from: u64, blob: BytesMut },
}

pub(crate) struct Keys {
    shared: Arc<Shared>,
    opener: Opener,
    epochs: BTreeMap<u64, EpochKeys>,
    keyed: Option<u64>,
    future: VecDeque<(u64, Queued)>,
    expiring: Vec<(u64, u64)>,
}

fn base_key(s: &SenderSecret) -> Result<BaseKey, FrameError> {
    BaseKey::new(s.base_key.to_vec())
}

fn suite_of(id: u16) -> Result<CipherSuite, FrameError> {
    CipherSuite::from_id(id).ok_or_else(|| FrameError::UnknownSuite(format!("0x{id:04x}")))
}

fn to_mut(b: Bytes) -> BytesMut {
    b.try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]))
}

impl Keys {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Keys {
            shared,
            opener: Opener::new(),
            epochs: BTreeMap::new(),
            keyed: None,
            future: VecDeque::new(),
            expiring: Vec::new(),
        }
    }

    /// Forgets every key (left, removed, disconnected).
    pub(crate) fn clear(&mut self) {
        self.opener = Opener::new();
        self.epochs.clear();
        self.keyed = None;
        self.future.clear();
        self.expiring.clear();
        self.shared.set_sealer(None);
    }

    /// Records the display names of an epoch's roster.
    pub(crate) fn set_roster(&mut self, view: &RosterView) {
        let e = self.epochs.entry(view.epoch).or_default();
        e.names = view
            .members
            .iter()
            .map(|m| (m.index, Arc::from(m.name.as_str())))
            .collect();
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
    ) -> Result<(), String> {
        let mine = issued.my_sender().map_err(|e| e.to_string())?;
        match previous {
            Some(p) if p.meeting != issued.meeting => self.clear(),
            Some(p) if p.epoch != issued.epoch => {
                self.expiring.push((p.epoch, now.saturating_add(grace)));
            }
            _ => {}
        }
        let key = base_key(&mine).map_err(|e| e.to_string())?;
        let sealer = Sealer::new(issued.suite, mine.kid, key);
        self.keyed = Some(issued.epoch);
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

    fn name(&self, epoch: u64, index: u16) -> Arc<str> {
        self.epochs
            .get(&epoch)
            .and_then(|e| e.names.get(&index).cloned())
            .unwrap_or_else(|| Arc::from(format!("#{index}")))
    }

    fn is_future(&self, kid: u64) -> bool {
        split_kid(kid).0 > self.keyed.unwrap_or(0)
    }

    fn open<B: hush_frame::FrameBuffer + ?Sized>(
        &mut self,
        aad: &[u8],
        buf: &mut B,
        mode: &Mode,
    ) -> Result<Opened, FrameError> {
        match self.opener.open(aad, buf) {
            Err(FrameError::UnknownKid(kid)) => {
                // Transport mode: derive the sender's key on first sight (SPEC §12).
                let (epoch, index) = split_kid(kid);
                let Mode::Transport(Some(iss)) = mode else {
                    return Err(FrameError::UnknownKid(kid));
                };
                if epoch != iss.epoch || index == iss.your_index {
                    return Err(FrameError::UnknownKid(kid));
                }
                let s = iss.sender(index).map_err(|_| FrameError::UnknownKid(kid))?;
                self.add_key(epoch, &s)?;
                self.opener.open(aad, buf)
            }
            r => r,
        }
    }

    fn queue(&mut self, kid: u64, q: Queued) {
        if self.future.len() >= FUTURE_QUEUE {
            self.future.pop_front();
            Counters::inc(&self.shared.counters.dropped_future);
        }
        self.future.push_back((kid, q));
    }

    /// Opens a media frame; `None` if it was refused (counted) or queued for a future epoch.
    pub(crate) fn on_media(
        &mut self,
        frame: Bytes,
        mode: &Mode,
        frozen: bool,
    ) -> Option<MeetingEvent> {
        self.open_media(to_mut(frame), mode, frozen)
    }

    fn open_media(&mut self, mut buf: BytesMut, mode: &Mode, frozen: bool) -> Option<MeetingEvent> {
        match self.open(&[], &mut buf, mode) {
            Ok(o) => {
                Counters::inc(&self.shared.counters.media_opened);
                let (epoch, sender) = split_kid(o.kid);
                Some(MeetingEvent::Media(MediaFrame {
                    sender,
                    sender_name: self.name(epoch, sender),
                    epoch,
                    ctr: o.ctr,
                    payload: buf.freeze(),
                }))
            }
            Err(FrameError::UnknownKid(kid)) if !frozen && self.is_future(kid) => {
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
        mode: &Mode,
        frozen: bool,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        self.open_data(from, to_mut(blob), mode, frozen)
    }

    fn open_data(
        &mut self,
        from: u64,
        mut blob: BytesMut,
        mode: &Mode,
        frozen: bool,
    ) -> Result<Option<MeetingEvent>, FrameError> {
        match self.open(DATA_AAD, &mut AfterClassByte(&mut blob), mode) {
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
                    epoch,
                    kind,
                    payload: blob.freeze().slice(2..),
                })))
            }
            Err(FrameError::UnknownKid(kid)) if !frozen && self.is_future(kid) => {
                self.queue(kid, Queued::Data { from, blob });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// After new keys: opens the queued frames whose epoch is now keyed.
    pub(crate) fn retry_future(&mut self, mode: &Mode) -> Vec<MeetingEvent> {
        let queued = std::mem::take(&mut self.future);
        let mut out = Vec::new();
        for (kid, q) in queued {
            if self.is_future(kid) {
                self.future.push_back((kid, q));
                continue;
            }
            let ev = match q {
                Queued::Media(buf) => self.open_media(buf, mode, false),
                Queued::Data { from, blob } => match self.open_data(from, blob, mode, false) {
                    Ok(ev) => ev,
                    Err(e) => {
                        self.shared.counters.refused_frame(&e);
                        None
                    }
                },
            };
            out.extend(ev);
        }
        out
    }
}
