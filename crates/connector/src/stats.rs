//! The bridge's counters: frames and bytes bridged, datagrams sent, records written. Relaxed
//! atomics shared between the bridge task and the [`crate::Connector`] handle.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a connector's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeStats {
    /// Decrypted media frames re-emitted to the sinks.
    pub frames_bridged: u64,
    /// Their payload bytes.
    pub bytes_bridged: u64,
    /// Datagrams sent to the UDP sink.
    pub datagrams_sent: u64,
    /// Datagrams (or whole frames) the UDP sink could not send.
    pub udp_errors: u64,
    /// Data messages written to the recording.
    pub data_recorded: u64,
    /// Records written to the recording (media and data).
    pub records_written: u64,
    /// Meeting events not handed to the application because it did not read them.
    pub events_dropped: u64,
    /// RTP packets sent to the RTP sink.
    pub rtp_packets: u64,
    /// Media frames the RTP sink did not carry (untracked, another codec, before a track's
    /// configuration, past the stream limit).
    pub rtp_skipped: u64,
    /// RTP streams opened.
    pub rtp_streams: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) frames_bridged: AtomicU64,
    pub(crate) bytes_bridged: AtomicU64,
    pub(crate) datagrams_sent: AtomicU64,
    pub(crate) udp_errors: AtomicU64,
    pub(crate) data_recorded: AtomicU64,
    pub(crate) records_written: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) rtp_packets: AtomicU64,
    pub(crate) rtp_skipped: AtomicU64,
    pub(crate) rtp_streams: AtomicU64,
}

impl Counters {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> BridgeStats {
        let g = |c: &AtomicU64| c.load(Relaxed);
        BridgeStats {
            frames_bridged: g(&self.frames_bridged),
            bytes_bridged: g(&self.bytes_bridged),
            datagrams_sent: g(&self.datagrams_sent),
            udp_errors: g(&self.udp_errors),
            data_recorded: g(&self.data_recorded),
            records_written: g(&self.records_written),
            events_dropped: g(&self.events_dropped),
            rtp_packets: g(&self.rtp_packets),
            rtp_skipped: g(&self.rtp_skipped),
            rtp_streams: g(&self.rtp_streams),
        }
    }
}
