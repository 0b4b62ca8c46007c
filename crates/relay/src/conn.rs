//! One client connection (SPEC §7.1): the control stream the relay opens, the datagram loop and
//! the unidirectional-stream loop, and the forwarding of media frames (SPEC §7.3).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bytes::{Buf, Bytes};
use hush_wire::media::STREAM_TYPE_MEDIA;
use hush_wire::sframe_header::Header;
use hush_wire::sync::{lock, read, write};
use hush_wire::{ClientMessage, ErrorCode, RelayMessage, RelayMode, Target};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::budget::{ByteBudget, Held};
use crate::metrics::Metrics;
use crate::rate::RateLimiter;
use crate::report::ParticipantRecord;
use crate::room::{GOING_AWAY_REASON, Member, Membership, Peer, Queued, Shared, StreamFrame};

/// Per-connection state shared by its tasks.
struct ConnState {
    shared: Arc<Shared>,
    peer: Peer,
    membership: RwLock<Option<Arc<Membership>>>,
    rate: Mutex<RateLimiter>,
    /// Joins of this connection (each costs a directory call on a cluster, SPEC §15.7).
    joins: Mutex<RateLimiter>,
    /// Bytes of this connection's unfinished inbound media streams (`stream_pending_bytes`).
    pending: Arc<ByteBudget>,
}

impl ConnState {
    fn membership(&self) -> Option<Arc<Membership>> {
        read(&self.membership).clone()
    }

    fn set_membership(&self, m: Option<Arc<Membership>>) -> Option<Arc<Membership>> {
        std::mem::replace(&mut *write(&self.membership), m)
    }

    fn close(&self, code: ErrorCode, reason: &str) {
        self.shared.close(&self.peer.conn, code, reason);
    }

    /// Charges one message against the rate limits; closes the connection if over budget.
    fn charge(&self, len: usize) -> bool {
        self.charge_parts(1, len)
    }

    /// Charges `frames` messages and `len` bytes (a stream's bytes are charged as they arrive,
    /// its one frame when it opens); closes the connection if over budget.
    fn charge_parts(&self, frames: u32, len: usize) -> bool {
        self.charge_parts_at(frames, len, Instant::now())
    }

    /// [`charge_parts`](Self::charge_parts) with the clock already read.
    fn charge_parts_at(&self, frames: u32, len: usize, now: Instant) -> bool {
        if lock(&self.rate).charge_parts(frames, len, now) {
            true
        } else {
            self.close(
                ErrorCode::RATE_LIMITED,
                "frames/s or bytes/s limit exceeded",
            );
            false
        }
    }

    fn error(&self, code: ErrorCode, reason: String) {
        self.shared
            .push_control(&self.peer, RelayMessage::Error { code, reason }.encode());
    }
}

/// Drives one incoming connection to its end.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    incoming: quinn::Incoming,
    mode: RelayMode,
    region: String,
) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            // An operator's first question about a client that cannot connect (a wrong pin on
            // the client shows here as the client's certificate alert).
            tracing::info!(%remote, reason = %e, "handshake failed");
            return;
        }
    };
    shared.metrics.connections_total.fetch_add(1, Relaxed);
    let Some(slot) = Slot::take(&shared) else {
        shared.close(
            &conn,
            ErrorCode::TOO_MANY_CONNECTIONS,
            "relay has its maximum of connections",
        );
        return;
    };
    let peer_link = conn
        .handshake_data()
        .and_then(|h| h.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|h| h.protocol)
        .is_some_and(|p| p == hush_wire::peer::PEER_ALPN);
    if peer_link {
        tracing::info!(%remote, "peer link connection open");
        crate::peer::accept(shared.clone(), conn).await;
        drop(slot);
        return;
    }
    tracing::info!(%remote, "connection open");
    run(shared.clone(), conn, mode, region).await;
    drop(slot);
    tracing::info!(%remote, "connection closed");
}

