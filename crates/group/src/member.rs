//! The member state machine (SPEC §8.8): verifies the host-signed roster and epoch keys, derives
//! SFrame keys, and reports what the client must do as [`Event`]s. Sans-IO: bytes in, events
//! out, time passed in as milliseconds.

use rand_core::CryptoRng;

use crate::MeetingId;
use crate::code::{roster_hash, security_code};
use crate::error::GroupError;
use crate::identity::{Identity, IdentityKey};
use crate::kem::{self, HpkeKeyPair};
use crate::message::{
    Commit, Denial, DenyReason, EpochKey, JoinRequest, MemberNotice, Message, Role, Roster,
    SealedName, Signed, Welcome, msg_type, sign,
};
use crate::names::{hpke_key_hash, join_name_info, open_roster_name, pad_name, welcome_info};
use crate::schedule::{EpochSecret, MAX_EPOCH, SenderSecret, WrapKey};

/// Default grace for the previous epoch's receive keys (SPEC §9.5).
pub const DEFAULT_GRACE_MS: u64 = 2_000;

/// Member settings.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// How long the previous epoch's receive keys stay usable after a new epoch is ready.
    pub grace_ms: u64,
    /// Role requested when joining: [`Role::Participant`] or [`Role::Connector`].
    pub role: Role,
}

impl Default for MemberConfig {
    fn default() -> Self {
        Self {
            grace_ms: DEFAULT_GRACE_MS,
            role: Role::Participant,
        }
    }
}

/// One member as displayed (names decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Sender index in this epoch.
    pub index: u16,
    /// Relay participant id.
    pub relay_id: u64,
    /// Role.
    pub role: Role,
    /// Identity key.
    pub identity: IdentityKey,
    /// Decrypted display name.
    pub name: String,
}

/// The roster of an epoch, as displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterView {
    /// Epoch.
    pub epoch: u64,
    /// Lock bit.
    pub locked: bool,
    /// This member's own index.
    pub my_index: u16,
    /// Every member, host first.
    pub members: Vec<MemberInfo>,
}

/// End-to-end encryption status of the current epoch (SPEC §13).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum E2ee {
    /// Only participants and the host hold the keys.
    On,
    /// A connector holds the keys and decrypts media for a non-E2EE endpoint.
    Off {
        /// Display names of the connectors.
        connectors: Vec<String>,
    },
}

/// What happened, for the client to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A valid host-signed roster was seen and this member is not in it yet: send
    /// [`Member::join_request`] to the host (its relay id is given).
    ReadyToJoin {
        /// Relay participant id of the host.
        host_relay_id: u64,
    },
    /// The roster of a newly ready epoch.
    RosterChanged(RosterView),
    /// A new epoch's keys: seal with `my_sender` from now on; open with `receivers`.
    EpochReady {
        /// Epoch number.
        epoch: u64,
        /// This member's own sending key.
        my_sender: SenderSecret,
        /// One receiving key per other member.
        receivers: Vec<SenderSecret>,
    },
    /// The security code changed (SPEC §10).
    SecurityCode(String),
    /// The end-to-end status changed.
    E2eeStatus(E2ee),
    /// The grace of an old epoch is over: erase every key of `epoch`.
    EpochExpired {
        /// The expired epoch.
        epoch: u64,
    },
    /// This member is no longer in the roster (or left): erase every key.
    Removed,
    /// The host refused this member's join request (a verified, host-signed denial of the
    /// request it sent last); nothing more will come.
    Denied(DenyReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Joined,
    Removed,
}

#[derive(Debug, Clone)]
struct Accepted {
    roster: Roster,
    hash: [u8; 32],
    my_index: Option<u16>,
}

/// A verified commit with a fresh secret, waiting for this member's epoch key.
#[derive(Debug, Clone)]
struct PendingFresh {
    confirm: [u8; 32],
    names: Vec<SealedName>,
}

