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
    Commit, Denial, DenyReason, EpochKey, JoinRequest, Message, Role, Roster, RosterEntry,
    SealedName, Signed, Welcome, sign,
};
use crate::names::{
    NAME_SALT_LEN, hpke_key_hash, join_name_info, name_commit, pad_name, seal_roster_name,
    unpad_name, welcome_info,
};
use crate::schedule::{EpochSecret, MAX_EPOCH, WrapKey};

/// Default epoch rotation interval: 5 minutes (SPEC §9.1).
pub const DEFAULT_ROTATION_MS: u64 = 5 * 60 * 1000;

/// Most members a meeting may have, host included: the largest roster whose welcome (every
/// name, each up to 164 bytes sealed) still fits one relay message of 256 KiB (SPEC §8.6).
pub const MAX_MEMBERS: usize = 1500;

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
    /// Most members a roster may hold, host included (at most [`MAX_MEMBERS`]).
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
    /// The key every later fresh epoch secret is wrapped under for this member.
    pub(crate) wrap_key: WrapKey,
    pub(crate) salt: [u8; NAME_SALT_LEN],
    /// The entry as the roster lists it (hashes computed once, at admission).
    pub(crate) listed: RosterEntry,
}

impl Entry {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new<R: CryptoRng>(
        index: u16,
        relay_id: u64,
        role: Role,
        identity: IdentityKey,
        hpke_public: Vec<u8>,
        name: String,
        joined_epoch: u64,
        rng: &mut R,
    ) -> Result<Self, GroupError> {
        let mut wrap_key = WrapKey::default();
        rng.fill_bytes(wrap_key.as_mut_slice());
        let mut salt = [0u8; NAME_SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::with_secrets(
            index,
            relay_id,
            role,
            identity,
            hpke_public,
            name,
            joined_epoch,
            wrap_key,
            salt,
        )
    }

    /// An entry from given secrets (the known-answer vectors).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn with_secrets(
        index: u16,
        relay_id: u64,
        role: Role,
        identity: IdentityKey,
        hpke_public: Vec<u8>,
        name: String,
        joined_epoch: u64,
        wrap_key: WrapKey,
        salt: [u8; NAME_SALT_LEN],
    ) -> Result<Self, GroupError> {
        let mut e = Self {
            index,
            relay_id,
            role,
            identity,
            listed: RosterEntry {
                index,
                relay_id,
                role,
                identity,
                hpke_hash: hpke_key_hash(&hpke_public),
                name_commit: [0; 32],
            },
            hpke_public,
            name,
            joined_epoch,
            wrap_key,
            salt,
        };
        e.listed.name_commit = name_commit(index, &identity, &e.salt, &pad_name(&e.name)?);
        Ok(e)
    }

    fn set_relay_id(&mut self, relay_id: u64) {
        self.relay_id = relay_id;
        self.listed.relay_id = relay_id;
    }

    pub(crate) fn sealed_name(&self, names_key: &[u8; 32]) -> Result<SealedName, GroupError> {
        Ok(SealedName {
            index: self.index,
            ciphertext: seal_roster_name(
                names_key,
                self.index,
                &self.identity,
                &self.salt,
                &pad_name(&self.name)?,
            )?,
        })
    }
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
    /// The last epoch's roster (what the next commit changes), its hash, signed bytes and
    /// secret (what the next ratchet starts from).
    roster: Option<Roster>,
    roster_hash: [u8; 32],
    roster_bytes: Vec<u8>,
    secret: Option<EpochSecret>,
    own: Member,
}

/// The roster of one epoch and its signed bytes (SPEC §8.4).
pub(crate) fn sign_roster(host: &Identity, room: &str, roster: Roster) -> Signed<Roster> {
    let body = roster.encode_body();
    sign(roster, body, host, room)
}

/// The same admission of the same member: everything but the relay id equal (a re-admission
/// draws a new name salt, so its commitment differs).
pub(crate) fn same_member(a: &RosterEntry, b: &RosterEntry) -> bool {
    a.index == b.index
        && a.identity == b.identity
        && a.hpke_hash == b.hpke_hash
        && a.name_commit == b.name_commit
        && a.role == b.role
}

/// What changed between two rosters (SPEC §8.6): indices whose member left or was replaced
/// (re-admitted), and entries that are new or changed.
pub(crate) fn diff(prev: &Roster, next: &Roster) -> (Vec<u16>, Vec<RosterEntry>) {
    let removed = prev
        .members
        .iter()
        .filter(|p| !next.members.iter().any(|n| same_member(p, n)))
        .map(|p| p.index)
        .collect();
    let upserted = next
        .members
        .iter()
        .filter(|n| !prev.members.iter().any(|p| p == *n))
        .cloned()
        .collect();
    (removed, upserted)
}

