//! A media input (`hush join --media-in PATH`, or `-` for stdin) recognised by its first bytes:
//! `DKIF` is IVF, `OggS` is Ogg/Opus; anything else is one clear error before joining.

use std::io::{Cursor, Read};

use crate::MediaError;
use crate::header::{Codec, TrackConfig};
use crate::ivf::{self, IvfReader};
use crate::opus::OpusReader;

/// A reader an input is read from (a file or stdin), sendable to a reading thread.
pub type Input = Box<dyn Read + Send>;

/// One frame of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// Timestamp in the track's time base.
    pub timestamp: u64,
    /// Where a decoder can start.
    pub keyframe: bool,
    /// The codec frame (IVF frame or Opus packet).
    pub data: Vec<u8>,
}

enum Reader {
    Ivf(IvfReader<Input>),
    Opus(OpusReader<Input>),
}

/// An opened input: its codec, configuration and frames.
pub struct Source {
    reader: Reader,
    codec: Codec,
    config: TrackConfig,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("codec", &self.codec)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Recognises the input and reads its headers.
    ///
    /// # Errors
    /// [`MediaError::UnknownFormat`] naming the first bytes; the format's own errors.
    pub fn open(mut input: Input) -> Result<Self, MediaError> {
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match input.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let first = magic[..got].to_vec();
        let input: Input = Box::new(Cursor::new(first.clone()).chain(input));
        match &magic[..got] {
            b"DKIF" => {
                let r = IvfReader::new(input)?;
                Ok(Source {
                    codec: r.codec,
                    config: r.config.clone(),
                    reader: Reader::Ivf(r),
                })
            }
            b"OggS" => {
                let r = OpusReader::new(input)?;
                Ok(Source {
                    codec: Codec::Opus,
                    config: TrackConfig::Opus {
                        head: r.head.clone(),
                    },
                    reader: Reader::Opus(r),
                })
            }
            _ if got == 0 => Err(MediaError::UnknownFormat("nothing: it is empty".into())),
            other => Err(MediaError::UnknownFormat(format!(
                "{:?}",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// The track's codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The track's configuration (sent with keyframes).
    pub fn config(&self) -> &TrackConfig {
        &self.config
    }

    /// The next frame; `None` at the end.
    ///
    /// # Errors
    /// The format's errors.
    pub fn next_frame(&mut self) -> Result<Option<MediaFrame>, MediaError> {
        match &mut self.reader {
            Reader::Ivf(r) => Ok(r.next_frame()?.map(|f| MediaFrame {
                keyframe: ivf::is_keyframe(self.codec, &f.data),
                timestamp: f.timestamp,
                data: f.data,
            })),
            Reader::Opus(r) => Ok(r.next_packet()?.map(|p| MediaFrame {
                timestamp: p.timestamp,
                keyframe: true,
                data: p.data,
            })),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_empty_inputs_are_named() {
        let e = Source::open(Box::new(Cursor::new(b"\x00\x00\x00\x18ftypmp42".to_vec())))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("not IVF or Ogg/Opus (it starts with"), "{e}");
        let e = Source::open(Box::new(Cursor::new(Vec::new())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
    }
}
