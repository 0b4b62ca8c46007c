//! The hostile relay harness (issue 7, SPEC §1 threat model): real `hush_client::Meeting`
//! clients talk through `hush_testkit::HostileRelay`, which speaks the wire protocol but is told
//! to misbehave. One test per attack, each asserting the exact outcome: which error refused it,
//! or what was delivered. `cargo test hostile` runs exactly this set.
//!
//! Epochs are deterministic: the host alone is epoch 1 and each admitted guest starts one more.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use hush_client::{ClientRole, Meeting, MeetingEvent, MeetingEvents, Refusal};
use hush_frame::{FrameError, Header};
use hush_group::message::{RosterEntry, Signed, sign};
use hush_group::rand_core::CryptoRng;
use hush_group::{GroupError, Host, HostConfig, HostInput, Message, Outgoing, Role};
use hush_testkit::{Delivery, Fate, HostileRelay, Kind, Out};
use hush_wire::ParticipantId;
use support::*;

/// First byte of a sealed data message blob (SPEC §11.1).
const CLASS_DATA: u8 = 0xD1;
/// First byte of a signed sealed data message blob (sender authentication, SPEC §14.3): what
/// every client sends by default.
const CLASS_SIGNED_DATA: u8 = 0xD2;

fn pid(m: &Meeting) -> ParticipantId {
    ParticipantId(m.relay_id().unwrap())
}

/// A host and `guests` joined one after the other (epoch 1 + one per guest), all keyed.
async fn meeting(
    relay: &HostileRelay,
    room: &str,
    guests: &[&str],
) -> ((Meeting, MeetingEvents), Vec<(Meeting, MeetingEvents)>) {
    let mut host = join(config(relay.addr(), relay.pin(), room, "Host", host_role())).await;
    let mut out: Vec<(Meeting, MeetingEvents)> = Vec::new();
    for (i, name) in guests.iter().enumerate() {
        let n = i + 2;
        let mut g = join(config(
            relay.addr(),
            relay.pin(),
            room,
            name,
            ClientRole::Guest,
        ))
        .await;
        let code = wait_members(&g.0, &mut g.1, n).await;
        assert_eq!(wait_members(&host.0, &mut host.1, n).await, code);
        for (m, ev) in out.iter_mut() {
            assert_eq!(wait_members(m, ev, n).await, code);
        }
        out.push(g);
    }
    assert_eq!(host.0.epoch(), Some(guests.len() as u64 + 1));
    (host, out)
}

