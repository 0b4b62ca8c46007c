//! The UDP sink's datagram framing (SPEC §13.3): each decrypted media payload is cut into chunks
//! of at most `datagram_size - 16` bytes, each sent as one datagram behind a 16-byte header
//! `{version, flags, sender, seq, chunk index, chunk count}`. Sans-IO: [`Datagrams`] writes
//! datagrams into a caller buffer, [`DatagramHeader::decode`] and [`Reassembler`] are the legacy
//! side's reading rules (used by the tests, and by anyone writing a gateway).
//!
//! Everything here is plaintext by nature: this is the non-E2EE side of the bridge.

use std::collections::{HashMap, VecDeque};

pub use crate::datagram_size::{DEFAULT_DATAGRAM_SIZE, MAX_DATAGRAM_SIZE, MIN_DATAGRAM_SIZE};
use crate::error::ConnectorError;

/// Framing version, the first byte of every datagram.
pub const VERSION: u8 = 0x01;
/// Length of the header in front of every chunk.
pub const HEADER_LEN: usize = 16;
/// How many incomplete frames a [`Reassembler`] keeps before dropping the oldest.
pub const REASSEMBLY_WINDOW: usize = 64;

/// The 16-byte header of a datagram (integers big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramHeader {
    /// The sender's index in the roster of the epoch the frame was sealed in.
    pub sender: u16,
    /// The connector's frame sequence number: 0 for the first frame bridged to this sink, then
    /// +1 per frame (not per datagram).
    pub seq: u64,
    /// This chunk's index, `0..count`.
    pub index: u16,
    /// How many chunks the frame was cut into (at least 1).
    pub count: u16,
}

impl DatagramHeader {
    /// Writes the header's 16 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(0);
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
    }

    /// Parses a datagram into its header and chunk bytes.
    ///
    /// # Errors
    /// [`ConnectorError::MalformedDatagram`]: shorter than the header, another version, flags
    /// not zero, a count of 0 or an index not below the count.
    pub fn decode(datagram: &[u8]) -> Result<(DatagramHeader, &[u8]), ConnectorError> {
        let Some((h, chunk)) = datagram.split_first_chunk::<HEADER_LEN>() else {
            return Err(ConnectorError::MalformedDatagram("shorter than the header"));
        };
        if h[0] != VERSION {
            return Err(ConnectorError::MalformedDatagram("unknown version"));
        }
        if h[1] != 0 {
            return Err(ConnectorError::MalformedDatagram("reserved flags set"));
        }
        let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&h[4..12]);
        let header = DatagramHeader {
            sender: u16_at(2),
            seq: u64::from_be_bytes(seq),
            index: u16_at(12),
            count: u16_at(14),
        };
        if header.count == 0 {
            return Err(ConnectorError::MalformedDatagram("chunk count 0"));
        }
        if header.index >= header.count {
            return Err(ConnectorError::MalformedDatagram(
                "chunk index not below count",
            ));
        }
        Ok((header, chunk))
    }
}

/// Checks a datagram size and returns the chunk size (`datagram_size - HEADER_LEN`).
///
/// # Errors
/// [`ConnectorError::DatagramSize`] outside [`MIN_DATAGRAM_SIZE`]..=[`MAX_DATAGRAM_SIZE`].
pub fn chunk_size(datagram_size: usize) -> Result<usize, ConnectorError> {
    if (MIN_DATAGRAM_SIZE..=MAX_DATAGRAM_SIZE).contains(&datagram_size) {
        Ok(datagram_size - HEADER_LEN)
    } else {
        Err(ConnectorError::DatagramSize(datagram_size))
    }
}

/// The datagrams of one frame, written one at a time into a caller buffer.
#[derive(Debug)]
pub struct Datagrams<'a> {
    sender: u16,
    seq: u64,
    payload: &'a [u8],
    chunk: usize,
    count: u16,
    next: u16,
}