/// One of the relay's `max_connections` slots, given back when dropped: also when the
/// connection's task panics (tokio unwinds the task), so a panic can never leak a slot.
pub(crate) struct Slot {
    shared: Arc<Shared>,
}

impl Slot {
    /// Takes a slot, or `None` if all `max_connections` are taken.
    pub(crate) fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let max = shared.limits.max_connections;
        shared
            .conns
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1))
            .ok()?;
        shared.metrics.connections_open.fetch_add(1, Relaxed);
        Some(Slot {
            shared: shared.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.conns.fetch_sub(1, Relaxed);
        self.shared.metrics.connections_open.fetch_sub(1, Relaxed);
    }
}

/// Ends a connection's life in the relay when dropped, however `run` exits (a return or a
/// panic): leaves its room (so no ghost member stays behind), closes the connection if still
/// open and stops its tasks.
struct Cleanup {
    st: Arc<ConnState>,
    tasks: Vec<tokio::task::AbortHandle>,
    why: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let st = &self.st;
        let conn = &st.peer.conn;
        let why = self
            .why
            .take()
            .unwrap_or_else(|| "relay internal error".to_owned());
        if let Some(m) = st.set_membership(None) {
            st.shared.leave(&m, &why);
        }
        if conn.close_reason().is_none() {
            if std::thread::panicking() {
                st.shared
                    .close(conn, ErrorCode::INTERNAL, "relay internal error");
            } else {
                conn.close(
                    quinn::VarInt::from_u32(ErrorCode::NO_ERROR.0),
                    b"control stream ended",
                );
            }
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn run(shared: Arc<Shared>, conn: quinn::Connection, mode: RelayMode, region: String) {
    let Ok((mut send, recv)) = conn.open_bi().await else {
        return;
    };
    let l = &shared.limits;
    let hello = RelayMessage::Hello {
        protocol_version: hush_wire::PROTOCOL_VERSION,
        relay_region: region,
        relay_mode: mode,
        limits: Some(hush_wire::RelayLimits {
            frames_per_second: l.frames_per_second,
            bytes_per_second: l.bytes_per_second,
            max_frame_size: u32::try_from(l.max_frame_size).unwrap_or(u32::MAX),
        }),
    }
    .encode();
    if send.write_chunk(hello).await.is_err() {
        return;
    }
    let limits = &shared.limits;
    let metrics = &shared.metrics;
    let (tx, writer) = spawn_control_writer(send, limits.control_queue.max(1));
    let (media_tx, media_rx) = mpsc::channel::<StreamFrame>(limits.stream_frames_in_flight.max(1));
    let media_writer = tokio::spawn(stream_writer(conn.clone(), metrics.clone(), media_rx));
    let st = Arc::new(ConnState {
        peer: Peer {
            conn: conn.clone(),
            control: tx,
            control_bytes: ByteBudget::new(
                limits.control_queue_bytes,
                metrics.control_queued.clone(),
            ),
            media: media_tx,
            media_bytes: ByteBudget::new(
                limits.stream_bytes_in_flight,
                metrics.stream_queued.clone(),
            ),
        },
        rate: Mutex::new(RateLimiter::new(
            limits.frames_per_second,
            limits.bytes_per_second,
        )),
        joins: Mutex::new(RateLimiter::new(crate::directory::JOINS_PER_SEC, 1)),
        membership: RwLock::new(None),
        pending: ByteBudget::new(limits.stream_pending_bytes, metrics.inbound_pending.clone()),
        shared: shared.clone(),
    });
    let mut cleanup = Cleanup {
        st: st.clone(),
        tasks: vec![writer.abort_handle(), media_writer.abort_handle()],
        why: None,
    };
    cleanup
        .tasks
        .push(tokio::spawn(datagram_loop(st.clone())).abort_handle());
    cleanup
        .tasks
        .push(tokio::spawn(stream_loop(st.clone())).abort_handle());
    cleanup
        .tasks
        .push(tokio::spawn(going_away(st.clone())).abort_handle());
    control_loop(&st, recv).await;

    cleanup.why = Some(match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            format!("closed by client (code {})", c.error_code)
        }
        Some(quinn::ConnectionError::LocallyClosed) => "closed by relay".to_owned(),
        Some(quinn::ConnectionError::TimedOut) => "idle timeout".to_owned(),
        Some(e) => format!("connection lost: {e}"),
        None => "control stream ended".to_owned(),
    });
}

