//! Sender authentication (issue 15, SPEC §14): a member holds every sender's SFrame key of the
//! epoch, so before §14 it could write media, chat and files in anyone's name. Here Mallory, an
//! admitted member with the test hook that keeps the other members' keys, forges the host's
//! media and data directly and through a hostile relay; every other client refuses each forgery
//! (or, for media delivered before the host's vouch, reports it when the vouch arrives), names
//! the host as the claimed sender, and keeps delivering the host's genuine frames.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use hush_client::{
    ClientRole, DataKind, Forge, Forgery, Meeting, MeetingEvent, MeetingEvents, SenderAuth,
};
use hush_testkit::{HostileRelay, Out};
use hush_wire::ParticipantId;
use support::*;

fn pid(m: &Meeting) -> ParticipantId {
    ParticipantId(m.relay_id().unwrap())
}

/// Host, Mallory (the forger) and two receivers, all keyed in one epoch.
struct Scene {
    relay: HostileRelay,
    host: Meeting,
    mallory: Meeting,
    rx: Vec<(Meeting, MeetingEvents)>,
    _keep: Vec<MeetingEvents>,
}

async fn scene(room: &str) -> Scene {
    let relay = HostileRelay::start().await.unwrap();
    let cfg = |name: &str, role| {
        let mut c = config(relay.addr(), relay.pin(), room, name, role);
        c.sender_auth = true;
        c
    };
    let (host, mut hev) = join(cfg("Host", host_role())).await;
    let mut m = cfg("Mallory", ClientRole::Guest);
    m.test_forger = true;
    let (mallory, mut mev) = join(m).await;
    wait_members(&mallory, &mut mev, 2).await;
    let mut rx = Vec::new();
    for (i, name) in ["Bob", "Alice"].into_iter().enumerate() {
        let (g, mut gev) = join(cfg(name, ClientRole::Guest)).await;
        let code = wait_members(&g, &mut gev, 3 + i).await;
        assert_eq!(wait_members(&host, &mut hev, 3 + i).await, code);
        assert_eq!(wait_members(&mallory, &mut mev, 3 + i).await, code);
        for (r, ev) in rx.iter_mut() {
            assert_eq!(wait_members(r, ev, 3 + i).await, code);
        }
        rx.push((g, gev));
    }
    Scene {
        relay,
        host,
        mallory,
        rx,
        _keep: vec![hev, mev],
    }
}

/// The next forgery `events` reports.
async fn forgery(events: &mut MeetingEvents) -> Forgery {
    wait_for(events, |e| match e {
        MeetingEvent::Forged(f) => Some(f.clone()),
        MeetingEvent::Data(d) if d.payload.starts_with(b"forged") => {
            panic!(
                "a forgery was delivered as {:?} data from {}",
                d.kind, d.sender_name
            )
        }
        _ => None,
    })
    .await
}

/// Waits for the media frame with `payload`; returns its counter and authentication.
async fn media(events: &mut MeetingEvents, payload: &[u8]) -> (u64, SenderAuth) {
    let f = wait_media(events, payload).await;
    (f.ctr, f.auth)
}