impl<'a> Datagrams<'a> {
    /// Cuts `payload` for a sink with this datagram size. An empty payload is one datagram
    /// holding the header alone.
    ///
    /// # Errors
    /// [`ConnectorError::DatagramSize`], [`ConnectorError::PayloadTooLarge`].
    pub fn new(
        sender: u16,
        seq: u64,
        payload: &'a [u8],
        datagram_size: usize,
    ) -> Result<Self, ConnectorError> {
        let chunk = chunk_size(datagram_size)?;
        let count = payload.len().div_ceil(chunk).max(1);
        let count =
            u16::try_from(count).map_err(|_| ConnectorError::PayloadTooLarge(payload.len()))?;
        Ok(Datagrams {
            sender,
            seq,
            payload,
            chunk,
            count,
            next: 0,
        })
    }

    /// How many datagrams the frame takes.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Clears `out` and writes the next datagram into it; false when every datagram was written.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> bool {
        if self.next >= self.count {
            return false;
        }
        let start = usize::from(self.next) * self.chunk;
        let end = (start + self.chunk).min(self.payload.len());
        out.clear();
        DatagramHeader {
            sender: self.sender,
            seq: self.seq,
            index: self.next,
            count: self.count,
        }
        .encode(out);
        out.extend_from_slice(self.payload.get(start..end).unwrap_or_default());
        self.next += 1;
        true
    }
}

/// A frame put back together by a [`Reassembler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// Sender's roster index.
    pub sender: u16,
    /// Connector frame sequence number.
    pub seq: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct Partial {
    sender: u16,
    chunks: Vec<Option<Vec<u8>>>,
    missing: usize,
}