/// The task that writes a connection's (or link's) queued control messages to `send`, in order;
/// each message keeps its bytes of the budget until QUIC has taken it.
pub(crate) fn spawn_control_writer(
    mut send: quinn::SendStream,
    capacity: usize,
) -> (mpsc::Sender<Queued>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Queued>(capacity);
    let writer = tokio::spawn(async move {
        while let Some(q) = rx.recv().await {
            if send.write_chunk(q.msg).await.is_err() {
                break;
            }
        }
        let _ = send.finish();
    });
    (tx, writer)
}

/// Tells the client once when the relay starts draining (SPEC §7.11); the connection stays
/// usable until the client leaves or the drain time ends.
async fn going_away(st: Arc<ConnState>) {
    let mut rx = st.shared.going_away.subscribe();
    if rx.wait_for(|draining| *draining).await.is_ok() {
        st.error(ErrorCode::GOING_AWAY, GOING_AWAY_REASON.to_owned());
    }
}

async fn control_loop(st: &ConnState, mut recv: quinn::RecvStream) {
    loop {
        let mut prefix = [0u8; 4];
        if recv.read_exact(&mut prefix).await.is_err() {
            return;
        }
        let len = match hush_wire::control::parse_length(prefix) {
            Ok(n) => n,
            Err(e) => {
                st.close(e.code(), &e.to_string());
                return;
            }
        };
        let mut body = vec![0u8; len];
        if recv.read_exact(&mut body).await.is_err() {
            return;
        }
        if !st.charge(len + 4) {
            return;
        }
        let msg = match ClientMessage::decode(Bytes::from(body)) {
            Ok(m) => m,
            Err(e) => {
                st.close(e.code(), &e.to_string());
                return;
            }
        };
        st.shared.metrics.control_in.fetch_add(1, Relaxed);
        st.shared
            .metrics
            .control_bytes_in
            .fetch_add(len as u64 + 4, Relaxed);
        handle_control(st, msg, len + 4).await;
    }
}

/// A `Join`: the geofence first (SPEC §15.6, with the cluster's directory when there is one),
/// then the room.
async fn join(st: &ConnState, room: &str, allow: Option<&[String]>) {
    let shared = &st.shared;
    let refused = |code: ErrorCode, reason: String| {
        tracing::info!(
            remote = %st.peer.conn.remote_address(),
            room = ?room,
            %code,
            reason = %reason,
            "join refused"
        );
        st.error(code, reason);
    };
    // With a directory every join is a call to it: a connection's joins are bounded, so no
    // client can turn its control budget into directory load.
    if shared.directory().is_some() && !lock(&st.joins).try_take(std::time::Instant::now()) {
        refused(
            ErrorCode::RATE_LIMITED,
            format!(
                "more than {} joins per second on one connection",
                crate::directory::JOINS_PER_SEC
            ),
        );
        return;
    }
    let id = shared.next_participant_id();
    if let Err((code, reason)) = crate::geofence::admit(shared, room, id, allow).await {
        refused(code, reason);
        return;
    }
    let publish = |m| {
        st.set_membership(Some(m));
    };
    let policy = crate::geofence::policy(allow);
    if let Err((code, reason)) = shared.join(&st.peer, room, id, policy, publish) {
        if let Some(d) = shared.directory() {
            d.release_later(room, id.0);
        }
        refused(code, reason);
    }
}

