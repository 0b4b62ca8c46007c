//! [`Session`]: one participant's whole meeting protocol (SPEC §8.8–§8.9, §11.5, §12.5) as a
//! plain state machine, in the style of quinn-proto's `Connection`. What arrives goes in through
//! `handle_*` (relay events, blobs, timers) and the application's commands; what leaves comes
//! out through three separate queues, drained by the driver after every call:
//!
//! - [`Session::poll_transmit`]: blobs to send through the relay;
//! - [`Session::poll_key_update`]: keys to install in, or erase from, the media path;
//! - [`Session::poll_event`]: what the application is told.
//!
//! No I/O, no clock (time is passed in, in milliseconds), randomness from the generator given to
//! [`Session::new`]. Media frames never pass through here.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hush_group::issued::Issued;
use hush_group::message::msg_type;
use hush_group::{
    Host, HostConfig, HostInput, IdentityKey, Member, MemberConfig, Outgoing, PendingJoin, Role,
    Step,
};
use hush_wire::{ParticipantId, RelayMode, Target};
use rand::rngs::StdRng;

use crate::blob::{BlobClass, classify};
use crate::config::{Admit, ClientRole, SessionConfig};
use crate::guard::{HelloAnswer, HostGuard};
use crate::output::{Event, KeyUpdate, SessionError, Transmit};
use crate::status::{AdmissionRequest, E2eeStatus, EndReason, IssuedRefusal, Refusal, SendFailure};

/// Join requests waiting for the host's answer (`Admit::Ask`) at most; more are dropped.
pub const MAX_PENDING: usize = 64;

/// Relay ids a transport-mode session tracks as present at most (the relay's own cap on a
/// room is at most 10 000, SPEC §7.4): 8 bytes each, so at most 80 KiB whatever the relay says.
pub const MAX_TRANSPORT_PEERS: usize = 10_000;

struct HostSide {
    host: Host,
    pending: HashMap<u64, PendingJoin>,
    /// Identities admitted before, with their role: re-admitted without asking in that role,
    /// never promoted to connector without consent (SPEC §8.9 step 5).
    admitted: HashMap<IdentityKey, Role>,
    guard: HostGuard,
}

enum Mode {
    /// Not connected yet.
    Idle,
    Host(Box<HostSide>),
    Member(Box<Member>),
    Transport(Option<Issued>),
}

/// One participant's meeting protocol. See the module docs.
pub struct Session {
    cfg: SessionConfig,
    rng: StdRng,
    mode: Mode,
    transmits: VecDeque<Transmit>,
    keys: VecDeque<KeyUpdate>,
    events: VecDeque<Event>,
    e2ee: Option<E2eeStatus>,
    /// The meeting has run on client-made keys: it never continues on relay-issued ones.
    e2ee_reached: bool,
    host_away_since: Option<u64>,
    frozen: bool,
    ended: Option<EndReason>,
    /// Transport mode has no roster: who is present is what the relay reports (its `Joined`
    /// list, then `PeerJoined`/`PeerLeft`), bounded by [`MAX_TRANSPORT_PEERS`].
    relay_peers: std::collections::BTreeSet<u64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("room", &self.cfg.room)
            .field("role", &self.cfg.role)
            .field("e2ee", &self.e2ee)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

fn target(id: u64) -> Target {
    Target::Participant(ParticipantId(id))
}

/// The host's relay id in a member's current roster (the host is its first entry).
fn host_relay_id(m: &Member) -> Option<u64> {
    m.roster()
        .and_then(|r| r.members.first())
        .map(|e| e.relay_id)
}

impl Session {
    /// A session that has not connected yet. Refuses contradictory settings: relay-issued keys
    /// cannot go with hosting or a pinned host key (SPEC §12.5).
    pub fn new(cfg: SessionConfig, rng: StdRng) -> Result<Self, SessionError> {
        Self::check(&cfg)?;
        Ok(Session {
            cfg,
            rng,
            mode: Mode::Idle,
            transmits: VecDeque::new(),
            keys: VecDeque::new(),
            events: VecDeque::new(),
            e2ee: None,
            e2ee_reached: false,
            host_away_since: None,
            frozen: false,
            ended: None,
            relay_peers: std::collections::BTreeSet::new(),
        })
    }

    /// Checks a configuration without making a session (see [`Session::new`]).
    pub fn check(cfg: &SessionConfig) -> Result<(), SessionError> {
        if cfg.allow_transport && cfg.role.is_host() {
            return Err(SessionError::Config(
                "a host makes the meeting's keys: hosting cannot run on relay-issued keys \
                 (allow_transport)",
            ));
        }
        if cfg.allow_transport && cfg.host_key.is_some() {
            return Err(SessionError::Config(
                "a pinned host key means keys made by that host: it cannot go with relay-issued \
                 keys (allow_transport)",
            ));
        }
        hush_group::names::pad_name(&cfg.name)?;
        Ok(())
    }