/// The first `n` deliveries matching `pred` get `f`; everything else passes.
fn first_n(
    n: usize,
    pred: impl Fn(&Delivery<'_>) -> bool + Send + 'static,
    mut f: impl FnMut(usize, &Delivery<'_>) -> Fate + Send + 'static,
) -> impl FnMut(&Delivery<'_>) -> Fate + Send + 'static {
    let mut seen = 0;
    move |d: &Delivery<'_>| {
        if seen < n && pred(d) {
            seen += 1;
            f(seen - 1, d)
        } else {
            Fate::Pass
        }
    }
}

/// Media frames from `from` to `to`.
fn media(from: ParticipantId, to: ParticipantId) -> impl Fn(&Delivery<'_>) -> bool + Send {
    move |d: &Delivery<'_>| d.kind == Kind::Media && d.from == from && d.to == to
}

/// Sealed data messages (signed or not) from `from` to `to`.
fn data(from: ParticipantId, to: ParticipantId) -> impl Fn(&Delivery<'_>) -> bool + Send {
    move |d: &Delivery<'_>| {
        d.kind == Kind::Blob
            && d.from == from
            && d.to == to
            && matches!(d.bytes.first(), Some(&(CLASS_DATA | CLASS_SIGNED_DATA)))
    }
}

/// Waits for a data-message refusal and returns the frame error.
async fn data_refused(ev: &mut MeetingEvents) -> FrameError {
    wait_for(ev, |e| match e {
        MeetingEvent::Refused {
            reason: Refusal::Data(f),
            ..
        } => Some(f.clone()),
        _ => None,
    })
    .await
}

/// Waits for a group-message refusal and returns the group error.
async fn group_refused(ev: &mut MeetingEvents) -> GroupError {
    wait_for(ev, |e| match e {
        MeetingEvent::Refused {
            reason: Refusal::Group(g),
            ..
        } => Some(g.clone()),
        _ => None,
    })
    .await
}

/// The last blob `from` sent that matches `pred`, from the relay's log.
fn last_blob(relay: &HostileRelay, from: ParticipantId, pred: impl Fn(&[u8]) -> bool) -> Bytes {
    relay
        .log()
        .into_iter()
        .rev()
        .find(|r| r.kind == Kind::Blob && r.from == from && pred(&r.bytes))
        .expect("no such blob in the log")
        .bytes
}

fn flip(bytes: &Bytes, pos: usize) -> Bytes {
    let mut b = bytes.to_vec();
    b[pos] ^= 0x01;
    b.into()
}

#[tokio::test]
async fn hostile_flip_bits() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "flip", &["G"]).await;
    let (guest, mut gev) = g.pop().unwrap();
    let (h, gid) = (pid(&host), pid(&guest));
    const N: usize = 9;
    // One bit flipped in the first N frames: after the header, in the middle, in the tag.
    relay.set_tamper(first_n(N, media(h, gid), |i, d| {
        let (_, hlen) = Header::decode(d.bytes).unwrap();
        let pos = [hlen, (hlen + d.bytes.len()) / 2, d.bytes.len() - 1][i % 3];
        Fate::Send(vec![Out::like(d, flip(d.bytes, pos))])
    }));
    let before = guest.stats();
    for i in 0..N {
        send(&host, format!("flipped-{i}").as_bytes()).await;
    }
    wait_stat(&guest, "refused_auth", |s| s.refused_auth, N as u64).await;
    let opened = sentinel(&host, &mut gev, "flip").await;
    let after = guest.stats();
    assert_eq!(after.refused_auth - before.refused_auth, N as u64);
    assert_eq!(
        after.media_opened - before.media_opened,
        1,
        "only the sentinel opened"
    );
    assert!(opened.is_empty(), "{opened:?}");

    // A data message with one bit flipped in its tag: refused with the exact frame error.
    relay.set_tamper(first_n(1, data(h, gid), |_, d| {
        Fate::Send(vec![Out::like(d, flip(d.bytes, d.bytes.len() - 1))])
    }));
    host.send_chat("flipped chat").await.unwrap();
    assert_eq!(data_refused(&mut gev).await, FrameError::Authentication);
    host.send_chat("clean chat").await.unwrap();
    let d = wait_for(&mut gev, |e| match e {
        MeetingEvent::Data(d) => Some(d.payload.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&d[..], b"clean chat");
}

#[tokio::test]
async fn hostile_replay_frame() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "replay", &["G"]).await;
    let (guest, mut gev) = g.pop().unwrap();
    let (h, gid) = (pid(&host), pid(&guest));
    const N: usize = 10;
    // Every frame delivered twice, the copy right behind the original.
    relay.set_tamper(first_n(N, media(h, gid), |_, d| {
        let o = Out::like(d, d.bytes.clone());
        Fate::Send(vec![o.clone(), o])
    }));
    let before = guest.stats();
    for i in 0..N {
        send(&host, format!("once-{i}").as_bytes()).await;
    }
    wait_stat(&guest, "refused_replay", |s| s.refused_replay, N as u64).await;
    let mut got = sentinel(&host, &mut gev, "replay").await;
    let after = guest.stats();
    assert_eq!(after.refused_replay - before.refused_replay, N as u64);
    assert_eq!(after.media_opened - before.media_opened, N as u64 + 1);
    got.sort();
    let mut want: Vec<Bytes> = (0..N).map(|i| format!("once-{i}").into()).collect();
    want.sort();
    // Each frame opened exactly once (the sentinel was consumed by the wait).
    assert_eq!(got, want);

    // A replayed data message: the copy is refused as a replay.
    relay.set_tamper(first_n(1, data(h, gid), |_, d| {
        let o = Out::like(d, d.bytes.clone());
        Fate::Send(vec![o.clone(), o])
    }));
    host.send_chat("said once").await.unwrap();
    assert!(matches!(
        data_refused(&mut gev).await,
        FrameError::Replay { .. }
    ));
}

