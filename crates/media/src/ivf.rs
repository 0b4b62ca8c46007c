//! IVF: a 32-byte file header, then frames of a 12-byte header (size u32 LE, timestamp u64 LE)
//! and the codec frame. Read frame by frame from any reader (a pipe too); written as it goes,
//! so a file cut at any moment (`kill -9`) is valid up to its last whole frame.

use std::io::{Read, Write};

use crate::header::{Codec, TrackConfig};
use crate::{MediaError, read_full};

/// Bytes of the IVF file header.
pub const FILE_HEADER: usize = 32;
/// Bytes of an IVF frame header.
pub const FRAME_HEADER: usize = 12;
/// Largest frame accepted (a media frame must fit the relay's 256 KiB with the SFrame overhead).
pub const MAX_FRAME: usize = 240 * 1024;

/// An IVF frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Timestamp in the file's time base.
    pub timestamp: u64,
    /// The codec frame.
    pub data: Vec<u8>,
}

/// Reads an IVF stream.
#[derive(Debug)]
pub struct IvfReader<R> {
    inner: R,
    /// The codec.
    pub codec: Codec,
    /// Width, height and time base from the file header.
    pub config: TrackConfig,
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl<R: Read> IvfReader<R> {
    /// Reads the file header.
    ///
    /// # Errors
    /// [`MediaError::Ivf`], [`MediaError::IvfCodec`], [`MediaError::Io`].
    pub fn new(mut inner: R) -> Result<Self, MediaError> {
        let mut h = [0u8; FILE_HEADER];
        read_full(&mut inner, &mut h, MediaError::Ivf("stream cut short"))?
            .then_some(())
            .ok_or(MediaError::Ivf("empty stream"))?;
        if &h[0..4] != b"DKIF" {
            return Err(MediaError::Ivf("no DKIF signature"));
        }
        let header_len = usize::from(le16(&h[6..8]));
        if header_len < FILE_HEADER {
            return Err(MediaError::Ivf("header length below 32"));
        }
        let fourcc = [h[8], h[9], h[10], h[11]];
        let codec = Codec::from_fourcc(fourcc)
            .ok_or_else(|| MediaError::IvfCodec(String::from_utf8_lossy(&fourcc).into_owned()))?;
        let (width, height) = (le16(&h[12..14]), le16(&h[14..16]));
        // The header stores the time base as rate (denominator) then scale (numerator).
        let (den, num) = (le32(&h[16..20]), le32(&h[20..24]));
        if den == 0 || num == 0 {
            return Err(MediaError::Ivf("zero time base"));
        }
        // A longer header: skip what follows the 32 bytes.
        let mut skip = vec![0u8; header_len - FILE_HEADER];
        read_full(&mut inner, &mut skip, MediaError::Ivf("stream cut short"))?
            .then_some(())
            .ok_or(MediaError::Ivf("file header cut short"))?;
        Ok(IvfReader {
            inner,
            codec,
            config: TrackConfig::Video {
                width,
                height,
                timebase_num: num,
                timebase_den: den,
            },
        })
    }

    /// The next frame; `None` at the end of the stream (or inside a frame header cut short).
    ///
    /// # Errors
    /// [`MediaError::Ivf`] for a frame over [`MAX_FRAME`] or cut short, [`MediaError::Io`].
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>, MediaError> {
        let mut h = [0u8; FRAME_HEADER];
        if !read_full(&mut self.inner, &mut h, MediaError::Ivf("stream cut short"))? {
            return Ok(None);
        }
        let size = le32(&h[0..4]) as usize;
        if size > MAX_FRAME {
            return Err(MediaError::Ivf("frame larger than 240 KiB"));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&h[4..12]);
        let mut data = vec![0u8; size];
        if !read_full(
            &mut self.inner,
            &mut data,
            MediaError::Ivf("stream cut short"),
        )? {
            return Err(MediaError::Ivf("frame cut short"));
        }
        Ok(Some(IvfFrame {
            timestamp: u64::from_le_bytes(ts),
            data,
        }))
    }
}

/// Whether an IVF frame is a keyframe (where a decoder can start).
pub fn is_keyframe(codec: Codec, frame: &[u8]) -> bool {
    match (codec, frame.first()) {
        // RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame.
        (Codec::Vp8, Some(b)) => b & 0x01 == 0,
        // VP9 uncompressed header: frame_marker(2) profile(2) [reserved(1) if profile 3]
        // show_existing_frame(1) frame_type(1), frame_type 0 = key frame.
        (Codec::Vp9, Some(&b)) => {
            let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
            // Bit indices from the MSB: marker 0-1, profile 2-3, then the flags.
            let bit = if profile == 3 { 5 } else { 4 };
            let show_existing = (b >> (7 - bit)) & 1;
            show_existing == 0 && (b >> (6 - bit)) & 1 == 0
        }
        // AV1: a temporal unit that carries a sequence header OBU (type 1) starts a keyframe
        // in the streams encoders write into IVF.
        (Codec::Av1, Some(_)) => av1_has_sequence_header(frame),
        _ => false,
    }
}

fn av1_has_sequence_header(mut b: &[u8]) -> bool {
    while let Some((&h, rest)) = b.split_first() {
        let obu_type = (h >> 3) & 0x0F;
        if obu_type == 1 {
            return true;
        }
        let has_ext = h & 0x04 != 0;
        let has_size = h & 0x02 != 0;
        let mut rest = rest;
        if has_ext {
            let Some((_, r)) = rest.split_first() else {
                return false;
            };
            rest = r;
        }
        if !has_size {
            return false;
        }
        // LEB128 size.
        let mut size: u64 = 0;
        let mut i = 0;
        loop {
            let Some(&byte) = rest.get(i) else {
                return false;
            };
            size |= u64::from(byte & 0x7F) << (7 * i);
            i += 1;
            if byte & 0x80 == 0 || i == 8 {
                break;
            }
        }
        let Some(next) = usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_add(i))
            .and_then(|end| rest.get(end..))
        else {
            return false;
        };
        b = next;
    }
    false
}

