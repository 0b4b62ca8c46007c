//! Honest meetings: admission, keys, names, codes, grace, rotation (SPEC §8-§10).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hush_group::*;

#[test]
fn members_agree_on_keys_names_and_code() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let b = m.join(3, "Bob");
    let epoch = m.host.epoch();
    assert_eq!(epoch, 3);
    let host_code = m.host_code();
    for p in &m.peers {
        assert_eq!(p.member.epoch(), Some(epoch));
        assert_eq!(p.code().as_deref(), Some(host_code.as_str()));
        assert_eq!(p.last_e2ee(), Some(E2ee::On));
    }
    // Code format: 8 groups of 5 digits.
    let groups: Vec<&str> = host_code.split(' ').collect();
    assert_eq!(groups.len(), 8);
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit()))
    );

    // Every member's sending key is every other member's receiving key for that KID.
    let (_, a_send, a_recv) = m.peers[a].last_ready().unwrap();
    let (_, b_send, b_recv) = m.peers[b].last_ready().unwrap();
    assert!(b_recv.contains(&a_send));
    assert!(a_recv.contains(&b_send));
    assert_ne!(a_send.base_key, b_send.base_key);
    assert_eq!(a_send.epoch(), epoch);
    assert_eq!(a_recv.len(), 2);
    let host_ready = m
        .host_events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::EpochReady { my_sender, .. } => Some(my_sender.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(host_ready.index(), 0);
    assert!(a_recv.contains(&host_ready));

    // Names are decrypted for display.
    let view = m.peers[b].last_roster().unwrap();
    let names: Vec<&str> = view.members.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["Hanna Host", "Alice", "Bob"]);
    assert_eq!(view.members[view.my_index as usize].name, "Bob");
}

#[test]
fn display_names_never_appear_in_clear_on_the_wire() {
    let mut m = Meeting::new(KemId::X25519);
    let (_pos, pending) = m.knock(2, "Zebulon Quux", Role::Participant);
    assert_eq!(pending.display_name(), "Zebulon Quux");
    let step = m.host.admit(pending, &mut m.rng, 0).unwrap();
    m.deliver(step);
    for out in &m.sent {
        let (Outgoing::Broadcast(b) | Outgoing::To(_, b)) = out else {
            unreachable!()
        };
        assert!(!b.windows(6).any(|w| w == b"Zebulo"));
        assert!(!b.windows(5).any(|w| w == b"Hanna"));
    }
}

#[test]
fn security_code_changes_on_join_leave_and_connector() {
    let mut m = Meeting::new(KemId::X25519);
    let c1 = m.host_code();
    let a = m.join(2, "Alice");
    let c2 = m.host_code();
    assert_ne!(c1, c2);
    let (c, pending) = m.knock(9, "Phone bridge", Role::Connector);
    let step = m.host.admit_connector(pending, &mut m.rng, 0).unwrap();
    m.deliver(step);
    let c3 = m.host_code();
    assert_ne!(c2, c3);
    let off = E2ee::Off {
        connectors: vec!["Phone bridge".to_owned()],
    };
    assert_eq!(m.peers[a].last_e2ee(), Some(off.clone()));
    assert_eq!(m.peers[c].last_e2ee(), Some(off));
    assert_eq!(m.peers[a].code(), Some(c3.clone()));
    // The connector leaves: rekey, e2ee on again, new code.
    let leave = m.peers[c].member.leave().unwrap();
    let HostInput::Step(step) = m
        .host
        .handle(m.peers[c].relay_id, &leave, &mut m.rng, 0)
        .unwrap()
    else {
        panic!()
    };
    m.deliver(step);
    assert_eq!(m.peers[a].last_e2ee(), Some(E2ee::On));
    let c4 = m.host_code();
    assert_ne!(c3, c4);
    assert_eq!(m.peers[a].code(), Some(c4));
    assert!(!m.host.members().iter().any(|x| x.2 == Role::Connector));
}

