//! The track header at the start of a media frame's plaintext (SPEC §11.7). It is sealed with
//! the rest of the frame, so the relay sees only that frames are 13 bytes longer (plus, now and
//! then, a configuration block).
//!
//! ```text
//! frame plaintext = magic 0xA5 (1) ‖ version 0x01 (1) ‖ track (1) ‖ codec (1) ‖ flags (1)
//!                   ‖ timestamp (8, BE, in the track's time base)
//!                   ‖ [config_len (2, BE) ‖ config]   -- when flags & CONFIG
//!                   ‖ codec frame (the IVF frame or the Opus packet, unchanged)
//! flags = 0x01 keyframe | 0x02 config present; other bits must be 0
//! config (IVF: VP8, VP9, AV1) = width (2) ‖ height (2) ‖ timebase_num (4) ‖ timebase_den (4)
//! config (Opus)               = the stream's OpusHead packet (RFC 7845 §5.1), 19..=255 bytes
//! ```
//!
//! A frame without the magic and version is an untracked payload (synthetic media, an
//! application's own bytes): [`FrameHeader::decode`] says so with `Ok(None)`.

use crate::MediaError;

/// First byte of a tracked frame.
pub const MAGIC: u8 = 0xA5;
/// Layout version.
pub const VERSION: u8 = 0x01;
/// Bytes of the fixed header (without a config block).
pub const HEADER_LEN: usize = 13;
/// Largest configuration block.
pub const MAX_CONFIG: usize = 255;

const FLAG_KEYFRAME: u8 = 0x01;
const FLAG_CONFIG: u8 = 0x02;

/// A track's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// VP8 in IVF (FourCC `VP80`).
    Vp8,
    /// VP9 in IVF (`VP90`).
    Vp9,
    /// AV1 in IVF (`AV01`).
    Av1,
    /// Opus in Ogg.
    Opus,
}

impl Codec {
    /// The byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Codec::Vp8 => 1,
            Codec::Vp9 => 2,
            Codec::Av1 => 3,
            Codec::Opus => 4,
        }
    }

    /// The codec of a wire byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Codec::Vp8,
            2 => Codec::Vp9,
            3 => Codec::Av1,
            4 => Codec::Opus,
            _ => return None,
        })
    }

    /// The IVF FourCC (video codecs).
    pub fn fourcc(self) -> Option<[u8; 4]> {
        match self {
            Codec::Vp8 => Some(*b"VP80"),
            Codec::Vp9 => Some(*b"VP90"),
            Codec::Av1 => Some(*b"AV01"),
            Codec::Opus => None,
        }
    }

    /// The codec of an IVF FourCC.
    pub fn from_fourcc(f: [u8; 4]) -> Option<Self> {
        match &f {
            b"VP80" => Some(Codec::Vp8),
            b"VP90" => Some(Codec::Vp9),
            b"AV01" => Some(Codec::Av1),
            _ => None,
        }
    }

    /// Lower-case name (`vp8`, `opus`, …).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Av1 => "av1",
            Codec::Opus => "opus",
        }
    }

    /// True for Opus.
    pub fn is_audio(self) -> bool {
        self == Codec::Opus
    }
}

/// What a receiver needs to write a track's container: carried in the header now and then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackConfig {
    /// An IVF video track.
    Video {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
        /// Time base numerator (seconds per timestamp unit = num / den).
        timebase_num: u32,
        /// Time base denominator.
        timebase_den: u32,
    },
    /// An Ogg/Opus track: its `OpusHead` packet (time base 1/48000).
    Opus {
        /// The identification header.
        head: Vec<u8>,
    },
}

impl TrackConfig {
    /// The time base as (numerator, denominator).
    pub fn timebase(&self) -> (u32, u32) {
        match self {
            TrackConfig::Video {
                timebase_num,
                timebase_den,
                ..
            } => (*timebase_num, *timebase_den),
            TrackConfig::Opus { .. } => (1, 48_000),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TrackConfig::Video {
                width,
                height,
                timebase_num,
                timebase_den,
            } => {
                out.extend_from_slice(&12u16.to_be_bytes());
                out.extend_from_slice(&width.to_be_bytes());
                out.extend_from_slice(&height.to_be_bytes());
                out.extend_from_slice(&timebase_num.to_be_bytes());
                out.extend_from_slice(&timebase_den.to_be_bytes());
            }
            TrackConfig::Opus { head } => {
                let head = &head[..head.len().min(MAX_CONFIG)];
                out.extend_from_slice(&(head.len() as u16).to_be_bytes());
                out.extend_from_slice(head);
            }
        }
    }