/// A welcome (SPEC §8.6): the wrap key and the epoch secret sealed to the new member's HPKE
/// key, and every name.
#[allow(clippy::too_many_arguments)]
pub(crate) fn welcome<R: CryptoRng>(
    host: &Identity,
    room: &str,
    roster: &Roster,
    hash: [u8; 32],
    entry: &Entry,
    secret: &EpochSecret,
    names: Vec<SealedName>,
    rng: &mut R,
) -> Result<Signed<Welcome>, GroupError> {
    let info = welcome_info(
        &roster.meeting,
        roster.epoch,
        entry.index,
        &entry.identity,
        &hash,
    );
    let mut plain = zeroize::Zeroizing::new([0u8; 64]);
    plain[..32].copy_from_slice(entry.wrap_key.as_slice());
    plain[32..].copy_from_slice(secret.as_bytes());
    let (enc, ciphertext) = kem::seal(roster.kem, &entry.hpke_public, &info, &plain[..], rng)?;
    let w = Welcome {
        meeting: roster.meeting,
        epoch: roster.epoch,
        recipient_index: entry.index,
        recipient: entry.identity,
        roster_hash: hash,
        enc,
        ciphertext,
        names,
    };
    let body = w.encode_body();
    Ok(sign(w, body, host, room))
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
        let me = Entry::new(
            0,
            own_relay_id,
            Role::Host,
            identity.public(),
            hpke.public_key().to_vec(),
            display_name.to_owned(),
            1,
            rng,
        )?;
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
            roster: None,
            roster_hash: [0; 32],
            roster_bytes: Vec::new(),
            secret: None,
            own,
        };
        let step = host.new_epoch(true, rng, now_ms)?;
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

    /// Starts the next epoch (SPEC §8.6): the signed roster of the current members, and
    /// - the first epoch: that roster broadcast;
    /// - later: a commit of the changes broadcast, the full roster and a welcome to each new
    ///   member, and, when the secret is fresh (`fresh`, or anyone left), an epoch key to each
    ///   other member. With additions only, the secret is the previous one ratcheted.
    fn new_epoch<R: CryptoRng>(
        &mut self,
        fresh: bool,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Step, GroupError> {
        let epoch = self.epoch.checked_add(1).filter(|e| *e <= MAX_EPOCH);
        let epoch = epoch.ok_or(GroupError::EpochExhausted)?;
        let roster = Roster {
            meeting: self.meeting,
            epoch,
            suite: self.config.suite,
            kem: self.config.kem,
            locked: self.locked,
            host: self.identity.public(),
            host_hpke: self.hpke.public_key().to_vec(),
            members: self.members.iter().map(|e| e.listed.clone()).collect(),
        };
        let signed = sign_roster(&self.identity, &self.room, roster);
        let hash = roster_hash(&signed.body);
        let roster_bytes = signed.to_bytes();
        let roster = signed.content;
        let changes = self.roster.as_ref().map(|prev| diff(prev, &roster));
        let fresh = fresh
            || changes
                .as_ref()
                .is_none_or(|(removed, _)| !removed.is_empty());
        let secret = match &self.secret {
            Some(prev) if !fresh => prev.ratchet(&self.meeting, epoch, &hash),
            _ => EpochSecret::generate(rng),
        };
        let names_key = secret.names_key(&self.meeting, epoch);
        let mut step = Step::default();
        // The host's own member takes the same messages as everyone (its own welcome in the
        // first epoch, its own epoch key when fresh).
        let mut own_input: Vec<Vec<u8>> = Vec::new();
        let is_new = |e: &Entry| {
            self.roster
                .as_ref()
                .is_none_or(|prev| !prev.members.iter().any(|p| same_member(p, &e.listed)))
        };
        match changes {
            None => {
                step.outgoing
                    .push(Outgoing::Broadcast(roster_bytes.clone()));
                own_input.push(roster_bytes.clone());
            }
            Some((removed, upserted)) => {
                let names = upserted
                    .iter()
                    .filter_map(|u| self.members.iter().find(|e| e.index == u.index))
                    .map(|e| e.sealed_name(&names_key))
                    .collect::<Result<Vec<_>, _>>()?;
                let commit = Commit {
                    meeting: self.meeting,
                    epoch,
                    prev_hash: self.roster_hash,
                    roster_hash: hash,
                    locked: self.locked,
                    fresh,
                    removed,
                    upserted,
                    names,
                    confirm: secret.confirm(&self.meeting, epoch, &hash),
                };
                let body = commit.encode_body();
                let bytes = sign(commit, body, &self.identity, &self.room).to_bytes();
                step.outgoing.push(Outgoing::Broadcast(bytes.clone()));
                own_input.push(bytes);
            }
        }
        let joiners: Vec<&Entry> = self.members.iter().filter(|e| is_new(e)).collect();
        if !joiners.is_empty() {
            let all_names = self
                .members
                .iter()
                .map(|e| e.sealed_name(&names_key))
                .collect::<Result<Vec<_>, _>>()?;
            for e in joiners {
                let w = welcome(
                    &self.identity,
                    &self.room,
                    &roster,
                    hash,
                    e,
                    &secret,
                    all_names.clone(),
                    rng,
                )?
                .to_bytes();
                if e.index == 0 {
                    own_input.push(w);
                } else {
                    step.outgoing
                        .push(Outgoing::To(e.relay_id, roster_bytes.clone()));
                    step.outgoing.push(Outgoing::To(e.relay_id, w));
                }
            }
        }
        if fresh && self.roster.is_some() {
            for e in self.members.iter().filter(|e| !is_new(e)) {
                let key = EpochKey::seal(
                    self.meeting,
                    epoch,
                    e.index,
                    hash,
                    &e.wrap_key,
                    secret.as_bytes(),
                )?
                .to_bytes();
                if e.index == 0 {
                    own_input.push(key);
                } else {
                    step.outgoing.push(Outgoing::To(e.relay_id, key));
                }
            }
        }
        self.epoch = epoch;
        self.roster = Some(roster);
        self.roster_hash = hash;
        self.roster_bytes = roster_bytes;
        self.secret = Some(secret);
        self.next_rotation_ms = now_ms.saturating_add(self.config.rotation_interval_ms);
        let own_relay = self.members.first().map_or(0, |e| e.relay_id);
        for bytes in own_input {
            step.events
                .extend(self.own.handle(own_relay, &bytes, now_ms)?);
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
                self.new_epoch(false, rng, now_ms).map(HostInput::Step)
            }
            Message::RekeyRequest(n) => {
                self.check_notice(&n)?;
                if n.content.epoch != self.epoch {
                    return Err(GroupError::StaleRequest);
                }
                self.new_epoch(true, rng, now_ms).map(HostInput::Step)
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
        self.add_entry(pending, rng)?;
        self.new_epoch(false, rng, now_ms)
    }

    /// Adds a participant to the next epoch without starting it, so that several admissions
    /// (and removals, [`Host::drop_member`]) share one epoch, started by [`Host::commit`]: how a
    /// host bounds what a flood of joins costs it (SPEC §8.8). Refuses a connector
    /// ([`GroupError::ConnectorNeedsConsent`]) unless `connector_consent`.
    pub fn stage_admit<R: CryptoRng>(
        &mut self,
        pending: PendingJoin,
        connector_consent: bool,
        rng: &mut R,
    ) -> Result<(), GroupError> {
        if pending.is_connector() && !connector_consent {
            return Err(GroupError::ConnectorNeedsConsent);
        }
        self.add_entry(pending, rng)
    }

    /// Drops the member on relay connection `relay_id` from the next epoch without starting
    /// it (see [`Host::stage_admit`]); true if there was one. Its keys stay valid until the next
    /// epoch: call [`Host::commit`] promptly.
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
        self.new_epoch(false, rng, now_ms)
    }

    fn add_entry<R: CryptoRng>(
        &mut self,
        pending: PendingJoin,
        rng: &mut R,
    ) -> Result<(), GroupError> {
        let req = pending.request;
        if self.locked && !self.known.contains(&req.identity) {
            return Err(GroupError::Locked);
        }
        // A reconnecting identity or a reused connection replaces its old entry.
        self.members.retain(|e| {
            e.index == 0 || (e.identity != req.identity && e.relay_id != pending.relay_id)
        });
        let limit = self.config.max_members.min(MAX_MEMBERS);
        if self.members.len() >= limit {
            return Err(GroupError::Full);
        }
        // The lowest free index: members are sorted by index, the host at 0.
        let index = self
            .members
            .iter()
            .enumerate()
            .find(|(pos, e)| usize::from(e.index) != *pos)
            .map_or(self.members.len(), |(pos, _)| pos);
        let index = u16::try_from(index).map_err(|_| GroupError::Full)?;
        let entry = Entry::new(
            index,
            pending.relay_id,
            req.role,
            req.identity,
            req.hpke_public,
            pending.name,
            self.epoch + 1,
            rng,
        )?;
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
        self.new_epoch(false, rng, now_ms)
    }

    /// The host reconnected (e.g. after a relay restart) under a new relay participant id: the
    /// next roster lists it at index 0, so joiners address their requests to it. Takes effect
    /// with the next epoch ([`Host::rekey`]).
    pub fn set_own_relay_id(&mut self, relay_id: u64) {
        if let Some(me) = self.members.first_mut() {
            me.set_relay_id(relay_id);
        }
    }

    /// Starts a new epoch with a fresh secret now (on demand, or before a key's frame limit).
    pub fn rekey<R: CryptoRng>(&mut self, rng: &mut R, now_ms: u64) -> Result<Step, GroupError> {
        self.new_epoch(true, rng, now_ms)
    }

    /// Starts the epoch of the staged changes ([`Host::stage_admit`], [`Host::drop_member`]):
    /// a fresh secret if anyone left, else the previous one ratcheted (SPEC §9.1).
    pub fn commit<R: CryptoRng>(&mut self, rng: &mut R, now_ms: u64) -> Result<Step, GroupError> {
        self.new_epoch(false, rng, now_ms)
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
        self.new_epoch(false, rng, now_ms)
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
            step.extend(self.new_epoch(true, rng, now_ms)?);
        }
        Ok(step)
    }
}
