//! What others in the room can make a client do, bounded (issue 10, items 2, 3, 4, 6 and 8d):
//! a non-member flooding the host, a host whose connection drops and comes back, an application
//! that never reads its events, a returning identity asking to become a connector, frames that
//! claim an epoch far in the future. Each test is the attack, run against the production relay
//! (or the hostile relay where the relay itself misbehaves), and asserts the outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use hush_client::{Admit, ClientRole, Meeting, MeetingEvent, MeetingEvents, Stats};
use hush_group::Identity;
use hush_testkit::HostileRelay;
use hush_testkit::attacker::{Attacker, Epoch, Move};
use hush_testkit::meeting::config;
use hush_wire::{ParticipantId, Target};
use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};

fn rng() -> StdRng {
    StdRng::try_from_rng(&mut SysRng).unwrap()
}

/// A non-member that joined `room` (its host `host_id`), for attacks of the test's own.
async fn intruder(addr: std::net::SocketAddr, pin: [u8; 32], room: &str, host_id: u64) -> Attacker {
    Attacker::connect(addr, pin, room, host_id).await.unwrap()
}

fn to(id: u64) -> Target {
    Target::Participant(ParticipantId(id))
}

/// A media frame with a valid SFrame header for `kid` and `len` bytes of junk.
fn frame(kid: u64, ctr: u64, len: usize) -> Bytes {
    hush_testkit::sframe_frame(kid, ctr, len, 0)
}

