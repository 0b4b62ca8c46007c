//! What a client needs to join a meeting ([`MeetingConfig`]): the relay and how to trust it, the
//! room, the display name, the role, the identity, the host key to expect (SPEC §8.1, §8.9).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hush_frame::CipherSuite;
use hush_group::{Identity, IdentityKey, KemId};

use crate::error::MeetingError;
use crate::net::TrustAnchor;

pub use hush_session::{Admit, ClientRole};

/// The server name a relay is checked against when none is given: the name in the certificate
/// `hush relay` generates (with a pin, the name is not checked at all).
pub const DEFAULT_SERVER_NAME: &str = "hush-relay";

/// Everything [`crate::Meeting::join`] needs.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// The relay's UDP address.
    pub relay: SocketAddr,
    /// More relays of the same deployment, tried in order after `relay` when the current one
    /// goes away (`GOING_AWAY`, SPEC §7.11) or is lost; each is trusted by the same
    /// [`TrustAnchor`] and checked against the same region policy.
    pub alternates: Vec<SocketAddr>,
    /// How to trust the relay's certificate.
    pub trust: TrustAnchor,
    /// TLS server name of each relay, checked against its certificate with
    /// [`TrustAnchor::CaFile`] (the host name of `--relay`, or `--server-name`). A relay not in
    /// the map is named [`DEFAULT_SERVER_NAME`], the name of the relay's self-signed certificate.
    pub server_names: HashMap<SocketAddr, String>,
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
    /// Member: how long to keep using the current epoch after the relay reports the host gone,
    /// waiting for it to come back, before the meeting ends (SPEC §8.9 step 11).
    pub host_grace: Duration,
    /// Media-lane events kept for the application at most (media frames, data messages,
    /// refusals); what does not fit is dropped and counted (SPEC §11.5).
    pub event_capacity: usize,
    /// Bytes of media-lane events kept for the application at most (default 16 MiB).
    pub event_bytes: usize,
    /// Accept a relay whose `Hello` says it issues the keys itself (transport mode, SPEC §12):
    /// a meeting the relay can read. Off by default: such a relay is refused before anything is
    /// sent ([`MeetingError::TransportRefused`]). Never combined with hosting or a pinned host
    /// key, and a meeting that was end-to-end encrypted never continues on relay-issued keys
    /// after a reconnect, whatever this says ([`MeetingError::Downgrade`]).
    pub allow_transport: bool,
    /// Sender authentication (SPEC §14): sign every data message and vouch for every media
    /// frame with this client's identity key, and refuse what another member forges in someone
    /// else's name. On by default; `hush bench --mode e2ee` turns it off to measure what it
    /// costs. A client with it off sends unsigned data messages (`0xD1`), which clients with it
    /// on refuse as forgeries, and cannot tell forgeries apart itself.
    pub sender_auth: bool,
    /// Test hook (a hostile member, SPEC §14 tests): keep a copy of every other member's
    /// sending key of the current epoch so that [`crate::Meeting::forge`] can seal in their
    /// name. Never set outside tests.
    #[doc(hidden)]
    pub test_forger: bool,
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
            alternates: Vec::new(),
            trust,
            server_names: HashMap::new(),
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
            host_grace: Duration::from_secs(60),
            event_capacity: 4096,
            event_bytes: 16 << 20,
            allow_transport: false,
            sender_auth: true,
            test_forger: false,
        })
    }

    /// Checks the combination of settings: relay-issued keys (`allow_transport`) cannot go with
    /// hosting or a pinned host key, which only mean something with client-made keys.
    pub fn validate(&self) -> Result<(), MeetingError> {
        if let Some(allow) = &self.allow_regions {
            // The policy also goes to the relay in `Join` (SPEC §15.6): names it can carry.
            if allow.is_empty() || allow.len() > hush_wire::MAX_ALLOWED_REGIONS {
                return Err(MeetingError::Config(format!(
                    "allowed regions: 1..={} names, not {}",
                    hush_wire::MAX_ALLOWED_REGIONS,
                    allow.len()
                )));
            }
            if let Some(bad) = allow.iter().find(|r| !hush_wire::valid_region(r)) {
                return Err(MeetingError::Config(format!(
                    "allowed region {:?} is not 1..={} letters, digits, '.', '_', '-' or ':'",
                    hush_group::names::Escaped(bad),
                    hush_wire::MAX_REGION_NAME
                )));
            }
        }
        hush_session::Session::check(&self.session_config())
            .map_err(|e| crate::error::meeting_error(e, self.relay))
    }

    /// The TLS server name to check for the relay at `addr`.
    pub(crate) fn server_name(&self, addr: SocketAddr) -> String {
        self.server_names
            .get(&addr)
            .cloned()
            .unwrap_or_else(|| DEFAULT_SERVER_NAME.to_owned())
    }

    /// Every relay this meeting may use, `relay` first.
    pub(crate) fn relays(&self) -> Vec<SocketAddr> {
        let mut all = vec![self.relay];
        all.extend(self.alternates.iter().filter(|a| **a != self.relay));
        all
    }

    /// The meeting core's part of this configuration.
    pub(crate) fn session_config(&self) -> hush_session::SessionConfig {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        hush_session::SessionConfig {
            room: self.room.clone(),
            name: self.name.clone(),
            identity: self.identity.clone(),
            role: self.role,
            host_key: self.host_key,
            allow_transport: self.allow_transport,
            suite: self.suite,
            kem: self.kem,
            rotation_ms: ms(self.rotation),
            grace_ms: ms(self.grace),
            host_grace_ms: ms(self.host_grace),
            max_message: hush_wire::MAX_BLOB_SIZE,
        }
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
