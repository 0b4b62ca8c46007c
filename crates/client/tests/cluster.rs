//! A cluster on a real `redis-server` (SPEC §15.7): relays find each other in the directory and
//! carry one meeting between them, every join is checked there against the geofence of the
//! whole room, and a directory that goes away stops nothing that runs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use hush_client::{ClientRole, Meeting, MeetingConfig};
use hush_relay::{ClusterConfig, DirectoryConfig, RelayConfig};
use hush_testkit::redis::RedisServer;

/// A relay of the directory cluster at `url`, named `name`, in `region`; the cluster secret is
/// the one the directory keeps.
async fn relay(url: &str, name: &str, region: &str) -> TestRelay {
    let (url, name, region) = (url.to_owned(), name.to_owned(), region.to_owned());
    TestRelay::start_with(move |c: &mut RelayConfig| {
        c.region = region;
        c.cluster = Some(ClusterConfig {
            name,
            secret: Vec::new(),
            peers: Vec::new(),
            directory: Some(DirectoryConfig {
                url,
                advertise: None,
            }),
        });
    })
    .await
}

/// Waits until `redis` answers `args` with a reply for which `f` holds.
async fn wait_redis(redis: &RedisServer, args: &[&str], f: impl Fn(&str) -> bool) -> String {
    tokio::time::timeout(GUARD, async {
        loop {
            if let Some(r) = redis.command(args)
                && f(&r)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "redis never answered {args:?} as expected: {:?}",
            redis.command(args)
        )
    })
}

fn within(mut cfg: MeetingConfig, regions: &[&str]) -> MeetingConfig {
    cfg.allow_regions = Some(regions.iter().map(|s| s.to_string()).collect());
    cfg
}

