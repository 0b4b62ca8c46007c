//! The session's reactions: group messages, admission, epochs, transport keys, timers and the
//! application's commands.

use super::*;

impl Session {
    pub(super) fn on_group(&mut self, now: u64, from: u64, blob: &[u8]) {
        match &mut self.mode {
            Mode::Host(h) => {
                // What a stranger's message may cost the host is bounded before any work.
                match blob.get(1).copied() {
                    Some(msg_type::HELLO) => {
                        if h.guard.hello(from, now) == HelloAnswer::Now {
                            let roster = h.host.roster_bytes().to_vec();
                            self.send(target(from), roster);
                        }
                        return;
                    }
                    Some(msg_type::JOIN_REQUEST) if !h.guard.join(from, now) => return,
                    Some(msg_type::ROSTER) if h.admitted.is_empty() => {
                        return self.on_other_host(from, blob);
                    }
                    _ => {}
                }
                match h.host.handle(from, blob, &mut self.rng, now) {
                    Ok(HostInput::Step(step)) => {
                        if !step.outgoing.is_empty() {
                            h.guard.epoch_started(now);
                        }
                        self.apply_step(step);
                    }
                    Ok(HostInput::Join(p)) => self.on_join_request(now, p),
                    Ok(_) => {}
                    Err(e) => self.refuse(from, Refusal::Group(e)),
                }
            }
            Mode::Member(m) => {
                if self.frozen {
                    return;
                }
                match m.handle(from, blob, now) {
                    Ok(evs) => self.apply_group(evs),
                    Err(e) => self.refuse(from, Refusal::Group(e)),
                }
            }
            Mode::Transport(_) | Mode::Idle => self.refuse(from, Refusal::UnknownBlob),
        }
    }

    /// Host that has admitted nobody yet: a valid roster signed by another identity for this
    /// room means the room already has a host; hosting too would split the meeting.
    fn on_other_host(&mut self, from: u64, blob: &[u8]) {
        let roster = match hush_group::Message::decode(blob) {
            Ok(hush_group::Message::Roster(r)) => r,
            Ok(_) => {
                return self.refuse(
                    from,
                    Refusal::Group(hush_group::GroupError::UnexpectedMessage),
                );
            }
            Err(e) => return self.refuse(from, Refusal::Group(e.into())),
        };
        let host = roster.content.host;
        if host == self.cfg.identity.public() {
            return;
        }
        if let Err(e) = roster.verify(&self.cfg.room, &host) {
            return self.refuse(from, Refusal::Group(e));
        }
        self.end(EndReason::HostExists {
            fingerprint: host.fingerprint(),
        });
    }

