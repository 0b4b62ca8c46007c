//! A hostile relay, simulated by a raw connection in the same room that sees every broadcast
//! and sends crafted blobs: a roster signed by another key, a replayed old roster, a roster with
//! an injected participant. Every client refuses each one and keeps its epoch and code.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use common::*;
use hush_client::net::{self, ConnectOptions, TrustAnchor};
use hush_client::{ClientRole, MeetingEvent, MeetingEvents, Refusal};
use hush_group::message::{Message, RosterEntry, sign};
use hush_group::{GroupError, Host, HostConfig, Identity, IdentityKey, Role};
use hush_wire::Target;
use rand::SeedableRng;

const ROOM: &str = "hostile";

async fn next_roster(ev: &mut net::Events) -> Vec<u8> {
    tokio::time::timeout(GUARD, async {
        loop {
            if let Some(net::Event::Deliver { blob, .. }) = ev.recv().await
                && matches!(
                    Message::decode(&blob),
                    Ok(Message::Roster(_) | Message::Commit(_))
                )
            {
                return blob.to_vec();
            }
        }
    })
    .await
    .unwrap()
}

async fn refused(ev: &mut MeetingEvents) -> GroupError {
    wait_for(ev, |e| match e {
        MeetingEvent::Refused {
            reason: Refusal::Group(g),
            ..
        } => Some(g.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn forged_replayed_and_injected_rosters_are_refused_by_every_client() {
    let relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config(ROOM, "H", host_role())).await;
    let (a, mut aev) = join(relay.config(ROOM, "A", ClientRole::Guest)).await;
    wait_members(&a, &mut aev, 2).await;
    let (b, mut bev) = join(relay.config(ROOM, "B", ClientRole::Guest)).await;
    let code = wait_members(&b, &mut bev, 3).await;
    assert_eq!(wait_members(&a, &mut aev, 3).await, code);

    // The "relay": a raw participant that records every broadcast.
    let (evil, mut evil_ev) = net::connect(
        relay.addr,
        TrustAnchor::Sha256(relay.pin),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    evil.join(ROOM).await.unwrap();
    host.rekey().await.unwrap();
    let old = next_roster(&mut evil_ev).await;
    host.rekey().await.unwrap();
    let current = next_roster(&mut evil_ev).await;
    for (m, ev) in [(&a, &mut aev), (&b, &mut bev)] {
        wait_for(ev, |e| {
            matches!(e, MeetingEvent::RosterChanged(v) if v.epoch == 5).then_some(())
        })
        .await;
        assert_eq!(m.epoch(), Some(5));
    }
    let code = a.security_code().unwrap();
    assert_eq!(b.security_code().unwrap(), code);

    // 1. Replay of an older roster (epoch rollback).
    evil.send_blob(Target::All, old.into()).await.unwrap();
    for ev in [&mut aev, &mut bev] {
        assert!(matches!(
            refused(ev).await,
            GroupError::EpochRollback { .. }
        ));
    }
    assert!(matches!(
        refused(&mut hev).await,
        GroupError::UnexpectedMessage
    ));

    // 2. A roster for the same room signed by another key.
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mallory = Identity::generate(&mut rng);
    let (fake, _) = Host::new(
        mallory.clone(),
        "M",
        ROOM,
        99,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    evil.send_blob(Target::All, fake.roster_bytes().to_vec().into())
        .await
        .unwrap();
    for ev in [&mut aev, &mut bev] {
        assert_eq!(refused(ev).await, GroupError::UnexpectedHost);
    }

    // 3. The current epoch's commit with an injected participant and a higher epoch; the
    // relay cannot sign it as the host.
    let Ok(Message::Commit(signed)) = Message::decode(&current) else {
        panic!("not a commit")
    };
    let mut commit = signed.content;
    commit.prev_hash = commit.roster_hash;
    commit.epoch += 1;
    commit.upserted.push(RosterEntry {
        index: 9,
        relay_id: evil.my_id().unwrap().0,
        role: Role::Participant,
        identity: IdentityKey(mallory.public().0),
        hpke_hash: [7; 32],
        name_commit: [8; 32],
    });
    let body = commit.encode_body();
    let injected = sign(commit, body, &mallory, ROOM).to_bytes();
    evil.send_blob(Target::All, injected.into()).await.unwrap();
    for ev in [&mut aev, &mut bev] {
        assert_eq!(refused(ev).await, GroupError::BadSignature);
    }
    // Garbage that is no class at all, and a group message from "the relay" id 0 is impossible
    // to send, so also try a truncated roster.
    evil.send_blob(Target::All, current[..40].to_vec().into())
        .await
        .unwrap();
    for ev in [&mut aev, &mut bev] {
        assert!(matches!(refused(ev).await, GroupError::Decode(_)));
    }

    // Nothing changed: same epoch, same code, and the meeting still works.
    for m in [&a, &b] {
        assert_eq!(m.epoch(), Some(5));
        assert_eq!(m.security_code().unwrap(), code);
        assert!(m.stats().refused_group >= 4);
    }
    host.send_media(&mut BytesMut::from(&b"still fine"[..]))
        .await
        .unwrap();
    wait_media(&mut aev, b"still fine").await;
    wait_media(&mut bev, b"still fine").await;
}