/// The error a join that must be refused gets.
async fn refused(cfg: MeetingConfig, what: &str) -> String {
    match Meeting::join(cfg).await {
        Ok(_) => panic!("admitted: {what}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn relays_find_each_other_in_the_directory_and_carry_one_meeting() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let a = relay(&redis.url(), "relay-a", "eu").await;
    let b = relay(&redis.url(), "relay-b", "eu").await;
    let c = relay(&redis.url(), "relay-c", "us").await;
    // Nobody was given a peer or a secret: the directory has both.
    for r in [&a, &b, &c] {
        wait_links(r, 2, |_| true).await;
    }
    let regions: Vec<String> = handle(&a)
        .peer_links()
        .iter()
        .map(|l| l.region.clone())
        .collect();
    assert!(regions.contains(&"us".to_owned()) && regions.contains(&"eu".to_owned()));
    let (host, mut hev) = join(a.config("dir", "Hanna", host_role())).await;
    let (g1, mut g1ev) = join(b.config("dir", "Gustav", ClientRole::Guest)).await;
    let (g2, mut g2ev) = join(c.config("dir", "Greta", ClientRole::Guest)).await;
    let code = wait_members(&host, &mut hev, 3).await;
    assert_eq!(wait_members(&g1, &mut g1ev, 3).await, code);
    assert_eq!(wait_members(&g2, &mut g2ev, 3).await, code);
    g2.send_media(&mut BytesMut::from(&b"from-c"[..]))
        .await
        .unwrap();
    host.send_media(&mut BytesMut::from(&b"from-a"[..]))
        .await
        .unwrap();
    wait_media_all(&mut g1ev, &[b"from-c", b"from-a"]).await;
    wait_media(&mut hev, b"from-c").await;
    wait_media(&mut g2ev, b"from-a").await;

    // Every client can say which relays carry its meeting (as the relays report it).
    let carried = |m: &Meeting| {
        let mut c = m.carriers();
        c.sort();
        c
    };
    let all = vec![
        ("relay-a".to_owned(), "eu".to_owned()),
        ("relay-b".to_owned(), "eu".to_owned()),
        ("relay-c".to_owned(), "us".to_owned()),
    ];
    tokio::time::timeout(GUARD, async {
        while [&host, &g1, &g2].iter().any(|m| carried(m) != all) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "carriers: {:?} {:?} {:?}",
            host.carriers(),
            g1.carriers(),
            g2.carriers()
        )
    });
    assert_eq!(g2.carriers()[0].0, "relay-c", "its own relay first");

    // The directory lists the three relays and the room's three carriers.
    let relays = redis.command(&["ZCARD", "hush:relays"]).unwrap();
    assert_eq!(relays.trim(), ":3", "{relays}");
    let room = wait_redis(&redis, &["HKEYS", "hush:room:dir"], |r| {
        r.contains("r:relay-c")
    })
    .await;
    for f in ["r:relay-a", "r:relay-b", "r:relay-c"] {
        assert!(room.contains(f), "{room}");
    }
    // Each relay's knowledge report lists its peer links, their regions and rooms.
    let report = handle(&a).report_text().unwrap();
    assert!(
        report.contains("cluster: this relay is \"relay-a\""),
        "{report}"
    );
    assert!(
        report.contains("peer link \"relay-c\": region \"us\""),
        "{report}"
    );
    assert!(report.contains("carries rooms [\"dir\"]"), "{report}");

    // A leave reaches the directory: the room loses relay c with its last participant.
    g2.leave().await.unwrap();
    wait_redis(&redis, &["HKEYS", "hush:room:dir"], |r| {
        !r.contains("r:relay-c")
    })
    .await;
    tokio::time::timeout(GUARD, async {
        while carried(&host) != all[..2] {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the host's relay reports relay c gone from the room");
    host.leave().await.unwrap();
    g1.leave().await.unwrap();
    wait_redis(&redis, &["EXISTS", "hush:room:dir"], |r| r.trim() == ":0").await;

    // Canary: three relays in two regions carried the meeting, and none of them holds a byte
    // of its plaintext (every relay dumps everything it forwarded).
    let (mut a, mut b, mut c) = (a, b, c);
    no_relay_holds(
        [&mut a, &mut b, &mut c],
        &[&b"from-c"[..], b"from-a", b"Hanna", b"Gustav", b"Greta"],
    )
    .await;
}

#[tokio::test]
async fn the_geofence_holds_across_the_cascade() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let eu = relay(&redis.url(), "relay-eu", "eu").await;
    let us = relay(&redis.url(), "relay-us", "us").await;
    wait_links(&eu, 1, |_| true).await;

    // A host who allows only eu: a guest on the us relay would route the meeting through us.
    let (host, mut hev) = join(within(eu.config("fence", "Hanna", host_role()), &["eu"])).await;
    wait_members(&host, &mut hev, 1).await;
    let e = refused(
        us.config("fence", "Gustav", ClientRole::Guest),
        "a join through a region the host does not allow",
    )
    .await;
    assert!(e.contains("region_refused"), "{e}");
    assert!(
        e.contains("allows only regions [eu]") && e.contains("\"us\""),
        "{e}"
    );
    // The same guest on the eu relay is fine.
    let (g, mut gev) = join(eu.config("fence", "Gustav", ClientRole::Guest)).await;
    assert_eq!(
        wait_members(&g, &mut gev, 2).await,
        wait_members(&host, &mut hev, 2).await
    );

    // The other way round: a room already carried in us and eu refuses a joiner who allows
    // only eu, naming the regions.
    let (u, mut uev) = join(us.config("wide", "Ursula", host_role())).await;
    wait_members(&u, &mut uev, 1).await;
    let (v, mut vev) = join(eu.config("wide", "Viktor", ClientRole::Guest)).await;
    wait_members(&v, &mut vev, 2).await;
    let e = refused(
        within(eu.config("wide", "Wanda", ClientRole::Guest), &["eu"]),
        "a join into a room carried outside the joiner's regions",
    )
    .await;
    assert!(
        e.contains("region_refused") && e.contains("[eu, us]"),
        "{e}"
    );
    // And a client still refuses a first relay outside its own policy, before any Join.
    let e = refused(
        within(us.config("else", "Xaver", ClientRole::Guest), &["eu"]),
        "a relay outside the client's regions",
    )
    .await;
    assert!(e.contains("not among the allowed regions"), "{e}");
    let room = redis.command(&["HKEYS", "hush:room:else"]).unwrap();
    assert!(
        !room.contains("relay-us"),
        "the relay never saw a Join: {room}"
    );
}

#[tokio::test]
async fn a_directory_that_goes_away_stops_no_meeting_and_the_relays_come_back_to_it() {
    let Some(mut redis) = RedisServer::start_or_skip() else {
        return;
    };
    let a = relay(&redis.url(), "relay-a", "eu").await;
    let b = relay(&redis.url(), "relay-b", "eu").await;
    wait_links(&a, 1, |_| true).await;
    let (host, mut hev) = join(a.config("on", "Hanna", host_role())).await;
    let (g, mut gev) = join(b.config("on", "Gustav", ClientRole::Guest)).await;
    wait_members(&host, &mut hev, 2).await;
    wait_members(&g, &mut gev, 2).await;

    redis.stop();
    // Running meetings keep flowing both ways.
    host.send_media(&mut BytesMut::from(&b"while-down-1"[..]))
        .await
        .unwrap();
    g.send_media(&mut BytesMut::from(&b"while-down-2"[..]))
        .await
        .unwrap();
    wait_media(&mut gev, b"while-down-1").await;
    wait_media(&mut hev, b"while-down-2").await;
    // A room new to a relay cannot be opened: a clear error. A room it carries takes joiners.
    let e = refused(
        a.config("new-room", "Nora", host_role()),
        "a new room while the directory is down",
    )
    .await;
    assert!(e.contains("directory_unavailable"), "{e}");
    assert!(e.contains("cluster directory is unreachable"), "{e}");
    let (late, mut lev) = join(a.config("on", "Lotte", ClientRole::Guest)).await;
    wait_members(&late, &mut lev, 3).await;
    assert!(
        handle(&a).report_text().unwrap().contains("UNREACHABLE"),
        "the report says the directory is down"
    );

    // The directory comes back empty: the relays reconnect, register again and rewrite what
    // they carry, the late joiner included.
    redis.restart().unwrap();
    wait_redis(&redis, &["ZCARD", "hush:relays"], |r| r.trim() == ":2").await;
    let room = wait_redis(&redis, &["HLEN", "hush:room:on"], |r| r.trim() == ":5").await;
    assert_eq!(room.trim(), ":5", "two carriers and three participants");
    let (n, mut nev) = join(a.config("new-room", "Nora", host_role())).await;
    wait_members(&n, &mut nev, 1).await;
    // Links survived the outage: the meeting still spans both relays.
    g.send_media(&mut BytesMut::from(&b"after"[..]))
        .await
        .unwrap();
    wait_media(&mut hev, b"after").await;
}

/// Every join on a directory relay is a call to Redis: one connection cannot turn its control
/// budget into directory load (joins are bounded per connection; the third in a burst is
/// refused, and the connection stays usable).
#[tokio::test]
async fn abuse_a_join_flood_on_one_connection_is_refused_not_forwarded_to_the_directory() {
    use hush_client::net::{self, ConnectOptions, NetError, TrustAnchor};
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let a = relay(&redis.url(), "relay-a", "eu").await;
    let (conn, _events) = net::connect(
        a.addr,
        TrustAnchor::Sha256(a.pin),
        ConnectOptions::default(),
    )
    .await
    .unwrap();
    let calls = |r: &RedisServer| {
        let info = r.command(&["INFO", "commandstats"]).unwrap();
        info.lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| {
                l.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum::<u64>()
    };
    conn.join("flood").await.unwrap();
    conn.leave().await.unwrap();
    conn.join("flood").await.unwrap();
    conn.leave().await.unwrap();
    let before = calls(&redis);
    let mut refused = 0;
    for _ in 0..20 {
        match conn.join("flood").await {
            Err(NetError::Refused { code, .. }) if code == hush_wire::ErrorCode::RATE_LIMITED => {
                refused += 1;
            }
            Ok(_) => conn.leave().await.unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused >= 18, "refused {refused} of 20");
    let admits = calls(&redis) - before;
    assert!(
        admits <= 6,
        "{admits} directory calls for 20 joins in a burst"
    );
    // After a pause the connection joins again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    conn.join("flood").await.unwrap();
}