async fn wait_stat(m: &Meeting, what: &str, f: impl Fn(&Stats) -> u64, n: u64) {
    let deadline = Instant::now() + GUARD;
    while f(&m.stats()) < n {
        assert!(Instant::now() < deadline, "{what}: {:?}", m.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Item 3. Only the host's connection drops (the relay closes it) and the host comes back under
/// a new relay id. Before: the host's new roster listed only itself, the members that stayed
/// connected marked themselves removed and received nothing again, silently.
#[tokio::test]
async fn hostile_host_reconnect_keeps_the_members_that_stayed() {
    let relay = HostileRelay::start().await.unwrap();
    let (host, mut hev) = join(config(relay.addr(), relay.pin(), "hr", "Host", host_role())).await;
    let (guest, mut gev) = join(config(
        relay.addr(),
        relay.pin(),
        "hr",
        "Guest",
        ClientRole::Guest,
    ))
    .await;
    let before = wait_members(&guest, &mut gev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    let old_epoch = guest.epoch().unwrap();

    relay.disconnect(ParticipantId(host.relay_id().unwrap()));
    wait_for(&mut gev, |e| {
        matches!(e, MeetingEvent::HostAway { .. }).then_some(())
    })
    .await;
    wait_for(&mut hev, |e| {
        matches!(e, MeetingEvent::Reconnected).then_some(())
    })
    .await;
    let back = Instant::now();
    // Within 2 s of the host's return the member is in the new roster, with a new epoch.
    let code = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match gev.recv().await.unwrap() {
                MeetingEvent::Removed | MeetingEvent::Ended(_) => panic!("member stranded"),
                MeetingEvent::RosterChanged(v) if v.members.len() == 2 => break,
                _ => {}
            }
        }
    })
    .await
    .map(|()| guest.security_code().unwrap())
    .expect("the member was not back in the roster within 2 s of the host's return");
    assert!(back.elapsed() < Duration::from_secs(2));
    assert!(guest.epoch().unwrap() > old_epoch);
    assert_ne!(code, before);
    assert_eq!(host.security_code().unwrap(), code);
    assert_eq!(host.roster().unwrap().members.len(), 2);
    // Media flows again, both ways.
    host.send_media(&mut BytesMut::from(&b"after host reconnect"[..]))
        .await
        .unwrap();
    wait_media(&mut gev, b"after host reconnect").await;
    guest
        .send_media(&mut BytesMut::from(&b"and back"[..]))
        .await
        .unwrap();
    wait_media(&mut hev, b"and back").await;
}

/// Item 10 (host leaves): when the host is gone for good, members say so and the meeting ends
/// after a bounded time instead of staying on the last epoch forever.
#[tokio::test]
async fn hostile_members_end_the_meeting_when_the_host_never_returns() {
    let relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config("hl", "Host", host_role())).await;
    let mut cfg = relay.config("hl", "Guest", ClientRole::Guest);
    cfg.host_grace = Duration::from_millis(500);
    let (guest, mut gev) = join(cfg).await;
    wait_members(&guest, &mut gev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    let t = Instant::now();
    host.leave().await.unwrap();
    let grace = wait_for(&mut gev, |e| match e {
        MeetingEvent::HostAway { grace } => Some(*grace),
        _ => None,
    })
    .await;
    assert_eq!(grace, Duration::from_millis(500));
    let why = wait_for(&mut gev, |e| match e {
        MeetingEvent::Ended(why) => Some(why.to_string()),
        _ => None,
    })
    .await;
    assert!(t.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        why,
        "the host left the room and did not come back within 500 ms"
    );
    assert!(guest.epoch().is_none(), "keys erased");
    assert!(guest.wait_ready(Duration::from_secs(1)).await.is_err());
}

/// Item 4. The host sits at an admission prompt (it never reads its events) while a non-member
/// sends it 5000 junk blobs; a member's leave must still start a new epoch at once. Before: the
/// junk filled the host's one event queue and the key protocol waited behind it.
#[tokio::test]
async fn abuse_rekey_does_not_wait_for_an_application_that_does_not_read() {
    let relay = TestRelay::start().await;
    let ask = ClientRole::Host {
        admit: Admit::Ask,
        admit_connectors: false,
    };
    let (host, mut hev) = join(relay.config("rk", "Host", ask)).await;
    let mut guests: Vec<(Meeting, MeetingEvents)> = Vec::new();
    for (i, name) in ["A", "B"].iter().enumerate() {
        let g = join(relay.config("rk", name, ClientRole::Guest)).await;
        let id = wait_for(&mut hev, |e| match e {
            MeetingEvent::AdmissionRequest(r) => Some(r.relay_id),
            _ => None,
        })
        .await;
        host.admit(id, true).await.unwrap();
        guests.push(g);
        let n = i + 2;
        for (m, ev) in guests.iter_mut() {
            wait_members(m, ev, n).await;
        }
    }
    // A third joiner waits at the prompt forever; from now on the host reads no event.
    let (_waiting, _wev) = join(relay.config("rk", "C", ClientRole::Guest)).await;
    let host_id = host.relay_id().unwrap();
    let junk = intruder(relay.addr, relay.pin, "rk", host_id).await;
    for i in 0..5000u32 {
        junk.connection()
            .send_blob(to(host_id), Bytes::from(vec![0xEE; 64]))
            .await
            .unwrap();
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    wait_stat(&host, "junk refused", |s| s.refused_other, 5000).await;
    let (b, _) = guests.pop().unwrap();
    let (a, mut aev) = guests.pop().unwrap();
    let epoch = a.epoch().unwrap();
    let t = Instant::now();
    b.leave().await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), wait_members(&a, &mut aev, 2))
        .await
        .expect("no new epoch within 1 s of the leave");
    assert!(a.epoch().unwrap() > epoch, "{:?}", t.elapsed());
    // What the host did not read was dropped and counted, not queued without bound.
    let st = host.stats();
    assert!(st.dropped_events > 0, "{st:?}");
    assert!(hev.queued_bytes() <= 16 << 20);
}

