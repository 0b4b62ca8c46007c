//! A hostile relay (and hostile peers) against the roster and key checks (SPEC §8, issue 7).
//! Every test asserts the exact error.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hush_group::message::{MemberNotice, msg_type, sign};
use hush_group::*;

fn decode_roster(bytes: &[u8]) -> Signed<Roster> {
    match Message::decode(bytes).unwrap() {
        Message::Roster(r) => r,
        other => panic!("not a roster: {other:?}"),
    }
}

fn decode_key(bytes: &[u8]) -> EpochKey {
    match Message::decode(bytes).unwrap() {
        Message::EpochKey(k) => k,
        other => panic!("not a key: {other:?}"),
    }
}

/// A meeting with Alice and Bob, and a third member to attack.
fn meeting() -> (Meeting, usize, usize) {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let b = m.join(3, "Bob");
    (m, a, b)
}

#[test]
fn hostile_forged_roster_signature_is_refused() {
    let (mut m, a, _) = meeting();
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let Outgoing::Broadcast(roster) = &step.outgoing[0] else {
        panic!()
    };
    let mut forged = roster.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &forged, 0),
        Err(GroupError::BadSignature)
    );
    // Any edit of the body, e.g. the lock bit, invalidates the signature too.
    let mut edited = roster.clone();
    edited[2 + 16 + 8 + 2 + 2] ^= 1;
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &edited, 0),
        Err(GroupError::BadSignature)
    );
    // The genuine roster is still accepted afterwards.
    assert_eq!(m.peers[a].member.handle(HOST_RELAY, roster, 0), Ok(vec![]));
}

fn decode_commit(bytes: &[u8]) -> Signed<Commit> {
    match Message::decode(bytes).unwrap() {
        Message::Commit(c) => c,
        other => panic!("not a commit: {other:?}"),
    }
}

#[test]
fn hostile_injected_participant_is_refused() {
    let (mut m, a, _) = meeting();
    let full = decode_roster(m.host.roster_bytes());
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let Outgoing::Broadcast(commit) = &step.outgoing[0] else {
        panic!()
    };
    let signed = decode_commit(commit);
    let mut intruder = full.content.members[1].clone();
    intruder.index = 9;
    intruder.identity = identity(66).public();
    let mut content = signed.content.clone();
    content.upserted.push(intruder.clone());
    // Same signature over the edited body: refused.
    let injected = Signed {
        body: content.encode_body(),
        ..signed.clone()
    };
    let member = &mut m.peers[a].member;
    assert_eq!(
        member.handle(HOST_RELAY, &injected.to_bytes(), 0),
        Err(GroupError::BadSignature)
    );
    // Signed by the relay's own key: a commit is checked against the pinned host key.
    let relay_key = identity(99);
    let body = content.encode_body();
    let resigned = sign(content.clone(), body, &relay_key, ROOM);
    assert_eq!(
        member.handle(HOST_RELAY, &resigned.to_bytes(), 0),
        Err(GroupError::BadSignature)
    );
    // Even host-signed, a commit whose result is not the roster it names is refused: the
    // member computes the complete roster itself (no ghost hides in a delta).
    content.names.push(SealedName {
        index: 9,
        ciphertext: vec![0; 64],
    });
    let body = content.encode_body();
    let ghost = sign(content, body, &m.host_identity, ROOM);
    assert_eq!(
        member.handle(HOST_RELAY, &ghost.to_bytes(), 0),
        Err(GroupError::RosterHashMismatch)
    );
    assert_eq!(member.roster().map(|r| r.members.len()), Some(3));
    // A full roster re-signed by the relay's key, claiming to be the host: another host.
    let mut content = full.content.clone();
    content.host = relay_key.public();
    content.members[0].identity = relay_key.public();
    let body = content.encode_body();
    let resigned = sign(content, body, &relay_key, ROOM);
    assert_eq!(
        member.handle(HOST_RELAY, &resigned.to_bytes(), 0),
        Err(GroupError::UnexpectedHost)
    );
    // Claiming the real host key but signed by another: bad signature.
    let mut content = full.content;
    content.epoch += 1;
    let body = content.encode_body();
    let impostor = sign(content, body, &relay_key, ROOM);
    assert_eq!(
        member.handle(HOST_RELAY, &impostor.to_bytes(), 0),
        Err(GroupError::BadSignature)
    );
    // The genuine commit is still accepted.
    assert_eq!(member.handle(HOST_RELAY, commit, 0), Ok(vec![]));
}

