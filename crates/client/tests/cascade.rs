//! Relays in a cascade (SPEC §15): participants of one room on different relays are in one
//! meeting, each frame crosses a link once, no relay holds plaintext, and only a relay of the
//! cluster can open a link.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use hush_client::{ClientRole, DataKind, MeetingEvent};
use hush_relay::{ClusterConfig, PeerAddr, RelayConfig};

const SECRET: &[u8] = b"cascade-test cluster secret 0123";

fn cluster(name: &str, peers: Vec<PeerAddr>) -> impl FnOnce(&mut RelayConfig) {
    let name = name.to_owned();
    move |c: &mut RelayConfig| {
        c.cluster = Some(ClusterConfig {
            name,
            secret: SECRET.to_vec(),
            peers,
            directory: None,
        });
    }
}

fn peer_of(r: &TestRelay) -> PeerAddr {
    PeerAddr {
        addr: r.addr,
        pin: r.pin,
    }
}

/// Three relays, linked in a full mesh (c dials a and b, b dials a).
async fn three() -> (TestRelay, TestRelay, TestRelay) {
    let a = TestRelay::start_with(cluster("relay-a", vec![])).await;
    let b = TestRelay::start_with(cluster("relay-b", vec![peer_of(&a)])).await;
    let c = TestRelay::start_with(cluster("relay-c", vec![peer_of(&a), peer_of(&b)])).await;
    for r in [&a, &b, &c] {
        wait_links(r, 2, |_| true).await;
    }
    (a, b, c)
}

#[tokio::test]
async fn one_meeting_across_three_relays_media_and_data_each_way_once_and_no_plaintext() {
    let (mut a, mut b, mut c) = three().await;
    let room = "cascade";
    let (host, mut hev) = join(a.config(room, "Hanna Hostname", host_role())).await;
    let (g1, mut g1ev) = join(b.config(room, "Gustav Guestname", ClientRole::Guest)).await;
    let (g2, mut g2ev) = join(c.config(room, "Greta Guestname", ClientRole::Guest)).await;
    let code_h = wait_members(&host, &mut hev, 3).await;
    let code_1 = wait_members(&g1, &mut g1ev, 3).await;
    let code_2 = wait_members(&g2, &mut g2ev, 3).await;
    assert_eq!(code_h, code_1);
    assert_eq!(code_h, code_2);
    // Each relay reports the room on both its links.
    for r in [&a, &b, &c] {
        wait_links(r, 2, |l| l.rooms == [room.to_owned()]).await;
    }

    let from_host = b"KNOWN-PLAINTEXT-cascade-from-the-host";
    let from_g2 = b"KNOWN-PLAINTEXT-cascade-from-relay-c";
    let big = vec![0x5au8; 20_000]; // larger than a datagram: a stream on every hop
    host.send_media(&mut BytesMut::from(&from_host[..]))
        .await
        .unwrap();
    host.send_media(&mut BytesMut::from(&big[..]))
        .await
        .unwrap();
    g2.send_media(&mut BytesMut::from(&from_g2[..]))
        .await
        .unwrap();
    // The big frame takes a stream on every hop: the datagrams may overtake it.
    let got = wait_media_all(&mut g1ev, &[&from_host[..], &big, &from_g2[..]]).await;
    assert_eq!(&*got[0].sender_name, "Hanna Hostname");
    assert_eq!(&*got[2].sender_name, "Greta Guestname");
    wait_media_all(&mut g2ev, &[&from_host[..], &big]).await;
    let f = wait_media(&mut hev, from_g2).await;
    assert_eq!(&*f.sender_name, "Greta Guestname");

    g1.send_chat("KNOWN-CHAT-across the cascade").await.unwrap();
    for ev in [&mut hev, &mut g2ev] {
        let d = wait_for(ev, |e| match e {
            MeetingEvent::Data(d) if d.kind == DataKind::Chat => Some(d.clone()),
            _ => None,
        })
        .await;
        assert_eq!(&d.payload[..], b"KNOWN-CHAT-across the cascade");
        assert_eq!(&*d.sender_name, "Gustav Guestname");
    }

    // No frame is delivered twice: each receiver opened each of the three frames once (a second
    // copy would be refused as a replay and counted).
    tokio::time::sleep(Duration::from_millis(300)).await;
    for m in [&g1, &g2] {
        let s = m.stats();
        assert_eq!(s.refused_replay, 0, "{s:?}");
    }
    assert_eq!(host.stats().refused_replay, 0);

    // A departure on one relay reaches the others: the remaining two rekey to a roster of two.
    g2.leave().await.unwrap();
    let code_h2 = wait_members(&host, &mut hev, 2).await;
    let code_12 = wait_members(&g1, &mut g1ev, 2).await;
    assert_eq!(code_h2, code_12);
    assert_ne!(code_h2, code_h);
    host.leave().await.unwrap();
    g1.leave().await.unwrap();

    no_relay_holds(
        [&mut a, &mut b, &mut c],
        &[
            &from_host[..],
            &from_g2[..],
            b"KNOWN-CHAT",
            b"Hanna Hostname",
            b"Gustav Guestname",
            &big[..64],
        ],
    )
    .await;
}