#[tokio::test]
async fn hostile_replay_old_roster_and_key() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "oldroster", &["A"]).await;
    let (a, mut aev) = g.pop().unwrap();
    let (h, aid) = (pid(&host), pid(&a));
    let old_roster = last_blob(&relay, h, |b| roster_epoch(b) == Some(2));
    let old_key = last_blob(&relay, h, |b| key_of(b).is_some_and(|(e, _)| e == 2));
    host.rekey().await.unwrap();
    host.rekey().await.unwrap();
    wait_for(&mut aev, |e| {
        matches!(e, MeetingEvent::RosterChanged(v) if v.epoch == 4).then_some(())
    })
    .await;
    let code = a.security_code().unwrap();

    // Replayed under the host's own relay id: only the signatures' epoch says they are old.
    relay.inject([
        Out::Blob {
            to: aid,
            from: h,
            bytes: old_roster,
        },
        Out::Blob {
            to: aid,
            from: h,
            bytes: old_key,
        },
    ]);
    let rollback = GroupError::EpochRollback { got: 2, current: 4 };
    assert_eq!(group_refused(&mut aev).await, rollback);
    assert_eq!(group_refused(&mut aev).await, rollback);
    assert_eq!(a.epoch(), Some(4));
    assert_eq!(a.security_code().unwrap(), code);
    send(&host, b"after the replay").await;
    let f = wait_media(&mut aev, b"after the replay").await;
    assert_eq!(f.epoch, 4);
}

#[tokio::test]
async fn hostile_reorder_frames() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "reorder", &["G"]).await;
    let (guest, mut gev) = g.pop().unwrap();
    let (h, gid) = (pid(&host), pid(&guest));
    const N: usize = 16;
    const GROUP: usize = 4;
    // Hold frames in groups of 4 and release each group reversed (well inside the window).
    let mut held: Vec<Out> = Vec::new();
    relay.set_tamper(first_n(N, media(h, gid), move |_, d| {
        held.push(Out::like(d, d.bytes.clone()));
        if held.len() == GROUP {
            held.reverse();
            Fate::Send(std::mem::take(&mut held))
        } else {
            Fate::Drop
        }
    }));
    let before = guest.stats();
    for i in 0..N {
        send(&host, format!("{i}").as_bytes()).await;
    }
    let mut order = Vec::new();
    while order.len() < N {
        let f = wait_for(&mut gev, |e| match e {
            MeetingEvent::Media(f) => Some(f.clone()),
            _ => None,
        })
        .await;
        order.push(
            std::str::from_utf8(&f.payload)
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
    }
    let want: Vec<usize> = (0..N / GROUP)
        .flat_map(|g| (g * GROUP..(g + 1) * GROUP).rev())
        .collect();
    assert_eq!(order, want, "every frame delivered, in the relay's order");
    let after = guest.stats();
    assert_eq!(after.refused_replay, before.refused_replay);
    assert_eq!(after.refused_auth, before.refused_auth);
}

