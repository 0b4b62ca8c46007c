//! RustCrypto AES-GCM and ChaCha20-Poly1305 (the `pure-rust` feature), through `AeadInOut`.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;

use super::{FrameAead, Unspecified};
use crate::{CipherSuite, NONCE_LEN};

struct Rc<A>(A);

pub(super) fn new(suite: CipherSuite, key: &[u8]) -> Box<dyn FrameAead> {
    // key.len() == suite.key_len() by construction (key schedule), so new_from_slice cannot fail.
    #[allow(clippy::unwrap_used)]
    match suite {
        CipherSuite::Aes256GcmSha512 => Box::new(Rc(Aes256Gcm::new_from_slice(key).unwrap())),
        CipherSuite::ChaCha20Poly1305Sha256 => {
            Box::new(Rc(ChaCha20Poly1305::new_from_slice(key).unwrap()))
        }
        _ => Box::new(Rc(Aes128Gcm::new_from_slice(key).unwrap())),
    }
}

impl<A> FrameAead for Rc<A>
where
    A: AeadInOut<NonceSize = aes_gcm::aead::consts::U12, TagSize = aes_gcm::aead::consts::U16>
        + Send
        + Sync,
{
    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Unspecified> {
        let t = self
            .0
            .encrypt_inout_detached(nonce.into(), aad, data.into())
            .map_err(|_| Unspecified)?;
        tag.copy_from_slice(&t);
        Ok(())
    }

    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<usize, Unspecified> {
        let pt_len = body.len().checked_sub(16).ok_or(Unspecified)?;
        let (ct, tag) = body.split_at_mut(pt_len);
        let tag: [u8; 16] = (&*tag).try_into().map_err(|_| Unspecified)?;
        self.0
            .decrypt_inout_detached(nonce.into(), aad, ct.into(), &tag.into())
            .map_err(|_| Unspecified)?;
        Ok(pt_len)
    }
}
