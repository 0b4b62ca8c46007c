//! AES-128-CTR + HMAC-SHA256 with a truncated tag (RFC 9605 §4.5.1; SPEC §3), on RustCrypto.
//!
//! The AEAD key is `enc_key (16 bytes) || auth_key (32 bytes)`. Encryption is AES-CTR with the
//! initial counter block `nonce || 0x00000000`. The tag is the first Nt bytes of
//! `HMAC-SHA256(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct)`, the three lengths
//! as 8-byte big-endian integers.

use aes::Aes128;
use ctr::cipher::{InnerIvInit, KeyInit, StreamCipher};
use ctr::{Ctr32BE, CtrCore, flavors};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{FrameAead, Unspecified};
use crate::NONCE_LEN;

pub(super) struct AesCtrHmac {
    /// Expanded once; cloned (a copy of the round keys) per frame.
    aes: Aes128,
    /// HMAC keyed once; cloned per frame.
    mac: Hmac<Sha256>,
    tag_len: usize,
}

impl AesCtrHmac {
    pub(super) fn new(key: &[u8], tag_len: usize) -> Self {
        let (enc, auth) = key.split_at(16);
        // 16-byte AES key by construction; HMAC takes any key length.
        #[allow(clippy::unwrap_used)]
        Self {
            aes: Aes128::new_from_slice(enc).unwrap(),
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(auth).unwrap(),
            tag_len,
        }
    }

    fn mac(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], ct: &[u8]) -> Hmac<Sha256> {
        let mut m = self.mac.clone();
        m.update(&(aad.len() as u64).to_be_bytes());
        m.update(&(ct.len() as u64).to_be_bytes());
        m.update(&(self.tag_len as u64).to_be_bytes());
        m.update(nonce);
        m.update(aad);
        m.update(ct);
        m
    }

    fn apply_ctr(&self, nonce: &[u8; NONCE_LEN], data: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..NONCE_LEN].copy_from_slice(nonce);
        let core = CtrCore::<Aes128, flavors::Ctr32BE>::inner_iv_init(self.aes.clone(), &iv.into());
        let mut c = Ctr32BE::<Aes128>::from_core(core);
        c.apply_keystream(data);
    }
}

impl FrameAead for AesCtrHmac {
    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Unspecified> {
        // Ctr32BE covers 2^32 blocks (64 GiB) per frame; refuse anything near that.
        if data.len() as u64 >= (1u64 << 36) || tag.len() != self.tag_len {
            return Err(Unspecified);
        }
        self.apply_ctr(nonce, data);
        let full = self.mac(nonce, aad, data).finalize().into_bytes();
        tag.copy_from_slice(&full[..self.tag_len]);
        Ok(())
    }

    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<usize, Unspecified> {
        let pt_len = body.len().checked_sub(self.tag_len).ok_or(Unspecified)?;
        if pt_len as u64 >= (1u64 << 36) {
            return Err(Unspecified);
        }
        let (ct, tag) = body.split_at_mut(pt_len);
        self.mac(nonce, aad, ct)
            .verify_truncated_left(tag)
            .map_err(|_| Unspecified)?;
        self.apply_ctr(nonce, ct);
        Ok(pt_len)
    }
}