#[test]
fn hostile_impersonated_host_after_tofu_is_refused() {
    let (mut m, a, _) = meeting();
    // Another host (its own valid meeting and key) tries to take over the pinned member.
    let mut rng = rng(42);
    let (_, step) = Host::new(
        identity(77),
        "Mallory",
        ROOM,
        HOST_RELAY,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    let Outgoing::Broadcast(roster) = &step.outgoing[0] else {
        panic!()
    };
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, roster, 0),
        Err(GroupError::UnexpectedHost)
    );
    // A fresh member expecting the real host refuses it from the first message.
    let mut fresh = Member::new(
        identity(5),
        "Eve",
        ROOM,
        Some(m.host.identity()),
        MemberConfig::default(),
    )
    .unwrap();
    assert_eq!(
        fresh.handle(HOST_RELAY, roster, 0),
        Err(GroupError::UnexpectedHost)
    );
    // And accepts the real one.
    let real = m.host.roster_bytes().to_vec();
    assert!(matches!(
        fresh.handle(HOST_RELAY, &real, 0).unwrap()[..],
        [Event::ReadyToJoin { .. }]
    ));
    let _ = &mut m;
}

#[test]
fn hostile_replayed_old_roster_is_refused() {
    let (mut m, a, _) = meeting();
    let (old_roster, _) = m.last_epoch_messages();
    let old_epoch = m.host.epoch();
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    m.deliver(step);
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &old_roster, 0),
        Err(GroupError::EpochRollback {
            got: old_epoch,
            current: old_epoch + 1
        })
    );
    // A different roster for the current epoch, even host-signed, is equivocation.
    let current = decode_roster(m.host.roster_bytes());
    let mut content = current.content;
    content.locked = !content.locked;
    let body = content.encode_body();
    let other = sign(content, body, &m.host_identity, ROOM);
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &other.to_bytes(), 0),
        Err(GroupError::EpochConflict {
            epoch: old_epoch + 1
        })
    );
    // The identical roster again is a harmless duplicate.
    let same = m.host.roster_bytes().to_vec();
    assert_eq!(m.peers[a].member.handle(HOST_RELAY, &same, 0), Ok(vec![]));
}

#[test]
fn hostile_roster_from_another_meeting_or_room_is_refused() {
    let (mut m, a, _) = meeting();
    // Same host key, another meeting (e.g. an old one in this room).
    let mut rng = rng(5);
    let (_, step) = Host::new(
        m.host_identity.clone(),
        "Hanna Host",
        ROOM,
        HOST_RELAY,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    let Outgoing::Broadcast(roster) = &step.outgoing[0] else {
        panic!()
    };
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, roster, 0),
        Err(GroupError::WrongMeeting)
    );
    // The current roster, forwarded into another room: the signature binds the room.
    let mut elsewhere =
        Member::new(identity(8), "Zed", "room-2", None, MemberConfig::default()).unwrap();
    let current = m.host.roster_bytes().to_vec();
    assert_eq!(
        elsewhere.handle(HOST_RELAY, &current, 0),
        Err(GroupError::BadSignature)
    );
    let _ = &mut m;
}

#[test]
fn hostile_key_for_another_recipient_is_refused() {
    let (mut m, a, b) = meeting();
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let bob_id = m.peers[b].relay_id;
    let Outgoing::Broadcast(roster) = step.outgoing[0].clone() else {
        panic!()
    };
    let bob_key = step
        .outgoing
        .iter()
        .find_map(|o| match o {
            Outgoing::To(id, k) if *id == bob_id => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    m.peers[a].member.handle(HOST_RELAY, &roster, 0).unwrap();
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &bob_key, 0),
        Err(GroupError::NotForMe)
    );
    // Readdressed to Alice: Alice's wrap key cannot open a secret wrapped to Bob's (and the
    // index is authenticated data).
    let mut k = decode_key(&bob_key);
    k.recipient_index = 1;
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &k.to_bytes(), 0),
        Err(GroupError::DecryptFailed)
    );
}

