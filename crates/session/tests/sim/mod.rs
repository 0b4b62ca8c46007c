//! A deterministic test network for meeting cores, in the spirit of quinn-proto's `Pair`: N
//! [`Session`]s, a relay model that speaks SPEC §6 (one room, relay ids, `Joined`,
//! `PeerJoined`, `PeerLeft`, `Deliver`) and can misbehave, and a virtual clock. No sockets, no
//! tasks, no sleeps: a whole meeting runs in milliseconds and the same seed gives the same run.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use hush_frame::CipherSuite;
use hush_group::{Identity, IdentityKey, KemId};
use hush_session::{
    Admit, ClientRole, EndReason, Event, KeyUpdate, Session, SessionConfig, Transmit,
};
use hush_wire::{RelayMode, Target};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub const ROOM: &str = "sim";

/// What one participant has seen so far.
#[derive(Debug, Default)]
pub struct Seen {
    pub code: Option<String>,
    pub epoch: u64,
    pub roster: Vec<IdentityKey>,
    /// Every epoch this participant was handed keys for.
    pub keyed: BTreeSet<u64>,
    pub ended: Option<EndReason>,
    pub removed: bool,
    pub admission_requests: Vec<u64>,
    pub host_away: bool,
    pub refused: usize,
    /// Join requests the host refused by policy (and told the joiner).
    pub join_refused: usize,
    /// Group messages this participant could not send.
    pub send_failed: Vec<hush_session::SendFailure>,
    /// The largest blob it sent.
    pub largest_sent: usize,
}

pub struct Node {
    pub name: String,
    pub identity: IdentityKey,
    pub relay_id: u64,
    pub connected: bool,
    pub session: Session,
    pub seen: Seen,
    /// Blobs this node has sent (count, bytes).
    pub sent: (usize, usize),
}

/// A delivery on the way to one node.
#[derive(Debug, Clone)]
pub enum Delivery {
    Blob { from: u64, bytes: Vec<u8> },
    PeerJoined(u64),
    PeerLeft(u64),
}

/// What the relay model does with a delivery before it is handed over.
pub type Tamper = Box<dyn FnMut(usize, &Delivery) -> Fate>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Pass,
    Drop,
    Duplicate,
    /// Handed over after everything already queued.
    Delay,
}

pub struct Net {
    pub now: u64,
    pub nodes: Vec<Node>,
    queue: VecDeque<(usize, Delivery)>,
    next_id: u64,
    seed: u64,
    pub tamper: Option<Tamper>,
    /// Epochs at which the host's roster listed each identity (the ground truth).
    pub rosters: BTreeMap<u64, BTreeSet<IdentityKey>>,
    /// The same, by roster index (what commits change).
    pub by_index: BTreeMap<u64, BTreeMap<u16, IdentityKey>>,
    /// A partition between relays (SPEC §15.7): the nodes on one side; nothing crosses it.
    cut: Option<BTreeSet<usize>>,
}

pub fn config(name: &str, role: ClientRole, seed: u64) -> SessionConfig {
    let mut rng = StdRng::seed_from_u64(seed);
    SessionConfig {
        room: ROOM.to_owned(),
        name: name.to_owned(),
        identity: Identity::generate(&mut rng),
        role,
        host_key: None,
        allow_transport: false,
        suite: CipherSuite::ChaCha20Poly1305Sha256,
        kem: KemId::X25519,
        rotation_ms: 300_000,
        grace_ms: 2000,
        host_grace_ms: 60_000,
        max_message: hush_wire::MAX_BLOB_SIZE,
    }
}

pub fn host_auto() -> ClientRole {
    ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    }
}

impl Net {
    pub fn new(seed: u64) -> Self {
        Net {
            now: 1,
            nodes: Vec::new(),
            queue: VecDeque::new(),
            next_id: 1,
            seed,
            tamper: None,
            rosters: BTreeMap::new(),
            by_index: BTreeMap::new(),
            cut: None,
        }
    }

    /// The nodes in `side` and the others lose each other, as when the link between their
    /// relays dies: each side hears `PeerLeft` of the other's ids, and nothing crosses.
    pub fn split(&mut self, side: &[usize]) {
        let side: BTreeSet<usize> = side.iter().copied().collect();
        self.cross(&side, Delivery::PeerLeft);
        self.cut = Some(side);
    }

    /// The partition heals: the link is back, each side hears `PeerJoined` of the other's ids
    /// (the same ids: nobody reconnected).
    pub fn heal(&mut self) {
        if let Some(side) = self.cut.take() {
            self.cross(&side, Delivery::PeerJoined);
        }
    }

