//! ring's AES-GCM and ChaCha20-Poly1305.
//!
//! ring keeps its expanded key schedule private and does not zeroize it on drop; hush zeroizes
//! the raw key bytes it derived (see `key.rs`).

use ring::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};

use super::{FrameAead, Unspecified};
use crate::{CipherSuite, NONCE_LEN};

struct RingAead(LessSafeKey);

pub(super) fn new(suite: CipherSuite, key: &[u8]) -> Box<dyn FrameAead> {
    let alg = match suite {
        CipherSuite::Aes256GcmSha512 => &AES_256_GCM,
        CipherSuite::ChaCha20Poly1305Sha256 => &CHACHA20_POLY1305,
        _ => &AES_128_GCM,
    };
    // key.len() == suite.key_len() == alg.key_len() by construction (key schedule), so this
    // cannot fail; UnboundKey::new only checks the length.
    #[allow(clippy::unwrap_used)]
    let key = UnboundKey::new(alg, key).unwrap();
    Box::new(RingAead(LessSafeKey::new(key)))
}

impl FrameAead for RingAead {
    #[inline]
    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Unspecified> {
        let t = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), data)
            .map_err(|_| Unspecified)?;
        tag.copy_from_slice(t.as_ref());
        Ok(())
    }

    #[inline]
    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<usize, Unspecified> {
        // In place at the body's own offset: ring's shifting `open_within` measured slower than
        // `open_in_place` plus a `memmove`, and a `BytesMut` caller needs no move at all.
        Ok(self
            .0
            .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), body)
            .map_err(|_| Unspecified)?
            .len())
    }
}
