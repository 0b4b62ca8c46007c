//! The meeting's driver task: owns the connection's control events, the group state machine
//! (host or member, SPEC §8.8–§8.9) or the transport-mode keys (SPEC §12), the timers, and
//! reconnection. It installs and erases the `Opener`'s keys (in [`Inbound`], under its lock);
//! media frames do not pass through it: the connection's readers open them in [`Inbound`].
//! It reacts to three sources: network events, commands from the handles, and the earliest
//! group timer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hush_group::message::msg_type;
use hush_group::{
    Host, HostConfig, HostInput, IdentityKey, Member, MemberConfig, Outgoing, PendingJoin, Role,
};
use hush_group::issued::Issued;
use hush_wire::{ParticipantId, RelayMode, Target};
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};

/// Join requests waiting for the host's answer (`Admit::Ask`) at most; more are refused.
pub(crate) const MAX_PENDING: usize = 64;

use crate::blob::{BlobClass, classify};
use crate::config::{Admit, ClientRole, MeetingConfig};
use crate::error::MeetingError;
use crate::event::{AdmissionRequest, E2eeStatus, EndReason, MeetingEvent, Refusal};
use crate::guard::{HelloAnswer, HostGuard};
use crate::keys::Inbound;
use crate::lanes::EventTx;
use crate::meeting::connect_and_join;
use crate::net::{self, RelayConnection};
use crate::shared::{Shared, lock};
use crate::stats::Counters;

type Reply = oneshot::Sender<Result<(), MeetingError>>;

/// What a handle asks the driver to do.
pub(crate) enum Command {
    Admit {
        relay_id: u64,
        yes: bool,
        reply: Reply,
    },
    Rekey {
        reply: Reply,
    },
    Lock {
        locked: bool,
        reply: Reply,
    },
    Leave {
        reply: Reply,
    },
    LeaveKeepKeys {
        reply: Reply,
    },
    /// The sending key is near its frame limit: start (host) or request (member) a new epoch.
    KeyRunningOut,
}

pub(crate) struct HostSide {
    host: Host,
    pending: HashMap<u64, PendingJoin>,
    /// Identities admitted before, with the role they were admitted in: re-admitted without
    /// asking in that role (e.g. after a relay restart), never promoted to connector
    /// without consent (SPEC §8.9 step 5).
    admitted: HashMap<IdentityKey, Role>,
    /// Bounds on what others' Hellos and join requests cost, and epoch batching.
    guard: HostGuard,
}

pub(crate) enum Mode {
    Host(Box<HostSide>),
    Member(Box<Member>),
    Transport(Option<Issued>),
}

pub(crate) struct Driver {
    cfg: MeetingConfig,
    shared: Arc<Shared>,
    conn: Arc<RelayConnection>,
    net: net::Events,
    cmds: mpsc::Receiver<Command>,
    events: EventTx,
    rng: StdRng,
    start: Instant,
    mode: Mode,
    /// The keys and the media receive path, shared with the connection's readers.
    inbound: Arc<Inbound>,
    /// Left with keys kept (test hook): keep opening, never queue or install.
    frozen: bool,
    /// The meeting has run on client-made keys: it never continues on relay-issued ones.
    e2ee_reached: bool,
    /// Member: since when the host's relay connection is gone (it may come back).
    host_away_since: Option<u64>,
    /// Set when the meeting must end (removed, downgrade refused, host gone for good).
    ended: Option<EndReason>,
}

