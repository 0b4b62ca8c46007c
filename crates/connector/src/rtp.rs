//! The RTP sink's packetizer (SPEC §13.5), sans-IO: each decrypted **track** (SPEC §11.7) becomes
//! one RTP stream per (sender identity, track, codec), with its own SSRC, sequence numbers and
//! timestamps: VP8 per RFC 7741 (90 kHz clock), Opus per RFC 7587 (48 kHz). The payloaders and
//! the packet layout are webrtc-rs's `rtp` crate; this module decides the streams, the clocks
//! and the bounds. [`crate::sdp`] describes the streams for a player.
//!
//! Stream `i` (in the order the streams appear) goes to port `PORT + 2·i` of the sink's host,
//! so every stream has its own port (RTP's even-port convention, RTCP's odd port left free).
//! Untracked payloads, codecs without a payloader here (VP9, AV1), video before its first
//! keyframe's configuration, bad track headers and streams past [`MAX_STREAMS`] are skipped,
//! never an error: every input, however hostile, is a skip or packets, never a panic.
//!
//! What leaves this sink is plaintext, like every connector sink.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use hush_client::MediaFrame;
use hush_client::file::SenderId;
use hush_media::{Codec, FrameHeader, TrackConfig};
use rand::rngs::{StdRng, SysRng};
use rand::{Rng, SeedableRng};
use rtp::codecs::opus::OpusPayloader;
use rtp::codecs::vp8::Vp8Payloader;
use rtp::packetizer::Payloader;
use webrtc_util::marshal::Marshal;

/// Default largest RTP packet (12-byte header included): safe under any path MTU hush meets.
pub const DEFAULT_PACKET_SIZE: usize = 1200;
/// Smallest RTP packet size accepted.
pub const MIN_PACKET_SIZE: usize = 64;
/// Largest RTP packet (the IPv4 UDP payload limit); also the bound of an Opus packet, which
/// RFC 7587 never splits.
pub const MAX_PACKET_SIZE: usize = 65_507;
/// The fixed RTP header (no CSRC, no extension).
pub const RTP_HEADER_LEN: usize = 12;
/// Streams one connector sends at most; frames of further streams are skipped.
pub const MAX_STREAMS: usize = 32;
/// Port distance between two streams.
pub const PORT_STEP: u16 = 2;
/// Dynamic payload type of VP8 streams.
pub const VP8_PAYLOAD_TYPE: u8 = 96;
/// Dynamic payload type of Opus streams.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
/// RTP clock of video (RFC 7741 §6.1).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
/// RTP clock of Opus (RFC 7587 §4.1), which is also its track time base.
pub const OPUS_CLOCK_RATE: u32 = 48_000;

/// Where and how a connector sends RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpConfig {
    /// The first stream's destination; stream `i` goes to port `addr.port() + 2·i`.
    pub addr: SocketAddr,
    /// (Re)write an SDP file describing the streams here, each time a stream appears.
    pub sdp: Option<PathBuf>,
    /// The session's name in the SDP (`s=hush meeting <name>`, sanitised): the room.
    pub session_name: String,
    /// Largest RTP packet, header included (VP8 frames are split to fit).
    pub packet_size: usize,
}

impl RtpConfig {
    /// RTP to `addr`, no SDP, packets of [`DEFAULT_PACKET_SIZE`].
    pub fn new(addr: SocketAddr) -> Self {
        RtpConfig {
            addr,
            sdp: None,
            session_name: String::new(),
            packet_size: DEFAULT_PACKET_SIZE,
        }
    }
}

/// One RTP stream, as the SDP describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Destination port.
    pub port: u16,
    /// VP8 or Opus.
    pub codec: Codec,
    /// RTP payload type.
    pub payload_type: u8,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// The stream's random SSRC.
    pub ssrc: u32,
    /// The sender's track id.
    pub track: u8,
    /// The sender's display name when the stream appeared (another party's text).
    pub sender_name: String,
}

/// Why a frame was not sent as RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No track header: synthetic media or an application's own bytes.
    Untracked,
    /// A track header that does not decode.
    BadHeader,
    /// A codec this sink does not packetize (VP9, AV1).
    Codec(Codec),
    /// Video before its first keyframe with the track's configuration (no time base yet).
    NoTimebase,
    /// A new stream past [`MAX_STREAMS`], or past port 65535.
    StreamLimit,
    /// An empty codec frame, or one the payloader refused.
    Empty,
    /// An Opus packet larger than [`MAX_PACKET_SIZE`] allows.
    TooLarge,
}