/// Writes an IVF stream as it goes. The header's frame count is written as 0 (players ignore
/// it; ffmpeg reads to the end), so the file is valid at every frame boundary.
#[derive(Debug)]
pub struct IvfWriter<W: Write> {
    inner: W,
    frames: u64,
}

impl<W: Write> IvfWriter<W> {
    /// Writes the file header for `codec` and `config` (a video configuration).
    ///
    /// # Errors
    /// [`MediaError::Ivf`] for an audio codec or configuration, [`MediaError::Io`].
    pub fn new(mut inner: W, codec: Codec, config: &TrackConfig) -> Result<Self, MediaError> {
        let (
            Some(fourcc),
            TrackConfig::Video {
                width,
                height,
                timebase_num,
                timebase_den,
            },
        ) = (codec.fourcc(), config)
        else {
            return Err(MediaError::Ivf("not a video track"));
        };
        let mut h = [0u8; FILE_HEADER];
        h[0..4].copy_from_slice(b"DKIF");
        h[6..8].copy_from_slice(&(FILE_HEADER as u16).to_le_bytes());
        h[8..12].copy_from_slice(&fourcc);
        h[12..14].copy_from_slice(&width.to_le_bytes());
        h[14..16].copy_from_slice(&height.to_le_bytes());
        h[16..20].copy_from_slice(&timebase_den.to_le_bytes());
        h[20..24].copy_from_slice(&timebase_num.to_le_bytes());
        inner.write_all(&h)?;
        inner.flush()?;
        Ok(IvfWriter { inner, frames: 0 })
    }

    /// Appends one frame and flushes.
    ///
    /// # Errors
    /// [`MediaError::Io`]; [`MediaError::Ivf`] for a frame over 4 GiB.
    pub fn write_frame(&mut self, timestamp: u64, data: &[u8]) -> Result<(), MediaError> {
        let size = u32::try_from(data.len()).map_err(|_| MediaError::Ivf("frame too large"))?;
        let mut h = [0u8; FRAME_HEADER];
        h[0..4].copy_from_slice(&size.to_le_bytes());
        h[4..12].copy_from_slice(&timestamp.to_le_bytes());
        self.inner.write_all(&h)?;
        self.inner.write_all(data)?;
        self.inner.flush()?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> TrackConfig {
        TrackConfig::Video {
            width: 320,
            height: 240,
            timebase_num: 1,
            timebase_den: 30,
        }
    }

    #[test]
    fn written_frames_read_back() {
        let mut w = IvfWriter::new(Vec::new(), Codec::Vp8, &config()).unwrap();
        w.write_frame(0, &[0x10, 1, 2]).unwrap();
        w.write_frame(1, &[0x11, 3]).unwrap();
        let bytes = w.inner;
        let mut r = IvfReader::new(&bytes[..]).unwrap();
        assert_eq!(r.codec, Codec::Vp8);
        assert_eq!(r.config, config());
        let a = r.next_frame().unwrap().unwrap();
        assert_eq!((a.timestamp, a.data.as_slice()), (0, &[0x10, 1, 2][..]));
        assert!(is_keyframe(Codec::Vp8, &a.data));
        let b = r.next_frame().unwrap().unwrap();
        assert!(!is_keyframe(Codec::Vp8, &b.data));
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let mut w = IvfWriter::new(Vec::new(), Codec::Vp9, &config()).unwrap();
        w.write_frame(0, &[0u8; 100]).unwrap();
        let bytes = w.inner;
        for cut in 0..bytes.len() {
            let r = IvfReader::new(&bytes[..cut]);
            if let Ok(mut r) = r {
                // Cut inside a frame: an error; at a boundary: the end.
                let _ = r.next_frame();
            }
        }
        let mut bad = bytes.clone();
        bad[8..12].copy_from_slice(b"H264");
        assert!(matches!(
            IvfReader::new(&bad[..]),
            Err(MediaError::IvfCodec(_))
        ));
        let mut huge = bytes.clone();
        huge[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = IvfReader::new(&huge[..]).unwrap();
        assert!(r.next_frame().is_err());
    }

    #[test]
    fn av1_sequence_header_marks_a_keyframe() {
        // Temporal delimiter (type 2, size 0), then a sequence header (type 1, size 1).
        assert!(is_keyframe(Codec::Av1, &[0x12, 0x00, 0x0A, 0x01, 0x00]));
        // Temporal delimiter, then a frame OBU (type 6).
        assert!(!is_keyframe(Codec::Av1, &[0x12, 0x00, 0x32, 0x01, 0x00]));
    }
}
