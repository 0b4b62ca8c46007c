//! The hostile relay (issue 7): the wire protocol of SPEC §6 over quinn, with its own minimal
//! forwarding (SPEC §7.2 rooms and blobs, §7.3 media), where every delivery passes through a
//! [`Tamper`] policy and the test may inject anything. Everything clients send is recorded.
//!
//! It keeps none of the production relay's limits (rate, sizes, queues): it is the attacker, and
//! a test harness, not a service.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hush_wire::media::STREAM_TYPE_MEDIA;
use hush_wire::sync::lock;
use hush_wire::{ClientMessage, ErrorCode, ParticipantId, RelayMessage, RelayMode, Target};
use tokio::sync::{mpsc, watch};

use crate::error::TestkitError;
use crate::tamper::{Delivery, Fate, Honest, Kind, Out, Tamper};
use crate::tls::SelfSigned;

/// One thing a client sent, as the relay received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The sender's room at the time (empty if it was in none).
    pub room: String,
    /// The sender.
    pub from: ParticipantId,
    /// [`Kind::Media`] or [`Kind::Blob`].
    pub kind: Kind,
    /// For a blob, its target; `None` for media (sent to the room).
    pub to: Option<Target>,
    /// The bytes exactly as received.
    pub bytes: Bytes,
}

/// What a connection's writer sends.
enum Wire {
    Control(Bytes),
    Media(Bytes),
}

struct ConnEntry {
    room: Option<String>,
    tx: mpsc::UnboundedSender<Wire>,
    conn: quinn::Connection,
}

struct Inner {
    conns: HashMap<ParticipantId, ConnEntry>,
    rooms: BTreeMap<String, Vec<ParticipantId>>,
    tamper: Box<dyn Tamper>,
}

struct State {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    log: Mutex<Vec<Record>>,
    logged: watch::Sender<usize>,
    region: String,
}

impl Inner {
    /// Queues one `Out` on its recipient's writer (dropped if the recipient is gone).
    fn push(&self, out: Out) {
        let Some(entry) = self.conns.get(&out.to()) else {
            return;
        };
        let wire = match out {
            Out::Media { bytes, .. } => Wire::Media(bytes),
            Out::Blob { from, bytes, .. } => {
                Wire::Control(RelayMessage::encode_deliver(from, &bytes))
            }
            Out::PeerJoined { id, .. } => Wire::Control(RelayMessage::PeerJoined { id }.encode()),
            Out::PeerLeft { id, .. } => Wire::Control(RelayMessage::PeerLeft { id }.encode()),
            Out::Carriers { relays, .. } => {
                Wire::Control(RelayMessage::Carriers { relays }.encode())
            }
        };
        let _ = entry.tx.send(wire);
    }

    fn control(&self, to: ParticipantId, msg: RelayMessage) {
        if let Some(e) = self.conns.get(&to) {
            let _ = e.tx.send(Wire::Control(msg.encode()));
        }
    }

    /// Runs one delivery through the policy and queues the result.
    fn deliver(
        &mut self,
        room: &str,
        from: ParticipantId,
        to: ParticipantId,
        kind: Kind,
        bytes: &Bytes,
    ) {
        let d = Delivery {
            room,
            from,
            to,
            kind,
            bytes,
        };
        match self.tamper.deliver(&d) {
            Fate::Pass => {
                let out = Out::like(&d, bytes.clone());
                self.push(out);
            }
            Fate::Drop => {}
            Fate::Send(outs) => {
                for o in outs {
                    self.push(o);
                }
            }
        }
    }

    fn others(&self, room: &str, me: ParticipantId) -> Vec<ParticipantId> {
        self.rooms
            .get(room)
            .map(|m| m.iter().copied().filter(|p| *p != me).collect())
            .unwrap_or_default()
    }

    fn leave(&mut self, id: ParticipantId) -> bool {
        let Some(room) = self.conns.get_mut(&id).and_then(|e| e.room.take()) else {
            return false;
        };
        if let Some(members) = self.rooms.get_mut(&room) {
            members.retain(|p| *p != id);
            if members.is_empty() {
                self.rooms.remove(&room);
            }
        }
        let empty = Bytes::new();
        for other in self.others(&room, id) {
            self.deliver(&room, id, other, Kind::PeerLeft, &empty);
        }
        true
    }
}