    fn on_join_request(&mut self, now: u64, p: PendingJoin) {
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
            self.admit_pending(now, p);
            return;
        }
        if admit == Admit::Auto {
            // A connector without consent: refused, and both sides are told (SPEC §8.8.1).
            let request = AdmissionRequest {
                relay_id: p.relay_id(),
                identity: p.identity(),
                name: p.display_name().to_owned(),
                role: p.role(),
            };
            let reason = hush_group::DenyReason::ConnectorNeedsConsent;
            let denial = h.host.deny(p, reason);
            self.send_outgoing(denial);
            self.events
                .push_back(Event::JoinRefused { request, reason });
            return;
        }
        if h.pending.len() >= MAX_PENDING && !h.pending.contains_key(&p.relay_id()) {
            tracing::info!(id = p.relay_id(), "waiting room full: join request dropped");
            return;
        }
        let req = AdmissionRequest {
            relay_id: p.relay_id(),
            identity: p.identity(),
            name: p.display_name().to_owned(),
            role: p.role(),
        };
        h.pending.insert(p.relay_id(), p);
        self.events.push_back(Event::AdmissionRequest(req));
    }

    /// Admits a request the host decided on (a connector only reaches here with consent):
    /// staged, and keyed in the next epoch (batched, see `guard`).
    fn admit_pending(&mut self, now: u64, p: PendingJoin) {
        let Mode::Host(h) = &mut self.mode else {
            return;
        };
        let from = p.relay_id();
        let id = p.identity();
        let role = p.role();
        match h.host.stage_admit(p, true, &mut self.rng) {
            Ok(()) => {
                h.admitted.insert(id, role);
                self.membership_changed(now);
            }
            Err(e) => self.refuse(from, Refusal::Group(e)),
        }
    }

    /// Host: the members changed (staged); start the epoch now or when the batch is due.
    pub(super) fn membership_changed(&mut self, now: u64) {
        let Mode::Host(h) = &mut self.mode else {
            return;
        };
        if !h.guard.stage_change(now) {
            return;
        }
        h.guard.epoch_started(now);
        match h.host.commit(&mut self.rng, now) {
            Ok(step) => self.apply_step(step),
            Err(e) => tracing::warn!(error = %e, "cannot start an epoch"),
        }
    }

    pub(super) fn apply_step(&mut self, step: Step) {
        for out in step.outgoing {
            self.send_outgoing(out);
        }
        self.apply_group(step.events);
    }

    fn send_outgoing(&mut self, out: Outgoing) {
        match out {
            Outgoing::Broadcast(b) => self.send(Target::All, b),
            Outgoing::To(id, b) => self.send(target(id), b),
            _ => {}
        }
    }

    pub(super) fn apply_group(&mut self, events: Vec<hush_group::Event>) {
        use hush_group::Event as G;
        // Readiness is published after the whole batch, so a waiter sees the epoch's roster,
        // code and status together.
        let mut ready = None;
        for ev in events {
            match ev {
                G::ReadyToJoin { host_relay_id } => {
                    if let Mode::Member(m) = &mut self.mode {
                        match m.join_request(&mut self.rng) {
                            Ok(req) => self.send(target(host_relay_id), req),
                            Err(e) => tracing::warn!(error = %e, "cannot make a join request"),
                        }
                    }
                }
                G::RosterChanged(view) => {
                    // A roster the pinned host signed: it is (back) in the room.
                    self.host_away_since = None;
                    self.keys.push_back(KeyUpdate::Roster(view.clone()));
                    self.events.push_back(Event::RosterChanged(view));
                }
                G::EpochReady {
                    epoch,
                    my_sender,
                    receivers,
                } => {
                    self.e2ee_reached = true;
                    ready = Some((epoch, receivers.len()));
                    self.keys.push_back(KeyUpdate::Epoch {
                        epoch,
                        my_sender,
                        receivers,
                    });
                }
                G::SecurityCode(code) => self.events.push_back(Event::SecurityCode(code)),
                G::E2eeStatus(s) => self.set_e2ee(E2eeStatus::from(s)),
                G::EpochExpired { epoch } => self.keys.push_back(KeyUpdate::Expire(epoch)),
                G::Denied(reason) => {
                    ready = None;
                    self.end(EndReason::Denied(reason));
                }
                G::Removed => {
                    self.events.push_back(Event::Removed);
                    if !self.frozen {
                        ready = None;
                        self.end(EndReason::Removed);
                    }
                }
                _ => {}
            }
        }
        if let Some((epoch, others)) = ready {
            self.keys.push_back(KeyUpdate::Ready { epoch, others });
        }
    }

    pub(super) fn on_issued(&mut self, blob: &[u8]) {
        let Mode::Transport(current) = &mut self.mode else {
            return self.refuse(0, Refusal::UnknownBlob);
        };
        let issued = match Issued::decode(blob) {
            Ok(i) => i,
            Err(e) => return self.refuse(0, Refusal::KeyService(IssuedRefusal::Decode(e))),
        };
        if let Some(cur) = current.as_ref()
            && cur.meeting == issued.meeting
            && cur.epoch > issued.epoch
        {
            let r = IssuedRefusal::Stale {
                got: issued.epoch,
                current: cur.epoch,
            };
            return self.refuse(0, Refusal::KeyService(r));
        }
        if let Err(e) = issued.my_sender() {
            return self.refuse(0, Refusal::KeyService(IssuedRefusal::Keys(e)));
        }
        let previous = current.replace(issued.clone());
        self.keys.push_back(KeyUpdate::Issued { issued, previous });
        self.transport_ready();
        self.set_e2ee(E2eeStatus::KeysIssuedByRelay);
    }

    /// Earliest time (ms) at which [`Session::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.ended.is_some() {
            return None;
        }
        match &self.mode {
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
                    .map(|t| t.saturating_add(self.cfg.host_grace_ms));
                [m.poll_timeout(), away].into_iter().flatten().min()
            }
            Mode::Transport(_) | Mode::Idle => None,
        }
    }

    /// Runs the timers due at `now`: rotation, key grace, batched epochs and Hello answers,
    /// the host's absence.
    pub fn handle_timeout(&mut self, now: u64) {
        match &mut self.mode {
            Mode::Host(h) => {
                if h.guard.poll_hello(now) {
                    // Everyone whose Hello waited gets the roster in one broadcast.
                    let roster = h.host.roster_bytes().to_vec();
                    self.send(Target::All, roster);
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
                    Ok(step) => self.apply_step(step),
                    Err(e) => tracing::warn!(error = %e, "host timer failed"),
                }
            }
            Mode::Member(m) => {
                if let Some(t) = self.host_away_since
                    && now >= t.saturating_add(self.cfg.host_grace_ms)
                {
                    return self.end(EndReason::HostGone {
                        waited: Duration::from_millis(self.cfg.host_grace_ms),
                    });
                }
                let evs = m.poll(now);
                self.apply_group(evs);
            }
            Mode::Transport(_) | Mode::Idle => {}
        }
    }

    fn host_change(
        &mut self,
        now: u64,
        change: impl FnOnce(&mut Host, &mut StdRng) -> Result<Step, hush_group::GroupError>,
    ) -> Result<(), SessionError> {
        let step = match &mut self.mode {
            Mode::Host(h) => {
                let step = change(&mut h.host, &mut self.rng)?;
                if !step.outgoing.is_empty() {
                    h.guard.epoch_started(now);
                }
                step
            }
            _ => return Err(SessionError::NotHost),
        };
        self.apply_step(step);
        Ok(())
    }

    /// Host, [`Admit::Ask`]: answers the join request of `relay_id`. Admitting a connector
    /// here is the host's explicit consent (SPEC §13).
    pub fn admit(&mut self, now: u64, relay_id: u64, yes: bool) -> Result<(), SessionError> {
        let Mode::Host(h) = &mut self.mode else {
            return Err(SessionError::NotHost);
        };
        let p = h
            .pending
            .remove(&relay_id)
            .ok_or(SessionError::NoSuchRequest(relay_id))?;
        if yes {
            self.admit_pending(now, p);
        } else {
            let denial = h.host.deny(p, hush_group::DenyReason::Denied);
            self.send_outgoing(denial);
        }
        Ok(())
    }

    /// Host: starts a new epoch now.
    pub fn rekey(&mut self, now: u64) -> Result<(), SessionError> {
        self.host_change(now, |host, rng| host.rekey(rng, now))
    }

    /// Host: sets the lock bit (a change starts an epoch whose signed roster carries it).
    pub fn set_locked(&mut self, now: u64, locked: bool) -> Result<(), SessionError> {
        self.host_change(now, |host, rng| host.set_locked(locked, rng, now))
    }

    /// The sending key is near its frame limit: start (host) or request (member) a new epoch.
    pub fn key_running_out(&mut self, now: u64) {
        match &mut self.mode {
            Mode::Host(_) => {
                if let Err(e) = self.rekey(now) {
                    tracing::warn!(error = %e, "rekey failed");
                }
            }
            Mode::Member(m) => {
                let host = host_relay_id(m);
                if let (Ok(req), Some(host)) = (m.rekey_request(), host) {
                    self.send(target(host), req);
                }
            }
            Mode::Transport(_) | Mode::Idle => {}
        }
    }

    /// Leaves: a member sends its signed leave notice to the host; every key is erased.
    pub fn leave(&mut self) {
        if let Mode::Member(m) = &mut self.mode {
            let host = host_relay_id(m);
            if let (Ok(bytes), Some(host)) = (m.leave(), host) {
                self.send(target(host), bytes);
            }
        }
        self.keys.push_back(KeyUpdate::Clear);
    }

    /// Test hook (a hostile participant): sends the signed leave notice but keeps every
    /// receive key and the connection, and stops following the meeting.
    pub fn leave_keeping_keys(&mut self) -> Result<(), SessionError> {
        let Mode::Member(m) = &mut self.mode else {
            return Err(SessionError::NotHost);
        };
        let host = host_relay_id(m).ok_or(SessionError::NotReady)?;
        let bytes = m.leave()?;
        self.send(target(host), bytes);
        self.frozen = true;
        self.keys.push_back(KeyUpdate::Freeze);
        Ok(())
    }
}
