//! The client's network layer (SPEC §6): connect to a relay with certificate pinning, read its
//! `Hello` (and refuse a region outside the allowed list before sending anything), join a room,
//! send and receive opaque blobs and media frames, and report events.
//!
//! Nothing here knows about end-to-end encryption: blobs and frames are opaque bytes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hush_wire::media::STREAM_TYPE_MEDIA;
use hush_wire::{ClientMessage, ErrorCode, ParticipantId, RelayMessage, RelayMode, Target};
use quinn::crypto::rustls::QuicClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};

/// How the client decides to trust the relay's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustAnchor {
    /// Pin: SHA-256 of the relay's end-entity certificate (DER).
    Sha256([u8; 32]),
    /// Trust the CA certificates in this PEM file (normal WebPKI name checks apply).
    CaFile(PathBuf),
}

/// Connection options.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Regions the client accepts (claim C6); `None` accepts any relay.
    pub allow_regions: Option<Vec<String>>,
    /// TLS server name (checked only with [`TrustAnchor::CaFile`]).
    pub server_name: String,
    /// How long to wait for the handshake and the relay's `Hello`.
    pub timeout: Duration,
    /// Capacity of the event channel; media that does not fit is dropped and counted.
    pub event_capacity: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            allow_regions: None,
            server_name: "hush-relay".to_owned(),
            timeout: Duration::from_secs(10),
            event_capacity: 4096,
        }
    }
}

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Local socket or TLS setup failed.
    #[error("setup: {0}")]
    Setup(String),
    /// The CA file could not be read.
    #[error("cannot read CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The QUIC connection could not be established (includes a pin mismatch).
    #[error("cannot connect to the relay: {0}")]
    Connect(String),
    /// The connection failed or was closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The relay broke the protocol (bad `Hello`, undecodable message).
    #[error("relay protocol error: {0}")]
    Protocol(String),
    /// The relay is in a region the policy does not allow (claim C6).
    #[error("relay region {region:?} is not among the allowed regions {allowed:?}")]
    RegionRefused {
        /// The relay's region.
        region: String,
        /// The allowed list.
        allowed: Vec<String>,
    },
    /// The relay answered a request with an error.
    #[error("relay refused: {code}: {reason}")]
    Refused {
        /// Code (SPEC §6.4).
        code: ErrorCode,
        /// Reason.
        reason: String,
    },
    /// No answer in time.
    #[error("timed out waiting for the relay")]
    Timeout,
    /// A frame exceeds the 256 KiB maximum.
    #[error("frame of {0} bytes exceeds the maximum frame size")]
    FrameTooLarge(usize),
    /// Writing to a stream failed.
    #[error("send failed: {0}")]
    Send(String),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

/// Something the relay told the client, or a frame it forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A participant joined the room.
    PeerJoined {
        /// Its id.
        id: ParticipantId,
    },
    /// A participant left the room.
    PeerLeft {
        /// Its id.
        id: ParticipantId,
    },
    /// An opaque blob from a participant (id 0: the relay's service).
    Deliver {
        /// Sender.
        from: ParticipantId,
        /// Bytes as sent.
        blob: Bytes,
    },
    /// A media frame (the sender is identified by the frame itself, e.g. its SFrame KID).
    Media(Bytes),
    /// A non-fatal error from the relay (e.g. `UNKNOWN_PARTICIPANT`).
    RelayError {
        /// Code.
        code: ErrorCode,
        /// Reason.
        reason: String,
    },
    /// The connection ended; no more events follow.
    Closed {
        /// Why (the relay's close code and reason, or the transport error).
        reason: String,
        /// The wire code if the relay closed with one.
        code: Option<ErrorCode>,
    },
}

/// How a media frame was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaPath {
    /// As one QUIC datagram.
    Datagram,
    /// On its own unidirectional stream.
    Stream,
}

/// The room membership the relay confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// This client's id in the room.
    pub your_id: ParticipantId,
    /// The others already there.
    pub participants: Vec<ParticipantId>,
}

type Pending<T> = Mutex<Option<oneshot::Sender<Result<T, NetError>>>>;

