//! Long-term identities (SPEC §8.1): an Ed25519 signing key whose public key *is* the identity,
//! and the identity file format used by `hush identity new|show`.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::GroupError;

/// First line of an identity file (SPEC §8.1).
pub const IDENTITY_FILE_HEADER: &str = "hush-identity-v1";

/// Domain label prefixed to every signed message (SPEC §8.2).
pub(crate) const SIGNATURE_LABEL: &[u8] = b"hush 1.0 signed message";

/// Length of [`IdentityKey::fingerprint`]: 64 hex digits and 7 spaces.
pub const FINGERPRINT_LEN: usize = 71;

/// A public identity: 32 bytes of Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub [u8; 32]);

impl IdentityKey {
    /// The key as lowercase hex (64 characters), ungrouped: the form for files and command-line
    /// arguments (SPEC §8.10).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The identity fingerprint people compare (SPEC §8.10): all 64 lowercase hex digits of
    /// the key in 8 groups of 8, separated by single spaces (71 characters), e.g.
    /// `8a88e3dd 7409f195 fd52db2d 3cba5d72 ca6709bf 1d94121b f3748801 b40f6f5c`. Prompts and
    /// rosters shown to people print this, never a prefix.
    pub fn fingerprint(&self) -> String {
        self.0
            .chunks(4)
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Verifies `signature` over `label || u16(len(room)) || room || body` (SPEC §8.2).
    pub(crate) fn verify(
        &self,
        room: &str,
        body: &[u8],
        signature: &[u8; 64],
    ) -> Result<(), GroupError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| GroupError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(&signed_input(room, body), &sig)
            .map_err(|_| GroupError::BadSignature)
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityKey({})", self.to_hex())
    }
}

impl std::fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The bytes a signature covers: the label, the room name (so a message cannot be replayed into
/// another room) and the message body.
pub(crate) fn signed_input(room: &str, body: &[u8]) -> Vec<u8> {
    let room = room.as_bytes();
    let room_len = u16::try_from(room.len()).unwrap_or(u16::MAX);
    let mut input = Vec::with_capacity(SIGNATURE_LABEL.len() + 2 + room.len() + body.len());
    input.extend_from_slice(SIGNATURE_LABEL);
    input.extend_from_slice(&room_len.to_be_bytes());
    input.extend_from_slice(&room[..usize::from(room_len)]);
    input.extend_from_slice(body);
    input
}

/// A private identity: the Ed25519 signing key. Zeroized on drop; `Debug` shows only the public
/// key.
#[derive(Clone)]
pub struct Identity {
    signing: SigningKey,
}

/// Why an identity file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityFileError {
    /// The first line is not [`IDENTITY_FILE_HEADER`].
    #[error("not a hush identity file (missing header {IDENTITY_FILE_HEADER:?})")]
    BadHeader,
    /// A `secret` or `public` line is missing, repeated or not 64 hex digits.
    #[error("malformed identity file line: {0}")]
    BadLine(&'static str),
    /// The `public` line does not match the key derived from `secret`.
    #[error("public key does not match the secret key")]
    Mismatch,
}

impl Identity {
    /// A fresh identity from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::generate(rng),
        }
    }

    /// An identity from its 32-byte Ed25519 secret (seed).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(secret),
        }
    }

    /// The public identity.
    pub fn public(&self) -> IdentityKey {
        IdentityKey(self.signing.verifying_key().to_bytes())
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// Signs `body` for `room` (SPEC §8.2).
    pub(crate) fn sign(&self, room: &str, body: &[u8]) -> [u8; 64] {
        self.signing.sign(&signed_input(room, body)).to_bytes()
    }

    /// The identity file (SPEC §8.1): three lines, `hush-identity-v1`, `secret <64 hex>`,
    /// `public <64 hex>`.
    pub fn to_file_string(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(hex::encode(self.signing.to_bytes()));
        Zeroizing::new(format!(
            "{IDENTITY_FILE_HEADER}\nsecret {}\npublic {}\n",
            secret.as_str(),
            self.public().to_hex()
        ))
    }

    /// Parses an identity file written by [`Identity::to_file_string`].
    pub fn from_file_str(text: &str) -> Result<Self, IdentityFileError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(IDENTITY_FILE_HEADER) {
            return Err(IdentityFileError::BadHeader);
        }
        let mut secret: Option<Zeroizing<[u8; 32]>> = None;
        let mut public: Option<[u8; 32]> = None;
        for line in lines {
            let (name, value) = line
                .split_once(' ')
                .ok_or(IdentityFileError::BadLine("expected `name value`"))?;
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(value.trim(), bytes.as_mut_slice())
                .map_err(|_| IdentityFileError::BadLine("value is not 64 hex digits"))?;
            match name {
                "secret" if secret.is_none() => secret = Some(bytes),
                "public" if public.is_none() => public = Some(*bytes),
                "secret" | "public" => return Err(IdentityFileError::BadLine("repeated line")),
                _ => return Err(IdentityFileError::BadLine("unknown line")),
            }
        }
        let secret = secret.ok_or(IdentityFileError::BadLine("missing secret"))?;
        let identity = Self::from_secret_bytes(&secret);
        if let Some(public) = public
            && public != identity.public().0
        {
            return Err(IdentityFileError::Mismatch);
        }
        Ok(identity)
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_the_full_key_in_eight_groups() {
        let key = IdentityKey(std::array::from_fn(|i| (i % 16) as u8 * 17));
        let fp = key.fingerprint();
        assert_eq!(
            fp,
            "00112233 44556677 8899aabb ccddeeff 00112233 44556677 8899aabb ccddeeff"
        );
        assert_eq!(fp.len(), FINGERPRINT_LEN);
        assert_eq!(fp.replace(' ', ""), key.to_hex());
    }
}