#[test]
fn old_epoch_expires_after_grace() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let old = m.host.epoch();
    m.now = 10_000;
    let step = m.host.rekey(&mut m.rng, m.now).unwrap();
    m.deliver(step);
    let member = &mut m.peers[a].member;
    assert_eq!(member.poll_timeout(), Some(10_000 + DEFAULT_GRACE_MS));
    assert!(member.poll(10_000 + DEFAULT_GRACE_MS - 1).is_empty());
    assert_eq!(
        member.poll(10_000 + DEFAULT_GRACE_MS),
        vec![Event::EpochExpired { epoch: old }]
    );
    assert_eq!(member.poll_timeout(), None);
}

#[test]
fn host_rotates_on_timer() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let epoch = m.host.epoch();
    // First timer: the grace of the host's own previous epoch.
    assert_eq!(m.host.poll_timeout(), DEFAULT_GRACE_MS);
    let step = m.host.handle_timeout(DEFAULT_GRACE_MS, &mut m.rng).unwrap();
    assert!(step.outgoing.is_empty());
    assert_eq!(step.events, vec![Event::EpochExpired { epoch: epoch - 1 }]);
    let due = m.host.poll_timeout();
    assert_eq!(due, DEFAULT_ROTATION_MS);
    let step = m.host.handle_timeout(due - 1, &mut m.rng).unwrap();
    assert!(step.outgoing.is_empty());
    m.now = due;
    let step = m.host.handle_timeout(due, &mut m.rng).unwrap();
    assert!(!step.outgoing.is_empty());
    m.deliver(step);
    assert_eq!(m.host.epoch(), epoch + 1);
    assert_eq!(m.peers[a].member.epoch(), Some(epoch + 1));
    assert_eq!(m.host.poll_timeout(), due + DEFAULT_GRACE_MS);
}

#[test]
fn rekey_request_from_member_rotates() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let epoch = m.host.epoch();
    let req = m.peers[a].member.rekey_request().unwrap();
    let HostInput::Step(step) = m
        .host
        .handle(m.peers[a].relay_id, &req, &mut m.rng, 0)
        .unwrap()
    else {
        panic!()
    };
    m.deliver(step);
    assert_eq!(m.peers[a].member.epoch(), Some(epoch + 1));
    // The same request again is stale: no second rotation from one request.
    assert_eq!(
        m.host
            .handle(m.peers[a].relay_id, &req, &mut m.rng, 0)
            .err(),
        Some(GroupError::StaleRequest)
    );
}

#[test]
fn xwing_meeting_round_trip() {
    let mut m = Meeting::new(KemId::XWing);
    let a = m.join(2, "Alice");
    let b = m.join(3, "Bob");
    let (commit, to_bob) = m.last_epoch_messages();
    assert!(matches!(Message::decode(&commit), Ok(Message::Commit(_))));
    // The joiner gets the full roster, then its welcome.
    let Message::Roster(r) = Message::decode(&to_bob[0].1).unwrap() else {
        panic!()
    };
    assert_eq!(r.content.kem, KemId::XWing);
    assert_eq!(r.content.host_hpke.len(), 1216);
    let Message::Welcome(w) = Message::decode(&to_bob[1].1).unwrap() else {
        panic!()
    };
    assert_eq!(w.content.enc.len(), 1120);
    let (_, a_send, _) = m.peers[a].last_ready().unwrap();
    let (_, _, b_recv) = m.peers[b].last_ready().unwrap();
    assert!(b_recv.contains(&a_send));
    assert_eq!(m.peers[a].code(), Some(m.host_code()));
}

#[test]
fn reconnecting_identity_replaces_its_entry() {
    let mut m = Meeting::new(KemId::X25519);
    m.join(2, "Alice");
    // Same identity, new connection and session key.
    let b = m.join(2, "Alice again");
    assert_eq!(m.host.members().len(), 2);
    assert_eq!(m.peers[b].member.epoch(), Some(m.host.epoch()));
    // The old session is no longer in the roster: it was removed.
    assert!(m.peers[0].member.is_removed());
    assert!(m.peers[0].events.contains(&Event::Removed));
}

