//! The legacy sinks (SPEC §13.3, §13.4): a UDP socket sending each media payload as framed
//! datagrams, and a recording file. Both are outside the meeting: what they carry is plaintext.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_client::{DataMessage, MediaFrame};
use tokio::net::UdpSocket;

use crate::error::ConnectorError;
use crate::record::{self, RecordKind, RecordRef};
use crate::rtp::{RtpConfig, RtpPacketizer};
use crate::stats::Counters;
use crate::udp::{self, Datagrams};

/// Where a connector re-emits what it decrypts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// Send each media payload as UDP datagrams to this address (SPEC §13.3).
    pub udp: Option<SocketAddr>,
    /// Write every media frame and data message to this recording (SPEC §13.4).
    pub record_file: Option<PathBuf>,
    /// Largest datagram sent to the UDP sink, header included.
    pub datagram_size: usize,
    /// Send each track as RTP, with an SDP file (SPEC §13.5).
    pub rtp: Option<RtpConfig>,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            udp: None,
            record_file: None,
            datagram_size: udp::DEFAULT_DATAGRAM_SIZE,
            rtp: None,
        }
    }
}

impl SinkConfig {
    /// A one-line description for status output, e.g. `udp 127.0.0.1:9999, record out.rec`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.udp {
            parts.push(format!("udp {a}"));
        }
        if let Some(p) = &self.record_file {
            parts.push(format!("record {}", p.display()));
        }
        if let Some(r) = &self.rtp {
            parts.push(format!("rtp {}", r.addr));
        }
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

pub(crate) struct UdpSink {
    socket: UdpSocket,
    to: SocketAddr,
    size: usize,
    seq: u64,
    buf: Vec<u8>,
}

pub(crate) struct RecordSink {
    path: PathBuf,
    // Buffered, flushed by the bridge whenever its event queue runs empty and at the end.
    file: std::io::BufWriter<std::fs::File>,
    buf: Vec<u8>,
}

pub(crate) struct RtpSink {
    socket: UdpSocket,
    cfg: RtpConfig,
    packetizer: RtpPacketizer,
    out: Vec<bytes::Bytes>,
}

/// The opened sinks.
pub(crate) struct Sinks {
    udp: Option<UdpSink>,
    rtp: Option<RtpSink>,
    record: Option<RecordSink>,
    /// The first recording error; the recording stops there, the UDP sink goes on.
    pub(crate) record_error: Option<ConnectorError>,
}

/// The unspecified address of `to`'s family, port 0 (a socket that can send to `to`).
fn unspecified(to: SocketAddr) -> SocketAddr {
    if to.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    }
}

