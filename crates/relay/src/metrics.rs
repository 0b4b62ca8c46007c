//! Counters (atomics) and the Prometheus text endpoint `GET /metrics` (SPEC §7.8).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::time::Duration;

use hush_wire::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::budget::Gauge;

/// HTTP connections served at once by the metrics endpoint; more are closed on accept.
pub(crate) const MAX_HTTP_CONNECTIONS: usize = 64;
/// Time a metrics client has to send its request head.
pub(crate) const HTTP_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a metrics connection may live in all (request and response).
pub(crate) const HTTP_TOTAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Live counters. All are monotonic except the `*_open` gauges.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) connections_total: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) rooms_open: AtomicU64,
    pub(crate) participants_open: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) drops: AtomicU64,
    pub(crate) control_in: AtomicU64,
    pub(crate) control_bytes_in: AtomicU64,
    pub(crate) control_out: AtomicU64,
    pub(crate) closes: [AtomicU64; ErrorCode::ALL.len()],
    /// Control messages queued to receivers, in bytes (SPEC §7.5).
    pub(crate) control_queued: Arc<Gauge>,
    /// Stream-carried media frames queued or being written to receivers, in bytes.
    pub(crate) stream_queued: Arc<Gauge>,
    /// Unfinished inbound media streams, in bytes.
    pub(crate) inbound_pending: Arc<Gauge>,
    /// Metrics HTTP connections closed on accept because [`MAX_HTTP_CONNECTIONS`] were open.
    pub(crate) http_refused: AtomicU64,
}

/// A snapshot of the relay's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Rooms open now.
    pub rooms_open: u64,
    /// Participants in rooms now.
    pub participants_open: u64,
    /// Media frames received.
    pub frames_in: u64,
    /// Media bytes received.
    pub bytes_in: u64,
    /// Media frames sent (one per receiver).
    pub frames_out: u64,
    /// Media bytes sent.
    pub bytes_out: u64,
    /// Media frames dropped for slow receivers.
    pub drops: u64,
    /// Control messages received.
    pub control_in: u64,
    /// Control bytes received.
    pub control_bytes_in: u64,
    /// Control messages queued to clients.
    pub control_out: u64,
    /// Connections the relay closed, by wire code (codes with a zero count omitted).
    pub closes: Vec<(ErrorCode, u64)>,
    /// Bytes of control messages queued to receivers now (SPEC §7.5).
    pub control_queued_bytes: u64,
    /// The most bytes of control messages ever queued at once.
    pub control_queued_bytes_peak: u64,
    /// Bytes of stream-carried media frames queued or being written to receivers now.
    pub stream_queued_bytes: u64,
    /// The most bytes of stream-carried media ever queued at once.
    pub stream_queued_bytes_peak: u64,
    /// Bytes of unfinished inbound media streams held now.
    pub inbound_pending_bytes: u64,
    /// The most bytes of unfinished inbound media streams ever held at once.
    pub inbound_pending_bytes_peak: u64,
    /// Metrics HTTP connections closed at once because the endpoint had its maximum open.
    pub metrics_http_refused: u64,
}

impl Metrics {
    pub(crate) fn closed(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.closes[i].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> RelayStats {
        RelayStats {
            connections_total: self.connections_total.load(Relaxed),
            connections_open: self.connections_open.load(Relaxed),
            rooms_open: self.rooms_open.load(Relaxed),
            participants_open: self.participants_open.load(Relaxed),
            frames_in: self.frames_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            frames_out: self.frames_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            drops: self.drops.load(Relaxed),
            control_in: self.control_in.load(Relaxed),
            control_bytes_in: self.control_bytes_in.load(Relaxed),
            control_out: self.control_out.load(Relaxed),
            closes: ErrorCode::ALL
                .iter()
                .zip(&self.closes)
                .map(|(c, n)| (*c, n.load(Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            control_queued_bytes: self.control_queued.now(),
            control_queued_bytes_peak: self.control_queued.peak(),
            stream_queued_bytes: self.stream_queued.now(),
            stream_queued_bytes_peak: self.stream_queued.peak(),
            inbound_pending_bytes: self.inbound_pending.now(),
            inbound_pending_bytes_peak: self.inbound_pending.peak(),
            metrics_http_refused: self.http_refused.load(Relaxed),
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub(crate) fn render(&self) -> String {
        let s = self.snapshot();
        let mut o = String::new();
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        one(
            "hush_connections_total",
            "counter",
            "Connections accepted.",
            s.connections_total,
        );
        one(
            "hush_connections_open",
            "gauge",
            "Connections open.",
            s.connections_open,
        );
        one("hush_rooms_open", "gauge", "Rooms open.", s.rooms_open);
        one(
            "hush_participants_open",
            "gauge",
            "Participants in rooms.",
            s.participants_open,
        );
        one(
            "hush_frames_in_total",
            "counter",
            "Media frames received.",
            s.frames_in,
        );
        one(
            "hush_bytes_in_total",
            "counter",
            "Media bytes received.",
            s.bytes_in,
        );
        one(
            "hush_frames_out_total",
            "counter",
            "Media frames sent.",
            s.frames_out,
        );
        one(
            "hush_bytes_out_total",
            "counter",
            "Media bytes sent.",
            s.bytes_out,
        );
        one(
            "hush_drops_total",
            "counter",
            "Media frames dropped for slow receivers.",
            s.drops,
        );
        one(
            "hush_control_messages_in_total",
            "counter",
            "Control messages received.",
            s.control_in,
        );
        one(
            "hush_control_bytes_in_total",
            "counter",
            "Control bytes received.",
            s.control_bytes_in,
        );
        one(
            "hush_control_messages_out_total",
            "counter",
            "Control messages sent.",
            s.control_out,
        );
        let _ = writeln!(
            o,
            "# HELP hush_closes_total Connections closed by the relay, by reason.\n# TYPE hush_closes_total counter"
        );
        for (code, n) in ErrorCode::ALL.iter().zip(&self.closes) {
            let _ = writeln!(
                o,
                "hush_closes_total{{reason=\"{}\"}} {}",
                code.name(),
                n.load(Relaxed)
            );
        }
        o
    }
}

/// Serves `GET /metrics` until the task is aborted. Anything else gets 404; requests are read
/// with a small bound and one request per connection. At most [`MAX_HTTP_CONNECTIONS`] are
/// served at once (more are closed on accept); each must send its request head within
/// [`HTTP_READ_TIMEOUT`] and is closed after [`HTTP_TOTAL_TIMEOUT`] in all (SPEC §7.8).
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let (sock, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning on the error.
                tracing::debug!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.http_refused.fetch_add(1, Relaxed);
            // Dropping the socket closes it.
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(HTTP_TOTAL_TIMEOUT, answer(sock, &metrics)).await;
        });
    }
}

/// Reads one request head and writes the response.
async fn answer(mut sock: tokio::net::TcpStream, metrics: &Metrics) {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    let read = tokio::time::timeout(HTTP_READ_TIMEOUT, async {
        while n < buf.len() {
            match sock.read(&mut buf[n..]).await {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
            if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    if read.is_err() {
        return;
    }
    let head = &buf[..n];
    let (status, body) = if head.starts_with(b"GET /metrics ") {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "not found\n".to_owned())
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Binds the metrics listener.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
