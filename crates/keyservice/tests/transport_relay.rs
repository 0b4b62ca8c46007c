//! Transport mode end to end over real QUIC on loopback: a relay with the key service, two
//! network clients that receive `Issued` from participant 0, seal with hush-frame under the
//! derived keys, and a decrypted dump that equals exactly what was sent.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hush_client::net::{self, ConnectOptions, Event, Events, RelayConnection, TrustAnchor};
use hush_frame::{BaseKey, CipherSuite, Opener, Sealer};
use hush_keyservice::decrypted_dump::decrypted_path;
use hush_keyservice::{Issued, KeyService, KeyServiceConfig};
use hush_relay::{Relay, RelayConfig, RunningRelay};
use hush_wire::{ParticipantId, RelayMode};

const WAIT: Duration = Duration::from_secs(20);

async fn next<T>(ev: &mut Events, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = ev.recv().await.expect("event channel closed");
            if let Some(t) = pick(e) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

async fn client(r: &RunningRelay) -> (RelayConnection, Events) {
    net::connect(
        r.addr,
        TrustAnchor::Sha256(r.cert_sha256),
        ConnectOptions::default(),
    )
    .await
    .unwrap()
}

async fn issued(ev: &mut Events) -> Issued {
    let blob = next(ev, |e| match e {
        Event::Deliver { from, blob } if from == ParticipantId::RELAY => Some(blob),
        _ => None,
    })
    .await;
    hush_keyservice::decode(&blob).unwrap()
}

/// A participant's client-side crypto, exactly as a transport-mode client would hold it.
struct Keys {
    issued: Issued,
    sealer: Sealer,
    opener: Opener,
}

impl Keys {
    fn new(issued: Issued) -> Self {
        let me = issued.my_sender().unwrap();
        let sealer = Sealer::new(
            issued.suite,
            me.kid,
            BaseKey::new(me.base_key.to_vec()).unwrap(),
        );
        Keys {
            issued,
            sealer,
            opener: Opener::new(),
        }
    }

    fn seal(&mut self, payload: &[u8]) -> Bytes {
        let mut buf = payload.to_vec();
        self.sealer.seal(b"", &mut buf).unwrap();
        Bytes::from(buf)
    }

    /// Opens a peer's frame, deriving that sender's key from the KID like e2ee clients do.
    fn open(&mut self, frame: &[u8]) -> Vec<u8> {
        let (h, _) = hush_frame::Header::decode(frame).unwrap();
        let (epoch, index) = hush_group::split_kid(h.kid);
        assert_eq!(epoch, self.issued.epoch);
        if !self.opener.has_key(h.kid) {
            let s = self.issued.sender(index).unwrap();
            self.opener
                .add_key(
                    h.kid,
                    self.issued.suite,
                    BaseKey::new(s.base_key.to_vec()).unwrap(),
                )
                .unwrap();
        }
        let mut buf = frame.to_vec();
        self.opener.open(b"", &mut buf).unwrap();
        buf
    }
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hush-keyservice-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn payloads(tag: u8) -> Vec<Vec<u8>> {
    // Small ones travel as datagrams, large ones on streams (SPEC §7.3).
    [1usize, 64, 700, 1100, 3000, 20_000, 100_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut p = format!("secret {tag} #{i}: ").into_bytes();
            p.resize(n.max(p.len()), tag ^ (i as u8));
            p
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_decrypts_exactly_what_was_sent() {
    let dir = temp_dir();
    let service = Arc::new(KeyService::new(KeyServiceConfig {
        suite: CipherSuite::Aes128GcmSha256,
        dump_dir: Some(dir.clone()),
    }));
    let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.dump_dir = Some(dir.clone());
    cfg.hook = Some(service.clone());
    let relay = Relay::bind(cfg).await.unwrap().spawn();

    let (a, mut ev_a) = client(&relay).await;
    assert_eq!(a.relay_mode(), RelayMode::Transport);
    let ja = a.join("standup").await.unwrap();
    let mut ka = Keys::new(issued(&mut ev_a).await);
    let (b, mut ev_b) = client(&relay).await;
    let jb = b.join("standup").await.unwrap();
    let mut kb = Keys::new(issued(&mut ev_b).await);
    assert_eq!(ka.issued.epoch_secret, kb.issued.epoch_secret);
    assert_ne!(ka.issued.your_index, kb.issued.your_index);

    // Lock-step: each frame is received (and so seen by the service) before the next is sent.
    let (sent_a, sent_b) = (payloads(0xa), payloads(0xb));
    for (pa, pb) in sent_a.iter().zip(&sent_b) {
        a.send_media(ka.seal(pa)).await.unwrap();
        let got = next(&mut ev_b, |e| match e {
            Event::Media(f) => Some(f),
            _ => None,
        })
        .await;
        assert_eq!(&kb.open(&got), pa);
        b.send_media(kb.seal(pb)).await.unwrap();
        let got = next(&mut ev_a, |e| match e {
            Event::Media(f) => Some(f),
            _ => None,
        })
        .await;
        assert_eq!(&ka.open(&got), pb);
    }
    let n = sent_a.len() as u64 * 2;
    assert_eq!(service.stats().opened, n);
    assert_eq!(service.stats().failed, 0);

    a.leave().await.unwrap();
    b.leave().await.unwrap();
    a.close().await;
    b.close().await;
    relay.shutdown().await.unwrap();
    service.flush();

    let dec_a = hush_relay::dump::read_records(&decrypted_path(&dir, "standup", ja.your_id));
    let dec_b = hush_relay::dump::read_records(&decrypted_path(&dir, "standup", jb.your_id));
    assert_eq!(dec_a.unwrap(), sent_a);
    assert_eq!(dec_b.unwrap(), sent_b);

    // The relay's own dump beside it is opaque: no plaintext marker appears in it.
    let opaque = hush_relay::dump::dump_path(&dir, "standup", ja.your_id, "media");
    let opaque = hush_relay::dump::read_records(&opaque).unwrap();
    assert_eq!(opaque.len(), sent_a.len());
    for (frame, plain) in opaque.iter().zip(&sent_a) {
        assert_ne!(frame, plain);
        assert!(!frame.windows(9).any(|w| w == b"secret 10"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
