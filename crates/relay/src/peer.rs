//! Relay-to-relay links (SPEC §15): a cascade of relays carrying one room between them.
//!
//! Each relay of the cluster links to the others (one QUIC connection per pair, ALPN
//! `hush-peer/1`, the dialler checking the acceptor's certificate pin and the acceptor checking
//! the cluster secret the dialler presents). Over a link each relay announces the rooms it has
//! participants in (`Carry`), their arrivals and departures, the blobs they send, and their
//! media. What a relay receives on a link it forwards to its own participants only: fan-out
//! happens at the edge, each frame crosses each link at most once, and nothing loops. The
//! relay still reads nothing of a frame but its length (and, from its own clients, the SFrame
//! header): a link carries the same opaque bytes a client connection does.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use hush_wire::media::STREAM_TYPE_MEDIA;
use hush_wire::peer::{HANDLE_LEN, MIN_SECRET, PEER_ALPN, PeerIdentity, PeerMessage};
use hush_wire::sync::lock;
use hush_wire::{ErrorCode, ParticipantId, RelayMessage};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::budget::ByteBudget;
use crate::config::{ClusterConfig, PeerAddr};
use crate::directory::Directory;
use crate::report::{MemberStats, ParticipantRecord};
use crate::room::{Peer, Room, Shared, Side, StreamFrame};

/// How long a dialled link has to finish its `Hello`/`Welcome` exchange.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A link is closed after this long without a packet from the peer (keep-alives every
/// [`LINK_KEEP_ALIVE`]): a dead relay's rooms are dropped within it.
const LINK_IDLE: Duration = Duration::from_secs(5);

/// Keep-alive interval of a link.
const LINK_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// A link's control queue holds this many times a client connection's (in messages and in
/// bytes, SPEC §7.5): it carries every shared room's arrivals, departures and blobs.
const LINK_QUEUE_FACTOR: usize = 8;

/// First and longest wait between two dials of a peer that cannot be reached.
const REDIAL_MIN: Duration = Duration::from_millis(200);
const REDIAL_MAX: Duration = Duration::from_secs(5);

/// What a link's peer is, as the report and the handle show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLinkInfo {
    /// The peer relay's name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its address as this relay sees it.
    pub remote: SocketAddr,
    /// Whether this relay dialled the link.
    pub dialled: bool,
    /// The rooms the peer announced (it has participants there), sorted.
    pub rooms: Vec<String>,
}

/// This relay's part in a cascade.
pub(crate) struct Cluster {
    pub(crate) me: PeerIdentity,
    secret: Vec<u8>,
    peers: Vec<PeerAddr>,
    links: Mutex<Vec<Arc<Link>>>,
    /// The room directory on Redis (SPEC §15.7), if the cluster has one.
    pub(crate) directory: Option<Arc<Directory>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("me", &self.me)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

/// One link to a peer relay.
pub(crate) struct Link {
    pub(crate) remote: PeerIdentity,
    dialled: bool,
    /// The link's send side: its connection, control queue and stream-media queue.
    pub(crate) peer: Peer,
    /// What frames sent on the link count to.
    rec: Arc<ParticipantRecord>,
    /// The peer's room handles → this relay's rooms.
    rooms_in: Mutex<HashMap<u32, Arc<Room>>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("remote", &self.remote)
            .field("dialled", &self.dialled)
            .finish_non_exhaustive()
    }
}

/// True for a relay name of a cluster: 1..=64 ASCII letters, digits, `.`, `_`, `-` (the
/// directory's keys and fields are built from it, with `:` as their separator).
pub fn valid_relay_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The high half of the participant ids a relay assigns (SPEC §15.2): from its name, which is
/// unique in the cluster (relays of one deployment may share a certificate, so not its pin).
fn id_tag(name: &str) -> u32 {
    let d = Sha256::digest([b"hush-relay-id-tag\0".as_slice(), name.as_bytes()].concat());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]).max(1)
}

/// Whether a dialler's secret is the cluster's, in constant time (lengths may differ).
fn secret_matches(got: &[u8], want: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(got, want))
}