/// Item 6. An identity admitted once as a participant comes back with the connector role: it
/// needs the same consent as a new connector. Before: admitted at once, in auto mode without
/// `admit_connectors`, and in ask mode without a prompt.
#[tokio::test]
async fn hostile_returning_participant_cannot_become_a_connector_without_consent() {
    for admit in [Admit::Auto, Admit::Ask] {
        let relay = TestRelay::start().await;
        let role = ClientRole::Host {
            admit,
            admit_connectors: false,
        };
        let (host, mut hev) = join(relay.config("cc", "Host", role)).await;
        let identity = Identity::generate(&mut rng());
        let (guest, mut gev) = join(
            relay
                .config("cc", "Pat", ClientRole::Guest)
                .with_identity(identity.clone()),
        )
        .await;
        if admit == Admit::Ask {
            let id = wait_for(&mut hev, |e| match e {
                MeetingEvent::AdmissionRequest(r) => Some(r.relay_id),
                _ => None,
            })
            .await;
            host.admit(id, true).await.unwrap();
        }
        wait_members(&guest, &mut gev, 2).await;
        wait_members(&host, &mut hev, 2).await;
        guest.leave().await.unwrap();
        wait_members(&host, &mut hev, 1).await;

        let (conn, _cev) = join(
            relay
                .config("cc", "Pat", ClientRole::Connector)
                .with_identity(identity),
        )
        .await;
        if admit == Admit::Ask {
            // The host is asked, and told it is a connector.
            let role = wait_for(&mut hev, |e| match e {
                MeetingEvent::AdmissionRequest(r) => Some(r.role),
                MeetingEvent::RosterChanged(v) if v.members.len() > 1 => {
                    panic!("admitted without a prompt")
                }
                _ => None,
            })
            .await;
            assert_eq!(role, hush_group::Role::Connector);
        }
        assert!(
            conn.wait_ready(Duration::from_millis(1500)).await.is_err(),
            "{admit:?}: a returning identity became a connector without consent"
        );
        assert_eq!(host.roster().unwrap().members.len(), 1);
    }
}