/// A member of one meeting (the host runs one too, at index 0).
#[derive(Debug)]
pub struct Member {
    identity: Identity,
    name: String,
    room: String,
    config: MemberConfig,
    expected_host: Option<IdentityKey>,
    host: Option<IdentityKey>,
    meeting: Option<MeetingId>,
    hpke: Option<HpkeKeyPair>,
    latest: Option<Accepted>,
    keyed_epoch: Option<u64>,
    epoch_secret: Option<EpochSecret>,
    /// From the welcome: what every later fresh secret is wrapped under.
    wrap_key: Option<WrapKey>,
    /// Display names of the keyed epoch, by index (commits carry only the changes).
    names: std::collections::BTreeMap<u16, String>,
    pending: Option<PendingFresh>,
    expiring: Vec<(u64, u64)>,
    phase: Phase,
    announced_ready: bool,
    /// The nonce of the join request sent last: only a denial of that request counts.
    asked: Option<[u8; 16]>,
    last_code: Option<String>,
    last_e2ee: Option<E2ee>,
}

impl Member {
    /// A member that will join `room` as `display_name`. With `expected_host`, only rosters
    /// signed by that key are accepted; without, the first valid roster's host key is pinned
    /// (trust on first use) and any roster signed by another key is refused.
    pub fn new(
        identity: Identity,
        display_name: &str,
        room: &str,
        expected_host: Option<IdentityKey>,
        config: MemberConfig,
    ) -> Result<Self, GroupError> {
        pad_name(display_name)?;
        Ok(Self {
            identity,
            name: display_name.to_owned(),
            room: room.to_owned(),
            config,
            expected_host,
            host: None,
            meeting: None,
            hpke: None,
            latest: None,
            keyed_epoch: None,
            epoch_secret: None,
            wrap_key: None,
            names: std::collections::BTreeMap::new(),
            pending: None,
            expiring: Vec::new(),
            phase: Phase::Waiting,
            announced_ready: false,
            asked: None,
            last_code: None,
            last_e2ee: None,
        })
    }

    /// The host's own member: its HPKE key pair is the host's.
    pub(crate) fn for_host(
        identity: Identity,
        display_name: &str,
        room: &str,
        hpke: HpkeKeyPair,
        grace_ms: u64,
    ) -> Result<Self, GroupError> {
        let host = identity.public();
        let mut m = Self::new(
            identity,
            display_name,
            room,
            Some(host),
            MemberConfig {
                grace_ms,
                role: Role::Host,
            },
        )?;
        m.hpke = Some(hpke);
        m.announced_ready = true;
        Ok(m)
    }

    /// This member's identity.
    pub fn identity(&self) -> IdentityKey {
        self.identity.public()
    }

    /// The pinned host key, once a valid roster was seen.
    pub fn host(&self) -> Option<IdentityKey> {
        self.host
    }

    /// The meeting id, once a valid roster was seen.
    pub fn meeting_id(&self) -> Option<MeetingId> {
        self.meeting
    }

    /// The epoch whose keys this member holds.
    pub fn epoch(&self) -> Option<u64> {
        self.keyed_epoch
    }

    /// The current security code, once an epoch is ready.
    pub fn security_code(&self) -> Option<&str> {
        self.last_code.as_deref()
    }

    /// True while this member is in the roster it holds keys for.
    pub fn is_joined(&self) -> bool {
        self.phase == Phase::Joined && self.keyed_epoch.is_some()
    }

    /// True once removed from the meeting or after [`Member::leave`].
    pub fn is_removed(&self) -> bool {
        self.phase == Phase::Removed
    }

    /// The latest accepted roster (names still encrypted).
    pub fn roster(&self) -> Option<&Roster> {
        self.latest.as_ref().map(|a| &a.roster)
    }

    /// Bytes of a `Hello` (SPEC §8.3), to ask the host for its roster.
    pub fn hello(&self) -> Vec<u8> {
        crate::message::hello()
    }

    /// The host came back after it could not reach this member (a partition between relays
    /// healed, SPEC §15.7) and has dropped it meanwhile: ask to be let in again, as after a
    /// missed epoch ([`Event::ReadyToJoin`]). Nothing for a member not in a meeting.
    pub fn rejoin(&mut self) -> Vec<Event> {
        if self.phase != Phase::Joined {
            return Vec::new();
        }
        let Some(latest) = &self.latest else {
            return Vec::new();
        };
        let host_relay_id = latest.roster.members.first().map_or(0, |m| m.relay_id);
        self.phase = Phase::Waiting;
        self.pending = None;
        vec![Event::ReadyToJoin { host_relay_id }]
    }

