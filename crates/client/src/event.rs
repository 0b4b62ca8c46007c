//! What a meeting reports to the application ([`MeetingEvent`]) and the end-to-end status line
//! every client prints ([`E2eeStatus`], SPEC §11.5, §12, §13).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use hush_group::{GroupError, IdentityKey, Role, RosterView};

use crate::blob::DataKind;

/// Whether the meeting is end-to-end encrypted right now. Its `Display` is the exact line
/// `hush join` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum E2eeStatus {
    /// Keys made by clients, held by the roster's participants only: `e2ee: on`.
    On,
    /// Connectors in the roster decrypt: `e2ee: off (connector A decrypts, connector B decrypts)`.
    Connectors(Vec<String>),
    /// Transport mode: `e2ee: off (keys issued by the relay)`.
    KeysIssuedByRelay,
}

impl fmt::Display for E2eeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            E2eeStatus::On => f.write_str("e2ee: on"),
            E2eeStatus::Connectors(names) => {
                f.write_str("e2ee: off (")?;
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "connector {n} decrypts")?;
                }
                f.write_str(")")
            }
            E2eeStatus::KeysIssuedByRelay => f.write_str("e2ee: off (keys issued by the relay)"),
        }
    }
}

impl From<hush_group::E2ee> for E2eeStatus {
    fn from(s: hush_group::E2ee) -> Self {
        match s {
            hush_group::E2ee::Off { connectors } => E2eeStatus::Connectors(connectors),
            _ => E2eeStatus::On,
        }
    }
}

/// A decrypted media frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// Sender's index in the epoch's roster.
    pub sender: u16,
    /// Sender's display name (decrypted from the roster; `#<index>` in transport mode).
    pub sender_name: Arc<str>,
    /// Epoch the frame was sealed in.
    pub epoch: u64,
    /// SFrame counter.
    pub ctr: u64,
    /// The plaintext.
    pub payload: Bytes,
}

/// A decrypted data message (chat, reaction, poll, file chunk; SPEC §11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    /// Sender's index in the epoch's roster.
    pub sender: u16,
    /// Sender's display name.
    pub sender_name: Arc<str>,
    /// Epoch the message was sealed in.
    pub epoch: u64,
    /// Kind byte.
    pub kind: DataKind,
    /// Payload after the kind byte.
    pub payload: Bytes,
}

/// A join request waiting for the host's answer ([`crate::Meeting::admit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRequest {
    /// The joiner's relay participant id: pass it to [`crate::Meeting::admit`].
    pub relay_id: u64,
    /// The joiner's identity key.
    pub identity: IdentityKey,
    /// Its display name (decrypted by the host).
    pub name: String,
    /// Participant or connector.
    pub role: Role,
}

impl AdmissionRequest {
    /// The first 8 hex digits of the identity key, for prompts.
    pub fn short_id(&self) -> String {
        self.identity.to_hex().chars().take(8).collect()
    }
}

/// Why something received was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The group layer refused a roster, key or request (forged, replayed, injected...).
    Group(GroupError),
    /// A sealed data message did not open.
    Data(hush_frame::FrameError),
    /// A blob whose sender and first byte match no class of SPEC §11.1.
    UnknownBlob,
    /// A key service message that does not decode or does not apply.
    KeyService(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Group(e) => write!(f, "group message refused: {e}"),
            Refusal::Data(e) => write!(f, "data message refused: {e}"),
            Refusal::UnknownBlob => f.write_str("unknown blob refused"),
            Refusal::KeyService(e) => write!(f, "key service message refused: {e}"),
        }
    }
}

/// Something that happened in the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MeetingEvent {
    /// A new epoch's roster is in force (this client holds its keys).
    RosterChanged(RosterView),
    /// The security code changed (SPEC §10).
    SecurityCode(String),
    /// The end-to-end status changed.
    E2ee(E2eeStatus),
    /// A media frame opened.
    Media(MediaFrame),
    /// A data message opened.
    Data(DataMessage),
    /// Host, [`crate::Admit::Ask`]: someone asks to join.
    AdmissionRequest(AdmissionRequest),
    /// A received message was refused (and counted).
    Refused {
        /// Relay id of the sender (0: the relay).
        from: u64,
        /// Why.
        reason: Refusal,
    },
    /// The host removed this client from the roster; every key is erased.
    Removed,
    /// The connection to the relay dropped.
    Disconnected {
        /// Why.
        reason: String,
        /// True if the client is trying to reconnect; false when the meeting is over.
        reconnecting: bool,
    },
    /// The client reconnected and rejoined the room (keys follow with the next roster).
    Reconnected,
}