/// The legacy side's reading rule (SPEC §13.3): collects chunks by `seq`; a frame is complete
/// when every index `0..count` arrived. Duplicates are ignored; a chunk whose sender or count
/// disagrees with the first chunk of its `seq` is refused; at most [`REASSEMBLY_WINDOW`]
/// incomplete frames are kept (the oldest is dropped). UDP may lose chunks: a frame with a
/// lost chunk never completes.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: HashMap<u64, Partial>,
    order: VecDeque<u64>,
    dropped: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one datagram; returns the frame it completed, if any.
    ///
    /// # Errors
    /// [`ConnectorError::MalformedDatagram`], also for a chunk inconsistent with its frame.
    pub fn push(&mut self, datagram: &[u8]) -> Result<Option<Reassembled>, ConnectorError> {
        let (h, chunk) = DatagramHeader::decode(datagram)?;
        if h.count == 1 {
            return Ok(Some(Reassembled {
                sender: h.sender,
                seq: h.seq,
                payload: chunk.to_vec(),
            }));
        }
        if !self.partial.contains_key(&h.seq) {
            if self.order.len() >= REASSEMBLY_WINDOW
                && let Some(old) = self.order.pop_front()
            {
                self.partial.remove(&old);
                self.dropped += 1;
            }
            self.order.push_back(h.seq);
            self.partial.insert(
                h.seq,
                Partial {
                    sender: h.sender,
                    chunks: vec![None; usize::from(h.count)],
                    missing: usize::from(h.count),
                },
            );
        }
        let Some(p) = self.partial.get_mut(&h.seq) else {
            return Ok(None);
        };
        if p.sender != h.sender || p.chunks.len() != usize::from(h.count) {
            return Err(ConnectorError::MalformedDatagram(
                "chunk disagrees with its frame's sender or count",
            ));
        }
        let Some(slot) = p.chunks.get_mut(usize::from(h.index)) else {
            return Ok(None);
        };
        if slot.is_none() {
            *slot = Some(chunk.to_vec());
            p.missing -= 1;
        }
        if p.missing > 0 {
            return Ok(None);
        }
        let Some(p) = self.partial.remove(&h.seq) else {
            return Ok(None);
        };
        self.order.retain(|s| *s != h.seq);
        Ok(Some(Reassembled {
            sender: p.sender,
            seq: h.seq,
            payload: p.chunks.into_iter().flatten().flatten().collect(),
        }))
    }

    /// Incomplete frames dropped to keep the window.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Incomplete frames held now.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(sender: u16, seq: u64, payload: &[u8], size: usize) -> Vec<Vec<u8>> {
        let mut d = Datagrams::new(sender, seq, payload, size).unwrap();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while d.next_into(&mut buf) {
            assert!(buf.len() <= size);
            out.push(buf.clone());
        }
        assert_eq!(out.len(), usize::from(d.count()));
        out
    }

    #[test]
    fn header_layout_is_exact() {
        let mut out = Vec::new();
        DatagramHeader {
            sender: 0x0102,
            seq: 0x0304_0506_0708_090A,
            index: 0x0B0C,
            count: 0x0D0E,
        }
        .encode(&mut out);
        assert_eq!(
            out,
            [1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].to_vec()
        );
    }

    #[test]
    fn small_and_empty_payloads_take_one_datagram() {
        let d = all(3, 9, b"hi", 1200);
        assert_eq!(
            d,
            vec![[&[1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1][..], b"hi"].concat()]
        );
        let d = all(0, 0, b"", 1200);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].len(), HEADER_LEN);
    }

    #[test]
    fn exact_multiple_does_not_add_an_empty_chunk() {
        let payload = vec![7u8; 2 * (1200 - HEADER_LEN)];
        let d = all(1, 1, &payload, 1200);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|x| x.len() == 1200));
    }

    #[test]
    fn bad_sizes_and_datagrams_are_refused() {
        assert!(matches!(
            chunk_size(63),
            Err(ConnectorError::DatagramSize(63))
        ));
        assert!(matches!(
            chunk_size(65_508),
            Err(ConnectorError::DatagramSize(_))
        ));
        let too_big = vec![0u8; 65_536 * 48];
        assert!(matches!(
            Datagrams::new(0, 0, &too_big, 64),
            Err(ConnectorError::PayloadTooLarge(_))
        ));
        let good = all(0, 0, b"x", 64).remove(0);
        assert!(DatagramHeader::decode(&good[..15]).is_err());
        for (i, v) in [(0, 2u8), (1, 1), (15, 0)] {
            let mut bad = good.clone();
            bad[i] = v;
            assert!(DatagramHeader::decode(&bad).is_err(), "byte {i} = {v}");
        }
        let mut bad = good.clone();
        bad[13] = 1; // index 1 of count 1
        assert!(DatagramHeader::decode(&bad).is_err());
    }

    #[test]
    fn inconsistent_chunks_are_refused() {
        let payload = vec![1u8; 100];
        let d = all(1, 5, &payload, 64);
        let mut r = Reassembler::new();
        assert_eq!(r.push(&d[0]).unwrap(), None);
        let mut other = d[1].clone();
        other[3] = 2; // another sender for the same seq
        assert!(r.push(&other).is_err());
    }

    #[test]
    fn window_drops_the_oldest_incomplete_frame() {
        let payload = vec![1u8; 100];
        let mut r = Reassembler::new();
        for seq in 0..=REASSEMBLY_WINDOW as u64 {
            r.push(&all(0, seq, &payload, 64)[0]).unwrap();
        }
        assert_eq!(r.dropped(), 1);
        assert_eq!(r.pending(), REASSEMBLY_WINDOW);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip_in_any_order_with_duplicates(
            payload in proptest::collection::vec(any::<u8>(), 0..5000),
            size in 64usize..1500,
            sender: u16,
            seq: u64,
            seed: u64,
        ) {
            let mut d = all(sender, seq, &payload, size);
            let n = d.len();
            // A deterministic shuffle and one duplicate.
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                d.swap(i, (s >> 33) as usize % (i + 1));
            }
            d.insert(0, d[n - 1].clone());
            let mut r = Reassembler::new();
            let mut done = Vec::new();
            for x in &d {
                if let Some(f) = r.push(x).unwrap() {
                    done.push(f);
                }
            }
            // A duplicate of a lone chunk of a 1-chunk frame completes it twice; otherwise once.
            let expect = if n == 1 { 2 } else { 1 };
            prop_assert_eq!(done.len(), expect);
            prop_assert_eq!(&done[0].payload, &payload);
            prop_assert_eq!(done[0].sender, sender);
            prop_assert_eq!(done[0].seq, seq);
        }
    }
}
