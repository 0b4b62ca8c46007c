//! Rooms and their members (SPEC §7.2). Membership changes happen under one mutex; the
//! forwarding path reads an `Arc` snapshot of the member list and never holds a lock across an
//! await.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use hush_wire::sync::{lock, read, write};
use hush_wire::{ErrorCode, ParticipantId, RelayMessage, Target};
use tokio::sync::{mpsc, watch};

use crate::budget::{ByteBudget, Held};
use crate::config::Limits;
use crate::directory::Directory;
use crate::dump::DumpFiles;
use crate::hook::{HookMessage, RelayHook};
use crate::metrics::Metrics;
use crate::peer::{Cluster, Link};
use crate::report::{MemberStats, ParticipantRecord, ReportBook, RoomRecord};

/// The ends of a connection other tasks may need: the QUIC connection, its bounded control
/// queue, and the bounded queue of its stream-carried media writer. Both queues are bounded in
/// messages and in bytes (SPEC §7.5).
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) conn: quinn::Connection,
    /// Control messages waiting for the connection's control writer (at most `control_queue`
    /// messages and `control_queue_bytes` bytes; beyond it the receiver is disconnected).
    pub(crate) control: mpsc::Sender<Queued>,
    pub(crate) control_bytes: Arc<ByteBudget>,
    /// Stream-carried media frames waiting for the connection's writer task (at most
    /// `stream_frames_in_flight` frames and `stream_bytes_in_flight` bytes; beyond it frames
    /// are dropped and counted).
    pub(crate) media: mpsc::Sender<StreamFrame>,
    pub(crate) media_bytes: Arc<ByteBudget>,
}

/// A control message queued for a receiver, holding its bytes of the receiver's budget until
/// the writer has handed it to QUIC.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) msg: Bytes,
    pub(crate) _held: Held,
}

/// A media frame queued for a receiver's stream writer, with the record its delivery counts to
/// and its bytes of the receiver's budget.
#[derive(Debug)]
pub(crate) struct StreamFrame {
    pub(crate) frame: Bytes,
    pub(crate) rec: Arc<ParticipantRecord>,
    pub(crate) _held: Held,
}

/// A participant of a room.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: ParticipantId,
    pub(crate) peer: Peer,
    pub(crate) rec: Arc<ParticipantRecord>,
    pub(crate) dump: Option<DumpFiles>,
    /// The regions the participant allows (`a,b`, or `*` for any), as its `Join` said.
    pub(crate) policy: String,
}

/// A room: exists while it has members.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: String,
    /// This relay's handle for the room on its peer links (SPEC §15).
    pub(crate) handle: u32,
    members: RwLock<Arc<[Arc<Member>]>>,
    /// The peer relays that have participants in the room (SPEC §15), with their ids.
    sides: RwLock<Arc<[Arc<Side>]>>,
    pub(crate) rec: Arc<RoomRecord>,
}

/// A peer relay's part of a room: the link, and its participants there.
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) link: Arc<Link>,
    /// Its participants in the room, each with its region policy (`a,b` or `*`) as its relay
    /// announced it.
    pub(crate) members: Mutex<BTreeMap<ParticipantId, String>>,
}

impl Room {
    /// The current member list (cheap: one uncontended read lock and an `Arc` clone).
    pub(crate) fn snapshot(&self) -> Arc<[Arc<Member>]> {
        read(&self.members).clone()
    }

    fn set(&self, members: Arc<[Arc<Member>]>) {
        *write(&self.members) = members;
    }

    /// The peer relays with participants in the room.
    pub(crate) fn sides(&self) -> Arc<[Arc<Side>]> {
        read(&self.sides).clone()
    }

    pub(crate) fn set_sides(&self, sides: Arc<[Arc<Side>]>) {
        *write(&self.sides) = sides;
    }

    /// Every participant id on other relays.
    pub(crate) fn remote_ids(&self) -> Vec<ParticipantId> {
        self.sides()
            .iter()
            .flat_map(|s| lock(&s.members).keys().copied().collect::<Vec<_>>())
            .collect()
    }

