//! A cluster's faults (issue 16, SPEC §15.7): three real `hush relay` processes started exactly
//! as an operator would (`--cluster redis://… --region … --advertise …`) on a real
//! `redis-server`, one of them killed with `SIGKILL` mid-meeting. Its lease ends within 5 s,
//! its client moves to another relay of the cluster, the meeting rekeys and continues, and no
//! relay keeps a link to the dead one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use hush_client::{ClientRole, MeetingEvent};
use hush_testkit::redis::RedisServer;
use hush_testkit::{RelayProcess, SelfSigned, write_pem};
use support::*;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `hush relay` of the cluster on `redis`, with the deployment's certificate `pem`.
fn relay(
    redis: &RedisServer,
    name: &str,
    region: &str,
    pem: &(String, String),
    report: &Path,
) -> RelayProcess {
    let at = free_udp().to_string();
    let args: Vec<String> = [
        "--listen",
        &at,
        "--advertise",
        &at,
        "--cluster",
        &redis.url(),
        "--region",
        region,
        "--name",
        name,
        "--cert",
        &pem.0,
        "--key",
        &pem.1,
        "--idle-timeout",
        "3",
        "--drain-secs",
        "0",
        "--report-file",
        &report.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    RelayProcess::spawn(bin(), &args).unwrap()
}

/// Waits until `f` holds, polling; panics with `what` after the guard.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    tokio::time::timeout(GUARD, async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never: {what}"));
}

fn report(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_relay_leaves_the_directory_within_its_lease_and_its_clients_move() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let dir = TempDir::new("cluster-faults");
    let cert = SelfSigned::generate().unwrap();
    let pem = write_pem(&dir.0, &cert).unwrap();
    let rep = |n: &str| dir.0.join(format!("{n}.txt"));
    let a = relay(&redis, "relay-a", "eu", &pem, &rep("a"));
    let b = relay(&redis, "relay-b", "eu", &pem, &rep("b"));
    let mut c = relay(&redis, "relay-c", "us", &pem, &rep("c"));
    for r in ["a", "b", "c"] {
        until(&format!("relay {r} links to the two others"), || {
            report(&rep(r)).contains("2 peer link(s)")
        })
        .await;
    }
    // One certificate for the deployment: each client pins it and lists every relay.
    let cfg = |at: &RelayProcess, name: &str, role| {
        let mut c = config(at.addr, cert.sha256(), "failover", name, role);
        c.alternates = vec![a.addr, b.addr];
        c.reconnect_for = Duration::from_secs(20);
        c
    };
    let (host, mut hev) = join(cfg(&a, "Hanna", host_role())).await;
    let (g1, mut g1ev) = join(cfg(&b, "Gustav", ClientRole::Guest)).await;
    let (g2, mut g2ev) = join(cfg(&c, "Greta", ClientRole::Guest)).await;
    let before = wait_members(&host, &mut hev, 3).await;
    assert_eq!(wait_members(&g1, &mut g1ev, 3).await, before);
    assert_eq!(wait_members(&g2, &mut g2ev, 3).await, before);
    send(&g2, b"from-c-before").await;
    wait_media(&mut hev, b"from-c-before").await;

    // SIGKILL: relay c says nothing to anyone.
    c.kill();
    let killed = Instant::now();
    // Its lease ends: the directory drops it within 5 s (its key expires, a heartbeat of the
    // others expires its entry and its rooms).
    until("relay c's registration expires", || {
        redis
            .command(&["EXISTS", "hush:relay:relay-c"])
            .is_some_and(|r| r.trim() == ":0")
    })
    .await;
    let gone = killed.elapsed();
    assert!(
        gone <= hush_relay::DIRECTORY_LEASE + Duration::from_millis(1500),
        "the lease ended {gone:?} after the kill"
    );
    until("relay c is out of the relay list and the room", || {
        let listed = redis.command(&["ZRANGE", "hush:relays", "0", "-1"]);
        let room = redis.command(&["HKEYS", "hush:room:failover"]);
        listed.is_some_and(|l| !l.contains("relay-c"))
            && room.is_some_and(|r| !r.contains("relay-c"))
    })
    .await;
    // Greta moves to a relay of her list; the meeting rekeys with her and carries on.
    let moved = wait_for(&mut g2ev, |e| match e {
        MeetingEvent::Moved { relay, .. } => Some(*relay),
        _ => None,
    })
    .await;
    assert!(moved == a.addr || moved == b.addr, "{moved}");
    // Her return and the dead link's departure notice may reach the host in either order, so
    // the meeting may pass through more than one epoch: wait until all three agree on one.
    until(
        "the three agree on a new epoch of three after the move",
        || {
            let seen: Vec<(Option<usize>, Option<String>)> = [&host, &g1, &g2]
                .iter()
                .map(|m| (m.roster().map(|r| r.members.len()), m.security_code()))
                .collect();
            seen.iter().all(|(n, code)| {
                *n == Some(3)
                    && code.is_some()
                    && *code == seen[0].1
                    && code.as_deref() != Some(&before)
            })
        },
    )
    .await;
    send(&g2, b"from-c-after").await;
    send(&g1, b"from-b-after").await;
    wait_media(&mut hev, b"from-c-after").await;
    wait_media(&mut g2ev, b"from-b-after").await;
    // No relay keeps a link to the dead one.
    for r in ["a", "b"] {
        until(&format!("relay {r} drops its link to relay c"), || {
            let t = report(&rep(r));
            t.contains("1 peer link(s)") && !t.contains("peer link \"relay-c\"")
        })
        .await;
    }
    drop((a, b));
}
