//! Errors of the meeting layer. Local faults (not ready, closed) are kept apart from what the
//! network, the group layer or the frame layer reported.

use crate::net::NetError;

/// Why a meeting operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeetingError {
    /// The network layer failed (connect, region policy, relay refusal, send).
    #[error(transparent)]
    Net(#[from] NetError),
    /// The group layer refused a local operation (e.g. a display name too long).
    #[error("group: {0}")]
    Group(#[from] hush_group::GroupError),
    /// The frame layer refused (e.g. a key exhausted, a frame too large).
    #[error("frame: {0}")]
    Frame(#[from] hush_frame::FrameError),
    /// No epoch key yet: this client does not hold a host-signed roster with keys, so it must
    /// not seal (SPEC §11.4). Wait for [`crate::MeetingEvent::RosterChanged`] or use
    /// [`crate::Meeting::wait_ready`].
    #[error("not ready: no epoch key yet (waiting for the host's signed roster)")]
    NotReady,
    /// The operation needs the host role.
    #[error("only the host can do this")]
    NotHost,
    /// No pending admission for that relay id.
    #[error("no pending join request from participant {0}")]
    NoSuchRequest(u64),
    /// A data message payload exceeds what one blob can carry.
    #[error("data payload of {0} bytes exceeds the maximum of {max}", max = crate::blob::MAX_DATA_PAYLOAD)]
    DataTooLarge(usize),
    /// A file to send was refused (e.g. its name is empty or over 255 bytes).
    #[error("file: {0}")]
    File(#[from] crate::file::FileError),
    /// The identity file could not be read or parsed.
    #[error("identity: {0}")]
    Identity(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The meeting has ended (left, removed, or the connection was lost for good).
    #[error("the meeting has ended")]
    Closed,
    /// The relay's `Hello` says it issues the meeting's keys itself (transport mode), and this
    /// client did not ask for that ([`crate::MeetingConfig::allow_transport`]). Nothing was sent.
    #[error(
        "relay {relay} issues its own keys (transport mode); refusing: pass --allow-transport to \
         accept a meeting the relay can read"
    )]
    TransportRefused {
        /// The relay's address.
        relay: std::net::SocketAddr,
    },
    /// After a reconnect the relay offered relay-issued keys to a meeting that was end-to-end
    /// encrypted: the meeting stops instead of continuing on keys the relay holds.
    #[error(
        "relay {relay} now issues its own keys (transport mode) for a meeting that was \
         end-to-end encrypted; refusing to continue on keys the relay can read"
    )]
    Downgrade {
        /// The relay's address.
        relay: std::net::SocketAddr,
    },
    /// The configuration is contradictory.
    #[error("configuration: {0}")]
    Config(String),
    /// Reading the content of a file being sent failed (or it ended before its size).
    #[error("reading the file to send: {0}")]
    Read(#[source] std::io::Error),
    /// A wait timed out.
    #[error("timed out")]
    Timeout,
}

/// A core refusal as the library's error, naming the relay where it matters.
pub(crate) fn meeting_error(
    e: hush_session::SessionError,
    relay: std::net::SocketAddr,
) -> MeetingError {
    match e {
        hush_session::SessionError::Group(e) => MeetingError::Group(e),
        hush_session::SessionError::NotHost => MeetingError::NotHost,
        hush_session::SessionError::NoSuchRequest(id) => MeetingError::NoSuchRequest(id),
        hush_session::SessionError::RelayKeys { downgrade: true } => {
            MeetingError::Downgrade { relay }
        }
        hush_session::SessionError::RelayKeys { .. } => MeetingError::TransportRefused { relay },
        hush_session::SessionError::Config(why) => MeetingError::Config(why.to_owned()),
        _ => MeetingError::NotReady,
    }
}
