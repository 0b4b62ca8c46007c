//! The client's network layer (SPEC §6): connect to a relay with certificate pinning, read its
//! `Hello` (and refuse a region outside the allowed list before sending anything), join a room,
//! send and receive opaque blobs and media frames, and report events.
//!
//! Nothing here knows about end-to-end encryption: blobs and frames are opaque bytes.
//!
//! This module holds the public API ([`connect`], [`RelayConnection`], [`Event`]); the parts
//! live beside it by concern: `tls` (the pinned-certificate verifier, [`client_config`]),
//! `socket` (the UDP socket and its buffers), `control` (the control stream: `Hello`, the
//! reader task, the answers to `join`/`leave`), `media` (datagram and stream readers, the
//! media sink) and `error` ([`NetError`] and its typed causes).

mod control;
mod error;
mod media;
mod pace;
mod socket;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hush_wire::media::STREAM_TYPE_MEDIA;
use hush_wire::sync::lock;
use hush_wire::{ClientMessage, ErrorCode, ParticipantId, RelayMode, Target};
use tokio::sync::{mpsc, oneshot};

pub use error::{CaFileError, ConnectError, NetError, ProtocolError, SendError, SetupError};
pub(crate) use media::MediaSink;
pub use tls::client_config;

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
            server_name: crate::config::DEFAULT_SERVER_NAME.to_owned(),
            timeout: Duration::from_secs(10),
            event_capacity: 4096,
        }
    }
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
    /// The relays carrying the room, as the relay reports them (SPEC §15.8).
    Carriers {
        /// `(name, region)`, the client's relay first (attacker-chosen text).
        relays: Vec<(String, String)>,
    },
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

/// A connection to a relay.
pub struct RelayConnection {
    endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    control: tokio::sync::Mutex<quinn::SendStream>,
    inner: Arc<Inner>,
    region: String,
    mode: RelayMode,
    addr: SocketAddr,
    limits: Option<hush_wire::RelayLimits>,
    /// Keeps this connection below the relay's announced budgets.
    pacer: Mutex<pace::Pacer>,
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

/// Closes `conn` with a wire error code (SPEC §6.4) and a reason phrase.
fn close(conn: &quinn::Connection, code: ErrorCode, reason: &str) {
    conn.close(quinn::VarInt::from_u32(code.0), reason.as_bytes());
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
    let (cfg, probe) = tls::client_config_probed(&trust)?;
    let socket = socket::bind_for(addr)?;
    let mut endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(SetupError::from)?;
    endpoint.set_default_client_config(cfg);
    let connecting = endpoint
        .connect(addr, &options.server_name)
        .map_err(ConnectError::from)?;
    let setup = async {
        let conn = connecting
            .await
            .map_err(|e| match (&trust, probe.refused()) {
                (TrustAnchor::Sha256(expected), Some(got)) => NetError::PinMismatch {
                    expected: *expected,
                    got,
                },
                _ => ConnectError::from(e).into(),
            })?;
        let (send, mut recv) = conn.accept_bi().await?;
        let hello = control::read_message(&mut recv).await?;
        Ok::<_, NetError>((conn, send, recv, hello))
    };
    let (conn, send, recv, hello) = tokio::time::timeout(options.timeout, setup)
        .await
        .map_err(|_| NetError::Timeout)??;
    let (region, mode, limits) = control::check_hello(&conn, hello)?;
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
    tokio::spawn(control::control_reader(
        recv,
        conn.clone(),
        inner.clone(),
        tx.clone(),
    ));
    let sink = sink.unwrap_or_else(|| {
        Arc::new(media::ChannelSink {
            inner: inner.clone(),
            tx,
        })
    });
    tokio::spawn(media::datagram_reader(conn.clone(), sink.clone()));
    tokio::spawn(media::stream_reader(conn.clone(), sink));
    Ok((
        RelayConnection {
            endpoint,
            conn,
            control: tokio::sync::Mutex::new(send),
            inner,
            region,
            mode,
            addr,
            limits,
            pacer: Mutex::new(pace::Pacer::new(limits, std::time::Instant::now())),
        },
        rx,
    ))
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

    /// The per-connection limits the relay announced in its `Hello`, if it did.
    pub fn relay_limits(&self) -> Option<hush_wire::RelayLimits> {
        self.limits
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
            e => SendError::from(e).into(),
        })
    }

    /// Writes raw bytes on the control stream (tests of the relay's garbage handling).
    #[doc(hidden)]
    pub async fn write_raw_control(&self, bytes: Bytes) -> Result<(), NetError> {
        self.write(bytes).await
    }

    /// Joins `room` and waits for the relay's answer.
    pub async fn join(&self, room: &str) -> Result<Joined, NetError> {
        self.join_within(room, None).await
    }

    /// [`join`](Self::join), stating the regions the client lets its meeting be carried in
    /// (SPEC §15.6) so that a cascade keeps the room inside them; `None` allows any.
    pub async fn join_within(
        &self,
        room: &str,
        allow: Option<&[String]>,
    ) -> Result<Joined, NetError> {
        if room.is_empty() || room.len() > hush_wire::MAX_ROOM_NAME {
            return Err(ProtocolError::RoomName.into());
        }
        let (tx, rx) = oneshot::channel();
        *lock(&self.inner.pending_join) = Some(tx);
        self.write(
            ClientMessage::Join {
                room: room.to_owned(),
                allow: allow.map(<[String]>::to_vec),
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
        let msg = ClientMessage::Send { to, blob }.encode();
        // Reliable data waits for its turn rather than outrun the relay (SPEC §6.3).
        let wait = lock(&self.pacer).charge(msg.len(), std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.write(msg).await
    }

    /// Sends a media frame: as a datagram when it fits the connection's live maximum datagram
    /// size, else on a fresh unidirectional stream.
    pub async fn send_media(&self, frame: Bytes) -> Result<MediaPath, NetError> {
        let len = frame.len();
        if len > hush_wire::MAX_FRAME_SIZE {
            return Err(NetError::FrameTooLarge(len));
        }
        // Media is real time: charged, never delayed, so bulk data yields to it.
        let _ = lock(&self.pacer).charge(len, std::time::Instant::now());
        if self.conn.max_datagram_size().is_some_and(|max| len <= max) {
            match self.conn.send_datagram_wait(frame.clone()).await {
                Ok(()) => return Ok(MediaPath::Datagram),
                Err(quinn::SendDatagramError::TooLarge) => {}
                Err(quinn::SendDatagramError::ConnectionLost(c)) => {
                    return Err(NetError::Connection(c));
                }
                Err(e) => return Err(SendError::from(e).into()),
            }
        }
        let mut s = self.conn.open_uni().await?;
        let mut chunks = [Bytes::from_static(&[STREAM_TYPE_MEDIA]), frame];
        s.write_all_chunks(&mut chunks)
            .await
            .map_err(SendError::from)?;
        s.finish().map_err(SendError::from)?;
        Ok(MediaPath::Stream)
    }

    /// Closes the connection (code `NO_ERROR`) and waits briefly for the close to be sent.
    pub async fn close(&self) {
        close(&self.conn, ErrorCode::NO_ERROR, "bye");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}