#[tokio::test]
async fn hostile_drop_frames() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "drop", &["G"]).await;
    let (guest, mut gev) = g.pop().unwrap();
    let (h, gid) = (pid(&host), pid(&guest));
    const N: usize = 15;
    relay.set_tamper(first_n(N, media(h, gid), |i, _| {
        if i % 3 == 2 { Fate::Drop } else { Fate::Pass }
    }));
    let before = guest.stats();
    for i in 0..N {
        send(&host, format!("d-{i}").as_bytes()).await;
    }
    let mut got = sentinel(&host, &mut gev, "drop").await;
    let after = guest.stats();
    // Loss is just loss: the rest opens, nothing is refused, the later frames are fine.
    got.sort();
    let mut want: Vec<Bytes> = (0..N)
        .filter(|i| i % 3 != 2)
        .map(|i| format!("d-{i}").into())
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        after.media_opened - before.media_opened,
        want.len() as u64 + 1
    );
    assert_eq!(
        after.refused_replay + after.refused_auth + after.refused_malformed,
        0
    );
}

#[tokio::test]
async fn hostile_forged_frame_under_real_kid() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "forge", &["G"]).await;
    let (guest, mut gev) = g.pop().unwrap();
    let (h, gid) = (pid(&host), pid(&guest));
    sentinel(&host, &mut gev, "real").await;
    let real = relay
        .log()
        .into_iter()
        .rev()
        .find(|r| r.kind == Kind::Media && r.from == h)
        .unwrap()
        .bytes;
    let (hdr, hlen) = Header::decode(&real).unwrap();
    // Same KID (a live key of the host), a fresh counter, a body the relay made up.
    let forge = |extra: usize| -> Vec<u8> {
        let (arr, n) = Header::new(hdr.kid, hdr.ctr + 1000 + extra as u64).to_array();
        let mut f = arr[..n].to_vec();
        f.extend((0..real.len() - hlen).map(|i| (i * 7 + extra) as u8));
        f
    };
    let before = guest.stats();
    let mut blob = vec![CLASS_SIGNED_DATA];
    blob.extend(forge(1));
    relay.inject([
        Out::Media {
            to: gid,
            bytes: forge(0).into(),
        },
        Out::Blob {
            to: gid,
            from: h,
            bytes: blob.into(),
        },
    ]);
    assert_eq!(data_refused(&mut gev).await, FrameError::Authentication);
    wait_stat(
        &guest,
        "refused_auth",
        |s| s.refused_auth,
        before.refused_auth + 2,
    )
    .await;
    sentinel(&host, &mut gev, "after").await;
    let after = guest.stats();
    assert_eq!(after.refused_auth - before.refused_auth, 2);
    assert_eq!(after.media_opened - before.media_opened, 1);
}

#[tokio::test]
async fn hostile_inject_participant_into_roster() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, mut hev), mut g) = meeting(&relay, "inject", &["A", "B"]).await;
    let (b, mut bev) = g.pop().unwrap();
    let (a, mut aev) = g.pop().unwrap();
    let h = pid(&host);
    let code = a.security_code().unwrap();
    let current = last_blob(&relay, h, |b| is_roster(b) && roster_epoch(b) == Some(3));
    let Some(Message::Roster(signed)) = group(&current) else {
        panic!("not a roster")
    };

    // The relay lists one more member in the next epoch and keeps the host's signature.
    let mallory = hush_client::ephemeral_identity().unwrap();
    let mut roster = signed.content.clone();
    let template = roster.members[1].clone();
    roster.epoch += 1;
    roster.members.push(RosterEntry {
        index: 7,
        relay_id: 999,
        role: Role::Participant,
        identity: mallory.public(),
        ..template
    });
    let body = roster.encode_body();
    let forged = Signed {
        content: roster,
        body,
        signature: signed.signature,
    }
    .to_bytes();
    let to_all = |bytes: &[u8]| {
        [pid(&a), pid(&b)].map(|to| Out::Blob {
            to,
            from: h,
            bytes: Bytes::copy_from_slice(bytes),
        })
    };
    relay.inject(to_all(&forged));
    // And tells everyone a phantom joined: a relay event, not a roster change.
    relay.inject([pid(&a), pid(&b), h].map(|to| Out::PeerJoined {
        to,
        id: ParticipantId(999),
    }));
    for ev in [&mut aev, &mut bev] {
        assert_eq!(group_refused(ev).await, GroupError::BadSignature);
    }
    for m in [&a, &b] {
        assert_eq!(m.epoch(), Some(3));
        assert_eq!(m.roster().unwrap().members.len(), 3);
        assert_eq!(m.security_code().unwrap(), code);
    }

    // The only way in is to join as a participant: then every client lists it, codes change.
    let (m, mut mev) = join(config(
        relay.addr(),
        relay.pin(),
        "inject",
        "Mallory",
        ClientRole::Guest,
    ))
    .await;
    let new_code = wait_members(&m, &mut mev, 4).await;
    for (x, ev) in [(&host, &mut hev), (&a, &mut aev), (&b, &mut bev)] {
        assert_eq!(wait_members(x, ev, 4).await, new_code);
        let names: Vec<String> = x
            .roster()
            .unwrap()
            .members
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert!(names.contains(&"Mallory".to_owned()));
    }
    assert_ne!(new_code, code);
}