    /// A signed join request for the meeting of the latest roster, with the display name sealed
    /// to the host's HPKE key. Makes this session's HPKE key pair on first use.
    pub fn join_request<R: CryptoRng>(&mut self, rng: &mut R) -> Result<Vec<u8>, GroupError> {
        if self.phase == Phase::Removed {
            return Err(GroupError::Removed);
        }
        let latest = self.latest.as_ref().ok_or(GroupError::NoHostYet)?;
        let roster = &latest.roster;
        let kem = roster.kem;
        let hpke = self
            .hpke
            .get_or_insert_with(|| HpkeKeyPair::generate(kem, rng))
            .clone();
        let me = self.identity.public();
        let padded = pad_name(&self.name)?;
        let (name_enc, name_ct) = kem::seal(
            kem,
            &roster.host_hpke,
            &join_name_info(&roster.meeting, &me),
            &padded,
            rng,
        )?;
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let req = JoinRequest {
            meeting: roster.meeting,
            nonce,
            role: self.config.role,
            identity: me,
            kem,
            hpke_public: hpke.public_key().to_vec(),
            name_enc,
            name_ct,
        };
        let body = req.encode_body();
        self.asked = Some(nonce);
        Ok(sign(req, body, &self.identity, &self.room).to_bytes())
    }

    fn notice(&self, ty: u8) -> Result<Vec<u8>, GroupError> {
        if self.phase == Phase::Removed {
            return Err(GroupError::Removed);
        }
        let (meeting, epoch) = match (&self.latest, self.keyed_epoch) {
            (Some(a), Some(epoch)) if a.my_index.is_some() => (a.roster.meeting, epoch),
            _ => return Err(GroupError::NotJoined),
        };
        let n = MemberNotice {
            meeting,
            epoch,
            identity: self.identity.public(),
        };
        let body = n.encode_body(ty);
        Ok(sign(n, body, &self.identity, &self.room).to_bytes())
    }

    /// A signed leave notice for the host. Afterwards this member is removed: it erases its
    /// keys and refuses further input.
    pub fn leave(&mut self) -> Result<Vec<u8>, GroupError> {
        let bytes = self.notice(msg_type::LEAVE)?;
        self.erase();
        Ok(bytes)
    }

    /// A signed request that the host start a new epoch (e.g. before this sender's frame limit).
    pub fn rekey_request(&self) -> Result<Vec<u8>, GroupError> {
        self.notice(msg_type::REKEY_REQUEST)
    }

    fn erase(&mut self) {
        self.phase = Phase::Removed;
        self.epoch_secret = None;
        self.wrap_key = None;
        self.pending = None;
        self.names.clear();
        self.hpke = None;
        self.keyed_epoch = None;
        self.expiring.clear();
    }

