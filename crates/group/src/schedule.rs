//! The epoch key schedule (SPEC §9): a fresh 32-byte epoch secret per epoch, one SFrame base key
//! and KID per sender, and the key that encrypts display names in the roster.

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::MeetingId;
use crate::error::GroupError;

/// Largest epoch number: KIDs carry the epoch in 48 bits (SPEC §9.2).
pub const MAX_EPOCH: u64 = (1 << 48) - 1;

/// HKDF-Expand info label for a sender's SFrame base key (SPEC §9.3).
pub const SENDER_KEY_LABEL: &[u8] = b"hush 1.0 sender key";
/// HKDF-Expand info label for the roster display-name key (SPEC §9.4).
pub const NAMES_KEY_LABEL: &[u8] = b"hush 1.0 roster names";
/// HKDF-Expand info label of the join ratchet (SPEC §9.1).
pub const RATCHET_LABEL: &[u8] = b"hush 1.0 join ratchet";
/// HKDF-Expand info label of a commit's confirmation (SPEC §8.6).
pub const CONFIRM_LABEL: &[u8] = b"hush 1.0 confirm";
/// HKDF-Expand info label of the key that wraps an epoch secret to one member (SPEC §8.6).
pub const WRAP_LABEL: &[u8] = b"hush 1.0 wrap";

/// A member's 32-byte wrap key: drawn by the host when it admits the member, given to it in its
/// welcome, and used for every later fresh epoch secret ([`wrap_cipher_key`]).
pub type WrapKey = Zeroizing<[u8; 32]>;

fn expand_prk(prk: &[u8; 32], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let info = info.concat();
    let mut out = Zeroizing::new([0u8; 32]);
    // A 32-byte PRK is exactly HashLen, and 32 output bytes are far below 255 * HashLen, so
    // neither call can fail; fall back to zeros rather than panic if the crate ever disagreed.
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(prk) {
        let _ = hk.expand(&info, out.as_mut_slice());
    }
    out
}

/// The ChaCha20-Poly1305 key of member `index`'s epoch key in `epoch`:
/// `HKDF-Expand(wrap_key, "hush 1.0 wrap" || meeting_id || u64(epoch) || u16(index), 32)`.
/// One key per (member, epoch), so the nonce is zero.
pub fn wrap_cipher_key(
    wrap_key: &[u8; 32],
    meeting: &MeetingId,
    epoch: u64,
    index: u16,
) -> Zeroizing<[u8; 32]> {
    expand_prk(
        wrap_key,
        &[
            WRAP_LABEL,
            &meeting.0,
            &epoch.to_be_bytes(),
            &index.to_be_bytes(),
        ],
    )
}

/// The KID of member `index` in `epoch`: `(epoch << 16) | index` (SPEC §9.2).
pub fn kid(epoch: u64, index: u16) -> u64 {
    ((epoch & MAX_EPOCH) << 16) | u64::from(index)
}

/// Splits a KID into `(epoch, index)`.
pub fn split_kid(kid: u64) -> (u64, u16) {
    (kid >> 16, (kid & 0xffff) as u16)
}

/// The 32-byte secret of one epoch: fresh randomness when anyone left (and on rotation and
/// rekey requests), the previous secret ratcheted when members were only added
/// ([`EpochSecret::ratchet`], SPEC §9.1); zeroized on drop, never printed.
#[derive(Clone)]
pub struct EpochSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for EpochSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochSecret(..)")
    }
}

impl EpochSecret {
    /// A fresh secret from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut s = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(s.as_mut_slice());
        Self(s)
    }

    /// A secret from bytes (known-answer vectors, and the receiving side of an epoch key).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn expand(
        &self,
        label: &[u8],
        meeting: &MeetingId,
        epoch: u64,
        index: Option<u16>,
    ) -> Zeroizing<[u8; 32]> {
        let index = index.map(u16::to_be_bytes);
        let index: &[u8] = index.as_ref().map_or(&[], |i| i.as_slice());
        expand_prk(&self.0, &[label, &meeting.0, &epoch.to_be_bytes(), index])
    }

    /// The SFrame sender secret of member `index` in `epoch`:
    /// `HKDF-Expand(epoch_secret, "hush 1.0 sender key" || meeting_id || u64(epoch) || u16(index), 32)`.
    pub fn sender(
        &self,
        meeting: &MeetingId,
        epoch: u64,
        index: u16,
        suite: u16,
    ) -> Result<SenderSecret, GroupError> {
        if epoch > MAX_EPOCH {
            return Err(GroupError::EpochExhausted);
        }
        Ok(SenderSecret {
            kid: kid(epoch, index),
            suite,
            base_key: self.expand(SENDER_KEY_LABEL, meeting, epoch, Some(index)),
        })
    }

    /// The next epoch's secret when the change only added members (SPEC §9.1):
    /// `HKDF-Expand(epoch_secret, "hush 1.0 join ratchet" || meeting_id || u64(epoch) ||
    /// roster_hash, 32)`, `epoch` and `roster_hash` those of the new epoch. One-way: a joiner
    /// given the new secret learns nothing of the old one.
    pub fn ratchet(&self, meeting: &MeetingId, epoch: u64, roster_hash: &[u8; 32]) -> Self {
        let out = expand_prk(
            &self.0,
            &[RATCHET_LABEL, &meeting.0, &epoch.to_be_bytes(), roster_hash],
        );
        Self(out)
    }

    /// A commit's confirmation of this secret (SPEC §8.6):
    /// `HKDF-Expand(epoch_secret, "hush 1.0 confirm" || meeting_id || u64(epoch) ||
    /// roster_hash, 32)`.
    pub fn confirm(&self, meeting: &MeetingId, epoch: u64, roster_hash: &[u8; 32]) -> [u8; 32] {
        *expand_prk(
            &self.0,
            &[CONFIRM_LABEL, &meeting.0, &epoch.to_be_bytes(), roster_hash],
        )
    }

    /// The ChaCha20-Poly1305 key for display names in the roster of `epoch`:
    /// `HKDF-Expand(epoch_secret, "hush 1.0 roster names" || meeting_id || u64(epoch), 32)`.
    pub fn names_key(&self, meeting: &MeetingId, epoch: u64) -> Zeroizing<[u8; 32]> {
        self.expand(NAMES_KEY_LABEL, meeting, epoch, None)
    }
}

/// SFrame key material for one sender in one epoch, as plain data for the client to hand to
/// hush-frame: the KID, the cipher suite id the host fixed for the meeting, and the 32-byte base
/// key (RFC 9605 `base_key`). Zeroized on drop; `Debug` prints no key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SenderSecret {
    /// SFrame KID: `(epoch << 16) | index`.
    pub kid: u64,
    /// SFrame cipher suite id (SPEC §3), fixed per meeting in the signed roster.
    pub suite: u16,
    /// SFrame base key.
    pub base_key: Zeroizing<[u8; 32]>,
}

impl SenderSecret {
    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u64 {
        split_kid(self.kid).0
    }

    /// The roster index of the sender.
    pub fn index(&self) -> u16 {
        split_kid(self.kid).1
    }
}

impl std::fmt::Debug for SenderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderSecret")
            .field("kid", &format_args!("{:#x}", self.kid))
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}
