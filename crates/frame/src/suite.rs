//! Cipher suites (SPEC §3): the five of RFC 9605 §4.5 and ChaCha20-Poly1305 at a private id.

use std::fmt;
use std::str::FromStr;

use crate::FrameError;

/// An SFrame cipher suite: the AEAD, its sizes, and the hash of the key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// `0x0001` AES_128_CTR_HMAC_SHA256_80: AES-128-CTR with a 10-byte HMAC-SHA256 tag.
    AesCtr128HmacSha256_80,
    /// `0x0002` AES_128_CTR_HMAC_SHA256_64: AES-128-CTR with an 8-byte HMAC-SHA256 tag.
    AesCtr128HmacSha256_64,
    /// `0x0003` AES_128_CTR_HMAC_SHA256_32: AES-128-CTR with a 4-byte HMAC-SHA256 tag.
    AesCtr128HmacSha256_32,
    /// `0x0004` AES_128_GCM_SHA256_128: AES-128-GCM, HKDF-SHA256.
    Aes128GcmSha256,
    /// `0x0005` AES_256_GCM_SHA512_128: AES-256-GCM, HKDF-SHA512.
    Aes256GcmSha512,
    /// `0xF001` CHACHA20_POLY1305_SHA256 (hush private use): ChaCha20-Poly1305, HKDF-SHA256.
    ChaCha20Poly1305Sha256,
}

/// The hash function of a suite's key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KdfHash {
    Sha256,
    Sha512,
}

impl CipherSuite {
    /// Every suite hush implements, in id order.
    pub const ALL: [CipherSuite; 6] = [
        Self::AesCtr128HmacSha256_80,
        Self::AesCtr128HmacSha256_64,
        Self::AesCtr128HmacSha256_32,
        Self::Aes128GcmSha256,
        Self::Aes256GcmSha512,
        Self::ChaCha20Poly1305Sha256,
    ];

    /// The 16-bit suite id carried in rosters and on the CLI.
    pub const fn id(self) -> u16 {
        match self {
            Self::AesCtr128HmacSha256_80 => 0x0001,
            Self::AesCtr128HmacSha256_64 => 0x0002,
            Self::AesCtr128HmacSha256_32 => 0x0003,
            Self::Aes128GcmSha256 => 0x0004,
            Self::Aes256GcmSha512 => 0x0005,
            Self::ChaCha20Poly1305Sha256 => 0xF001,
        }
    }