    /// Earliest time (ms) at which [`Member::poll`] has something to report.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.expiring.iter().map(|(_, at)| *at).min()
    }

    /// Reports old epochs whose grace is over at `now_ms`.
    pub fn poll(&mut self, now_ms: u64) -> Vec<Event> {
        let mut events = Vec::new();
        self.expiring.retain(|(epoch, at)| {
            if *at <= now_ms {
                events.push(Event::EpochExpired { epoch: *epoch });
                false
            } else {
                true
            }
        });
        events
    }

    /// Handles one group message relayed from `from_relay_id`.
    pub fn handle(
        &mut self,
        _from_relay_id: u64,
        bytes: &[u8],
        now_ms: u64,
    ) -> Result<Vec<Event>, GroupError> {
        if self.phase == Phase::Removed {
            return Err(GroupError::Removed);
        }
        match Message::decode(bytes)? {
            Message::Roster(r) => self.handle_roster(r),
            Message::Commit(c) => self.handle_commit(c, now_ms),
            Message::EpochKey(k) => self.handle_epoch_key(k, now_ms),
            Message::Welcome(w) => self.handle_welcome(w, now_ms),
            Message::Denied(d) => self.handle_denied(d),
            // Requests addressed to the host are none of a member's business.
            _ => Ok(Vec::new()),
        }
    }

    /// The index of this member in `roster`: its identity with its own session HPKE key.
    fn my_index_in(&self, roster: &Roster) -> Option<u16> {
        let me = self.identity.public();
        let hpke = hpke_key_hash(self.hpke.as_ref()?.public_key());
        roster
            .members
            .iter()
            .find(|m| m.identity == me && m.hpke_hash == hpke)
            .map(|m| m.index)
    }

    /// The checks every host-signed message gets: the pinned host signed it, for this meeting.
    fn check_host_signed<T>(
        &self,
        signed: &Signed<T>,
        meeting: MeetingId,
    ) -> Result<(), GroupError> {
        let host = self.host.ok_or(GroupError::NoHostYet)?;
        signed.verify(&self.room, &host)?;
        if Some(meeting) != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        Ok(())
    }

    /// A full roster (SPEC §8.4): a joiner's view of the meeting before its welcome. A member
    /// already keyed follows commits and ignores full rosters of later epochs.
    fn handle_roster(&mut self, signed: Signed<Roster>) -> Result<Vec<Event>, GroupError> {
        let roster = &signed.content;
        let trusted = self.host.or(self.expected_host);
        if let Some(host) = trusted
            && host != roster.host
        {
            return Err(GroupError::UnexpectedHost);
        }
        signed.verify(&self.room, &roster.host)?;
        if let Some(meeting) = self.meeting
            && meeting != roster.meeting
        {
            return Err(GroupError::WrongMeeting);
        }
        validate(roster)?;
        let hash = roster_hash(&signed.body);
        if let Some(latest) = &self.latest {
            let cur = &latest.roster;
            if roster.suite != cur.suite || roster.kem != cur.kem {
                return Err(GroupError::InvalidRoster("suite or KEM changed"));
            }
            check_order(roster.epoch, hash, cur.epoch, latest.hash)?;
            if roster.epoch == cur.epoch || self.phase == Phase::Joined {
                return Ok(Vec::new());
            }
        }
        // Accepted: pin the host and the meeting.
        self.host = Some(roster.host);
        self.meeting = Some(roster.meeting);
        let my_index = self.my_index_in(roster);
        let host_relay_id = roster.members.first().map_or(0, |m| m.relay_id);
        self.latest = Some(Accepted {
            roster: signed.content,
            hash,
            my_index,
        });
        if my_index.is_none() && !self.announced_ready {
            self.announced_ready = true;
            return Ok(vec![Event::ReadyToJoin { host_relay_id }]);
        }
        Ok(Vec::new())
    }

    /// A commit (SPEC §8.6): applied to the roster this member holds, the result must hash to
    /// the signed hash, so the member verifies the complete roster it will encrypt for.
    fn handle_commit(
        &mut self,
        signed: Signed<Commit>,
        now_ms: u64,
    ) -> Result<Vec<Event>, GroupError> {
        let c = &signed.content;
        self.check_host_signed(&signed, c.meeting)?;
        let latest = self.latest.as_ref().ok_or(GroupError::NoHostYet)?;
        check_order(c.epoch, c.roster_hash, latest.roster.epoch, latest.hash)?;
        if c.epoch == latest.roster.epoch {
            return Ok(Vec::new());
        }
        if c.prev_hash != latest.hash || c.epoch != latest.roster.epoch + 1 {
            if self.phase != Phase::Joined {
                // A joiner's roster is older than the meeting: its welcome brings the new one.
                return Ok(Vec::new());
            }
            // This member missed an epoch (a relay that dropped a commit): it asks to be let
            // in again rather than stay behind; the host re-admits a known identity.
            self.phase = Phase::Waiting;
            self.pending = None;
            let host_relay_id = latest.roster.members.first().map_or(0, |m| m.relay_id);
            return Ok(vec![Event::ReadyToJoin { host_relay_id }]);
        }
        let roster = apply(&latest.roster, c)?;
        validate(&roster)?;
        let hash = roster_hash(&roster.encode_body());
        if hash != c.roster_hash {
            return Err(GroupError::RosterHashMismatch);
        }
        let names: std::collections::BTreeSet<u16> = c.names.iter().map(|n| n.index).collect();
        if names.len() != c.names.len() || !c.upserted.iter().all(|u| names.contains(&u.index)) {
            return Err(GroupError::InvalidRoster(
                "a changed entry without its name",
            ));
        }
        let my_index = self.my_index_in(&roster);
        let prev_epoch = latest.roster.epoch;
        self.latest = Some(Accepted {
            roster,
            hash,
            my_index,
        });
        if self.phase != Phase::Joined {
            return Ok(Vec::new());
        }
        if my_index.is_none() {
            self.erase();
            return Ok(vec![Event::Removed]);
        }
        let pending = PendingFresh {
            confirm: c.confirm,
            names: c.names.clone(),
        };
        if c.fresh {
            self.pending = Some(pending);
            return Ok(Vec::new());
        }
        let Some(prev) = self
            .epoch_secret
            .as_ref()
            .filter(|_| self.keyed_epoch == Some(prev_epoch))
        else {
            return Err(GroupError::KeyWithoutRoster { epoch: c.epoch });
        };
        let secret = prev.ratchet(&c.meeting, c.epoch, &hash);
        self.install(secret, &pending, now_ms)
    }

    /// A fresh epoch secret under this member's wrap key, for the commit it holds.
    fn handle_epoch_key(&mut self, key: EpochKey, now_ms: u64) -> Result<Vec<Event>, GroupError> {
        if self.host.is_none() {
            return Err(GroupError::KeyWithoutRoster { epoch: key.epoch });
        }
        if Some(key.meeting) != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        let latest = self
            .latest
            .as_ref()
            .ok_or(GroupError::KeyWithoutRoster { epoch: key.epoch })?;
        check_key_epoch(key.epoch, latest.roster.epoch)?;
        let my_index = latest.my_index.ok_or(GroupError::NotForMe)?;
        if key.recipient_index != my_index {
            return Err(GroupError::NotForMe);
        }
        if key.roster_hash != latest.hash {
            return Err(GroupError::RosterHashMismatch);
        }
        if self.keyed_epoch == Some(key.epoch) {
            return Ok(Vec::new());
        }
        let wrap_key = self.wrap_key.as_ref().ok_or(GroupError::NotForMe)?;
        let pending = self
            .pending
            .clone()
            .ok_or(GroupError::KeyWithoutRoster { epoch: key.epoch })?;
        let secret = key.open(wrap_key)?;
        self.install(secret, &pending, now_ms)
    }

    /// A welcome (SPEC §8.6): this member's wrap key, the epoch secret and every name, for the
    /// full roster it holds.
    fn handle_welcome(
        &mut self,
        signed: Signed<Welcome>,
        now_ms: u64,
    ) -> Result<Vec<Event>, GroupError> {
        let w = &signed.content;
        self.check_host_signed(&signed, w.meeting)?;
        let latest = self
            .latest
            .as_ref()
            .ok_or(GroupError::KeyWithoutRoster { epoch: w.epoch })?;
        check_key_epoch(w.epoch, latest.roster.epoch)?;
        let my_index = latest.my_index.ok_or(GroupError::NotForMe)?;
        if w.recipient != self.identity.public() || w.recipient_index != my_index {
            return Err(GroupError::NotForMe);
        }
        if w.roster_hash != latest.hash {
            return Err(GroupError::RosterHashMismatch);
        }
        if self.keyed_epoch == Some(w.epoch) {
            return Ok(Vec::new());
        }
        let listed: Vec<u16> = latest.roster.members.iter().map(|m| m.index).collect();
        let named: Vec<u16> = w.names.iter().map(|n| n.index).collect();
        if listed != named {
            return Err(GroupError::InvalidRoster(
                "welcome names do not match the roster",
            ));
        }
        let hpke = self.hpke.as_ref().ok_or(GroupError::NotForMe)?;
        let info = welcome_info(
            &w.meeting,
            w.epoch,
            w.recipient_index,
            &w.recipient,
            &w.roster_hash,
        );
        let plain = hpke.open(&w.enc, &info, &w.ciphertext)?;
        if plain.len() != 64 {
            return Err(GroupError::DecryptFailed);
        }
        let mut wrap_key = WrapKey::default();
        wrap_key.copy_from_slice(&plain[..32]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&plain[32..]);
        let secret = EpochSecret::from_bytes(secret);
        let pending = PendingFresh {
            confirm: secret.confirm(&w.meeting, w.epoch, &w.roster_hash),
            names: signed.content.names,
        };
        // Names are checked before anything is kept: a bad welcome changes no state.
        let events = self.install(secret, &pending, now_ms)?;
        self.wrap_key = Some(wrap_key);
        self.phase = Phase::Joined;
        Ok(events)
    }

    /// A refusal counts only if the pinned host signed it, for this meeting, this identity and
    /// the request this member sent last, and only while it is not in the roster.
    fn handle_denied(&mut self, signed: Signed<Denial>) -> Result<Vec<Event>, GroupError> {
        let d = &signed.content;
        let host = self.host.ok_or(GroupError::NoHostYet)?;
        signed.verify(&self.room, &host)?;
        if Some(d.meeting) != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        if d.identity != self.identity.public()
            || self.asked != Some(d.nonce)
            || self.phase != Phase::Waiting
        {
            return Err(GroupError::StaleDenial);
        }
        self.erase();
        Ok(vec![Event::Denied(d.reason)])
    }

    /// Installs the epoch of the latest roster with `secret` (checked against the commit's
    /// confirmation) and the names: `pending.names` (opened under the epoch's names key and
    /// checked against the roster's commitments), the others kept from the previous epoch.
    fn install(
        &mut self,
        secret: EpochSecret,
        pending: &PendingFresh,
        now_ms: u64,
    ) -> Result<Vec<Event>, GroupError> {
        let latest = self.latest.as_ref().ok_or(GroupError::NoHostYet)?;
        let roster = &latest.roster;
        let my_index = latest.my_index.ok_or(GroupError::NotForMe)?;
        if secret.confirm(&roster.meeting, roster.epoch, &latest.hash) != pending.confirm {
            return Err(GroupError::ConfirmMismatch {
                epoch: roster.epoch,
            });
        }
        let names_key = secret.names_key(&roster.meeting, roster.epoch);
        let mut names = std::collections::BTreeMap::new();
        let mut members = Vec::with_capacity(roster.members.len());
        let mut my_sender = None;
        let mut receivers = Vec::with_capacity(roster.members.len().saturating_sub(1));
        for m in &roster.members {
            let name = match pending.names.iter().find(|n| n.index == m.index) {
                Some(sealed) => open_roster_name(
                    &names_key,
                    m.index,
                    &m.identity,
                    &sealed.ciphertext,
                    &m.name_commit,
                )?,
                None => self
                    .names
                    .get(&m.index)
                    .cloned()
                    .ok_or(GroupError::InvalidRoster("a new entry without its name"))?,
            };
            names.insert(m.index, name.clone());
            members.push(MemberInfo {
                index: m.index,
                relay_id: m.relay_id,
                role: m.role,
                identity: m.identity,
                name,
            });
            let s = secret.sender(&roster.meeting, roster.epoch, m.index, roster.suite)?;
            if m.index == my_index {
                my_sender = Some(s);
            } else {
                receivers.push(s);
            }
        }
        let my_sender = my_sender.ok_or(GroupError::NotForMe)?;
        let connectors: Vec<String> = members
            .iter()
            .filter(|m| m.role == Role::Connector)
            .map(|m| m.name.clone())
            .collect();
        let e2ee = if connectors.is_empty() {
            E2ee::On
        } else {
            E2ee::Off { connectors }
        };
        let code = security_code(&latest.hash, roster.epoch);
        let epoch = roster.epoch;
        let view = RosterView {
            epoch,
            locked: roster.locked,
            my_index,
            members,
        };

        if let Some(prev) = self.keyed_epoch {
            self.expiring
                .push((prev, now_ms.saturating_add(self.config.grace_ms)));
        }
        self.keyed_epoch = Some(epoch);
        self.epoch_secret = Some(secret);
        self.names = names;
        self.pending = None;
        let mut events = vec![
            Event::RosterChanged(view),
            Event::EpochReady {
                epoch,
                my_sender,
                receivers,
            },
        ];
        if self.last_code.as_deref() != Some(code.as_str()) {
            self.last_code = Some(code.clone());
            events.push(Event::SecurityCode(code));
        }
        if self.last_e2ee.as_ref() != Some(&e2ee) {
            self.last_e2ee = Some(e2ee.clone());
            events.push(Event::E2eeStatus(e2ee));
        }
        Ok(events)
    }
}

