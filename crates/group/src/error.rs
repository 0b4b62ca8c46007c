//! Errors of hush-group: one enum for protocol faults ([`GroupError`]) and one for bytes that do
//! not parse ([`DecodeError`]). Peer faults and local misuse are separate variants so a caller can
//! tell "the relay or a peer misbehaved" from "I called this in the wrong state".

/// A message that could not be parsed (SPEC §8.2). Decoding is total: any byte string gives a
/// message or one of these, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message ended before a field was complete.
    #[error("message truncated")]
    Truncated,
    /// Bytes were left after the last field.
    #[error("trailing bytes after message")]
    TrailingBytes,
    /// The version byte is not one this implementation speaks.
    #[error("unsupported message version {0}")]
    UnsupportedVersion(u8),
    /// The type byte names no known message.
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u8),
    /// A role byte is not host, participant or connector.
    #[error("unknown role {0}")]
    UnknownRole(u8),
    /// A KEM id is not one hush supports.
    #[error("unknown KEM id 0x{0:04x}")]
    UnknownKem(u16),
    /// Reserved flag bits were set.
    #[error("reserved flag bits set")]
    ReservedFlags,
    /// A public key or encapsulation has the wrong length for its KEM.
    #[error("field has the wrong length for its type")]
    BadLength,
    /// A denial's reason byte names no known reason.
    #[error("unknown denial reason {0}")]
    UnknownDenyReason(u8),
}

/// Why a message or an operation was refused (SPEC §8, §9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The bytes do not parse.
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    /// A signature does not verify under the key it claims.
    #[error("signature does not verify")]
    BadSignature,
    /// The message belongs to a different meeting (meeting id or room).
    #[error("message is for a different meeting")]
    WrongMeeting,
    /// A roster or key is signed by a key other than the expected or pinned host key.
    #[error("signed by a key that is not this meeting's host")]
    UnexpectedHost,
    /// A roster for an epoch older than the current one (replay or rollback).
    #[error("roster epoch {got} is older than current epoch {current}")]
    EpochRollback {
        /// Epoch of the refused roster.
        got: u64,
        /// Epoch the member currently holds.
        current: u64,
    },
    /// Two different rosters for the same epoch (equivocation or tampering).
    #[error("a different roster for epoch {epoch} was already accepted")]
    EpochConflict {
        /// The epoch seen twice with different content.
        epoch: u64,
    },
    /// A signed roster that breaks a structural rule of SPEC §8.4.
    #[error("invalid roster: {0}")]
    InvalidRoster(&'static str),
    /// An epoch key for an epoch whose roster this member does not hold.
    #[error("epoch key for epoch {epoch} without its roster")]
    KeyWithoutRoster {
        /// Epoch named by the key message.
        epoch: u64,
    },
    /// An epoch key addressed to another member.
    #[error("epoch key is addressed to another member")]
    NotForMe,
    /// A denial of another member's request, of an earlier request, or after admission.
    #[error("denial is not of this member's pending join request")]
    StaleDenial,
    /// An epoch key that binds a roster hash other than the roster held for its epoch.
    #[error("epoch key does not match the roster of its epoch")]
    RosterHashMismatch,
    /// The secret a member derived or unwrapped is not the one the host's commit confirms.
    #[error("the secret of epoch {epoch} does not match the host's commit")]
    ConfirmMismatch {
        /// The epoch.
        epoch: u64,
    },
    /// HPKE or AEAD decryption failed (wrong key or tampered ciphertext).
    #[error("decryption failed")]
    DecryptFailed,
    /// A message uses a KEM other than the meeting's.
    #[error("KEM does not match the meeting's")]
    KemMismatch,
    /// This member has been removed from the meeting; it holds no keys any more.
    #[error("removed from the meeting")]
    Removed,
    /// No valid roster from the host has been seen yet, so there is no host key to encrypt to.
    #[error("no roster from the host yet")]
    NoHostYet,
    /// This member is not (yet) in the roster, so it cannot sign leave or rekey requests.
    #[error("not a member of the current epoch")]
    NotJoined,
    /// The meeting is locked and the joiner's identity is new to it.
    #[error("meeting is locked")]
    Locked,
    /// A connector can only be admitted with explicit consent (`Host::admit_connector`).
    #[error("connector requires explicit consent")]
    ConnectorNeedsConsent,
    /// A join request whose nonce was already seen in this meeting (replay).
    #[error("replayed join request")]
    ReplayedJoin,
    /// A leave or rekey request from an identity that is not in the current roster.
    #[error("sender is not a member")]
    NotAMember,
    /// A leave or rekey request for an epoch that does not apply any more.
    #[error("stale request")]
    StaleRequest,
    /// A message this side never accepts (e.g. a roster sent to the host).
    #[error("unexpected message")]
    UnexpectedMessage,
    /// The roster already holds the maximum number of members.
    #[error("meeting is full")]
    Full,
    /// A display name longer than SPEC §8.5 allows, not valid UTF-8, or not padded exactly as
    /// SPEC §8.5 says (minimal length, zero padding).
    #[error("invalid display name")]
    InvalidName,
    /// A display name holding a character SPEC §8.5 forbids (a control, bidi, invisible format
    /// or line-separator character): refused in the joiner's own name, in a join request at the
    /// host, and in any roster entry at members.
    #[error("display name refused: {reason}")]
    BadDisplayName {
        /// The first forbidden character and its class.
        reason: NameError,
    },
    /// An HPKE public key that is not valid for its KEM (SPEC §8.3): a small-order X25519
    /// point, or an X-Wing key whose ML-KEM part fails the FIPS 203 modulus check or whose
    /// X25519 part is a small-order point. Refused in join requests (before the waiting room)
    /// and in roster entries.
    #[error("invalid HPKE public key")]
    InvalidHpkeKey,
    /// The epoch counter reached 2^48 - 1 (SPEC §9.2); the meeting must be restarted.
    #[error("epoch space exhausted")]
    EpochExhausted,
    /// An HPKE operation failed locally (not a peer fault).
    #[error("HPKE operation failed")]
    Crypto,
}

/// Why a display name is refused (SPEC §8.5): the first forbidden character, by class. Every
/// variant carries the offending character; `Display` names it as `U+XXXX`, never raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// A control character (general category Cc): C0 U+0000-U+001F, DEL U+007F, C1
    /// U+0080-U+009F. Terminal escape sequences start with one (ESC, CSI).
    #[error("control character U+{:04X}", u32::from(*.0))]
    Control(char),
    /// A bidirectional formatting character: embeddings and overrides U+202A-U+202E, isolates
    /// U+2066-U+2069, marks U+200E, U+200F, U+061C. They reorder the text shown after them.
    #[error("bidirectional control U+{:04X}", u32::from(*.0))]
    Bidi(char),
    /// Any other invisible format character (general category Cf), e.g. zero-width U+200B-U+200D,
    /// U+FEFF, soft hyphen U+00AD, tags U+E0000-U+E007F.
    #[error("invisible format character U+{:04X}", u32::from(*.0))]
    Invisible(char),
    /// A line or paragraph separator, U+2028 or U+2029 (a line break in many renderers).
    #[error("line or paragraph separator U+{:04X}", u32::from(*.0))]
    Separator(char),
}