    /// The region policies of the participants on other relays, `*` left out.
    pub(crate) fn remote_policies(&self) -> Vec<String> {
        self.sides()
            .iter()
            .flat_map(|s| {
                lock(&s.members)
                    .values()
                    .filter(|p| *p != "*")
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The peer relay whose participant `id` is.
    pub(crate) fn side_of(&self, id: ParticipantId) -> Option<Arc<Side>> {
        self.sides()
            .iter()
            .find(|s| lock(&s.members).contains_key(&id))
            .cloned()
    }
}

/// A connection's current room and its member entry there.
#[derive(Debug)]
pub(crate) struct Membership {
    pub(crate) room: Arc<Room>,
    pub(crate) me: Arc<Member>,
}

/// The reason sent with `GOING_AWAY` (SPEC §7.11).
pub(crate) const GOING_AWAY_REASON: &str = "relay is shutting down: move to another relay";

/// State shared by every task of a relay.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    pub(crate) hook: Option<Arc<dyn RelayHook>>,
    pub(crate) rooms: Mutex<HashMap<String, Arc<Room>>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) report: Option<Arc<ReportBook>>,
    pub(crate) dump_dir: Option<PathBuf>,
    next_id: AtomicU64,
    pub(crate) conns: AtomicUsize,
    /// Set once when the relay starts draining (SPEC §7.11): every connection tells its client
    /// `GOING_AWAY`, and `Join` is refused from then on.
    pub(crate) going_away: watch::Sender<bool>,
    /// The relay's part in a cascade (SPEC §15), if it has one.
    pub(crate) cluster: Option<Cluster>,
    /// The region the relay runs in (its `Hello`).
    pub(crate) region: String,
    next_handle: AtomicU32,
}

impl Shared {
    pub(crate) fn new(
        limits: Limits,
        hook: Option<Arc<dyn RelayHook>>,
        metrics: Arc<Metrics>,
        report: Option<Arc<ReportBook>>,
        dump_dir: Option<PathBuf>,
        region: String,
        cluster: Option<Cluster>,
    ) -> Self {
        let tag = cluster.as_ref().map_or(0, |c| u64::from(c.me.tag));
        Shared {
            limits,
            hook,
            rooms: Mutex::new(HashMap::new()),
            metrics,
            report,
            dump_dir,
            // On a cascade the relay's tag is the high half of every id it assigns, so ids are
            // unique across the cluster (SPEC §15.2).
            next_id: AtomicU64::new((tag << 32) | 1),
            conns: AtomicUsize::new(0),
            going_away: watch::Sender::new(false),
            cluster,
            region,
            next_handle: AtomicU32::new(1),
        }
    }

    /// The cluster's room directory (SPEC §15.7), if the relay has one.
    pub(crate) fn directory(&self) -> Option<&Arc<Directory>> {
        self.cluster.as_ref().and_then(|c| c.directory.as_ref())
    }

    /// A fresh participant id (unique across the cluster, SPEC §15.2).
    pub(crate) fn next_participant_id(&self) -> ParticipantId {
        ParticipantId(self.next_id.fetch_add(1, Relaxed))
    }