#[tokio::test]
async fn hostile_hide_participant_split_view() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, mut hev), mut g) = meeting(&relay, "split", &["A", "B"]).await;
    let (b, mut bev) = g.pop().unwrap();
    let (a, _aev) = g.pop().unwrap();
    let (h, aid, bid) = (pid(&host), pid(&a), pid(&b));
    let before = a.security_code().unwrap();
    // Hide everyone who comes next from A: their arrival, their traffic, and every roster and
    // key of a later epoch (the host-signed roster would list them).
    relay.set_tamper(move |d: &Delivery<'_>| {
        let newcomer = ![h, bid].contains(&d.from);
        let later_epoch = roster_epoch(d.bytes).is_some_and(|e| e > 3)
            || key_of(d.bytes).is_some_and(|(e, _)| e > 3);
        if d.to == aid && (newcomer || later_epoch) {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    let (c, mut cev) = join(config(
        relay.addr(),
        relay.pin(),
        "split",
        "C",
        ClientRole::Guest,
    ))
    .await;
    let code = wait_members(&c, &mut cev, 4).await;
    assert_eq!(wait_members(&host, &mut hev, 4).await, code);
    assert_eq!(wait_members(&b, &mut bev, 4).await, code);
    // A still shows the old meeting: three members, epoch 3, and a different security code,
    // which is exactly what comparing codes out of band reveals.
    assert_eq!(a.epoch(), Some(3));
    assert_eq!(a.roster().unwrap().members.len(), 3);
    assert_eq!(a.security_code().unwrap(), before);
    assert_ne!(a.security_code().unwrap(), code);
}

#[tokio::test]
async fn hostile_swap_frames_between_rooms() {
    let relay = HostileRelay::start().await.unwrap();
    let ((hx, _hxev), mut gx) = meeting(&relay, "room-x", &["GX"]).await;
    let ((hy, _hyev), mut gy) = meeting(&relay, "room-y", &["GY"]).await;
    let (gx, mut gxev) = gx.pop().unwrap();
    let (gy, mut gyev) = gy.pop().unwrap();
    let (x_host, x_guest, y_host, y_guest) = (pid(&hx), pid(&gx), pid(&hy), pid(&gy));
    // Both rooms are at epoch 2 and both hosts are index 0: the KIDs collide, the keys do not.
    assert_eq!((hx.epoch(), hy.epoch()), (Some(2), Some(2)));
    const N: usize = 8;
    relay.set_tamper(first_n(N, media(x_host, x_guest), move |_, d| {
        Fate::Send(vec![Out::Media {
            to: y_guest,
            bytes: d.bytes.clone(),
        }])
    }));
    let before = gy.stats();
    for i in 0..N {
        send(&hx, format!("room-x-{i}").as_bytes()).await;
    }
    wait_stat(
        &gy,
        "refused_auth",
        |s| s.refused_auth,
        before.refused_auth + N as u64,
    )
    .await;
    let kid = |from| {
        let log = relay.log();
        let r = log
            .iter()
            .rev()
            .find(|r| r.kind == Kind::Media && r.from == from)
            .unwrap();
        Header::decode(&r.bytes).unwrap().0.kid
    };
    let opened = sentinel(&hy, &mut gyev, "y").await;
    assert_eq!(kid(x_host), kid(y_host), "same KID in both rooms");
    let after = gy.stats();
    assert_eq!(after.refused_auth - before.refused_auth, N as u64);
    assert_eq!(after.media_opened - before.media_opened, 1);
    assert!(opened.is_empty(), "{opened:?}");
    assert!(drain_media(&mut gxev).is_empty(), "X's guest got nothing");

    // A data message moved to the other room, under the other room's host id.
    relay.set_tamper(first_n(1, data(x_host, x_guest), move |_, d| {
        Fate::Send(vec![Out::Blob {
            to: y_guest,
            from: y_host,
            bytes: d.bytes.clone(),
        }])
    }));
    hx.send_chat("for room x only").await.unwrap();
    assert_eq!(data_refused(&mut gyev).await, FrameError::Authentication);
}

#[tokio::test]
async fn hostile_withhold_key_messages() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, _hev), mut g) = meeting(&relay, "withhold", &["A", "B"]).await;
    let (b, mut bev) = g.pop().unwrap();
    let (a, mut aev) = g.pop().unwrap();
    let bid = pid(&b);
    let old = b.security_code().unwrap();
    let withholding = Arc::new(Mutex::new(true));
    let w = withholding.clone();
    relay.set_tamper(move |d: &Delivery<'_>| {
        if *w.lock().unwrap() && d.to == bid && key_of(d.bytes).is_some() {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    host.rekey().await.unwrap();
    wait_for(&mut aev, |e| {
        matches!(e, MeetingEvent::RosterChanged(v) if v.epoch == 4).then_some(())
    })
    .await;
    let new = a.security_code().unwrap();
    assert_ne!(new, old);
    // B got the epoch-4 roster but no key: it stays keyed in epoch 3 and shows the old code.
    let before = b.stats();
    send(&host, b"epoch 4 frame").await;
    wait_media(&mut aev, b"epoch 4 frame").await;
    assert_eq!(b.epoch(), Some(3));
    assert_eq!(b.security_code().unwrap(), old);
    assert_ne!(b.security_code().unwrap(), a.security_code().unwrap());

    // Keys flow again: the next epoch reaches B, which catches up and opens media again.
    *withholding.lock().unwrap() = false;
    host.rekey().await.unwrap();
    wait_for(&mut bev, |e| {
        matches!(e, MeetingEvent::RosterChanged(v) if v.epoch == 5).then_some(())
    })
    .await;
    wait_for(&mut aev, |e| {
        matches!(e, MeetingEvent::RosterChanged(v) if v.epoch == 5).then_some(())
    })
    .await;
    assert_eq!(b.security_code(), a.security_code());
    let opened = sentinel(&host, &mut bev, "epoch 5").await;
    assert_eq!(b.epoch(), Some(5));
    // The epoch-4 frame never opened at B: it waited for a key that never came, and once epoch 5
    // was keyed it was refused for want of an epoch-4 key, and so was the host's vouch for it
    // (SPEC §14.2: sealed under the epoch-4 key, sent on the host's ordered blob stream ahead of
    // the epoch-5 key message).
    assert!(opened.is_empty(), "{opened:?}");
    let after = b.stats();
    assert_eq!(after.media_opened - before.media_opened, 1);
    assert_eq!(after.refused_unknown_kid - before.refused_unknown_kid, 2);
}

#[tokio::test]
async fn hostile_departed_member_gets_new_epoch_frames() {
    let relay = HostileRelay::start().await.unwrap();
    let ((host, mut hev), mut g) = meeting(&relay, "departed", &["A", "L"]).await;
    let (l, mut lev) = g.pop().unwrap();
    let (a, mut aev) = g.pop().unwrap();
    let (h, lid) = (pid(&host), pid(&l));
    // L leaves (signed notice) but keeps its connection and every key it had; the relay keeps
    // it in the room and also hands it everyone else's key messages.
    l.leave_keeping_keys().await.unwrap();
    wait_members(&host, &mut hev, 2).await;
    wait_members(&a, &mut aev, 2).await;
    let keys: Vec<Out> = relay
        .log()
        .into_iter()
        .filter(|r| r.from == h && is_epoch_key(&r.bytes))
        .map(|r| Out::Blob {
            to: lid,
            from: h,
            bytes: r.bytes,
        })
        .collect();
    relay.inject(keys);
    let before = l.stats();
    const N: u64 = 12;
    for i in 0..N {
        send(&host, format!("after-{i}").as_bytes()).await;
    }
    host.send_chat("after-chat").await.unwrap();
    wait_stat(
        &l,
        "refused_unknown_kid",
        |s| s.refused_unknown_kid,
        before.refused_unknown_kid + N + 1,
    )
    .await;
    // A (still a member) opens them all; L opened none.
    for i in 0..N {
        wait_media(&mut aev, format!("after-{i}").as_bytes()).await;
    }
    let after = l.stats();
    // Every frame and the chat, plus whatever vouches for them the host sent by now (SPEC §14.2:
    // signed data messages under the same new key).
    let refused = after.refused_unknown_kid - before.refused_unknown_kid;
    let vouches = host.stats().vouches_sent;
    assert!(
        (N + 1..=N + 1 + vouches).contains(&refused),
        "{refused} refused, {vouches} vouches"
    );
    assert_eq!(after.media_opened, before.media_opened);
    assert_eq!(after.data_opened, before.data_opened);
    while let Ok(ev) = lev.try_recv() {
        assert!(
            !matches!(ev, MeetingEvent::Media(_) | MeetingEvent::Data(_)),
            "{ev:?}"
        );
    }
}

/// The relay plays host to one newcomer: it hides the real host from it and answers its
/// `Hello` and join request with a meeting of its own, signed by its own identity, under the real
/// host's relay id.
struct Impostor<R> {
    host: Host,
    real_host: ParticipantId,
    known: Vec<ParticipantId>,
    victim: Option<ParticipantId>,
    rng: R,
    start: Instant,
}

impl<R: CryptoRng + Send + 'static> Impostor<R> {
    fn outs(&self, step: hush_group::Step) -> Vec<Out> {
        let victim = self.victim.unwrap();
        step.outgoing
            .into_iter()
            .filter_map(|o| match o {
                Outgoing::Broadcast(b) => Some(b),
                Outgoing::To(id, b) if id == victim.0 => Some(b),
                _ => None,
            })
            .map(|b| Out::Blob {
                to: victim,
                from: self.real_host,
                bytes: b.into(),
            })
            .collect()
    }
}

