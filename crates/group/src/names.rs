//! End-to-end encrypted display names (SPEC §8.5, §9.4): the character rule, padding, the roster
//! name AEAD, and the HPKE `info` strings that bind each sealed value to its context.
//!
//! Display names come from other people: they are untrusted text. The group layer refuses a
//! name holding a control, bidi, invisible format or line-separator character
//! ([`check_display_name`], SPEC §8.5) wherever it meets one: the joiner's own name
//! ([`pad_name`]), the name in a join request at the host and every roster name at members
//! ([`unpad_name`]). Any other untrusted text a client prints (chat, file names, reasons sent by
//! a relay) goes through [`escape_for_terminal`] or [`Escaped`] first.

use std::fmt::{self, Write as _};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::MeetingId;
use crate::error::{GroupError, NameError};
use crate::identity::IdentityKey;

/// Longest display name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 127;
/// Padded names are a multiple of this many bytes, so the ciphertext length reveals little.
pub const NAME_PAD_BLOCK: usize = 32;

/// HPKE `info` label of a display name in a join request.
pub const JOIN_NAME_LABEL: &[u8] = b"hush 1.0 join name";

/// The class of a character a display name must not hold (SPEC §8.5), or `None` if it may.
///
/// Forbidden: general categories Cc (C0, DEL, C1), Cf (format: bidi controls, zero-width
/// characters, BOM, tags, ...), Zl and Zp (U+2028, U+2029). The Cf set is spelled out as
/// ranges (Unicode 15.1) so that the rule does not move with the Unicode version.
pub fn forbidden_char(c: char) -> Option<NameError> {
    let u = u32::from(c);
    match u {
        0x00..=0x1f | 0x7f..=0x9f => Some(NameError::Control(c)),
        0x061c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 => Some(NameError::Bidi(c)),
        0x2028 | 0x2029 => Some(NameError::Separator(c)),
        0x00ad
        | 0x0600..=0x0605
        | 0x06dd
        | 0x070f
        | 0x0890..=0x0891
        | 0x08e2
        | 0x180e
        | 0x200b..=0x200d
        | 0x2060..=0x2064
        | 0x206a..=0x206f
        | 0xfeff
        | 0xfff9..=0xfffb
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0001
        | 0xe0020..=0xe007f => Some(NameError::Invisible(c)),
        _ => None,
    }
}

/// Checks the character rule of SPEC §8.5: the first forbidden character (see
/// [`forbidden_char`]) is the error.
pub fn check_display_name(name: &str) -> Result<(), NameError> {
    match name.chars().find_map(forbidden_char) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Length of the padded form of a `len`-byte name: the smallest multiple of
/// [`NAME_PAD_BLOCK`] that holds `1 + len` bytes (a 31-byte name pads to 32, a 32-byte name to
/// 64, the longest, 127 bytes, to 128).
pub fn padded_len(len: usize) -> usize {
    (1 + len).div_ceil(NAME_PAD_BLOCK) * NAME_PAD_BLOCK
}

/// `u8(len) || name || zeros`, padded to [`padded_len`] bytes (SPEC §8.5). Refuses a name
/// longer than [`MAX_NAME_LEN`] bytes ([`GroupError::InvalidName`]) and one holding a forbidden
/// character ([`GroupError::BadDisplayName`]).
pub fn pad_name(name: &str) -> Result<Zeroizing<Vec<u8>>, GroupError> {
    let bytes = name.as_bytes();
    if bytes.len() > MAX_NAME_LEN {
        return Err(GroupError::InvalidName);
    }
    check_display_name(name).map_err(|reason| GroupError::BadDisplayName { reason })?;
    let mut out = Zeroizing::new(vec![0u8; padded_len(bytes.len())]);
    out[0] = bytes.len() as u8;
    out[1..=bytes.len()].copy_from_slice(bytes);
    Ok(out)
}

/// Inverse of [`pad_name`]. Refuses ([`GroupError::InvalidName`]) a length byte above
/// [`MAX_NAME_LEN`], a padded length other than exactly [`padded_len`], non-zero padding and
/// invalid UTF-8; then a forbidden character ([`GroupError::BadDisplayName`]).
pub fn unpad_name(padded: &[u8]) -> Result<String, GroupError> {
    let (&len, rest) = padded.split_first().ok_or(GroupError::InvalidName)?;
    let len = usize::from(len);
    if len > MAX_NAME_LEN || padded.len() != padded_len(len) {
        return Err(GroupError::InvalidName);
    }
    let (name, pad) = rest.split_at(len);
    if pad.iter().any(|b| *b != 0) {
        return Err(GroupError::InvalidName);
    }
    let name = String::from_utf8(name.to_vec()).map_err(|_| GroupError::InvalidName)?;
    check_display_name(&name).map_err(|reason| GroupError::BadDisplayName { reason })?;
    Ok(name)
}

/// Renders untrusted text for a terminal or a log line: every character [`forbidden_char`]
/// names, and the backslash, is replaced by a visible escape, so the output holds no control,
/// bidi or invisible character and reads back unambiguously. `\n`, `\r`, `\t` and `\\` as
/// such; other ASCII controls as `\x1b` (two lowercase hex digits); everything else as
/// `\u{202e}` (lowercase hex, no leading zeros). Other characters, non-ASCII letters and emoji
/// included, pass unchanged.
pub fn escape_for_terminal(text: &str) -> String {
    Escaped(text).to_string()
}

/// A `Display` wrapper that writes its text as [`escape_for_terminal`] does, without an
/// intermediate `String`: `println!("{} joined", Escaped(name))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if forbidden_char(c).is_none() => f.write_char(c)?,
                c if u32::from(c) < 0x80 => write!(f, "\\x{:02x}", u32::from(c))?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
        }
        Ok(())
    }
}