fn assert_names_host(f: &Forgery, host: &Meeting, what: &str, delivered: bool) {
    let me = host.roster().unwrap();
    let host_entry = &me.members[usize::from(me.my_index)];
    assert_eq!(f.sender, me.my_index);
    assert_eq!(&*f.sender_name, "Host");
    assert_eq!(f.sender_identity, Some(host_entry.identity));
    assert_eq!((f.what, f.delivered), (what, delivered), "{f}");
    assert!(f.to_string().contains("in the name of \"Host\""), "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_forging_the_hosts_media_is_caught_and_the_host_keeps_being_heard() {
    let mut s = scene("forge-media").await;
    let victim = s.host.roster().unwrap().my_index;
    for i in 0..3 {
        send(&s.host, format!("h-{i}").as_bytes()).await;
    }
    for (_, ev) in s.rx.iter_mut() {
        for i in 0..3 {
            assert_eq!(
                media(ev, format!("h-{i}").as_bytes()).await.1,
                SenderAuth::Pending
            );
        }
    }
    // The host vouches within 1 s (nothing more to send): the three are confirmed.
    for (r, _) in &s.rx {
        wait_stat(r, "media_confirmed", |st| st.media_confirmed, 3).await;
    }

    // 1. Another frame under a counter the host vouched for: refused before delivery.
    let forged = s
        .mallory
        .forge(
            victim,
            Forge::Media {
                ctr: 1,
                payload: b"forged-1".to_vec(),
            },
        )
        .unwrap();
    s.mallory.send_raw(true, forged).await.unwrap();
    for (_, ev) in s.rx.iter_mut() {
        let f = forgery(ev).await;
        assert_names_host(&f, &s.host, "media frame", false);
        assert_eq!(f.ctr, 1);
    }

    // 2. The counter-poisoning attack: CTR 2^64 - 1 under the host's key. Refused; it moves
    //    nothing, and the host's next frame is delivered (and was not "too old").
    let before: Vec<u64> =
        s.rx.iter()
            .map(|(r, _)| r.stats().refused_unvouched)
            .collect();
    let poison = s
        .mallory
        .forge(
            victim,
            Forge::Media {
                ctr: u64::MAX,
                payload: b"forged-max".to_vec(),
            },
        )
        .unwrap();
    s.mallory.send_raw(true, poison).await.unwrap();
    for ((r, _), b) in s.rx.iter().zip(before) {
        wait_stat(r, "refused_unvouched", |st| st.refused_unvouched, b + 1).await;
    }
    send(&s.host, b"h-3").await;
    let mut next = Vec::new();
    for (_, ev) in s.rx.iter_mut() {
        next.push(media(ev, b"h-3").await.0);
    }

    // 3. A forgery under the host's *next* counter, before the host uses it: delivered as
    //    pending (SPEC §14.4), the genuine frame under the same counter still delivered, and
    //    the host's vouch then names the forgery.
    let ctr = next[0] + 1;
    assert!(next.iter().all(|&c| c + 1 == ctr));
    let early = s
        .mallory
        .forge(
            victim,
            Forge::Media {
                ctr,
                payload: b"forged-early".to_vec(),
            },
        )
        .unwrap();
    s.mallory.send_raw(true, early).await.unwrap();
    for (_, ev) in s.rx.iter_mut() {
        assert_eq!(media(ev, b"forged-early").await, (ctr, SenderAuth::Pending));
    }
    send(&s.host, b"h-4").await;
    // The host goes quiet: its driver still vouches for h-3 and h-4 within 1 s, and each
    // receiver then names the forgery it delivered early (in whatever order the lanes give).
    for (_, ev) in s.rx.iter_mut() {
        let (mut genuine, mut named) = (None, None);
        wait_for(ev, |e| {
            match e {
                MeetingEvent::Media(f) if &f.payload[..] == b"h-4" => {
                    genuine = Some((f.ctr, f.auth));
                }
                MeetingEvent::Forged(f) => named = Some(f.clone()),
                _ => {}
            }
            (genuine.is_some() && named.is_some()).then_some(())
        })
        .await;
        assert_eq!(genuine, Some((ctr, SenderAuth::Pending)));
        let f = named.unwrap();
        assert_names_host(&f, &s.host, "media frame", true);
        assert_eq!(f.ctr, ctr);
    }
    // The host is still heard, and every forgery was counted.
    send(&s.host, b"h-5").await;
    for (r, ev) in s.rx.iter_mut() {
        media(ev, b"h-5").await;
        assert_eq!(r.stats().forged, 2, "{:?}", r.stats());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_forging_the_hosts_chat_and_file_chunks_is_refused_by_everyone() {
    let mut s = scene("forge-data").await;
    let victim = s.host.roster().unwrap().my_index;
    let forged = [
        // Unsigned (a pre-§14 data message): refused unopened, kind unknown.
        (DataKind::Chat, false, "data message"),
        // Signed, but with Mallory's own identity.
        (DataKind::Chat, true, "chat message"),
        (DataKind::FileChunk, true, "file chunk"),
        (DataKind::Reaction, true, "reaction"),
    ];
    for (i, (kind, signed, _)) in forged.iter().enumerate() {
        let blob = s
            .mallory
            .forge(
                victim,
                Forge::Data {
                    ctr: 1000 + i as u64,
                    kind: *kind,
                    payload: b"forged by mallory".to_vec(),
                    signed: *signed,
                },
            )
            .unwrap();
        s.mallory.send_raw(false, blob).await.unwrap();
    }
    for (_, ev) in s.rx.iter_mut() {
        for (_, _, what) in forged {
            assert_names_host(&forgery(ev).await, &s.host, what, false);
        }
    }
    // The host's own chat still arrives, under its name, after the forgeries.
    s.host.send_chat("the real host").await.unwrap();
    for (r, ev) in s.rx.iter_mut() {
        let d = wait_for(ev, |e| match e {
            MeetingEvent::Data(d) => Some(d.clone()),
            _ => None,
        })
        .await;
        assert_eq!(
            (&*d.sender_name, &d.payload[..]),
            ("Host", &b"the real host"[..])
        );
        assert_eq!(r.stats().forged, forged.len() as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgeries_a_hostile_relay_injects_in_the_hosts_name_are_refused() {
    let mut s = scene("forge-relay").await;
    let victim = s.host.roster().unwrap().my_index;
    send(&s.host, b"h-0").await;
    for (r, ev) in s.rx.iter_mut() {
        media(ev, b"h-0").await;
        wait_stat(r, "media_confirmed", |st| st.media_confirmed, 1).await;
    }
    // The relay colludes with Mallory: it delivers her forgeries as if the host had sent them
    // (for blobs it names the host's connection as the sender), to each receiver.
    let chat: Bytes = s
        .mallory
        .forge(
            victim,
            Forge::Data {
                ctr: 500,
                kind: DataKind::Chat,
                payload: b"forged via the relay".to_vec(),
                signed: true,
            },
        )
        .unwrap();
    let frame = s
        .mallory
        .forge(
            victim,
            Forge::Media {
                ctr: 0,
                payload: b"forged-0".to_vec(),
            },
        )
        .unwrap();
    let host = pid(&s.host);
    let outs = s.rx.iter().flat_map(|(r, _)| {
        [
            Out::Blob {
                to: pid(r),
                from: host,
                bytes: chat.clone(),
            },
            Out::Media {
                to: pid(r),
                bytes: frame.clone(),
            },
        ]
    });
    s.relay.inject(outs.collect::<Vec<_>>());
    for (_, ev) in s.rx.iter_mut() {
        let mut got = [forgery(ev).await, forgery(ev).await];
        got.sort_by_key(|f| f.what);
        assert_names_host(&got[0], &s.host, "chat message", false);
        assert_names_host(&got[1], &s.host, "media frame", false);
    }
    send(&s.host, b"h-1").await;
    for (_, ev) in s.rx.iter_mut() {
        media(ev, b"h-1").await;
    }
}
