//! The meeting's driver task: the async pump over the sans-IO meeting core
//! ([`hush_session::Session`]). It feeds the core what the connection reports, the handles'
//! commands and the core's timer, and after each call drains the core's three outputs: blobs
//! to send, key changes (applied to the media path, [`Inbound`], under its lock) and events (to
//! the application's lanes, never waiting). It also reconnects. Media frames do not pass
//! through it: the connection's readers open them in [`Inbound`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hush_session::{Event, KeyUpdate, Refusal, Session, SessionError};

use crate::error::meeting_error;
use tokio::sync::{mpsc, oneshot};

use crate::config::MeetingConfig;
use crate::error::MeetingError;
use crate::event::MeetingEvent;
use crate::keys::Inbound;
use crate::lanes::EventTx;
use crate::net::{self, RelayConnection};
use crate::shared::{Shared, lock};
use crate::stats::Counters;

mod reconnect;

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

pub(crate) struct Driver {
    cfg: MeetingConfig,
    session: Session,
    shared: Arc<Shared>,
    conn: Arc<RelayConnection>,
    net: net::Events,
    cmds: mpsc::Receiver<Command>,
    events: EventTx,
    /// Index in `cfg.relays()` of the relay in use.
    at: usize,
    start: Instant,
    /// The keys and the media receive path, shared with the connection's readers.
    inbound: Arc<Inbound>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
        let session =
            Session::new(cfg.session_config(), rng).map_err(|e| meeting_error(e, cfg.relay))?;
        let mut d = Driver {
            cfg,
            session,
            shared,
            conn,
            net,
            cmds,
            events,
            at: 0,
            start: Instant::now(),
            inbound,
        };
        d.connected(&joined, true)
            .map_err(|e| meeting_error(e, d.cfg.relay))?;
        d.flush().await;
        Ok(d)
    }

    fn now(&self) -> u64 {
        ms(self.start.elapsed())
    }

    /// The room is joined. `same_relay`: on the relay of the previous connection, whose ids
    /// the meeting's roster uses; another relay's ids mean nothing to it (everyone there
    /// re-enters as a known identity).
    fn connected(&mut self, joined: &net::Joined, same_relay: bool) -> Result<(), SessionError> {
        let now = self.now();
        let others: Vec<u64> = if same_relay {
            joined.participants.iter().map(|p| p.0).collect()
        } else {
            Vec::new()
        };
        let mode = self.conn.relay_mode();
        self.session
            .handle_connected(now, joined.your_id.0, &others, mode)
    }

    /// Runs until the meeting ends.
    pub(crate) async fn run(mut self) {
        loop {
            if self.session.ended().is_some() {
                self.quit().await;
                break;
            }
            let deadline = [
                self.session.poll_timeout(),
                self.inbound.keys().poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .map(|at| self.start + Duration::from_millis(at))
            .into_iter()
            .chain(self.shared.vouch_deadline())
            .min()
            .map(tokio::time::Instant::from_std);
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = self.net.recv() => match ev {
                    Some(net::Event::Closed { reason, .. }) => {
                        if !self.reconnect(reason, 0).await { break; }
                    }
                    None => {
                        if !self.reconnect("connection lost".into(), 0).await { break; }
                    }
                    // The relay is draining (SPEC §7.11): leave it and move to the next one.
                    Some(net::Event::RelayError { code: hush_wire::ErrorCode::GOING_AWAY, reason }) => {
                        let _ = self.conn.leave().await;
                        self.conn.close().await;
                        if !self.reconnect(format!("relay going away: {reason}"), 1).await { break; }
                    }
                    Some(ev) => self.on_net(ev),
                },
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => if self.on_command(cmd).await { break; },
                    None => { self.quit().await; break; }
                },
                // A frame after a vouch: a new vouch deadline to sleep until.
                () = self.shared.vouch_armed.notified() => continue,
                () = sleep => {
                    // A sender that went quiet still vouches for its last frames (SPEC §14.2).
                    self.shared.queue_vouch(false);
                    let now = self.now();
                    {
                        let mut keys = self.inbound.keys();
                        for epoch in keys.poll(now) {
                            keys.expire(epoch);
                        }
                    }
                    self.session.handle_timeout(now);
                }
            }
            self.flush().await;
        }
        self.shared.set_sealer(None);
        self.shared.set_conn(None);
        self.shared.set_ended();
    }

    fn on_net(&mut self, ev: net::Event) {
        let now = self.now();
        match ev {
            // Media goes to `Inbound` straight from the readers; a connection made without
            // it (never, for a meeting) would deliver here.
            net::Event::Media(frame) => net::MediaSink::on_media(&*self.inbound, frame),
            net::Event::Deliver { from, blob } if self.session.handle_blob(now, from.0, &blob) => {
                self.open_data(from.0, blob);
            }
            net::Event::PeerJoined { id } => self.session.handle_peer_joined(id.0),
            net::Event::PeerLeft { id } => self.session.handle_peer_left(now, id.0),
            net::Event::RelayError { code, reason } => {
                tracing::debug!(%code, reason = %reason.escape_debug(), "relay error");
            }
            net::Event::Carriers { relays } => {
                lock(&self.shared.view).carriers = relays.clone();
                self.events.push(MeetingEvent::Carriers { relays });
            }
            _ => {}
        }
    }

    fn open_data(&self, from: u64, blob: Bytes) {
        let (r, forgeries) = {
            let mut keys = self.inbound.keys();
            let r = keys.on_data(from, blob);
            (r, keys.take_forgeries())
        };
        for ev in forgeries {
            self.events.push(ev);
        }
        match r {
            Ok(Some(ev)) => self.events.push(ev),
            Ok(None) => {}
            Err(e) => self.emit(Event::Refused {
                from,
                reason: Refusal::Data(e),
            }),
        }
    }

    /// Drains the core: blobs to the relay, keys to the media path, events to the lanes.
    async fn flush(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            let bytes = Bytes::from(t.bytes);
            if let Err(e) = self.conn.send_blob(t.to, bytes.clone()).await {
                self.session.send_failed(t.to, &bytes, e.to_string());
            }
        }
        // What the handles can query (roster, code, status) changes before the keys do, and
        // readiness last, so nobody sees an epoch's keys beside the previous epoch's code; the
        // events reach the application after both.
        let mut out = Vec::new();
        while let Some(ev) = self.session.poll_event() {
            out.extend(self.note(ev));
        }
        let mut ready = None;
        let mut held = Vec::new();
        while let Some(k) = self.session.poll_key_update() {
            match k {
                KeyUpdate::Ready { epoch, others } => ready = Some((epoch, others)),
                k => held.extend(self.apply(k)),
            }
        }
        let forgeries = self.inbound.keys().take_forgeries();
        for ev in out.into_iter().chain(held).chain(forgeries) {
            self.events.push(ev);
        }
        // Vouches sealed off the caller's path (the last one of a replaced key, the ones due by
        // time), after the key changes that sealed them.
        for v in self.shared.take_outbox() {
            Counters::inc(&self.shared.counters.vouches_sent);
            if let Err(e) = self.conn.send_blob(hush_wire::Target::All, v).await {
                tracing::warn!(error = %e, "cannot send a vouch");
            }
        }
        if let Some((epoch, others)) = ready {
            self.shared.set_ready(epoch, others);
        }
    }

    /// Applies one key change to the media path; returns the events it released (frames held
    /// for the new epoch) or a refusal.
    fn apply(&self, k: KeyUpdate) -> Vec<MeetingEvent> {
        let now = self.now();
        let mut keys = self.inbound.keys();
        let r = match k {
            KeyUpdate::Roster(view) => {
                keys.set_roster(&view);
                Ok(Vec::new())
            }
            KeyUpdate::Epoch {
                epoch,
                my_sender,
                receivers,
            } => keys
                .install_epoch(epoch, &my_sender, &receivers)
                .map(|()| self.inbound.release_held(&mut keys))
                .map_err(Refusal::Data),
            KeyUpdate::Issued { issued, previous } => keys
                .install_issued(&issued, previous.as_ref(), now, ms(self.cfg.grace))
                .map(|()| self.inbound.release_held(&mut keys))
                .map_err(Refusal::KeyService),
            KeyUpdate::Expire(epoch) => {
                keys.expire(epoch);
                Ok(Vec::new())
            }
            KeyUpdate::Clear => {
                keys.clear();
                Ok(Vec::new())
            }
            KeyUpdate::Freeze => {
                keys.frozen = true;
                self.shared.set_sealer(None);
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        };
        drop(keys);
        match r {
            Ok(data) => data,
            Err(reason) => self
                .note(Event::Refused { from: 0, reason })
                .into_iter()
                .collect(),
        }
    }

    /// One core event to the application (and the state the handles can query).
    fn emit(&self, ev: Event) {
        if let Some(ev) = self.note(ev) {
            self.events.push(ev);
        }
    }

    /// Records what a core event changes (the handles' view, the counters) and returns what
    /// the application is to be told.
    fn note(&self, ev: Event) -> Option<MeetingEvent> {
        let c = &self.shared.counters;
        let ev = match ev {
            Event::RosterChanged(view) => {
                lock(&self.shared.view).roster = Some(view.clone());
                MeetingEvent::RosterChanged(view)
            }
            Event::SecurityCode(code) => {
                lock(&self.shared.view).code = Some(code.clone());
                MeetingEvent::SecurityCode(code)
            }
            Event::E2ee(s) => {
                lock(&self.shared.view).e2ee = Some(s.clone());
                MeetingEvent::E2ee(s)
            }
            Event::AdmissionRequest(r) => MeetingEvent::AdmissionRequest(r),
            Event::JoinRefused { request, reason } => MeetingEvent::JoinRefused { request, reason },
            Event::Refused { from, reason } => {
                match &reason {
                    Refusal::Group(_) => Counters::inc(&c.refused_group),
                    Refusal::Data(e) => c.refused_frame(e),
                    _ => Counters::inc(&c.refused_other),
                }
                MeetingEvent::Refused { from, reason }
            }
            Event::SendFailed(f) => {
                Counters::inc(&c.send_failed);
                MeetingEvent::SendFailed(f)
            }
            Event::Removed => MeetingEvent::Removed,
            Event::HostAway { grace } => MeetingEvent::HostAway { grace },
            Event::Ended(why) => {
                self.shared.set_ended();
                MeetingEvent::Ended(why)
            }
            _ => return None,
        };
        Some(ev)
    }

    /// Handles a command; returns true when the meeting is over. The reply goes after the
    /// core's outputs are applied, so a caller sees the new epoch's code once `rekey` returns.
    async fn on_command(&mut self, cmd: Command) -> bool {
        let now = self.now();
        let relay = self.cfg.relay;
        let err = move |e| meeting_error(e, relay);
        let (r, reply) = match cmd {
            Command::Admit {
                relay_id,
                yes,
                reply,
            } => (self.session.admit(now, relay_id, yes).map_err(err), reply),
            Command::Rekey { reply } => (self.session.rekey(now).map_err(err), reply),
            Command::Lock { locked, reply } => {
                (self.session.set_locked(now, locked).map_err(err), reply)
            }
            Command::LeaveKeepKeys { reply } => {
                (self.session.leave_keeping_keys().map_err(err), reply)
            }
            Command::KeyRunningOut => {
                self.session.key_running_out(now);
                return false;
            }
            Command::Leave { reply } => {
                self.quit().await;
                let _ = reply.send(Ok(()));
                return true;
            }
        };
        self.flush().await;
        let _ = reply.send(r);
        false
    }

    /// Leaves cleanly: a signed leave notice (member), the relay room, the connection.
    async fn quit(&mut self) {
        self.session.leave();
        self.flush().await;
        let _ = self.conn.leave().await;
        self.conn.close().await;
    }
}
