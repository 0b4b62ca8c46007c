//! Media frame transport (SPEC §6.5).
//!
//! A media frame is an opaque byte string (an SFrame frame). It travels either as the exact
//! payload of one QUIC datagram (RFC 9221) when it fits the connection's live
//! `max_datagram_size`, or on a fresh unidirectional stream: one type byte
//! [`STREAM_TYPE_MEDIA`] followed by the frame bytes up to the end of the stream.

use crate::WireError;

/// Type byte opening a unidirectional stream that carries one media frame.
pub const STREAM_TYPE_MEDIA: u8 = 0x4d;

/// Parses a complete unidirectional stream (type byte + frame) and returns the frame bytes.
pub fn parse_media_stream(stream: &[u8]) -> Result<&[u8], WireError> {
    match stream.split_first() {
        None => Err(WireError::Truncated),
        Some((&STREAM_TYPE_MEDIA, [])) => Err(WireError::Truncated),
        Some((&STREAM_TYPE_MEDIA, frame)) => Ok(frame),
        Some((&other, _)) => Err(WireError::UnknownStreamType(other)),
    }
}

/// Checks a media stream's type byte alone (a reader that streams the rest itself).
pub fn check_stream_type(b: u8) -> Result<(), WireError> {
    if b == STREAM_TYPE_MEDIA {
        Ok(())
    } else {
        Err(WireError::UnknownStreamType(b))
    }
}