    /// Every participant of this relay: `(room, id, policy)`.
    pub(crate) fn local_participants(&self) -> Vec<(String, u64, String)> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        rooms
            .iter()
            .flat_map(|r| {
                r.snapshot()
                    .iter()
                    .map(|m| (r.name.clone(), m.id.0, m.policy.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The room `name` if this relay has it (its participants, or a peer's).
    pub(crate) fn existing(&self, name: &str) -> Option<Arc<Room>> {
        lock(&self.rooms).get(name).cloned()
    }

    /// Closes a connection with a wire code and reason, counting it once.
    pub(crate) fn close(&self, conn: &quinn::Connection, code: ErrorCode, reason: &str) {
        if conn.close_reason().is_none() {
            self.metrics.closed(code);
            tracing::info!(remote = %conn.remote_address(), code = %code, reason, "closing connection");
            conn.close(quinn::VarInt::from_u32(code.0), reason.as_bytes());
        }
    }

    /// Queues a control message; a receiver whose queue is full, in messages or in bytes, is
    /// disconnected (SPEC §7.5).
    pub(crate) fn push_control(&self, peer: &Peer, msg: Bytes) -> bool {
        let Some(held) = peer.control_bytes.take(msg.len()) else {
            self.close(
                &peer.conn,
                ErrorCode::SLOW_CONSUMER,
                "control queue over its byte limit: receiver too slow",
            );
            return false;
        };
        match peer.control.try_send(Queued { msg, _held: held }) {
            Ok(()) => {
                self.metrics.control_out.fetch_add(1, Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(
                    &peer.conn,
                    ErrorCode::SLOW_CONSUMER,
                    "control queue full: receiver too slow",
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub(crate) fn push_to_member(&self, m: &Member, msg: Bytes) {
        if self.push_control(&m.peer, msg) {
            m.rec.stats.control_out.fetch_add(1, Relaxed);
        }
    }

    /// The room `name` (the caller holds the rooms lock), created if needed.
    pub(crate) fn room_locked(
        &self,
        rooms: &mut HashMap<String, Arc<Room>>,
        name: &str,
    ) -> Result<Arc<Room>, (ErrorCode, String)> {
        if let Some(r) = rooms.get(name) {
            return Ok(r.clone());
        }
        if rooms.len() >= self.limits.max_rooms {
            return Err((
                ErrorCode::TOO_MANY_ROOMS,
                format!("relay has its maximum of {} rooms", self.limits.max_rooms),
            ));
        }
        let rec = Arc::new(RoomRecord::new(name));
        if let Some(book) = &self.report {
            book.add_room(rec.clone());
        }
        let room = Arc::new(Room {
            name: name.to_owned(),
            handle: self.next_handle.fetch_add(1, Relaxed),
            members: RwLock::new(Arc::from(Vec::new())),
            sides: RwLock::new(Arc::from(Vec::new())),
            rec,
        });
        rooms.insert(name.to_owned(), room.clone());
        self.metrics.rooms_open.fetch_add(1, Relaxed);
        Ok(room)
    }

    /// Removes `room` if nobody is in it on this relay or a peer (the caller holds the lock).
    pub(crate) fn close_if_empty(&self, rooms: &mut HashMap<String, Arc<Room>>, room: &Arc<Room>) {
        if !room.snapshot().is_empty() || !room.sides().is_empty() {
            return;
        }
        if rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
            rooms.remove(&room.name);
            self.metrics.rooms_open.fetch_sub(1, Relaxed);
            *lock(&room.rec.closed) = Some(SystemTime::now());
        }
    }

    /// Enters `name` as participant `id` with region policy `policy`, creating the room if
    /// needed. Err carries the code and reason for an `Error`.
    pub(crate) fn join(
        &self,
        peer: &Peer,
        name: &str,
        id: ParticipantId,
        policy: String,
        publish: impl FnOnce(Arc<Membership>),
    ) -> Result<(), (ErrorCode, String)> {
        if *self.going_away.borrow() {
            return Err((ErrorCode::GOING_AWAY, GOING_AWAY_REASON.to_owned()));
        }
        let mut rooms = lock(&self.rooms);
        let room = self.room_locked(&mut rooms, name)?;
        let current = room.snapshot();
        let remote = room.remote_ids();
        if current.len() + remote.len() >= self.limits.max_participants_per_room {
            return Err((
                ErrorCode::ROOM_FULL,
                format!(
                    "room has its maximum of {} participants",
                    self.limits.max_participants_per_room
                ),
            ));
        }
        let rec = Arc::new(ParticipantRecord {
            id,
            remote: peer.conn.remote_address(),
            joined: SystemTime::now(),
            left: Mutex::new(None),
            stats: MemberStats::default(),
            kids: self.report.as_ref().map(|b| Mutex::new(b.kid_book())),
        });
        room.rec.add_participant(rec.clone());
        let me = Arc::new(Member {
            id,
            peer: peer.clone(),
            rec,
            dump: self
                .dump_dir
                .as_ref()
                .map(|d| DumpFiles::create(d, name, id)),
            policy,
        });
        let members: Arc<[Arc<Member>]> = current.iter().cloned().chain([me.clone()]).collect();
        room.set(members.clone());
        if let Some(c) = &self.cluster {
            c.announce_join(self, &room, current.is_empty(), id, &me.policy);
        }
        drop(rooms);
        self.metrics.participants_open.fetch_add(1, Relaxed);
        tracing::info!(room = name, id = %id, remote = %peer.conn.remote_address(), "joined");

        let membership = Arc::new(Membership { room, me });
        // The caller must publish the membership before the client can learn its id.
        publish(membership.clone());
        let (room, me) = (&membership.room, &membership.me);
        let others: Vec<ParticipantId> = current.iter().map(|m| m.id).chain(remote).collect();
        self.push_to_member(
            me,
            RelayMessage::Joined {
                your_id: id,
                participants: others,
            }
            .encode(),
        );
        if let Some(c) = &self.cluster {
            self.push_to_member(me, c.carriers(room));
        }
        let note = RelayMessage::PeerJoined { id }.encode();
        for m in current.iter() {
            self.push_to_member(m, note.clone());
        }
        if let Some(h) = &self.hook {
            let ids: Vec<ParticipantId> = members.iter().map(|m| m.id).collect();
            let out = h.on_join(name, id, &ids);
            self.deliver_hook(room, out);
        }
        Ok(())
    }

    /// Leaves the room of `m`, closing the room if it becomes empty.
    pub(crate) fn leave(&self, m: &Membership, reason: &str) {
        let room = &m.room;
        let mut rooms = lock(&self.rooms);
        let remaining: Arc<[Arc<Member>]> = room
            .snapshot()
            .iter()
            .filter(|x| x.id != m.me.id)
            .cloned()
            .collect();
        room.set(remaining.clone());
        if let Some(c) = &self.cluster {
            c.announce_leave(self, room, remaining.is_empty(), m.me.id);
            if let Some(d) = self.directory() {
                d.release_later(&room.name, m.me.id.0);
            }
        }
        self.close_if_empty(&mut rooms, room);
        drop(rooms);
        self.metrics.participants_open.fetch_sub(1, Relaxed);
        *lock(&m.me.rec.left) = Some((SystemTime::now(), reason.to_owned()));
        if let Some(book) = &self.report {
            book.departed(&room.rec, &m.me.rec);
        }
        if let Some(d) = &m.me.dump {
            d.flush();
        }
        tracing::info!(room = %room.name, id = %m.me.id, reason, "left");
        let note = RelayMessage::PeerLeft { id: m.me.id }.encode();
        for other in remaining.iter() {
            self.push_to_member(other, note.clone());
        }
        if let Some(h) = &self.hook {
            let ids: Vec<ParticipantId> = remaining.iter().map(|x| x.id).collect();
            let out = h.on_leave(&room.name, m.me.id, &ids);
            self.deliver_hook(room, out);
        }
    }

    /// Delivers the hook's blobs as `Deliver { from: 0 }`.
    pub(crate) fn deliver_hook(&self, room: &Room, msgs: Vec<HookMessage>) {
        if msgs.is_empty() {
            return;
        }
        let members = room.snapshot();
        for msg in msgs {
            let bytes = RelayMessage::encode_deliver(ParticipantId::RELAY, &msg.blob);
            for m in members.iter() {
                let wanted = match msg.to {
                    Target::All => true,
                    Target::Participant(id) => id == m.id,
                    _ => false,
                };
                if wanted {
                    self.push_to_member(m, bytes.clone());
                }
            }
        }
    }

    /// Rewrites the report's cascade section from the links as they are now.
    pub(crate) fn refresh_cluster_report(&self) {
        if let (Some(book), Some(c)) = (&self.report, &self.cluster) {
            book.set_cluster(c.report());
        }
    }

    /// Flushes every open dump file.
    pub(crate) fn flush_dumps(&self) {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        for r in rooms {
            for m in r.snapshot().iter() {
                if let Some(d) = &m.dump {
                    d.flush();
                }
            }
        }
    }
}
