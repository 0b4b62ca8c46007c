//! The host state machine (SPEC §8.8): admission (a cryptographic waiting room), removal, lock,
//! rekey and timed rotation. Every change starts a new epoch with a fresh secret and returns the
//! messages to send. The host is also member 0 of its own meeting: its own [`Member`] verifies
//! the host's messages and yields the same [`Event`]s every member gets.

use std::collections::HashSet;

use rand_core::CryptoRng;

use crate::MeetingId;
use crate::code::roster_hash;
use crate::error::GroupError;
use crate::identity::{Identity, IdentityKey};
use crate::kem::{self, HpkeKeyPair, KemId};
use crate::member::{DEFAULT_GRACE_MS, Event, Member};
use crate::message::{
    Denial, DenyReason, EpochKey, JoinRequest, Message, Role, Roster, RosterEntry, Signed, sign,
};
use crate::names::{epoch_key_info, join_name_info, seal_roster_name, unpad_name};
use crate::schedule::{EpochSecret, MAX_EPOCH};

/// Default epoch rotation interval: 5 minutes (SPEC §9.1).
pub const DEFAULT_ROTATION_MS: u64 = 5 * 60 * 1000;

/// Host settings for one meeting.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// SFrame cipher suite id for the meeting (the client passes hush-frame's default).
    pub suite: u16,
    /// HPKE KEM for the meeting.
    pub kem: KemId,
    /// A new epoch starts at least this often.
    pub rotation_interval_ms: u64,
    /// Grace for the previous epoch's receive keys on the host's own member.
    pub grace_ms: u64,
    /// Most members a roster may hold, host included (at most 65536).
    pub max_members: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            // RFC 9605 AES_128_GCM_SHA256_128; clients normally set hush-frame's choice.
            suite: 0x0004,
            kem: KemId::X25519,
            rotation_interval_ms: DEFAULT_ROTATION_MS,
            grace_ms: DEFAULT_GRACE_MS,
            max_members: 1000,
        }
    }
}

/// A message for the client to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// To every participant of the room.
    Broadcast(Vec<u8>),
    /// To one relay participant id.
    To(u64, Vec<u8>),
}

/// What one host operation produced: messages to send and the host's own member events.
#[derive(Debug, Default)]
pub struct Step {
    /// Messages to send, in order (the roster before the keys of its epoch).
    pub outgoing: Vec<Outgoing>,
    /// Events of the host's own member (index 0), exactly as any member gets them.
    pub events: Vec<Event>,
}

impl Step {
    fn extend(&mut self, other: Step) {
        self.outgoing.extend(other.outgoing);
        self.events.extend(other.events);
    }
}

/// A verified join request waiting for the host's decision.
#[derive(Debug, Clone)]
pub struct PendingJoin {
    relay_id: u64,
    request: JoinRequest,
    name: String,
}

impl PendingJoin {
    /// Relay participant id the request came from.
    pub fn relay_id(&self) -> u64 {
        self.relay_id
    }
    /// Joiner identity.
    pub fn identity(&self) -> IdentityKey {
        self.request.identity
    }
    /// Requested role.
    pub fn role(&self) -> Role {
        self.request.role
    }
    /// True if the joiner asks to be a connector (needs [`Host::admit_connector`]).
    pub fn is_connector(&self) -> bool {
        self.request.role == Role::Connector
    }
    /// Decrypted display name.
    pub fn display_name(&self) -> &str {
        &self.name
    }
}

/// What [`Host::handle`] made of a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum HostInput {
    /// A valid join request: decide with [`Host::admit`], [`Host::admit_connector`] or
    /// [`Host::deny`].
    Join(PendingJoin),
    /// Messages to send (and own events), e.g. the roster for a `Hello`, or a new epoch after
    /// a leave or rekey request.
    Step(Step),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) index: u16,
    pub(crate) relay_id: u64,
    pub(crate) role: Role,
    pub(crate) identity: IdentityKey,
    pub(crate) hpke_public: Vec<u8>,
    pub(crate) name: String,
    pub(crate) joined_epoch: u64,
}

