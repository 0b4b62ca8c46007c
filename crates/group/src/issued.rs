//! The `Issued` key message (SPEC §12.2): the key service hands a joiner the room's epoch secret
//! and the joiner's sender index. It lives with the other key messages (here, in the crate that
//! owns keys) so that a client can read it without linking the key service or the relay. Sans-IO: bytes in, bytes out; decoding is total.
//!
//! Layout, 62 bytes, integers big-endian:
//!
//! ```text
//! offset size field
//!      0    1 type         0xA1 (ISSUED)
//!      1    1 version      0x01
//!      2    2 suite        SFrame cipher suite id (SPEC §3)
//!      4   16 meeting_id   16 random bytes chosen by the key service per room
//!     20    8 epoch        <= 2^48 - 1 (hush-group MAX_EPOCH)
//!     28   32 epoch_secret 32 random bytes
//!     60    2 your_index   the receiver's sender index in this epoch
//! ```
//!
//! The first byte cannot be confused with a hush-group message (SPEC §8.2): those start with
//! their version byte `0x01`, never `0xA1`, so a group decoder refuses an `Issued` as an
//! unsupported version and [`decode`] refuses a group message as [`DecodeError::WrongType`].

use std::fmt;

use crate::{EpochSecret, GroupError, MAX_EPOCH, MeetingId, SenderSecret};
use hush_frame::CipherSuite;
use hush_wire::reader::{ReadError, Reader};
use zeroize::Zeroizing;

/// Type byte of `Issued` (first byte). Distinct from every hush-group first byte (`0x01`).
pub const ISSUED_TYPE: u8 = 0xA1;
/// Version byte of `Issued` (second byte).
pub const ISSUED_VERSION: u8 = 0x01;
/// Exact length of an encoded `Issued`.
pub const ISSUED_LEN: usize = 62;

/// Why bytes are not an `Issued` message. Every input gives an `Issued` or one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer than [`ISSUED_LEN`] bytes.
    #[error("issued message truncated: {len} of {ISSUED_LEN} bytes")]
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// More than [`ISSUED_LEN`] bytes.
    #[error("{extra} trailing bytes after the issued message")]
    TrailingBytes {
        /// Bytes beyond the message.
        extra: usize,
    },
    /// The first byte is not [`ISSUED_TYPE`] (e.g. a hush-group message).
    #[error("not an issued message: type byte 0x{0:02x}")]
    WrongType(u8),
    /// The version byte is not [`ISSUED_VERSION`].
    #[error("unsupported issued message version {0}")]
    UnsupportedVersion(u8),
    /// The suite id names no suite hush implements.
    #[error("unknown cipher suite 0x{0:04x}")]
    UnknownSuite(u16),
    /// The epoch does not fit the 48 bits a KID carries.
    #[error("epoch {0} exceeds the maximum epoch")]
    EpochOutOfRange(u64),
}

/// The room's key material as the key service issues it to one participant (SPEC §12.2).
///
/// The secret is zeroized on drop and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// SFrame cipher suite every sender in the room uses.
    pub suite: CipherSuite,
    /// Meeting id that enters the sender-key derivation (hush-group, SPEC §9).
    pub meeting: MeetingId,
    /// Epoch number (the KID's upper 48 bits).
    pub epoch: u64,
    /// The epoch secret, generated and held by the key service.
    pub epoch_secret: Zeroizing<[u8; 32]>,
    /// The receiver's sender index (the KID's lower 16 bits).
    pub your_index: u16,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("suite", &self.suite)
            .field("meeting", &self.meeting)
            .field("epoch", &self.epoch)
            .field("your_index", &self.your_index)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// Encodes the message ([`ISSUED_LEN`] bytes) in a buffer zeroized on drop.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(ISSUED_LEN));
        out.push(ISSUED_TYPE);
        out.push(ISSUED_VERSION);
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        out.extend_from_slice(&self.meeting.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.epoch_secret.as_slice());
        out.extend_from_slice(&self.your_index.to_be_bytes());
        out
    }

    /// Decodes exactly one message; see [`decode`].
    ///
    /// # Errors
    /// A [`DecodeError`] for anything that is not exactly one valid `Issued`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
    }

    /// The epoch secret as hush-group's type (clone; zeroized on drop).
    pub fn secret(&self) -> EpochSecret {
        EpochSecret::from_bytes(*self.epoch_secret)
    }

    /// The SFrame key material of sender `index` in this epoch (hush-group, SPEC §9).
    ///
    /// # Errors
    /// [`GroupError`] if the epoch is out of range.
    pub fn sender(&self, index: u16) -> Result<SenderSecret, GroupError> {
        self.secret()
            .sender(&self.meeting, self.epoch, index, self.suite.id())
    }

    /// The receiver's own sender key material ([`sender`](Self::sender) of `your_index`).
    ///
    /// # Errors
    /// [`GroupError`] if the epoch is out of range.
    pub fn my_sender(&self) -> Result<SenderSecret, GroupError> {
        self.sender(self.your_index)
    }
}

/// Whether `bytes` claims to be an `Issued` (its first byte is [`ISSUED_TYPE`]). A cheap router
/// test for blobs from participant 0; [`decode`] still validates everything.
pub fn is_issued(bytes: &[u8]) -> bool {
    bytes.first() == Some(&ISSUED_TYPE)
}

/// Decodes exactly one `Issued` message: total (any bytes give `Ok` or a typed error, never a
/// panic), trailing bytes rejected.
///
/// # Errors
/// [`DecodeError`]: type, version, length, suite or epoch checks, in that order.
pub fn decode(bytes: &[u8]) -> Result<Issued, DecodeError> {
    let len = bytes.len();
    let short = move |_: ReadError| DecodeError::Truncated { len };
    let mut r = Reader::new(bytes);
    let ty = r.u8().map_err(short)?;
    if ty != ISSUED_TYPE {
        return Err(DecodeError::WrongType(ty));
    }
    let version = r.u8().map_err(short)?;
    if version != ISSUED_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    if len < ISSUED_LEN {
        return Err(short(ReadError::Truncated));
    }
    if len > ISSUED_LEN {
        return Err(DecodeError::TrailingBytes {
            extra: len - ISSUED_LEN,
        });
    }
    // The length is exact from here on: no read below fails.
    let suite_id = r.u16().map_err(short)?;
    let suite = CipherSuite::from_id(suite_id).ok_or(DecodeError::UnknownSuite(suite_id))?;
    let meeting = MeetingId(r.array().map_err(short)?);
    let epoch = r.u64().map_err(short)?;
    if epoch > MAX_EPOCH {
        return Err(DecodeError::EpochOutOfRange(epoch));
    }
    let epoch_secret = Zeroizing::new(r.array::<32>().map_err(short)?);
    let your_index = r.u16().map_err(short)?;
    Ok(Issued {
        suite,
        meeting,
        epoch,
        epoch_secret,
        your_index,
    })
}
