//! A deterministic in-memory meeting: one host, members, and a "relay" that delivers the host's
//! outgoing messages (and lets tests tamper with them).
#![allow(dead_code, clippy::unwrap_used)]

use hush_group::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub const ROOM: &str = "room-1";
pub const HOST_RELAY: u64 = 100;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn identity(seed: u8) -> Identity {
    Identity::from_secret_bytes(&[seed; 32])
}

pub struct Peer {
    pub relay_id: u64,
    pub member: Member,
    pub events: Vec<Event>,
}

impl Peer {
    pub fn code(&self) -> Option<String> {
        self.member.security_code().map(str::to_owned)
    }
    pub fn last_ready(&self) -> Option<(u64, SenderSecret, Vec<SenderSecret>)> {
        self.events.iter().rev().find_map(|e| match e {
            Event::EpochReady {
                epoch,
                my_sender,
                receivers,
            } => Some((*epoch, my_sender.clone(), receivers.clone())),
            _ => None,
        })
    }
    pub fn last_e2ee(&self) -> Option<E2ee> {
        self.events.iter().rev().find_map(|e| match e {
            Event::E2eeStatus(s) => Some(s.clone()),
            _ => None,
        })
    }
    pub fn last_roster(&self) -> Option<RosterView> {
        self.events.iter().rev().find_map(|e| match e {
            Event::RosterChanged(v) => Some(v.clone()),
            _ => None,
        })
    }
}

pub struct Meeting {
    pub host: Host,
    pub host_identity: Identity,
    pub host_events: Vec<Event>,
    pub peers: Vec<Peer>,
    pub rng: StdRng,
    pub now: u64,
    /// Every message the host sent, in order (what a relay could record and replay).
    pub sent: Vec<Outgoing>,
}

impl Meeting {
    pub fn new(kem: KemId) -> Self {
        let mut rng = rng(7);
        let host_identity = identity(1);
        let config = HostConfig {
            kem,
            ..HostConfig::default()
        };
        let (host, step) = Host::new(
            host_identity.clone(),
            "Hanna Host",
            ROOM,
            HOST_RELAY,
            config,
            &mut rng,
            0,
        )
        .unwrap();
        let mut m = Self {
            host,
            host_identity,
            host_events: Vec::new(),
            peers: Vec::new(),
            rng,
            now: 0,
            sent: Vec::new(),
        };
        m.deliver(step);
        m
    }

    /// Delivers a host step to everyone (honest relay).
    pub fn deliver(&mut self, step: Step) {
        self.host_events.extend(step.events);
        for out in step.outgoing {
            self.sent.push(out.clone());
            match out {
                Outgoing::Broadcast(bytes) => {
                    for p in &mut self.peers {
                        if !p.member.is_removed()
                            && let Ok(ev) = p.member.handle(HOST_RELAY, &bytes, self.now)
                        {
                            p.events.extend(ev);
                        }
                    }
                }
                Outgoing::To(id, bytes) => {
                    if let Some(p) = self.peers.iter_mut().find(|p| p.relay_id == id) {
                        let ev = p.member.handle(HOST_RELAY, &bytes, self.now).unwrap();
                        p.events.extend(ev);
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    /// A new peer says hello, gets the roster, sends a join request; returns its position and
    /// the host's pending join (not yet decided).
    pub fn knock(&mut self, seed: u8, name: &str, role: Role) -> (usize, PendingJoin) {
        let relay_id = 200 + self.peers.len() as u64;
        let config = MemberConfig {
            role,
            ..MemberConfig::default()
        };
        let member = Member::new(identity(seed), name, ROOM, None, config).unwrap();
        let hello = member.hello();
        self.peers.push(Peer {
            relay_id,
            member,
            events: Vec::new(),
        });
        let pos = self.peers.len() - 1;
        let HostInput::Step(step) = self
            .host
            .handle(relay_id, &hello, &mut self.rng, self.now)
            .unwrap()
        else {
            panic!("hello must give a step")
        };
        self.deliver(step);
        assert!(matches!(
            self.peers[pos].events.last(),
            Some(Event::ReadyToJoin {
                host_relay_id: HOST_RELAY
            })
        ));
        let req = self.peers[pos].member.join_request(&mut self.rng).unwrap();
        let pending = self.host.handle_join_request(relay_id, &req).unwrap();
        (pos, pending)
    }

    /// Knock and admit a participant.
    pub fn join(&mut self, seed: u8, name: &str) -> usize {
        let (pos, pending) = self.knock(seed, name, Role::Participant);
        let step = self.host.admit(pending, &mut self.rng, self.now).unwrap();
        self.deliver(step);
        pos
    }

    pub fn host_code(&self) -> String {
        self.host.member().security_code().unwrap().to_owned()
    }

    /// The roster and key messages of the host's latest epoch.
    pub fn last_epoch_messages(&self) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
        let pos = self
            .sent
            .iter()
            .rposition(|o| matches!(o, Outgoing::Broadcast(_)))
            .unwrap();
        let Outgoing::Broadcast(roster) = &self.sent[pos] else {
            unreachable!()
        };
        let keys = self.sent[pos + 1..]
            .iter()
            .filter_map(|o| match o {
                Outgoing::To(id, b) => Some((*id, b.clone())),
                _ => None,
            })
            .collect();
        (roster.clone(), keys)
    }
}
