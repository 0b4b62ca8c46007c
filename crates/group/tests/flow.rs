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
    let (roster, keys) = m.last_epoch_messages();
    let Message::Roster(r) = Message::decode(&roster).unwrap() else {
        panic!()
    };
    assert_eq!(r.content.kem, KemId::XWing);
    assert_eq!(r.content.members[1].hpke_public.len(), 1216);
    let Message::EpochKey(k) = Message::decode(&keys[0].1).unwrap() else {
        panic!()
    };
    assert_eq!(k.content.enc.len(), 1120);
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
