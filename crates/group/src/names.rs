//! End-to-end encrypted display names (SPEC §8.5, §9.4): padding, the roster name AEAD, and the
//! HPKE `info` strings that bind each sealed value to its context.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

use crate::MeetingId;
use crate::error::GroupError;
use crate::identity::IdentityKey;

/// Longest display name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 127;
/// Padded names are a multiple of this many bytes, so the ciphertext length reveals little.
pub const NAME_PAD_BLOCK: usize = 32;

/// HPKE `info` label of a display name in a join request.
pub const JOIN_NAME_LABEL: &[u8] = b"hush 1.0 join name";
/// HPKE `info` label of a wrapped epoch secret.
pub const EPOCH_KEY_LABEL: &[u8] = b"hush 1.0 epoch key";

/// `u8(len) || name || zeros`, padded to a multiple of [`NAME_PAD_BLOCK`].
pub fn pad_name(name: &str) -> Result<Zeroizing<Vec<u8>>, GroupError> {
    let bytes = name.as_bytes();
    if bytes.len() > MAX_NAME_LEN {
        return Err(GroupError::InvalidName);
    }
    let total = (1 + bytes.len()).div_ceil(NAME_PAD_BLOCK) * NAME_PAD_BLOCK;
    let mut out = Zeroizing::new(vec![0u8; total]);
    out[0] = bytes.len() as u8;
    out[1..=bytes.len()].copy_from_slice(bytes);
    Ok(out)
}

/// Inverse of [`pad_name`]; refuses bad lengths, non-zero padding and invalid UTF-8.
pub fn unpad_name(padded: &[u8]) -> Result<String, GroupError> {
    let (&len, rest) = padded.split_first().ok_or(GroupError::InvalidName)?;
    let len = usize::from(len);
    if len > MAX_NAME_LEN || len > rest.len() || !padded.len().is_multiple_of(NAME_PAD_BLOCK) {
        return Err(GroupError::InvalidName);
    }
    let (name, pad) = rest.split_at(len);
    if pad.iter().any(|b| *b != 0) {
        return Err(GroupError::InvalidName);
    }
    String::from_utf8(name.to_vec()).map_err(|_| GroupError::InvalidName)
}

fn roster_nonce(index: u16) -> Nonce {
    let mut n = [0u8; 12];
    n[10..].copy_from_slice(&index.to_be_bytes());
    n.into()
}

/// Encrypts member `index`'s name for the roster: ChaCha20-Poly1305 under the epoch's names key,
/// nonce `10 zero bytes || u16(index)`, AAD the member's identity key.
pub fn seal_roster_name(
    names_key: &[u8; 32],
    index: u16,
    identity: &IdentityKey,
    name: &str,
) -> Result<Vec<u8>, GroupError> {
    let padded = pad_name(name)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*names_key));
    cipher
        .encrypt(
            &roster_nonce(index),
            Payload {
                msg: &padded,
                aad: &identity.0,
            },
        )
        .map_err(|_| GroupError::Crypto)
}

/// Decrypts a roster name sealed by [`seal_roster_name`].
pub fn open_roster_name(
    names_key: &[u8; 32],
    index: u16,
    identity: &IdentityKey,
    ct: &[u8],
) -> Result<String, GroupError> {
    let cipher = ChaCha20Poly1305::new(&Key::from(*names_key));
    let padded = Zeroizing::new(
        cipher
            .decrypt(
                &roster_nonce(index),
                Payload {
                    msg: ct,
                    aad: &identity.0,
                },
            )
            .map_err(|_| GroupError::DecryptFailed)?,
    );
    unpad_name(&padded)
}

/// HPKE `info` for a join request's name: label || meeting id || joiner identity.
pub fn join_name_info(meeting: &MeetingId, identity: &IdentityKey) -> Vec<u8> {
    [JOIN_NAME_LABEL, &meeting.0, &identity.0].concat()
}

/// HPKE `info` for a wrapped epoch secret: label || meeting id || u64(epoch) || u16(index) ||
/// recipient identity || roster hash.
pub fn epoch_key_info(
    meeting: &MeetingId,
    epoch: u64,
    index: u16,
    recipient: &IdentityKey,
    roster_hash: &[u8; 32],
) -> Vec<u8> {
    [
        EPOCH_KEY_LABEL,
        &meeting.0,
        &epoch.to_be_bytes(),
        &index.to_be_bytes(),
        &recipient.0,
        roster_hash,
    ]
    .concat()
}
