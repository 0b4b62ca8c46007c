//! Property tests (SPEC §2, §4): round trip, any bit flip refused, replays refused, unknown KID.
#![allow(clippy::unwrap_used)]

use hush_frame::{BaseKey, CipherSuite, FrameError, Opener, Sealer};
use proptest::prelude::*;

fn any_suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

fn pair(suite: CipherSuite, kid: u64, key: &[u8]) -> (Sealer, Opener) {
    let sealer = Sealer::new(suite, kid, BaseKey::new(key).unwrap());
    let mut opener = Opener::new();
    opener
        .add_key(kid, suite, BaseKey::new(key).unwrap())
        .unwrap();
    (sealer, opener)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(
        suite in any_suite(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        metadata in prop::collection::vec(any::<u8>(), 0..32),
        payload in prop::collection::vec(any::<u8>(), 0..2000),
    ) {
        let (sealer, mut opener) = pair(suite, kid, b"round trip key");
        let mut sealer = sealer.starting_at(ctr);
        let mut buf = bytes::BytesMut::from(&payload[..]);
        let h = sealer.seal(&metadata, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), h.encoded_len() + payload.len() + suite.tag_len());
        if payload.len() >= 8 {
            // The payload is encrypted, not copied.
            prop_assert_ne!(&buf[h.encoded_len()..h.encoded_len() + payload.len()], &payload[..]);
        }
        let opened = opener.open(&metadata, &mut buf).unwrap();
        prop_assert_eq!((opened.kid, opened.ctr), (kid, ctr));
        prop_assert_eq!(&buf[..], &payload[..]);
    }

    #[test]
    fn any_bit_flip_fails(
        suite in any_suite(),
        kid in any::<u64>(),
        metadata in prop::collection::vec(any::<u8>(), 1..16),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (mut sealer, mut opener) = pair(suite, kid, b"bit flip key");
        let mut frame = payload.clone();
        sealer.seal(&metadata, &mut frame).unwrap();
        // Flip one bit somewhere in metadata || frame (header, ciphertext or tag).
        let mut meta = metadata.clone();
        let i = flip.index(meta.len() + frame.len());
        if i < meta.len() { meta[i] ^= 1 << bit } else { frame[i - meta.len()] ^= 1 << bit }
        let r = opener.open(&meta, &mut frame);
        prop_assert!(r.is_err(), "tampered frame opened: {:?}", r);
        // The intact frame still opens afterwards: a failure never moved the window.
        let (mut sealer2, _) = pair(suite, kid, b"bit flip key");
        let mut good = payload.clone();
        sealer2.seal(&metadata, &mut good).unwrap();
        prop_assert!(opener.open(&metadata, &mut good).is_ok());
    }

    #[test]
    fn replays_refused(
        suite in any_suite(),
        order in Just((0u64..40).collect::<Vec<_>>()).prop_shuffle(),
        dup in 0usize..40,
    ) {
        let (mut sealer, mut opener) = pair(suite, 5, b"replay key");
        let frames: Vec<Vec<u8>> = (0..40).map(|i| {
            let mut b = vec![i as u8; 20];
            sealer.seal(b"", &mut b).unwrap();
            b
        }).collect();
        // Any order within the window is accepted once.
        for &i in &order {
            let mut b = frames[i as usize].clone();
            prop_assert_eq!(opener.open(b"", &mut b).unwrap().ctr, i);
        }
        let mut again = frames[dup].clone();
        prop_assert_eq!(opener.open(b"", &mut again), Err(FrameError::Replay { kid: 5, ctr: dup as u64 }));
    }

    #[test]
    fn unknown_kid_is_a_clear_error(kid in any::<u64>(), other in any::<u64>()) {
        prop_assume!(kid != other);
        let (mut sealer, _) = pair(CipherSuite::Aes128GcmSha256, kid, b"k");
        let mut opener = Opener::new();
        opener.add_key(other, CipherSuite::Aes128GcmSha256, BaseKey::new(*b"k").unwrap()).unwrap();
        let mut b = b"x".to_vec();
        sealer.seal(b"", &mut b).unwrap();
        prop_assert_eq!(opener.open(b"", &mut b), Err(FrameError::UnknownKid(kid)));
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut opener = Opener::new();
        for kid in 0..8 {
            opener.add_key(kid, CipherSuite::AesCtr128HmacSha256_32, BaseKey::new(*b"k").unwrap()).unwrap();
        }
        let mut b = bytes;
        let _ = opener.open(b"", &mut b);
        let _ = hush_frame::inspect(&b);
    }
}

