//! The buffer paths agree (SPEC §4): `seal` and `seal_into` on `Vec`, `BytesMut` and a buffer
//! that only implements the required `FrameBuffer` methods write the same frame; `open`,
//! `open_in_place` and every buffer give back the same plaintext. And the key table finds the
//! right key among many, in any order, after removals.
#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use hush_frame::{BaseKey, CipherSuite, FrameBuffer, FrameError, Opener, Sealer};
use proptest::prelude::*;

/// A buffer with only the required methods, so the trait's default bodies run.
struct Plain(Vec<u8>);

impl FrameBuffer for Plain {
    fn as_slice(&self) -> &[u8] {
        &self.0
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }
    fn resize_to(&mut self, len: usize) {
        self.0.resize(len, 0);
    }
}

fn any_suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

fn sealer(suite: CipherSuite, kid: u64, ctr: u64) -> Sealer {
    Sealer::new(suite, kid, BaseKey::new(*b"buffer paths key").unwrap()).starting_at(ctr)
}

fn opener(suite: CipherSuite, kid: u64) -> Opener {
    let mut o = Opener::new();
    o.add_key(kid, suite, BaseKey::new(*b"buffer paths key").unwrap())
        .unwrap();
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_path_makes_and_reads_the_same_frame(
        suite in any_suite(),
        kid in any::<u64>(),
        ctr in 0u64..u64::MAX,
        metadata in prop::collection::vec(any::<u8>(), 0..40),
        payload in prop::collection::vec(any::<u8>(), 0..1500),
        stale in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // The reference: in-place seal on a Vec.
        let mut reference = payload.clone();
        sealer(suite, kid, ctr).seal(&metadata, &mut reference).unwrap();

        // seal_into replaces whatever the output held.
        let mut v = stale.clone();
        sealer(suite, kid, ctr).seal_into(&metadata, &payload, &mut v).unwrap();
        prop_assert_eq!(&v, &reference);
        let mut bm = BytesMut::from(&stale[..]);
        sealer(suite, kid, ctr).seal_into(&metadata, &payload, &mut bm).unwrap();
        prop_assert_eq!(&bm[..], &reference[..]);
        let mut plain = Plain(stale.clone());
        sealer(suite, kid, ctr).seal_into(&metadata, &payload, &mut plain).unwrap();
        prop_assert_eq!(&plain.0, &reference);
        let mut plain_in_place = Plain(payload.clone());
        sealer(suite, kid, ctr).seal(&metadata, &mut plain_in_place).unwrap();
        prop_assert_eq!(&plain_in_place.0, &reference);

        // Every way of opening gives the payload back (each opener sees the frame once).
        let want = hush_frame::Opened { kid, ctr, auth: hush_frame::SenderAuth::Group };
        prop_assert_eq!(opener(suite, kid).open(&metadata, &mut v).unwrap(), want);
        prop_assert_eq!(&v, &payload);
        prop_assert_eq!(opener(suite, kid).open(&metadata, &mut bm).unwrap(), want);
        prop_assert_eq!(&bm[..], &payload[..]);
        prop_assert_eq!(opener(suite, kid).open(&metadata, &mut plain).unwrap(), want);
        prop_assert_eq!(&plain.0, &payload);
        let mut frame = reference.clone();
        let h = hush_frame::inspect(&frame).unwrap().1;
        let mut o = opener(suite, kid);
        let (opened, pt) = o.open_in_place(&metadata, &mut frame).unwrap();
        prop_assert_eq!(opened, want);
        prop_assert_eq!(&pt[..], &payload[..]);
        // In place: the plaintext sits right after the header, which is untouched.
        prop_assert_eq!(&frame[..h], &reference[..h]);
        prop_assert_eq!(&frame[h..h + payload.len()], &payload[..]);
        // And the window was committed: the same frame again is a replay.
        let mut again = reference.clone();
        let replay = o.open_in_place(&metadata, &mut again).unwrap_err();
        prop_assert!(matches!(replay, FrameError::Replay { .. }), "{replay:?}");
        prop_assert_eq!(&again, &reference);
    }

    #[test]
    fn many_keys_any_order(
        kids in prop::collection::btree_set(any::<u64>(), 1..40),
        order in prop::collection::vec(any::<prop::sample::Index>(), 1..120),
        removed in any::<prop::sample::Index>(),
    ) {
        let suite = CipherSuite::Aes128GcmSha256;
        let kids: Vec<u64> = kids.into_iter().collect();
        let mut sealers: Vec<Sealer> = kids
            .iter()
            .map(|&k| Sealer::new(suite, k, BaseKey::new(k.to_be_bytes()).unwrap()))
            .collect();
        let mut o = Opener::new();
        // Insert in reverse so the table has to keep itself sorted.
        for &k in kids.iter().rev() {
            o.add_key(k, suite, BaseKey::new(k.to_be_bytes()).unwrap()).unwrap();
        }
        for i in &order {
            let i = i.index(kids.len());
            let mut buf = BytesMut::from(&kids[i].to_le_bytes()[..]);
            sealers[i].seal(b"", &mut buf).unwrap();
            let opened = o.open(b"", &mut buf).unwrap();
            prop_assert_eq!(opened.kid, kids[i]);
            prop_assert_eq!(&buf[..], &kids[i].to_le_bytes()[..]);
        }
        let gone = removed.index(kids.len());
        prop_assert!(o.remove_key(kids[gone]));
        prop_assert!(!o.remove_key(kids[gone]));
        prop_assert!(!o.has_key(kids[gone]));
        for (i, s) in sealers.iter_mut().enumerate() {
            let mut buf = vec![1, 2, 3];
            s.seal(b"", &mut buf).unwrap();
            let got = o.open(b"", &mut buf);
            if i == gone {
                prop_assert!(matches!(got, Err(FrameError::UnknownKid(k)) if k == kids[gone]));
            } else {
                prop_assert_eq!(got.unwrap().kid, kids[i]);
                prop_assert!(o.has_key(kids[i]));
            }
        }
    }
}

#[test]
fn seal_into_refuses_when_exhausted_and_leaves_out_alone() {
    let suite = CipherSuite::ChaCha20Poly1305Sha256;
    let mut s = sealer(suite, 1, 0).with_frame_limit(1);
    let mut out = vec![9u8; 5];
    s.seal_into(b"", b"one", &mut out).unwrap();
    let mut out2 = vec![9u8; 5];
    assert!(matches!(
        s.seal_into(b"", b"two", &mut out2),
        Err(FrameError::KeyExhausted)
    ));
    assert_eq!(out2, vec![9u8; 5]);
}

#[test]
fn bytesmut_reused_after_open_keeps_working() {
    // `open` advances a BytesMut past the header; the next frame written into it must not
    // see stale bytes and must round-trip.
    let suite = CipherSuite::Aes128GcmSha256;
    let mut s = sealer(suite, 3, 0);
    let mut o = opener(suite, 3);
    let mut buf = BytesMut::with_capacity(64);
    for n in [10usize, 40, 3, 0, 50, 1] {
        let pt: Vec<u8> = (0..n as u8).collect();
        s.seal_into(b"md", &pt, &mut buf).unwrap();
        o.open(b"md", &mut buf).unwrap();
        assert_eq!(&buf[..], &pt[..]);
        // In-place seal of what the buffer now holds.
        s.seal(b"", &mut buf).unwrap();
        o.open(b"", &mut buf).unwrap();
        assert_eq!(&buf[..], &pt[..]);
    }
}