impl Cluster {
    /// The cluster part of a relay in `region`, holding the cluster `secret` (the configured
    /// one, or the directory's) and linked to the cluster's `directory`, if any.
    pub(crate) fn new(
        cfg: &ClusterConfig,
        region: &str,
        secret: Vec<u8>,
        directory: Option<Arc<Directory>>,
    ) -> Result<Self, String> {
        if !valid_relay_name(&cfg.name) {
            return Err(format!(
                "the relay's cluster name {:?} must be 1..=64 ASCII letters, digits, '.', '_' or '-'",
                cfg.name
            ));
        }
        if secret.len() < MIN_SECRET || secret.len() > hush_wire::peer::MAX_SECRET {
            return Err(format!(
                "the cluster secret must be {MIN_SECRET}..={} bytes, not {}",
                hush_wire::peer::MAX_SECRET,
                secret.len()
            ));
        }
        Ok(Cluster {
            me: PeerIdentity {
                name: cfg.name.clone(),
                region: region.to_owned(),
                tag: id_tag(&cfg.name),
            },
            secret,
            peers: cfg.peers.clone(),
            links: Mutex::new(Vec::new()),
            directory,
        })
    }

    fn links(&self) -> Vec<Arc<Link>> {
        lock(&self.links).clone()
    }

    /// The links and what their peers carry.
    pub(crate) fn info(&self) -> Vec<PeerLinkInfo> {
        self.links()
            .iter()
            .map(|l| {
                let mut rooms: Vec<String> =
                    lock(&l.rooms_in).values().map(|r| r.name.clone()).collect();
                rooms.sort();
                PeerLinkInfo {
                    name: l.remote.name.clone(),
                    region: l.remote.region.clone(),
                    remote: l.peer.conn.remote_address(),
                    dialled: l.dialled,
                    rooms,
                }
            })
            .collect()
    }

    /// A participant of this relay joined `room` (the caller holds the rooms lock, so links
    /// see arrivals in order): `Carry` first if it is the room's first here, then `Joined`.
    pub(crate) fn announce_join(
        &self,
        shared: &Shared,
        room: &Room,
        first: bool,
        id: ParticipantId,
        policy: &str,
    ) {
        for l in self.links() {
            if first {
                let carry = PeerMessage::Carry {
                    room: room.name.clone(),
                    handle: room.handle,
                };
                shared.push_control(&l.peer, carry.encode());
            }
            let joined = PeerMessage::Joined {
                handle: room.handle,
                id,
                policy: policy.to_owned(),
            };
            shared.push_control(&l.peer, joined.encode());
        }
    }

    /// A participant of this relay left `room`; `Uncarry` after it if it was the last here.
    pub(crate) fn announce_leave(
        &self,
        shared: &Shared,
        room: &Room,
        last: bool,
        id: ParticipantId,
    ) {
        for l in self.links() {
            let left = PeerMessage::Left {
                handle: room.handle,
                id,
            };
            shared.push_control(&l.peer, left.encode());
            if last {
                let un = PeerMessage::Uncarry {
                    handle: room.handle,
                };
                shared.push_control(&l.peer, un.encode());
            }
        }
    }

    /// Registers a link whose handshake is done, and announces this relay's rooms on it, under
    /// the rooms lock. Of two links to one peer (both dialled at once) the one dialled by the
    /// relay with the smaller name stays, on both sides; false if `link` is the one to drop.
    fn register(&self, shared: &Shared, link: &Arc<Link>) -> bool {
        let rooms = lock(&shared.rooms);
        let mut links = lock(&self.links);
        let preferred = |l: &Link| {
            let dialler = if l.dialled {
                &self.me.name
            } else {
                &l.remote.name
            };
            dialler == std::cmp::min(&self.me.name, &l.remote.name)
        };
        if let Some(i) = links.iter().position(|l| l.remote.name == link.remote.name) {
            if preferred(&links[i]) || !preferred(link) {
                return false;
            }
            let old = links.remove(i);
            shared.close(&old.peer.conn, ErrorCode::NO_ERROR, "duplicate link");
        }
        links.push(link.clone());
        drop(links);
        for room in rooms.values() {
            let members = room.snapshot();
            if members.is_empty() {
                continue;
            }
            let carry = PeerMessage::Carry {
                room: room.name.clone(),
                handle: room.handle,
            };
            shared.push_control(&link.peer, carry.encode());
            for m in members.iter() {
                let joined = PeerMessage::Joined {
                    handle: room.handle,
                    id: m.id,
                    policy: m.policy.clone(),
                };
                shared.push_control(&link.peer, joined.encode());
            }
        }
        true
    }

