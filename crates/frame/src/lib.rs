//! hush-frame: SFrame (RFC 9605) media-frame encryption, sans-IO (SPEC §2–§4).
//!
//! A sender's [`Sealer`] turns a media frame into `header || ciphertext || tag` inside the
//! caller's buffer; a receiver's [`Opener`] finds the key by the header's KID, refuses replays
//! and forgeries, and leaves the plaintext in the same buffer. No sockets, no clock, no
//! allocation per frame once the buffers are warm.
//!
//! ```
//! use hush_frame::{BaseKey, CipherSuite, Opener, Sealer};
//!
//! let suite = CipherSuite::default_for_this_cpu();
//! let mut sealer = Sealer::new(suite, 7, BaseKey::new(*b"0123456789abcdef")?);
//! let mut opener = Opener::new();
//! opener.add_key(7, suite, BaseKey::new(*b"0123456789abcdef")?)?;
//!
//! let mut buf = b"hello".to_vec();
//! sealer.seal(b"", &mut buf)?;
//! let opened = opener.open(b"", &mut buf)?;
//! assert_eq!((opened.kid, opened.ctr, &buf[..]), (7, 0, &b"hello"[..]));
//! # Ok::<(), hush_frame::FrameError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod backend;
mod buffer;
mod error;
mod key;
mod opener;
mod replay;
mod sealer;
mod suite;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod vectors_test;

pub use auth::{Forgery, SenderAuth, VouchList, VouchOutcome, Voucher, frame_digest};
pub use backend::backend_name;
pub use buffer::FrameBuffer;
pub use error::FrameError;
pub use hush_wire::sframe_header::{self, Header, HeaderError, MAX_HEADER_LEN};
pub use key::BaseKey;
pub use opener::{DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, Opened, Opener};
pub use sealer::Sealer;
pub use suite::CipherSuite;

/// Nonce length of every suite (AEAD.Nn).
pub const NONCE_LEN: usize = 12;

/// What a relay can read from a frame without any key (SPEC §5): its header and the length
/// of what follows (ciphertext and tag).
///
/// # Errors
/// [`HeaderError`] if the header is malformed.
pub fn inspect(frame: &[u8]) -> Result<(Header, usize, usize), HeaderError> {
    let (h, len) = Header::decode(frame)?;
    Ok((h, len, frame.len() - len))
}
