//! Error codes (SPEC §6.4): carried in `Error` messages and used as QUIC application error codes
//! when a connection is closed.
//!
//! The code space is a `u32`; unknown codes must be accepted by a receiver and shown as numbers.

/// A hush wire error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// 0x00: normal close (leave, shutdown of a client).
    pub const NO_ERROR: ErrorCode = ErrorCode(0x00);
    /// 0x01: a malformed message, an unknown type, or garbage on a stream or datagram.
    pub const PROTOCOL_VIOLATION: ErrorCode = ErrorCode(0x01);
    /// 0x02: a control message longer than the maximum.
    pub const MESSAGE_TOO_LARGE: ErrorCode = ErrorCode(0x02);
    /// 0x03: a media frame longer than the relay's maximum frame size.
    pub const FRAME_TOO_LARGE: ErrorCode = ErrorCode(0x03);
    /// 0x04: the connection exceeded its frames/s or bytes/s budget.
    pub const RATE_LIMITED: ErrorCode = ErrorCode(0x04);
    /// 0x05: the room has its maximum number of participants (sent as `Error`, not a close).
    pub const ROOM_FULL: ErrorCode = ErrorCode(0x05);
    /// 0x06: the relay has its maximum number of rooms (sent as `Error`, not a close).
    pub const TOO_MANY_ROOMS: ErrorCode = ErrorCode(0x06);
    /// 0x07: the relay has its maximum number of connections.
    pub const TOO_MANY_CONNECTIONS: ErrorCode = ErrorCode(0x07);
    /// 0x08: the receiver did not read its control messages fast enough.
    pub const SLOW_CONSUMER: ErrorCode = ErrorCode(0x08);
    /// 0x09: `Send` or `Leave` while not in a room (sent as `Error`).
    pub const NOT_IN_ROOM: ErrorCode = ErrorCode(0x09);
    /// 0x0a: `Join` while already in a room (sent as `Error`).
    pub const ALREADY_IN_ROOM: ErrorCode = ErrorCode(0x0a);
    /// 0x0b: `Send` to a participant that is not in the room (sent as `Error`).
    pub const UNKNOWN_PARTICIPANT: ErrorCode = ErrorCode(0x0b);
    /// 0x0c: the relay is shutting down.
    pub const SHUTTING_DOWN: ErrorCode = ErrorCode(0x0c);
    /// 0x0d: the peer speaks another protocol version.
    pub const VERSION_MISMATCH: ErrorCode = ErrorCode(0x0d);
    /// 0x0e: the client refuses the relay's region (geofencing policy).
    pub const REGION_REFUSED: ErrorCode = ErrorCode(0x0e);
    /// 0x0f: an internal error of the sender.
    pub const INTERNAL: ErrorCode = ErrorCode(0x0f);
    /// 0x10: the client refuses the relay's key mode (a relay that issues the keys, to a client
    /// that did not opt in to transport mode, or to a meeting that was end-to-end encrypted).
    pub const MODE_REFUSED: ErrorCode = ErrorCode(0x10);
    /// 0x11: the relay is draining (SPEC §7.11): sent in an `Error` message, not as a close
    /// code; the connection stays usable until the relay closes it with `SHUTTING_DOWN` at the
    /// end of its drain time. A client moves to another relay now.
    pub const GOING_AWAY: ErrorCode = ErrorCode(0x11);
    /// 0x12: a `Join` the relay cannot admit now because its cluster's room directory is
    /// unreachable (SPEC §15.7): sent as `Error`; try again, or another relay.
    pub const DIRECTORY_UNAVAILABLE: ErrorCode = ErrorCode(0x12);

    /// A short stable name (used in logs, the report and metric labels).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NO_ERROR => "no_error",
            ErrorCode::PROTOCOL_VIOLATION => "protocol_violation",
            ErrorCode::MESSAGE_TOO_LARGE => "message_too_large",
            ErrorCode::FRAME_TOO_LARGE => "frame_too_large",
            ErrorCode::RATE_LIMITED => "rate_limited",
            ErrorCode::ROOM_FULL => "room_full",
            ErrorCode::TOO_MANY_ROOMS => "too_many_rooms",
            ErrorCode::TOO_MANY_CONNECTIONS => "too_many_connections",
            ErrorCode::SLOW_CONSUMER => "slow_consumer",
            ErrorCode::NOT_IN_ROOM => "not_in_room",
            ErrorCode::ALREADY_IN_ROOM => "already_in_room",
            ErrorCode::UNKNOWN_PARTICIPANT => "unknown_participant",
            ErrorCode::SHUTTING_DOWN => "shutting_down",
            ErrorCode::VERSION_MISMATCH => "version_mismatch",
            ErrorCode::REGION_REFUSED => "region_refused",
            ErrorCode::INTERNAL => "internal",
            ErrorCode::MODE_REFUSED => "mode_refused",
            ErrorCode::GOING_AWAY => "going_away",
            ErrorCode::DIRECTORY_UNAVAILABLE => "directory_unavailable",
            _ => "unknown",
        }
    }

    /// Every code defined by this version, in numeric order.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::NO_ERROR,
        ErrorCode::PROTOCOL_VIOLATION,
        ErrorCode::MESSAGE_TOO_LARGE,
        ErrorCode::FRAME_TOO_LARGE,
        ErrorCode::RATE_LIMITED,
        ErrorCode::ROOM_FULL,
        ErrorCode::TOO_MANY_ROOMS,
        ErrorCode::TOO_MANY_CONNECTIONS,
        ErrorCode::SLOW_CONSUMER,
        ErrorCode::NOT_IN_ROOM,
        ErrorCode::ALREADY_IN_ROOM,
        ErrorCode::UNKNOWN_PARTICIPANT,
        ErrorCode::SHUTTING_DOWN,
        ErrorCode::VERSION_MISMATCH,
        ErrorCode::REGION_REFUSED,
        ErrorCode::INTERNAL,
        ErrorCode::MODE_REFUSED,
        ErrorCode::GOING_AWAY,
        ErrorCode::DIRECTORY_UNAVAILABLE,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (0x{:02x})", self.name(), self.0)
    }
}