    /// The knowledge report's cascade section: this relay, its directory, its peer links and
    /// the rooms each peer carries (SPEC §15.8).
    pub(crate) fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let dir = match &self.directory {
            None => "no directory (static peers)".to_owned(),
            Some(d) => format!(
                "directory {} ({})",
                d.shown(),
                if d.is_up() {
                    "reachable"
                } else {
                    "UNREACHABLE"
                }
            ),
        };
        let links = self.info();
        let _ = writeln!(
            o,
            "cluster: this relay is {:?} (region {:?}, id tag {:#010x}), {dir}, {} peer link(s)",
            self.me.name,
            self.me.region,
            self.me.tag,
            links.len()
        );
        for l in &links {
            let _ = writeln!(
                o,
                "  peer link {:?}: region {:?}, at {}, {}, carries rooms {:?}",
                l.name,
                l.region,
                l.remote,
                if l.dialled {
                    "dialled by this relay"
                } else {
                    "dialled by the peer"
                },
                l.rooms
            );
        }
        o
    }

    /// The relays carrying `room`, this one first: what its participants are told (SPEC §15.8).
    pub(crate) fn carriers(&self, room: &Room) -> Bytes {
        let mut others: Vec<(String, String)> = room
            .sides()
            .iter()
            .map(|s| (s.link.remote.name.clone(), s.link.remote.region.clone()))
            .collect();
        others.sort();
        let relays = std::iter::once((self.me.name.clone(), self.me.region.clone()))
            .chain(others)
            .collect();
        RelayMessage::Carriers { relays }.encode()
    }

    /// Tells every participant of `room` here which relays carry it now.
    pub(crate) fn announce_carriers(&self, shared: &Shared, room: &Room) {
        let msg = self.carriers(room);
        for m in room.snapshot().iter() {
            shared.push_to_member(m, msg.clone());
        }
    }

    /// The regions of the peer relays carrying `room` with this relay, sorted, deduplicated.
    pub(crate) fn carrier_regions(&self, room: &Room) -> Vec<String> {
        let mut r: Vec<String> = room
            .sides()
            .iter()
            .map(|s| s.link.remote.region.clone())
            .chain([self.me.region.clone()])
            .collect();
        r.sort();
        r.dedup();
        r
    }

    /// Removes a closed link: its peer's participants leave every room it carried.
    fn unregister(&self, shared: &Shared, link: &Arc<Link>) {
        let mut rooms = lock(&shared.rooms);
        lock(&self.links).retain(|l| !Arc::ptr_eq(l, link));
        let carried: Vec<Arc<Room>> = lock(&link.rooms_in).drain().map(|(_, r)| r).collect();
        for room in carried {
            drop_side(shared, &room, link);
            shared.close_if_empty(&mut rooms, &room);
        }
    }
}

/// Removes `link`'s side from `room`, telling the room's participants here that its
/// participants left.
fn drop_side(shared: &Shared, room: &Room, link: &Arc<Link>) {
    let sides = room.sides();
    let Some(side) = sides.iter().find(|s| Arc::ptr_eq(&s.link, link)) else {
        return;
    };
    let gone = std::mem::take(&mut *lock(&side.members)).into_keys();
    let rest: Arc<[Arc<Side>]> = sides
        .iter()
        .filter(|s| !Arc::ptr_eq(&s.link, link))
        .cloned()
        .collect();
    room.set_sides(rest);
    if let Some(c) = &shared.cluster {
        c.announce_carriers(shared, room);
    }
    for id in gone {
        let note = RelayMessage::PeerLeft { id }.encode();
        for m in room.snapshot().iter() {
            shared.push_to_member(m, note.clone());
        }
    }
}