/// Epoch order of a roster or commit (`epoch`, `hash`) against the one held: older is a
/// rollback, the same epoch with another hash a conflict.
fn check_order(
    epoch: u64,
    hash: [u8; 32],
    current: u64,
    current_hash: [u8; 32],
) -> Result<(), GroupError> {
    if epoch < current {
        return Err(GroupError::EpochRollback {
            got: epoch,
            current,
        });
    }
    if epoch == current && hash != current_hash {
        return Err(GroupError::EpochConflict { epoch });
    }
    Ok(())
}

/// A key (epoch key or welcome) is only for the epoch of the latest roster.
fn check_key_epoch(epoch: u64, roster_epoch: u64) -> Result<(), GroupError> {
    if epoch < roster_epoch {
        return Err(GroupError::EpochRollback {
            got: epoch,
            current: roster_epoch,
        });
    }
    if epoch > roster_epoch {
        return Err(GroupError::KeyWithoutRoster { epoch });
    }
    Ok(())
}

/// The roster a commit makes of `prev`: its removals, then its upserts, in index order.
fn apply(prev: &Roster, c: &Commit) -> Result<Roster, GroupError> {
    let mut members = prev.members.clone();
    for i in &c.removed {
        let pos = members
            .iter()
            .position(|m| m.index == *i)
            .ok_or(GroupError::InvalidRoster("removed index not listed"))?;
        members.remove(pos);
    }
    for u in &c.upserted {
        match members.binary_search_by_key(&u.index, |m| m.index) {
            Ok(pos) => members[pos] = u.clone(),
            Err(pos) => members.insert(pos, u.clone()),
        }
    }
    Ok(Roster {
        meeting: prev.meeting,
        epoch: c.epoch,
        suite: prev.suite,
        kem: prev.kem,
        locked: c.locked,
        host: prev.host,
        host_hpke: prev.host_hpke.clone(),
        members,
    })
}