async fn handle_control(st: &ConnState, msg: ClientMessage, wire_len: usize) {
    let shared = &st.shared;
    let current = st.membership();
    if let Some(m) = &current {
        m.me.rec.stats.control_in.fetch_add(1, Relaxed);
        m.me.rec
            .stats
            .control_bytes_in
            .fetch_add(wire_len as u64, Relaxed);
    }
    match msg {
        ClientMessage::Join { room, allow } => {
            if current.is_some() {
                st.error(
                    ErrorCode::ALREADY_IN_ROOM,
                    "already in a room; leave first".into(),
                );
                return;
            }
            join(st, &room, allow.as_deref()).await;
        }
        ClientMessage::Leave => match st.set_membership(None) {
            Some(m) => {
                shared.leave(&m, "left");
                shared.push_control(&st.peer, RelayMessage::Left.encode());
            }
            None => st.error(ErrorCode::NOT_IN_ROOM, "not in a room".into()),
        },
        ClientMessage::Ping { nonce } => {
            shared.push_control(&st.peer, RelayMessage::Pong { nonce }.encode());
        }
        ClientMessage::Send { to, blob } => {
            let Some(m) = current else {
                st.error(ErrorCode::NOT_IN_ROOM, "send before join".into());
                return;
            };
            let stats = &m.me.rec.stats;
            if let Some(d) = &m.me.dump {
                d.blob(&blob);
            }
            match to {
                Target::Participant(id) if id == hush_wire::ParticipantId::RELAY => {
                    stats.blobs_relay.fetch_add(1, Relaxed);
                    match &shared.hook {
                        Some(h) => {
                            let out = h.on_blob(&m.room.name, m.me.id, &blob);
                            shared.deliver_hook(&m.room, out);
                        }
                        None => st.error(
                            ErrorCode::UNKNOWN_PARTICIPANT,
                            "this relay has no service at participant 0".into(),
                        ),
                    }
                }
                Target::Participant(id) => {
                    stats.blobs_one.fetch_add(1, Relaxed);
                    let members = m.room.snapshot();
                    match members.iter().find(|x| x.id == id) {
                        Some(r) => {
                            shared.push_to_member(r, RelayMessage::encode_deliver(m.me.id, &blob))
                        }
                        None if shared.cluster.is_some()
                            && crate::peer::deliver_to_links(
                                shared, &m.room, m.me.id, id, &blob,
                            ) => {}
                        None => st.error(
                            ErrorCode::UNKNOWN_PARTICIPANT,
                            format!("participant {id} is not in the room"),
                        ),
                    }
                }
                _ => {
                    stats.blobs_all.fetch_add(1, Relaxed);
                    let bytes = RelayMessage::encode_deliver(m.me.id, &blob);
                    for r in m.room.snapshot().iter() {
                        if r.id != m.me.id {
                            shared.push_to_member(r, bytes.clone());
                        }
                    }
                    if shared.cluster.is_some() {
                        crate::peer::deliver_to_links(
                            shared,
                            &m.room,
                            m.me.id,
                            hush_wire::ParticipantId::RELAY,
                            &blob,
                        );
                    }
                }
            }
        }
        _ => st.error(ErrorCode::PROTOCOL_VIOLATION, "unsupported message".into()),
    }
}

async fn datagram_loop(st: Arc<ConnState>) {
    while let Ok(frame) = st.peer.conn.read_datagram().await {
        // One clock read for the rate limit and the forward time.
        let read_at = Instant::now();
        if !st.charge_parts_at(1, frame.len(), read_at) {
            return;
        }
        if !forward(&st, frame, true, read_at) {
            return;
        }
    }
}

