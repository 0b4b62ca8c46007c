//! hush-wire: the client ↔ relay wire protocol, as a sans-IO codec (SPEC §6).
//!
//! Nothing here does I/O or cryptography. The relay and the client both use these types to turn
//! bytes read from a QUIC stream into typed messages and back:
//!
//! - [`control`]: the length-prefixed control messages carried on the one bidirectional stream
//!   per connection (opened by the relay), in both directions.
//! - [`codes`]: the error codes used in `Error` messages and as QUIC application close codes.
//! - [`media`]: how media frames travel (QUIC datagrams, or one unidirectional stream per frame).
//! - [`reader`]: the byte reader every hush codec decodes with (this crate's, hush-group's, …).
//! - [`sync`]: the poison-tolerant lock helpers every hush crate above this one uses.
//!
//! Decoding is total: any byte string decodes to a message or a typed [`WireError`], never a
//! panic, and trailing bytes are rejected.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codes;
pub mod control;
mod error;
pub mod media;
pub mod peer;
pub mod reader;
pub mod sframe_header;
pub mod sync;

pub use codes::ErrorCode;
pub use control::{
    ClientMessage, MAX_ALLOWED_REGIONS, MAX_REGION_NAME, RelayLimits, RelayMessage, valid_region,
};
pub use error::WireError;

/// ALPN protocol id negotiated in the TLS handshake (SPEC §6.1).
pub const ALPN: &[u8] = b"hush/1";

/// Wire protocol version carried in `Hello` (SPEC §6.3).
pub const PROTOCOL_VERSION: u16 = 1;

/// Default (and maximum) size of one media frame in bytes: 256 KiB (SPEC §6.5).
pub const MAX_FRAME_SIZE: usize = 256 * 1024;

/// Maximum size of an opaque blob in `Send`/`Deliver` (SPEC §6.3).
pub const MAX_BLOB_SIZE: usize = 256 * 1024;

/// Maximum size of a control message body (type byte and fields, without the length prefix).
pub const MAX_CONTROL_SIZE: usize = MAX_BLOB_SIZE + 64;

/// Maximum length in bytes of a room name (UTF-8, non-empty).
pub const MAX_ROOM_NAME: usize = 255;

/// Maximum length in bytes of an error reason (UTF-8).
pub const MAX_REASON: usize = 1024;

/// An opaque participant id assigned by the relay, unique within a room's life (SPEC §6.2).
///
/// Id 0 ([`ParticipantId::RELAY`]) is reserved for the relay itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

impl ParticipantId {
    /// The relay itself (e.g. transport mode's key service speaks as id 0).
    pub const RELAY: ParticipantId = ParticipantId(0);
}

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// How a relay handles keys, advertised in `Hello` (SPEC §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RelayMode {
    /// Keys are made by clients and never reach the relay (code 0).
    E2ee,
    /// A key service beside the relay issues the keys; the relay can decrypt (code 1).
    Transport,
}

impl RelayMode {
    /// The byte used on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            RelayMode::E2ee => 0,
            RelayMode::Transport => 1,
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Result<Self, WireError> {
        match b {
            0 => Ok(RelayMode::E2ee),
            1 => Ok(RelayMode::Transport),
            other => Err(WireError::InvalidMode(other)),
        }
    }
}

impl std::fmt::Display for RelayMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RelayMode::E2ee => "e2ee",
            RelayMode::Transport => "transport",
        })
    }
}

/// Who an opaque blob is addressed to (SPEC §6.3, `Send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// Every other participant of the room.
    All,
    /// One participant (id 0 addresses the relay's hook, e.g. a transport-mode key service).
    Participant(ParticipantId),
}
