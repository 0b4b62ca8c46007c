//! Ogg/Opus (RFC 7845): read packet by packet from any reader (a pipe too: pages are parsed with
//! the `ogg` crate's page parser, no seeking), written one packet per page as it goes, so a file
//! cut at any moment is valid up to its last whole page.

use std::io::{Read, Write};

use ogg::reading::{BasePacketReader, PageParser};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::{MediaError, read_full};

/// Largest Opus packet accepted (RFC 6716 allows 1275 bytes per frame, 48 frames per packet).
pub const MAX_PACKET: usize = 61_440;

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte and frame count (RFC 6716 §3.1);
/// `None` for a malformed packet.
pub fn packet_samples(packet: &[u8]) -> Option<u64> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let per_frame: u64 = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*packet.get(1)? & 0x3F),
    };
    let samples = per_frame * frames;
    // At most 120 ms per packet.
    (frames > 0 && samples <= 5760).then_some(samples)
}

/// One Opus packet with its timestamp (samples at 48 kHz since the first packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    /// Samples before this packet.
    pub timestamp: u64,
    /// Samples in it.
    pub samples: u64,
    /// The packet.
    pub data: Vec<u8>,
}

/// Reads the first Opus stream of an Ogg physical stream.
pub struct OpusReader<R> {
    inner: R,
    base: BasePacketReader,
    serial: Option<u32>,
    /// The stream's `OpusHead` packet.
    pub head: Vec<u8>,
    next_ts: u64,
}

impl<R> std::fmt::Debug for OpusReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusReader")
            .field("serial", &self.serial)
            .field("next_ts", &self.next_ts)
            .finish_non_exhaustive()
    }
}

impl<R: Read> OpusReader<R> {
    /// Reads the identification and comment headers.
    ///
    /// # Errors
    /// [`MediaError::Opus`] if the stream is not Ogg/Opus, [`MediaError::Ogg`], [`MediaError::Io`].
    pub fn new(inner: R) -> Result<Self, MediaError> {
        let mut r = OpusReader {
            inner,
            base: BasePacketReader::new(),
            serial: None,
            head: Vec::new(),
            next_ts: 0,
        };
        let head = r.raw_packet()?.ok_or(MediaError::Opus("empty stream"))?;
        if head.len() < 19 || !head.starts_with(b"OpusHead") {
            return Err(MediaError::Opus("the first packet is not OpusHead"));
        }
        if head.len() > crate::header::MAX_CONFIG {
            return Err(MediaError::Opus("OpusHead longer than 255 bytes"));
        }
        r.head = head;
        let tags = r
            .raw_packet()?
            .ok_or(MediaError::Opus("no OpusTags packet"))?;
        if !tags.starts_with(b"OpusTags") {
            return Err(MediaError::Opus("the second packet is not OpusTags"));
        }
        Ok(r)
    }

    /// The next audio packet; `None` at the end.
    ///
    /// # Errors
    /// [`MediaError::Opus`] for a malformed or oversize packet, [`MediaError::Ogg`],
    /// [`MediaError::Io`].
    pub fn next_packet(&mut self) -> Result<Option<OpusPacket>, MediaError> {
        let Some(data) = self.raw_packet()? else {
            return Ok(None);
        };
        if data.len() > MAX_PACKET {
            return Err(MediaError::Opus("packet larger than 60 KiB"));
        }
        let samples = packet_samples(&data).ok_or(MediaError::Opus("malformed packet"))?;
        let timestamp = self.next_ts;
        self.next_ts += samples;
        Ok(Some(OpusPacket {
            timestamp,
            samples,
            data,
        }))
    }

    /// The next packet of the first logical stream (others are skipped).
    fn raw_packet(&mut self) -> Result<Option<Vec<u8>>, MediaError> {
        loop {
            while let Some(p) = self.base.read_packet() {
                let serial = *self.serial.get_or_insert(p.stream_serial());
                if p.stream_serial() == serial {
                    return Ok(Some(p.data));
                }
            }
            if !self.read_page()? {
                return Ok(None);
            }
        }
    }

    /// Reads one page into the packet reader; false at the end of the stream.
    fn read_page(&mut self) -> Result<bool, MediaError> {
        let mut header = [0u8; 27];
        if !read_full(
            &mut self.inner,
            &mut header,
            MediaError::Opus("stream cut short"),
        )? {
            return Ok(false);
        }
        if &header[..4] != b"OggS" {
            return Err(MediaError::Opus(
                "no OggS capture pattern at a page boundary",
            ));
        }
        let (mut parser, segments) = PageParser::new(header)?;
        let mut seg = vec![0u8; segments];
        if !read_full(
            &mut self.inner,
            &mut seg,
            MediaError::Opus("stream cut short"),
        )? {
            return Err(MediaError::Opus("page cut short"));
        }
        let len = parser.parse_segments(seg);
        let mut data = vec![0u8; len];
        if !read_full(
            &mut self.inner,
            &mut data,
            MediaError::Opus("stream cut short"),
        )? {
            return Err(MediaError::Opus("page cut short"));
        }
        let page = parser.parse_packet_data(data)?;
        self.base.push_page(page)?;
        Ok(true)
    }
}

