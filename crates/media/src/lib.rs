//! hush-media: real media through an end-to-end encrypted meeting (SPEC §11.7).
//!
//! - [`header`]: the track header every media frame of a track carries *inside* its SFrame
//!   plaintext (track id, codec, keyframe flag, timestamp, and now and then the track's
//!   configuration), so the relay learns nothing new;
//! - [`ivf`]: IVF files (VP8, VP9, AV1), read frame by frame and written as they go;
//! - [`opus`]: Ogg/Opus files (one Opus packet per frame) through the `ogg` crate;
//! - [`source`]: an input (`--media-in PATH` or `-`) recognised by its first bytes;
//! - [`track`]: a track's sender (frames with their due times, `--loop`) and receiver (the
//!   container written back).
//!
//! Nothing here does network I/O or reads a clock: readers and writers work over any
//! [`std::io::Read`] / [`std::io::Write`], and the caller paces frames by their timestamps.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod header;
pub mod ivf;
pub mod opus;
pub mod source;
pub mod track;

pub use header::{Codec, FrameHeader, HEADER_LEN, MAX_CONFIG, TrackConfig};
pub use source::{Input, MediaFrame, Source};
pub use track::{Outgoing, TrackSender, TrackWriter};

/// Reads until `buf` is full: `Ok(false)` if the stream ended before its first byte, `cut` if it
/// ended inside `buf` (the IVF and Ogg readers both frame their input this way).
pub(crate) fn read_full(
    r: &mut impl std::io::Read,
    buf: &mut [u8],
    cut: MediaError,
) -> Result<bool, MediaError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(cut),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// What can go wrong reading or writing media.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The input is neither IVF nor Ogg (names its first bytes).
    #[error("not IVF or Ogg/Opus (it starts with {0})")]
    UnknownFormat(String),
    /// An IVF file that breaks its format.
    #[error("IVF: {0}")]
    Ivf(&'static str),
    /// An IVF codec hush does not carry (the FourCC).
    #[error("IVF codec {0:?} is not VP8, VP9 or AV1")]
    IvfCodec(String),
    /// An Ogg stream that is not Opus, or breaks its format.
    #[error("Ogg/Opus: {0}")]
    Opus(&'static str),
    /// The Ogg layer refused the input.
    #[error("Ogg: {0}")]
    Ogg(#[from] ogg::OggReadError),
    /// A media frame's track header does not decode.
    #[error("track header: {0}")]
    Header(&'static str),
}