/// Bytes the relay fans out for one epoch: a broadcast to every other member, a message to one.
fn fanout(step: &Step, members: usize) -> usize {
    step.outgoing
        .iter()
        .map(|o| match o {
            Outgoing::Broadcast(b) => b.len() * (members - 1),
            Outgoing::To(_, b) => b.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn rekey_fan_out_grows_linearly_and_joins_ratchet() {
    let mut per_member = Vec::new();
    for n in [12usize, 36] {
        let mut m = Meeting::new(KemId::X25519);
        for i in 0..n - 1 {
            m.join(10 + i as u8, &format!("M{i}"));
        }
        // A leave: a fresh secret, one small epoch key each, the commit to all.
        let step = m.host.remove(m.peers[0].relay_id, &mut m.rng, 0).unwrap();
        let keys = step
            .outgoing
            .iter()
            .filter(|o| matches!(o, Outgoing::To(..)))
            .count();
        assert_eq!(
            keys,
            n - 2,
            "one epoch key per remaining member but the host"
        );
        per_member.push(fanout(&step, n - 1) as f64 / (n - 1) as f64);
        m.deliver(step);
        for p in &m.peers[1..] {
            assert_eq!(p.code(), Some(m.host_code()));
        }
        // A join: the secret is ratcheted, so the old members get only the commit.
        let before = m.host.epoch();
        let j = m.join(200, "Late");
        let (_, to) = m.last_epoch_messages();
        assert_eq!(to.len(), 2, "the joiner's roster and welcome only");
        assert!(to.iter().all(|(id, _)| *id == m.peers[j].relay_id));
        assert_eq!(m.host.epoch(), before + 1);
        for p in &m.peers[1..] {
            assert_eq!(p.member.epoch(), Some(before + 1));
            assert_eq!(p.code(), Some(m.host_code()));
        }
    }
    // Per member, a leave costs the same at 12 and 36 members (O(N) in all, not O(N^2)).
    assert!(per_member[1] < per_member[0] * 1.2, "{per_member:?}");
}

#[test]
fn a_member_that_missed_a_commit_asks_to_join_again() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let b = m.join(3, "Bob");
    // A relay withholds one epoch's commit from Alice; Bob gets everything.
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let step2 = m.host.rekey(&mut m.rng, 0).unwrap();
    let bob = m.peers[b].relay_id;
    for out in step.outgoing.iter().chain(&step2.outgoing) {
        match out {
            Outgoing::Broadcast(x) => drop(m.peers[b].member.handle(HOST_RELAY, x, 0).unwrap()),
            Outgoing::To(id, x) if *id == bob => {
                drop(m.peers[b].member.handle(HOST_RELAY, x, 0).unwrap())
            }
            _ => {}
        }
    }
    let Outgoing::Broadcast(commit) = &step2.outgoing[0] else {
        panic!()
    };
    let ev = m.peers[a].member.handle(HOST_RELAY, commit, 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::ReadyToJoin {
            host_relay_id: HOST_RELAY
        }]
    );
    let _ = step;
    // Its join request is the same identity's: the host takes it (a known identity), and the
    // new epoch keys Alice again.
    let req = m.peers[a].member.join_request(&mut m.rng).unwrap();
    let pending = m
        .host
        .handle_join_request(m.peers[a].relay_id, &req)
        .unwrap();
    let step = m.host.admit(pending, &mut m.rng, 0).unwrap();
    m.deliver(step);
    assert_eq!(m.peers[a].member.epoch(), Some(m.host.epoch()));
    assert_eq!(m.peers[a].code(), Some(m.host_code()));
    assert_eq!(m.peers[b].code(), Some(m.host_code()));
}

#[test]
fn a_commit_whose_secret_is_not_confirmed_is_refused() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let before = m.peers[a].member.epoch();
    // The next join ratchets; the host-signed commit claims another confirmation.
    let (_, pending) = m.knock(3, "Bob", Role::Participant);
    let step = m.host.admit(pending, &mut m.rng, 0).unwrap();
    let Outgoing::Broadcast(commit) = &step.outgoing[0] else {
        panic!()
    };
    let Message::Commit(signed) = Message::decode(commit).unwrap() else {
        panic!()
    };
    let mut c = signed.content;
    c.confirm[0] ^= 1;
    let body = c.encode_body();
    let bad = hush_group::message::sign(c, body, &m.host_identity, ROOM).to_bytes();
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &bad, 0),
        Err(GroupError::ConfirmMismatch {
            epoch: m.host.epoch()
        })
    );
    assert_eq!(m.peers[a].member.epoch(), before);
}