/// The host of one meeting.
#[derive(Debug)]
pub struct Host {
    identity: Identity,
    room: String,
    meeting: MeetingId,
    config: HostConfig,
    hpke: HpkeKeyPair,
    epoch: u64,
    members: Vec<Entry>,
    locked: bool,
    known: HashSet<IdentityKey>,
    seen_nonces: HashSet<[u8; 16]>,
    next_rotation_ms: u64,
    roster_bytes: Vec<u8>,
    own: Member,
}

/// The unsigned content of a roster, with names in clear (host side).
pub(crate) struct Draft<'a> {
    pub(crate) meeting: MeetingId,
    pub(crate) epoch: u64,
    pub(crate) suite: u16,
    pub(crate) kem: KemId,
    pub(crate) locked: bool,
    pub(crate) members: &'a [Entry],
}

/// Builds and signs a roster (SPEC §8.4); names are sealed under the epoch's names key.
pub(crate) fn build_roster(
    host: &Identity,
    room: &str,
    draft: &Draft<'_>,
    secret: &EpochSecret,
) -> Result<Signed<Roster>, GroupError> {
    let names_key = secret.names_key(&draft.meeting, draft.epoch);
    let entries = draft
        .members
        .iter()
        .map(|e| {
            Ok(RosterEntry {
                index: e.index,
                relay_id: e.relay_id,
                role: e.role,
                identity: e.identity,
                hpke_public: e.hpke_public.clone(),
                name_ct: seal_roster_name(&names_key, e.index, &e.identity, &e.name)?,
            })
        })
        .collect::<Result<Vec<_>, GroupError>>()?;
    let roster = Roster {
        meeting: draft.meeting,
        epoch: draft.epoch,
        suite: draft.suite,
        kem: draft.kem,
        locked: draft.locked,
        host: host.public(),
        members: entries,
    };
    let body = roster.encode_body();
    Ok(sign(roster, body, host, room))
}

/// Wraps `secret` to one member (SPEC §8.6).
#[allow(clippy::too_many_arguments)]
pub(crate) fn wrap_epoch_key<R: CryptoRng>(
    host: &Identity,
    room: &str,
    meeting: MeetingId,
    epoch: u64,
    kem: KemId,
    index: u16,
    recipient: IdentityKey,
    recipient_hpke: &[u8],
    roster_hash: [u8; 32],
    secret: &EpochSecret,
    rng: &mut R,
) -> Result<Signed<EpochKey>, GroupError> {
    let info = epoch_key_info(&meeting, epoch, index, &recipient, &roster_hash);
    let (enc, ciphertext) = kem::seal(kem, recipient_hpke, &info, secret.as_bytes(), rng)?;
    let key = EpochKey {
        meeting,
        epoch,
        recipient_index: index,
        recipient,
        roster_hash,
        enc,
        ciphertext,
    };
    let body = key.encode_body();
    Ok(sign(key, body, host, room))
}