    fn cross(&mut self, side: &BTreeSet<usize>, d: fn(u64) -> Delivery) {
        for (i, a) in self.nodes.iter().enumerate() {
            for (j, b) in self.nodes.iter().enumerate() {
                if a.connected && b.connected && side.contains(&i) != side.contains(&j) {
                    self.queue.push_back((i, d(b.relay_id)));
                }
            }
        }
    }

    /// A participant joins the room (a new relay id) and the relay tells the others.
    pub fn join(&mut self, cfg: SessionConfig) -> usize {
        self.seed += 1;
        let identity = cfg.identity.public();
        let name = cfg.name.clone();
        let session = Session::new(cfg, StdRng::seed_from_u64(self.seed)).unwrap();
        let idx = self.nodes.len();
        self.nodes.push(Node {
            name,
            identity,
            relay_id: 0,
            connected: false,
            session,
            seen: Seen::default(),
            sent: (0, 0),
        });
        self.connect(idx);
        idx
    }

    /// (Re)connects node `idx` under a fresh relay id.
    pub fn connect(&mut self, idx: usize) {
        let id = self.next_id;
        self.next_id += 1;
        let others: Vec<u64> = self
            .nodes
            .iter()
            .filter(|n| n.connected)
            .map(|n| n.relay_id)
            .collect();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.connected {
                self.queue.push_back((i, Delivery::PeerJoined(id)));
            }
        }
        let node = &mut self.nodes[idx];
        node.relay_id = id;
        node.connected = true;
        node.session
            .handle_connected(self.now, id, &others, RelayMode::E2ee)
            .unwrap();
        self.drain(idx);
    }

    /// The relay drops node `idx`'s connection; the others hear `PeerLeft`.
    pub fn disconnect(&mut self, idx: usize) {
        let id = self.nodes[idx].relay_id;
        self.nodes[idx].connected = false;
        self.nodes[idx].session.handle_disconnected();
        self.drain(idx);
        self.queue.retain(|(to, _)| *to != idx);
        for (i, n) in self.nodes.iter().enumerate() {
            if n.connected {
                self.queue.push_back((i, Delivery::PeerLeft(id)));
            }
        }
    }

    /// Node `idx` leaves cleanly: its signed leave, then the relay's `PeerLeft`.
    pub fn leave(&mut self, idx: usize) {
        self.nodes[idx].session.leave();
        self.drain(idx);
        self.disconnect(idx);
    }

    fn by_id(&self, id: u64) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.connected && n.relay_id == id)
    }

    /// Takes everything node `idx` produced: transmits to the queue, keys and events recorded.
    pub fn drain(&mut self, idx: usize) {
        let from = self.nodes[idx].relay_id;
        while let Some(Transmit { to, bytes }) = self.nodes[idx].session.poll_transmit() {
            self.nodes[idx].sent.0 += 1;
            self.nodes[idx].sent.1 += bytes.len();
            let largest = &mut self.nodes[idx].seen.largest_sent;
            *largest = (*largest).max(bytes.len());
            if !self.nodes[idx].connected {
                continue;
            }
            // What the host signed each epoch: a full roster, or a commit applied to the last.
            let listed: Option<(u64, BTreeMap<u16, IdentityKey>)> =
                match hush_group::Message::decode(&bytes) {
                    Ok(hush_group::Message::Roster(r)) => Some((
                        r.content.epoch,
                        r.content
                            .members
                            .iter()
                            .map(|m| (m.index, m.identity))
                            .collect(),
                    )),
                    Ok(hush_group::Message::Commit(c)) => {
                        self.by_index.get(&(c.content.epoch - 1)).map(|prev| {
                            let mut next = prev.clone();
                            for i in &c.content.removed {
                                next.remove(i);
                            }
                            for u in &c.content.upserted {
                                next.insert(u.index, u.identity);
                            }
                            (c.content.epoch, next)
                        })
                    }
                    _ => None,
                };
            if let Some((epoch, by_index)) = listed {
                let ids = by_index.values().copied().collect();
                self.by_index.insert(epoch, by_index);
                self.rosters.insert(epoch, ids);
            }
            match to {
                Target::All => {
                    for (i, n) in self.nodes.iter().enumerate() {
                        if i != idx && n.connected {
                            let d = Delivery::Blob {
                                from,
                                bytes: bytes.clone(),
                            };
                            self.queue.push_back((i, d));
                        }
                    }
                }
                Target::Participant(p) => {
                    if let Some(i) = self.by_id(p.0) {
                        self.queue.push_back((i, Delivery::Blob { from, bytes }));
                    }
                }
                _ => {}
            }
        }
        let n = &mut self.nodes[idx];
        while let Some(k) = n.session.poll_key_update() {
            match k {
                KeyUpdate::Epoch { epoch, .. } => {
                    n.seen.keyed.insert(epoch);
                    n.seen.epoch = epoch;
                }
                KeyUpdate::Clear => n.seen.epoch = 0,
                _ => {}
            }
        }
        while let Some(ev) = n.session.poll_event() {
            match ev {
                Event::SecurityCode(c) => n.seen.code = Some(c),
                Event::RosterChanged(v) => {
                    n.seen.roster = v.members.iter().map(|m| m.identity).collect();
                }
                Event::Ended(why) => n.seen.ended = Some(why),
                Event::Removed => n.seen.removed = true,
                Event::AdmissionRequest(r) => n.seen.admission_requests.push(r.relay_id),
                Event::HostAway { .. } => n.seen.host_away = true,
                Event::Refused { .. } => n.seen.refused += 1,
                Event::JoinRefused { .. } => n.seen.join_refused += 1,
                Event::SendFailed(f) => n.seen.send_failed.push(f),
                _ => {}
            }
        }
    }

    /// Hands over one queued delivery; false when none is left.
    pub fn step(&mut self) -> bool {
        let Some((to, d)) = self.queue.pop_front() else {
            return false;
        };
        let fate = match self.tamper.as_mut() {
            Some(t) => t(to, &d),
            None => Fate::Pass,
        };
        match fate {
            Fate::Drop => return true,
            Fate::Delay => {
                self.queue.push_back((to, d));
                return true;
            }
            Fate::Duplicate => self.queue.push_front((to, d.clone())),
            Fate::Pass => {}
        }
        if !self.nodes[to].connected {
            return true;
        }
        if let (Some(side), Delivery::Blob { from, .. }) = (&self.cut, &d)
            && let Some(f) = self.by_id(*from)
            && side.contains(&f) != side.contains(&to)
        {
            return true;
        }
        let now = self.now;
        let s = &mut self.nodes[to].session;
        match d {
            Delivery::Blob { from, bytes } => {
                let data = s.handle_blob(now, from, &bytes);
                assert!(!data, "no data messages in this network");
            }
            Delivery::PeerJoined(id) => s.handle_peer_joined(id),
            Delivery::PeerLeft(id) => s.handle_peer_left(now, id),
        }
        self.drain(to);
        true
    }

    /// Delivers until nothing is in flight (bounded, so a loop is a failure, not a hang).
    pub fn settle(&mut self) {
        for _ in 0..5_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the network never settled");
    }

    /// Advances the clock to `until`, running every timer due on the way and settling after each.
    pub fn run_until(&mut self, until: u64) {
        loop {
            self.settle();
            let next = self
                .nodes
                .iter()
                .filter(|n| n.connected)
                .filter_map(|n| n.session.poll_timeout())
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for i in 0..self.nodes.len() {
                        if self.nodes[i].connected
                            && self.nodes[i]
                                .session
                                .poll_timeout()
                                .is_some_and(|t| t <= self.now)
                        {
                            self.nodes[i].session.handle_timeout(self.now);
                            self.drain(i);
                        }
                    }
                }
                _ => {
                    self.now = until;
                    self.settle();
                    return;
                }
            }
        }
    }

    /// Advances the clock by `ms`.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        self.run_until(until);
    }

    /// The connected nodes that hold an epoch.
    pub fn keyed(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].connected && self.nodes[i].seen.epoch > 0)
            .collect()
    }

    /// Invariant: every connected node keyed in the same epoch shows the same code, and every
    /// epoch's keys went only to identities in that epoch's host-signed roster.
    pub fn check_invariants(&self) {
        let mut codes: BTreeMap<u64, &str> = BTreeMap::new();
        for n in self
            .nodes
            .iter()
            .filter(|n| n.connected && n.seen.epoch > 0)
        {
            let code = n.seen.code.as_deref().unwrap();
            let c = codes.entry(n.seen.epoch).or_insert(code);
            assert_eq!(
                *c, code,
                "{}: code differs in epoch {}",
                n.name, n.seen.epoch
            );
        }
        for n in &self.nodes {
            for e in &n.seen.keyed {
                let roster = self
                    .rosters
                    .get(e)
                    .expect("keys for an epoch with no roster");
                assert!(
                    roster.contains(&n.identity),
                    "{} holds keys of epoch {e} without being in its roster",
                    n.name
                );
            }
        }
    }
}