struct Inner {
    pending_join: Pending<Joined>,
    pending_leave: Pending<()>,
    my_id: Mutex<Option<ParticipantId>>,
    media_dropped: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A connection to a relay.
pub struct RelayConnection {
    endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    control: tokio::sync::Mutex<quinn::SendStream>,
    inner: Arc<Inner>,
    region: String,
    mode: RelayMode,
    addr: SocketAddr,
}

impl std::fmt::Debug for RelayConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConnection")
            .field("addr", &self.addr)
            .field("region", &self.region)
            .field("mode", &self.mode)
            .finish()
    }
}

/// The receiving end of a connection's events.
pub type Events = mpsc::Receiver<Event>;

/// A certificate verifier that accepts exactly one end-entity certificate, identified by the
/// SHA-256 of its DER (compared in constant time), and still verifies the TLS 1.3 handshake
/// signature with the provider's algorithms, so the server must hold the pinned key.
#[derive(Debug)]
struct PinnedCert {
    sha256: [u8; 32],
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if bool::from(got.ct_eq(&self.sha256)) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // TLS 1.2 is never offered (QUIC is TLS 1.3 only).
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The quinn client configuration for a trust anchor (TLS 1.3, ALPN `hush/1`).
pub fn client_config(trust: &TrustAnchor) -> Result<quinn::ClientConfig, NetError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NetError::Setup(e.to_string()))?;
    let mut tls = match trust {
        TrustAnchor::Sha256(sha256) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert {
                sha256: *sha256,
                algs: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        TrustAnchor::CaFile(path) => {
            let err = |reason: String| NetError::CaFile {
                path: path.clone(),
                reason,
            };
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))? {
                let cert = cert.map_err(|e| err(e.to_string()))?;
                roots.add(cert).map_err(|e| err(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(err("no CERTIFICATE block".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    tls.alpn_protocols = vec![hush_wire::ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(tls).map_err(|e| NetError::Setup(e.to_string()))?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(Duration::from_secs(5)));
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(4));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(256));
    t.stream_receive_window(quinn::VarInt::from_u32(2 * 1024 * 1024));
    t.datagram_receive_buffer_size(Some(4 * 1024 * 1024));
    cfg.transport_config(Arc::new(t));
    Ok(cfg)
}

async fn read_message(recv: &mut quinn::RecvStream) -> Result<Option<RelayMessage>, NetError> {
    let mut prefix = [0u8; 4];
    match recv.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(e))) => {
            return Err(NetError::Connection(e));
        }
        Err(e) => return Err(NetError::Protocol(e.to_string())),
    }
    let len =
        hush_wire::control::parse_length(prefix).map_err(|e| NetError::Protocol(e.to_string()))?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body).await.map_err(|e| match e {
        quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(c)) => {
            NetError::Connection(c)
        }
        e => NetError::Protocol(e.to_string()),
    })?;
    RelayMessage::decode(Bytes::from(body))
        .map(Some)
        .map_err(|e| NetError::Protocol(e.to_string()))
}

fn close(conn: &quinn::Connection, code: ErrorCode, reason: &str) {
    conn.close(quinn::VarInt::from_u32(code.0), reason.as_bytes());
}

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
struct ChannelSink {
    inner: Arc<Inner>,
    tx: mpsc::Sender<Event>,
}

impl MediaSink for ChannelSink {
    fn on_media(&self, frame: Bytes) {
        if self.tx.try_send(Event::Media(frame)).is_err() {
            self.inner.media_dropped.fetch_add(1, Relaxed);
        }
    }
}

/// UDP socket buffer size the client asks for (the kernel caps it, e.g. at `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

/// Asks for large UDP socket buffers, best effort. Everything the relay forwards to this client
/// (every other member's media) lands in one socket: with the usual 208 KiB default, a few hundred
/// milliseconds without CPU on a busy host overflow it and the kernel drops media (the issue-7
/// load test saw this on the relay → client leg). The same call as `hush-relay`'s
/// `tls::enlarge_socket_buffers`, duplicated because the client must not depend on the relay.
fn enlarge_socket_buffers(socket: &std::net::UdpSocket) {
    let Ok(state) = quinn::udp::UdpSocketState::new(socket.into()) else {
        return;
    };
    if let Err(e) = state.set_recv_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP receive buffer");
    }
    if let Err(e) = state.set_send_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP send buffer");
    }
}

#[cfg(test)]
mod socket_buffer_tests {
    #![allow(clippy::unwrap_used)]

