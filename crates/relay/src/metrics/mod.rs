//! The relay's counters (atomics, histograms of atomic buckets) and the operator endpoint that
//! exposes them (SPEC §7.8): [`expose`] turns them into Prometheus text with `prometheus-client`
//! at scrape time, [`http`] serves `/metrics`, `/healthz` and `/readyz`, [`process`] reads the
//! `process_*` metrics, [`histogram`] holds the lock-free histograms of the forward path.

mod expose;
pub(crate) mod histogram;
mod http;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use hush_wire::ErrorCode;

use crate::budget::Gauge;
use histogram::{ForwardTimes, FrameSizes};

pub(crate) use http::{bind, serve};

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
    /// Metrics HTTP connections closed on accept because [`http::MAX_HTTP_CONNECTIONS`] were
    /// open.
    pub(crate) http_refused: AtomicU64,
    /// Sizes of the media frames counted in `frames_in` (`hush_frame_size_bytes`).
    pub(crate) frame_sizes: FrameSizes,
    /// From a media frame read to its fan-out queued (`hush_forward_seconds`).
    pub(crate) forward_times: ForwardTimes,
    /// Set when the relay stops accepting (the shutdown future fired, SPEC §7.11): `/readyz`
    /// answers 503 from then on.
    pub(crate) draining: AtomicBool,
    /// Send system calls and the datagrams they carried, every endpoint.
    pub(crate) udp: Arc<crate::udp_count::UdpCounts>,
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
    /// UDP send system calls (each `sendmsg`, one or a GSO batch of datagrams).
    pub udp_send_calls: u64,
    /// UDP datagrams those calls sent.
    pub udp_datagrams_sent: u64,
    /// UDP payload bytes those datagrams carried.
    pub udp_bytes_sent: u64,
}

impl Metrics {
    /// Counts one media frame received for forwarding: where `frames_in` is counted.
    pub(crate) fn frame_in(&self, len: u64) {
        self.frames_in.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(len, Relaxed);
        self.frame_sizes.observe(len);
    }

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
            udp_send_calls: self.udp.snapshot().0,
            udp_datagrams_sent: self.udp.snapshot().1,
            udp_bytes_sent: self.udp.bytes_sent(),
        }
    }
}