    fn decode(codec: Codec, b: &[u8]) -> Result<Self, MediaError> {
        if codec.is_audio() {
            if !(19..=MAX_CONFIG).contains(&b.len()) || !b.starts_with(b"OpusHead") {
                return Err(MediaError::Header("bad Opus configuration"));
            }
            return Ok(TrackConfig::Opus { head: b.to_vec() });
        }
        let b: &[u8; 12] = b
            .try_into()
            .map_err(|_| MediaError::Header("bad video configuration"))?;
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let (num, den) = (u32_at(4), u32_at(8));
        if num == 0 || den == 0 {
            return Err(MediaError::Header("zero time base"));
        }
        Ok(TrackConfig::Video {
            width: u16_at(0),
            height: u16_at(2),
            timebase_num: num,
            timebase_den: den,
        })
    }
}

/// The decoded header of a tracked media frame; the codec frame follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameHeader {
    /// Track id (0.. in the order of the sender's `--media-in` flags).
    pub track: u8,
    /// The track's codec.
    pub codec: Codec,
    /// A frame a decoder can start from.
    pub keyframe: bool,
    /// Presentation timestamp in the track's time base.
    pub timestamp: u64,
    /// The track's configuration, when this frame carries it.
    pub config: Option<TrackConfig>,
}

impl FrameHeader {
    /// Appends the header to `out` (the codec frame goes after it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        if self.keyframe {
            flags |= FLAG_KEYFRAME;
        }
        if self.config.is_some() {
            flags |= FLAG_CONFIG;
        }
        out.extend_from_slice(&[MAGIC, VERSION, self.track, self.codec.to_byte(), flags]);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        if let Some(c) = &self.config {
            c.encode(out);
        }
    }

    /// Splits a frame's plaintext into its header and codec frame. `Ok(None)`: an untracked
    /// payload (no magic and version). An error: a tracked frame that does not decode.
    ///
    /// # Errors
    /// [`MediaError::Header`].
    pub fn decode(payload: &[u8]) -> Result<Option<(FrameHeader, &[u8])>, MediaError> {
        if payload.len() < 2 || payload[0] != MAGIC || payload[1] != VERSION {
            return Ok(None);
        }
        let fixed: &[u8; HEADER_LEN] = payload
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(MediaError::Header("truncated"))?;
        let codec = Codec::from_byte(fixed[3]).ok_or(MediaError::Header("unknown codec"))?;
        let flags = fixed[4];
        if flags & !(FLAG_KEYFRAME | FLAG_CONFIG) != 0 {
            return Err(MediaError::Header("unknown flags"));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&fixed[5..13]);
        let mut rest = &payload[HEADER_LEN..];
        let config = if flags & FLAG_CONFIG != 0 {
            let (len, tail) = rest
                .split_first_chunk::<2>()
                .ok_or(MediaError::Header("truncated config"))?;
            let len = usize::from(u16::from_be_bytes(*len));
            if len > MAX_CONFIG || tail.len() < len {
                return Err(MediaError::Header("truncated config"));
            }
            let (c, tail) = tail.split_at(len);
            rest = tail;
            Some(TrackConfig::decode(codec, c)?)
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                track: fixed[2],
                codec,
                keyframe: flags & FLAG_KEYFRAME != 0,
                timestamp: u64::from_be_bytes(ts),
                config,
            },
            rest,
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn video() -> TrackConfig {
        TrackConfig::Video {
            width: 640,
            height: 360,
            timebase_num: 1,
            timebase_den: 30,
        }
    }

    #[test]
    fn round_trips_with_and_without_config() {
        for (codec, config) in [
            (Codec::Vp8, Some(video())),
            (Codec::Av1, None),
            (
                Codec::Opus,
                Some(TrackConfig::Opus {
                    head: b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0".to_vec(),
                }),
            ),
        ] {
            let h = FrameHeader {
                track: 3,
                codec,
                keyframe: config.is_some(),
                timestamp: 0x0102_0304_0506_0708,
                config,
            };
            let mut b = Vec::new();
            h.encode(&mut b);
            b.extend_from_slice(b"frame");
            let (back, rest) = FrameHeader::decode(&b).unwrap().unwrap();
            assert_eq!(back, h);
            assert_eq!(rest, b"frame");
        }
    }

    #[test]
    fn untracked_payloads_and_broken_headers() {
        assert!(FrameHeader::decode(&[0x42; 100]).unwrap().is_none());
        assert!(FrameHeader::decode(&[]).unwrap().is_none());
        let mut b = Vec::new();
        FrameHeader {
            track: 0,
            codec: Codec::Vp8,
            keyframe: true,
            timestamp: 1,
            config: Some(video()),
        }
        .encode(&mut b);
        // Every cut inside the header is an error, never a panic.
        for cut in 2..b.len() {
            assert!(FrameHeader::decode(&b[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = b.clone();
        bad[3] = 9;
        assert!(FrameHeader::decode(&bad).is_err());
        let mut bad = b.clone();
        bad[4] = 0x80;
        assert!(FrameHeader::decode(&bad).is_err());
    }
}
