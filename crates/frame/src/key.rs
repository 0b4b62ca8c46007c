//! Base keys and the RFC 9605 §4.4.2 key schedule (SPEC §2.3).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::backend::{self, FrameAead};
use crate::suite::{CipherSuite, KdfHash};
use crate::{FrameError, NONCE_LEN};

/// An SFrame base key: the secret a sender's frame key and salt are derived from.
///
/// Not `Clone`: a [`Sealer`](crate::Sealer) takes it by value, so one base key cannot end up
/// in two senders by accident (two senders on one key would reuse nonces). Zeroized on drop;
/// `Debug` prints only its length.
pub struct BaseKey(Zeroizing<Vec<u8>>);

impl BaseKey {
    /// Wraps key bytes (any non-zero length; 16 or 32 bytes are usual).
    ///
    /// # Errors
    /// [`FrameError::EmptyKey`] for an empty key.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, FrameError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(FrameError::EmptyKey);
        }
        Ok(Self(bytes))
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a base key is never empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for BaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseKey(<{} bytes redacted>)", self.0.len())
    }
}

/// The per-KID AEAD key and salt of RFC 9605 §4.4.2, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct KeyAndSalt {
    pub(crate) key: Vec<u8>,
    pub(crate) salt: [u8; NONCE_LEN],
}

/// What a sender or a receiver keeps of one KID's key: the salt and the expanded AEAD key
/// (the AEAD key bytes themselves are zeroized as soon as the backend has expanded them).
pub(crate) struct FrameKey {
    pub(crate) salt: Zeroizing<[u8; NONCE_LEN]>,
    pub(crate) aead: Box<dyn FrameAead>,
}

impl FrameKey {
    /// Derives the key and salt for `kid` ([`derive`]) and expands the AEAD key once, here.
    pub(crate) fn new(suite: CipherSuite, kid: u64, base_key: &BaseKey) -> Self {
        let ks = derive(suite, kid, base_key);
        Self {
            salt: Zeroizing::new(ks.salt),
            aead: backend::new(suite, &ks.key),
        }
    }

    /// The nonce of the frame with counter `ctr` ([`nonce`]).
    #[inline]
    pub(crate) fn nonce(&self, ctr: u64) -> [u8; NONCE_LEN] {
        nonce(&self.salt, ctr)
    }
}

/// `sframe_secret = HKDF-Extract("", base_key)`;
/// `sframe_key = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key " || KID || suite, Nk)`;
/// `sframe_salt = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID || suite, Nn)`,
/// with KID as 8 and the suite id as 2 big-endian bytes.
pub(crate) fn derive(suite: CipherSuite, kid: u64, base_key: &BaseKey) -> KeyAndSalt {
    let mut out = KeyAndSalt {
        key: vec![0u8; suite.key_len()],
        salt: [0u8; NONCE_LEN],
    };
    let key_label = label(b"SFrame 1.0 Secret key ", kid, suite);
    let salt_label = label(b"SFrame 1.0 Secret salt ", kid, suite);
    // Output lengths (<= 48) are far below HKDF's 255 * HashLen limit, so expand cannot fail.
    match suite.kdf_hash() {
        KdfHash::Sha256 => {
            let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, base_key.as_bytes());
            let _ = hk.expand(&key_label, &mut out.key);
            let _ = hk.expand(&salt_label, &mut out.salt);
        }
        KdfHash::Sha512 => {
            let hk = hkdf::Hkdf::<sha2::Sha512>::new(None, base_key.as_bytes());
            let _ = hk.expand(&key_label, &mut out.key);
            let _ = hk.expand(&salt_label, &mut out.salt);
        }
    }
    out
}

fn label(prefix: &[u8], kid: u64, suite: CipherSuite) -> Vec<u8> {
    let mut l = Vec::with_capacity(prefix.len() + 10);
    l.extend_from_slice(prefix);
    l.extend_from_slice(&kid.to_be_bytes());
    l.extend_from_slice(&suite.id().to_be_bytes());
    l
}

/// `AAD = header || metadata` (RFC 9605 §4.4.3): the header itself when there is no metadata,
/// otherwise both joined in `scratch` (reused, so no allocation once it is large enough).
#[inline]
pub(crate) fn aad<'a>(scratch: &'a mut Vec<u8>, header: &'a [u8], metadata: &[u8]) -> &'a [u8] {
    if metadata.is_empty() {
        header
    } else {
        scratch.clear();
        scratch.extend_from_slice(header);
        scratch.extend_from_slice(metadata);
        scratch
    }
}

/// `nonce = salt XOR (CTR as Nn big-endian bytes)`.
#[inline]
pub(crate) fn nonce(salt: &[u8; NONCE_LEN], ctr: u64) -> [u8; NONCE_LEN] {
    let mut n = *salt;
    for (b, c) in n[NONCE_LEN - 8..].iter_mut().zip(ctr.to_be_bytes()) {
        *b ^= c;
    }
    n
}
