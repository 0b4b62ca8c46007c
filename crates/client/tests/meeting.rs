//! A host and guests through a real relay on loopback: frames and data both ways, what the relay
//! holds, security codes, admission, and what a departed member can still read.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use hush_client::{Admit, ClientRole, DataKind, E2eeStatus, MeetingError, MeetingEvent};

#[tokio::test]
async fn frames_and_data_both_ways_and_the_relay_holds_no_plaintext() {
    let mut relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config("r1", "Hanna Hostname", host_role())).await;
    let (guest, mut gev) = join(relay.config("r1", "Gustav Guestname", ClientRole::Guest)).await;
    let code_g = wait_members(&guest, &mut gev, 2).await;
    let code_h = wait_members(&host, &mut hev, 2).await;
    assert_eq!(code_g, code_h);
    assert_eq!(guest.e2ee_status(), Some(E2eeStatus::On));
    assert_eq!(guest.e2ee_status().unwrap().to_string(), "e2ee: on");
    assert_eq!(guest.relay_region(), "eu-test");

    let from_host = b"KNOWN-PLAINTEXT-from-the-host-0123456789";
    let from_guest = b"KNOWN-PLAINTEXT-from-the-guest-987654321";
    host.send_media(&mut BytesMut::from(&from_host[..]))
        .await
        .unwrap();
    guest
        .send_media(&mut BytesMut::from(&from_guest[..]))
        .await
        .unwrap();
    let big = vec![0x5au8; 20_000]; // larger than a datagram: goes on a stream
    host.send_media(&mut BytesMut::from(&big[..]))
        .await
        .unwrap();
    let f = wait_media(&mut gev, from_host).await;
    assert_eq!((f.sender, &*f.sender_name), (0, "Hanna Hostname"));
    wait_media(&mut gev, &big).await;
    let f = wait_media(&mut hev, from_guest).await;
    assert_eq!(&*f.sender_name, "Gustav Guestname");

    guest.send_chat("KNOWN-CHAT-secret words").await.unwrap();
    let d = wait_for(&mut hev, |ev| match ev {
        MeetingEvent::Data(d) => Some(d.clone()),
        _ => None,
    })
    .await;
    assert_eq!(d.kind, DataKind::Chat);
    assert_eq!(&d.payload[..], b"KNOWN-CHAT-secret words");
    assert_eq!(&*d.sender_name, "Gustav Guestname");

    let stats = guest.stats();
    assert!(stats.media_opened >= 2 && stats.media_sealed == 1);
    guest.leave().await.unwrap();
    host.leave().await.unwrap();
    let everything = relay.stop_and_read_everything().await;
    assert!(everything.len() > 200, "the relay dumped what it forwarded");
    for secret in [
        &from_host[..],
        &from_guest[..],
        b"KNOWN-CHAT",
        b"Hanna Hostname",
        b"Gustav Guestname",
        &big[..64],
    ] {
        assert!(!contains(&everything, secret), "relay holds {secret:?}");
    }
}

#[tokio::test]
async fn sending_before_the_roster_is_refused() {
    let relay = TestRelay::start().await;
    // No host: the guest never gets a roster.
    let (guest, _gev) = join(relay.config("r-nohost", "G", ClientRole::Guest)).await;
    let err = guest
        .send_media(&mut BytesMut::from(&b"x"[..]))
        .await
        .unwrap_err();
    assert!(matches!(err, MeetingError::NotReady), "{err}");
    assert!(matches!(
        guest.send_chat("x").await.unwrap_err(),
        MeetingError::NotReady
    ));
}

#[tokio::test]
async fn guest_first_then_host_and_codes_change_on_join_and_leave() {
    let relay = TestRelay::start().await;
    // The guest arrives before the host: it asks again when the host appears.
    let (a, mut aev) = join(relay.config("r2", "A", ClientRole::Guest)).await;
    let (host, mut hev) = join(relay.config("r2", "H", host_role())).await;
    let c2 = wait_members(&a, &mut aev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, c2);

    let (b, mut bev) = join(relay.config("r2", "B", ClientRole::Guest)).await;
    let c3 = wait_members(&b, &mut bev, 3).await;
    assert_eq!(wait_members(&a, &mut aev, 3).await, c3);
    assert_eq!(wait_members(&host, &mut hev, 3).await, c3);
    assert_ne!(c2, c3, "the code changes on join");

    b.leave().await.unwrap();
    let c4 = wait_members(&a, &mut aev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, c4);
    assert_ne!(c4, c3, "the code changes on leave");
    assert_ne!(c4, c2, "a new epoch, not the old one");
}