/// Item 8d. A non-member sends frames whose KID claims epoch 2^47: before, every member held
/// them (up to 1024 frames of 256 KiB) forever, waiting for an epoch that never comes. Now only
/// the next epoch's frames wait, within a byte budget.
#[tokio::test]
async fn abuse_frames_for_far_future_epochs_are_not_held() {
    let relay = TestRelay::start().await;
    let (host, mut hev) = join(relay.config("ff", "Host", host_role())).await;
    let (guest, mut gev) = join(relay.config("ff", "Guest", ClientRole::Guest)).await;
    wait_members(&guest, &mut gev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    let epoch = guest.epoch().unwrap();
    let non_member = intruder(relay.addr, relay.pin, "ff", host.relay_id().unwrap()).await;
    let attacker = non_member.connection();
    let far = hush_group::kid(1 << 47, 0);
    let next = hush_group::kid(epoch + 1, 0);
    let before = guest.stats();
    for i in 0..1000u64 {
        attacker.send_media(frame(far, i, 900)).await.unwrap();
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }
    wait_stat(
        &guest,
        "far-future frames refused",
        |s| s.refused_unknown_kid,
        before.refused_unknown_kid + 1000,
    )
    .await;
    assert_eq!(guest.stats().future_queued_bytes, 0);
    // Frames for the next epoch wait, but only up to the byte budget (1 MiB).
    for i in 0..1500u64 {
        attacker.send_media(frame(next, i, 1000)).await.unwrap();
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }
    wait_stat(&guest, "next-epoch frames dropped", |s| s.dropped_future, 1).await;
    let st = guest.stats();
    assert!(st.future_queued_bytes <= 1 << 20, "{st:?}");
    assert!(st.future_queued_bytes > 0, "{st:?}");
    // The next real epoch opens the real frames; the forged ones fail their tag.
    host.rekey().await.unwrap();
    wait_stat(
        &guest,
        "queue released",
        |s| u64::from(s.future_queued_bytes == 0),
        1,
    )
    .await;
    host.send_media(&mut BytesMut::from(&b"still fine"[..]))
        .await
        .unwrap();
    wait_media(&mut gev, b"still fine").await;
}

/// One non-member doing everything it can inside its relay budget: group `Hello`s to the host
/// and to everyone, valid join requests under fresh identities, junk blobs, garbage frames.
const FLOOD: [(usize, Move); 5] = [
    (5, Move::HelloToHost),
    (1, Move::HelloToAll),
    (1, Move::JoinRequest),
    (
        1,
        Move::Junk {
            len: 600,
            fill: 0x01,
        },
    ),
    (
        2,
        Move::Frame {
            epoch: Epoch::Fixed(1),
            len: 300,
        },
    ),
];

async fn flood(
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    room: &str,
    host_id: u64,
    until: Instant,
) {
    let mut attacker = Attacker::connect(addr, pin, room, host_id).await.unwrap();
    // Get the roster once to make valid join requests.
    if attacker.fetch_roster().await {
        attacker.run(&FLOOD, until).await;
    }
}

/// Item 2: one and ten attackers beside a 1 → 2 meeting at 50 fps, with per-connection budgets
/// sized for audio clients. Before: the host answered every `Hello` with its roster on its own
/// budget and the relay closed it for `RATE_LIMITED` again and again.
async fn flood_beside_a_meeting(attackers: usize) {
    let relay = TestRelay::start_with(|c| {
        c.limits.frames_per_second = 250;
        c.limits.bytes_per_second = 262_144;
    })
    .await;
    let (host, mut hev) = join(relay.config("fl", "Host", host_role())).await;
    let (guest, mut gev) = join(relay.config("fl", "Guest", ClientRole::Guest)).await;
    wait_members(&guest, &mut gev, 2).await;
    wait_members(&host, &mut hev, 2).await;
    let host_id = host.relay_id().unwrap();
    let secs = 4;
    let until = Instant::now() + Duration::from_secs(secs);
    let mut floods = Vec::new();
    for _ in 0..attackers {
        floods.push(tokio::spawn(flood(
            relay.addr, relay.pin, "fl", host_id, until,
        )));
    }
    let received = tokio::spawn(async move {
        let mut got = std::collections::BTreeSet::new();
        let end = until + Duration::from_secs(3);
        while let Ok(Some(ev)) = tokio::time::timeout_at(end.into(), gev.recv()).await {
            if let MeetingEvent::Media(f) = ev
                && let Some(seq) = f.payload.strip_prefix(b"honest ")
            {
                got.insert(seq.to_vec());
            }
        }
        got.len()
    });
    let mut sent = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while Instant::now() < until {
        tick.tick().await;
        let mut b = BytesMut::from(format!("honest {sent:08}").as_bytes());
        b.resize(160, 0);
        if host.send_media(&mut b).await.is_ok() {
            sent += 1;
        }
    }
    for f in floods {
        f.await.unwrap();
    }
    let got = received.await.unwrap();
    let mut closed = Vec::new();
    while let Ok(ev) = hev.try_recv() {
        if let MeetingEvent::Disconnected { reason, .. } = ev {
            closed.push(reason);
        }
    }
    assert!(
        closed.is_empty(),
        "{attackers} attackers: host closed: {closed:?}"
    );
    // (The test process itself may be starved on a busy machine: what counts is the loss.)
    assert!(sent >= 100, "sent {sent}");
    let lost = sent - got.min(sent);
    assert!(
        lost * 100 < sent,
        "{attackers} attackers: lost {lost} of {sent} honest frames; guest {:?}; host {:?}",
        guest.stats(),
        host.stats()
    );
}

#[tokio::test]
async fn abuse_one_non_member_flooding_the_host_costs_it_nothing_visible() {
    flood_beside_a_meeting(1).await;
}

#[tokio::test]
async fn abuse_ten_non_members_flooding_the_host_cost_it_nothing_visible() {
    flood_beside_a_meeting(10).await;
}
