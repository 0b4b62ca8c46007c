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

    /// Checks that `pk` is a valid public key of this KEM (SPEC §8.3):
    /// - X25519: 32 bytes, not one of the small-order encodings of [`X25519_SMALL_ORDER`]
    ///   (bit 255 ignored), i.e. not a key whose DH output is all zero for every secret;
    /// - X-Wing: 1216 bytes, the ML-KEM-768 encapsulation key (first 1184 bytes) passes the
    ///   FIPS 203 §7.2 modulus check, and the X25519 key (last 32 bytes) is not small-order.
    pub fn check_public_key(self, pk: &[u8]) -> Result<(), GroupError> {
        if pk.len() != self.public_key_len() {
            return Err(GroupError::InvalidHpkeKey);
        }
        let (parses, x25519) = match self {
            Self::X25519 => (
                <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(pk).is_ok(),
                pk,
            ),
            Self::XWing => (
                <XWing as Kem>::PublicKey::from_bytes(pk).is_ok(),
                &pk[XWING_MLKEM_PK_LEN..],
            ),
        };
        if parses && !is_small_order_x25519(x25519) {
            Ok(())
        } else {
            Err(GroupError::InvalidHpkeKey)
        }
    }
}

/// Length of the ML-KEM-768 encapsulation key at the start of an X-Wing public key; the
/// X25519 public key follows (SPEC §8.3).
pub const XWING_MLKEM_PK_LEN: usize = 1184;

/// The X25519 public keys whose DH output is all zero whatever the (clamped) secret: the points
/// of order 1, 2, 4 and 8 and their non-canonical encodings (`p` and `p + 1`), as listed by
/// libsodium. Bit 255 of an X25519 key is ignored (RFC 7748 §5), so each entry also stands for
/// itself with the top bit set; [`KemId::check_public_key`] masks it before comparing.
pub const X25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // order 8
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    // order 8
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p, non-canonical 0
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1, non-canonical 1
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// True if `pk` is 32 bytes equal to an entry of [`X25519_SMALL_ORDER`] once bit 255 is cleared.
fn is_small_order_x25519(pk: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(pk) else {
        return false;
    };
    X25519_SMALL_ORDER
        .iter()
        .any(|bad| pk[..31] == bad[..31] && (pk[31] & 0x7f) == bad[31])
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use rand::SeedableRng;

    fn rng(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    /// Every listed encoding, with bit 255 clear and set.
    fn small_order_encodings() -> Vec<[u8; 32]> {
        X25519_SMALL_ORDER
            .iter()
            .flat_map(|p| {
                let mut high = *p;
                high[31] |= 0x80;
                [*p, high]
            })
            .collect()
    }

    #[test]
    fn small_order_x25519_keys_give_an_all_zero_dh_and_are_refused() {
        let mut rng = rng(1);
        for pk in small_order_encodings() {
            // The definition: HPKE's DH with a fresh ephemeral secret gives the all-zero shared
            // secret, which RFC 9180 §7.1.4 makes the sender abort on.
            assert_eq!(
                seal(KemId::X25519, &pk, b"info", b"secret", &mut rng).err(),
                Some(GroupError::Crypto),
                "{}",
                hex::encode(pk)
            );
            assert_eq!(
                KemId::X25519.check_public_key(&pk),
                Err(GroupError::InvalidHpkeKey),
                "{}",
                hex::encode(pk)
            );
        }
        // Honest keys pass, and they are sealed to fine.
        for _ in 0..32 {
            let pair = HpkeKeyPair::generate(KemId::X25519, &mut rng);
            assert_eq!(KemId::X25519.check_public_key(pair.public_key()), Ok(()));
            let (enc, ct) = seal(KemId::X25519, pair.public_key(), b"i", b"s", &mut rng).unwrap();
            assert_eq!(pair.open(&enc, b"i", &ct).unwrap().as_slice(), b"s");
        }
        assert_eq!(
            KemId::X25519.check_public_key(&[9; 31]),
            Err(GroupError::InvalidHpkeKey)
        );
    }

    #[test]
    fn invalid_xwing_keys_are_refused() {
        let mut rng = rng(2);
        let pair = HpkeKeyPair::generate(KemId::XWing, &mut rng);
        let good = pair.public_key().to_vec();
        assert_eq!(good.len(), 1216);
        assert_eq!(KemId::XWing.check_public_key(&good), Ok(()));
        // The X25519 key is the last 32 bytes: the public key of the pair's X25519 part.
        // A small-order X25519 part is refused.
        for x in small_order_encodings() {
            let mut bad = good.clone();
            bad[XWING_MLKEM_PK_LEN..].copy_from_slice(&x);
            assert_eq!(
                KemId::XWing.check_public_key(&bad),
                Err(GroupError::InvalidHpkeKey)
            );
        }
        // An ML-KEM coefficient >= q = 3329 fails the FIPS 203 modulus check: the first 12-bit
        // coefficient set to 0xfff.
        let mut bad = good.clone();
        bad[0] = 0xff;
        bad[1] |= 0x0f;
        assert_eq!(
            KemId::XWing.check_public_key(&bad),
            Err(GroupError::InvalidHpkeKey)
        );
        // Wrong length.
        assert_eq!(
            KemId::XWing.check_public_key(&good[..1215]),
            Err(GroupError::InvalidHpkeKey)
        );
    }
}