    /// The suite with this id, if hush implements it.
    pub const fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0x0001 => Self::AesCtr128HmacSha256_80,
            0x0002 => Self::AesCtr128HmacSha256_64,
            0x0003 => Self::AesCtr128HmacSha256_32,
            0x0004 => Self::Aes128GcmSha256,
            0x0005 => Self::Aes256GcmSha512,
            0xF001 => Self::ChaCha20Poly1305Sha256,
            _ => return None,
        })
    }

    /// The registry name (RFC 9605 §8.1 style), e.g. `AES_128_GCM_SHA256_128`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AesCtr128HmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::AesCtr128HmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::AesCtr128HmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::Aes128GcmSha256 => "AES_128_GCM_SHA256_128",
            Self::Aes256GcmSha512 => "AES_256_GCM_SHA512_128",
            Self::ChaCha20Poly1305Sha256 => "CHACHA20_POLY1305_SHA256",
        }
    }

    /// AEAD.Nk: bytes of the AEAD key (for AES-CTR-HMAC, encryption key then HMAC key).
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesCtr128HmacSha256_80
            | Self::AesCtr128HmacSha256_64
            | Self::AesCtr128HmacSha256_32 => 48,
            Self::Aes128GcmSha256 => 16,
            Self::Aes256GcmSha512 | Self::ChaCha20Poly1305Sha256 => 32,
        }
    }

    /// AEAD.Nn: bytes of the nonce (12 for every suite).
    pub const fn nonce_len(self) -> usize {
        crate::NONCE_LEN
    }

    /// AEAD.Nt: bytes of the authentication tag.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::AesCtr128HmacSha256_80 => 10,
            Self::AesCtr128HmacSha256_64 => 8,
            Self::AesCtr128HmacSha256_32 => 4,
            Self::Aes128GcmSha256 | Self::Aes256GcmSha512 | Self::ChaCha20Poly1305Sha256 => 16,
        }
    }

    /// The most frames one key may seal (SPEC §4): 2^32 for every suite, well inside each
    /// AEAD's confidentiality and integrity bounds for frames up to 256 KiB.
    pub const fn max_frames_per_key(self) -> u64 {
        1 << 32
    }

    pub(crate) const fn kdf_hash(self) -> KdfHash {
        match self {
            Self::Aes256GcmSha512 => KdfHash::Sha512,
            _ => KdfHash::Sha256,
        }
    }

    /// The suite a new meeting should use on this machine, chosen as TLS stacks do:
    /// AES-128-GCM where the CPU has AES instructions (x86-64 AES-NI + PCLMULQDQ, aarch64 AES +
    /// PMULL), ChaCha20-Poly1305 otherwise.
    pub fn default_for_this_cpu() -> Self {
        if cpu_has_aes() {
            Self::Aes128GcmSha256
        } else {
            Self::ChaCha20Poly1305Sha256
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn cpu_has_aes() -> bool {
    std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
}

#[cfg(target_arch = "aarch64")]
fn cpu_has_aes() -> bool {
    std::arch::is_aarch64_feature_detected!("aes")
        && std::arch::is_aarch64_feature_detected!("pmull")
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
fn cpu_has_aes() -> bool {
    false
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CipherSuite {
    type Err = FrameError;

    /// Accepts the id in decimal (`4`, `61441`) or hex (`0x0004`, `0xF001`), or the name in any
    /// case, with `-` or `_` (`AES_128_GCM_SHA256_128`, `chacha20-poly1305-sha256`). Short
    /// aliases: `aes-128-gcm`, `aes-256-gcm`, `chacha20-poly1305`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let unknown = || FrameError::UnknownSuite(t.chars().take(64).collect());
        let id = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(u16::from_str_radix(hex, 16).map_err(|_| unknown())?)
        } else if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
            Some(t.parse::<u16>().map_err(|_| unknown())?)
        } else {
            None
        };
        if let Some(id) = id {
            return Self::from_id(id).ok_or_else(unknown);
        }
        let norm = t.to_ascii_uppercase().replace('-', "_");
        let alias = match norm.as_str() {
            "AES_128_GCM" => Some(Self::Aes128GcmSha256),
            "AES_256_GCM" => Some(Self::Aes256GcmSha512),
            "CHACHA20_POLY1305" => Some(Self::ChaCha20Poly1305Sha256),
            _ => None,
        };
        alias
            .or_else(|| Self::ALL.into_iter().find(|s| s.name() == norm))
            .ok_or_else(unknown)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_by_number_and_name() {
        for s in CipherSuite::ALL {
            assert_eq!(s.id().to_string().parse::<CipherSuite>().ok(), Some(s));
            assert_eq!(
                format!("{:#06x}", s.id()).parse::<CipherSuite>().ok(),
                Some(s)
            );
            assert_eq!(s.name().parse::<CipherSuite>().ok(), Some(s));
            assert_eq!(
                s.to_string()
                    .to_lowercase()
                    .replace('_', "-")
                    .parse::<CipherSuite>()
                    .ok(),
                Some(s)
            );
        }
        assert_eq!(
            "chacha20-poly1305".parse::<CipherSuite>().ok(),
            Some(CipherSuite::ChaCha20Poly1305Sha256)
        );
        for bad in ["", "0", "6", "0xF002", "99999", "aes", "0xzz"] {
            assert!(
                matches!(bad.parse::<CipherSuite>(), Err(FrameError::UnknownSuite(_))),
                "{bad}"
            );
        }
    }
}