#[test]
fn too_old_and_window_size() {
    let mut opener = Opener::with_replay_window(16).unwrap();
    opener
        .add_key(
            1,
            CipherSuite::ChaCha20Poly1305Sha256,
            BaseKey::new(*b"w").unwrap(),
        )
        .unwrap();
    let mut sealer = Sealer::new(
        CipherSuite::ChaCha20Poly1305Sha256,
        1,
        BaseKey::new(*b"w").unwrap(),
    );
    let frames: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            let mut b = vec![1u8; 8];
            sealer.seal(b"", &mut b).unwrap();
            b
        })
        .collect();
    opener.open(b"", &mut frames[30].clone()).unwrap();
    assert_eq!(
        opener.open(b"", &mut frames[14].clone()),
        Err(FrameError::TooOld { kid: 1, ctr: 14 })
    );
    opener.open(b"", &mut frames[15].clone()).unwrap();
    assert!(Opener::with_replay_window(0).is_err());
    assert!(Opener::with_replay_window(1 << 17).is_err());
}

#[test]
fn forged_frame_does_not_move_the_window() {
    let suite = CipherSuite::Aes128GcmSha256;
    let (mut sealer, mut opener) = pair(suite, 3, b"forge");
    let mut first = b"a".to_vec();
    sealer.seal(b"", &mut first).unwrap();
    // A forgery with a far-ahead counter, under the right KID.
    let mut forged =
        Sealer::new(suite, 3, BaseKey::new(*b"wrong key").unwrap()).starting_at(1 << 40);
    let mut f = b"evil".to_vec();
    forged.seal(b"", &mut f).unwrap();
    assert_eq!(opener.open(b"", &mut f), Err(FrameError::Authentication));
    // Had the window moved to 2^40, counter 0 would now be too old.
    assert!(opener.open(b"", &mut first).is_ok());
}

#[test]
fn exhaustion_is_an_error_never_a_wrap() {
    let mut s = Sealer::new(
        CipherSuite::Aes128GcmSha256,
        0,
        BaseKey::new(*b"e").unwrap(),
    )
    .with_frame_limit(3);
    assert_eq!(s.frames_remaining(), 3);
    for _ in 0..3 {
        s.seal(b"", &mut vec![0u8; 4]).unwrap();
    }
    assert_eq!(s.frames_remaining(), 0);
    let mut buf = b"keep".to_vec();
    assert_eq!(s.seal(b"", &mut buf), Err(FrameError::KeyExhausted));
    assert_eq!(buf, b"keep");

    let mut s = Sealer::new(
        CipherSuite::Aes128GcmSha256,
        0,
        BaseKey::new(*b"e").unwrap(),
    )
    .starting_at(u64::MAX - 1);
    assert_eq!(s.frames_remaining(), 2);
    assert_eq!(s.seal(b"", &mut vec![]).unwrap().ctr, u64::MAX - 1);
    assert_eq!(s.seal(b"", &mut vec![]).unwrap().ctr, u64::MAX);
    assert_eq!(s.seal(b"", &mut vec![]), Err(FrameError::KeyExhausted));
    assert_eq!(s.frames_remaining(), 0);
    assert_eq!(
        Sealer::new(
            CipherSuite::Aes128GcmSha256,
            0,
            BaseKey::new(*b"e").unwrap()
        )
        .frames_remaining(),
        1 << 32
    );
}

#[test]
fn duplicate_kid_and_secrets_not_in_debug() {
    let mut opener = Opener::new();
    opener
        .add_key(
            1,
            CipherSuite::Aes128GcmSha256,
            BaseKey::new(*b"secretsecret").unwrap(),
        )
        .unwrap();
    assert_eq!(
        opener.add_key(
            1,
            CipherSuite::Aes128GcmSha256,
            BaseKey::new(*b"x").unwrap()
        ),
        Err(FrameError::DuplicateKid(1))
    );
    assert!(opener.remove_key(1));
    assert!(!opener.has_key(1));
    let k = BaseKey::new(*b"secretsecret").unwrap();
    let dbg_key = format!("{k:?}");
    let dbg = format!(
        "{dbg_key} {:?} {opener:?}",
        Sealer::new(CipherSuite::Aes128GcmSha256, 1, k)
    );
    assert!(
        !dbg.contains("secret") && !dbg.contains("736563726574"),
        "{dbg}"
    );
    assert_eq!(BaseKey::new(Vec::new()).unwrap_err(), FrameError::EmptyKey);
}
