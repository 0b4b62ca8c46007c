//! The Prometheus text of `/metrics` (SPEC §7.8), encoded by `prometheus-client`.
//!
//! A scrape copies the relay's atomics into a [`Scrape`] (no lock, the forward path untouched)
//! and hands it to a registry as a [`Collector`]; `prometheus-client` writes the text format
//! 0.0.4. Counter names are given without `_total`: the encoder appends it, so the exposed names
//! are exactly the ones scripts grep (`hush_connections_total`, …).

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;

use hush_wire::ErrorCode;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::histogram::{FORWARD_BOUNDS_NS, FRAME_SIZE_BOUNDS};
use super::process::ProcessStats;
use super::{Metrics, RelayStats};

/// The `Content-Type` of `/metrics`.
pub(crate) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The relay's version, for `hush_build_info`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit it was built from (`build.rs`; "unknown" without git).
const GIT_COMMIT: &str = env!("HUSH_GIT_COMMIT");

/// One scrape's values, copied out of the atomics.
#[derive(Debug)]
struct Scrape {
    stats: RelayStats,
    /// Every §6.4 code with its count, zeros included.
    closes: Vec<(&'static str, u64)>,
    frame_sizes: [(f64, u64); FRAME_SIZE_BOUNDS.len() + 1],
    frames: u64,
    forward: [(f64, u64); FORWARD_BOUNDS_NS.len() + 1],
    forwarded: u64,
    forward_sum_seconds: f64,
    process: ProcessStats,
}

impl Metrics {
    /// The Prometheus text exposition format 0.0.4 of every metric.
    pub(crate) fn render(&self) -> String {
        let (frame_sizes, frames) = self.frame_sizes.0.read(&FRAME_SIZE_BOUNDS, 1.0);
        let (forward, forwarded) = self.forward_times.buckets.read(&FORWARD_BOUNDS_NS, 1e9);
        let scrape = Scrape {
            stats: self.snapshot(),
            closes: ErrorCode::ALL
                .iter()
                .zip(&self.closes)
                .map(|(c, n)| (c.name(), n.load(Relaxed)))
                .collect(),
            frame_sizes,
            frames,
            forward,
            forwarded,
            forward_sum_seconds: self.forward_times.sum_ns.load(Relaxed) as f64 / 1e9,
            process: ProcessStats::read(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut text = String::new();
        // Writing to a String cannot fail; an encoder error would leave the text cut short.
        if prometheus_text::encode(&mut text, &registry).is_err() {
            tracing::warn!("cannot encode the metrics");
        }
        text
    }
}

fn counter<N>(e: &mut DescriptorEncoder, name: &str, help: &str, v: N) -> fmt::Result
where
    ConstCounter<N>: EncodeMetric,
{
    ConstCounter::new(v).encode(e.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn gauge<N>(e: &mut DescriptorEncoder, name: &str, help: &str, v: N) -> fmt::Result
where
    ConstGauge<N>: EncodeMetric,
{
    ConstGauge::new(v).encode(e.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn histogram(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    (buckets, count, sum): (&[(f64, u64)], u64, f64),
) -> fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Histogram)?
        .encode_histogram::<NoLabelSet>(sum, count, buckets, None)
}

impl Collector for Scrape {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        let s = &self.stats;
        let e = &mut e;
        // The names and help texts of the hand-written endpoint before issue 12: a contract.
        counter(
            e,
            "hush_connections",
            "Connections accepted.",
            s.connections_total,
        )?;
        gauge(
            e,
            "hush_connections_open",
            "Connections open.",
            s.connections_open,
        )?;
        gauge(e, "hush_rooms_open", "Rooms open.", s.rooms_open)?;
        gauge(
            e,
            "hush_participants_open",
            "Participants in rooms.",
            s.participants_open,
        )?;
        counter(e, "hush_frames_in", "Media frames received.", s.frames_in)?;
        counter(e, "hush_bytes_in", "Media bytes received.", s.bytes_in)?;
        counter(e, "hush_frames_out", "Media frames sent.", s.frames_out)?;
        counter(e, "hush_bytes_out", "Media bytes sent.", s.bytes_out)?;
        let calls = "UDP send system calls (one datagram or a GSO batch each).";
        counter(e, "hush_udp_send_calls", calls, s.udp_send_calls)?;
        let datagrams = "UDP datagrams sent.";
        counter(
            e,
            "hush_udp_datagrams_sent",
            datagrams,
            s.udp_datagrams_sent,
        )?;
        let udp_bytes =
            "UDP payload bytes sent (QUIC packets, every byte on the wire but headers).";
        counter(e, "hush_udp_bytes_sent", udp_bytes, s.udp_bytes_sent)?;
        let drops = "Media frames dropped for slow receivers.";
        counter(e, "hush_drops", drops, s.drops)?;
        let control_in = "Control messages received.";
        counter(e, "hush_control_messages_in", control_in, s.control_in)?;
        counter(
            e,
            "hush_control_bytes_in",
            "Control bytes received.",
            s.control_bytes_in,
        )?;
        let control_out = "Control messages sent.";
        counter(e, "hush_control_messages_out", control_out, s.control_out)?;
        let help = "Connections closed by the relay, by reason.";
        let mut closes = e.encode_descriptor("hush_closes", help, None, MetricType::Counter)?;
        for (reason, n) in &self.closes {
            ConstCounter::new(*n).encode(closes.encode_family(&[("reason", *reason)])?)?;
        }
        // Since issue 12.
        let help = "Metrics HTTP connections closed at accept: the endpoint had its maximum open.";
        counter(e, "hush_metrics_http_refused", help, s.metrics_http_refused)?;
        let help = "Bytes of control messages queued to receivers.";
        gauge(e, "hush_control_queued_bytes", help, s.control_queued_bytes)?;
        let help = "Bytes of stream-carried media frames queued or being written to receivers.";
        gauge(e, "hush_stream_queued_bytes", help, s.stream_queued_bytes)?;
        let help = "Bytes of unfinished inbound media streams held.";
        gauge(
            e,
            "hush_inbound_pending_bytes",
            help,
            s.inbound_pending_bytes,
        )?;
        let help = "Sizes of the media frames received for forwarding, in bytes.";
        let sizes = (&self.frame_sizes[..], self.frames, s.bytes_in as f64);
        histogram(e, "hush_frame_size_bytes", help, sizes)?;
        let help = "Time from a media frame read to its copies queued to every receiver.";
        let times = (&self.forward[..], self.forwarded, self.forward_sum_seconds);
        histogram(e, "hush_forward_seconds", help, times)?;
        let build = Info::new([("version", VERSION), ("git_commit", GIT_COMMIT)]);
        let help = "The relay's version and the git commit it was built from.";
        build.encode(e.encode_descriptor("hush_build", help, None, MetricType::Info)?)?;
        self.encode_process(e)
    }
}

impl Scrape {
    /// The standard process metrics (Linux; each left out where `/proc` did not tell).
    fn encode_process(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        let p = &self.process;
        if let Some(v) = p.cpu_seconds {
            let help = "Total user and system CPU time spent in seconds.";
            counter(e, "process_cpu_seconds", help, v)?;
        }
        if let Some(v) = p.resident_bytes {
            let help = "Resident memory size in bytes.";
            gauge(e, "process_resident_memory_bytes", help, v)?;
        }
        if let Some(v) = p.virtual_bytes {
            let help = "Virtual memory size in bytes.";
            gauge(e, "process_virtual_memory_bytes", help, v)?;
        }
        if let Some(v) = p.open_fds {
            gauge(e, "process_open_fds", "Number of open file descriptors.", v)?;
        }
        if let Some(v) = p.max_fds {
            let help = "Maximum number of open file descriptors.";
            gauge(e, "process_max_fds", help, v)?;
        }
        if let Some(v) = p.start_time_seconds {
            let help = "Start time of the process since unix epoch in seconds.";
            gauge(e, "process_start_time_seconds", help, v)?;
        }
        Ok(())
    }
}