    /// The receive buffer grows to what the kernel allows (Linux: `net.core.rmem_max`, and it
    /// reports twice the granted size). Skipped where the limit is unknown or not above the default.
    #[test]
    fn client_socket_buffers_are_enlarged() {
        let Some(max) = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            return;
        };
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let state = quinn::udp::UdpSocketState::new((&socket).into()).unwrap();
        let before = state.recv_buffer_size((&socket).into()).unwrap();
        super::enlarge_socket_buffers(&socket);
        let after = state.recv_buffer_size((&socket).into()).unwrap();
        let want = max.min(super::SOCKET_BUFFER);
        if want > before {
            assert!(
                after >= want,
                "receive buffer {after} < {want} (was {before})"
            );
        }
    }
}

/// Connects to the relay at `addr`, verifies it against `trust`, reads its `Hello` and applies
/// the region policy. Nothing but the QUIC handshake is sent before the region check.
pub async fn connect(
    addr: SocketAddr,
    trust: TrustAnchor,
    options: ConnectOptions,
) -> Result<(RelayConnection, Events), NetError> {
    connect_with_sink(addr, trust, options, None).await
}

/// As [`connect`], with media frames handed to `sink` instead of the event channel.
pub(crate) async fn connect_with_sink(
    addr: SocketAddr,
    trust: TrustAnchor,
    options: ConnectOptions,
    sink: Option<Arc<dyn MediaSink>>,
) -> Result<(RelayConnection, Events), NetError> {
    let cfg = client_config(&trust)?;
    let bind: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let setup_err = |e: std::io::Error| NetError::Setup(e.to_string());
    let socket = std::net::UdpSocket::bind(bind).map_err(setup_err)?;
    enlarge_socket_buffers(&socket);
    let mut endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(setup_err)?;
    endpoint.set_default_client_config(cfg);
    let connecting = endpoint
        .connect(addr, &options.server_name)
        .map_err(|e| NetError::Connect(e.to_string()))?;
    let setup = async {
        let conn = connecting
            .await
            .map_err(|e| NetError::Connect(e.to_string()))?;
        let (send, mut recv) = conn.accept_bi().await?;
        let hello = read_message(&mut recv).await?;
        Ok::<_, NetError>((conn, send, recv, hello))
    };
    let (conn, send, recv, hello) = tokio::time::timeout(options.timeout, setup)
        .await
        .map_err(|_| NetError::Timeout)??;
    let (region, mode) = match hello {
        Some(RelayMessage::Hello {
            protocol_version,
            relay_region,
            relay_mode,
        }) => {
            if protocol_version != hush_wire::PROTOCOL_VERSION {
                close(
                    &conn,
                    ErrorCode::VERSION_MISMATCH,
                    "unsupported protocol version",
                );
                return Err(NetError::Protocol(format!(
                    "relay speaks protocol version {protocol_version}"
                )));
            }
            (relay_region, relay_mode)
        }
        other => {
            close(&conn, ErrorCode::PROTOCOL_VIOLATION, "expected Hello");
            return Err(NetError::Protocol(format!("expected Hello, got {other:?}")));
        }
    };
    if let Some(allowed) = &options.allow_regions
        && !allowed.contains(&region)
    {
        close(
            &conn,
            ErrorCode::REGION_REFUSED,
            "relay region not allowed by policy",
        );
        return Err(NetError::RegionRefused {
            region,
            allowed: allowed.clone(),
        });
    }
    let inner = Arc::new(Inner {
        pending_join: Mutex::new(None),
        pending_leave: Mutex::new(None),
        my_id: Mutex::new(None),
        media_dropped: AtomicU64::new(0),
    });
    let (tx, rx) = mpsc::channel(options.event_capacity.max(16));
    tokio::spawn(control_reader(
        recv,
        conn.clone(),
        inner.clone(),
        tx.clone(),
    ));
    let sink = sink.unwrap_or_else(|| {
        Arc::new(ChannelSink {
            inner: inner.clone(),
            tx,
        })
    });
    tokio::spawn(datagram_reader(conn.clone(), sink.clone()));
    tokio::spawn(stream_reader(conn.clone(), sink));
    Ok((
        RelayConnection {
            endpoint,
            conn,
            control: tokio::sync::Mutex::new(send),
            inner,
            region,
            mode,
            addr,
        },
        rx,
    ))
}

