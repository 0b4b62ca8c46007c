//! The connector through a real relay on loopback (SPEC §13): the sinks get exactly the
//! plaintext, every client's status and security code flip while it is in the roster and flip
//! back when it leaves, an unadmitted connector bridges nothing, and the relay never holds the
//! plaintext.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::BytesMut;
use common::*;
use hush_client::{ClientRole, DataKind, DenyReason, E2eeStatus, EndReason, MeetingEvent};
use hush_connector::record::{self, RecordKind};
use hush_connector::udp::Reassembler;
use hush_connector::{Connector, SinkConfig};
use hush_group::Role;
use tokio::net::UdpSocket;

/// Waits for the host's next admission request.
async fn next_request(hev: &mut hush_client::MeetingEvents) -> hush_client::AdmissionRequest {
    let fut = async {
        loop {
            if let hush_client::MeetingEvent::AdmissionRequest(r) = hev.recv().await.unwrap() {
                return r;
            }
        }
    };
    tokio::time::timeout(GUARD, fut)
        .await
        .expect("no admission request")
}

const OFF: &str = "e2ee: off (connector Phone Bridge decrypts)";

/// Receives datagrams until `n` frames are complete; returns their payloads.
async fn receive_frames(sink: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    let mut r = Reassembler::new();
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 65_536];
    tokio::time::timeout(GUARD, async {
        while frames.len() < n {
            let (len, _) = sink.recv_from(&mut buf).await.unwrap();
            if let Some(f) = r.push(&buf[..len]).unwrap() {
                frames.push(f.payload);
            }
        }
    })
    .await
    .expect("the udp sink did not get every frame");
    assert_eq!(r.pending(), 0, "a frame left incomplete");
    frames
}

