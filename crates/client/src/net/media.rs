//! Media from the relay (SPEC §6.5): the datagram and stream readers, and where their frames go
//! ([`MediaSink`]). Stream-carried frames stay in quinn's own chunks ([`Parts`]): no copy, and no
//! allocation per frame for frames of up to [`INLINE_PARTS`] chunks.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::{Buf, Bytes};
use hush_wire::ErrorCode;
use tokio::sync::mpsc;

use super::error::ProtocolError;
use super::{Event, Inner, close};

/// Where a connection's media frames go, called on the reader's task for each frame as it
/// arrives (no channel hop): [`Event::Media`] on the event channel by default, or a meeting's
/// receive path, which opens the frame in place.
pub(crate) trait MediaSink: Send + Sync + 'static {
    /// One media frame, as received (a datagram, or a stream's frame after its type byte).
    fn on_media(&self, frame: Bytes);

    /// One stream-carried frame in pieces, `head` then `tail`, `len` bytes in all. By default
    /// joined into one buffer (exactly `len`, so it stays uniquely owned) for
    /// [`on_media`](Self::on_media).
    fn on_media_parts(&self, head: &[Bytes], tail: &[Bytes], len: usize) {
        let mut v = Vec::with_capacity(len);
        for p in head.iter().chain(tail) {
            v.extend_from_slice(p);
        }
        self.on_media(Bytes::from(v));
    }
}

/// The default sink: [`Event::Media`] on the connection's event channel.
pub(super) struct ChannelSink {
    pub(super) inner: Arc<Inner>,
    pub(super) tx: mpsc::Sender<Event>,
}

impl MediaSink for ChannelSink {
    fn on_media(&self, frame: Bytes) {
        if self.tx.try_send(Event::Media(frame)).is_err() {
            self.inner.media_dropped.fetch_add(1, Relaxed);
        }
    }
}

/// Hands every datagram to `sink` until the connection ends.
pub(super) async fn datagram_reader(conn: quinn::Connection, sink: Arc<dyn MediaSink>) {
    while let Ok(d) = conn.read_datagram().await {
        sink.on_media(d);
    }
}

/// Reads every relay-opened unidirectional stream (one task each) and hands its frame to
/// `sink`; a stream that is not a media stream closes the connection (`PROTOCOL_VIOLATION`).
pub(super) async fn stream_reader(conn: quinn::Connection, sink: Arc<dyn MediaSink>) {
    while let Ok(recv) = conn.accept_uni().await {
        let sink = sink.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            match read_media_stream(recv).await {
                Ok(Some(parts)) => parts.deliver(&*sink),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "bad media stream");
                    close(&conn, ErrorCode::PROTOCOL_VIOLATION, "bad media stream");
                }
            }
        });
    }
}

/// Chunks kept inline per stream-carried frame before spilling to the heap (a 6 KiB frame
/// arrives in about five).
const INLINE_PARTS: usize = 8;

/// One stream-carried frame as quinn's own chunks (no copy, no list allocation for small
/// frames), the type byte already removed.
#[derive(Default)]
struct Parts {
    inline: [Bytes; INLINE_PARTS],
    n: usize,
    spill: Vec<Bytes>,
    len: usize,
}

impl Parts {
    fn push(&mut self, b: Bytes) {
        self.len += b.len();
        if let Some(slot) = self.inline.get_mut(self.n) {
            *slot = b;
            self.n += 1;
        } else {
            self.spill.push(b);
        }
    }

    fn deliver(mut self, sink: &dyn MediaSink) {
        if self.n == 1 {
            sink.on_media(std::mem::take(&mut self.inline[0]));
        } else {
            let head = self.inline.get(..self.n).unwrap_or_default();
            sink.on_media_parts(head, &self.spill, self.len);
        }
    }
}

/// Reads a media stream to its end: `Ok(None)` if it was reset, the connection failed, or the
/// frame exceeds the maximum size (dropped, as quinn's `read_to_end` limit did); `Err` if it is
/// not a media stream or carries an empty frame.
async fn read_media_stream(mut recv: quinn::RecvStream) -> Result<Option<Parts>, ProtocolError> {
    let mut parts = Parts::default();
    let mut typed = false;
    loop {
        match recv.read_chunk(usize::MAX, true).await {
            Ok(Some(chunk)) => {
                let mut b = chunk.bytes;
                if !typed {
                    let Some(&t) = b.first() else { continue };
                    hush_wire::media::check_stream_type(t).map_err(ProtocolError::StreamType)?;
                    typed = true;
                    b.advance(1);
                }
                if b.is_empty() {
                    continue;
                }
                if parts.len + b.len() > hush_wire::MAX_FRAME_SIZE {
                    return Ok(None);
                }
                parts.push(b);
            }
            Ok(None) if parts.len == 0 => return Err(ProtocolError::EmptyMediaStream),
            Ok(None) => return Ok(Some(parts)),
            Err(_) => return Ok(None),
        }
    }
}
