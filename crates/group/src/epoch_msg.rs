//! The messages that move members from one epoch to the next (SPEC §8.6): the host-signed
//! [`Commit`] every member gets (what changed, not the whole roster), the [`EpochKey`] that
//! wraps a fresh epoch secret to one member under its wrap key, and the host-signed [`Welcome`]
//! that gives a new member its wrap key, the epoch secret and every display name.
//!
//! What the relay fans out per epoch is so O(N): one commit of the changes to each member,
//! one 108-byte epoch key each when the secret is fresh, and the whole roster only to joiners.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

use crate::MeetingId;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, GroupError};
use crate::identity::IdentityKey;
use crate::message::{RosterEntry, header, msg_type};
use crate::schedule::{EpochSecret, wrap_cipher_key};

/// Length of a wrapped epoch secret: 32 bytes and a 16-byte tag (SPEC §8.6).
pub const WRAPPED_SECRET_LEN: usize = 32 + 16;

/// A display name sealed under an epoch's names key for the member at `index` (SPEC §9.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedName {
    /// Roster index of the member named.
    pub index: u16,
    /// ChaCha20-Poly1305 of `salt[16] || padded name`.
    pub ciphertext: Vec<u8>,
}

fn encode_names(w: &mut Writer, names: &[SealedName]) {
    w.u16(u16::try_from(names.len()).unwrap_or(u16::MAX));
    for n in names.iter().take(usize::from(u16::MAX)) {
        w.u16(n.index).var(&n.ciphertext);
    }
}

fn decode_names(r: &mut Reader<'_>) -> Result<Vec<SealedName>, DecodeError> {
    let count = r.u16()?;
    // Each takes at least 4 bytes: bound the allocation by the input.
    let mut names = Vec::with_capacity(usize::from(count).min(r.remaining() / 4));
    for _ in 0..count {
        names.push(SealedName {
            index: r.u16()?,
            ciphertext: r.prefixed16()?.to_vec(),
        });
    }
    Ok(names)
}

/// The change from the roster of epoch `epoch - 1` to that of `epoch` (SPEC §8.6), broadcast
/// by the host and signed by it. A member applies it to the roster it holds, checks that the
/// result hashes to `roster_hash`, and so verifies the complete roster without receiving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Meeting id.
    pub meeting: MeetingId,
    /// The new epoch.
    pub epoch: u64,
    /// Hash of the roster this commit applies to (epoch `epoch - 1`).
    pub prev_hash: [u8; 32],
    /// Hash of the roster it produces.
    pub roster_hash: [u8; 32],
    /// The new lock bit.
    pub locked: bool,
    /// True: a fresh epoch secret follows in an [`EpochKey`] to each member. False: the
    /// secret is the previous one ratcheted (only additions, SPEC §9.1).
    pub fresh: bool,
    /// Indices leaving the roster.
    pub removed: Vec<u16>,
    /// Entries added or changed (a changed relay id), ascending by index.
    pub upserted: Vec<RosterEntry>,
    /// The names of the upserted entries, sealed under the new epoch's names key.
    pub names: Vec<SealedName>,
    /// `HKDF-Expand(epoch_secret, "hush 1.0 confirm" || …)`: every member checks that the
    /// secret it derived or unwrapped is the host's ([`crate::EpochSecret::confirm`]).
    pub confirm: [u8; 32],
}

impl Commit {
    /// The signed body (SPEC §8.6).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::COMMIT);
        w.raw(&self.meeting.0)
            .u64(self.epoch)
            .raw(&self.prev_hash)
            .raw(&self.roster_hash)
            .u8(u8::from(self.locked) | (u8::from(self.fresh) << 1))
            .u16(u16::try_from(self.removed.len()).unwrap_or(u16::MAX));
        for i in self.removed.iter().take(usize::from(u16::MAX)) {
            w.u16(*i);
        }
        w.u16(u16::try_from(self.upserted.len()).unwrap_or(u16::MAX));
        for e in self.upserted.iter().take(usize::from(u16::MAX)) {
            e.encode(&mut w);
        }
        encode_names(&mut w, &self.names);
        w.raw(&self.confirm);
        w.buf
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let meeting = MeetingId(r.array()?);
        let epoch = r.u64()?;
        let prev_hash = r.array()?;
        let roster_hash = r.array()?;
        let flags = r.u8()?;
        if flags & !3 != 0 {
            return Err(DecodeError::ReservedFlags);
        }
        let n = r.u16()?;
        let mut removed = Vec::with_capacity(usize::from(n).min(r.remaining() / 2));
        for _ in 0..n {
            removed.push(r.u16()?);
        }
        let n = r.u16()?;
        let per = crate::message::ROSTER_ENTRY_LEN;
        let mut upserted = Vec::with_capacity(usize::from(n).min(r.remaining() / per));
        for _ in 0..n {
            upserted.push(RosterEntry::decode(r)?);
        }
        let names = decode_names(r)?;
        Ok(Self {
            meeting,
            epoch,
            prev_hash,
            roster_hash,
            locked: flags & 1 == 1,
            fresh: flags & 2 == 2,
            removed,
            upserted,
            names,
            confirm: r.array()?,
        })
    }
}

