//! File transfer over data messages (SPEC §11.2.1): the wire format, the sending side
//! ([`crate::Meeting::send_file`]) and a sans-IO [`FileReceiver`] that reassembles each
//! transfer apart from every other, within bounds, and sanitizes the sender's file name.
//!
//! A transfer is `FileStart`, then `FileChunk`s, then `FileEnd`, all from one sender on its
//! reliable, ordered path; every message carries the sender's random 8-byte transfer id:
//!
//! ```text
//! FileStart (0x05) = transfer_id (8) || size u64 || name_len u8 || name (UTF-8, 1..=255 bytes)
//! FileChunk (0x04) = transfer_id (8) || bytes
//! FileEnd   (0x06) = transfer_id (8) || SHA-256(content) (32)
//! ```
//!
//! The name travels inside the sealed data messages (end-to-end encrypted); the relay sees only
//! their number and sizes. A receiver keys transfers by (sender, transfer id), where the sender
//! is its roster identity ([`SenderId`]), so nobody can write into another sender's transfer,
//! whatever its display name or transfer id.

mod assemble;
mod error;
mod message;
mod path;
mod receive;

use hush_group::IdentityKey;

use crate::event::{DataMessage, MediaFrame};

pub use assemble::{Dropped, FileAssembler, FileLimits, FileStep, Refused};
pub use error::FileError;
pub(crate) use message::{check_name, encode_chunk, encode_end, encode_start};
pub use path::{create_unique, sanitize_file_name};
pub use receive::{FileReceiver, ReceivedFile};

/// Longest file name on the wire, in bytes of UTF-8.
pub const MAX_FILE_NAME: usize = 255;
/// Longest name [`sanitize_file_name`] returns, in bytes (room for a ` (N)` suffix within the
/// usual 255-byte file name limit).
pub const MAX_SAVED_NAME: usize = 200;
/// Bytes of file content per `FileChunk` that [`crate::Meeting::send_file`] sends.
pub const FILE_CHUNK: usize = 16 * 1024;
/// Length of a transfer id.
pub const TRANSFER_ID_LEN: usize = 8;

/// A transfer's id: 8 random bytes chosen by the sender.
pub type TransferId = [u8; TRANSFER_ID_LEN];

/// Who sent a data message or media frame, to keep their files apart: the sender's roster
/// identity in e2ee mode; in transport mode (no roster) its sender index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenderId {
    /// The identity key in the epoch's host-signed roster.
    Identity(IdentityKey),
    /// Transport mode: the sender index the key service assigned.
    Index(u16),
}

impl SenderId {
    /// The sender of a data message.
    pub fn of(msg: &DataMessage) -> Self {
        msg.sender_identity
            .map_or(SenderId::Index(msg.sender), SenderId::Identity)
    }

    /// The sender of a media frame.
    pub fn of_media(frame: &MediaFrame) -> Self {
        frame
            .sender_identity
            .map_or(SenderId::Index(frame.sender), SenderId::Identity)
    }
}
