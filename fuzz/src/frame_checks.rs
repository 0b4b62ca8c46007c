//! Checks for hush-frame's open path (SPEC §2-§4, RFC 9605 §4.4).
//!
//! Shared by the `frame_open` fuzz target and by `crates/frame/tests/fuzz_replay.rs` (included
//! there with `#[path]`), so it uses only hush-frame and `bytes`.
//!
//! Input layout: `suite_byte || meta_len || metadata[meta_len] || frame`. The suite byte picks
//! one of [`CipherSuite::ALL`] (low 3 bits, modulo 6), the replay window (bit 3: a small
//! window derived from the metadata length) and the buffer type (bit 4: `BytesMut`).

use bytes::BytesMut;
use hush_frame::{
    BaseKey, CipherSuite, FrameBuffer, FrameError, Header, Opened, Opener, Sealer, inspect,
};

/// KIDs that hold a key in the fuzzed opener: every header length class is reachable.
pub const FUZZ_KIDS: [u64; 4] = [0, 7, 0x1234, u64::MAX];

/// The fixed base key of every fuzzed KID (the KID goes into the key schedule, so each KID
/// still gets its own key).
pub const FUZZ_BASE_KEY: [u8; 16] = *b"hush fuzz key 16";

fn opener(suite: CipherSuite, window: Option<u64>) -> Opener {
    let mut o = match window {
        Some(w) => match Opener::with_replay_window(w) {
            Ok(o) => o,
            Err(e) => {
                assert_eq!(e, FrameError::InvalidWindow(w));
                assert!(w == 0 || w > hush_frame::MAX_REPLAY_WINDOW);
                Opener::new()
            }
        },
        None => Opener::new(),
    };
    for kid in FUZZ_KIDS {
        match BaseKey::new(FUZZ_BASE_KEY.to_vec()) {
            Ok(key) => assert_eq!(o.add_key(kid, suite, key), Ok(())),
            Err(e) => panic!("fixed base key refused: {e:?}"),
        }
    }
    o
}

fn sealer(suite: CipherSuite, kid: u64, ctr: u64) -> Option<Sealer> {
    let key = BaseKey::new(FUZZ_BASE_KEY.to_vec()).ok()?;
    Some(Sealer::new(suite, kid, key).starting_at(ctr))
}

/// Opens `frame` with `opener` in a buffer of type `B`; checks the error contract.
fn open_in<B: FrameBuffer>(
    opener: &mut Opener,
    metadata: &[u8],
    mut buf: B,
    frame: &[u8],
) -> (Result<Opened, FrameError>, B) {
    let r = opener.open(metadata, &mut buf);
    match &r {
        Ok(opened) => {
            // Only possible for a real frame (or a lucky 4-byte tag): header must match.
            let (h, hlen) = match Header::decode(frame) {
                Ok(x) => x,
                Err(e) => panic!("opened a frame whose header does not decode: {e:?}"),
            };
            assert_eq!((opened.kid, opened.ctr), (h.kid, h.ctr));
            assert!(FUZZ_KIDS.contains(&opened.kid));
            assert!(buf.as_slice().len() < frame.len() - hlen + 1);
        }
        // Peer faults found before decrypting leave the buffer untouched.
        Err(
            FrameError::Header(_)
            | FrameError::Truncated { .. }
            | FrameError::UnknownKid(_)
            | FrameError::Replay { .. }
            | FrameError::TooOld { .. },
        ) => assert_eq!(buf.as_slice(), frame, "buffer changed on an early refusal"),
        Err(FrameError::Authentication) => {}
        Err(other) => panic!("open returned a local error for peer input: {other:?}"),
    }
    if let Err(FrameError::UnknownKid(kid)) = &r {
        assert!(!FUZZ_KIDS.contains(kid));
    }
    if let Err(FrameError::Header(e)) = &r {
        assert_eq!(inspect(frame).err(), Some(*e));
    }
    (r, buf)
}