fn closed_event(conn: &quinn::Connection, fallback: String) -> Event {
    match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            let code = u32::try_from(c.error_code.into_inner()).map(ErrorCode).ok();
            Event::Closed {
                reason: String::from_utf8_lossy(&c.reason).into_owned(),
                code,
            }
        }
        Some(e) => Event::Closed {
            reason: e.to_string(),
            code: None,
        },
        None => Event::Closed {
            reason: fallback,
            code: None,
        },
    }
}

async fn control_reader(
    mut recv: quinn::RecvStream,
    conn: quinn::Connection,
    inner: Arc<Inner>,
    tx: mpsc::Sender<Event>,
) {
    let end = loop {
        let msg = match read_message(&mut recv).await {
            Ok(Some(m)) => m,
            Ok(None) => break "relay ended the control stream".to_owned(),
            Err(NetError::Protocol(e)) => {
                close(
                    &conn,
                    ErrorCode::PROTOCOL_VIOLATION,
                    "malformed control message",
                );
                break format!("relay protocol error: {e}");
            }
            Err(e) => break e.to_string(),
        };
        let ev = match msg {
            RelayMessage::Joined {
                your_id,
                participants,
            } => {
                *lock(&inner.my_id) = Some(your_id);
                answer(
                    &inner.pending_join,
                    Ok(Joined {
                        your_id,
                        participants,
                    }),
                );
                continue;
            }
            RelayMessage::Left => {
                *lock(&inner.my_id) = None;
                answer(&inner.pending_leave, Ok(()));
                continue;
            }
            RelayMessage::Error { code, reason } => {
                // The refusal of a waiting join (else leave), or a non-fatal error.
                let refused = || NetError::Refused {
                    code,
                    reason: reason.clone(),
                };
                if answer(&inner.pending_join, Err(refused()))
                    || answer(&inner.pending_leave, Err(refused()))
                {
                    continue;
                }
                Event::RelayError { code, reason }
            }
            RelayMessage::PeerJoined { id } => Event::PeerJoined { id },
            RelayMessage::PeerLeft { id } => Event::PeerLeft { id },
            RelayMessage::Deliver { from, blob } => Event::Deliver { from, blob },
            RelayMessage::Pong { .. } => continue,
            RelayMessage::Hello { .. } => {
                close(
                    &conn,
                    ErrorCode::PROTOCOL_VIOLATION,
                    "unexpected second Hello",
                );
                break "relay sent a second Hello".to_owned();
            }
            _ => continue,
        };
        if tx.send(ev).await.is_err() {
            break "event receiver dropped".to_owned();
        }
    };
    answer(&inner.pending_join, Err(NetError::Closed));
    answer(&inner.pending_leave, Err(NetError::Closed));
    let _ = tx.send(closed_event(&conn, end)).await;
}

/// Answers the request waiting in `slot`, if any; `false` if none was waiting.
fn answer<T>(slot: &Pending<T>, r: Result<T, NetError>) -> bool {
    let waiting = lock(slot).take();
    waiting.map(|p| p.send(r)).is_some()
}

async fn datagram_reader(conn: quinn::Connection, sink: Arc<dyn MediaSink>) {
    while let Ok(d) = conn.read_datagram().await {
        sink.on_media(d);
    }
}

