//! How a benchmark frame is built and checked (SPEC §4 for the sealed form).
//!
//! Payload of every frame: `send_ns: u64 LE || seq: u64 LE || zero fill` up to `--frame-size`
//! bytes. `send_ns` is read from [`now_ns`] right before the seal call, so the latency a
//! receiver records runs from the sender's seal call to its own successful open.
//!
//! - `plain`: `SFrame header || payload`, nothing sealed (the relay only forwards frames that
//!   start with a valid SFrame header, so plain frames carry one with KID = sender index).
//! - `sframe`: the payload sealed by a [`Sealer`] (one key per sender, KID = sender index) and
//!   opened by an [`Opener`] holding every sender's key: hush-frame alone, no group layer.
//! - `e2ee` / `transport`: the payload handed to `hush_client::Meeting::send_media`, which
//!   seals it under the meeting's current sender key; receivers get the opened plaintext from
//!   the meeting's events.

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use hush_frame::{BaseKey, CipherSuite, Header, Opener, Sealer};

use super::stats::now_ns;

/// Bytes of the stamp at the start of every payload (send time and sequence number).
pub const STAMP_LEN: usize = 16;

/// Whether frames are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    /// Not sealed: a bare SFrame header in front of the payload.
    Plain,
    /// Sealed with hush-frame under this suite.
    Sealed(CipherSuite),
    /// Sealed and opened by `hush_client::Meeting`: the codec sees plaintext only.
    Meeting,
}

/// The bench's base key for sender `kid` (fixed: a benchmark needs no secrecy, and every
/// receiver must hold every sender's key without a key exchange).
fn base_key(suite: CipherSuite, kid: u64) -> anyhow::Result<BaseKey> {
    let mut k = vec![0x5a; suite.key_len()];
    for (b, x) in k.iter_mut().zip(kid.to_le_bytes()) {
        *b ^= x;
    }
    BaseKey::new(k).context("bench base key")
}

/// The sending side of one participant.
pub struct SendCodec {
    kind: SendKind,
    seq: u64,
    frame_size: usize,
    buf: BytesMut,
}

enum SendKind {
    Plain { kid: u64 },
    Meeting,
    Sealed(Box<Sealer>),
}

impl SendCodec {
    /// A codec for sender `kid`, producing payloads of `frame_size` bytes.
    pub fn new(sealing: Sealing, kid: u64, frame_size: usize) -> anyhow::Result<Self> {
        let kind = match sealing {
            Sealing::Plain => SendKind::Plain { kid },
            Sealing::Meeting => SendKind::Meeting,
            Sealing::Sealed(suite) => {
                SendKind::Sealed(Box::new(Sealer::new(suite, kid, base_key(suite, kid)?)))
            }
        };
        Ok(SendCodec {
            kind,
            seq: 0,
            frame_size: frame_size.max(STAMP_LEN),
            buf: BytesMut::new(),
        })
    }

    /// Sets the payload size of the frames that follow (a media trace's next frame).
    pub fn set_frame_size(&mut self, size: usize) {
        self.frame_size = size.max(STAMP_LEN);
    }

    /// Stamps, builds and (in e2ee) seals the next frame.
    pub fn next_frame(&mut self) -> anyhow::Result<Bytes> {
        // Room for the payload, the longest header and a tag; once the previous frames'
        // `Bytes` are dropped this reuses the same allocation.
        self.buf.reserve(self.frame_size + 64);
        let seq = self.seq;
        self.seq += 1;
        match &mut self.kind {
            SendKind::Plain { kid } => {
                let stamp = now_ns();
                let (h, n) = Header::new(*kid, seq).to_array();
                self.buf.extend_from_slice(&h[..n]);
                fill(&mut self.buf, stamp, seq, self.frame_size);
            }
            SendKind::Sealed(sealer) => {
                let stamp = now_ns();
                fill(&mut self.buf, stamp, seq, self.frame_size);
                sealer.seal(&[], &mut self.buf).context("seal")?;
            }
            SendKind::Meeting => {
                fill(&mut self.buf, now_ns(), seq, self.frame_size);
            }
        }
        Ok(self.buf.split().freeze())
    }