fn roster_nonce(index: u16) -> Nonce {
    let mut n = [0u8; 12];
    n[10..].copy_from_slice(&index.to_be_bytes());
    n.into()
}

/// Bytes of the random salt a host draws for each member's name (SPEC §9.4).
pub const NAME_SALT_LEN: usize = 16;
/// Domain label of a name commitment (SPEC §8.4).
pub const NAME_COMMIT_LABEL: &[u8] = b"hush 1.0 name commit";
/// Domain label of an HPKE key hash (SPEC §8.4).
pub const HPKE_KEY_LABEL: &[u8] = b"hush 1.0 hpke key";
/// HPKE `info` label of a welcome (SPEC §8.6).
pub const WELCOME_LABEL: &[u8] = b"hush 1.0 welcome";

/// `SHA-256("hush 1.0 hpke key" || hpke_pk)`: how the roster binds a member's HPKE key.
pub fn hpke_key_hash(public: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HPKE_KEY_LABEL);
    h.update(public);
    h.finalize().into()
}

/// `SHA-256("hush 1.0 name commit" || u16(index) || identity || salt || padded_name)`: the
/// roster's commitment to a member's name. The secret salt keeps anyone who sees the roster
/// (the relay) from testing guesses of the name against it.
pub fn name_commit(
    index: u16,
    identity: &IdentityKey,
    salt: &[u8; NAME_SALT_LEN],
    padded: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(NAME_COMMIT_LABEL);
    h.update(index.to_be_bytes());
    h.update(identity.0);
    h.update(salt);
    h.update(padded);
    h.finalize().into()
}

/// Encrypts member `index`'s salt and padded name under an epoch's names key:
/// ChaCha20-Poly1305, nonce `10 zero bytes || u16(index)`, AAD the member's identity key,
/// plaintext `salt[16] || padded_name`. Deterministic: the same name sealed twice in one epoch
/// (a commit and a welcome) is the same ciphertext, so the nonce never covers two plaintexts.
pub fn seal_roster_name(
    names_key: &[u8; 32],
    index: u16,
    identity: &IdentityKey,
    salt: &[u8; NAME_SALT_LEN],
    padded: &[u8],
) -> Result<Vec<u8>, GroupError> {
    let mut msg = Zeroizing::new(Vec::with_capacity(NAME_SALT_LEN + padded.len()));
    msg.extend_from_slice(salt);
    msg.extend_from_slice(padded);
    ChaCha20Poly1305::new(&Key::from(*names_key))
        .encrypt(
            &roster_nonce(index),
            Payload {
                msg: &msg,
                aad: &identity.0,
            },
        )
        .map_err(|_| GroupError::Crypto)
}

