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
    /// Ed25519 verification: no malleable or small-order encodings).
    pub fn verify_data(
        &self,
        room: &str,
        kid: u64,
        ctr: u64,
        body: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(&data_signature_input(room, kid, ctr, body), &sig)
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
        // Any flipped bit of the signature is refused.
        for i in 0..SIGNATURE_LEN * 8 {
            let mut bad = sig;
            bad[i / 8] ^= 1 << (i % 8);
            assert!(!a.verify_data("r", 0x10001, 5, b"\x01hi", &bad), "bit {i}");
        }
    }
}