/// Packets made from one frame (written into the caller's vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packetized {
    /// Index of the stream in [`RtpPacketizer::streams`].
    pub stream: usize,
    /// True when this frame started the stream (write the SDP before sending it).
    pub new_stream: bool,
}

/// Checks an RTP packet size.
pub fn packet_size_ok(size: usize) -> bool {
    (MIN_PACKET_SIZE..=MAX_PACKET_SIZE).contains(&size)
}

/// A timestamp in a `num/den` time base as ticks of a `clock` Hz clock, modulo 2³², rounded
/// down. Exact for any input (128-bit arithmetic); `den` 0 gives 0.
pub fn rtp_ticks(timestamp: u64, (num, den): (u32, u32), clock: u32) -> u32 {
    if den == 0 {
        return 0;
    }
    let t = u128::from(timestamp) * u128::from(num) * u128::from(clock) / u128::from(den);
    // RTP timestamps wrap: keep the low 32 bits.
    (t & u128::from(u32::MAX)) as u32
}

enum Payloaders {
    Vp8(Vp8Payloader),
    Opus(OpusPayloader),
}

struct Stream {
    info: StreamInfo,
    payloader: Payloaders,
    seq: u16,
    ts_offset: u32,
    timebase: (u32, u32),
    sent_any: bool,
}

/// Turns decrypted media frames into RTP packets, one stream per (sender, track, codec).
pub struct RtpPacketizer {
    base_port: u16,
    packet_size: usize,
    streams: Vec<Stream>,
    by_key: HashMap<(SenderId, u8, Codec), usize>,
    rng: StdRng,
}

