//! The frame layer's error type.

use hush_wire::sframe_header::HeaderError;

/// Why sealing, opening or configuring a frame key failed.
///
/// Peer faults (a malformed, unknown, replayed or forged frame) are kept apart from local ones
/// (exhausted counter, bad configuration). An authentication failure is one opaque variant: it
/// never says which byte was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The SFrame header is malformed (truncated or not minimally encoded).
    #[error("malformed SFrame header: {0}")]
    Header(#[from] HeaderError),
    /// The frame is shorter than its header plus the suite's tag.
    #[error("frame truncated: {len} bytes, at least {min} needed")]
    Truncated {
        /// Bytes in the frame.
        len: usize,
        /// Header length plus tag length.
        min: usize,
    },
    /// No key is installed for the frame's KID.
    #[error("unknown key id {0}")]
    UnknownKid(u64),
    /// This counter was already accepted under this key.
    #[error("replayed frame (kid {kid}, ctr {ctr})")]
    Replay {
        /// Key id of the frame.
        kid: u64,
        /// Counter of the frame.
        ctr: u64,
    },
    /// The counter is older than the replay window.
    #[error("frame too old for the replay window (kid {kid}, ctr {ctr})")]
    TooOld {
        /// Key id of the frame.
        kid: u64,
        /// Counter of the frame.
        ctr: u64,
    },
    /// The tag did not verify: wrong key, or the frame or metadata was altered.
    #[error("authentication failed")]
    Authentication,
    /// The sender's key reached its frame limit or the end of the counter space; rekey.
    #[error("sender key exhausted; a new key is needed")]
    KeyExhausted,
    /// A base key must not be empty.
    #[error("empty base key")]
    EmptyKey,
    /// The receiver already holds a key under this KID (remove it first).
    #[error("key id {0} already installed")]
    DuplicateKid(u64),
    /// The replay window size is outside 1..=65536.
    #[error("replay window must be 1..=65536 frames, got {0}")]
    InvalidWindow(u64),
    /// The cipher suite name or number is not one hush implements.
    #[error("unknown cipher suite {0:?}")]
    UnknownSuite(String),
    /// The AEAD refused the input (e.g. a frame larger than the AEAD allows).
    #[error("frame too large for the AEAD")]
    TooLarge,
    /// Sender authentication (SPEC §14): the frame opened under the key of `kid`'s sender, but
    /// that sender's identity does not vouch for it (its vouch names another frame for this
    /// counter, or its signature does not verify): another member forged it.
    #[error(
        "forged frame: key id {kid}, ctr {ctr} claims a sender whose identity does not vouch for it"
    )]
    Forged {
        /// The key id the frame claims (so its claimed sender).
        kid: u64,
        /// Its counter.
        ctr: u64,
    },
    /// Sender authentication: the counter is further ahead of the sender's latest vouch than a
    /// receiver tracks (`AUTH_WINDOW`), so it cannot be vouched for; refused, nothing moved.
    #[error("frame too far ahead of its sender's vouches (kid {kid}, ctr {ctr})")]
    Unvouched {
        /// Key id of the frame.
        kid: u64,
        /// Counter of the frame.
        ctr: u64,
    },
    /// A vouch (SPEC §14.2) that does not parse.
    #[error("malformed vouch: {0}")]
    BadVouch(&'static str),
}