/// Structural rules of a roster (SPEC §8.4).
fn validate(roster: &Roster) -> Result<(), GroupError> {
    if roster.epoch == 0 || roster.epoch > MAX_EPOCH {
        return Err(GroupError::InvalidRoster("epoch out of range"));
    }
    let first = roster
        .members
        .first()
        .ok_or(GroupError::InvalidRoster("no members"))?;
    if first.index != 0 || first.role != Role::Host || first.identity != roster.host {
        return Err(GroupError::InvalidRoster("index 0 must be the host"));
    }
    for pair in roster.members.windows(2) {
        if pair[1].index <= pair[0].index {
            return Err(GroupError::InvalidRoster("indices not ascending"));
        }
    }
    let mut ids: Vec<&IdentityKey> = roster.members.iter().map(|m| &m.identity).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != roster.members.len() {
        return Err(GroupError::InvalidRoster("identity listed twice"));
    }
    if roster.members[1..].iter().any(|m| m.role == Role::Host) {
        return Err(GroupError::InvalidRoster("more than one host"));
    }
    // The host's HPKE key must be one a joiner can seal to (SPEC §8.3), and entry 0 lists it.
    // Members' keys are checked by the host, the only one that seals to them.
    roster.kem.check_public_key(&roster.host_hpke)?;
    if first.hpke_hash != hpke_key_hash(&roster.host_hpke) {
        return Err(GroupError::InvalidRoster(
            "entry 0 does not list the host's HPKE key",
        ));
    }
    Ok(())
}
