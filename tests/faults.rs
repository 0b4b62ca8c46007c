//! Faults (issue 7): machines die. The real relay runs as a child process (`hush relay`) so it
//! can be killed with `SIGKILL` and started again on the same port with the same certificate;
//! a client runs as a child process (`hush join`) so it can be killed without a word.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use hush_client::net::{self, ConnectOptions, TrustAnchor};
use hush_client::{ClientRole, Meeting, MeetingEvent, MeetingEvents};
use hush_testkit::{RelayProcess, SelfSigned, write_pem};
use support::*;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hush"))
}

fn relay_args(listen: &str, cert: &(String, String), extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["--listen", listen, "--cert", &cert.0, "--key", &cert.1]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

async fn wait_disconnected(ev: &mut MeetingEvents) {
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

/// Collects every media frame and data message until `n` data messages arrived.
async fn collect_data(
    ev: &mut MeetingEvents,
    n: usize,
) -> (Vec<hush_client::MediaFrame>, Vec<hush_client::DataMessage>) {
    let mut media = Vec::new();
    let mut data = Vec::new();
    wait_for(ev, |e| {
        match e {
            MeetingEvent::Media(f) => media.push(f.clone()),
            MeetingEvent::Data(d) => data.push(d.clone()),
            _ => {}
        }
        (data.len() >= n).then_some(())
    })
    .await;
    (media, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_relay_killed_and_restarted_mid_meeting() {
    let dir = TempDir::new("faults-restart");
    let cert = SelfSigned::generate().unwrap();
    let pem = write_pem(&dir.0, &cert).unwrap();
    // A killed relay sends no close: clients notice by the idle timeout, kept short here (and fed
    // by a pacer while the relay is up).
    let idle = ["--idle-timeout", "3"];
    let mut relay = RelayProcess::spawn(bin(), &relay_args("127.0.0.1:0", &pem, &idle)).unwrap();
    let (addr, pin) = (relay.addr, relay.pin);
    assert_eq!(pin, cert.sha256());
    let room = "restart";
    let (host, mut hev) = join(config(addr, pin, room, "Host", host_role())).await;
    let (g1, mut g1ev) = join(config(addr, pin, room, "G1", ClientRole::Guest)).await;
    wait_members(&g1, &mut g1ev, 2).await;
    let (g2, mut g2ev) = join(config(addr, pin, room, "G2", ClientRole::Guest)).await;
    let before = wait_members(&g2, &mut g2ev, 3).await;
    assert_eq!(wait_members(&g1, &mut g1ev, 3).await, before);
    assert_eq!(wait_members(&host, &mut hev, 3).await, before);
    let old_epoch = host.epoch().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = pacer(host.clone(), stop.clone());

    // A recorder in the room (a plain connection, as the relay's operator could run) keeps
    // frames of the old epoch to replay after the restart.
    let (rec, mut rec_ev) = net::connect(addr, TrustAnchor::Sha256(pin), ConnectOptions::default())
        .await
        .unwrap();
    rec.join(room).await.unwrap();
    const OLD: usize = 5;
    for i in 0..OLD {
        send(&host, format!("before-{i}").as_bytes()).await;
    }
    let mut old_frames: Vec<Bytes> = Vec::new();
    while old_frames.len() < OLD {
        let ev = tokio::time::timeout(GUARD, rec_ev.recv()).await.unwrap();
        if let Some(net::Event::Media(f)) = ev {
            old_frames.push(f);
        }
    }
    for i in 0..OLD {
        wait_media(&mut g1ev, format!("before-{i}").as_bytes()).await;
    }

    // SIGKILL: no close, no goodbye. Every client notices and keeps trying.
    relay.kill();
    for ev in [&mut hev, &mut g1ev, &mut g2ev] {
        wait_disconnected(ev).await;
    }
    assert!(matches!(
        g1.send_chat("while down").await,
        Err(hush_client::MeetingError::NotReady)
    ));
    let relay = RelayProcess::spawn(bin(), &relay_args(&addr.to_string(), &pem, &idle)).unwrap();
    assert_eq!((relay.addr, relay.pin), (addr, pin));
    for ev in [&mut hev, &mut g1ev, &mut g2ev] {
        wait_for(ev, |e| matches!(e, MeetingEvent::Reconnected).then_some(())).await;
    }
    // The host re-admits both (known identities, no prompt) and a new epoch starts.
    let after = wait_members(&g1, &mut g1ev, 3).await;
    assert_eq!(wait_members(&g2, &mut g2ev, 3).await, after);
    wait_for(&mut hev, |e| match e {
        MeetingEvent::RosterChanged(v) if v.members.len() == 3 => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(host.security_code().unwrap(), after);
    assert_ne!(after, before);
    let new_epoch = host.epoch().unwrap();
    assert!(new_epoch > old_epoch);
    assert_eq!((g1.epoch(), g2.epoch()), (Some(new_epoch), Some(new_epoch)));

    // The old epoch's frames, replayed into the new meeting: no key for them any more.
    let (rec, _rec_ev) = net::connect(addr, TrustAnchor::Sha256(pin), ConnectOptions::default())
        .await
        .unwrap();
    rec.join(room).await.unwrap();
    let stale_before = g1.stats().refused_unknown_kid;
    for f in &old_frames {
        rec.send_media(f.clone()).await.unwrap();
    }
    wait_stat(
        &g1,
        "refused_unknown_kid",
        |s| s.refused_unknown_kid,
        stale_before + OLD as u64,
    )
    .await;

    // Media resumes, and reliable data sent after the reconnect all arrives, in order.
    const CHATS: usize = 50;
    send(&host, b"after the restart").await;
    for (m, tag) in [(&g1, "g1"), (&g2, "g2")] {
        for i in 0..CHATS {
            m.send_chat(&format!("{tag}-{i}")).await.unwrap();
        }
    }
    let (media, data) = collect_data(&mut hev, 2 * CHATS).await;
    for tag in ["g1", "g2"] {
        let got: Vec<String> = data
            .iter()
            .filter(|d| d.sender_name.as_ref() == tag.to_uppercase())
            .map(|d| String::from_utf8(d.payload.to_vec()).unwrap())
            .collect();
        let want: Vec<String> = (0..CHATS).map(|i| format!("{tag}-{i}")).collect();
        assert_eq!(got, want);
    }
    assert!(data.iter().all(|d| d.epoch == new_epoch));
    let f = wait_media(&mut g1ev, b"after the restart").await;
    assert_eq!(f.epoch, new_epoch);
    // Nobody opened anything under a stale key.
    for f in media {
        assert_eq!(f.epoch, new_epoch, "opened a frame of epoch {}", f.epoch);
    }
    assert_eq!(g1.stats().refused_unknown_kid - stale_before, OLD as u64);
    stop.store(true, Relaxed);
    ticks.await.unwrap();
    drop(relay);
}

/// Sends a frame every 50 ms until stopped (keeps every connection's idle timer fed).
fn pacer(m: Meeting, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.load(Relaxed) {
            let _ = m.send_media(&mut bytes::BytesMut::from(&b"tick"[..])).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_client_killed_is_noticed_and_the_others_rekey() {
    let dir = TempDir::new("faults-killclient");
    let cert = SelfSigned::generate().unwrap();
    let pem = write_pem(&dir.0, &cert).unwrap();
    // A short idle timeout: a silent connection is gone after 2 s.
    let relay = RelayProcess::spawn(
        bin(),
        &relay_args("127.0.0.1:0", &pem, &["--idle-timeout", "2"]),
    )
    .unwrap();
    let (addr, pin) = (relay.addr, relay.pin);
    let room = "killclient";
    let (host, mut hev) = join(config(addr, pin, room, "Host", host_role())).await;
    let (a, mut aev) = join(config(addr, pin, room, "A", ClientRole::Guest)).await;
    wait_members(&a, &mut aev, 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = pacer(host.clone(), stop.clone());

    let mut victim = Command::new(bin())
        .args([
            "join",
            "--relay",
            &addr.to_string(),
            "--relay-cert-sha256",
            &hex::encode(pin),
        ])
        .args(["--room", room, "--name", "Victim"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let with_victim = wait_members(&a, &mut aev, 3).await;
    assert_eq!(wait_members(&host, &mut hev, 3).await, with_victim);
    let epoch = host.epoch().unwrap();

    // Killed without a leave: only the relay's idle timeout can tell.
    victim.kill().unwrap();
    victim.wait().unwrap();
    let code = wait_members(&a, &mut aev, 2).await;
    assert_eq!(wait_members(&host, &mut hev, 2).await, code);
    assert_ne!(code, with_victim);
    assert!(host.epoch().unwrap() > epoch, "the others rekeyed");
    assert_eq!(a.epoch(), host.epoch());
    let names: Vec<String> = a
        .roster()
        .unwrap()
        .members
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Host", "A"]);
    stop.store(true, Relaxed);
    ticks.await.unwrap();
    send(&host, b"still here").await;
    let f = wait_media(&mut aev, b"still here").await;
    assert_eq!(Some(f.epoch), host.epoch());
    drop(relay);
}