/// A hostile relay on loopback (see the crate docs). Dropping it closes every connection.
pub struct HostileRelay {
    endpoint: quinn::Endpoint,
    state: Arc<State>,
    cert: SelfSigned,
    addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for HostileRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileRelay")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl HostileRelay {
    /// Starts an honest-until-told-otherwise relay on `127.0.0.1:0` with a fresh certificate.
    /// Must be called inside a tokio runtime.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_on(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SelfSigned::generate()?,
        )
    }

    /// Starts on `addr` with `cert` (e.g. to stand in for a real relay whose pin clients hold).
    pub fn start_on(addr: SocketAddr, cert: SelfSigned) -> Result<Self, TestkitError> {
        let endpoint = quinn::Endpoint::server(cert.server_config()?, addr)?;
        let addr = endpoint.local_addr()?;
        let (logged, _) = watch::channel(0);
        let state = Arc::new(State {
            next_id: AtomicU64::new(1),
            inner: Mutex::new(Inner {
                conns: HashMap::new(),
                rooms: BTreeMap::new(),
                tamper: Box::new(Honest),
            }),
            log: Mutex::new(Vec::new()),
            logged,
            region: "hostile".to_owned(),
        });
        let ep = endpoint.clone();
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Some(incoming) = ep.accept().await {
                tokio::spawn(handle(st.clone(), incoming));
            }
        });
        Ok(HostileRelay {
            endpoint,
            state,
            cert,
            addr,
            accept,
        })
    }

    /// The UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SHA-256 of the certificate: what clients pin.
    pub fn pin(&self) -> [u8; 32] {
        self.cert.sha256()
    }

    /// Replaces the policy; the next delivery already follows it.
    pub fn set_tamper(&self, t: impl Tamper) {
        lock(&self.state.inner).tamper = Box::new(t);
    }

    /// Back to honest forwarding.
    pub fn honest(&self) {
        self.set_tamper(Honest);
    }

    /// Sends these as the relay (any claimed sender, any recipient), in order.
    pub fn inject(&self, outs: impl IntoIterator<Item = Out>) {
        let inner = lock(&self.state.inner);
        for o in outs {
            inner.push(o);
        }
    }

    /// The participants of `room`, in join order.
    pub fn members(&self, room: &str) -> Vec<ParticipantId> {
        lock(&self.state.inner)
            .rooms
            .get(room)
            .cloned()
            .unwrap_or_default()
    }

    /// Closes one client's connection without a word to the others (they hear `PeerLeft`).
    pub fn disconnect(&self, id: ParticipantId) {
        self.disconnect_with(id, b"dropped by the relay");
    }

    /// As [`HostileRelay::disconnect`], with these bytes as the CONNECTION_CLOSE reason (any
    /// bytes: the relay's text is untrusted).
    pub fn disconnect_with(&self, id: ParticipantId, reason: &[u8]) {
        if let Some(e) = lock(&self.state.inner).conns.get(&id) {
            e.conn.close(quinn::VarInt::from_u32(0), reason);
        }
    }

    /// Everything clients sent so far, in arrival order.
    pub fn log(&self) -> Vec<Record> {
        lock(&self.state.log).clone()
    }

    /// How many records the log holds.
    pub fn log_len(&self) -> usize {
        lock(&self.state.log).len()
    }

    /// Waits for the first record at index `from` or later that matches `pred`; returns its
    /// index and the record. Never returns if none comes: wrap it in a timeout.
    pub async fn wait_record(
        &self,
        from: usize,
        mut pred: impl FnMut(&Record) -> bool,
    ) -> (usize, Record) {
        let mut rx = self.state.logged.subscribe();
        let mut next = from;
        loop {
            {
                let log = lock(&self.state.log);
                while next < log.len() {
                    if pred(&log[next]) {
                        return (next, log[next].clone());
                    }
                    next += 1;
                }
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Closes every connection and stops accepting.
    pub fn shutdown(&self) {
        self.endpoint
            .close(quinn::VarInt::from_u32(ErrorCode::SHUTTING_DOWN.0), b"bye");
        self.accept.abort();
    }
}

impl Drop for HostileRelay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl State {
    fn record(&self, r: Record) {
        let n = {
            let mut log = lock(&self.log);
            log.push(r);
            log.len()
        };
        self.logged.send_replace(n);
    }

    fn room_of(&self, id: ParticipantId) -> Option<String> {
        lock(&self.inner)
            .conns
            .get(&id)
            .and_then(|e| e.room.clone())
    }

    fn on_media(&self, id: ParticipantId, frame: Bytes) {
        let room = self.room_of(id);
        self.record(Record {
            room: room.clone().unwrap_or_default(),
            from: id,
            kind: Kind::Media,
            to: None,
            bytes: frame.clone(),
        });
        let Some(room) = room else { return };
        let mut inner = lock(&self.inner);
        for other in inner.others(&room, id) {
            inner.deliver(&room, id, other, Kind::Media, &frame);
        }
    }

    fn on_control(&self, id: ParticipantId, msg: ClientMessage) {
        match msg {
            ClientMessage::Join { room, .. } => {
                let mut inner = lock(&self.inner);
                let Some(entry) = inner.conns.get_mut(&id) else {
                    return;
                };
                if entry.room.is_some() {
                    let reason = "already in a room".to_owned();
                    inner.control(
                        id,
                        RelayMessage::Error {
                            code: ErrorCode::ALREADY_IN_ROOM,
                            reason,
                        },
                    );
                    return;
                }
                entry.room = Some(room.clone());
                let existing = inner.rooms.get(&room).cloned().unwrap_or_default();
                inner.rooms.entry(room.clone()).or_default().push(id);
                // Who the newcomer is told about: each existing member is one PeerJoined delivery.
                let empty = Bytes::new();
                let mut listed = Vec::new();
                let mut extra = Vec::new();
                for p in &existing {
                    let d = Delivery {
                        room: &room,
                        from: *p,
                        to: id,
                        kind: Kind::PeerJoined,
                        bytes: &empty,
                    };
                    match inner.tamper.deliver(&d) {
                        Fate::Pass => listed.push(*p),
                        Fate::Drop => {}
                        Fate::Send(outs) => extra.extend(outs),
                    }
                }
                inner.control(
                    id,
                    RelayMessage::Joined {
                        your_id: id,
                        participants: listed,
                    },
                );
                for o in extra {
                    inner.push(o);
                }
                for p in existing {
                    inner.deliver(&room, id, p, Kind::PeerJoined, &empty);
                }
            }
            ClientMessage::Leave => {
                let mut inner = lock(&self.inner);
                if inner.leave(id) {
                    inner.control(id, RelayMessage::Left);
                } else {
                    let reason = "not in a room".to_owned();
                    inner.control(
                        id,
                        RelayMessage::Error {
                            code: ErrorCode::NOT_IN_ROOM,
                            reason,
                        },
                    );
                }
            }
            ClientMessage::Send { to, blob } => {
                let room = self.room_of(id);
                self.record(Record {
                    room: room.clone().unwrap_or_default(),
                    from: id,
                    kind: Kind::Blob,
                    to: Some(to),
                    bytes: blob.clone(),
                });
                let mut inner = lock(&self.inner);
                let Some(room) = room else {
                    let reason = "not in a room".to_owned();
                    inner.control(
                        id,
                        RelayMessage::Error {
                            code: ErrorCode::NOT_IN_ROOM,
                            reason,
                        },
                    );
                    return;
                };
                let targets = match to {
                    Target::Participant(ParticipantId::RELAY) => Vec::new(),
                    Target::Participant(p) => {
                        if inner.others(&room, id).contains(&p) {
                            vec![p]
                        } else {
                            let reason = format!("no participant {p} in the room");
                            inner.control(
                                id,
                                RelayMessage::Error {
                                    code: ErrorCode::UNKNOWN_PARTICIPANT,
                                    reason,
                                },
                            );
                            Vec::new()
                        }
                    }
                    _ => inner.others(&room, id),
                };
                for p in targets {
                    inner.deliver(&room, id, p, Kind::Blob, &blob);
                }
            }
            ClientMessage::Ping { nonce } => {
                lock(&self.inner).control(id, RelayMessage::Pong { nonce });
            }
            _ => {}
        }
    }
}

fn close(conn: &quinn::Connection, code: ErrorCode, reason: &str) {
    conn.close(quinn::VarInt::from_u32(code.0), reason.as_bytes());
}

async fn handle(state: Arc<State>, incoming: quinn::Incoming) {
    let Ok(conn) = incoming.await else { return };
    let id = ParticipantId(state.next_id.fetch_add(1, Relaxed));
    let Ok((mut send, mut recv)) = conn.open_bi().await else {
        return;
    };
    let hello = RelayMessage::Hello {
        protocol_version: hush_wire::PROTOCOL_VERSION,
        relay_region: state.region.clone(),
        relay_mode: RelayMode::E2ee,
        limits: None,
    };
    if send.write_chunk(hello.encode()).await.is_err() {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    lock(&state.inner).conns.insert(
        id,
        ConnEntry {
            room: None,
            tx,
            conn: conn.clone(),
        },
    );
    tokio::spawn(writer(conn.clone(), send, rx));
    tokio::spawn(datagrams(state.clone(), id, conn.clone()));
    tokio::spawn(streams(state.clone(), id, conn.clone()));
    loop {
        let mut prefix = [0u8; 4];
        if recv.read_exact(&mut prefix).await.is_err() {
            break;
        }
        let Ok(len) = hush_wire::control::parse_length(prefix) else {
            close(
                &conn,
                ErrorCode::MESSAGE_TOO_LARGE,
                "control message too large",
            );
            break;
        };
        let mut body = vec![0u8; len];
        if recv.read_exact(&mut body).await.is_err() {
            break;
        }
        match ClientMessage::decode(Bytes::from(body)) {
            Ok(msg) => state.on_control(id, msg),
            Err(e) => {
                close(&conn, ErrorCode::PROTOCOL_VIOLATION, &e.to_string());
                break;
            }
        }
    }
    let mut inner = lock(&state.inner);
    inner.leave(id);
    inner.conns.remove(&id);
}

async fn writer(
    conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut rx: mpsc::UnboundedReceiver<Wire>,
) {
    while let Some(w) = rx.recv().await {
        match w {
            Wire::Control(b) => {
                if send.write_chunk(b).await.is_err() {
                    break;
                }
            }
            Wire::Media(b) => {
                if conn.max_datagram_size().is_some_and(|m| b.len() <= m) {
                    if conn.send_datagram(b).is_err() {
                        break;
                    }
                } else {
                    let conn = conn.clone();
                    tokio::spawn(async move {
                        let Ok(mut s) = conn.open_uni().await else {
                            return;
                        };
                        let mut chunks = [Bytes::from_static(&[STREAM_TYPE_MEDIA]), b];
                        if s.write_all_chunks(&mut chunks).await.is_ok() {
                            let _ = s.finish();
                        }
                    });
                }
            }
        }
    }
}

async fn datagrams(state: Arc<State>, id: ParticipantId, conn: quinn::Connection) {
    while let Ok(d) = conn.read_datagram().await {
        state.on_media(id, d);
    }
}

async fn streams(state: Arc<State>, id: ParticipantId, conn: quinn::Connection) {
    while let Ok(mut recv) = conn.accept_uni().await {
        let state = state.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            let Ok(data) = recv.read_to_end(hush_wire::MAX_FRAME_SIZE + 1).await else {
                return;
            };
            match hush_wire::media::parse_media_stream(&data) {
                Ok(_) => state.on_media(id, Bytes::from(data).slice(1..)),
                Err(_) => close(&conn, ErrorCode::PROTOCOL_VIOLATION, "bad media stream"),
            }
        });
    }
}