/// Decrypts a name sealed by [`seal_roster_name`] and checks it against the roster entry's
/// commitment `commit` (`InvalidRoster` if it does not match), then the padding and the
/// character rule.
pub fn open_roster_name(
    names_key: &[u8; 32],
    index: u16,
    identity: &IdentityKey,
    ct: &[u8],
    commit: &[u8; 32],
) -> Result<String, GroupError> {
    let plain = Zeroizing::new(
        ChaCha20Poly1305::new(&Key::from(*names_key))
            .decrypt(
                &roster_nonce(index),
                Payload {
                    msg: ct,
                    aad: &identity.0,
                },
            )
            .map_err(|_| GroupError::DecryptFailed)?,
    );
    if plain.len() < NAME_SALT_LEN {
        return Err(GroupError::InvalidName);
    }
    let (salt, padded) = plain.split_at(NAME_SALT_LEN);
    let salt: &[u8; NAME_SALT_LEN] = salt.try_into().map_err(|_| GroupError::InvalidName)?;
    if name_commit(index, identity, salt, padded) != *commit {
        return Err(GroupError::InvalidRoster(
            "name does not match its commitment",
        ));
    }
    unpad_name(padded)
}

/// HPKE `info` for a join request's name: label || meeting id || joiner identity.
pub fn join_name_info(meeting: &MeetingId, identity: &IdentityKey) -> Vec<u8> {
    [JOIN_NAME_LABEL, &meeting.0, &identity.0].concat()
}

