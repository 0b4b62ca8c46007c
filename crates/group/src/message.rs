//! The admission and roster messages (SPEC §8.2-§8.8): layouts, encoding, total decoding. The
//! messages that move a member from one epoch to the next (commit, epoch key, welcome) are in
//! [`crate::epoch_msg`].
//!
//! Every message starts with a version byte ([`VERSION`]) and a type byte. Signed messages end
//! with a 64-byte Ed25519 signature over `"hush 1.0 signed message" || u16(len(room)) || room ||
//! body`, where `body` is every byte of the message before the signature.

use crate::MeetingId;
use crate::codec::{Reader, Writer, var_exact};
pub use crate::epoch_msg::{Commit, EpochKey, SealedName, Welcome};
use crate::error::{DecodeError, GroupError};
use crate::identity::{Identity, IdentityKey};
use crate::kem::KemId;

/// Protocol version of every message.
pub const VERSION: u8 = 1;

/// Message type bytes (SPEC §8.2).
pub mod msg_type {
    /// A joiner asks the host for the current roster.
    pub const HELLO: u8 = 0x01;
    /// Host-signed roster, broadcast.
    pub const ROSTER: u8 = 0x02;
    /// Member-signed join request, to the host.
    pub const JOIN_REQUEST: u8 = 0x03;
    /// A fresh epoch secret wrapped to one member under its wrap key (not signed).
    pub const EPOCH_KEY: u8 = 0x04;
    /// Member-signed leave notice.
    pub const LEAVE: u8 = 0x05;
    /// Member-signed request to rotate the epoch.
    pub const REKEY_REQUEST: u8 = 0x06;
    /// Host-signed refusal of one join request, to the joiner.
    pub const DENIED: u8 = 0x07;
    /// Host-signed change from one epoch's roster to the next, broadcast.
    pub const COMMIT: u8 = 0x08;
    /// Host-signed epoch secret, wrap key and every name, to one new member.
    pub const WELCOME: u8 = 0x09;
}

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// A member's role in the roster (SPEC §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The meeting's host (always index 0). Wire value 0.
    Host,
    /// An ordinary end-to-end participant. Wire value 1.
    Participant,
    /// A bridge that decrypts media for a non-E2EE endpoint (SPEC §13). Wire value 2.
    Connector,
}

impl Role {
    /// Wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Host => 0,
            Self::Participant => 1,
            Self::Connector => 2,
        }
    }

    /// Parses a wire value.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(Self::Host),
            1 => Ok(Self::Participant),
            2 => Ok(Self::Connector),
            other => Err(DecodeError::UnknownRole(other)),
        }
    }
}

/// One member in a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// Sender index, unique within the epoch; the host is 0.
    pub index: u16,
    /// The relay's participant id for this member's connection (SPEC §6).
    pub relay_id: u64,
    /// Role.
    pub role: Role,
    /// Identity (Ed25519 public key).
    pub identity: IdentityKey,
    /// `SHA-256("hush 1.0 hpke key" || hpke_pk)` of this member's session HPKE key
    /// ([`crate::names::hpke_key_hash`]): members never seal to each other, so the roster binds
    /// the key without carrying it.
    pub hpke_hash: [u8; 32],
    /// Commitment to the member's display name ([`crate::names::name_commit`]); the name itself
    /// travels sealed under an epoch's names key in commits and welcomes (SPEC §9.4).
    pub name_commit: [u8; 32],
}

/// Bytes of one encoded roster entry: index, relay id, role, identity, HPKE key hash, name
/// commitment.
pub const ROSTER_ENTRY_LEN: usize = 2 + 8 + 1 + 32 + 32 + 32;

impl RosterEntry {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.index)
            .u64(self.relay_id)
            .u8(self.role.to_u8())
            .raw(&self.identity.0)
            .raw(&self.hpke_hash)
            .raw(&self.name_commit);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            index: r.u16()?,
            relay_id: r.u64()?,
            role: Role::from_u8(r.u8()?)?,
            identity: IdentityKey(r.array()?),
            hpke_hash: r.array()?,
            name_commit: r.array()?,
        })
    }
}

/// The host-signed roster of one epoch (SPEC §8.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// Meeting id, chosen at random by the host for this meeting.
    pub meeting: MeetingId,
    /// Epoch number, strictly increasing, starting at 1.
    pub epoch: u64,
    /// SFrame cipher suite id for the meeting.
    pub suite: u16,
    /// HPKE KEM for the meeting.
    pub kem: KemId,
    /// Lock bit: no new identity is admitted while set.
    pub locked: bool,
    /// Host identity (also the entry at index 0).
    pub host: IdentityKey,
    /// The host's HPKE public key (joiners seal their names to it; its hash is entry 0's).
    pub host_hpke: Vec<u8>,
    /// Members, in ascending index order.
    pub members: Vec<RosterEntry>,
}

