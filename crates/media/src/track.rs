//! One track, sender side and receiver side, without I/O of its own beyond the reader or
//! writer it is given, and without a clock: [`TrackSender`] turns an input into sealed-frame
//! plaintexts with the time each is due (relative to the track's first frame, from the
//! timestamps, as a live source would send them); [`TrackWriter`] turns received tracked frames
//! back into the container they came from.

use std::io::Write;
use std::time::Duration;

use crate::MediaError;
use crate::header::{Codec, FrameHeader, TrackConfig};
use crate::ivf::IvfWriter;
use crate::opus::OpusWriter;
use crate::source::{Input, Source};

/// Audio frames between two copies of the track configuration (1 s of 20 ms packets), so a
/// receiver that joins late can start writing within a second. Video carries it on every
/// keyframe.
pub const AUDIO_CONFIG_EVERY: u64 = 50;

/// A frame ready to seal and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// When to send it, from the track's first frame.
    pub due: Duration,
    /// The plaintext: track header then codec frame.
    pub payload: Vec<u8>,
    /// Whether it is a keyframe.
    pub keyframe: bool,
}

/// Reads a track's input and makes its frames (see the module docs). With a `reopen`, the input
/// starts again at its end (`--loop`), timestamps continuing.
pub struct TrackSender {
    source: Source,
    track: u8,
    reopen: Option<Box<dyn FnMut() -> std::io::Result<Input> + Send>>,
    first_ts: Option<u64>,
    /// Added to the input's timestamps (grows at each loop).
    offset: u64,
    last_ts: Option<u64>,
    step: u64,
    frames: u64,
}

impl std::fmt::Debug for TrackSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackSender")
            .field("track", &self.track)
            .field("source", &self.source)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl TrackSender {
    /// A sender of `source` as track `track`; `reopen` opens the input again for `--loop`.
    pub fn new(
        source: Source,
        track: u8,
        reopen: Option<Box<dyn FnMut() -> std::io::Result<Input> + Send>>,
    ) -> Self {
        TrackSender {
            source,
            track,
            reopen,
            first_ts: None,
            offset: 0,
            last_ts: None,
            step: 1,
            frames: 0,
        }
    }

    /// The track's codec.
    pub fn codec(&self) -> Codec {
        self.source.codec()
    }

    /// The next frame; `None` at the end of the input (never with `--loop`, unless the input
    /// is empty).
    ///
    /// # Errors
    /// The input's format errors; a reopen that fails.
    pub fn next_frame(&mut self) -> Result<Option<Outgoing>, MediaError> {
        let mut frame = self.source.next_frame()?;
        if frame.is_none()
            && let Some(reopen) = self.reopen.as_mut()
            && self.frames > 0
        {
            self.source = Source::open(reopen()?)?;
            // The loop goes on one frame step after the last frame.
            self.offset = self.last_ts.map_or(0, |t| t + self.step);
            frame = self.source.next_frame()?;
            if let Some(f) = &frame {
                self.offset = self.offset.saturating_sub(f.timestamp);
            }
        }
        let Some(f) = frame else {
            return Ok(None);
        };
        let ts = f.timestamp.saturating_add(self.offset);
        if let Some(last) = self.last_ts
            && ts > last
        {
            self.step = ts - last;
        }
        self.last_ts = Some(ts);
        let first = *self.first_ts.get_or_insert(ts);
        let codec = self.source.codec();
        let with_config = if codec.is_audio() {
            self.frames.is_multiple_of(AUDIO_CONFIG_EVERY)
        } else {
            f.keyframe || self.frames == 0
        };
        let header = FrameHeader {
            track: self.track,
            codec,
            keyframe: f.keyframe,
            timestamp: ts,
            config: with_config.then(|| self.source.config().clone()),
        };
        let mut payload = Vec::with_capacity(f.data.len() + 64);
        header.encode(&mut payload);
        payload.extend_from_slice(&f.data);
        self.frames += 1;
        let (num, den) = self.source.config().timebase();
        let secs = (ts - first) as f64 * f64::from(num) / f64::from(den);
        Ok(Some(Outgoing {
            due: Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO),
            payload,
            keyframe: f.keyframe,
        }))
    }
}

/// Writes one received track into its container (IVF for video, Ogg/Opus for audio), as it
/// goes.
#[derive(Debug)]
pub enum TrackWriter<W: Write> {
    /// A video track.
    Ivf(IvfWriter<W>),
    /// An audio track.
    Opus(OpusWriter<W>),
}

impl<W: Write> TrackWriter<W> {
    /// Starts the container of a track with this codec and configuration.
    ///
    /// # Errors
    /// [`MediaError`] if the configuration does not fit the codec, or writing fails.
    pub fn new(
        out: W,
        codec: Codec,
        config: &TrackConfig,
        serial: u32,
    ) -> Result<Self, MediaError> {
        match config {
            TrackConfig::Opus { head } if codec.is_audio() => {
                Ok(TrackWriter::Opus(OpusWriter::new(out, head, serial)?))
            }
            TrackConfig::Video { .. } if !codec.is_audio() => {
                Ok(TrackWriter::Ivf(IvfWriter::new(out, codec, config)?))
            }
            _ => Err(MediaError::Header("configuration does not fit the codec")),
        }
    }

    /// The file extension of this container.
    pub fn extension(codec: Codec) -> &'static str {
        if codec.is_audio() { "opus" } else { "ivf" }
    }

    /// Appends a frame.
    ///
    /// # Errors
    /// [`MediaError`].
    pub fn write(&mut self, timestamp: u64, frame: &[u8]) -> Result<(), MediaError> {
        match self {
            TrackWriter::Ivf(w) => w.write_frame(timestamp, frame),
            TrackWriter::Opus(w) => w.write_packet(timestamp, frame),
        }
    }

    /// Frames written.
    pub fn frames(&self) -> u64 {
        match self {
            TrackWriter::Ivf(w) => w.frames(),
            TrackWriter::Opus(w) => w.packets(),
        }
    }
}
