//! HPKE (RFC 9180) as hush uses it (SPEC §8.3): base mode, HKDF-SHA256, ChaCha20-Poly1305, with
//! X25519 (default) or the hybrid post-quantum X-Wing KEM, chosen per meeting by the host.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::{DecodeError, GroupError};

/// The KEM of a meeting; its wire value is the RFC 9180 / draft-ietf-hpke-pq KEM id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KemId {
    /// DHKEM(X25519, HKDF-SHA256), id 0x0020: public key and encapsulation 32 bytes.
    X25519,
    /// X-Wing (ML-KEM-768 + X25519), id 0x647a: public key 1216 bytes, encapsulation 1120 bytes.
    XWing,
}

impl KemId {
    /// The 16-bit KEM id on the wire.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::X25519 => X25519HkdfSha256::KEM_ID,
            Self::XWing => XWing::KEM_ID,
        }
    }

    /// Parses a wire KEM id.
    pub fn from_u16(v: u16) -> Result<Self, DecodeError> {
        match v {
            x if x == X25519HkdfSha256::KEM_ID => Ok(Self::X25519),
            x if x == XWing::KEM_ID => Ok(Self::XWing),
            other => Err(DecodeError::UnknownKem(other)),
        }
    }

    /// Length of a public key.
    pub fn public_key_len(self) -> usize {
        match self {
            Self::X25519 => <X25519HkdfSha256 as Kem>::PublicKey::size(),
            Self::XWing => <XWing as Kem>::PublicKey::size(),
        }
    }

    /// Length of an encapsulated key (`enc`).
    pub fn enc_len(self) -> usize {
        match self {
            Self::X25519 => <X25519HkdfSha256 as Kem>::EncappedKey::size(),
            Self::XWing => <XWing as Kem>::EncappedKey::size(),
        }
    }

    /// Checks that `pk` is a valid public key of this KEM.
    pub(crate) fn check_public_key(self, pk: &[u8]) -> Result<(), DecodeError> {
        let ok = match self {
            Self::X25519 => <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(pk).is_ok(),
            Self::XWing => <XWing as Kem>::PublicKey::from_bytes(pk).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(DecodeError::BadLength)
        }
    }
}

/// An HPKE key pair. hush makes a fresh one per meeting session (SPEC §8.3); the private part is
/// the 32-byte serialized private key of the KEM, zeroized on drop and never printed.
#[derive(Clone)]
pub struct HpkeKeyPair {
    kem: KemId,
    private: Zeroizing<[u8; 32]>,
    public: Vec<u8>,
}

impl std::fmt::Debug for HpkeKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpkeKeyPair")
            .field("kem", &self.kem)
            .field("public", &hex::encode(&self.public))
            .finish_non_exhaustive()
    }
}

fn generate_pair<K: Kem, R: CryptoRng>(rng: &mut R) -> (Zeroizing<[u8; 32]>, Vec<u8>) {
    let (sk, pk) = K::gen_keypair_with_rng(rng);
    let mut private = Zeroizing::new([0u8; 32]);
    let bytes = Zeroizing::new(sk.to_bytes().to_vec());
    // Both hush KEMs have 32-byte private keys (X25519 scalar, X-Wing seed).
    let n = bytes.len().min(32);
    private[..n].copy_from_slice(&bytes[..n]);
    (private, pk.to_bytes().to_vec())
}

impl HpkeKeyPair {
    /// A fresh key pair for `kem`.
    pub fn generate<R: CryptoRng>(kem: KemId, rng: &mut R) -> Self {
        let (private, public) = match kem {
            KemId::X25519 => generate_pair::<X25519HkdfSha256, R>(rng),
            KemId::XWing => generate_pair::<XWing, R>(rng),
        };
        Self {
            kem,
            private,
            public,
        }
    }

    /// Rebuilds a key pair from a serialized private key (used by the known-answer vectors).
    pub fn from_private_bytes(kem: KemId, private: &[u8; 32]) -> Result<Self, GroupError> {
        let public = match kem {
            KemId::X25519 => {
                let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(private)
                    .map_err(|_| GroupError::Crypto)?;
                X25519HkdfSha256::sk_to_pk(&sk).to_bytes().to_vec()
            }
            KemId::XWing => {
                let sk = <XWing as Kem>::PrivateKey::from_bytes(private)
                    .map_err(|_| GroupError::Crypto)?;
                XWing::sk_to_pk(&sk).to_bytes().to_vec()
            }
        };
        Ok(Self {
            kem,
            private: Zeroizing::new(*private),
            public,
        })
    }

    /// The KEM of this key pair.
    pub fn kem(&self) -> KemId {
        self.kem
    }

    /// The serialized public key.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The serialized private key (for known-answer vectors only).
    pub fn private_bytes(&self) -> &[u8; 32] {
        &self.private
    }

    /// Opens an HPKE base-mode ciphertext addressed to this key pair.
    pub(crate) fn open(
        &self,
        enc: &[u8],
        info: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, GroupError> {
        match self.kem {
            KemId::X25519 => open::<X25519HkdfSha256>(&self.private[..], enc, info, ciphertext),
            KemId::XWing => open::<XWing>(&self.private[..], enc, info, ciphertext),
        }
    }
}

fn open<K: Kem>(
    private: &[u8],
    enc: &[u8],
    info: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, GroupError> {
    let sk = K::PrivateKey::from_bytes(private).map_err(|_| GroupError::Crypto)?;
    let enc = K::EncappedKey::from_bytes(enc).map_err(|_| GroupError::DecryptFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, K>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        &[],
    )
    .map(Zeroizing::new)
    .map_err(|_| GroupError::DecryptFailed)
}

fn seal_with<K: Kem, R: CryptoRng>(
    public: &[u8],
    info: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>), GroupError> {
    let pk = K::PublicKey::from_bytes(public).map_err(|_| GroupError::Crypto)?;
    let (enc, ct) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, K>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        &[],
        rng,
    )
    .map_err(|_| GroupError::Crypto)?;
    Ok((enc.to_bytes().to_vec(), ct))
}

/// HPKE base-mode seal of `plaintext` to `public` (empty AAD; `info` binds the context).
/// Returns `(enc, ciphertext)`.
pub(crate) fn seal<R: CryptoRng>(
    kem: KemId,
    public: &[u8],
    info: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>), GroupError> {
    match kem {
        KemId::X25519 => seal_with::<X25519HkdfSha256, R>(public, info, plaintext, rng),
        KemId::XWing => seal_with::<XWing, R>(public, info, plaintext, rng),
    }
}