/// Sends a media frame of `room` (from one of this relay's participants) on every link whose
/// peer has participants in it: once per link.
pub(crate) fn forward_to_links(shared: &Shared, room: &Room, frame: &Bytes) {
    let sides = room.sides();
    if sides.is_empty() {
        return;
    }
    let mut tagged = BytesMut::with_capacity(HANDLE_LEN + frame.len());
    tagged.put_u32(room.handle);
    tagged.put_slice(frame);
    let tagged = tagged.freeze();
    for s in sides.iter() {
        crate::conn::send_media_to(shared, &s.link.peer, &s.link.rec, tagged.clone());
    }
}

/// A blob one of this relay's participants sent: to every link (`to` is
/// [`ParticipantId::RELAY`]) or to the link of participant `to`. False if `to` is on no link.
pub(crate) fn deliver_to_links(
    shared: &Shared,
    room: &Room,
    from: ParticipantId,
    to: ParticipantId,
    blob: &Bytes,
) -> bool {
    let msg = PeerMessage::Deliver {
        handle: room.handle,
        from,
        to,
        blob: blob.clone(),
    };
    if to == ParticipantId::RELAY {
        let bytes = msg.encode();
        for s in room.sides().iter() {
            shared.push_control(&s.link.peer, bytes.clone());
        }
        return true;
    }
    match room.side_of(to) {
        Some(s) => {
            shared.push_control(&s.link.peer, msg.encode());
            true
        }
        None => false,
    }
}

/// Dials every configured peer, for the relay's lifetime (redialling with backoff).
pub(crate) fn spawn_dialers(
    shared: &Arc<Shared>,
    endpoint: &quinn::Endpoint,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(c) = &shared.cluster else {
        return Vec::new();
    };
    c.peers
        .iter()
        .map(|p| tokio::spawn(dial_forever(shared.clone(), endpoint.clone(), *p, None)))
        .collect()
}

/// Dials `to` until the relay stops; a peer found in the directory (`listed_as` its name) is
/// dialled only while the directory lists it there.
pub(crate) async fn dial_forever(
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    to: PeerAddr,
    listed_as: Option<String>,
) {
    let mut wait = REDIAL_MIN;
    loop {
        if let (Some(name), Some(dir)) = (&listed_as, shared.directory())
            && !dir.lists(name, to)
        {
            return;
        }
        let started = Instant::now();
        match dial(&shared, &endpoint, to).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(peer = %to.addr, error = %e, "peer link failed"),
        }
        if *shared.going_away.borrow() {
            return;
        }
        // A link that stayed up a while redials at once; repeated failures back off.
        if started.elapsed() > REDIAL_MAX {
            wait = REDIAL_MIN;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(REDIAL_MAX);
    }
}

async fn dial(
    shared: &Arc<Shared>,
    endpoint: &quinn::Endpoint,
    to: PeerAddr,
) -> Result<(), String> {
    let Some(cluster) = &shared.cluster else {
        return Ok(());
    };
    let cfg = client_config(to.pin).map_err(|e| format!("TLS set-up: {e}"))?;
    let conn = endpoint
        .connect_with(cfg, to.addr, crate::tls::SELF_SIGNED_NAMES[0])
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let setup = async {
        // `Hello` on a unidirectional stream (a relay takes no bidirectional stream from its
        // dialler); the acceptor opens the link's stream with `Welcome` once it checked it.
        let mut hs = conn.open_uni().await.map_err(|e| e.to_string())?;
        let hello = PeerMessage::Hello {
            secret: cluster.secret.clone(),
            from: cluster.me.clone(),
        };
        hs.write_all(&hello.encode())
            .await
            .map_err(|e| e.to_string())?;
        let _ = hs.finish();
        let (send, mut recv) = conn.accept_bi().await.map_err(|e| e.to_string())?;
        match read_message(&mut recv).await? {
            PeerMessage::Welcome { from } => Ok((send, recv, from)),
            other => Err(format!("expected Welcome, got {other:?}")),
        }
    };
    let (send, recv, remote) = tokio::time::timeout(HANDSHAKE_TIMEOUT, setup)
        .await
        .map_err(|_| "no Welcome within 5 s".to_owned())??;
    check_remote(&cluster.me, &remote).inspect_err(|e| {
        shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, e);
    })?;
    tracing::info!(peer = %remote.name, region = %remote.region, addr = %to.addr, "peer link up (dialled)");
    run_link(shared, conn, send, recv, remote, true).await;
    Ok(())
}

