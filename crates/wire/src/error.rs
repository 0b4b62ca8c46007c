//! The decode error type (SPEC §6.4 maps each to a wire error code).

use crate::codes::ErrorCode;

/// Why a byte string is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message ended before a field was complete.
    #[error("message truncated")]
    Truncated,
    /// Bytes remained after the last field.
    #[error("{0} trailing bytes after message")]
    TrailingBytes(usize),
    /// The message body was empty (no type byte).
    #[error("empty message")]
    Empty,
    /// The type byte is not a message this side accepts.
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u8),
    /// A length prefix exceeds the allowed maximum.
    #[error("message of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Announced or actual length.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// A string field is not valid UTF-8.
    #[error("string field is not UTF-8")]
    InvalidUtf8,
    /// A room name is empty.
    #[error("room name is empty")]
    EmptyRoom,
    /// The target kind byte of a `Send` is neither 0 nor 1.
    #[error("invalid target kind 0x{0:02x}")]
    InvalidTarget(u8),
    /// The relay mode byte of a `Hello` is unknown.
    #[error("invalid relay mode 0x{0:02x}")]
    InvalidMode(u8),
    /// A `Join`'s region policy is empty, too long, or names an invalid region.
    #[error("invalid region policy in Join")]
    InvalidRegion,
    /// A media stream's type byte is unknown.
    #[error("unknown media stream type 0x{0:02x}")]
    UnknownStreamType(u8),
}

impl WireError {
    /// The wire error code a receiver closes the connection with for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            WireError::TooLarge { .. } => ErrorCode::MESSAGE_TOO_LARGE,
            _ => ErrorCode::PROTOCOL_VIOLATION,
        }
    }
}