#[tokio::test]
async fn sinks_get_exactly_the_plaintext_and_every_client_shows_the_connector() {
    let mut relay = TestRelay::start().await;
    let dir = TempDir::new("rec");
    let (host, mut hev) = join(relay.config("c1", "Host", host_role(true))).await;
    let (guest, mut gev) = join(relay.config("c1", "Guest", ClientRole::Guest)).await;
    until(&guest, &mut gev, "guest keyed with 2", |m| members(m) == 2).await;
    until(&host, &mut hev, "host at 2", |m| members(m) == 2).await;
    assert_eq!(status(&host), "e2ee: on");
    let code_before = host.security_code().unwrap();
    assert_eq!(guest.security_code().unwrap(), code_before);

    // The connector joins; the host admits it because it was told to.
    let sink = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rec = dir.path().join("meeting.rec");
    let sinks = SinkConfig {
        udp: Some(sink.local_addr().unwrap()),
        record_file: Some(rec.clone()),
        datagram_size: 200,
        rtp: None,
    };
    // The role in the config is overridden: a connector always joins as one.
    let cfg = relay.config("c1", "Phone Bridge", ClientRole::Guest);
    let (conn, _cev) = Connector::join(cfg, sinks).await.unwrap();
    conn.wait_admitted(GUARD).await.unwrap();
    let cm = conn.meeting().clone();
    until_state(&cm, "connector keyed with 3", |m| members(m) == 3).await;
    for (m, ev) in [(&host, &mut hev), (&guest, &mut gev)] {
        until(m, ev, "status off", |m| status(m) == OFF && members(m) == 3).await;
    }
    assert_eq!(
        host.e2ee_status(),
        Some(E2eeStatus::Connectors(vec!["Phone Bridge".into()]))
    );
    assert_eq!(status(&cm), OFF, "the connector says so too");
    let roster = host.roster().unwrap();
    let entry = roster
        .members
        .iter()
        .find(|m| m.name == "Phone Bridge")
        .unwrap();
    assert_eq!(entry.role, Role::Connector);
    let code_with = host.security_code().unwrap();
    assert_ne!(
        code_with, code_before,
        "the code changes when a connector is admitted"
    );
    assert_eq!(guest.security_code().unwrap(), code_with);
    assert_eq!(cm.security_code().unwrap(), code_with);

    // Media from both, one frame cut into many datagrams, and a chat message.
    let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let sent: Vec<Vec<u8>> = vec![
        b"bridge-plain-1 from the guest".to_vec(),
        big.clone(),
        b"bridge-plain-3 from the host".to_vec(),
        Vec::new(),
    ];
    guest
        .send_media(&mut BytesMut::from(&sent[0][..]))
        .await
        .unwrap();
    guest
        .send_media(&mut BytesMut::from(&sent[1][..]))
        .await
        .unwrap();
    host.send_media(&mut BytesMut::from(&sent[2][..]))
        .await
        .unwrap();
    host.send_media(&mut BytesMut::new()).await.unwrap();
    guest.send_chat("bridge-chat-secret").await.unwrap();

    let got = receive_frames(&sink, sent.len()).await;
    let got: BTreeSet<Vec<u8>> = got.into_iter().collect();
    let want: BTreeSet<Vec<u8>> = sent.iter().cloned().collect();
    assert_eq!(got, want, "the udp sink got exactly the plaintext sent");
    tokio::time::timeout(GUARD, async {
        while conn.stats().data_recorded < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("chat not recorded");

    // The connector leaves: the meeting rekeys, e2ee comes back, the code changes again.
    let epoch_with = host.epoch().unwrap();
    let stats = conn.stop().await.unwrap();
    assert_eq!(stats.frames_bridged, sent.len() as u64);
    assert_eq!(
        stats.bytes_bridged,
        sent.iter().map(|s| s.len() as u64).sum::<u64>()
    );
    // 1 + ceil(5000 / 184) + 1 + 1 datagrams.
    assert_eq!(stats.datagrams_sent, 3 + 5000u64.div_ceil(184));
    assert_eq!(stats.udp_errors, 0);
    assert_eq!(stats.records_written, sent.len() as u64 + 1);
    for (m, ev) in [(&host, &mut hev), (&guest, &mut gev)] {
        until(m, ev, "status on", |m| {
            status(m) == "e2ee: on" && members(m) == 2
        })
        .await;
    }
    assert!(host.epoch().unwrap() > epoch_with, "the meeting rekeyed");
    let code_after = host.security_code().unwrap();
    assert_eq!(guest.security_code().unwrap(), code_after);
    assert_ne!(code_after, code_with);
    assert_ne!(code_after, code_before, "a new epoch, not the old one");

    // The recording holds the same plaintext, and the chat.
    let recs = record::read_records(&std::fs::read(&rec).unwrap()).unwrap();
    let media: BTreeSet<Vec<u8>> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::Media)
        .map(|r| r.payload.clone())
        .collect();
    assert_eq!(media, want);
    let chat: Vec<_> = recs
        .iter()
        .filter(|r| r.kind != RecordKind::Media)
        .collect();
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].kind, RecordKind::Data(DataKind::Chat.to_u8()));
    assert_eq!(chat[0].payload, b"bridge-chat-secret");
    assert_eq!(chat[0].sender_name, "Guest");
    assert!(recs.iter().any(|r| r.sender_name == "Host"));

    // The relay's dump and report never held any of it: the re-emission is outside the relay.
    let everything = relay.stop_and_read_everything().await;
    assert!(!everything.is_empty(), "the relay dumped what it carried");
    for s in sent.iter().filter(|s| !s.is_empty()) {
        assert!(!contains(&everything, &s[..s.len().min(64)]));
    }
    assert!(!contains(&everything, b"bridge-chat-secret"));
    assert!(!contains(&everything, b"Phone Bridge"));
}