/// HPKE `info` of a welcome: `"hush 1.0 welcome"` || meeting id || u64(epoch) || u16(index)
/// || recipient identity || roster hash.
pub fn welcome_info(
    meeting: &MeetingId,
    epoch: u64,
    index: u16,
    recipient: &IdentityKey,
    roster_hash: &[u8; 32],
) -> Vec<u8> {
    [
        WELCOME_LABEL,
        &meeting.0,
        &epoch.to_be_bytes(),
        &index.to_be_bytes(),
        &recipient.0,
        roster_hash,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forbidden_characters_are_refused_by_class() {
        for c in (0x00..=0x1f).chain(0x7f..=0x9f) {
            let c = char::from_u32(c).unwrap();
            assert_eq!(forbidden_char(c), Some(NameError::Control(c)), "{c:?}");
        }
        for c in [
            '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
            '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert_eq!(forbidden_char(c), Some(NameError::Bidi(c)), "{c:?}");
        }
        for c in [
            '\u{00ad}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{2064}',
            '\u{206a}',
            '\u{feff}',
            '\u{fff9}',
            '\u{180e}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
        ] {
            assert_eq!(forbidden_char(c), Some(NameError::Invisible(c)), "{c:?}");
        }
        for c in ['\u{2028}', '\u{2029}'] {
            assert_eq!(forbidden_char(c), Some(NameError::Separator(c)));
        }
        // Ordinary text of every kind passes: letters, spaces, punctuation, emoji with their
        // variation selector, CJK, RTL letters (without bidi controls).
        for name in [
            "Alice",
            "Ålice ✓",
            "Zoë O'Brien-Smith",
            "❤️ 🎉",
            "王小明",
            "محمد",
            "",
            "a b\u{a0}c",
        ] {
            assert_eq!(check_display_name(name), Ok(()), "{name:?}");
            assert_eq!(unpad_name(&pad_name(name).unwrap()).unwrap(), name);
        }
        // The first forbidden character is the one reported.
        assert_eq!(
            check_display_name("ok\u{202e}\x1b"),
            Err(NameError::Bidi('\u{202e}'))
        );
    }

    #[test]
    fn pad_name_refuses_forbidden_characters() {
        assert_eq!(
            pad_name("alice\x1b[8m").err(),
            Some(GroupError::BadDisplayName {
                reason: NameError::Control('\x1b')
            })
        );
        assert_eq!(
            pad_name("bob\u{202e}gnp.exe").err(),
            Some(GroupError::BadDisplayName {
                reason: NameError::Bidi('\u{202e}')
            })
        );
        // Too long wins over the character check: it is checked first.
        assert_eq!(
            pad_name(&"\x07".repeat(128)).err(),
            Some(GroupError::InvalidName)
        );
    }

    #[test]
    fn padding_is_minimal_and_checked() {
        for (len, total) in [
            (0, 32),
            (30, 32),
            (31, 32),
            (32, 64),
            (63, 64),
            (64, 96),
            (127, 128),
        ] {
            assert_eq!(padded_len(len), total);
            let name = "x".repeat(len);
            let p = pad_name(&name).unwrap();
            assert_eq!(p.len(), total, "{len}-byte name");
            assert_eq!(usize::from(p[0]), len);
            assert!(p[1 + len..].iter().all(|b| *b == 0));
            assert_eq!(unpad_name(&p).unwrap(), name);
        }
        assert_eq!(
            pad_name(&"x".repeat(128)).err(),
            Some(GroupError::InvalidName)
        );
        // Non-minimal: a 5-byte name in 64 bytes.
        let mut long = vec![0u8; 64];
        long[0] = 5;
        long[1..6].copy_from_slice(b"Alice");
        assert_eq!(unpad_name(&long), Err(GroupError::InvalidName));
        assert_eq!(unpad_name(&long[..32]).unwrap(), "Alice");
        // Non-zero padding, a length beyond the block, a length above 127, empty, invalid UTF-8.
        let mut dirty = long[..32].to_vec();
        dirty[31] = 1;
        assert_eq!(unpad_name(&dirty), Err(GroupError::InvalidName));
        let mut over = vec![0u8; 32];
        over[0] = 40;
        assert_eq!(unpad_name(&over), Err(GroupError::InvalidName));
        let mut big = [b'x'; 160];
        big[0] = 128;
        assert_eq!(unpad_name(&big), Err(GroupError::InvalidName));
        assert_eq!(unpad_name(&[]), Err(GroupError::InvalidName));
        let mut bad_utf8 = vec![0u8; 32];
        bad_utf8[0] = 1;
        bad_utf8[1] = 0xff;
        assert_eq!(unpad_name(&bad_utf8), Err(GroupError::InvalidName));
        // A forbidden character that arrives padded (from a peer) is refused on unpad.
        let mut esc = vec![0u8; 32];
        esc[0] = 3;
        esc[1..4].copy_from_slice(b"a\x1bb");
        assert_eq!(
            unpad_name(&esc),
            Err(GroupError::BadDisplayName {
                reason: NameError::Control('\x1b')
            })
        );
    }

    #[test]
    fn escape_for_terminal_makes_every_dangerous_character_visible() {
        assert_eq!(escape_for_terminal("alice\x1b[8m"), "alice\\x1b[8m");
        assert_eq!(escape_for_terminal("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(escape_for_terminal("\0\x7f"), "\\x00\\x7f");
        assert_eq!(escape_for_terminal("x\u{85}y"), "x\\u{85}y");
        assert_eq!(
            escape_for_terminal("bob\u{202e}gnp.exe"),
            "bob\\u{202e}gnp.exe"
        );
        assert_eq!(
            escape_for_terminal("\u{200b}\u{200d}\u{feff}\u{2028}\u{e0041}"),
            "\\u{200b}\\u{200d}\\u{feff}\\u{2028}\\u{e0041}"
        );
        // The backslash itself is escaped, so an escape in the output is never ambiguous.
        assert_eq!(escape_for_terminal("C:\\x1b"), "C:\\\\x1b");
        // Ordinary text is unchanged.
        for s in ["Alice", "Ålice ✓", "王小明 ❤️", "محمد", ""] {
            assert_eq!(escape_for_terminal(s), s);
        }
        // The output never holds a forbidden character, whatever the input.
        let all: String = (0u32..0x3000)
            .chain(0xe0000..0xe0080)
            .filter_map(char::from_u32)
            .collect();
        let out = escape_for_terminal(&all);
        assert_eq!(check_display_name(&out), Ok(()));
        assert_eq!(format!("{}", Escaped("a\x1b")), "a\\x1b");
    }
}
