//! AEAD backends behind one small trait (SPEC §3).
//!
//! Default build: `ring` for AES-GCM and ChaCha20-Poly1305 (the fastest available here),
//! RustCrypto `aes` + `ctr` + `hmac` for the AES-CTR-HMAC suites (ring has no AES-CTR). The
//! `pure-rust` feature puts every suite on RustCrypto.

mod ctr_hmac;
#[cfg(all(feature = "ring", not(feature = "pure-rust")))]
mod ring;
#[cfg(feature = "pure-rust")]
mod rustcrypto;

#[cfg(not(any(feature = "ring", feature = "pure-rust")))]
compile_error!("hush-frame needs the `ring` (default) or the `pure-rust` feature");

use crate::{CipherSuite, NONCE_LEN};

/// The AEAD refused to seal (input too long) or the tag did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unspecified;

/// One suite's AEAD with its key already expanded (done once, at construction).
pub(crate) trait FrameAead: Send + Sync {
    /// Encrypts `data` in place and writes the tag (exactly the suite's tag length) to `tag`.
    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Unspecified>;

    /// `body` holds ciphertext || tag. Verifies the tag and decrypts in place, so the
    /// plaintext is `body[..len]`; returns `len`. Nothing is moved (the caller decides whether
    /// the plaintext must go to the front of its buffer). On failure `body`'s contents are
    /// unspecified.
    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<usize, Unspecified>;
}

/// The backend this build uses for `suite`, keyed with `key` (`suite.key_len()` bytes).
pub(crate) fn new(suite: CipherSuite, key: &[u8]) -> Box<dyn FrameAead> {
    match suite {
        CipherSuite::AesCtr128HmacSha256_80
        | CipherSuite::AesCtr128HmacSha256_64
        | CipherSuite::AesCtr128HmacSha256_32 => {
            Box::new(ctr_hmac::AesCtrHmac::new(key, suite.tag_len()))
        }
        #[cfg(feature = "pure-rust")]
        _ => rustcrypto::new(suite, key),
        #[cfg(all(feature = "ring", not(feature = "pure-rust")))]
        _ => ring::new(suite, key),
    }
}

/// Name of the backend a suite runs on in this build (for `hush frame` and benches).
pub fn backend_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::AesCtr128HmacSha256_80
        | CipherSuite::AesCtr128HmacSha256_64
        | CipherSuite::AesCtr128HmacSha256_32 => "rustcrypto",
        _ if cfg!(feature = "pure-rust") => "rustcrypto",
        _ => "ring",
    }
}
