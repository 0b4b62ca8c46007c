//! Signatures of data messages for sender authentication (SPEC §14.3): a member signs each data
//! message it sends (and each vouch for its media frames) with its identity key, the one in the
//! host-signed roster, so no other member can write in its name.

use ed25519_dalek::{Signer, VerifyingKey};

use crate::identity::{Identity, IdentityKey};

/// Domain label of a data-message signature.
pub const DATA_SIGNATURE_LABEL: &[u8] = b"hush 1.0 data signature";

/// Bytes of a signature (Ed25519).
pub const SIGNATURE_LEN: usize = 64;

/// What a data-message signature covers:
/// `label || u16(len(room)) || room || u64(kid) || u64(ctr) || body`, where `body` is the
/// SFrame plaintext before the signature (`kind || payload`) and `kid`, `ctr` are the frame's
/// header: the signature binds the message to its sender key, its counter and its room.
pub fn data_signature_input(room: &str, kid: u64, ctr: u64, body: &[u8]) -> Vec<u8> {
    let room = room.as_bytes();
    let room = &room[..room.len().min(usize::from(u16::MAX))];
    let mut input = Vec::with_capacity(DATA_SIGNATURE_LABEL.len() + 18 + room.len() + body.len());
    input.extend_from_slice(DATA_SIGNATURE_LABEL);
    input.extend_from_slice(&(room.len() as u16).to_be_bytes());
    input.extend_from_slice(room);
    input.extend_from_slice(&kid.to_be_bytes());
    input.extend_from_slice(&ctr.to_be_bytes());
    input.extend_from_slice(body);
    input
}

impl Identity {
    /// Signs a data message's `body` sealed under (`kid`, `ctr`) in `room` (SPEC §14.3).
    pub fn sign_data(&self, room: &str, kid: u64, ctr: u64, body: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing_key()
            .sign(&data_signature_input(room, kid, ctr, body))
            .to_bytes()
    }
}

impl IdentityKey {
    /// Whether `signature` is this identity's over the data message (SPEC §14.3; strict
    /// Ed25519 verification: no malleable or small-order encodings). A receiver that checks many
    /// messages of one sender keeps a [`DataVerifier`] instead (the key decompressed once).
    pub fn verify_data(
        &self,
        room: &str,
        kid: u64,
        ctr: u64,
        body: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        self.data_verifier()
            .is_some_and(|v| v.verify(room, kid, ctr, body, signature))
    }

    /// This identity's data-signature verifier; `None` if the key is not a valid point (then
    /// nothing it "signed" verifies).
    pub fn data_verifier(&self) -> Option<DataVerifier> {
        VerifyingKey::from_bytes(&self.0).ok().map(DataVerifier)
    }
}

/// An identity key decompressed once for verifying its data-message signatures: decompressing
/// the point is about a quarter of an Ed25519 verification, which a receiver would otherwise pay
/// on every vouch and chat line of the same sender.
#[derive(Clone, Copy, Debug)]
pub struct DataVerifier(VerifyingKey);

impl DataVerifier {
    /// Whether `signature` is the identity's over the data message (as
    /// [`IdentityKey::verify_data`]).
    pub fn verify(
        &self,
        room: &str,
        kid: u64,
        ctr: u64,
        body: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.0
            .verify_strict(&data_signature_input(room, kid, ctr, body), &sig)
            .is_ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_signer_room_key_counter_and_body() {
        let alice = Identity::from_secret_bytes(&[1; 32]);
        let bob = Identity::from_secret_bytes(&[2; 32]);
        let sig = alice.sign_data("r", 0x10001, 5, b"\x01hi");
        let a = alice.public();
        assert!(a.verify_data("r", 0x10001, 5, b"\x01hi", &sig));
        assert!(!bob.public().verify_data("r", 0x10001, 5, b"\x01hi", &sig));
        assert!(!a.verify_data("s", 0x10001, 5, b"\x01hi", &sig));
        assert!(!a.verify_data("r", 0x10002, 5, b"\x01hi", &sig));
        assert!(!a.verify_data("r", 0x10001, 6, b"\x01hi", &sig));
        assert!(!a.verify_data("r", 0x10001, 5, b"\x01ho", &sig));
        let v = a.data_verifier().unwrap();
        assert!(v.verify("r", 0x10001, 5, b"\x01hi", &sig));
        assert!(!v.verify("r", 0x10001, 5, b"\x01ho", &sig));
        assert!(
            !bob.public()
                .data_verifier()
                .unwrap()
                .verify("r", 0x10001, 5, b"\x01hi", &sig)
        );
        // Any flipped bit of the signature is refused.
        for i in 0..SIGNATURE_LEN * 8 {
            let mut bad = sig;
            bad[i / 8] ^= 1 << (i % 8);
            assert!(!a.verify_data("r", 0x10001, 5, b"\x01hi", &bad), "bit {i}");
        }
    }
}