/// An incoming connection that negotiated [`PEER_ALPN`].
pub(crate) async fn accept(shared: Arc<Shared>, conn: quinn::Connection) {
    let Some(cluster) = &shared.cluster else {
        shared.close(
            &conn,
            ErrorCode::PROTOCOL_VIOLATION,
            "this relay takes no peer links",
        );
        return;
    };
    let setup = async {
        let mut hs = conn.accept_uni().await.map_err(|e| e.to_string())?;
        match read_message(&mut hs).await? {
            PeerMessage::Hello { secret, from } => Ok((secret, from)),
            other => Err(format!("expected Hello, got {other:?}")),
        }
    };
    let (secret, remote) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, setup).await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, &e);
            return;
        }
        Err(_) => {
            shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, "no Hello within 5 s");
            return;
        }
    };
    if !secret_matches(&secret, &cluster.secret) {
        tracing::warn!(remote = %conn.remote_address(), "peer link refused: wrong cluster secret");
        shared.close(
            &conn,
            ErrorCode::PROTOCOL_VIOLATION,
            "not a relay of this cluster",
        );
        return;
    }
    if let Err(e) = check_remote(&cluster.me, &remote) {
        shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, &e);
        return;
    }
    let Ok((mut send, recv)) = conn.open_bi().await else {
        return;
    };
    let welcome = PeerMessage::Welcome {
        from: cluster.me.clone(),
    };
    if send.write_all(&welcome.encode()).await.is_err() {
        return;
    }
    tracing::info!(peer = %remote.name, region = %remote.region, addr = %conn.remote_address(), "peer link up (accepted)");
    run_link(&shared, conn, send, recv, remote, false).await;
}

fn check_remote(me: &PeerIdentity, remote: &PeerIdentity) -> Result<(), String> {
    if remote.name == me.name {
        return Err(format!("peer has this relay's own name {:?}", me.name));
    }
    if remote.tag == me.tag || remote.tag == 0 {
        return Err(format!(
            "peer {:?} has this relay's id tag {:#010x}",
            remote.name, me.tag
        ));
    }
    Ok(())
}

async fn read_message(recv: &mut quinn::RecvStream) -> Result<PeerMessage, String> {
    let mut prefix = [0u8; 4];
    recv.read_exact(&mut prefix)
        .await
        .map_err(|e| format!("link stream: {e}"))?;
    let len = hush_wire::control::parse_length(prefix).map_err(|e| e.to_string())?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| format!("link stream: {e}"))?;
    PeerMessage::decode(Bytes::from(body)).map_err(|e| e.to_string())
}

async fn run_link(
    shared: &Arc<Shared>,
    conn: quinn::Connection,
    send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    remote: PeerIdentity,
    dialled: bool,
) {
    let Some(cluster) = &shared.cluster else {
        return;
    };
    let limits = &shared.limits;
    let metrics = &shared.metrics;
    let (tx, writer) =
        crate::conn::spawn_control_writer(send, limits.control_queue.max(1) * LINK_QUEUE_FACTOR);
    let (media_tx, media_rx) = mpsc::channel::<StreamFrame>(limits.stream_frames_in_flight.max(1));
    let media_writer = tokio::spawn(crate::conn::stream_writer(
        conn.clone(),
        metrics.clone(),
        media_rx,
    ));
    let link = Arc::new(Link {
        rec: Arc::new(ParticipantRecord {
            id: ParticipantId::RELAY,
            remote: conn.remote_address(),
            joined: SystemTime::now(),
            left: Mutex::new(None),
            stats: MemberStats::default(),
            kids: None,
        }),
        remote,
        dialled,
        peer: Peer {
            conn: conn.clone(),
            control: tx,
            control_bytes: ByteBudget::new(
                limits.control_queue_bytes * LINK_QUEUE_FACTOR,
                metrics.control_queued.clone(),
            ),
            media: media_tx,
            media_bytes: ByteBudget::new(
                limits.stream_bytes_in_flight,
                metrics.stream_queued.clone(),
            ),
        },
        rooms_in: Mutex::new(HashMap::new()),
    });
    if !cluster.register(shared, &link) {
        shared.close(&conn, ErrorCode::NO_ERROR, "duplicate link");
        writer.abort();
        media_writer.abort();
        return;
    }
    let datagrams = tokio::spawn(link_datagrams(shared.clone(), link.clone()));
    let streams = tokio::spawn(link_streams(shared.clone(), link.clone()));
    loop {
        let msg = match read_message(&mut recv).await {
            Ok(m) => m,
            Err(e) => {
                if conn.close_reason().is_none() {
                    shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, &e);
                }
                break;
            }
        };
        if let Err(e) = on_message(shared, &link, msg) {
            tracing::warn!(peer = %link.remote.name, error = %e, "closing peer link");
            shared.close(&conn, ErrorCode::PROTOCOL_VIOLATION, &e);
            break;
        }
    }
    tracing::info!(peer = %link.remote.name, "peer link down");
    cluster.unregister(shared, &link);
    for t in [writer, media_writer, datagrams, streams] {
        t.abort();
    }
}