impl<R: CryptoRng + Send + 'static> hush_testkit::Tamper for Impostor<R> {
    fn deliver(&mut self, d: &Delivery<'_>) -> Fate {
        if self.victim.is_none() && !self.known.contains(&d.from) && d.kind == Kind::PeerJoined {
            self.victim = Some(d.from);
        }
        let Some(victim) = self.victim else {
            return Fate::Pass;
        };
        if d.to == victim && d.from == self.real_host {
            return Fate::Drop;
        }
        if d.from == victim && d.to == self.real_host && d.kind == Kind::Blob {
            let now = self.start.elapsed().as_millis() as u64;
            let step = match self.host.handle(victim.0, d.bytes, &mut self.rng, now) {
                Ok(HostInput::Join(p)) => self.host.admit(p, &mut self.rng, now).unwrap(),
                Ok(HostInput::Step(s)) => s,
                _ => return Fate::Drop,
            };
            return Fate::Send(self.outs(step));
        }
        Fate::Pass
    }
}

#[tokio::test]
async fn hostile_impersonate_host() {
    let relay = HostileRelay::start().await.unwrap();
    let host_identity = hush_client::ephemeral_identity().unwrap();
    let host_key = host_identity.public();
    let cfg =
        config(relay.addr(), relay.pin(), "imp", "Host", host_role()).with_identity(host_identity);
    let (host, mut hev) = join(cfg).await;
    let (a, mut aev) = join(config(
        relay.addr(),
        relay.pin(),
        "imp",
        "A",
        ClientRole::Guest,
    ))
    .await;
    let code = wait_members(&a, &mut aev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, code);
    let (h, aid) = (pid(&host), pid(&a));

    // 1. To a member who pinned the host: a roster for this room signed by another key, sent
    // under the host's relay id.
    let mallory = hush_client::ephemeral_identity().unwrap();
    let mut rng = hush_group::os_rng();
    let (fake, _) = Host::new(
        mallory.clone(),
        "Host",
        "imp",
        h.0,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    relay.inject([Out::Blob {
        to: aid,
        from: h,
        bytes: fake.roster_bytes().to_vec().into(),
    }]);
    assert_eq!(group_refused(&mut aev).await, GroupError::UnexpectedHost);
    // Re-signed with the real host key as the claimed host, the signature fails instead.
    let Some(Message::Roster(real)) = group(&last_blob(&relay, h, is_roster)) else {
        panic!()
    };
    let mut r = real.content.clone();
    r.epoch += 1;
    let body = r.encode_body();
    relay.inject([Out::Blob {
        to: aid,
        from: h,
        bytes: sign(r, body, &mallory, "imp").to_bytes().into(),
    }]);
    assert_eq!(group_refused(&mut aev).await, GroupError::BadSignature);
    assert_eq!(a.security_code().unwrap(), code);

    // 2. A newcomer who knows the host key (out of band) refuses the impostor's meeting.
    let (impostor, _) = Host::new(
        mallory.clone(),
        "Host",
        "imp",
        h.0,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    relay.set_tamper(Impostor {
        host: impostor,
        real_host: h,
        known: vec![h, aid],
        victim: None,
        rng: hush_group::os_rng(),
        start: Instant::now(),
    });
    let mut cfg = config(
        relay.addr(),
        relay.pin(),
        "imp",
        "Pinned",
        ClientRole::Guest,
    );
    cfg.host_key = Some(host_key);
    let (p, mut pev) = join(cfg).await;
    assert_eq!(group_refused(&mut pev).await, GroupError::UnexpectedHost);
    assert!(p.security_code().is_none());
    assert!(p.epoch().is_none());
    p.leave().await.unwrap();

    // 3. A newcomer on trust-on-first-use is taken in by the impostor, and the security code is
    // what gives it away: it differs from the one the real meeting shows.
    let (impostor, _) = Host::new(
        mallory,
        "Host",
        "imp",
        h.0,
        HostConfig::default(),
        &mut rng,
        0,
    )
    .unwrap();
    relay.set_tamper(Impostor {
        host: impostor,
        real_host: h,
        known: vec![h, aid],
        victim: None,
        rng: hush_group::os_rng(),
        start: Instant::now(),
    });
    let (t, mut tev) = join(config(
        relay.addr(),
        relay.pin(),
        "imp",
        "Tofu",
        ClientRole::Guest,
    ))
    .await;
    let fooled = wait_members(&t, &mut tev, 2).await;
    assert_ne!(fooled, host.security_code().unwrap());
    assert_ne!(fooled, a.security_code().unwrap());
    assert_ne!(t.roster().unwrap().members[0].identity, host_key);
    assert_eq!(
        host.roster().unwrap().members.len(),
        2,
        "the real meeting never admitted it"
    );
}
