//! What a client needs to join a meeting ([`MeetingConfig`]): the relay and how to trust it, the
//! room, the display name, the role, the identity, the host key to expect (SPEC §8.1, §8.9).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hush_frame::CipherSuite;
use hush_group::{Identity, IdentityKey, KemId};

use crate::error::MeetingError;
use crate::net::TrustAnchor;

/// How a host decides on join requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admit {
    /// Admit every participant who asks (connectors only with `admit_connectors`).
    Auto,
    /// Emit [`crate::MeetingEvent::AdmissionRequest`] and wait for [`crate::Meeting::admit`].
    Ask,
}

/// The role this client takes in the meeting.
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

/// Everything [`crate::Meeting::join`] needs.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// The relay's UDP address.
    pub relay: SocketAddr,
    /// How to trust the relay's certificate.
    pub trust: TrustAnchor,
    /// Room name (1..=255 bytes).
    pub room: String,
    /// Display name (at most 127 bytes of UTF-8); end-to-end encrypted, never seen by the relay.
    pub name: String,
    /// Role.
    pub role: ClientRole,
    /// Long-term identity (see [`load_identity`] and [`ephemeral_identity`]).
    pub identity: Identity,
    /// Only accept rosters signed by this host key; `None` pins the first host seen (TOFU).
    pub host_key: Option<IdentityKey>,
    /// Regions the client accepts (claim C6); `None` accepts any.
    pub allow_regions: Option<Vec<String>>,
    /// SFrame cipher suite (used when hosting; members follow the suite in the signed roster).
    pub suite: CipherSuite,
    /// HPKE KEM (used when hosting; members follow the roster's KEM).
    pub kem: KemId,
    /// Epoch rotation interval when hosting.
    pub rotation: Duration,
    /// How long old epochs' receive keys survive a new epoch (frames in flight).
    pub grace: Duration,
    /// After a lost connection, keep retrying for this long before giving up.
    pub reconnect_for: Duration,
    /// Capacity of the event channel; media events that do not fit are dropped and counted.
    pub event_capacity: usize,
}

impl MeetingConfig {
    /// A configuration with defaults: guest, ephemeral identity, TOFU host key, any region,
    /// this CPU's default suite, X25519, 5-minute rotation, 2 s grace, 30 s reconnect.
    pub fn new(
        relay: SocketAddr,
        trust: TrustAnchor,
        room: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, MeetingError> {
        Ok(MeetingConfig {
            relay,
            trust,
            room: room.into(),
            name: name.into(),
            role: ClientRole::Guest,
            identity: ephemeral_identity()?,
            host_key: None,
            allow_regions: None,
            suite: CipherSuite::default_for_this_cpu(),
            kem: KemId::X25519,
            rotation: Duration::from_millis(hush_group::DEFAULT_ROTATION_MS),
            grace: Duration::from_millis(hush_group::DEFAULT_GRACE_MS),
            reconnect_for: Duration::from_secs(30),
            event_capacity: 4096,
        })
    }

    /// Sets the role.
    #[must_use]
    pub fn with_role(mut self, role: ClientRole) -> Self {
        self.role = role;
        self
    }

    /// Sets the identity.
    #[must_use]
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }
}

/// A fresh identity from the operating system's randomness, for this session only.
pub fn ephemeral_identity() -> Result<Identity, MeetingError> {
    let mut rng = crate::rng::os_rng()?;
    Ok(Identity::generate(&mut rng))
}

/// Reads an identity file (SPEC §8.1, written by `hush identity new`).
pub fn load_identity(path: &Path) -> Result<Identity, MeetingError> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| MeetingError::Identity(format!("cannot read {}: {e}", path.display())))?,
    );
    Identity::from_file_str(&text)
        .map_err(|e| MeetingError::Identity(format!("{}: {e}", path.display())))
}