/// A join request (SPEC §8.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The meeting being joined (from the host's roster).
    pub meeting: MeetingId,
    /// 16 random bytes; the host refuses a nonce it has seen in this meeting.
    pub nonce: [u8; 16],
    /// Requested role: participant or connector.
    pub role: Role,
    /// Joiner identity; the message is signed by it.
    pub identity: IdentityKey,
    /// KEM of `hpke_public`.
    pub kem: KemId,
    /// Joiner's HPKE public key for this session.
    pub hpke_public: Vec<u8>,
    /// HPKE `enc` of the display name sealed to the host's HPKE key.
    pub name_enc: Vec<u8>,
    /// HPKE ciphertext of the padded display name.
    pub name_ct: Vec<u8>,
}

/// Why a host refused a join request (SPEC §8.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// The host (or its operator at the prompt) said no.
    Denied,
    /// A connector asked to join a host that admits connectors only with consent
    /// (`--admit-connectors`, or a yes at the prompt).
    ConnectorNeedsConsent,
}

impl DenyReason {
    /// The wire byte.
    pub fn to_u8(self) -> u8 {
        match self {
            DenyReason::Denied => 0,
            DenyReason::ConnectorNeedsConsent => 1,
        }
    }

    /// Parses the wire byte; unknown values are an error.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(DenyReason::Denied),
            1 => Ok(DenyReason::ConnectorNeedsConsent),
            other => Err(DecodeError::UnknownDenyReason(other)),
        }
    }
}

/// A host's refusal of one join request (SPEC §8.8.1): bound to the request by its nonce, so
/// it cannot refuse a later request of the same joiner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Meeting id.
    pub meeting: MeetingId,
    /// The refused request's nonce.
    pub nonce: [u8; 16],
    /// The joiner's identity.
    pub identity: IdentityKey,
    /// Why.
    pub reason: DenyReason,
}

impl Denial {
    /// The signed body (SPEC §8.8.1).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::DENIED);
        w.raw(&self.meeting.0)
            .raw(&self.nonce)
            .raw(&self.identity.0)
            .u8(self.reason.to_u8());
        w.buf
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            meeting: MeetingId(r.array()?),
            nonce: r.array()?,
            identity: IdentityKey(r.array()?),
            reason: DenyReason::from_u8(r.u8()?)?,
        })
    }
}

/// A member's leave notice or rekey request (SPEC §8.7): same layout, different type byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberNotice {
    /// Meeting id.
    pub meeting: MeetingId,
    /// The epoch the member currently holds.
    pub epoch: u64,
    /// The member's identity; the message is signed by it.
    pub identity: IdentityKey,
}

/// A message body with its signature. `body` is the exact signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<T> {
    /// Parsed content.
    pub content: T,
    /// The signed bytes (the message without its signature).
    pub body: Vec<u8>,
    /// Ed25519 signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl<T> Signed<T> {
    /// The whole message: body followed by the signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + SIGNATURE_LEN);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Checks the signature under `key` for `room`.
    pub fn verify(&self, room: &str, key: &IdentityKey) -> Result<(), GroupError> {
        key.verify(room, &self.body, &self.signature)
    }
}

/// Any hush group message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// `Hello`: ask the host for its current roster.
    Hello,
    /// A host-signed roster.
    Roster(Signed<Roster>),
    /// A joiner-signed join request.
    JoinRequest(Signed<JoinRequest>),
    /// An epoch secret wrapped to one member under its wrap key.
    EpochKey(EpochKey),
    /// A member-signed leave notice.
    Leave(Signed<MemberNotice>),
    /// A member-signed rekey request.
    RekeyRequest(Signed<MemberNotice>),
    /// A host-signed refusal of a join request.
    Denied(Signed<Denial>),
    /// A host-signed change from one epoch's roster to the next.
    Commit(Signed<Commit>),
    /// A host-signed welcome of one new member.
    Welcome(Signed<Welcome>),
}

/// The bytes of a `Hello`.
pub fn hello() -> Vec<u8> {
    vec![VERSION, msg_type::HELLO]
}

pub(crate) fn header(w: &mut Writer, ty: u8) {
    w.u8(VERSION).u8(ty);
}