#[tokio::test]
async fn ask_mode_admits_on_answer_and_connectors_need_consent() {
    let relay = TestRelay::start().await;
    let role = ClientRole::Host {
        admit: Admit::Ask,
        admit_connectors: false,
    };
    let (host, mut hev) = join(relay.config("r3", "H", role)).await;
    let (g, _gev) = join(relay.config("r3", "Waiting Walter", ClientRole::Guest)).await;
    let req = wait_for(&mut hev, |ev| match ev {
        MeetingEvent::AdmissionRequest(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(req.name, "Waiting Walter");
    assert_eq!(req.short_id().len(), 8);
    assert!(matches!(
        g.send_chat("too early").await.unwrap_err(),
        MeetingError::NotReady
    ));
    host.admit(req.relay_id, true).await.unwrap();
    g.wait_for_others(1, GUARD).await.unwrap();

    // A connector asks; the host's explicit yes admits it and the status flips.
    let (_c, _cev) = join(relay.config("r3", "Phone Bridge", ClientRole::Connector)).await;
    let req = wait_for(&mut hev, |ev| match ev {
        MeetingEvent::AdmissionRequest(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    host.admit(req.relay_id, true).await.unwrap();
    let status = wait_for(&mut hev, |ev| match ev {
        MeetingEvent::E2ee(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        status.to_string(),
        "e2ee: off (connector Phone Bridge decrypts)"
    );
}

#[tokio::test]
async fn auto_mode_does_not_admit_a_connector_without_consent() {
    let relay = TestRelay::start().await;
    let (_host, _hev) = join(relay.config("r4", "H", host_role())).await;
    let (c, mut cev) = join(relay.config("r4", "Bridge", ClientRole::Connector)).await;
    let (g, _gev) = join(relay.config("r4", "G", ClientRole::Guest)).await;
    // The guest (who asked after the connector) is admitted; the connector never is, and is
    // told why by a host-signed denial (SPEC §8.7.1) instead of waiting forever.
    g.wait_ready(GUARD).await.unwrap();
    let why = wait_for(&mut cev, |ev| match ev {
        MeetingEvent::Ended(why) => Some(why.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        why,
        hush_client::EndReason::Denied(hush_client::DenyReason::ConnectorNeedsConsent)
    );
    assert!(c.wait_ready(Duration::from_millis(300)).await.is_err());
    assert!(c.epoch().is_none(), "no key without consent");
    assert_eq!(g.e2ee_status(), Some(E2eeStatus::On));
}

#[tokio::test]
async fn a_departed_member_cannot_open_frames_sent_after_it_left() {
    let relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config("r5", "H", host_role())).await;
    let (gone, mut goneev) = join(relay.config("r5", "Leaver", ClientRole::Guest)).await;
    wait_members(&gone, &mut goneev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    host.send_media(&mut BytesMut::from(&b"before"[..]))
        .await
        .unwrap();
    wait_media(&mut goneev, b"before").await;

    // It keeps every key it had and stays connected (a hostile member), but leaves the roster.
    gone.leave_keeping_keys().await.unwrap();
    wait_members(&host, &mut hev, 1).await;
    const N: u64 = 20;
    for i in 0..N {
        let mut b = BytesMut::from(format!("after-{i}").as_bytes());
        host.send_media(&mut b).await.unwrap();
    }
    host.send_chat("after-chat").await.unwrap();
    // Wait until every frame reached it and was refused for want of a key.
    tokio::time::timeout(GUARD, async {
        while gone.stats().refused_unknown_kid < N + 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("frames after the leave did not arrive");
    while let Ok(ev) = goneev.try_recv() {
        if let MeetingEvent::Media(f) = &ev {
            assert!(
                !f.payload.starts_with(b"after"),
                "opened a frame after leaving"
            );
        }
        if let MeetingEvent::Data(d) = &ev {
            panic!("opened data after leaving: {d:?}");
        }
    }
}

#[tokio::test]
async fn a_locked_meeting_gives_no_key_to_a_new_identity() {
    let relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config("r6", "H", host_role())).await;
    let (g, mut gev) = join(relay.config("r6", "G", ClientRole::Guest)).await;
    wait_members(&g, &mut gev, 2).await;
    host.lock(true).await.unwrap();
    let view = wait_for(&mut gev, |ev| match ev {
        MeetingEvent::RosterChanged(v) if v.locked => Some(v.clone()),
        _ => None,
    })
    .await;
    assert_eq!(view.members.len(), 2);
    let (late, _lev) = join(relay.config("r6", "Late", ClientRole::Guest)).await;
    let refusal = wait_for(&mut hev, |ev| match ev {
        MeetingEvent::Refused {
            reason: hush_client::Refusal::Group(e),
            ..
        } => Some(e.clone()),
        _ => None,
    })
    .await;
    assert_eq!(refusal, hush_group::GroupError::Locked);
    assert!(late.roster().is_none());
    assert!(matches!(
        late.send_chat("let me in").await.unwrap_err(),
        MeetingError::NotReady
    ));
}