/// A fresh epoch secret wrapped to one member (SPEC §8.6): ChaCha20-Poly1305 under a key
/// derived from the member's wrap key ([`crate::schedule::wrap_cipher_key`]), with every byte
/// before the ciphertext as AAD. Not signed: only the host and the member know the wrap key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochKey {
    /// Meeting id.
    pub meeting: MeetingId,
    /// Epoch of the secret.
    pub epoch: u64,
    /// Recipient's index in that epoch's roster.
    pub recipient_index: u16,
    /// Hash of that epoch's roster.
    pub roster_hash: [u8; 32],
    /// The wrapped secret ([`WRAPPED_SECRET_LEN`] bytes).
    pub ciphertext: Vec<u8>,
}

impl EpochKey {
    /// The authenticated header: every byte of the message before the ciphertext.
    pub fn encode_header(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::EPOCH_KEY);
        w.raw(&self.meeting.0)
            .u64(self.epoch)
            .u16(self.recipient_index)
            .raw(&self.roster_hash);
        w.buf
    }

    /// The whole message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.encode_header();
        out.extend_from_slice(&self.ciphertext);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.take(2)?; // version and type, checked by the caller
        let key = Self {
            meeting: MeetingId(r.array()?),
            epoch: r.u64()?,
            recipient_index: r.u16()?,
            roster_hash: r.array()?,
            ciphertext: r.take(WRAPPED_SECRET_LEN)?.to_vec(),
        };
        r.finish()?;
        Ok(key)
    }
}

/// A new member's keys (SPEC §8.6): `ciphertext` is the HPKE seal, to the member's session
/// key, of `wrap_key[32] || epoch_secret[32]`; `names` holds every roster member's name sealed
/// under the epoch's names key. Host-signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Meeting id.
    pub meeting: MeetingId,
    /// Epoch of the secret.
    pub epoch: u64,
    /// Recipient's index in that epoch's roster.
    pub recipient_index: u16,
    /// Recipient's identity.
    pub recipient: IdentityKey,
    /// Hash of that epoch's roster.
    pub roster_hash: [u8; 32],
    /// HPKE `enc`.
    pub enc: Vec<u8>,
    /// HPKE ciphertext of the wrap key and the epoch secret.
    pub ciphertext: Vec<u8>,
    /// Every member's name, in roster order.
    pub names: Vec<SealedName>,
}

impl Welcome {
    /// The signed body (SPEC §8.6).
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        header(&mut w, msg_type::WELCOME);
        w.raw(&self.meeting.0)
            .u64(self.epoch)
            .u16(self.recipient_index)
            .raw(&self.recipient.0)
            .raw(&self.roster_hash)
            .var(&self.enc)
            .var(&self.ciphertext);
        encode_names(&mut w, &self.names);
        w.buf
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            meeting: MeetingId(r.array()?),
            epoch: r.u64()?,
            recipient_index: r.u16()?,
            recipient: IdentityKey(r.array()?),
            roster_hash: r.array()?,
            enc: r.prefixed16()?.to_vec(),
            ciphertext: r.prefixed16()?.to_vec(),
            names: decode_names(r)?,
        })
    }
}

impl EpochKey {
    /// Wraps `secret` for member `recipient_index` under its `wrap_key` (SPEC §8.6).
    pub fn seal(
        meeting: MeetingId,
        epoch: u64,
        recipient_index: u16,
        roster_hash: [u8; 32],
        wrap_key: &[u8; 32],
        secret: &[u8; 32],
    ) -> Result<Self, GroupError> {
        let mut key = Self {
            meeting,
            epoch,
            recipient_index,
            roster_hash,
            ciphertext: Vec::new(),
        };
        let aad = key.encode_header();
        let k = wrap_cipher_key(wrap_key, &meeting, epoch, recipient_index);
        key.ciphertext = ChaCha20Poly1305::new(&Key::from(*k))
            .encrypt(
                &Nonce::default(),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| GroupError::Crypto)?;
        Ok(key)
    }

    /// Unwraps the secret with the recipient's `wrap_key` (`DecryptFailed` if any byte of the
    /// message or the key differs).
    pub fn open(&self, wrap_key: &[u8; 32]) -> Result<EpochSecret, GroupError> {
        let aad = self.encode_header();
        let k = wrap_cipher_key(wrap_key, &self.meeting, self.epoch, self.recipient_index);
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new(&Key::from(*k))
                .decrypt(
                    &Nonce::default(),
                    Payload {
                        msg: &self.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| GroupError::DecryptFailed)?,
        );
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| GroupError::DecryptFailed)?;
        Ok(EpochSecret::from_bytes(bytes))
    }
}
