//! Fan-out, room isolation, blobs, back-pressure (real QUIC on loopback).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use bytes::Bytes;
use common::*;
use hush_client::net::{Event, MediaPath};
use hush_wire::{ParticipantId, Target};

#[tokio::test]
async fn fan_out_in_two_rooms_without_cross_room_leak() {
    fan_out_in_two_rooms(1, 3).await;
}

/// Rooms are shared by every endpoint: clients the kernel spread over four `SO_REUSEPORT`
/// sockets are one room each, with the same fan-out and isolation as on one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_across_four_endpoints_is_one_room() {
    fan_out_in_two_rooms(4, 10).await;
}

async fn fan_out_in_two_rooms(endpoints: usize, in_alpha: usize) {
    let r = relay(|c| c.endpoints = endpoints).await;
    let mut a = Vec::new();
    for _ in 0..in_alpha {
        let (c, ev) = client(&r).await;
        let j = c.join("alpha").await.unwrap();
        a.push((c, ev, j.your_id));
    }
    let mut b = Vec::new();
    for _ in 0..2 {
        let (c, ev) = client(&r).await;
        let j = c.join("beta").await.unwrap();
        b.push((c, ev, j.your_id));
    }
    // Every member sends one small (datagram) and one large (stream) frame, and one blob.
    for (room_tag, members) in [(0u64, &a), (100, &b)] {
        for (i, (c, _, _)) in members.iter().enumerate() {
            let kid = room_tag + i as u64;
            assert_eq!(
                c.send_media(frame(kid, 0, 200, 1)).await.unwrap(),
                MediaPath::Datagram
            );
            assert_eq!(
                c.send_media(frame(kid, 1, 40_000, 2)).await.unwrap(),
                MediaPath::Stream
            );
            c.send_blob(Target::All, Bytes::from(format!("blob-{kid}")))
                .await
                .unwrap();
        }
    }
    for (room_tag, members) in [(0u64, &mut a), (100, &mut b)] {
        let n = members.len() as u64;
        for (i, (_, ev, _)) in members.iter_mut().enumerate() {
            let others: BTreeSet<u64> = (0..n)
                .filter(|&k| k != i as u64)
                .map(|k| room_tag + k)
                .collect();
            let mut got = BTreeSet::new();
            let mut blobs = BTreeSet::new();
            while got.len() < 2 * others.len() || blobs.len() < others.len() {
                let e = next(ev, |e| match e {
                    Event::Media(_) | Event::Deliver { .. } => Some(e),
                    _ => None,
                })
                .await;
                match e {
                    Event::Media(f) => {
                        let h = header(&f);
                        let body = if h.ctr == 0 { 200 } else { 40_000 };
                        assert_eq!(f, frame(h.kid, h.ctr, body, 1 + h.ctr as u8));
                        assert!(got.insert((h.kid, h.ctr)), "duplicate frame");
                    }
                    Event::Deliver { blob, .. } => {
                        assert!(blobs.insert(String::from_utf8(blob.to_vec()).unwrap()));
                    }
                    _ => unreachable!(),
                }
            }
            let want: BTreeSet<(u64, u64)> =
                others.iter().flat_map(|&k| [(k, 0), (k, 1)]).collect();
            assert_eq!(got, want, "room {room_tag} member {i}");
            let want: BTreeSet<String> = others.iter().map(|k| format!("blob-{k}")).collect();
            assert_eq!(blobs, want);
        }
    }
    // Nothing else arrives: no frame or blob from the other room.
    for (_, ev, _) in a.iter_mut().chain(b.iter_mut()) {
        for e in drain(ev).await {
            assert!(
                !matches!(e, Event::Media(_) | Event::Deliver { .. }),
                "unexpected {e:?}"
            );
        }
    }
    let s = r.handle.stats();
    let n = in_alpha as u64;
    assert_eq!(s.frames_in, 2 * (n + 2));
    assert_eq!(s.frames_out, n * (n - 1) * 2 + 2 * 2);
    assert_eq!(s.rooms_open, 2);
    let spread = r.handle.connections_per_endpoint();
    assert_eq!(spread.len(), endpoints);
    assert_eq!(spread.iter().sum::<usize>(), in_alpha + 2);
    if endpoints > 1 {
        // 12 connections over 4 sockets all on one: (1/4)^11, about 2e-7.
        assert!(
            spread.iter().filter(|&&c| c > 0).count() > 1,
            "every client on one endpoint: {spread:?}"
        );
    }
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn directed_blobs_peer_events_and_leave() {
    let r = relay(|_| {}).await;
    let (c1, mut e1) = client(&r).await;
    let (c2, mut e2) = client(&r).await;
    let (c3, mut e3) = client(&r).await;
    let j1 = c1.join("room").await.unwrap();
    let j2 = c2.join("room").await.unwrap();
    assert_eq!(j2.participants, vec![j1.your_id]);
    let id = next(&mut e1, |e| match e {
        Event::PeerJoined { id } => Some(id),
        _ => None,
    })
    .await;
    assert_eq!(id, j2.your_id);
    let j3 = c3.join("room").await.unwrap();
    c1.send_blob(
        Target::Participant(j3.your_id),
        Bytes::from_static(b"only-3"),
    )
    .await
    .unwrap();
    let (from, blob) = next(&mut e3, |e| match e {
        Event::Deliver { from, blob } => Some((from, blob)),
        _ => None,
    })
    .await;
    assert_eq!((from, &blob[..]), (j1.your_id, &b"only-3"[..]));
    // Unknown participant and participant 0 (no hook) are non-fatal errors.
    c1.send_blob(Target::Participant(ParticipantId(u64::MAX)), Bytes::new())
        .await
        .unwrap();
    let code = next(&mut e1, |e| match e {
        Event::RelayError { code, .. } => Some(code),
        _ => None,
    })
    .await;
    assert_eq!(code, hush_wire::ErrorCode::UNKNOWN_PARTICIPANT);
    c3.leave().await.unwrap();
    for ev in [&mut e1, &mut e2] {
        let left = next(ev, |e| match e {
            Event::PeerLeft { id } => Some(id),
            _ => None,
        })
        .await;
        assert_eq!(left, j3.your_id);
    }
    for e in drain(&mut e2).await {
        assert!(!matches!(e, Event::Deliver { .. }), "c2 got {e:?}");
    }
    r.shutdown().await.unwrap();
}

/// A receiver that never reads its streams gets drops counted; a fast one loses nothing.
#[tokio::test]
async fn slow_receiver_drops_are_counted_fast_receiver_loses_nothing() {
    let r = relay(|c| {
        c.limits.stream_frames_in_flight = 4;
    })
    .await;
    let (sender, _se) = client(&r).await;
    let (fast, mut fe) = client(&r).await;
    sender.join("m").await.unwrap();
    fast.join("m").await.unwrap();
    let slow = slow_client(&r, "m").await;
    let n = 40u64;
    for ctr in 0..n {
        sender.send_media(frame(9, ctr, 20_000, 7)).await.unwrap();
        let f = next_media(&mut fe).await;
        assert_eq!(
            header(&f).ctr,
            ctr,
            "fast receiver gets every frame, in order"
        );
        assert_eq!(f.len(), frame(9, ctr, 20_000, 7).len());
    }
    let s = r.handle.stats();
    assert!(
        s.drops >= n - 4 - 4,
        "slow receiver drops counted: {}",
        s.drops
    );
    assert!(s.drops < n, "drops only for the slow receiver: {}", s.drops);
    drop(slow);
    r.shutdown().await.unwrap();
}

/// A raw QUIC client that joins `room` and then never reads anything, with tiny stream windows.
async fn slow_client(
    r: &hush_relay::RunningRelay,
    room: &str,
) -> (quinn::Endpoint, quinn::Connection) {
    use std::sync::Arc;
    let mut cfg =
        hush_client::net::client_config(&hush_client::net::TrustAnchor::Sha256(r.cert_sha256))
            .unwrap();
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(2));
    t.stream_receive_window(quinn::VarInt::from_u32(4096));
    cfg.transport_config(Arc::new(t));
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(cfg);
    let conn = ep.connect(r.addr, "hush-relay").unwrap().await.unwrap();
    let (mut send, mut recv) = conn.accept_bi().await.unwrap();
    let mut buf = [0u8; 64];
    let _ = recv.read(&mut buf).await.unwrap();
    send.write_all(
        &hush_wire::ClientMessage::Join {
            room: room.into(),
            allow: None,
        }
        .encode(),
    )
    .await
    .unwrap();
    // Wait until the relay counts it as a participant.
    for _ in 0..1000 {
        if r.handle.stats().participants_open >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    std::mem::forget(send);
    std::mem::forget(recv);
    (ep, conn)
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A client floods large frames at a room whose other member never reads: the relay's memory
/// stays bounded (in-flight stream frames per receiver are capped, the rest is dropped).
#[tokio::test]
async fn memory_stays_bounded_under_a_bounded_flood() {
    let r = relay(|c| {
        c.limits.frames_per_second = 1_000_000;
        c.limits.bytes_per_second = u64::MAX / 2;
    })
    .await;
    let (flood, _fe) = client(&r).await;
    flood.join("f").await.unwrap();
    let slow = slow_client(&r, "f").await;
    // Warm up, then measure.
    for ctr in 0..50 {
        flood.send_media(frame(1, ctr, 64 * 1024, 1)).await.unwrap();
    }
    let before = rss_kib();
    let n = 400u64; // 25 MiB through the relay
    for ctr in 50..50 + n {
        flood.send_media(frame(1, ctr, 64 * 1024, 1)).await.unwrap();
    }
    // Wait until the relay has taken in (almost) everything that was sent.
    for _ in 0..2000 {
        if r.handle.stats().frames_in >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let after = rss_kib();
    let s = r.handle.stats();
    assert!(
        s.frames_in >= n,
        "relay received the flood: {}",
        s.frames_in
    );
    assert!(
        s.drops > n / 2,
        "frames for the stuck receiver were dropped: {}",
        s.drops
    );
    if let (Some(b), Some(a)) = (before, after) {
        let grew_mib = a.saturating_sub(b) / 1024;
        eprintln!("RSS grew by {grew_mib} MiB during a 25 MiB flood");
        assert!(
            grew_mib < 12,
            "RSS grew by {grew_mib} MiB during a 25 MiB flood"
        );
    }
    drop(slow);
    r.shutdown().await.unwrap();
}

/// Graceful drain (SPEC §7.11): once stopping, the relay tells every connection `GOING_AWAY`
/// (joined or not), refuses joins and new connections, keeps forwarding for those still there,
/// and ends as soon as the last one has gone rather than at its limit.
#[tokio::test]
async fn a_draining_relay_says_going_away_refuses_newcomers_and_ends_when_empty() {
    let limit = std::time::Duration::from_secs(30);
    let r = relay(|c| c.drain = limit).await;
    let (addr, pin) = (r.addr, r.cert_sha256);
    let (a, mut aev) = client(&r).await;
    let (b, mut bev) = client(&r).await;
    let (idle, mut iev) = client(&r).await;
    a.join("d").await.unwrap();
    let bj = b.join("d").await.unwrap();
    let started = std::time::Instant::now();
    let stopping = tokio::spawn(r.shutdown());
    for ev in [&mut aev, &mut bev, &mut iev] {
        let code = next(ev, |e| match e {
            Event::RelayError { code, .. } => Some(code),
            _ => None,
        })
        .await;
        assert_eq!(code, hush_wire::ErrorCode::GOING_AWAY);
    }
    match idle.join("d").await {
        Err(hush_client::net::NetError::Refused { code, .. }) => {
            assert_eq!(code, hush_wire::ErrorCode::GOING_AWAY);
        }
        other => panic!("a join while draining must be refused, got {other:?}"),
    }
    let newcomer = hush_client::net::connect(
        addr,
        hush_client::net::TrustAnchor::Sha256(pin),
        hush_client::net::ConnectOptions::default(),
    )
    .await;
    assert!(newcomer.is_err(), "no new connection while draining");
    // Those still connected keep their meeting until they move.
    a.send_blob(
        Target::Participant(bj.your_id),
        Bytes::from_static(b"still here"),
    )
    .await
    .unwrap();
    let got = next(&mut bev, |e| match e {
        Event::Deliver { blob, .. } => Some(blob),
        _ => None,
    })
    .await;
    assert_eq!(&got[..], b"still here");
    assert!(!stopping.is_finished());
    for c in [a, b, idle] {
        c.close().await;
    }
    stopping.await.unwrap().unwrap();
    assert!(
        started.elapsed() < limit,
        "the drain ended when the relay was empty"
    );
}

/// A stopped relay frees its port when `shutdown` returns, even while someone keeps its
/// handle: an operator restarting it (or a test) rebinds the same address at once. Broke when
/// the handle and the accept tasks held endpoint clones past `run`.
#[tokio::test]
async fn a_stopped_relay_frees_its_port_at_once() {
    for endpoints in [1, 3] {
        let r = relay(|c| c.endpoints = endpoints).await;
        let (c, _ev) = client(&r).await;
        c.join("alpha").await.unwrap();
        let (addr, handle) = (r.addr, r.handle.clone());
        assert_eq!(handle.connections_per_endpoint().iter().sum::<usize>(), 1);
        r.shutdown().await.unwrap();
        assert!(handle.connections_per_endpoint().is_empty());
        let mut cfg = hush_relay::RelayConfig::new(addr);
        cfg.endpoints = endpoints;
        let again = hush_relay::Relay::bind(cfg).await;
        assert!(again.is_ok(), "endpoints={endpoints}: {:?}", again.err());
    }
}