impl std::fmt::Debug for RtpPacketizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpPacketizer")
            .field("base_port", &self.base_port)
            .field("packet_size", &self.packet_size)
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl RtpPacketizer {
    /// Streams from `base_port` on, packets of at most `packet_size` bytes (clamped to
    /// [`MIN_PACKET_SIZE`]..=[`MAX_PACKET_SIZE`]); SSRCs, first sequence numbers and
    /// timestamp offsets random from the OS.
    pub fn new(base_port: u16, packet_size: usize) -> Self {
        let rng = StdRng::try_from_rng(&mut SysRng).unwrap_or_else(|_| {
            // Not a secret: RTP only needs SSRCs that differ. The clock will do.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            StdRng::seed_from_u64(t)
        });
        Self::with_rng(base_port, packet_size, rng)
    }

    /// As [`RtpPacketizer::new`] with the given randomness (tests).
    pub fn with_rng(base_port: u16, packet_size: usize, rng: StdRng) -> Self {
        RtpPacketizer {
            base_port,
            packet_size: packet_size.clamp(MIN_PACKET_SIZE, MAX_PACKET_SIZE),
            streams: Vec::new(),
            by_key: HashMap::new(),
            rng,
        }
    }

    /// The streams so far, in the order they appeared.
    pub fn streams(&self) -> Vec<StreamInfo> {
        self.streams.iter().map(|s| s.info.clone()).collect()
    }

    /// One stream.
    pub fn stream(&self, index: usize) -> Option<&StreamInfo> {
        self.streams.get(index).map(|s| &s.info)
    }

    /// A decrypted frame: its RTP packets appended to `out`.
    ///
    /// # Errors
    /// Why the frame is not RTP ([`Skip`]); nothing is appended then.
    pub fn push(&mut self, f: &MediaFrame, out: &mut Vec<Bytes>) -> Result<Packetized, Skip> {
        self.push_payload(SenderId::of_media(f), &f.sender_name, &f.payload, out)
    }

    /// As [`RtpPacketizer::push`], from the parts of a frame.
    ///
    /// # Errors
    /// [`Skip`].
    pub fn push_payload(
        &mut self,
        sender: SenderId,
        sender_name: &str,
        payload: &Bytes,
        out: &mut Vec<Bytes>,
    ) -> Result<Packetized, Skip> {
        let (header, body) = match FrameHeader::decode(payload) {
            Ok(Some((h, body))) => (h, body.len()),
            Ok(None) => return Err(Skip::Untracked),
            Err(_) => return Err(Skip::BadHeader),
        };
        let body = payload.slice(payload.len() - body..);
        if !matches!(header.codec, Codec::Vp8 | Codec::Opus) {
            return Err(Skip::Codec(header.codec));
        }
        if body.is_empty() {
            return Err(Skip::Empty);
        }
        if header.codec == Codec::Opus && body.len() > MAX_PACKET_SIZE - RTP_HEADER_LEN {
            return Err(Skip::TooLarge);
        }
        let config_timebase = match &header.config {
            Some(c @ TrackConfig::Video { .. }) => Some(c.timebase()),
            _ => None,
        };
        let key = (sender, header.track, header.codec);
        let (index, new_stream) = match self.by_key.get(&key) {
            Some(&i) => (i, false),
            None => (self.open(key, sender_name, config_timebase)?, true),
        };
        let Some(s) = self.streams.get_mut(index) else {
            return Err(Skip::StreamLimit);
        };
        if let Some(tb) = config_timebase {
            s.timebase = tb;
        }
        let payloads = match &mut s.payloader {
            Payloaders::Vp8(p) => p.payload(self.packet_size - RTP_HEADER_LEN, &body),
            Payloaders::Opus(p) => p.payload(self.packet_size - RTP_HEADER_LEN, &body),
        };
        let payloads = match payloads {
            Ok(p) if !p.is_empty() => p,
            _ => return Err(Skip::Empty),
        };
        let timestamp =
            s.ts_offset
                .wrapping_add(rtp_ticks(header.timestamp, s.timebase, s.info.clock_rate));
        let last = payloads.len() - 1;
        let start = out.len();
        for (i, payload) in payloads.into_iter().enumerate() {
            let marker = match s.payloader {
                // RFC 7741 §4.1: set on the last packet of a frame.
                Payloaders::Vp8(_) => i == last,
                // RFC 7587 §4.1: the first packet of a talkspurt (no DTX here: the first one).
                Payloaders::Opus(_) => !s.sent_any,
            };
            let packet = rtp::packet::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker,
                    payload_type: s.info.payload_type,
                    sequence_number: s.seq,
                    timestamp,
                    ssrc: s.info.ssrc,
                    ..Default::default()
                },
                payload,
            };
            match packet.marshal() {
                Ok(b) => out.push(b),
                Err(_) => {
                    out.truncate(start);
                    return Err(Skip::Empty);
                }
            }
            s.seq = s.seq.wrapping_add(1);
            s.sent_any = true;
        }
        Ok(Packetized {
            stream: index,
            new_stream,
        })
    }

    fn open(
        &mut self,
        key: (SenderId, u8, Codec),
        sender_name: &str,
        config_timebase: Option<(u32, u32)>,
    ) -> Result<usize, Skip> {
        let codec = key.2;
        let (payloader, payload_type, clock_rate, timebase) = match codec {
            Codec::Opus => (
                Payloaders::Opus(OpusPayloader),
                OPUS_PAYLOAD_TYPE,
                OPUS_CLOCK_RATE,
                (1, OPUS_CLOCK_RATE),
            ),
            _ => {
                let Some(tb) = config_timebase else {
                    return Err(Skip::NoTimebase);
                };
                let mut p = Vp8Payloader::default();
                p.enable_picture_id = true;
                (Payloaders::Vp8(p), VP8_PAYLOAD_TYPE, VIDEO_CLOCK_RATE, tb)
            }
        };
        let index = self.streams.len();
        if index >= MAX_STREAMS {
            return Err(Skip::StreamLimit);
        }
        let port = u16::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(PORT_STEP))
            .and_then(|d| self.base_port.checked_add(d))
            .ok_or(Skip::StreamLimit)?;
        let ssrc = loop {
            let v = self.rng.next_u32();
            if v != 0 && self.streams.iter().all(|s| s.info.ssrc != v) {
                break v;
            }
        };
        let seq = (self.rng.next_u32() & 0xFFFF) as u16;
        let ts_offset = self.rng.next_u32();
        self.streams.push(Stream {
            info: StreamInfo {
                port,
                codec,
                payload_type,
                clock_rate,
                ssrc,
                track: key.1,
                sender_name: sender_name.to_owned(),
            },
            payloader,
            seq,
            ts_offset,
            timebase,
            sent_any: false,
        });
        self.by_key.insert(key, index);
        Ok(index)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "rtp_tests.rs"]
mod tests;