#[tokio::test]
async fn two_relays_one_meeting_and_a_relay_that_goes_away_takes_its_participants() {
    let a = TestRelay::start_with(cluster("relay-a", vec![])).await;
    let mut b = TestRelay::start_with(cluster("relay-b", vec![peer_of(&a)])).await;
    wait_links(&a, 1, |_| true).await;
    let (host, mut hev) = join(a.config("r", "Hanna", host_role())).await;
    let (guest, mut gev) = join(b.config("r", "Gustav", ClientRole::Guest)).await;
    let code_h = wait_members(&host, &mut hev, 2).await;
    let code_g = wait_members(&guest, &mut gev, 2).await;
    assert_eq!(code_h, code_g);
    host.send_media(&mut BytesMut::from(&b"a-to-b"[..]))
        .await
        .unwrap();
    guest
        .send_media(&mut BytesMut::from(&b"b-to-a"[..]))
        .await
        .unwrap();
    wait_media(&mut gev, b"a-to-b").await;
    wait_media(&mut hev, b"b-to-a").await;
    guest.send_chat("over the link").await.unwrap();
    wait_for(&mut hev, |e| match e {
        MeetingEvent::Data(d) if d.kind == DataKind::Chat => Some(()),
        _ => None,
    })
    .await;
    // Relay b stops: relay a drops the link and its participants, and the host rekeys alone.
    b.stop_and_read_everything().await;
    wait_links(&a, 0, |_| true).await;
    wait_for(&mut hev, |e| match e {
        MeetingEvent::RosterChanged(v) if v.members.len() == 1 => Some(()),
        _ => None,
    })
    .await;
    host.leave().await.unwrap();
}

#[tokio::test]
async fn hostile_only_a_relay_with_the_cluster_secret_and_pin_can_open_a_link() {
    let a = TestRelay::start_with(cluster("relay-a", vec![])).await;
    // Same name space, wrong secret: refused, and relay a lists no link.
    let to_a = peer_of(&a);
    let wrong = TestRelay::start_with(move |c: &mut RelayConfig| {
        c.cluster = Some(ClusterConfig {
            name: "relay-x".into(),
            secret: b"not the cluster secret at all!!".to_vec(),
            peers: vec![to_a],
            directory: None,
        });
    })
    .await;
    // A relay without a cluster refuses links too.
    let lone = TestRelay::start().await;
    let dialer = TestRelay::start_with(cluster("relay-d", vec![peer_of(&lone)])).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        handle(&a).peer_links().is_empty(),
        "{:?}",
        handle(&a).peer_links()
    );
    assert!(handle(&wrong).peer_links().is_empty());
    assert!(handle(&lone).peer_links().is_empty());
    assert!(handle(&dialer).peer_links().is_empty());
    // And a wrong pin: the dialler refuses the acceptor (no link on either side).
    let mut bad_pin = peer_of(&a);
    bad_pin.pin[0] ^= 1;
    let pinned = TestRelay::start_with(cluster("relay-p", vec![bad_pin])).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(handle(&a).peer_links().is_empty());
    assert!(handle(&pinned).peer_links().is_empty());
}