impl RtpSink {
    /// A frame's RTP packets to its stream's port; a new stream rewrites the SDP first, so a
    /// player that reads it finds the stream. Send errors are counted, never fatal.
    async fn send(&mut self, f: &MediaFrame, c: &Counters) {
        self.out.clear();
        let p = match self.packetizer.push(f, &mut self.out) {
            Ok(p) => p,
            Err(_) => {
                Counters::inc(&c.rtp_skipped);
                return;
            }
        };
        let Some(port) = self.packetizer.stream(p.stream).map(|s| s.port) else {
            return;
        };
        if p.new_stream {
            Counters::inc(&c.rtp_streams);
            if let Some(path) = &self.cfg.sdp {
                let text = crate::sdp::sdp(
                    &self.cfg.session_name,
                    self.cfg.addr.ip(),
                    &self.packetizer.streams(),
                );
                if let Err(e) = crate::sdp::write_atomic(path, &text) {
                    tracing::warn!(error = %e, path = %path.display(), "cannot write the SDP file");
                }
            }
        }
        let to = SocketAddr::new(self.cfg.addr.ip(), port);
        for packet in &self.out {
            match self.socket.send_to(packet, to).await {
                Ok(_) => Counters::inc(&c.rtp_packets),
                Err(e) => {
                    Counters::inc(&c.udp_errors);
                    tracing::debug!(error = %e, "rtp sink send failed");
                }
            }
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl Sinks {
    /// Binds the UDP socket (an unconnected socket on the sink's address family, port 0) and
    /// creates the recording with its header.
    pub(crate) async fn open(cfg: &SinkConfig) -> Result<Sinks, ConnectorError> {
        udp::chunk_size(cfg.datagram_size)?;
        let udp = match cfg.udp {
            Some(to) => {
                let socket = UdpSocket::bind(unspecified(to))
                    .await
                    .map_err(|source| ConnectorError::UdpSink { addr: to, source })?;
                Some(UdpSink {
                    socket,
                    to,
                    size: cfg.datagram_size,
                    seq: 0,
                    buf: Vec::with_capacity(cfg.datagram_size),
                })
            }
            None => None,
        };
        let rtp = match &cfg.rtp {
            Some(r) => {
                let to = r.addr;
                let socket = UdpSocket::bind(unspecified(to))
                    .await
                    .map_err(|source| ConnectorError::UdpSink { addr: to, source })?;
                Some(RtpSink {
                    socket,
                    packetizer: RtpPacketizer::new(to.port(), r.packet_size),
                    cfg: r.clone(),
                    out: Vec::new(),
                })
            }
            None => None,
        };
        let record = match &cfg.record_file {
            Some(path) => {
                let err = |source| ConnectorError::RecordFile {
                    path: path.clone(),
                    source,
                };
                let mut file = std::io::BufWriter::with_capacity(
                    64 * 1024,
                    std::fs::File::create(path).map_err(err)?,
                );
                let mut head = Vec::new();
                record::file_header(&mut head);
                file.write_all(&head).map_err(err)?;
                file.flush().map_err(err)?;
                Some(RecordSink {
                    path: path.clone(),
                    file,
                    buf: Vec::new(),
                })
            }
            None => None,
        };
        Ok(Sinks {
            udp,
            rtp,
            record,
            record_error: None,
        })
    }

    pub(crate) async fn media(&mut self, f: &MediaFrame, c: &Counters) {
        Counters::inc(&c.frames_bridged);
        Counters::add(&c.bytes_bridged, f.payload.len() as u64);
        if let Some(u) = &mut self.udp {
            match Datagrams::new(f.sender, u.seq, &f.payload, u.size) {
                Ok(mut d) => {
                    u.seq += 1;
                    while d.next_into(&mut u.buf) {
                        match u.socket.send_to(&u.buf, u.to).await {
                            Ok(_) => Counters::inc(&c.datagrams_sent),
                            Err(e) => {
                                Counters::inc(&c.udp_errors);
                                tracing::debug!(error = %e, "udp sink send failed");
                            }
                        }
                    }
                }
                Err(e) => {
                    Counters::inc(&c.udp_errors);
                    tracing::warn!(error = %e, "frame not sent to the udp sink");
                }
            }
        }
        if let Some(r) = &mut self.rtp {
            r.send(f, c).await;
        }
        // As in `data`: without a recording, no clock read per frame.
        if self.record.is_none() {
            return;
        }
        self.record(
            RecordRef {
                kind: RecordKind::Media,
                time_us: now_us(),
                sender: f.sender,
                epoch: f.epoch,
                sender_name: &f.sender_name,
                payload: &f.payload,
            },
            c,
        );
    }

    pub(crate) fn data(&mut self, d: &DataMessage, c: &Counters) {
        if self.record.is_none() {
            return;
        }
        Counters::inc(&c.data_recorded);
        self.record(
            RecordRef {
                kind: RecordKind::Data(d.kind.to_u8()),
                time_us: now_us(),
                sender: d.sender,
                epoch: d.epoch,
                sender_name: &d.sender_name,
                payload: &d.payload,
            },
            c,
        );
    }

    fn record(&mut self, r: RecordRef<'_>, c: &Counters) {
        let Some(s) = &mut self.record else {
            return;
        };
        s.buf.clear();
        let res = r.encode(&mut s.buf).and_then(|()| {
            s.file
                .write_all(&s.buf)
                .map_err(|source| ConnectorError::RecordFile {
                    path: s.path.clone(),
                    source,
                })
        });
        match res {
            Ok(()) => Counters::inc(&c.records_written),
            Err(e) => self.fail_record(e),
        }
    }

    fn fail_record(&mut self, e: ConnectorError) {
        tracing::warn!(error = %e, "recording stopped");
        self.record = None;
        if self.record_error.is_none() {
            self.record_error = Some(e);
        }
    }

    /// Flushes the recording's buffer to the file.
    pub(crate) fn flush(&mut self) {
        if let Some(s) = &mut self.record
            && let Err(source) = s.file.flush()
        {
            let path = s.path.clone();
            self.fail_record(ConnectorError::RecordFile { path, source });
        }
    }
}