/// `frame_open` target.
///
/// 1. An [`Opener`] with the fixed key for each of [`FUZZ_KIDS`] opens the arbitrary frame with
///    the arbitrary metadata: `Ok` or a typed peer error, never a panic, never a local error,
///    and the buffer untouched on every refusal made before decrypting.
/// 2. The frame bytes, used as a plaintext, are sealed under a KID and counter taken from the
///    input and opened by a fresh opener: the plaintext and (KID, CTR) come back; the same
///    frame again is a replay; with one bit flipped (position from the input) it is refused.
pub fn check_frame_open(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let suite = CipherSuite::ALL[usize::from(sel & 0x07) % CipherSuite::ALL.len()];
    let (meta_len, rest) = match rest.split_first() {
        Some((&n, rest)) => (usize::from(n), rest),
        None => (0, rest),
    };
    let meta_len = meta_len.min(rest.len());
    let (metadata, frame) = rest.split_at(meta_len);
    let window = (sel & 0x08 != 0).then_some(meta_len as u64);
    let use_bytes = sel & 0x10 != 0;

    // 1. Arbitrary bytes through the open path.
    let mut o = opener(suite, window);
    let r = if use_bytes {
        open_in(&mut o, metadata, BytesMut::from(frame), frame).0
    } else {
        open_in(&mut o, metadata, frame.to_vec(), frame).0
    };
    if r.is_ok() {
        // Opening the same bytes again must be a replay (the counter was committed).
        let (again, _) = open_in(&mut o, metadata, frame.to_vec(), frame);
        assert!(
            matches!(again, Err(FrameError::Replay { .. })),
            "second open of an accepted frame: {again:?}"
        );
    }

    // 2. Seal -> open round trip for an input-derived plaintext.
    let kid = FUZZ_KIDS[usize::from(sel >> 5) % FUZZ_KIDS.len()];
    let mut ctr_bytes = [0u8; 8];
    for (d, s) in ctr_bytes
        .iter_mut()
        .zip(metadata.iter().chain(frame.iter()))
    {
        *d = *s;
    }
    // Keep counters in every length class, including u64::MAX.
    let ctr = u64::from_be_bytes(ctr_bytes) >> (u32::from(sel) % 64);
    let Some(mut s) = sealer(suite, kid, ctr) else {
        panic!("fixed base key refused");
    };
    let plaintext = frame;
    let mut buf = plaintext.to_vec();
    let header = match s.seal(metadata, &mut buf) {
        Ok(h) => h,
        Err(e) => panic!("seal failed: {e:?}"),
    };
    assert_eq!((header.kid, header.ctr), (kid, ctr));
    let sealed = buf.clone();
    assert_eq!(
        sealed.len(),
        header.encoded_len() + plaintext.len() + suite.tag_len()
    );
    assert_eq!(
        inspect(&sealed),
        Ok((
            header,
            header.encoded_len(),
            plaintext.len() + suite.tag_len()
        ))
    );
    let mut o = opener(suite, window);
    match o.open(metadata, &mut buf) {
        Ok(opened) => assert_eq!((opened.kid, opened.ctr), (kid, ctr)),
        Err(e) => panic!("honest frame refused: {e:?}"),
    }
    assert_eq!(&buf[..], plaintext, "round trip changed the plaintext");
    let mut replay = sealed.clone();
    assert_eq!(
        o.open(metadata, &mut replay),
        Err(FrameError::Replay { kid, ctr })
    );

    // One flipped bit (in the frame or the metadata) must be refused by a fresh opener.
    let total_bits = (sealed.len() + metadata.len()) * 8;
    let bit = (ctr as usize ^ plaintext.len()) % total_bits;
    let mut tampered = sealed.clone();
    let mut meta = metadata.to_vec();
    if bit < sealed.len() * 8 {
        tampered[bit / 8] ^= 1 << (bit % 8);
    } else {
        let b = bit - sealed.len() * 8;
        meta[b / 8] ^= 1 << (b % 8);
    }
    let mut o = opener(suite, None);
    let r = o.open(&meta, &mut tampered);
    // A 4-byte tag (suite 0x0003) is forged with probability 2^-32 per try by design; every
    // other suite must refuse.
    if suite.tag_len() >= 8 {
        assert!(r.is_err(), "a tampered frame opened: {r:?}");
    }
    if let Err(e) = r {
        assert!(
            matches!(
                e,
                FrameError::Authentication
                    | FrameError::Header(_)
                    | FrameError::Truncated { .. }
                    | FrameError::UnknownKid(_)
            ),
            "tampered frame refused with {e:?}"
        );
    }
}
