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
                    // A connector's name is its own text: escaped, so it cannot end the line.
                    write!(f, "connector {} decrypts", hush_group::names::Escaped(n))?;
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
    /// Another party's text: escape it before printing.
    pub sender_name: Arc<str>,
    /// Sender's identity key from the epoch's host-signed roster (`None` in transport mode).
    /// Names are not unique; this is.
    pub sender_identity: Option<IdentityKey>,
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
    /// Sender's display name. Another party's text: escape it before printing.
    pub sender_name: Arc<str>,
    /// Sender's identity key from the epoch's host-signed roster (`None` in transport mode).
    /// Names are not unique; this is.
    pub sender_identity: Option<IdentityKey>,
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
    /// Member: the relay reports the host's connection gone. The current epoch's keys stay in
    /// use for at most `grace` while the host may come back (a host reconnect brings a new
    /// roster); then the meeting ends ([`MeetingEvent::Ended`]).
    HostAway {
        /// How long the meeting waits for the host.
        grace: std::time::Duration,
    },
    /// The meeting is over for this client: removed by the host, the host gone for good, or a
    /// relay that now wants to issue the keys of an end-to-end encrypted meeting. Every key is
    /// erased; no more events follow.
    Ended(EndReason),
}

/// Why a meeting ended for this client ([`MeetingEvent::Ended`]); its `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The host's new roster no longer lists this client.
    Removed,
    /// The relay reported the host gone and no roster came within the grace.
    HostGone {
        /// How long the client waited.
        waited: std::time::Duration,
    },
    /// The relay now issues the keys of a meeting that was end-to-end encrypted, or a relay in
    /// transport mode was reached without opting in (SPEC §12.5).
    Downgrade(String),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Removed => f.write_str("removed from the meeting by the host"),
            EndReason::HostGone { waited } if waited.subsec_millis() == 0 => write!(
                f,
                "the host left the room and did not come back within {} s",
                waited.as_secs()
            ),
            EndReason::HostGone { waited } => write!(
                f,
                "the host left the room and did not come back within {} ms",
                waited.as_millis()
            ),
            EndReason::Downgrade(why) => f.write_str(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_connector_name_cannot_end_the_status_line() {
        let s = E2eeStatus::Connectors(vec!["phone".into(), "rec\ne2ee: on\x1b[8m".into()]);
        let line = s.to_string();
        assert_eq!(
            line,
            "e2ee: off (connector phone decrypts, connector rec\\ne2ee: on\\x1b[8m decrypts)"
        );
        assert!(!line.chars().any(char::is_control));
        assert_eq!(
            E2eeStatus::Connectors(vec!["phone".into()]).to_string(),
            "e2ee: off (connector phone decrypts)"
        );
    }
}
