//! What one participant's meeting core needs ([`SessionConfig`]): who it is, the room, its
//! role and admission policy, the host key to expect, whether relay-issued keys are acceptable,
//! and the timers (SPEC §8.8, §8.9, §12.5).

use hush_frame::CipherSuite;
use hush_group::{Identity, IdentityKey, KemId};

/// How a host decides on join requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admit {
    /// Admit every participant who asks (connectors only with `admit_connectors`).
    Auto,
    /// Report an admission request and wait for the host's answer.
    Ask,
}

/// The role this participant takes in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientRole {
    /// Start the meeting: hold the epoch secret, admit joiners, sign rosters.
    Host {
        /// Admission policy.
        admit: Admit,
        /// In [`Admit::Auto`], also admit connectors (bridges that decrypt, SPEC §13).
        admit_connectors: bool,
    },
    /// An ordinary participant.
    Guest,
    /// A bridge that decrypts for a non-E2EE endpoint; every client shows it (SPEC §13).
    Connector,
}

impl ClientRole {
    /// True for [`ClientRole::Host`].
    pub fn is_host(&self) -> bool {
        matches!(self, ClientRole::Host { .. })
    }
}

/// Everything a [`crate::Session`] needs. Times are milliseconds.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Room name the relay routes by (enters every signature, SPEC §8.2).
    pub room: String,
    /// Display name (end-to-end encrypted).
    pub name: String,
    /// Long-term identity.
    pub identity: Identity,
    /// Role.
    pub role: ClientRole,
    /// Only accept rosters signed by this host key; `None` pins the first host seen (TOFU).
    pub host_key: Option<IdentityKey>,
    /// Relay-issued keys are acceptable (transport mode, SPEC §12.5).
    pub allow_transport: bool,
    /// SFrame cipher suite (hosting).
    pub suite: CipherSuite,
    /// HPKE KEM (hosting).
    pub kem: KemId,
    /// Epoch rotation interval (hosting).
    pub rotation_ms: u64,
    /// How long old epochs' receive keys survive a new epoch.
    pub grace_ms: u64,
    /// Member: how long to keep the epoch after the host left, waiting for it (SPEC §8.9).
    pub host_grace_ms: u64,
    /// Largest group message this participant sends (bytes; default
    /// [`hush_wire::MAX_BLOB_SIZE`], what the relay forwards). A larger one is not sent: the
    /// session reports [`crate::Event::SendFailed`] instead.
    pub max_message: usize,
}