#[test]
fn hostile_key_with_wrong_roster_hash_or_without_roster_is_refused() {
    let (mut m, a, _) = meeting();
    let a_id = m.peers[a].relay_id;
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let Outgoing::Broadcast(roster) = step.outgoing[0].clone() else {
        panic!()
    };
    let a_key = step
        .outgoing
        .iter()
        .find_map(|o| match o {
            Outgoing::To(id, k) if *id == a_id => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    // Key before its roster (roster withheld): refused, nothing derived.
    let epoch = m.host.epoch();
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &a_key, 0),
        Err(GroupError::KeyWithoutRoster { epoch })
    );
    assert_eq!(m.peers[a].member.epoch(), Some(epoch - 1));
    m.peers[a].member.handle(HOST_RELAY, &roster, 0).unwrap();
    // A key binding another roster hash: refused.
    let mut k = decode_key(&a_key);
    k.roster_hash[0] ^= 1;
    assert_eq!(
        m.peers[a].member.handle(HOST_RELAY, &k.to_bytes(), 0),
        Err(GroupError::RosterHashMismatch)
    );
    // Any byte of the wrapped secret changed: refused, nothing derived.
    for i in [0, 20, 47] {
        let mut forged = a_key.clone();
        let n = forged.len();
        forged[n - 48 + i] ^= 0x40;
        assert_eq!(
            m.peers[a].member.handle(HOST_RELAY, &forged, 0),
            Err(GroupError::DecryptFailed)
        );
    }
    assert_eq!(m.peers[a].member.epoch(), Some(epoch - 1));
    // The genuine key works.
    let ev = m.peers[a].member.handle(HOST_RELAY, &a_key, 0).unwrap();
    assert!(ev.iter().any(|e| matches!(e, Event::EpochReady { .. })));
}