/// One message from a peer. Err closes the link (a peer that breaks the protocol).
fn on_message(shared: &Shared, link: &Arc<Link>, msg: PeerMessage) -> Result<(), String> {
    match msg {
        PeerMessage::Carry { room, handle } => {
            let mut rooms = lock(&shared.rooms);
            let r = shared
                .room_locked(&mut rooms, &room)
                .map_err(|(_, why)| why)?;
            let mut ins = lock(&link.rooms_in);
            if ins.contains_key(&handle) || ins.values().any(|x| Arc::ptr_eq(x, &r)) {
                return Err(format!("room {room:?} or handle {handle} announced twice"));
            }
            if ins.len() >= shared.limits.max_rooms {
                return Err("peer announced more rooms than this relay holds".into());
            }
            ins.insert(handle, r.clone());
            let sides: Arc<[Arc<Side>]> = r
                .sides()
                .iter()
                .cloned()
                .chain([Arc::new(Side {
                    link: link.clone(),
                    members: Mutex::new(BTreeMap::new()),
                })])
                .collect();
            r.set_sides(sides);
            if let Some(c) = &shared.cluster {
                c.announce_carriers(shared, &r);
            }
        }
        PeerMessage::Uncarry { handle } => {
            let mut rooms = lock(&shared.rooms);
            let r = lock(&link.rooms_in)
                .remove(&handle)
                .ok_or_else(|| format!("Uncarry of unknown handle {handle}"))?;
            drop_side(shared, &r, link);
            shared.close_if_empty(&mut rooms, &r);
        }
        PeerMessage::Joined { handle, id, policy } => {
            let _rooms = lock(&shared.rooms);
            let (r, side) = side(link, handle)?;
            if id.0 >> 32 != u64::from(link.remote.tag) {
                return Err(format!("participant {id} is not of the peer's id space"));
            }
            let present = r.snapshot().len() + r.remote_ids().len();
            {
                let mut members = lock(&side.members);
                if members.contains_key(&id) {
                    return Err(format!("participant {id} joined twice"));
                }
                if present >= shared.limits.max_participants_per_room {
                    // The room is full here: this relay's participants do not see the newcomer;
                    // the peer is not at fault, so the link stays.
                    tracing::warn!(room = %r.name, %id, "remote participant over the room limit");
                    return Ok(());
                }
                members.insert(id, policy);
            }
            let note = RelayMessage::PeerJoined { id }.encode();
            for m in r.snapshot().iter() {
                shared.push_to_member(m, note.clone());
            }
        }
        PeerMessage::Left { handle, id } => {
            let _rooms = lock(&shared.rooms);
            let (r, side) = side(link, handle)?;
            let was = lock(&side.members).remove(&id).is_some();
            if was {
                let note = RelayMessage::PeerLeft { id }.encode();
                for m in r.snapshot().iter() {
                    shared.push_to_member(m, note.clone());
                }
            }
        }
        PeerMessage::Deliver {
            handle,
            from,
            to,
            blob,
        } => {
            let (r, side) = side(link, handle)?;
            if !lock(&side.members).contains_key(&from) {
                // Sent before its sender's `Joined`, or after its `Left`: dropped.
                return Ok(());
            }
            let bytes = RelayMessage::encode_deliver(from, &blob);
            for m in r.snapshot().iter() {
                if to == ParticipantId::RELAY || to == m.id {
                    shared.push_to_member(m, bytes.clone());
                }
            }
        }
        PeerMessage::Hello { .. } | PeerMessage::Welcome { .. } => {
            return Err("handshake message on an open link".into());
        }
        _ => return Err("unknown link message".into()),
    }
    Ok(())
}