fn member_for(cfg: &MeetingConfig, host_key: Option<IdentityKey>) -> Result<Member, MeetingError> {
    let role = if cfg.role == ClientRole::Connector {
        Role::Connector
    } else {
        Role::Participant
    };
    Ok(Member::new(
        cfg.identity.clone(),
        &cfg.name,
        &cfg.room,
        host_key,
        MemberConfig {
            grace_ms: ms(cfg.grace),
            role,
        },
    )?)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The host's relay id in a member's current roster (the host is its first entry).
fn host_relay_id(m: &Member) -> Option<u64> {
    m.roster()
        .and_then(|r| r.members.first())
        .map(|e| e.relay_id)
}

fn target(id: u64) -> Target {
    Target::Participant(ParticipantId(id))
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        cfg: MeetingConfig,
        shared: Arc<Shared>,
        inbound: Arc<Inbound>,
        conn: Arc<RelayConnection>,
        net: net::Events,
        joined: net::Joined,
        cmds: mpsc::Receiver<Command>,
        events: EventTx,
    ) -> Result<Self, MeetingError> {
        let rng = crate::rng::os_rng()?;
        let mut d = Driver {
            inbound,
            cfg,
            shared,
            conn,
            net,
            cmds,
            events,
            rng,
            start: Instant::now(),
            mode: Mode::Transport(None),
            frozen: false,
            e2ee_reached: false,
            host_away_since: None,
            ended: None,
        };
        d.enter_room(&joined, None).await?;
        Ok(d)
    }

    fn now(&self) -> u64 {
        ms(self.start.elapsed())
    }

    /// Sets up the keying side for a (re)joined room.
    async fn enter_room(
        &mut self,
        joined: &net::Joined,
        pinned: Option<IdentityKey>,
    ) -> Result<(), MeetingError> {
        let my_id = joined.your_id.0;
        if self.conn.relay_mode() == RelayMode::Transport {
            // `connect_and_join` already refused this unless the user opted in; a meeting that
            // ran on client-made keys never continues on the relay's (SPEC §12.5).
            if self.e2ee_reached || !self.cfg.allow_transport {
                self.conn
                    .refuse(hush_wire::ErrorCode::MODE_REFUSED, "meeting was end-to-end");
                return Err(MeetingError::Downgrade {
                    relay: self.cfg.relay,
                });
            }
            self.mode = Mode::Transport(None);
            return Ok(());
        }
        let now = self.now();
        match (&mut self.mode, self.cfg.role) {
            (Mode::Host(h), _) => {
                // Reconnected: keep the meeting (id, epochs, lock, known identities) and every
                // member whose connection is still in the room; move to the new id and drop
                // the others, in one epoch (SPEC §8.9 step 10).
                h.pending.clear();
                h.guard = HostGuard::new();
                let present: Vec<u64> = joined.participants.iter().map(|p| p.0).collect();
                let step = h.host.reconnected(my_id, &present, &mut self.rng, now)?;
                h.guard.epoch_started(now);
                self.apply_step(step).await;
            }
            (_, ClientRole::Host { .. }) => {
                let config = HostConfig {
                    suite: self.cfg.suite.id(),
                    kem: self.cfg.kem,
                    rotation_interval_ms: ms(self.cfg.rotation),
                    grace_ms: ms(self.cfg.grace),
                    ..HostConfig::default()
                };
                let (host, step) = Host::new(
                    self.cfg.identity.clone(),
                    &self.cfg.name,
                    &self.cfg.room,
                    my_id,
                    config,
                    &mut self.rng,
                    now,
                )?;
                let mut guard = HostGuard::new();
                guard.epoch_started(now);
                self.mode = Mode::Host(Box::new(HostSide {
                    host,
                    pending: HashMap::new(),
                    admitted: HashMap::new(),
                    guard,
                }));
                self.apply_step(step).await;
            }
            _ => {
                let pin = pinned.or(self.cfg.host_key);
                let member = member_for(&self.cfg, pin)?;
                let hello = member.hello();
                self.mode = Mode::Member(Box::new(member));
                self.send(Target::All, hello).await;
            }
        }
        Ok(())
    }

    async fn send(&self, to: Target, bytes: Vec<u8>) {
        if let Err(e) = self.conn.send_blob(to, Bytes::from(bytes)).await {
            tracing::debug!(error = %e, "send failed");
        }
    }

    /// Hands an event to the application; never waits (see `lanes`).
    pub(crate) fn emit(&self, ev: MeetingEvent) {
        self.events.push(ev);
    }

    /// Emits the e2ee status if it changed (every change, across reconnects too).
    fn set_e2ee(&mut self, s: E2eeStatus) {
        if !matches!(s, E2eeStatus::KeysIssuedByRelay) {
            self.e2ee_reached = true;
        }
        let changed = {
            let mut v = lock(&self.shared.view);
            let changed = v.e2ee.as_ref() != Some(&s);
            v.e2ee = Some(s.clone());
            changed
        };
        if changed {
            self.emit(MeetingEvent::E2ee(s));
        }
    }

    fn refuse(&self, from: u64, reason: Refusal) {
        let c = match &reason {
            Refusal::Group(_) => &self.shared.counters.refused_group,
            Refusal::Data(e) => {
                self.shared.counters.refused_frame(e);
                return self.emit(MeetingEvent::Refused { from, reason });
            }
            _ => &self.shared.counters.refused_other,
        };
        Counters::inc(c);
        tracing::debug!(from, %reason, "refused");
        self.emit(MeetingEvent::Refused { from, reason });
    }

    /// Ends the meeting for `reason` (visible to the application as [`MeetingEvent::Ended`]).
    fn end(&mut self, reason: EndReason) {
        if self.ended.is_none() {
            self.inbound.keys().clear();
            self.shared.set_ready(0, 0);
            self.shared.set_ended();
            self.emit(MeetingEvent::Ended(reason.clone()));
            self.ended = Some(reason);
        }
    }

    /// Runs until the meeting ends.
    pub(crate) async fn run(mut self) {
        loop {
            if self.ended.is_some() {
                self.quit().await;
                break;
            }
            let deadline = self.next_timer().map(|at| {
                let at = Duration::from_millis(at);
                tokio::time::Instant::from_std(self.start + at)
            });
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = self.net.recv() => match ev {
                    Some(net::Event::Closed { reason, .. }) => {
                        if !self.reconnect(reason).await { break; }
                    }
                    None => {
                        if !self.reconnect("connection lost".into()).await { break; }
                    }
                    Some(ev) => self.on_net(ev).await,
                },
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => if self.on_command(cmd).await { break; },
                    None => { self.quit().await; break; }
                },
                () = sleep => self.on_timer().await,
            }
        }
        self.shared.set_sealer(None);
        self.shared.set_conn(None);
        self.shared.set_ended();
    }

    fn next_timer(&self) -> Option<u64> {
        let group = match &self.mode {
            Mode::Host(h) => [
                Some(h.host.poll_timeout()),
                h.guard.hello_due(),
                h.guard.change_due(),
            ]
            .into_iter()
            .flatten()
            .min(),
            Mode::Member(m) => {
                let away = self
                    .host_away_since
                    .map(|t| t.saturating_add(ms(self.cfg.host_grace)));
                [m.poll_timeout(), away].into_iter().flatten().min()
            }
            Mode::Transport(_) => None,
        };
        [group, self.inbound.keys().poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    async fn on_timer(&mut self) {
        let now = self.now();
        {
            let mut keys = self.inbound.keys();
            for epoch in keys.poll(now) {
                keys.expire(epoch);
            }
        }
        match &mut self.mode {
            Mode::Host(h) => {
                if h.guard.poll_hello(now) {
                    // Everyone whose Hello waited gets the roster in one broadcast.
                    let roster = h.host.roster_bytes().to_vec();
                    self.send(Target::All, roster).await;
                }
                let Mode::Host(h) = &mut self.mode else {
                    return;
                };
                let r = if h.guard.poll_change(now) {
                    h.guard.epoch_started(now);
                    h.host.rekey(&mut self.rng, now)
                } else {
                    h.host.handle_timeout(now, &mut self.rng)
                };
                match r {
                    Ok(step) => self.apply_step(step).await,
                    Err(e) => tracing::warn!(error = %e, "host timer failed"),
                }
            }
            Mode::Member(m) => {
                if let Some(t) = self.host_away_since
                    && now >= t.saturating_add(ms(self.cfg.host_grace))
                {
                    return self.end(EndReason::HostGone {
                        waited: self.cfg.host_grace,
                    });
                }
                let evs = m.poll(now);
                self.apply_group(evs).await;
            }
            Mode::Transport(_) => {}
        }
    }

    async fn on_net(&mut self, ev: net::Event) {
        match ev {
            // Media goes to `Inbound` straight from the readers; a connection made without
            // it (never, for a meeting) would deliver here.
            net::Event::Media(frame) => net::MediaSink::on_media(&*self.inbound, frame),
            net::Event::Deliver { from, blob } => self.on_blob(from.0, blob).await,
            net::Event::PeerJoined { id } => {
                // A joiner still without a roster asks every newcomer: the host may come later.
                if let Mode::Member(m) = &self.mode
                    && m.roster().is_none()
                {
                    self.send(target(id.0), m.hello()).await;
                }
            }
            net::Event::PeerLeft { id } => {
                let now = self.now();
                match &mut self.mode {
                    Mode::Host(h) => {
                        h.pending.remove(&id.0);
                        h.guard.left(id.0);
                        if h.host.drop_member(id.0) {
                            self.membership_changed(now).await;
                        }
                    }
                    Mode::Member(m) => {
                        if host_relay_id(m) == Some(id.0) && self.host_away_since.is_none() {
                            // Keys stay in use for a bounded time while the host may come back
                            // (a host reconnect); then the meeting ends (SPEC §8.9 step 11).
                            self.host_away_since = Some(now);
                            self.emit(MeetingEvent::HostAway {
                                grace: self.cfg.host_grace,
                            });
                        }
                    }
                    Mode::Transport(_) => {}
                }
            }
            net::Event::RelayError { code, reason } => {
                tracing::debug!(%code, reason = %reason.escape_debug(), "relay error");
            }
            _ => {}
        }
    }

    /// Host: the members changed (staged); start the epoch now or when the batch is due.
    async fn membership_changed(&mut self, now: u64) {
        let Mode::Host(h) = &mut self.mode else {
            return;
        };
        if !h.guard.stage_change(now) {
            return;
        }
        h.guard.epoch_started(now);
        match h.host.rekey(&mut self.rng, now) {
            Ok(step) => self.apply_step(step).await,
            Err(e) => tracing::warn!(error = %e, "cannot start an epoch"),
        }
    }

    async fn on_blob(&mut self, from: u64, blob: Bytes) {
        match classify(from, &blob) {
            BlobClass::Group => self.on_group(from, &blob).await,
            BlobClass::Data => {
                let r = self.inbound.keys().on_data(from, blob);
                match r {
                    Ok(Some(ev)) => self.emit(ev),
                    Ok(None) => {}
                    Err(e) => self.refuse(from, Refusal::Data(e)),
                }
            }
            BlobClass::Issued => self.on_issued(&blob),
            BlobClass::Unknown => self.refuse(from, Refusal::UnknownBlob),
        }
    }

    async fn on_group(&mut self, from: u64, blob: &[u8]) {
        let now = self.now();
        match &mut self.mode {
            Mode::Host(h) => {
                // What a stranger's message may cost the host is bounded before any work.
                match blob.get(1).copied() {
                    Some(msg_type::HELLO) => {
                        match h.guard.hello(from, now) {
                            HelloAnswer::Now => {
                                let roster = h.host.roster_bytes().to_vec();
                                self.send(target(from), roster).await;
                            }
                            HelloAnswer::Deferred | HelloAnswer::Dropped => {}
                        }
                        return;
                    }
                    Some(msg_type::JOIN_REQUEST) if !h.guard.join(from, now) => {
                        Counters::inc(&self.shared.counters.refused_group);
                        return;
                    }
                    _ => {}
                }
                match h.host.handle(from, blob, &mut self.rng, now) {
                    Ok(HostInput::Step(step)) => {
                        if !step.outgoing.is_empty() {
                            h.guard.epoch_started(now);
                        }
                        self.apply_step(step).await;
                    }
                    Ok(HostInput::Join(p)) => self.on_join_request(p).await,
                    Ok(_) => {}
                    Err(e) => self.refuse(from, Refusal::Group(e)),
                }
            }
            Mode::Member(m) => {
                if self.frozen {
                    return;
                }
                match m.handle(from, blob, now) {
                    Ok(evs) => self.apply_group(evs).await,
                    Err(e) => self.refuse(from, Refusal::Group(e)),
                }
            }
            Mode::Transport(_) => self.refuse(from, Refusal::UnknownBlob),
        }
    }

    async fn on_join_request(&mut self, p: PendingJoin) {
        let Mode::Host(h) = &mut self.mode else {
            return;
        };
        let (admit, admit_connectors) = match self.cfg.role {
            ClientRole::Host {
                admit,
                admit_connectors,
            } => (admit, admit_connectors),
            _ => (Admit::Ask, false),
        };
        // Known in this role: a participant admitted before, or a connector the host already
        // consented to. Becoming a connector always needs consent (SPEC §8.9 step 5).
        let known = h
            .admitted
            .get(&p.identity())
            .is_some_and(|r| !p.is_connector() || *r == Role::Connector);
        if known || (admit == Admit::Auto && (!p.is_connector() || admit_connectors)) {
            self.admit(p).await;
            return;
        }
        if admit == Admit::Auto {
            tracing::info!(id = p.relay_id(), "connector not admitted (no consent)");
            return;
        }
        if h.pending.len() >= MAX_PENDING && !h.pending.contains_key(&p.relay_id()) {
            tracing::info!(id = p.relay_id(), "waiting room full: join request dropped");
            Counters::inc(&self.shared.counters.refused_other);
            return;
        }
        let req = AdmissionRequest {
            relay_id: p.relay_id(),
            identity: p.identity(),
            name: p.display_name().to_owned(),
            role: p.role(),
        };
        h.pending.insert(p.relay_id(), p);
        self.emit(MeetingEvent::AdmissionRequest(req));
    }

    /// Admits a request the host decided on (a connector only reaches here with consent):
    /// staged, and keyed in the next epoch (batched, see `guard`).
    async fn admit(&mut self, p: PendingJoin) {
        let now = self.now();
        let Mode::Host(h) = &mut self.mode else {
            return;
        };
        let from = p.relay_id();
        let id = p.identity();
        let role = p.role();
        match h.host.stage_admit(p, true) {
            Ok(()) => {
                h.admitted.insert(id, role);
                self.membership_changed(now).await;
            }
            Err(e) => self.refuse(from, Refusal::Group(e)),
        }
    }

    /// Runs a host-only change of the meeting (rekey, lock) and sends what it produced.
    async fn host_change(
        &mut self,
        change: impl FnOnce(
            &mut hush_group::Host,
            &mut StdRng,
        ) -> Result<hush_group::Step, hush_group::GroupError>,
    ) -> Result<(), MeetingError> {
        let now = self.now();
        let step = match &mut self.mode {
            Mode::Host(h) => {
                let step = change(&mut h.host, &mut self.rng)?;
                if !step.outgoing.is_empty() {
                    h.guard.epoch_started(now);
                }
                step
            }
            _ => return Err(MeetingError::NotHost),
        };
        self.apply_step(step).await;
        Ok(())
    }

    async fn apply_step(&mut self, step: hush_group::Step) {
        for out in step.outgoing {
            match out {
                Outgoing::Broadcast(b) => self.send(Target::All, b).await,
                Outgoing::To(id, b) => self.send(target(id), b).await,
                _ => {}
            }
        }
        self.apply_group(step.events).await;
    }

    async fn apply_group(&mut self, events: Vec<hush_group::Event>) {
        use hush_group::Event as G;
        // Readiness is published after the whole batch, so a waiter sees the epoch's roster,
        // code and status together.
        let mut ready = None;
        for ev in events {
            match ev {
                G::ReadyToJoin { host_relay_id } => {
                    if let Mode::Member(m) = &mut self.mode {
                        match m.join_request(&mut self.rng) {
                            Ok(req) => self.send(target(host_relay_id), req).await,
                            Err(e) => tracing::warn!(error = %e, "cannot make a join request"),
                        }
                    }
                }
                G::RosterChanged(view) => {
                    // A roster the pinned host signed: it is (back) in the room.
                    self.host_away_since = None;
                    self.inbound.keys().set_roster(&view);
                    lock(&self.shared.view).roster = Some(view.clone());
                    self.emit(MeetingEvent::RosterChanged(view));
                }
                G::EpochReady {
                    epoch,
                    my_sender,
                    receivers,
                } => {
                    let others = receivers.len();
                    let r = {
                        let mut keys = self.inbound.keys();
                        keys.install_epoch(epoch, &my_sender, &receivers)
                            .map(|()| self.inbound.release_held(&mut keys))
                    };
                    match r {
                        Ok(data) => {
                            self.e2ee_reached = true;
                            ready = Some((epoch, others));
                            for ev in data {
                                self.emit(ev);
                            }
                        }
                        Err(e) => self.refuse(0, Refusal::Data(e)),
                    }
                }
                G::SecurityCode(code) => {
                    lock(&self.shared.view).code = Some(code.clone());
                    self.emit(MeetingEvent::SecurityCode(code));
                }
                G::E2eeStatus(s) => self.set_e2ee(E2eeStatus::from(s)),
                G::EpochExpired { epoch } => self.inbound.keys().expire(epoch),
                G::Removed => {
                    self.emit(MeetingEvent::Removed);
                    if !self.frozen {
                        self.inbound.keys().clear();
                        ready = Some((0, 0));
                        self.end(EndReason::Removed);
                    }
                }
                _ => {}
            }
        }
        if let Some((epoch, others)) = ready {
            self.shared.set_ready(epoch, others);
        }
    }

    fn on_issued(&mut self, blob: &[u8]) {
        let now = self.now();
        let grace = ms(self.cfg.grace);
        let Mode::Transport(current) = &mut self.mode else {
            return self.refuse(0, Refusal::UnknownBlob);
        };
        let issued = match Issued::decode(blob) {
            Ok(i) => i,
            Err(e) => return self.refuse(0, Refusal::KeyService(e.to_string())),
        };
        if let Some(cur) = current.as_ref()
            && cur.meeting == issued.meeting
            && cur.epoch > issued.epoch
        {
            let msg = format!("epoch {} older than {}", issued.epoch, cur.epoch);
            return self.refuse(0, Refusal::KeyService(msg));
        }
        let r = {
            let mut keys = self.inbound.keys();
            keys.install_issued(&issued, current.as_ref(), now, grace)
                .map(|()| self.inbound.release_held(&mut keys))
        };
        match r {
            Ok(data) => {
                let epoch = issued.epoch;
                *current = Some(issued);
                self.shared.set_ready(epoch, 0);
                self.set_e2ee(E2eeStatus::KeysIssuedByRelay);
                for ev in data {
                    self.emit(ev);
                }
            }
            Err(e) => self.refuse(0, Refusal::KeyService(e.to_string())),
        }
    }

    /// Handles a command; returns true when the meeting is over.
    async fn on_command(&mut self, cmd: Command) -> bool {
        let now = self.now();
        match cmd {
            Command::Admit {
                relay_id,
                yes,
                reply,
            } => {
                let Mode::Host(h) = &mut self.mode else {
                    let _ = reply.send(Err(MeetingError::NotHost));
                    return false;
                };
                let Some(p) = h.pending.remove(&relay_id) else {
                    let _ = reply.send(Err(MeetingError::NoSuchRequest(relay_id)));
                    return false;
                };
                if yes {
                    self.admit(p).await;
                } else {
                    h.host.deny(p);
                }
                let _ = reply.send(Ok(()));
            }
            Command::Rekey { reply } => {
                let r = self.host_change(|host, rng| host.rekey(rng, now)).await;
                let _ = reply.send(r);
            }
            Command::Lock { locked, reply } => {
                let r = self
                    .host_change(|host, rng| host.set_locked(locked, rng, now))
                    .await;
                let _ = reply.send(r);
            }
            Command::KeyRunningOut => match &mut self.mode {
                Mode::Host(_) => {
                    if let Err(e) = self.host_change(|host, rng| host.rekey(rng, now)).await {
                        tracing::warn!(error = %e, "rekey failed");
                    }
                }
                Mode::Member(m) => {
                    let host = host_relay_id(m);
                    if let (Ok(req), Some(host)) = (m.rekey_request(), host) {
                        self.send(target(host), req).await;
                    }
                }
                Mode::Transport(_) => {}
            },
            Command::LeaveKeepKeys { reply } => {
                let r = match &mut self.mode {
                    Mode::Member(m) => {
                        let host = host_relay_id(m);
                        match (m.leave(), host) {
                            (Ok(bytes), Some(host)) => {
                                self.send(target(host), bytes).await;
                                self.frozen = true;
                                self.inbound.keys().frozen = true;
                                self.shared.set_sealer(None);
                                Ok(())
                            }
                            (Err(e), _) => Err(e.into()),
                            (_, None) => Err(MeetingError::NotReady),
                        }
                    }
                    _ => Err(MeetingError::NotHost),
                };
                let _ = reply.send(r);
            }
            Command::Leave { reply } => {
                self.quit().await;
                let _ = reply.send(Ok(()));
                return true;
            }
        }
        false
    }

    /// Leaves cleanly: a signed leave notice (member), the relay room, the connection.
    async fn quit(&mut self) {
        if let Mode::Member(m) = &mut self.mode {
            let host = host_relay_id(m);
            if let (Ok(bytes), Some(host)) = (m.leave(), host) {
                self.send(target(host), bytes).await;
            }
        }
        self.inbound.keys().clear();
        let _ = self.conn.leave().await;
        self.conn.close().await;
    }

    /// After the connection dropped: retry with backoff for `reconnect_for`, rejoin the room and
    /// re-enter it. Returns false when giving up, or when the relay now wants to issue the keys
    /// (never followed, SPEC §12.5).
    async fn reconnect(&mut self, reason: String) -> bool {
        self.inbound.keys().clear();
        self.shared.set_ready(0, 0);
        self.host_away_since = None;
        self.emit(MeetingEvent::Disconnected {
            reason: reason.clone(),
            reconnecting: true,
        });
        let deadline = Instant::now() + self.cfg.reconnect_for;
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::time::sleep(backoff).await;
            let allow = self.cfg.allow_transport && !self.e2ee_reached;
            match connect_and_join(&self.cfg, self.inbound.clone(), allow).await {
                Ok((conn, events, joined)) => {
                    let conn = Arc::new(conn);
                    self.conn = conn.clone();
                    self.net = events;
                    let pinned = match &self.mode {
                        Mode::Member(m) => m.host(),
                        _ => None,
                    };
                    if let Mode::Member(_) = self.mode {
                        self.mode = Mode::Transport(None);
                    }
                    match self.enter_room(&joined, pinned).await {
                        Ok(()) => {}
                        Err(e @ MeetingError::Downgrade { .. }) => {
                            self.conn.close().await;
                            self.end(EndReason::Downgrade(e.to_string()));
                            return false;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot re-enter the room"),
                    }
                    self.shared.set_conn(Some(conn));
                    self.emit(MeetingEvent::Reconnected);
                    return true;
                }
                Err(MeetingError::TransportRefused { relay }) => {
                    let e = if self.e2ee_reached {
                        MeetingError::Downgrade { relay }
                    } else {
                        MeetingError::TransportRefused { relay }
                    };
                    self.end(EndReason::Downgrade(e.to_string()));
                    return false;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "reconnect failed");
                    if Instant::now() + backoff >= deadline {
                        self.emit(MeetingEvent::Disconnected {
                            reason: format!("{reason}; gave up reconnecting: {e}"),
                            reconnecting: false,
                        });
                        return false;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
