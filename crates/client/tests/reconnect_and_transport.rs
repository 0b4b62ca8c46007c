//! Reconnection after a relay restart on the same port (the host re-admits known identities
//! without asking and starts a new epoch), and transport mode (keys issued by the relay).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::BytesMut;
use common::*;
use hush_client::{Admit, ClientRole, E2eeStatus, MeetingEvent};
use hush_relay::{CertSource, Relay, RelayConfig};

#[tokio::test]
async fn clients_reconnect_and_rekey_after_a_relay_restart() {
    let dir = TempDir::new("reconnect");
    let ck = rcgen::generate_simple_self_signed(vec!["hush-relay".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let config = |listen| {
        let mut c = RelayConfig::new(listen);
        c.cert = CertSource::Pem {
            cert: cert.clone(),
            key: key.clone(),
        };
        c
    };
    let relay = Relay::bind(config("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = relay.local_addr();
    let pin = relay.cert_sha256();
    let running = relay.spawn();
    let mk = |name: &str, role| {
        hush_client::MeetingConfig::new(addr, hush_client::TrustAnchor::Sha256(pin), "rc", name)
            .unwrap()
            .with_role(role)
    };
    let ask = ClientRole::Host {
        admit: Admit::Ask,
        admit_connectors: false,
    };
    let (host, mut hev) = join(mk("H", ask)).await;
    let (guest, mut gev) = join(mk("G", ClientRole::Guest)).await;
    let req = wait_for(&mut hev, |e| match e {
        MeetingEvent::AdmissionRequest(r) => Some(r.relay_id),
        _ => None,
    })
    .await;
    host.admit(req, true).await.unwrap();
    let before = wait_members(&guest, &mut gev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, before);

    running.shutdown().await.unwrap();
    for ev in [&mut hev, &mut gev] {
        wait_for(ev, |e| {
            matches!(
                e,
                MeetingEvent::Disconnected {
                    reconnecting: true,
                    ..
                }
            )
            .then_some(())
        })
        .await;
    }
    assert!(matches!(
        guest.send_media(&mut BytesMut::from(&b"x"[..])).await,
        Err(hush_client::MeetingError::NotReady)
    ));
    let running = Relay::bind(config(addr)).await.unwrap().spawn();
    for ev in [&mut hev, &mut gev] {
        wait_for(ev, |e| matches!(e, MeetingEvent::Reconnected).then_some(())).await;
    }
    // No new admission prompt: the identity was admitted before.
    let after = wait_members(&guest, &mut gev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, after);
    assert_ne!(after, before, "a new epoch after the restart");
    guest
        .send_media(&mut BytesMut::from(&b"after restart"[..]))
        .await
        .unwrap();
    wait_media(&mut hev, b"after restart").await;
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn transport_mode_uses_keys_issued_by_the_relay() {
    let service = Arc::new(hush_keyservice::KeyService::new(
        hush_keyservice::KeyServiceConfig::default(),
    ));
    let relay = TestRelay::start_with(|c| c.hook = Some(service.clone())).await;
    // Transport mode only for clients that opted in (SPEC §12.5), and never as a host.
    let opted_in = |name: &str| {
        let mut c = relay.config("t", name, ClientRole::Guest);
        c.allow_transport = true;
        c
    };
    let (host, mut hev) = join(opted_in("H")).await;
    let (guest, mut gev) = join(opted_in("G")).await;
    for (m, ev) in [(&host, &mut hev), (&guest, &mut gev)] {
        let s = wait_for(ev, |e| match e {
            MeetingEvent::E2ee(s) => Some(s.clone()),
            _ => None,
        })
        .await;
        assert_eq!(s, E2eeStatus::KeysIssuedByRelay);
        assert_eq!(s.to_string(), "e2ee: off (keys issued by the relay)");
        m.wait_ready(GUARD).await.unwrap();
    }
    host.send_media(&mut BytesMut::from(&b"transport frame"[..]))
        .await
        .unwrap();
    guest
        .send_media(&mut BytesMut::from(&b"and back"[..]))
        .await
        .unwrap();
    wait_media(&mut gev, b"transport frame").await;
    wait_media(&mut hev, b"and back").await;
    guest.send_chat("chat in transport mode").await.unwrap();
    wait_for(&mut hev, |e| match e {
        MeetingEvent::Data(d) if &d.payload[..] == b"chat in transport mode" => Some(()),
        _ => None,
    })
    .await;
    assert!(host.security_code().is_none());
}

/// Graceful drain (SPEC §7.11): relay A is told to stop; it says `GOING_AWAY`, both clients
/// move to relay B of their list at once, the host starts a new epoch there (the guest is
/// re-admitted as a known identity), media flows again, and A's drain ends as soon as they
/// have gone instead of waiting out its limit.
#[tokio::test]
async fn a_draining_relay_moves_its_meeting_to_the_next_relay() {
    let dir = TempDir::new("drain");
    let cert = hush_testkit::SelfSigned::generate().unwrap();
    let (cert_pem, key_pem) = hush_testkit::write_pem(dir.path(), &cert).unwrap();
    let pem = |c: &mut RelayConfig| {
        c.cert = CertSource::Pem {
            cert: cert_pem.clone().into(),
            key: key_pem.clone().into(),
        };
    };
    let drain = std::time::Duration::from_secs(20);
    let a = TestRelay::start_with(|c| {
        pem(c);
        c.drain = drain;
    })
    .await;
    let b = TestRelay::start_with(pem).await;
    assert_eq!(a.pin, b.pin, "one certificate for the deployment");
    let mk = |name: &str, role| {
        let mut c = a.config("drain", name, role);
        c.alternates = vec![b.addr];
        c
    };
    let (host, mut hev) = join(mk("H", host_role())).await;
    let (guest, mut gev) = join(mk("G", ClientRole::Guest)).await;
    let before = wait_members(&guest, &mut gev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, before);

    let mut a = a;
    let started = std::time::Instant::now();
    let stopping = tokio::spawn(async move { a.stop_and_read_everything().await });
    for ev in [&mut hev, &mut gev] {
        let to = wait_for(ev, |e| match e {
            MeetingEvent::Moved { relay, .. } => Some(*relay),
            _ => None,
        })
        .await;
        assert_eq!(to, b.addr);
    }
    let after = wait_members(&guest, &mut gev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, after);
    assert_ne!(after, before, "a new epoch on the new relay");
    assert_eq!(host.relay_addr(), b.addr);
    guest
        .send_media(&mut BytesMut::from(&b"after the move"[..]))
        .await
        .unwrap();
    wait_media(&mut hev, b"after the move").await;
    stopping.await.unwrap();
    assert!(
        started.elapsed() < drain,
        "the drain ended when its clients had left, not at its limit"
    );
}
