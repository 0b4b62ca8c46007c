//! hush-group: the sans-IO key and roster core of hush (SPEC §8, §9, §10).
//!
//! - [`Identity`]: a long-term Ed25519 key; its public key is the identity (SPEC §8.1).
//! - [`Host`]: admits joiners (a cryptographic waiting room), removes, locks, rotates; every
//!   change starts an epoch: a host-signed [`Commit`] of the changes to everyone, the full
//!   [`Roster`] and a [`Welcome`] to each joiner, and, when the secret is fresh (anyone left),
//!   the secret wrapped to each member under its wrap key ([`EpochKey`]); with additions only
//!   the secret is ratcheted. What the relay fans out per epoch grows O(N).
//! - [`Member`]: verifies rosters and keys against the pinned host key and yields [`Event`]s:
//!   the SFrame key material of each epoch ([`SenderSecret`]), the security code, the E2EE status.
//!
//! No sockets, no clock, no global randomness: bytes, `now_ms` and a `rand_core::CryptoRng` are
//! passed in, so every test is deterministic. The crate does not depend on hush-frame: SFrame
//! keys leave it as plain data.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod code;
mod codec;
pub mod epoch_msg;
mod error;
mod host;
mod identity;
pub mod issued;
pub mod kat;
mod kem;
mod member;
pub mod message;
pub mod names;
pub mod schedule;
pub mod sender_auth;

pub use code::{roster_hash, security_code};
pub use error::{DecodeError, GroupError, NameError};
pub use host::{
    DEFAULT_ROTATION_MS, Host, HostConfig, HostInput, MAX_MEMBERS, Outgoing, PendingJoin, Step,
};
pub use identity::{
    FINGERPRINT_LEN, IDENTITY_FILE_HEADER, Identity, IdentityFileError, IdentityKey,
};
pub use kem::{HpkeKeyPair, KemId, X25519_SMALL_ORDER, XWING_MLKEM_PK_LEN};
pub use member::{DEFAULT_GRACE_MS, E2ee, Event, Member, MemberConfig, MemberInfo, RosterView};
pub use message::{
    Commit, Denial, DenyReason, EpochKey, JoinRequest, Message, Role, Roster, RosterEntry,
    SealedName, Signed, Welcome,
};
pub use rand_core;
pub use schedule::{EpochSecret, MAX_EPOCH, SenderSecret, WrapKey, kid, split_kid};
pub use zeroize::Zeroizing;

/// The operating system's random number generator, for callers that are not tests (the CLI and
/// the client). Panics only if the OS cannot provide randomness at all.
pub fn os_rng() -> impl rand_core::CryptoRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// A meeting id: 16 random bytes chosen by the host when the meeting starts (SPEC §8.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeetingId(pub [u8; 16]);

impl std::fmt::Debug for MeetingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MeetingId({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for MeetingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}