    /// Stamps the next plaintext into the codec's buffer and returns it, for a sender that
    /// seals it itself right away (`Meeting::send_media` empties it again).
    pub fn next_plaintext(&mut self) -> &mut BytesMut {
        self.buf.reserve(self.frame_size + 64);
        let seq = self.seq;
        self.seq += 1;
        fill(&mut self.buf, now_ns(), seq, self.frame_size);
        &mut self.buf
    }
}

fn fill(buf: &mut BytesMut, stamp: u64, seq: u64, size: usize) {
    buf.extend_from_slice(&stamp.to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.resize(buf.len() + size - STAMP_LEN, 0);
}

/// `RecvCodec`'s frame size for a media trace: any payload of at least the stamp.
pub const ANY_SIZE: usize = 0;

/// The receiving side of one participant.
pub struct RecvCodec {
    opener: Option<Opener>,
    header: bool,
    frame_size: usize,
    scratch: Vec<u8>,
}

impl RecvCodec {
    /// A codec that accepts frames from senders `0..senders`.
    pub fn new(sealing: Sealing, senders: usize, frame_size: usize) -> anyhow::Result<Self> {
        let opener = match sealing {
            Sealing::Plain | Sealing::Meeting => None,
            Sealing::Sealed(suite) => {
                let mut o = Opener::with_replay_window(hush_frame::MAX_REPLAY_WINDOW)?;
                for kid in 0..senders as u64 {
                    o.add_key(kid, suite, base_key(suite, kid)?)?;
                }
                Some(o)
            }
        };
        Ok(RecvCodec {
            opener,
            header: sealing == Sealing::Plain,
            frame_size: if frame_size == ANY_SIZE {
                ANY_SIZE
            } else {
                frame_size.max(STAMP_LEN)
            },
            scratch: Vec::new(),
        })
    }

    /// Opens (or, in plain, parses) one frame and returns its send stamp.
    pub fn open(&mut self, frame: &[u8]) -> anyhow::Result<u64> {
        let payload: &[u8] = match &mut self.opener {
            None if self.header => {
                let (_, n) = Header::decode(frame)?;
                &frame[n..]
            }
            None => frame,
            Some(o) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(frame);
                o.open(&[], &mut self.scratch)?;
                &self.scratch
            }
        };
        if payload.len() < STAMP_LEN
            || (self.frame_size != ANY_SIZE && payload.len() != self.frame_size)
        {
            bail!(
                "payload of {} bytes, expected {}",
                payload.len(),
                self.frame_size
            );
        }
        let mut stamp = [0u8; 8];
        stamp.copy_from_slice(&payload[..8]);
        Ok(u64::from_le_bytes(stamp))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_sealings() {
        for sealing in [
            Sealing::Plain,
            Sealing::Sealed(CipherSuite::ChaCha20Poly1305Sha256),
            Sealing::Sealed(CipherSuite::Aes128GcmSha256),
            Sealing::Meeting,
        ] {
            let mut tx = SendCodec::new(sealing, 1, 160).unwrap();
            let mut rx = RecvCodec::new(sealing, 2, 160).unwrap();
            let f0 = tx.next_frame().unwrap();
            let f1 = tx.next_frame().unwrap();
            let s0 = rx.open(&f0).unwrap();
            let s1 = rx.open(&f1).unwrap();
            assert!(s0 <= s1 && s1 <= now_ns());
            if let Sealing::Sealed(_) = sealing {
                assert!(rx.open(&f0).is_err(), "replay refused");
                let mut bad = f1.to_vec();
                let last = bad.len() - 1;
                bad[last] ^= 1;
                assert!(rx.open(&bad).is_err(), "forgery refused");
            }
            let mut wrong = RecvCodec::new(sealing, 2, 100).unwrap();
            assert!(wrong.open(&tx.next_frame().unwrap()).is_err());
        }
    }
}