#[test]
fn hostile_departed_member_gets_nothing_of_the_next_epoch() {
    let (mut m, a, b) = meeting();
    let (_, _, b_old_recv) = m.peers[b].last_ready().unwrap();
    let (_, b_old_send, _) = m.peers[b].last_ready().unwrap();
    let bob_relay = m.peers[b].relay_id;
    let leave = m.peers[b].member.leave().unwrap();
    assert!(m.peers[b].member.is_removed());
    let HostInput::Step(step) = m.host.handle(bob_relay, &leave, &mut m.rng, 0).unwrap() else {
        panic!()
    };
    // No key message of the new epoch is addressed to Bob.
    assert!(
        !step
            .outgoing
            .iter()
            .any(|o| matches!(o, Outgoing::To(id, _) if *id == bob_relay))
    );
    let Outgoing::Broadcast(roster) = step.outgoing[0].clone() else {
        panic!()
    };
    let alice_key = step
        .outgoing
        .iter()
        .find_map(|o| match o {
            Outgoing::To(_, k) => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    m.deliver(step);
    // Bob, handed the new roster and Alice's key anyway (by a hostile relay), gets nothing.
    assert_eq!(
        m.peers[b].member.handle(HOST_RELAY, &roster, 0),
        Err(GroupError::Removed)
    );
    assert_eq!(
        m.peers[b].member.handle(HOST_RELAY, &alice_key, 0),
        Err(GroupError::Removed)
    );
    // A still-running Bob that never sent Leave (kicked by remove) sees Removed.
    // The new epoch's keys share nothing with what Bob held.
    let (_, a_send, a_recv) = m.peers[a].last_ready().unwrap();
    let mut old: Vec<[u8; 32]> = b_old_recv.iter().map(|s| *s.base_key).collect();
    old.push(*b_old_send.base_key);
    for s in a_recv.iter().chain([&a_send]) {
        assert!(!old.contains(&s.base_key));
    }
    // Bob's old keys cannot derive the new ones: the epoch secret is fresh randomness, so using
    // any key Bob held as an epoch secret gives different sender keys.
    let meeting_id = m.host.meeting_id();
    for k in &old {
        let guess = EpochSecret::from_bytes(*k)
            .sender(&meeting_id, a_send.epoch(), a_send.index(), a_send.suite)
            .unwrap();
        assert_ne!(guess.base_key, a_send.base_key);
    }
    // A replay of Bob's leave later is stale, not a second removal.
    let rejoined = m.join(3, "Bob");
    let before = m.host.epoch();
    assert_eq!(
        m.host
            .handle(m.peers[rejoined].relay_id, &leave, &mut m.rng, 0)
            .err(),
        Some(GroupError::StaleRequest)
    );
    assert_eq!(m.host.epoch(), before);
}

#[test]
fn hostile_removed_member_sees_removed() {
    let (mut m, _, b) = meeting();
    let bob_relay = m.peers[b].relay_id;
    let step = m.host.remove(bob_relay, &mut m.rng, 0).unwrap();
    let Outgoing::Broadcast(roster) = step.outgoing[0].clone() else {
        panic!()
    };
    assert_eq!(
        m.peers[b].member.handle(HOST_RELAY, &roster, 0),
        Ok(vec![Event::Removed])
    );
    assert!(m.peers[b].member.is_removed());
    assert_eq!(m.peers[b].member.epoch(), None);
}

#[test]
fn locked_meeting_refuses_new_identities() {
    let mut m = Meeting::new(KemId::X25519);
    let a = m.join(2, "Alice");
    let step = m.host.set_locked(true, &mut m.rng, 0).unwrap();
    m.deliver(step);
    assert_eq!(m.peers[a].last_roster().map(|v| v.locked), Some(true));
    // A new identity: refused at the request.
    let mut newcomer =
        Member::new(identity(4), "Newcomer", ROOM, None, MemberConfig::default()).unwrap();
    newcomer
        .handle(HOST_RELAY, m.host.roster_bytes(), 0)
        .unwrap();
    let req = newcomer.join_request(&mut m.rng).unwrap();
    assert_eq!(
        m.host.handle_join_request(555, &req).err(),
        Some(GroupError::Locked)
    );
    // A known identity reconnecting is re-admitted.
    let again = m.join(2, "Alice");
    assert_eq!(m.peers[again].member.epoch(), Some(m.host.epoch()));
}

#[test]
fn connector_needs_explicit_consent() {
    let mut m = Meeting::new(KemId::X25519);
    let (_, pending) = m.knock(9, "Recorder", Role::Connector);
    assert!(pending.is_connector());
    let epoch = m.host.epoch();
    assert_eq!(
        m.host.admit(pending.clone(), &mut m.rng, 0).err(),
        Some(GroupError::ConnectorNeedsConsent)
    );
    assert_eq!(m.host.epoch(), epoch);
    let step = m.host.admit_connector(pending, &mut m.rng, 0).unwrap();
    m.deliver(step);
    assert_eq!(m.host.epoch(), epoch + 1);
    assert!(m.host_events.contains(&Event::E2eeStatus(E2ee::Off {
        connectors: vec!["Recorder".into()]
    })));
}

#[test]
fn hostile_replayed_join_request_is_refused() {
    let mut m = Meeting::new(KemId::X25519);
    let mut joiner =
        Member::new(identity(2), "Alice", ROOM, None, MemberConfig::default()).unwrap();
    joiner.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let req = joiner.join_request(&mut m.rng).unwrap();
    let pending = m.host.handle_join_request(300, &req).unwrap();
    let _ = m.host.deny(pending, hush_group::DenyReason::Denied);
    assert_eq!(
        m.host.handle_join_request(301, &req).err(),
        Some(GroupError::ReplayedJoin)
    );
    // Tampered join request (e.g. role changed by the relay): signature fails.
    let mut tampered = req.clone();
    tampered[2 + 16 + 16] = Role::Connector.to_u8();
    assert_eq!(
        m.host.handle_join_request(302, &tampered).err(),
        Some(GroupError::BadSignature)
    );
}

#[test]
fn member_notices_are_signed_and_checked() {
    let (mut m, a, b) = meeting();
    // Bob's leave re-signed by Alice's identity claim: bad signature.
    let leave = m.peers[b].member.leave().unwrap();
    let Message::Leave(n) = Message::decode(&leave).unwrap() else {
        panic!()
    };
    let forged = Signed {
        content: MemberNotice {
            identity: m.peers[a].member.identity(),
            ..n.content.clone()
        },
        body: MemberNotice {
            identity: m.peers[a].member.identity(),
            ..n.content.clone()
        }
        .encode_body(msg_type::LEAVE),
        signature: n.signature,
    };
    assert_eq!(
        m.host.handle(1, &forged.to_bytes(), &mut m.rng, 0).err(),
        Some(GroupError::BadSignature)
    );
    // A non-member's leave: not a member.
    let stranger = identity(50);
    let content = MemberNotice {
        identity: stranger.public(),
        ..n.content
    };
    let body = content.encode_body(msg_type::LEAVE);
    let s = sign(content, body, &stranger, ROOM);
    assert_eq!(
        m.host.handle(1, &s.to_bytes(), &mut m.rng, 0).err(),
        Some(GroupError::NotAMember)
    );
}

/// SPEC §8.8.1: a joiner ends its wait only on a denial the pinned host signed, for its own
/// latest request. A denial forged by anyone else (the relay, another participant), replayed
/// from an earlier request, or arriving after admission changes nothing.
#[test]
fn hostile_forged_or_stale_denials_are_refused() {
    let mut m = Meeting::new(KemId::X25519);
    let mut joiner =
        Member::new(identity(2), "Alice", ROOM, None, MemberConfig::default()).unwrap();
    joiner.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let first = joiner.join_request(&mut m.rng).unwrap();
    let pending = m.host.handle_join_request(300, &first).unwrap();
    let Outgoing::To(to, genuine) = m.host.deny(pending, DenyReason::Denied) else {
        panic!("a denial goes to the joiner")
    };
    assert_eq!(to, 300);
    // The same denial signed by someone other than the host.
    let d = match Message::decode(&genuine).unwrap() {
        Message::Denied(d) => d.content,
        other => panic!("not a denial: {other:?}"),
    };
    let body = d.encode_body();
    let forged = sign(d.clone(), body, &identity(9), ROOM).to_bytes();
    assert_eq!(
        joiner.handle(HOST_RELAY, &forged, 0),
        Err(GroupError::BadSignature)
    );
    // A later request makes the earlier request's denial stale.
    let _second = joiner.join_request(&mut m.rng).unwrap();
    assert_eq!(
        joiner.handle(HOST_RELAY, &genuine, 0),
        Err(GroupError::StaleDenial)
    );
    // A denial of the current request ends the wait with the host's reason.
    let mut joiner = Member::new(identity(3), "Bob", ROOM, None, MemberConfig::default()).unwrap();
    joiner.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let req = joiner.join_request(&mut m.rng).unwrap();
    let pending = m.host.handle_join_request(301, &req).unwrap();
    let Outgoing::To(_, denial) = m.host.deny(pending, DenyReason::ConnectorNeedsConsent) else {
        panic!()
    };
    assert_eq!(
        joiner.handle(HOST_RELAY, &denial, 0),
        Ok(vec![Event::Denied(DenyReason::ConnectorNeedsConsent)])
    );
    // ... and an admitted member ignores a denial of the request that admitted it (a host
    // cannot say both; a relay replaying one cannot talk a member out of the meeting).
    let mut joiner =
        Member::new(identity(4), "Carol", ROOM, None, MemberConfig::default()).unwrap();
    joiner.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
    let req = joiner.join_request(&mut m.rng).unwrap();
    let pending = m.host.handle_join_request(302, &req).unwrap();
    let Outgoing::To(_, denial) = m.host.deny(pending.clone(), DenyReason::Denied) else {
        panic!()
    };
    m.host.stage_admit(pending, true, &mut m.rng).unwrap();
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    for out in &step.outgoing {
        if let Outgoing::Broadcast(b) | Outgoing::To(302, b) = out {
            let _ = joiner.handle(HOST_RELAY, b, 0);
        }
    }
    assert!(joiner.roster().is_some_and(|r| r.members.len() == 2));
    assert_eq!(
        joiner.handle(HOST_RELAY, &denial, 0),
        Err(GroupError::StaleDenial)
    );
}