/// Accepts the connection's unidirectional streams (at most 32 open at once, the QUIC limit).
/// Each must carry one media frame and end within `stream_timeout_secs`; its bytes are charged
/// to the rate budget and held against `stream_pending_bytes` as they arrive (SPEC §7.4).
async fn stream_loop(st: Arc<ConnState>) {
    while let Ok(recv) = st.peer.conn.accept_uni().await {
        let st = st.clone();
        tokio::spawn(async move {
            // Opening a stream costs one frame of the frames/s budget; its bytes as they come.
            if !st.charge_parts(1, 0) {
                return;
            }
            let timeout = st.shared.limits.stream_timeout();
            let mut held = Held::empty(&st.pending);
            let data = match tokio::time::timeout(timeout, read_stream(&st, recv, &mut held)).await
            {
                Ok(Some(d)) => d,
                Ok(None) => return,
                Err(_) => {
                    st.close(
                        ErrorCode::PROTOCOL_VIOLATION,
                        &format!("media stream not finished within {} s", timeout.as_secs()),
                    );
                    return;
                }
            };
            let read_at = Instant::now();
            if let Err(e) = hush_wire::media::parse_media_stream(&data) {
                st.close(e.code(), &e.to_string());
                return;
            }
            // `advance`, not `slice`: no reference count until the first receiver's clone.
            let mut frame = Bytes::from(data);
            frame.advance(1);
            forward(&st, frame, false, read_at);
            // The frame's bytes now count in the receivers' queues instead.
            drop(held);
        });
    }
}

/// Reads one inbound media stream to its end, charging and holding its bytes as they arrive.
/// `None` if the stream failed or the connection was closed for it.
async fn read_stream(
    st: &ConnState,
    mut recv: quinn::RecvStream,
    held: &mut Held,
) -> Option<Vec<u8>> {
    let max = st.shared.limits.max_frame_size + 1;
    let mut data = Vec::new();
    loop {
        let chunk = match recv.read_chunk(max, true).await {
            Ok(Some(c)) => c.bytes,
            Ok(None) => return Some(data),
            Err(_) => return None,
        };
        if data.len() + chunk.len() > max {
            st.close(
                ErrorCode::FRAME_TOO_LARGE,
                "media frame exceeds the maximum size",
            );
            return None;
        }
        if !st.charge_parts(0, chunk.len()) {
            return None;
        }
        if !held.grow(chunk.len()) {
            st.close(
                ErrorCode::RATE_LIMITED,
                &format!(
                    "unfinished media streams hold more than {} bytes",
                    st.shared.limits.stream_pending_bytes
                ),
            );
            return None;
        }
        data.extend_from_slice(&chunk);
    }
}

/// Forwards one media frame, read at `read_at`, to every other member of the sender's room.
/// False if the sender was closed for it.
fn forward(st: &ConnState, frame: Bytes, datagram: bool, read_at: Instant) -> bool {
    let shared = &st.shared;
    if frame.len() > shared.limits.max_frame_size {
        st.close(
            ErrorCode::FRAME_TOO_LARGE,
            "media frame exceeds the maximum size",
        );
        return false;
    }
    let header = match Header::decode(&frame) {
        Ok((h, n)) if n < frame.len() => h,
        _ => {
            st.close(
                ErrorCode::PROTOCOL_VIOLATION,
                "media frame is not an SFrame frame",
            );
            return false;
        }
    };
    let Some(m) = st.membership() else {
        // Media before Join goes nowhere.
        return true;
    };
    let len = frame.len() as u64;
    let metrics = &shared.metrics;
    metrics.frame_in(len);
    let s = &m.me.rec.stats;
    s.media_in.fetch_add(1, Relaxed);
    s.media_bytes_in.fetch_add(len, Relaxed);
    s.media_min.fetch_min(len, Relaxed);
    s.media_max.fetch_max(len, Relaxed);
    if datagram {
        s.via_datagram.fetch_add(1, Relaxed);
    } else {
        s.via_stream.fetch_add(1, Relaxed);
    }
    if let Some(k) = &m.me.rec.kids {
        lock(k).record(header);
    }
    if let Some(d) = &m.me.dump {
        d.media(&frame);
    }
    if let Some(h) = &shared.hook {
        h.on_media(&m.room.name, m.me.id, &frame);
    }
    for r in m.room.snapshot().iter() {
        if r.id != m.me.id {
            send_media(shared, r, frame.clone());
        }
    }
    if shared.cluster.is_some() {
        crate::peer::forward_to_links(shared, &m.room, &frame);
    }
    metrics.forward_times.observe(read_at.elapsed());
    true
}

