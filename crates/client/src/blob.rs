//! Data messages (SPEC §11.2). Blobs are classified by the meeting core
//! ([`hush_session::blob`], SPEC §11.1); the class bytes are re-exported here.
//!
//! A data message's SFrame plaintext is `kind (1 byte) ‖ payload`, sealed with the sender's
//! media key and counter space, with the SFrame metadata (AAD) [`DATA_AAD`], so a relay cannot
//! turn a data message into a media frame or back.

use bytes::BytesMut;
use hush_frame::FrameBuffer;

pub use hush_session::blob::{CLASS_DATA, CLASS_GROUP, CLASS_ISSUED, CLASS_SIGNED_DATA};
/// SFrame metadata (authenticated, not sent) of every data message.
pub const DATA_AAD: &[u8] = b"hush 1.0 data";
/// SFrame metadata of every signed data message (SPEC §14.3): a relay that turns `0xD2` into
/// `0xD1` (or back) makes the message fail to open.
pub const SIGNED_DATA_AAD: &[u8] = b"hush 1.0 signed data";
/// Largest SFrame overhead: a 17-byte header and a 16-byte tag.
const SFRAME_OVERHEAD: usize = 17 + 16;
/// Largest data payload: a blob holds the class byte, the SFrame overhead, the kind byte and
/// (sender authentication, SPEC §14.3) a 64-byte signature.
pub const MAX_DATA_PAYLOAD: usize =
    hush_wire::MAX_BLOB_SIZE - 1 - SFRAME_OVERHEAD - 1 - hush_group::sender_auth::SIGNATURE_LEN;

/// The kind byte of a data message (SPEC §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataKind {
    /// A chat message, UTF-8. Wire value `0x01`.
    Chat,
    /// A reaction (e.g. one emoji), UTF-8. Wire value `0x02`.
    Reaction,
    /// A poll or a vote, application-defined bytes. Wire value `0x03`.
    Poll,
    /// The next chunk of a file transfer: transfer id, then bytes (SPEC §11.2.1, [`crate::file`]).
    /// Wire value `0x04`.
    FileChunk,
    /// The start of a file transfer: transfer id, size, file name. Wire value `0x05`.
    FileStart,
    /// The end of a file transfer: transfer id, SHA-256 of the content. Wire value `0x06`.
    FileEnd,
    /// A sender's vouch for its media frames (SPEC §14.2). Wire value `0x07`. Consumed by the
    /// receive path, never delivered.
    Vouch,
    /// Any other kind byte (`0x00` and `0x08..=0xFF`), delivered as is.
    Other(u8),
}

impl DataKind {
    /// The wire byte.
    pub fn to_u8(self) -> u8 {
        match self {
            DataKind::Chat => 0x01,
            DataKind::Reaction => 0x02,
            DataKind::Poll => 0x03,
            DataKind::FileChunk => 0x04,
            DataKind::FileStart => 0x05,
            DataKind::FileEnd => 0x06,
            DataKind::Vouch => 0x07,
            DataKind::Other(b) => b,
        }
    }

    /// Parses the wire byte (total).
    pub fn from_u8(b: u8) -> Self {
        match b {
            0x01 => DataKind::Chat,
            0x02 => DataKind::Reaction,
            0x03 => DataKind::Poll,
            0x04 => DataKind::FileChunk,
            0x05 => DataKind::FileStart,
            0x06 => DataKind::FileEnd,
            0x07 => DataKind::Vouch,
            other => DataKind::Other(other),
        }
    }
}

/// A view of a blob buffer past its class byte, so a data message is sealed and opened in place
/// right behind its `0xD1`.
pub(crate) struct AfterClassByte<'a>(pub(crate) &'a mut BytesMut);

impl FrameBuffer for AfterClassByte<'_> {
    fn as_slice(&self) -> &[u8] {
        self.0.get(1..).unwrap_or_default()
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        self.0.get_mut(1..).unwrap_or_default()
    }
    fn resize_to(&mut self, len: usize) {
        self.0.resize(len + 1, 0);
    }
}

/// A data message's unsealed blob: `0xD1 ‖ kind ‖ payload`, with room for the SFrame overhead.
pub(crate) fn data_plaintext(kind: DataKind, payload: &[u8]) -> BytesMut {
    let mut b = BytesMut::with_capacity(
        2 + payload.len() + SFRAME_OVERHEAD + hush_group::sender_auth::SIGNATURE_LEN,
    );
    b.extend_from_slice(&[CLASS_DATA, kind.to_u8()]);
    b.extend_from_slice(payload);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(DataKind::from_u8(b).to_u8(), b);
        }
    }

    #[test]
    fn after_class_byte_is_a_window() {
        let mut b = BytesMut::from(&[CLASS_DATA, 1, 2][..]);
        let mut v = AfterClassByte(&mut b);
        assert_eq!(v.as_slice(), &[1, 2]);
        v.resize_to(4);
        v.as_mut_slice()[3] = 9;
        assert_eq!(&b[..], &[CLASS_DATA, 1, 2, 0, 9]);
    }
}