/// Without a directory the relays still keep the geofence on what they know: a relay refuses a
/// join that would carry the room in a region a participant on another relay does not allow
/// (its policy comes with its `Joined` on the link).
#[tokio::test]
async fn a_static_cascade_keeps_the_geofence_it_knows_of() {
    fn in_region(name: &str, region: &str, peers: Vec<PeerAddr>) -> impl FnOnce(&mut RelayConfig) {
        let (set, region) = (cluster(name, peers), region.to_owned());
        move |c: &mut RelayConfig| {
            set(c);
            c.region = region;
        }
    }
    let eu = TestRelay::start_with(in_region("relay-eu", "eu", vec![])).await;
    let us = TestRelay::start_with(in_region("relay-us", "us", vec![peer_of(&eu)])).await;
    wait_links(&eu, 1, |_| true).await;
    let mut cfg = eu.config("fenced", "Hanna", host_role());
    cfg.allow_regions = Some(vec!["eu".into()]);
    let (host, mut hev) = join(cfg).await;
    wait_members(&host, &mut hev, 1).await;
    wait_links(&us, 1, |l| l.rooms == ["fenced".to_owned()]).await;
    let e = match hush_client::Meeting::join(us.config("fenced", "Gustav", ClientRole::Guest)).await
    {
        Ok(_) => panic!("joined through a region the host does not allow"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("region_refused") && e.contains("allows only regions [eu]"),
        "{e}"
    );
    // A joiner on the eu relay is fine.
    let (g, mut gev) = join(eu.config("fenced", "Gustav", ClientRole::Guest)).await;
    wait_members(&g, &mut gev, 2).await;
}

/// A partition between two relays: the link dies (idle timeout) and each side's participants
/// leave the other's meeting; when it heals the relay dials again, the meeting rekeys across
/// both, and every frame afterwards is delivered exactly once.
#[tokio::test]
async fn a_partition_that_heals_delivers_nothing_twice() {
    let a = TestRelay::start_with(cluster("relay-a", vec![])).await;
    let path = hush_testkit::udp_proxy::UdpProxy::start(a.addr)
        .await
        .unwrap();
    let via_proxy = PeerAddr {
        addr: path.addr,
        pin: a.pin,
    };
    let b = TestRelay::start_with(cluster("relay-b", vec![via_proxy])).await;
    wait_links(&a, 1, |_| true).await;
    let (host, mut hev) = join(a.config("part", "Hanna", host_role())).await;
    let (guest, mut gev) = join(b.config("part", "Gustav", ClientRole::Guest)).await;
    let before = wait_members(&host, &mut hev, 2).await;
    assert_eq!(wait_members(&guest, &mut gev, 2).await, before);

    path.cut(true);
    // The link's idle timeout ends it on both sides; the host rekeys alone.
    wait_links(&a, 0, |_| true).await;
    wait_links(&b, 0, |_| true).await;
    wait_members(&host, &mut hev, 1).await;
    path.cut(false);
    wait_links(&a, 1, |l| l.rooms == ["part".to_owned()]).await;
    let after = wait_members(&host, &mut hev, 2).await;
    assert_eq!(wait_members(&guest, &mut gev, 2).await, after);
    assert_ne!(after, before, "a new epoch after the partition");

    const N: usize = 5;
    for i in 0..N {
        host.send_media(&mut BytesMut::from(format!("healed-{i}").as_bytes()))
            .await
            .unwrap();
    }
    let mut seen = vec![0usize; N];
    wait_for(&mut gev, |e| {
        if let MeetingEvent::Media(f) = e
            && let Some(i) = (0..N).find(|i| f.payload == format!("healed-{i}").as_bytes())
        {
            seen[i] += 1;
        }
        seen.iter().all(|n| *n >= 1).then_some(())
    })
    .await;
    // Anything delivered twice would arrive by now, and be refused as a replay.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(10), gev.recv()).await {
        if let MeetingEvent::Media(f) = e
            && let Some(i) = (0..N).find(|i| f.payload == format!("healed-{i}").as_bytes())
        {
            seen[i] += 1;
        }
    }
    assert_eq!(seen, vec![1; N], "each frame exactly once");
    assert_eq!(guest.stats().refused_replay, 0, "{:?}", guest.stats());
}