/// Sends one frame to one receiver: as a datagram if it fits the receiver's live maximum, else
/// on a fresh unidirectional stream (SPEC §7.3).
pub(crate) fn send_media(shared: &Shared, r: &Member, frame: Bytes) {
    send_media_to(shared, &r.peer, &r.rec, frame);
}

/// [`send_media`] to any receiver: a participant, or a peer relay's link (SPEC §15.2), whose
/// deliveries and drops count to `rec`.
pub(crate) fn send_media_to(
    shared: &Shared,
    peer: &Peer,
    rec: &Arc<ParticipantRecord>,
    frame: Bytes,
) {
    let len = frame.len();
    let conn = &peer.conn;
    if conn.max_datagram_size().is_some_and(|max| len <= max) {
        if conn.datagram_send_buffer_space() < len {
            // quinn makes room by evicting the oldest queued datagram(s): count a drop.
            drop_one(shared, rec);
        }
        match conn.send_datagram(frame) {
            Ok(()) => count_out(&shared.metrics, rec, len),
            // The path MTU shrank between the check and the send: rare, counted as a drop.
            Err(quinn::SendDatagramError::TooLarge) => drop_one(shared, rec),
            Err(_) => {}
        }
        return;
    }
    // The receiver's writer task sends it; a full queue (a slow receiver), in frames or in
    // bytes, drops it.
    let Some(held) = peer.media_bytes.take(len) else {
        drop_one(shared, rec);
        return;
    };
    let item = StreamFrame {
        frame,
        rec: rec.clone(),
        _held: held,
    };
    match peer.media.try_send(item) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => drop_one(shared, rec),
        // The receiver's connection is gone.
        Err(TrySendError::Closed(_)) => {}
    }
}

/// One connection's stream-carried media writer: one frame per unidirectional stream, in queue
/// order, for the connection's lifetime (no task per frame).
pub(crate) async fn stream_writer(
    conn: quinn::Connection,
    metrics: Arc<Metrics>,
    mut rx: mpsc::Receiver<StreamFrame>,
) {
    // Each frame keeps its bytes of the budget until its stream is written.
    while let Some(StreamFrame { frame, rec, _held }) = rx.recv().await {
        let len = frame.len();
        if send_stream(&conn, frame).await {
            count_out(&metrics, &rec, len);
        } else if conn.close_reason().is_some() {
            return;
        }
    }
}

fn drop_one(shared: &Shared, rec: &ParticipantRecord) {
    rec.stats.drops.fetch_add(1, Relaxed);
    shared.metrics.drops.fetch_add(1, Relaxed);
}

/// Counts one delivered frame, for the receiver and for the relay (datagram and stream paths).
fn count_out(metrics: &Metrics, rec: &ParticipantRecord, len: usize) {
    let len = len as u64;
    rec.stats.media_out.fetch_add(1, Relaxed);
    rec.stats.media_bytes_out.fetch_add(len, Relaxed);
    metrics.frames_out.fetch_add(1, Relaxed);
    metrics.bytes_out.fetch_add(len, Relaxed);
}

async fn send_stream(conn: &quinn::Connection, frame: Bytes) -> bool {
    let Ok(mut s) = conn.open_uni().await else {
        return false;
    };
    let mut chunks = [Bytes::from_static(&[STREAM_TYPE_MEDIA]), frame];
    if s.write_all_chunks(&mut chunks).await.is_err() {
        return false;
    }
    s.finish().is_ok()
}
