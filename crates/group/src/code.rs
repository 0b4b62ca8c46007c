//! The security code (SPEC §10): 40 digits in 8 groups of 5, derived from the roster hash and the
//! epoch, identical on every member holding the same signed roster.

use sha2::{Digest, Sha256, Sha512};

/// Domain label of the roster hash (SPEC §8.4).
pub const ROSTER_HASH_LABEL: &[u8] = b"hush 1.0 roster hash";
/// Domain label of the security code (SPEC §10).
pub const SECURITY_CODE_LABEL: &[u8] = b"hush 1.0 security code";

/// `SHA-256("hush 1.0 roster hash" || roster_body)`, where the body is the signed roster message
/// without its signature (SPEC §8.4).
pub fn roster_hash(roster_body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ROSTER_HASH_LABEL);
    h.update(roster_body);
    h.finalize().into()
}

/// The security code of a roster: `d = SHA-512("hush 1.0 security code" || roster_hash ||
/// u64(epoch))`; group `i` (0..8) is the big-endian integer of `d[5i..5i+5]` modulo 100000,
/// written as 5 decimal digits; groups are separated by single spaces.
pub fn security_code(roster_hash: &[u8; 32], epoch: u64) -> String {
    let mut h = Sha512::new();
    h.update(SECURITY_CODE_LABEL);
    h.update(roster_hash);
    h.update(epoch.to_be_bytes());
    let d = h.finalize();
    let groups: Vec<String> = d
        .chunks_exact(5)
        .take(8)
        .map(|c| {
            let v = c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!("{:05}", v % 100_000)
        })
        .collect();
    groups.join(" ")
}
