//! Bad input, limits, geofencing, pinning, report and dump (real QUIC on loopback).
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use hush_client::net::{self, ConnectOptions, NetError, TrustAnchor};
use hush_wire::{ErrorCode, Target};

#[tokio::test]
async fn garbage_and_oversize_close_only_the_offender() {
    let r = relay(|c| c.limits.max_frame_size = 10_000).await;
    let (good1, mut g1) = client(&r).await;
    let (good2, _g2) = client(&r).await;
    good1.join("calm").await.unwrap();
    good2.join("calm").await.unwrap();

    // Garbage UDP that is not QUIC is ignored.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(&[0xff; 64], r.addr).unwrap();
    udp.send_to(b"hello relay", r.addr).unwrap();

    let cases: Vec<(Bytes, ErrorCode)> = vec![
        (
            Bytes::from_static(&[0, 0, 0, 1, 0x99]),
            ErrorCode::PROTOCOL_VIOLATION,
        ),
        (
            Bytes::from_static(&[0, 0, 0, 2, 0x42, 0]),
            ErrorCode::PROTOCOL_VIOLATION,
        ),
        (
            Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]),
            ErrorCode::MESSAGE_TOO_LARGE,
        ),
    ];
    for (bytes, want) in cases {
        let (bad, mut be) = client(&r).await;
        bad.join("noisy").await.unwrap();
        bad.write_raw_control(bytes).await.unwrap();
        assert_eq!(closed_code(&mut be).await, Some(want));
    }
    // A datagram that is not an SFrame frame (header only, no ciphertext).
    let (bad, mut be) = client(&r).await;
    bad.join("calm").await.unwrap();
    bad.quic()
        .send_datagram(Bytes::from_static(&[0x00]))
        .unwrap();
    assert_eq!(
        closed_code(&mut be).await,
        Some(ErrorCode::PROTOCOL_VIOLATION)
    );
    // An oversize frame on a stream.
    let (bad, mut be) = client(&r).await;
    bad.join("calm").await.unwrap();
    let _ = bad.send_media(frame(1, 1, 20_000, 0)).await;
    assert_eq!(closed_code(&mut be).await, Some(ErrorCode::FRAME_TOO_LARGE));
    // An unknown stream type.
    let (bad, mut be) = client(&r).await;
    let mut s = bad.quic().open_uni().await.unwrap();
    s.write_all(&[0x00, 1, 2, 3]).await.unwrap();
    s.finish().unwrap();
    assert_eq!(
        closed_code(&mut be).await,
        Some(ErrorCode::PROTOCOL_VIOLATION)
    );

    // The calm room still works.
    good2.send_media(frame(5, 0, 100, 3)).await.unwrap();
    assert_eq!(header(&next_media(&mut g1).await).kid, 5);
    let s = r.handle.stats();
    assert_eq!(s.connections_open, 2);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn room_room_count_and_connection_limits() {
    let r = relay(|c| {
        c.limits.max_participants_per_room = 2;
        c.limits.max_rooms = 1;
        c.limits.max_connections = 3;
    })
    .await;
    let (a, _ae) = client(&r).await;
    let (b, _be) = client(&r).await;
    let (c, _ce) = client(&r).await;
    a.join("one").await.unwrap();
    b.join("one").await.unwrap();
    match c.join("one").await {
        Err(NetError::Refused { code, .. }) => assert_eq!(code, ErrorCode::ROOM_FULL),
        other => panic!("expected ROOM_FULL, got {other:?}"),
    }
    match c.join("two").await {
        Err(NetError::Refused { code, .. }) => assert_eq!(code, ErrorCode::TOO_MANY_ROOMS),
        other => panic!("expected TOO_MANY_ROOMS, got {other:?}"),
    }
    let fourth = net::connect(
        r.addr,
        TrustAnchor::Sha256(r.cert_sha256),
        ConnectOptions::default(),
    )
    .await;
    match fourth {
        Err(NetError::Connection(quinn::ConnectionError::ApplicationClosed(c))) => {
            assert_eq!(
                c.error_code.into_inner(),
                u64::from(ErrorCode::TOO_MANY_CONNECTIONS.0)
            );
        }
        other => panic!("expected TOO_MANY_CONNECTIONS, got {other:?}"),
    }
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limit_closes_the_flooder() {
    let r = relay(|c| c.limits.frames_per_second = 50).await;
    let (calm, mut ce) = client(&r).await;
    let (flood, mut fe) = client(&r).await;
    calm.join("x").await.unwrap();
    flood.join("x").await.unwrap();
    for ctr in 0..200 {
        if flood.send_media(frame(1, ctr, 50, 0)).await.is_err() {
            break;
        }
    }
    assert_eq!(closed_code(&mut fe).await, Some(ErrorCode::RATE_LIMITED));
    let _ = drain(&mut ce).await;
    let (other, _oe) = client(&r).await;
    other.join("x").await.unwrap();
    other.send_media(frame(2, 0, 50, 0)).await.unwrap();
    let f = next_media(&mut ce).await;
    assert_eq!(header(&f).kid, 2);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn region_policy_and_pinning() {
    let r = relay(|c| c.region = "eu-west".into()).await;
    let opts = |allow: &[&str]| ConnectOptions {
        allow_regions: Some(allow.iter().map(|s| s.to_string()).collect()),
        ..ConnectOptions::default()
    };
    let refused = net::connect(
        r.addr,
        TrustAnchor::Sha256(r.cert_sha256),
        opts(&["us-east"]),
    )
    .await;
    match refused {
        Err(NetError::RegionRefused { region, .. }) => assert_eq!(region, "eu-west"),
        other => panic!("expected RegionRefused, got {other:?}"),
    }
    let (ok, _e) = net::connect(
        r.addr,
        TrustAnchor::Sha256(r.cert_sha256),
        opts(&["us-east", "eu-west"]),
    )
    .await
    .unwrap();
    assert_eq!(ok.relay_region(), "eu-west");
    assert_eq!(ok.relay_mode(), hush_wire::RelayMode::E2ee);
    let mut wrong = r.cert_sha256;
    wrong[0] ^= 1;
    let bad = net::connect(
        r.addr,
        TrustAnchor::Sha256(wrong),
        ConnectOptions::default(),
    )
    .await;
    assert!(
        matches!(bad, Err(NetError::PinMismatch { expected, got }) if expected == wrong && got == r.cert_sha256),
        "{bad:?}"
    );
    // Nobody who was refused ever joined anything.
    assert_eq!(r.handle.stats().participants_open, 0);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn report_and_dump_list_what_happened_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("hush-relay-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.txt");
    let dump = dir.join("dump");
    let (rp, dp) = (report.clone(), dump.clone());
    let r = relay(move |c| {
        c.report_file = Some(rp);
        c.dump_dir = Some(dp);
        c.region = "test-region".into();
    })
    .await;
    let (a, _ae) = client(&r).await;
    let (b, mut be) = client(&r).await;
    let ja = a.join("meeting-1").await.unwrap();
    let jb = b.join("meeting-1").await.unwrap();
    let mut sent = Vec::new();
    for ctr in 10..15 {
        let f = frame(3, ctr, 300, 0xab);
        a.send_media(f.clone()).await.unwrap();
        sent.push(f);
    }
    a.send_blob(Target::All, Bytes::from_static(b"SECRET-DISPLAY-NAME"))
        .await
        .unwrap();
    for _ in 0..5 {
        next_media(&mut be).await;
    }
    a.leave().await.unwrap();
    r.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("region \"test-region\""), "{text}");
    assert!(text.contains("room \"meeting-1\""), "{text}");
    assert!(
        text.contains(&format!("participant {}", ja.your_id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("participant {}", jb.your_id)),
        "{text}"
    );
    assert!(text.contains("kid 0x3: ctr 10..=14 (5 frames)"), "{text}");
    assert!(text.contains("media in: 5 frames, 1510 bytes"), "{text}");
    assert!(text.contains("1 to all"), "{text}");
    assert!(text.contains("left: "), "{text}");
    assert!(text.contains("127.0.0.1:"), "{text}");
    assert!(
        !text.contains("SECRET"),
        "blob contents never in the report"
    );
    assert_eq!(
        text.matches("room \"").count(),
        1,
        "only the room the test used"
    );
    assert_eq!(text.matches("  participant ").count(), 2);

    let media = hush_relay::dump::dump_path(&dump, "meeting-1", ja.your_id, "media");
    let recs = hush_relay::dump::read_records(&media).unwrap();
    assert_eq!(recs, sent.iter().map(|f| f.to_vec()).collect::<Vec<_>>());
    let blobs = hush_relay::dump::dump_path(&dump, "meeting-1", ja.your_id, "blobs");
    assert_eq!(
        hush_relay::dump::read_records(&blobs).unwrap(),
        vec![b"SECRET-DISPLAY-NAME".to_vec()]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn metrics_endpoint_serves_prometheus_text() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = relay(|c| c.metrics = Some("127.0.0.1:0".parse().unwrap())).await;
    let (a, _ae) = client(&r).await;
    a.join("m").await.unwrap();
    a.send_media(frame(1, 0, 10, 0)).await.unwrap();
    let addr = r.metrics_addr.unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        text.clear();
        s.read_to_string(&mut text).await.unwrap();
        if text.contains("hush_frames_in_total 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("hush_frames_in_total 1"), "{text}");
    assert!(text.contains("hush_rooms_open 1"), "{text}");
    assert!(
        text.contains("hush_closes_total{reason=\"rate_limited\"} 0"),
        "{text}"
    );
    r.shutdown().await.unwrap();
}