    /// Whether relay-issued keys are acceptable now: the user opted in and the meeting never ran
    /// on client-made keys. A driver refuses a transport-mode relay before joining otherwise.
    pub fn accepts_relay_keys(&self) -> bool {
        self.cfg.allow_transport && !self.e2ee_reached
    }

    /// Whether the meeting has run on client-made keys (it then never takes relay-issued ones).
    pub fn e2ee_reached(&self) -> bool {
        self.e2ee_reached
    }

    /// Why the meeting ended, once it has.
    pub fn ended(&self) -> Option<&EndReason> {
        self.ended.as_ref()
    }

    /// The current e2ee status.
    pub fn e2ee_status(&self) -> Option<&E2eeStatus> {
        self.e2ee.as_ref()
    }

    /// True while hosting.
    pub fn is_host(&self) -> bool {
        matches!(self.mode, Mode::Host(_))
    }

    /// The next blob to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next change to the media path's keys.
    pub fn poll_key_update(&mut self) -> Option<KeyUpdate> {
        self.keys.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn send(&mut self, to: Target, bytes: Vec<u8>) {
        if bytes.len() > self.cfg.max_message {
            let reason = format!(
                "larger than the {} bytes the relay forwards",
                self.cfg.max_message
            );
            return self.send_failed(to, &bytes, reason);
        }
        self.transmits.push_back(Transmit { to, bytes });
    }

    /// The driver could not send a [`Transmit`] (`reason`: the network's error): reported as
    /// [`Event::SendFailed`], like a message too large to send.
    pub fn send_failed(&mut self, to: Target, bytes: &[u8], reason: String) {
        let failure = SendFailure {
            to,
            msg_type: bytes.get(1).copied().unwrap_or(0),
            bytes: bytes.len(),
            reason,
        };
        tracing::warn!(%failure, "cannot send");
        self.events.push_back(Event::SendFailed(failure));
    }

    fn refuse(&mut self, from: u64, reason: Refusal) {
        tracing::debug!(from, %reason, "refused");
        self.events.push_back(Event::Refused { from, reason });
    }

    fn set_e2ee(&mut self, s: E2eeStatus) {
        if !matches!(s, E2eeStatus::KeysIssuedByRelay) {
            self.e2ee_reached = true;
        }
        if self.e2ee.as_ref() != Some(&s) {
            self.e2ee = Some(s.clone());
            self.events.push_back(Event::E2ee(s));
        }
    }

    /// Ends the meeting for `reason` (the driver's own reasons too, e.g. a reconnect to a relay
    /// that now issues the keys): every key erased, readiness withdrawn, [`Event::Ended`] once.
    pub fn end(&mut self, reason: EndReason) {
        if self.ended.is_none() {
            self.host_away_since = None;
            self.keys.push_back(KeyUpdate::Clear);
            self.keys.push_back(KeyUpdate::Ready {
                epoch: 0,
                others: 0,
            });
            self.events.push_back(Event::Ended(reason.clone()));
            self.ended = Some(reason);
        }
    }

    fn member_config(&self) -> MemberConfig {
        MemberConfig {
            grace_ms: self.cfg.grace_ms,
            role: if self.cfg.role == ClientRole::Connector {
                Role::Connector
            } else {
                Role::Participant
            },
        }
    }

    /// The relay confirmed the room (first connection or a reconnect): `your_id` is this
    /// participant's relay id, `participants` the others present, `mode` the relay's key mode.
    ///
    /// # Errors
    /// [`SessionError::RelayKeys`] if the relay issues the keys and this participant may not
    /// take them; the meeting then ends (a downgrade) or never starts.
    pub fn handle_connected(
        &mut self,
        now: u64,
        your_id: u64,
        participants: &[u64],
        mode: RelayMode,
    ) -> Result<(), SessionError> {
        if mode == RelayMode::Transport {
            if !self.accepts_relay_keys() {
                return Err(SessionError::RelayKeys {
                    downgrade: self.e2ee_reached,
                });
            }
            self.mode = Mode::Transport(None);
            self.relay_peers.clear();
            for id in participants.iter().filter(|id| **id != your_id) {
                self.add_relay_peer(*id);
            }
            return Ok(());
        }
        let pinned = match &self.mode {
            Mode::Member(m) => m.host(),
            _ => None,
        };
        match (&mut self.mode, self.cfg.role) {
            (Mode::Host(h), _) => {
                // Reconnected: keep the meeting and every member whose connection is still in
                // the room; move to the new id, drop the others, in one epoch (SPEC §8.9 step 10).
                h.pending.clear();
                h.guard = HostGuard::new();
                let step = h
                    .host
                    .reconnected(your_id, participants, &mut self.rng, now)?;
                h.guard.epoch_started(now);
                self.apply_step(step);
            }
            (_, ClientRole::Host { .. }) => {
                let config = HostConfig {
                    suite: self.cfg.suite.id(),
                    kem: self.cfg.kem,
                    rotation_interval_ms: self.cfg.rotation_ms,
                    grace_ms: self.cfg.grace_ms,
                    ..HostConfig::default()
                };
                let (host, step) = Host::new(
                    self.cfg.identity.clone(),
                    &self.cfg.name,
                    &self.cfg.room,
                    your_id,
                    config,
                    &mut self.rng,
                    now,
                )?;
                let mut guard = HostGuard::new();
                guard.epoch_started(now);
                self.mode = Mode::Host(Box::new(HostSide {
                    host,
                    pending: HashMap::new(),
                    admitted: HashMap::new(),
                    guard,
                }));
                self.apply_step(step);
                // Others are already in the room: ask whether one of them hosts already (its
                // answer, a roster it signed, ends this host: SPEC §8.9 step 2).
                if !participants.is_empty() {
                    self.send(Target::All, hush_group::message::hello());
                }
            }
            _ => {
                // A fresh member state and session HPKE key, the host key pinned before.
                let member = Member::new(
                    self.cfg.identity.clone(),
                    &self.cfg.name,
                    &self.cfg.room,
                    pinned.or(self.cfg.host_key),
                    self.member_config(),
                )?;
                let hello = member.hello();
                self.mode = Mode::Member(Box::new(member));
                self.send(Target::All, hello);
            }
        }
        Ok(())
    }

    /// The connection to the relay is gone (a reconnect may follow): keys are erased.
    pub fn handle_disconnected(&mut self) {
        self.host_away_since = None;
        self.keys.push_back(KeyUpdate::Clear);
        self.keys.push_back(KeyUpdate::Ready {
            epoch: 0,
            others: 0,
        });
    }

    fn add_relay_peer(&mut self, id: u64) {
        if self.relay_peers.len() < MAX_TRANSPORT_PEERS {
            self.relay_peers.insert(id);
        }
    }

    /// Transport mode: readiness is the issued epoch and who the relay says is present.
    fn transport_ready(&mut self) {
        if let Mode::Transport(Some(issued)) = &self.mode {
            self.keys.push_back(KeyUpdate::Ready {
                epoch: issued.epoch,
                others: self.relay_peers.len(),
            });
        }
    }

    /// The relay announced a newcomer.
    pub fn handle_peer_joined(&mut self, id: u64) {
        if let Mode::Transport(_) = self.mode {
            self.add_relay_peer(id);
            self.transport_ready();
            return;
        }
        // A joiner still without a roster asks every newcomer: the host may come later.
        if let Mode::Member(m) = &self.mode
            && m.roster().is_none()
        {
            let hello = m.hello();
            self.send(target(id), hello);
            return;
        }
        // The host is back under the id it left with: the relays lost each other and found
        // each other again (SPEC §15.7). It dropped this member meanwhile: ask to be let in
        // again (the host re-admits a known identity). The host-away timer runs on until a
        // new roster arrives.
        if let Mode::Member(m) = &mut self.mode
            && self.host_away_since.is_some()
            && host_relay_id(m) == Some(id)
        {
            let evs = m.rejoin();
            self.apply_group(evs);
        }
    }

    /// The relay reports `id` gone.
    pub fn handle_peer_left(&mut self, now: u64, id: u64) {
        match &mut self.mode {
            Mode::Host(h) => {
                h.pending.remove(&id);
                h.guard.left(id);
                if h.host.drop_member(id) {
                    self.membership_changed(now);
                }
            }
            Mode::Member(m) => {
                if host_relay_id(m) == Some(id) && self.host_away_since.is_none() {
                    // Keys stay in use for a bounded time while the host may come back (a host
                    // reconnect); then the meeting ends (SPEC §8.9 step 11).
                    self.host_away_since = Some(now);
                    self.events.push_back(Event::HostAway {
                        grace: Duration::from_millis(self.cfg.host_grace_ms),
                    });
                }
            }
            Mode::Transport(_) => {
                self.relay_peers.remove(&id);
                self.transport_ready();
            }
            Mode::Idle => {}
        }
    }

    /// A blob the relay delivered from `from` (0: the relay itself). Returns true if it is a
    /// sealed data message, for the media path to open (SPEC §11.1); everything else is
    /// handled here.
    pub fn handle_blob(&mut self, now: u64, from: u64, blob: &[u8]) -> bool {
        match classify(from, blob) {
            BlobClass::Data => return true,
            BlobClass::Group => self.on_group(now, from, blob),
            BlobClass::Issued => self.on_issued(blob),
            BlobClass::Unknown => self.refuse(from, Refusal::UnknownBlob),
        }
        false
    }
}

mod flow;