/// The room and the peer's side of it for the peer's `handle`.
fn side(link: &Arc<Link>, handle: u32) -> Result<(Arc<Room>, Arc<Side>), String> {
    let r = lock(&link.rooms_in)
        .get(&handle)
        .cloned()
        .ok_or_else(|| format!("unknown room handle {handle}"))?;
    let s = r
        .sides()
        .iter()
        .find(|s| Arc::ptr_eq(&s.link, link))
        .cloned()
        .ok_or_else(|| format!("room handle {handle} has no side"))?;
    Ok((r, s))
}

/// A frame from a peer: to every participant of the room on this relay (never to a link).
fn forward_from_link(shared: &Shared, link: &Link, tagged: &Bytes) -> bool {
    let Some((handle, frame)) = hush_wire::peer::split_media(tagged) else {
        return false;
    };
    if frame.len() > shared.limits.max_frame_size {
        return false;
    }
    let Some(room) = lock(&link.rooms_in).get(&handle).cloned() else {
        // The room was dropped while the frame was in flight.
        return true;
    };
    shared.metrics.frame_in(frame.len() as u64);
    for r in room.snapshot().iter() {
        crate::conn::send_media(shared, r, frame.clone());
    }
    true
}

async fn link_datagrams(shared: Arc<Shared>, link: Arc<Link>) {
    while let Ok(d) = link.peer.conn.read_datagram().await {
        if !forward_from_link(&shared, &link, &d) {
            shared.close(
                &link.peer.conn,
                ErrorCode::PROTOCOL_VIOLATION,
                "malformed link media",
            );
            return;
        }
    }
}

async fn link_streams(shared: Arc<Shared>, link: Arc<Link>) {
    let max = shared.limits.max_frame_size + 1 + HANDLE_LEN;
    while let Ok(mut recv) = link.peer.conn.accept_uni().await {
        let (shared, link) = (shared.clone(), link.clone());
        tokio::spawn(async move {
            let read = recv.read_to_end(max);
            let Ok(Ok(data)) = tokio::time::timeout(shared.limits.stream_timeout(), read).await
            else {
                return;
            };
            let data = Bytes::from(data);
            if data.first() != Some(&STREAM_TYPE_MEDIA)
                || !forward_from_link(&shared, &link, &data.slice(1..))
            {
                shared.close(
                    &link.peer.conn,
                    ErrorCode::PROTOCOL_VIOLATION,
                    "malformed link media stream",
                );
            }
        });
    }
}

/// TLS for dialling a peer: its certificate must have `pin`; ALPN [`PEER_ALPN`].
fn client_config(pin: [u8; 32]) -> Result<quinn::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algs = provider.signature_verification_algorithms;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(hush_pin::PinnedCert::new(pin, algs).0)
        .with_no_client_auth();
    tls.alpn_protocols = vec![PEER_ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(LINK_KEEP_ALIVE));
    t.max_idle_timeout(quinn::IdleTimeout::try_from(LINK_IDLE).ok());
    t.datagram_receive_buffer_size(Some(4 << 20));
    t.datagram_send_buffer_size(4 << 20);
    cfg.transport_config(Arc::new(t));
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::secret_matches;

    #[test]
    fn secrets_compare_by_every_byte_and_length() {
        assert!(secret_matches(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!secret_matches(b"0123456789abcdef", b"0123456789abcdeF"));
        assert!(!secret_matches(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!secret_matches(b"", b"x"));
    }
}