impl Roster {
    /// The signed body (SPEC §8.4).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::ROSTER);
        w.raw(&self.meeting.0)
            .u64(self.epoch)
            .u16(self.suite)
            .u16(self.kem.to_u16())
            .u8(u8::from(self.locked))
            .raw(&self.host.0)
            .var(&self.host_hpke)
            .u16(u16::try_from(self.members.len()).unwrap_or(u16::MAX));
        w.buf.reserve(self.members.len() * ROSTER_ENTRY_LEN);
        for m in self.members.iter().take(usize::from(u16::MAX)) {
            m.encode(&mut w);
        }
        w.buf
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let meeting = MeetingId(r.array()?);
        let epoch = r.u64()?;
        let suite = r.u16()?;
        let kem = KemId::from_u16(r.u16()?)?;
        let flags = r.u8()?;
        if flags & !1 != 0 {
            return Err(DecodeError::ReservedFlags);
        }
        let host = IdentityKey(r.array()?);
        let host_hpke = var_exact(r, kem.public_key_len())?.to_vec();
        let count = r.u16()?;
        // Bound the allocation by the input, not by the claimed count.
        let mut members =
            Vec::with_capacity(usize::from(count).min(r.remaining() / ROSTER_ENTRY_LEN));
        for _ in 0..count {
            members.push(RosterEntry::decode(r)?);
        }
        Ok(Self {
            meeting,
            epoch,
            suite,
            kem,
            locked: flags & 1 == 1,
            host,
            host_hpke,
            members,
        })
    }
}

impl JoinRequest {
    /// The signed body (SPEC §8.5).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::JOIN_REQUEST);
        w.raw(&self.meeting.0)
            .raw(&self.nonce)
            .u8(self.role.to_u8())
            .raw(&self.identity.0)
            .u16(self.kem.to_u16())
            .var(&self.hpke_public)
            .var(&self.name_enc)
            .var(&self.name_ct);
        w.buf
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let meeting = MeetingId(r.array()?);
        let nonce = r.array()?;
        let role = Role::from_u8(r.u8()?)?;
        let identity = IdentityKey(r.array()?);
        let kem = KemId::from_u16(r.u16()?)?;
        let hpke_public = var_exact(r, kem.public_key_len())?.to_vec();
        let name_enc = var_exact(r, kem.enc_len())?.to_vec();
        let name_ct = r.prefixed16()?.to_vec();
        Ok(Self {
            meeting,
            nonce,
            role,
            identity,
            kem,
            hpke_public,
            name_enc,
            name_ct,
        })
    }
}

impl MemberNotice {
    /// The signed body (SPEC §8.7) for type `ty` ([`msg_type::LEAVE`] or
    /// [`msg_type::REKEY_REQUEST`]).
    pub fn encode_body(&self, ty: u8) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, ty);
        w.raw(&self.meeting.0).u64(self.epoch).raw(&self.identity.0);
        w.buf
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            meeting: MeetingId(r.array()?),
            epoch: r.u64()?,
            identity: IdentityKey(r.array()?),
        })
    }
}

/// Signs `body` (which must be `content`'s encoding) with `identity` for `room` (SPEC §8.2).
pub fn sign<T>(content: T, body: Vec<u8>, identity: &Identity, room: &str) -> Signed<T> {
    let signature = identity.sign(room, &body);
    Signed {
        content,
        body,
        signature,
    }
}

pub(crate) fn signed<T>(
    bytes: &[u8],
    parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Signed<T>, DecodeError> {
    let split = bytes
        .len()
        .checked_sub(SIGNATURE_LEN)
        .ok_or(DecodeError::Truncated)?;
    let (body, sig) = bytes.split_at(split);
    let mut r = Reader::new(body);
    r.take(2)?; // version and type, checked by the caller
    let content = parse(&mut r)?;
    r.finish()?;
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(sig);
    Ok(Signed {
        content,
        body: body.to_vec(),
        signature,
    })
}

impl Message {
    /// Decodes any group message. Total: every input gives a message or a [`DecodeError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        match r.u8()? {
            msg_type::HELLO => {
                r.finish()?;
                Ok(Self::Hello)
            }
            msg_type::ROSTER => signed(bytes, Roster::decode_body).map(Self::Roster),
            msg_type::JOIN_REQUEST => {
                signed(bytes, JoinRequest::decode_body).map(Self::JoinRequest)
            }
            msg_type::EPOCH_KEY => EpochKey::decode(bytes).map(Self::EpochKey),
            msg_type::LEAVE => signed(bytes, MemberNotice::decode_body).map(Self::Leave),
            msg_type::REKEY_REQUEST => {
                signed(bytes, MemberNotice::decode_body).map(Self::RekeyRequest)
            }
            msg_type::DENIED => signed(bytes, Denial::decode_body).map(Self::Denied),
            msg_type::COMMIT => signed(bytes, Commit::decode_body).map(Self::Commit),
            msg_type::WELCOME => signed(bytes, Welcome::decode_body).map(Self::Welcome),
            other => Err(DecodeError::UnknownType(other)),
        }
    }
}
