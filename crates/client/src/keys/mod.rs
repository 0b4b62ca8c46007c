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
//!
//! The bookkeeping is one [`Keys`], its methods by concern: [`install`] (epoch keys in, expired
//! keys out), [`open`] (the opener, with transport mode's lazy keys), [`future_queue`] (frames of
//! an epoch not yet keyed), [`arena`] (buffers received frames are opened in); [`Inbound`] is the
//! lock around it that the readers use.

mod arena;
mod future_queue;
mod inbound;
mod install;
mod open;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;
use hush_frame::{BaseKey, CipherSuite, FrameError, Opener};
use hush_group::issued::Issued;
use hush_group::sender_auth::DataVerifier;
use hush_group::{IdentityKey, RosterView, SenderSecret};

use crate::event::MeetingEvent;
use crate::shared::Shared;
use future_queue::Queued;

pub(crate) use inbound::Inbound;

#[derive(Default)]
struct EpochKeys {
    names: HashMap<u16, Arc<str>>,
    /// Each sender's identity (e2ee mode): who sent a frame, whatever its display name.
    identities: HashMap<u16, IdentityKey>,
    /// The identities decompressed for signature checks, on a sender's first signed message
    /// (not at the roster: a meeting of 1000 would pay 1000 decompressions per epoch).
    verifiers: HashMap<u16, Option<DataVerifier>>,
    kids: Vec<u64>,
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
    /// Where shared received frames are copied to be opened (see [`arena::ARENA_BLOCK`]).
    arena: BytesMut,
    /// Forgeries found on the data path, for the driver to emit (SPEC §14).
    forgeries: Vec<MeetingEvent>,
    /// Test hook (`MeetingConfig::test_forger`): the other members' sending keys of the
    /// current epoch, by roster index.
    pub(crate) forge_keys: Option<HashMap<u16, SenderSecret>>,
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
            forgeries: Vec::new(),
            forge_keys: None,
        }
    }

    /// Whether this client authenticates senders (SPEC §14): on in an e2ee meeting unless
    /// `MeetingConfig::sender_auth` is off.
    fn sender_auth(&self) -> bool {
        self.shared.signer.get().is_some()
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
        e.verifiers.clear();
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
}
