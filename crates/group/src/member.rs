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
    Denial, DenyReason, EpochKey, JoinRequest, MemberNotice, Message, Role, Roster, Signed,
    msg_type, sign,
};
use crate::names::{epoch_key_info, join_name_info, open_roster_name, pad_name};
use crate::schedule::{EpochSecret, MAX_EPOCH, SenderSecret};

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

    /// A signed join request for the meeting of the latest roster, with the display name sealed
    /// to the host's HPKE key. Makes this session's HPKE key pair on first use.
    pub fn join_request<R: CryptoRng>(&mut self, rng: &mut R) -> Result<Vec<u8>, GroupError> {
        if self.phase == Phase::Removed {
            return Err(GroupError::Removed);
        }
        let latest = self.latest.as_ref().ok_or(GroupError::NoHostYet)?;
        let roster = &latest.roster;
        let host_entry = roster.members.first().ok_or(GroupError::NoHostYet)?;
        let kem = roster.kem;
        let hpke = self
            .hpke
            .get_or_insert_with(|| HpkeKeyPair::generate(kem, rng))
            .clone();
        let me = self.identity.public();
        let padded = pad_name(&self.name)?;
        let (name_enc, name_ct) = kem::seal(
            kem,
            &host_entry.hpke_public,
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
            Message::EpochKey(k) => self.handle_epoch_key(k, now_ms),
            Message::Denied(d) => self.handle_denied(d),
            // Requests addressed to the host are none of a member's business.
            _ => Ok(Vec::new()),
        }
    }

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
            if roster.epoch < cur.epoch {
                return Err(GroupError::EpochRollback {
                    got: roster.epoch,
                    current: cur.epoch,
                });
            }
            if roster.epoch == cur.epoch {
                return if hash == latest.hash {
                    Ok(Vec::new())
                } else {
                    Err(GroupError::EpochConflict {
                        epoch: roster.epoch,
                    })
                };
            }
        }
        // Accepted: pin the host and the meeting.
        self.host = Some(roster.host);
        self.meeting = Some(roster.meeting);
        let me = self.identity.public();
        let my_index = self.hpke.as_ref().and_then(|hpke| {
            roster
                .members
                .iter()
                .find(|m| m.identity == me && m.hpke_public == hpke.public_key())
                .map(|m| m.index)
        });
        let host_relay_id = roster.members.first().map_or(0, |m| m.relay_id);
        self.latest = Some(Accepted {
            roster: signed.content,
            hash,
            my_index,
        });
        match (my_index, self.phase) {
            (Some(_), _) => {
                self.phase = Phase::Joined;
                Ok(Vec::new())
            }
            (None, Phase::Joined) => {
                self.erase();
                Ok(vec![Event::Removed])
            }
            (None, _) if !self.announced_ready => {
                self.announced_ready = true;
                Ok(vec![Event::ReadyToJoin { host_relay_id }])
            }
            (None, _) => Ok(Vec::new()),
        }
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

    fn handle_epoch_key(
        &mut self,
        signed: Signed<EpochKey>,
        now_ms: u64,
    ) -> Result<Vec<Event>, GroupError> {
        let key = &signed.content;
        let host = self
            .host
            .ok_or(GroupError::KeyWithoutRoster { epoch: key.epoch })?;
        signed.verify(&self.room, &host)?;
        if Some(key.meeting) != self.meeting {
            return Err(GroupError::WrongMeeting);
        }
        let latest = self
            .latest
            .as_ref()
            .ok_or(GroupError::KeyWithoutRoster { epoch: key.epoch })?;
        if key.epoch < latest.roster.epoch {
            return Err(GroupError::EpochRollback {
                got: key.epoch,
                current: latest.roster.epoch,
            });
        }
        if key.epoch > latest.roster.epoch {
            return Err(GroupError::KeyWithoutRoster { epoch: key.epoch });
        }
        let my_index = latest.my_index.ok_or(GroupError::NotForMe)?;
        if key.recipient != self.identity.public() || key.recipient_index != my_index {
            return Err(GroupError::NotForMe);
        }
        if key.roster_hash != latest.hash {
            return Err(GroupError::RosterHashMismatch);
        }
        if self.keyed_epoch == Some(key.epoch) {
            return Ok(Vec::new());
        }
        let hpke = self.hpke.as_ref().ok_or(GroupError::NotForMe)?;
        let info = epoch_key_info(
            &key.meeting,
            key.epoch,
            key.recipient_index,
            &key.recipient,
            &key.roster_hash,
        );
        let plain = hpke.open(&key.enc, &info, &key.ciphertext)?;
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| GroupError::DecryptFailed)?;
        let secret = EpochSecret::from_bytes(bytes);
        let roster = &latest.roster;
        let names_key = secret.names_key(&roster.meeting, roster.epoch);
        let mut members = Vec::with_capacity(roster.members.len());
        let mut my_sender = None;
        let mut receivers = Vec::with_capacity(roster.members.len().saturating_sub(1));
        for m in &roster.members {
            let name = open_roster_name(&names_key, m.index, &m.identity, &m.name_ct)?;
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
    // Every HPKE key must be one a host could seal to (SPEC §8.3): a small-order X25519 key
    // would give an all-zero DH output, so nobody could wrap a key to it.
    for m in &roster.members {
        roster.kem.check_public_key(&m.hpke_public)?;
    }
    Ok(())
}
