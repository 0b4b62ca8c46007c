//! What a meeting reports about itself: the end-to-end status line every client prints
//! ([`E2eeStatus`], SPEC §11.5, §12, §13), a join request waiting for the host
//! ([`AdmissionRequest`]), why something received was refused ([`Refusal`]) and why a meeting
//! ended ([`EndReason`]).

use std::fmt;

use hush_group::{GroupError, IdentityKey, Role};

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
            hush_group::E2ee::On => E2eeStatus::On,
            hush_group::E2ee::Off { connectors } => E2eeStatus::Connectors(connectors),
            // A status this version does not know is never shown as "on".
            #[allow(unreachable_patterns)]
            _ => E2eeStatus::Connectors(vec!["(unknown)".to_owned()]),
        }
    }
}

/// A join request waiting for the host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRequest {
    /// The joiner's relay participant id: pass it back to admit or deny.
    pub relay_id: u64,
    /// The joiner's identity key.
    pub identity: IdentityKey,
    /// Its display name (decrypted by the host). Another party's text: escape it to print it.
    pub name: String,
    /// Participant or connector.
    pub role: Role,
}

impl AdmissionRequest {
    /// The first 8 hex digits of the identity key (a per-message tag; prompts show
    /// [`IdentityKey::fingerprint`] in full, SPEC §8.10).
    pub fn short_id(&self) -> String {
        self.identity.to_hex().chars().take(8).collect()
    }
}

/// Why a key service message (`Issued`, transport mode) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuedRefusal {
    /// It does not decode (SPEC §12.2).
    #[error(transparent)]
    Decode(#[from] hush_group::issued::DecodeError),
    /// An older epoch of the meeting whose keys this client holds.
    #[error("epoch {got} older than {current}")]
    Stale {
        /// The epoch it names.
        got: u64,
        /// The epoch held.
        current: u64,
    },
    /// Its keys cannot be derived or installed.
    #[error(transparent)]
    Keys(#[from] GroupError),
    /// Its suite or key is refused by the frame layer.
    #[error(transparent)]
    Frame(#[from] hush_frame::FrameError),
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
    KeyService(IssuedRefusal),
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

/// Why a meeting ended for this participant; its `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The host's new roster no longer lists this participant.
    Removed,
    /// The relay reported the host gone and no roster came within the grace.
    HostGone {
        /// How long the participant waited.
        waited: std::time::Duration,
    },
    /// The relay now issues the keys of a meeting that was end-to-end encrypted, or a relay in
    /// transport mode was reached without opting in (SPEC §12.5).
    Downgrade(String),
    /// The host refused this participant's join request (a host-signed denial, SPEC §8.8.1).
    Denied(hush_group::DenyReason),
    /// Host: the room already has a host with another identity (it answered with a roster it
    /// signed); hosting too would split the meeting in two.
    HostExists {
        /// The other host's identity fingerprint.
        fingerprint: String,
    },
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
            EndReason::Denied(hush_group::DenyReason::ConnectorNeedsConsent) => f.write_str(
                "the host refused this connector: it admits connectors only with consent (ask \
                 the host to run with --admit-connectors, or with --admit ask and say yes)",
            ),
            EndReason::Denied(_) => f.write_str("denied by the host"),
            EndReason::HostExists { fingerprint } => write!(
                f,
                "the room already has a host ({fingerprint}): join without --host, or host \
                 with that host's identity file"
            ),
        }
    }
}

/// A group message that was not sent ([`crate::Event::SendFailed`]); its `Display` is one line,
/// e.g. `commit (300012 bytes) to everyone: larger than the 262144 bytes the relay forwards`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendFailure {
    /// Who it was for.
    pub to: hush_wire::Target,
    /// Its message type (SPEC §8.1; 0 if it had none).
    pub msg_type: u8,
    /// Its size.
    pub bytes: usize,
    /// Why it was not sent.
    pub reason: String,
}

impl SendFailure {
    /// The message's name, from its type byte.
    pub fn what(&self) -> &'static str {
        use hush_group::message::msg_type as t;
        match self.msg_type {
            t::HELLO => "hello",
            t::ROSTER => "roster",
            t::JOIN_REQUEST => "join request",
            t::EPOCH_KEY => "epoch key",
            t::LEAVE => "leave",
            t::REKEY_REQUEST => "rekey request",
            t::DENIED => "denial",
            t::COMMIT => "commit",
            t::WELCOME => "welcome",
            _ => "message",
        }
    }
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes) to ", self.what(), self.bytes)?;
        match self.to {
            hush_wire::Target::Participant(id) => write!(f, "participant {}", id.0)?,
            _ => f.write_str("everyone")?,
        }
        write!(f, ": {}", self.reason)
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