#[tokio::test]
async fn a_connector_the_host_did_not_admit_gets_no_key_and_bridges_nothing() {
    let relay = TestRelay::start().await;
    let dir = TempDir::new("rec");
    // Auto-admit, but not connectors.
    let (host, mut hev) = join(relay.config("c2", "Host", host_role(false))).await;
    // A plain socket, read without the runtime: `try_recv_from` below is a real syscall.
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_nonblocking(true).unwrap();
    let rec = dir.path().join("none.rec");
    let sinks = SinkConfig {
        udp: Some(sink.local_addr().unwrap()),
        record_file: Some(rec.clone()),
        ..SinkConfig::default()
    };
    let (conn, mut cev) = Connector::join(
        relay.config("c2", "Sneaky Bridge", ClientRole::Connector),
        sinks,
    )
    .await
    .unwrap();
    // The host refuses it with a signed denial (SPEC §8.7.1): the connector is told why and
    // its meeting ends, without ever holding a key.
    let ended = tokio::time::timeout(GUARD, async {
        loop {
            match cev.recv().await {
                Some(MeetingEvent::Ended(reason)) => break Some(reason),
                Some(_) => {}
                None => break None,
            }
        }
    })
    .await
    .expect("the refused connector was never told");
    assert!(
        matches!(
            ended,
            Some(EndReason::Denied(DenyReason::ConnectorNeedsConsent))
        ),
        "{ended:?}"
    );
    // A guest asking after the connector was refused.
    let (guest, mut gev) = join(relay.config("c2", "Guest", ClientRole::Guest)).await;
    until(&guest, &mut gev, "guest keyed", |m| members(m) == 2).await;
    until(&host, &mut hev, "host at 2", |m| members(m) == 2).await;
    assert_eq!(status(&host), "e2ee: on");
    assert_eq!(status(&guest), "e2ee: on");
    assert!(
        host.roster()
            .unwrap()
            .members
            .iter()
            .all(|m| m.role != Role::Connector)
    );

    const N: u64 = 10;
    for i in 0..N {
        let mut b = BytesMut::from(format!("unbridged-{i}").as_bytes());
        guest.send_media(&mut b).await.unwrap();
    }
    // The host opens them all; by then the relay had every chance to forward one further.
    tokio::time::timeout(GUARD, async {
        while host.stats().media_opened < N {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the host did not open the guest's frames");
    let cm = conn.meeting().clone();
    // It never held a key, so it opens none and its sinks get nothing.
    assert_eq!(cm.epoch(), None);
    assert_eq!(cm.security_code(), None);
    let stats = conn.stop().await.unwrap();
    assert_eq!(cm.stats().media_opened, 0);
    assert_eq!(stats.frames_bridged, 0);
    assert_eq!(stats.datagrams_sent, 0);
    assert_eq!(stats.records_written, 0);
    let mut buf = [0u8; 2048];
    let err = sink.recv_from(&mut buf).unwrap_err();
    assert_eq!(
        err.kind(),
        std::io::ErrorKind::WouldBlock,
        "the sink got a datagram"
    );
    let recs = record::read_records(&std::fs::read(&rec).unwrap()).unwrap();
    assert!(recs.is_empty());
}

#[tokio::test]
async fn bad_sinks_fail_before_joining() {
    let relay = TestRelay::start().await;
    let dir = TempDir::new("bad");
    let cfg = relay.config("c3", "B", ClientRole::Connector);
    let sinks = SinkConfig {
        record_file: Some(dir.path().join("no/such/dir/x.rec")),
        ..SinkConfig::default()
    };
    let err = Connector::join(cfg.clone(), sinks).await.unwrap_err();
    assert!(
        matches!(err, hush_connector::ConnectorError::RecordFile { .. }),
        "{err}"
    );
    let sinks = SinkConfig {
        udp: Some("127.0.0.1:9".parse().unwrap()),
        datagram_size: 20,
        ..SinkConfig::default()
    };
    let err = Connector::join(cfg, sinks).await.unwrap_err();
    assert!(
        matches!(err, hush_connector::ConnectorError::DatagramSize(20)),
        "{err}"
    );
    // Nobody ever reached the relay.
    let stats = relay.relay.as_ref().unwrap().handle.stats();
    assert_eq!(stats.connections_total, 0);
}

#[tokio::test]
async fn in_ask_mode_only_an_explicit_yes_admits_a_connector() {
    let relay = TestRelay::start().await;
    let role = ClientRole::Host {
        admit: hush_client::Admit::Ask,
        admit_connectors: false,
    };
    let (host, mut hev) = join(relay.config("c4", "Host", role)).await;
    let sinks = || SinkConfig {
        udp: Some("127.0.0.1:9".parse().unwrap()),
        ..SinkConfig::default()
    };
    let cfg = |name: &str| relay.config("c4", name, ClientRole::Connector);

    // Refused: it never gets a key.
    let (no, _nev) = Connector::join(cfg("Denied Bridge"), sinks())
        .await
        .unwrap();
    let req = next_request(&mut hev).await;
    assert_eq!(
        (req.name.as_str(), req.role),
        ("Denied Bridge", Role::Connector)
    );
    host.admit(req.relay_id, false).await.unwrap();

    // Accepted: the explicit yes is the consent.
    let (yes, _yev) = Connector::join(cfg("Welcome Bridge"), sinks())
        .await
        .unwrap();
    let req = next_request(&mut hev).await;
    assert_eq!(
        (req.name.as_str(), req.role),
        ("Welcome Bridge", Role::Connector)
    );
    host.admit(req.relay_id, true).await.unwrap();
    yes.wait_admitted(GUARD).await.unwrap();
    until(&host, &mut hev, "status off", |m| {
        status(m) == "e2ee: off (connector Welcome Bridge decrypts)"
    })
    .await;
    assert_eq!(members(&host), 2);
    assert_eq!(
        no.meeting().epoch(),
        None,
        "the refused connector holds no key"
    );
    assert_eq!(yes.stop().await.unwrap().frames_bridged, 0);
    no.stop().await.unwrap();
}