async fn stream_reader(conn: quinn::Connection, sink: Arc<dyn MediaSink>) {
    while let Ok(recv) = conn.accept_uni().await {
        let sink = sink.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            match read_media_stream(recv).await {
                Ok(Some(parts)) => parts.deliver(&*sink),
                Ok(None) => {}
                Err(()) => close(&conn, ErrorCode::PROTOCOL_VIOLATION, "bad media stream"),
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
async fn read_media_stream(mut recv: quinn::RecvStream) -> Result<Option<Parts>, ()> {
    let mut parts = Parts::default();
    let mut typed = false;
    loop {
        match recv.read_chunk(usize::MAX, true).await {
            Ok(Some(chunk)) => {
                let mut b = chunk.bytes;
                if !typed {
                    let Some(&t) = b.first() else { continue };
                    hush_wire::media::check_stream_type(t).map_err(|_| ())?;
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
            Ok(None) if parts.len == 0 => return Err(()),
            Ok(None) => return Ok(Some(parts)),
            Err(_) => return Ok(None),
        }
    }
}

impl RelayConnection {
    /// The relay's region from its `Hello`.
    pub fn relay_region(&self) -> &str {
        &self.region
    }

    /// The relay's key mode from its `Hello`.
    pub fn relay_mode(&self) -> RelayMode {
        self.mode
    }

    /// The relay's address.
    pub fn relay_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the connection with `code` and `reason` before anything was sent (a policy of
    /// this client refuses the relay, e.g. its key mode).
    pub fn refuse(&self, code: ErrorCode, reason: &str) {
        close(&self.conn, code, reason);
    }

    /// This client's id in its current room.
    pub fn my_id(&self) -> Option<ParticipantId> {
        *lock(&self.inner.my_id)
    }

    /// Media frames dropped because the event channel was full.
    pub fn media_dropped(&self) -> u64 {
        self.inner.media_dropped.load(Relaxed)
    }

    /// The underlying QUIC connection (e.g. for `max_datagram_size` or statistics).
    pub fn quic(&self) -> &quinn::Connection {
        &self.conn
    }

    async fn write(&self, msg: Bytes) -> Result<(), NetError> {
        let mut s = self.control.lock().await;
        s.write_chunk(msg).await.map_err(|e| match e {
            quinn::WriteError::ConnectionLost(c) => NetError::Connection(c),
            e => NetError::Send(e.to_string()),
        })
    }

    /// Writes raw bytes on the control stream (tests of the relay's garbage handling).
    #[doc(hidden)]
    pub async fn write_raw_control(&self, bytes: Bytes) -> Result<(), NetError> {
        self.write(bytes).await
    }

    /// Joins `room` and waits for the relay's answer.
    pub async fn join(&self, room: &str) -> Result<Joined, NetError> {
        if room.is_empty() || room.len() > hush_wire::MAX_ROOM_NAME {
            return Err(NetError::Protocol("room name must be 1..=255 bytes".into()));
        }
        let (tx, rx) = oneshot::channel();
        *lock(&self.inner.pending_join) = Some(tx);
        self.write(
            ClientMessage::Join {
                room: room.to_owned(),
            }
            .encode(),
        )
        .await?;
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .map_err(|_| NetError::Timeout)?
            .map_err(|_| NetError::Closed)?
    }

    /// Leaves the current room and waits for the relay's `Left`.
    pub async fn leave(&self) -> Result<(), NetError> {
        let (tx, rx) = oneshot::channel();
        *lock(&self.inner.pending_leave) = Some(tx);
        self.write(ClientMessage::Leave.encode()).await?;
        tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .map_err(|_| NetError::Timeout)?
            .map_err(|_| NetError::Closed)?
    }

    /// Sends an opaque blob to everyone else in the room or to one participant (0: the relay).
    pub async fn send_blob(&self, to: Target, blob: Bytes) -> Result<(), NetError> {
        if blob.len() > hush_wire::MAX_BLOB_SIZE {
            return Err(NetError::FrameTooLarge(blob.len()));
        }
        self.write(ClientMessage::Send { to, blob }.encode()).await
    }

    /// Sends a media frame: as a datagram when it fits the connection's live maximum datagram
    /// size, else on a fresh unidirectional stream.
    pub async fn send_media(&self, frame: Bytes) -> Result<MediaPath, NetError> {
        let len = frame.len();
        if len > hush_wire::MAX_FRAME_SIZE {
            return Err(NetError::FrameTooLarge(len));
        }
        if self.conn.max_datagram_size().is_some_and(|max| len <= max) {
            match self.conn.send_datagram_wait(frame.clone()).await {
                Ok(()) => return Ok(MediaPath::Datagram),
                Err(quinn::SendDatagramError::TooLarge) => {}
                Err(quinn::SendDatagramError::ConnectionLost(c)) => {
                    return Err(NetError::Connection(c));
                }
                Err(e) => return Err(NetError::Send(e.to_string())),
            }
        }
        let mut s = self.conn.open_uni().await?;
        let mut chunks = [Bytes::from_static(&[STREAM_TYPE_MEDIA]), frame];
        s.write_all_chunks(&mut chunks)
            .await
            .map_err(|e| NetError::Send(e.to_string()))?;
        s.finish().map_err(|e| NetError::Send(e.to_string()))?;
        Ok(MediaPath::Stream)
    }

    /// Closes the connection (code `NO_ERROR`) and waits briefly for the close to be sent.
    pub async fn close(&self) {
        close(&self.conn, ErrorCode::NO_ERROR, "bye");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}