impl Host {
    /// Starts a meeting in `room`: a random meeting id, a fresh HPKE key pair, and epoch 1 with
    /// the host alone. `own_relay_id` is the relay's participant id for the host's connection.
    pub fn new<R: CryptoRng>(
        identity: Identity,
        display_name: &str,
        room: &str,
        own_relay_id: u64,
        config: HostConfig,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<(Self, Step), GroupError> {
        let mut meeting = [0u8; 16];
        rng.fill_bytes(&mut meeting);
        let hpke = HpkeKeyPair::generate(config.kem, rng);
        let own = Member::for_host(
            identity.clone(),
            display_name,
            room,
            hpke.clone(),
            config.grace_ms,
        )?;
        let me = Entry {
            index: 0,
            relay_id: own_relay_id,
            role: Role::Host,
            identity: identity.public(),
            hpke_public: hpke.public_key().to_vec(),
            name: display_name.to_owned(),
            joined_epoch: 1,
        };
        let mut host = Self {
            known: HashSet::from([identity.public()]),
            identity,
            room: room.to_owned(),
            meeting: MeetingId(meeting),
            config,
            hpke,
            epoch: 0,
            members: vec![me],
            locked: false,
            seen_nonces: HashSet::new(),
            next_rotation_ms: now_ms,
            roster_bytes: Vec::new(),
            own,
        };
        let step = host.new_epoch(rng, now_ms)?;
        Ok((host, step))
    }

    /// The meeting id.
    pub fn meeting_id(&self) -> MeetingId {
        self.meeting
    }
    /// The host's identity key.
    pub fn identity(&self) -> IdentityKey {
        self.identity.public()
    }
    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    /// The lock bit.
    pub fn is_locked(&self) -> bool {
        self.locked
    }
    /// The host's own member state (security code, epoch).
    pub fn member(&self) -> &Member {
        &self.own
    }
    /// The current signed roster message.
    pub fn roster_bytes(&self) -> &[u8] {
        &self.roster_bytes
    }
    /// Current members as `(relay id, identity, role, display name)`, host first.
    pub fn members(&self) -> Vec<(u64, IdentityKey, Role, String)> {
        self.members
            .iter()
            .map(|e| (e.relay_id, e.identity, e.role, e.name.clone()))
            .collect()
    }

    fn new_epoch<R: CryptoRng>(&mut self, rng: &mut R, now_ms: u64) -> Result<Step, GroupError> {
        let epoch = self.epoch.checked_add(1).filter(|e| *e <= MAX_EPOCH);
        let epoch = epoch.ok_or(GroupError::EpochExhausted)?;
        let secret = EpochSecret::generate(rng);
        let draft = Draft {
            meeting: self.meeting,
            epoch,
            suite: self.config.suite,
            kem: self.config.kem,
            locked: self.locked,
            members: &self.members,
        };
        let roster = build_roster(&self.identity, &self.room, &draft, &secret)?;
        let hash = roster_hash(&roster.body);
        let roster_bytes = roster.to_bytes();
        let mut step = Step::default();
        step.outgoing
            .push(Outgoing::Broadcast(roster_bytes.clone()));
        let mut own_key = None;
        for e in &self.members {
            let key = wrap_epoch_key(
                &self.identity,
                &self.room,
                self.meeting,
                epoch,
                self.config.kem,
                e.index,
                e.identity,
                &e.hpke_public,
                hash,
                &secret,
                rng,
            )?
            .to_bytes();
            if e.index == 0 {
                own_key = Some((e.relay_id, key));
            } else {
                step.outgoing.push(Outgoing::To(e.relay_id, key));
            }
        }
        self.epoch = epoch;
        self.roster_bytes = roster_bytes;
        self.next_rotation_ms = now_ms.saturating_add(self.config.rotation_interval_ms);
        let own_relay = own_key.as_ref().map_or(0, |(r, _)| *r);
        step.events
            .extend(self.own.handle(own_relay, &self.roster_bytes, now_ms)?);
        if let Some((relay, key)) = own_key {
            step.events.extend(self.own.handle(relay, &key, now_ms)?);
        }
        Ok(step)
    }

    /// Handles any group message from `from_relay_id`.
    pub fn handle<R: CryptoRng>(
        &mut self,
        from_relay_id: u64,
        bytes: &[u8],
        rng: &mut R,
        now_ms: u64,
    ) -> Result<HostInput, GroupError> {
        match Message::decode(bytes)? {
            Message::Hello => Ok(HostInput::Step(Step {
                outgoing: vec![Outgoing::To(from_relay_id, self.roster_bytes.clone())],
                events: Vec::new(),
            })),
            Message::JoinRequest(req) => self.join_request(from_relay_id, req).map(HostInput::Join),
            Message::Leave(n) => {
                let pos = self.check_notice(&n)?;
                if n.content.epoch < self.members[pos].joined_epoch {
                    return Err(GroupError::StaleRequest);
                }
                self.members.remove(pos);
                self.new_epoch(rng, now_ms).map(HostInput::Step)
            }
            Message::RekeyRequest(n) => {
                self.check_notice(&n)?;
                if n.content.epoch != self.epoch {
                    return Err(GroupError::StaleRequest);
                }
                self.new_epoch(rng, now_ms).map(HostInput::Step)
            }
            _ => Err(GroupError::UnexpectedMessage),
        }
    }

    fn check_notice(&self, n: &Signed<crate::message::MemberNotice>) -> Result<usize, GroupError> {
        n.verify(&self.room, &n.content.identity)?;
        if n.content.meeting != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        if n.content.epoch > self.epoch {
            return Err(GroupError::StaleRequest);
        }
        self.members
            .iter()
            .position(|e| e.index != 0 && e.identity == n.content.identity)
            .ok_or(GroupError::NotAMember)
    }

    /// Verifies a join request from `from_relay_id` and decrypts the joiner's display name.
    pub fn handle_join_request(
        &mut self,
        from_relay_id: u64,
        bytes: &[u8],
    ) -> Result<PendingJoin, GroupError> {
        match Message::decode(bytes)? {
            Message::JoinRequest(req) => self.join_request(from_relay_id, req),
            _ => Err(GroupError::UnexpectedMessage),
        }
    }

    fn join_request(
        &mut self,
        from_relay_id: u64,
        signed: Signed<JoinRequest>,
    ) -> Result<PendingJoin, GroupError> {
        let req = &signed.content;
        if req.meeting != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        signed.verify(&self.room, &req.identity)?;
        if req.role == Role::Host || req.identity == self.identity.public() {
            return Err(GroupError::UnexpectedMessage);
        }
        if req.kem != self.config.kem {
            return Err(GroupError::KemMismatch);
        }
        req.kem.check_public_key(&req.hpke_public)?;
        if self.seen_nonces.contains(&req.nonce) {
            return Err(GroupError::ReplayedJoin);
        }
        if self.locked && !self.known.contains(&req.identity) {
            return Err(GroupError::Locked);
        }
        let padded = self.hpke.open(
            &req.name_enc,
            &join_name_info(&req.meeting, &req.identity),
            &req.name_ct,
        )?;
        let name = unpad_name(&padded)?;
        self.seen_nonces.insert(req.nonce);
        Ok(PendingJoin {
            relay_id: from_relay_id,
            request: signed.content,
            name,
        })
    }

    /// Admits a participant: a new epoch whose key is wrapped to it. Refuses a connector
    /// ([`GroupError::ConnectorNeedsConsent`]): those need [`Host::admit_connector`].
    pub fn admit<R: CryptoRng>(
        &mut self,
        pending: PendingJoin,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        if pending.is_connector() {
            return Err(GroupError::ConnectorNeedsConsent);
        }
        self.admit_any(pending, rng, now_ms)
    }

    /// Admits a join request of any role, connectors included: the explicit consent the host
    /// gives to a bridge that will decrypt the meeting (SPEC §13).
    pub fn admit_connector<R: CryptoRng>(
        &mut self,
        pending: PendingJoin,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        self.admit_any(pending, rng, now_ms)
    }

    fn admit_any<R: CryptoRng>(
        &mut self,
        pending: PendingJoin,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        self.add_entry(pending)?;
        self.new_epoch(rng, now_ms)
    }

    /// Adds a participant to the next epoch without starting it, so that several admissions
    /// (and removals, [`Host::drop_member`]) share one epoch, started by [`Host::rekey`]: how a
    /// host bounds what a flood of joins costs it (SPEC §8.8). Refuses a connector
    /// ([`GroupError::ConnectorNeedsConsent`]) unless `connector_consent`.
    pub fn stage_admit(
        &mut self,
        pending: PendingJoin,
        connector_consent: bool,
    ) -> Result<(), GroupError> {
        if pending.is_connector() && !connector_consent {
            return Err(GroupError::ConnectorNeedsConsent);
        }
        self.add_entry(pending)
    }

    /// Drops the member on relay connection `relay_id` from the next epoch without starting
    /// it (see [`Host::stage_admit`]); true if there was one. Its keys stay valid until the next
    /// epoch: call [`Host::rekey`] promptly.
    pub fn drop_member(&mut self, relay_id: u64) -> bool {
        let before = self.members.len();
        self.members
            .retain(|e| e.index == 0 || e.relay_id != relay_id);
        self.members.len() != before
    }

    /// The host reconnected under `own_relay_id`: keeps the members whose relay connections
    /// are still in the room (`present`, as the relay reports them), drops the others, and
    /// starts one new epoch (SPEC §8.9 step 10).
    pub fn reconnected<R: CryptoRng>(
        &mut self,
        own_relay_id: u64,
        present: &[u64],
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        let present: std::collections::HashSet<u64> = present.iter().copied().collect();
        self.set_own_relay_id(own_relay_id);
        self.members.retain(|e| {
            e.index == 0 || (e.relay_id != own_relay_id && present.contains(&e.relay_id))
        });
        self.new_epoch(rng, now_ms)
    }

    fn add_entry(&mut self, pending: PendingJoin) -> Result<(), GroupError> {
        let req = pending.request;
        if self.locked && !self.known.contains(&req.identity) {
            return Err(GroupError::Locked);
        }
        // A reconnecting identity or a reused connection replaces its old entry.
        self.members.retain(|e| {
            e.index == 0 || (e.identity != req.identity && e.relay_id != pending.relay_id)
        });
        let limit = self.config.max_members.min(usize::from(u16::MAX) + 1);
        if self.members.len() >= limit {
            return Err(GroupError::Full);
        }
        let index = (1..=u16::MAX)
            .find(|i| self.members.iter().all(|e| e.index != *i))
            .ok_or(GroupError::Full)?;
        let entry = Entry {
            index,
            relay_id: pending.relay_id,
            role: req.role,
            identity: req.identity,
            hpke_public: req.hpke_public,
            name: pending.name,
            joined_epoch: self.epoch + 1,
        };
        let pos = self.members.partition_point(|e| e.index < index);
        self.members.insert(pos, entry);
        self.known.insert(req.identity);
        Ok(())
    }

    /// Refuses a join request: the joiner never receives a key. Returns the host-signed
    /// denial to send to it (SPEC §8.8.1), so it can say why instead of waiting forever.
    pub fn deny(&mut self, pending: PendingJoin, reason: DenyReason) -> Outgoing {
        let d = Denial {
            meeting: self.meeting,
            nonce: pending.request.nonce,
            identity: pending.request.identity,
            reason,
        };
        let body = d.encode_body();
        Outgoing::To(
            pending.relay_id,
            sign(d, body, &self.identity, &self.room).to_bytes(),
        )
    }

    /// Removes the member on relay connection `relay_id` (it left or disconnected) and starts a
    /// new epoch without it. Unknown ids (e.g. a joiner still waiting) change nothing.
    pub fn remove<R: CryptoRng>(
        &mut self,
        relay_id: u64,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        let before = self.members.len();
        self.members
            .retain(|e| e.index == 0 || e.relay_id != relay_id);
        if self.members.len() == before {
            return Ok(Step::default());
        }
        self.new_epoch(rng, now_ms)
    }

    /// The host reconnected (e.g. after a relay restart) under a new relay participant id: the
    /// next roster lists it at index 0, so joiners address their requests to it. Takes effect
    /// with the next epoch ([`Host::rekey`]).
    pub fn set_own_relay_id(&mut self, relay_id: u64) {
        if let Some(me) = self.members.first_mut() {
            me.relay_id = relay_id;
        }
    }

    /// Starts a new epoch now (on demand, or before a key's frame limit).
    pub fn rekey<R: CryptoRng>(&mut self, rng: &mut R, now_ms: u64) -> Result<Step, GroupError> {
        self.new_epoch(rng, now_ms)
    }

    /// Sets the lock bit; a change starts a new epoch whose signed roster carries it.
    pub fn set_locked<R: CryptoRng>(
        &mut self,
        locked: bool,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        if self.locked == locked {
            return Ok(Step::default());
        }
        self.locked = locked;
        self.new_epoch(rng, now_ms)
    }

    /// Earliest time (ms) at which [`Host::handle_timeout`] has work: the next rotation or the
    /// end of the own member's key grace.
    pub fn poll_timeout(&self) -> u64 {
        self.own
            .poll_timeout()
            .map_or(self.next_rotation_ms, |t| t.min(self.next_rotation_ms))
    }

    /// Runs timers due at `now_ms`: the own member's expired epochs, and rotation.
    pub fn handle_timeout<R: CryptoRng>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, GroupError> {
        let mut step = Step {
            outgoing: Vec::new(),
            events: self.own.poll(now_ms),
        };
        if now_ms >= self.next_rotation_ms {
            step.extend(self.new_epoch(rng, now_ms)?);
        }
        Ok(step)
    }
}
