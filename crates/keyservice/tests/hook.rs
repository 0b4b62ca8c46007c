//! The key service as a relay hook, driven directly (no network): issuing, opening, the
//! decrypted dump, and hostile frames.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use hush_frame::{BaseKey, CipherSuite, Sealer};
use hush_keyservice::decrypted_dump::decrypted_path;
use hush_keyservice::{FIRST_EPOCH, Issued, KeyService, KeyServiceConfig, decode};
use hush_relay::{HookMessage, RelayHook};
use hush_wire::{ParticipantId, RelayMode, Target};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hush-keyservice-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn issued_to(msgs: &[HookMessage], id: ParticipantId) -> Issued {
    let m = msgs
        .iter()
        .find(|m| m.to == Target::Participant(id))
        .expect("an Issued for the joiner");
    decode(&m.blob).unwrap()
}

fn sealer(i: &Issued) -> Sealer {
    let s = i.my_sender().unwrap();
    Sealer::new(i.suite, s.kid, BaseKey::new(s.base_key.to_vec()).unwrap())
}

fn seal(s: &mut Sealer, payload: &[u8]) -> Vec<u8> {
    let mut buf = payload.to_vec();
    s.seal(b"", &mut buf).unwrap();
    buf
}

const A: ParticipantId = ParticipantId(0xa);
const B: ParticipantId = ParticipantId(0xb);

#[test]
fn issues_one_secret_per_room_and_distinct_indices() {
    let ks = KeyService::default();
    assert_eq!(ks.mode(), RelayMode::Transport);
    let ia = issued_to(&ks.on_join("r", A, &[A]), A);
    let ib = issued_to(&ks.on_join("r", B, &[A, B]), B);
    let ic = issued_to(&ks.on_join("other", A, &[A]), A);
    assert_eq!(ia.epoch_secret, ib.epoch_secret);
    assert_eq!(ia.meeting, ib.meeting);
    assert_eq!(ia.epoch, FIRST_EPOCH);
    assert_ne!(ia.your_index, ib.your_index);
    assert_ne!(
        ia.epoch_secret, ic.epoch_secret,
        "rooms get independent secrets"
    );
    assert_eq!(ks.stats().issued, 3);
    assert_eq!(ks.stats().rooms, 2);

    // Leaving does not rekey (the 2020 model) and an index is never handed out twice.
    ks.on_leave("r", B, &[A]);
    let ib2 = issued_to(&ks.on_join("r", B, &[A, B]), B);
    assert_eq!(ib2.epoch_secret, ia.epoch_secret);
    assert!(ib2.your_index != ia.your_index && ib2.your_index != ib.your_index);

    // The last leave erases the room; a new room gets a fresh secret.
    ks.on_leave("r", A, &[B]);
    ks.on_leave("r", B, &[]);
    assert_eq!(ks.stats().rooms, 1);
    let again = issued_to(&ks.on_join("r", A, &[A]), A);
    assert_ne!(again.epoch_secret, ia.epoch_secret);
}

#[test]
fn opens_every_frame_and_dumps_exactly_the_plaintext() {
    let dir = temp_dir("dump");
    let ks = KeyService::new(KeyServiceConfig {
        suite: CipherSuite::ChaCha20Poly1305Sha256,
        dump_dir: Some(dir.clone()),
    });
    let ia = issued_to(&ks.on_join("room 1", A, &[A]), A);
    let ib = issued_to(&ks.on_join("room 1", B, &[A, B]), B);
    assert_eq!(ia.suite, CipherSuite::ChaCha20Poly1305Sha256);
    let (mut sa, mut sb) = (sealer(&ia), sealer(&ib));
    let sent_a: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![i; 10 + usize::from(i) * 50])
        .collect();
    let sent_b: Vec<Vec<u8>> = vec![b"hello from b".to_vec(), Vec::new(), vec![7; 5000]];
    for p in &sent_a {
        ks.on_media("room 1", A, &seal(&mut sa, p));
    }
    for p in &sent_b {
        ks.on_media("room 1", B, &seal(&mut sb, p));
    }
    assert_eq!(ks.stats().opened, 23);
    assert_eq!(ks.stats().failed, 0);
    ks.flush();
    let got_a = hush_relay::dump::read_records(&decrypted_path(&dir, "room 1", A)).unwrap();
    let got_b = hush_relay::dump::read_records(&decrypted_path(&dir, "room 1", B)).unwrap();
    assert_eq!(got_a, sent_a);
    assert_eq!(got_b, sent_b);
    assert!(
        decrypted_path(&dir, "room 1", A).ends_with("room-room%201/000000000000000a.decrypted")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_frames_are_counted_never_opened_never_panic() {
    let dir = temp_dir("hostile");
    let ks = KeyService::new(KeyServiceConfig {
        suite: CipherSuite::Aes128GcmSha256,
        dump_dir: Some(dir.clone()),
    });
    let ia = issued_to(&ks.on_join("r", A, &[A]), A);
    let ib = issued_to(&ks.on_join("r", B, &[A, B]), B);
    let mut sa = sealer(&ia);
    let mut sb = sealer(&ib);

    let good = seal(&mut sa, b"real");
    ks.on_media("r", A, &good);
    assert_eq!(ks.stats().opened, 1);

    let mut failures = 0;
    let mut expect_fail = |ks: &KeyService, room: &str, from, frame: &[u8]| {
        ks.on_media(room, from, frame);
        failures += 1;
        assert_eq!(ks.stats().failed, failures, "frame {frame:02x?}");
        assert_eq!(ks.stats().opened, 1);
    };
    expect_fail(&ks, "r", A, &good); // replay
    expect_fail(&ks, "r", A, &[]); // empty
    expect_fail(&ks, "r", A, &[0xff; 3]); // bad header
    let mut tampered = seal(&mut sa, b"tampered");
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    expect_fail(&ks, "r", A, &tampered); // forged tag
    expect_fail(&ks, "r", A, &seal(&mut sb, b"b's key, sent by a")); // someone else's KID
    expect_fail(&ks, "nope", A, &seal(&mut sa, b"x")); // unknown room
    expect_fail(&ks, "r", ParticipantId(99), &seal(&mut sa, b"x")); // unknown sender
    let mut truncated = seal(&mut sa, b"cut short");
    truncated.truncate(3);
    expect_fail(&ks, "r", A, &truncated);
    for i in 0..=255u8 {
        ks.on_media("r", A, &[i; 40]);
    }
    assert_eq!(ks.stats().opened, 1);

    ks.flush();
    let got = hush_relay::dump::read_records(&decrypted_path(&dir, "r", A)).unwrap();
    assert_eq!(got, vec![b"real".to_vec()]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn departed_sender_is_no_longer_opened() {
    let ks = KeyService::default();
    let ia = issued_to(&ks.on_join("r", A, &[A]), A);
    let _ = ks.on_join("r", B, &[A, B]);
    let mut sa = sealer(&ia);
    ks.on_media("r", A, &seal(&mut sa, b"before"));
    ks.on_leave("r", A, &[B]);
    ks.on_media("r", A, &seal(&mut sa, b"after"));
    assert_eq!((ks.stats().opened, ks.stats().failed), (1, 1));
}