/// Writes an Ogg/Opus stream, one packet per page, flushed as it goes.
pub struct OpusWriter<W: Write> {
    inner: PacketWriter<'static, W>,
    serial: u32,
    packets: u64,
}

impl<W: Write> std::fmt::Debug for OpusWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusWriter")
            .field("serial", &self.serial)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

/// The `OpusTags` packet hush writes: vendor `hush`, no comments.
fn tags() -> Vec<u8> {
    let mut t = b"OpusTags".to_vec();
    t.extend_from_slice(&4u32.to_le_bytes());
    t.extend_from_slice(b"hush");
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

impl<W: Write> OpusWriter<W> {
    /// Starts a stream with `head` (an `OpusHead` packet) and hush's `OpusTags`.
    ///
    /// # Errors
    /// [`MediaError::Opus`] for a bad `head`, [`MediaError::Io`].
    pub fn new(inner: W, head: &[u8], serial: u32) -> Result<Self, MediaError> {
        if head.len() < 19 || !head.starts_with(b"OpusHead") {
            return Err(MediaError::Opus("not an OpusHead packet"));
        }
        let mut w = PacketWriter::new(inner);
        w.write_packet(head.to_vec(), serial, PacketWriteEndInfo::EndPage, 0)?;
        w.write_packet(tags(), serial, PacketWriteEndInfo::EndPage, 0)?;
        w.inner_mut().flush()?;
        Ok(OpusWriter {
            inner: w,
            serial,
            packets: 0,
        })
    }

    /// Appends a packet that starts `timestamp` samples into the stream, on its own page (its
    /// granule position is where the packet ends), and flushes.
    ///
    /// # Errors
    /// [`MediaError::Opus`] for a malformed packet, [`MediaError::Io`].
    pub fn write_packet(&mut self, timestamp: u64, data: &[u8]) -> Result<(), MediaError> {
        let samples = packet_samples(data).ok_or(MediaError::Opus("malformed packet"))?;
        self.inner.write_packet(
            data.to_vec(),
            self.serial,
            PacketWriteEndInfo::EndPage,
            timestamp + samples,
        )?;
        self.inner.inner_mut().flush()?;
        self.packets += 1;
        Ok(())
    }

    /// Packets written.
    pub fn packets(&self) -> u64 {
        self.packets
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0";

    #[test]
    fn toc_durations() {
        assert_eq!(packet_samples(&[0xFC]), Some(960)); // CELT 20 ms, one frame
        assert_eq!(packet_samples(&[0xF8 | 1]), Some(1920)); // two frames
        assert_eq!(packet_samples(&[0x1B, 0x02]), Some(5760)); // SILK 60 ms, two frames
        assert_eq!(packet_samples(&[0x03, 0x00]), None, "zero frames");
        assert_eq!(packet_samples(&[0x1B, 0x03]), None, "over 120 ms");
        assert_eq!(packet_samples(&[]), None);
    }

    #[test]
    fn written_packets_read_back_with_their_timestamps() {
        let mut w = OpusWriter::new(Vec::new(), HEAD, 7).unwrap();
        let packets: Vec<Vec<u8>> = (0..5u8).map(|i| vec![0xFC, i, i, i]).collect();
        for (i, p) in packets.iter().enumerate() {
            w.write_packet(i as u64 * 960, p).unwrap();
        }
        let bytes = w.inner.into_inner();
        let mut r = OpusReader::new(&bytes[..]).unwrap();
        assert_eq!(r.head, HEAD);
        for (i, p) in packets.iter().enumerate() {
            let got = r.next_packet().unwrap().unwrap();
            assert_eq!(got.data, *p);
            assert_eq!(got.timestamp, i as u64 * 960);
            assert_eq!(got.samples, 960);
        }
        assert!(r.next_packet().unwrap().is_none());
        // Cut anywhere: an error or fewer packets, never a panic.
        for cut in 0..bytes.len() {
            if let Ok(mut r) = OpusReader::new(&bytes[..cut]) {
                while let Ok(Some(_)) = r.next_packet() {}
            }
        }
    }
}
