//! Checks for sender authentication (SPEC §14): the vouch decoder and a sender-authenticated
//! `Opener` driven by arbitrary input.
//!
//! Shared by the `vouch` fuzz target and by `crates/frame/tests/fuzz_replay.rs` (included there
//! with `#[path]`), so it uses only hush-frame.
//!
//! The input is read as a list of operations on one sender key (KID 7): `0x00 ctr(2) len(1)`
//! seals a genuine frame under counter `ctr` and keeps it; `0x01 i(1)` delivers kept frame `i`;
//! `0x02 ctr(2) len(1)` delivers a forgery (same key, other plaintext) under `ctr`; `0x03
//! first(2) n(1)` applies the sender's true vouch for the counters `first .. first + n`;
//! anything else tries the rest of the input as an encoded vouch.

use hush_frame::auth::{NOT_MEDIA, VouchList};
use hush_frame::{BaseKey, CipherSuite, FrameError, Opener, Sealer, SenderAuth, frame_digest};
use std::collections::HashMap;

const KID: u64 = 7;

fn sealer_at(ctr: u64) -> Sealer {
    match BaseKey::new(b"hush fuzz auth key".to_vec()) {
        Ok(k) => Sealer::new(CipherSuite::Aes128GcmSha256, KID, k).starting_at(ctr),
        Err(e) => panic!("fixed key refused: {e:?}"),
    }
}

fn seal(ctr: u64, fill: u8, len: usize) -> Vec<u8> {
    let mut b = vec![fill; len];
    if let Err(e) = sealer_at(ctr).seal(b"", &mut b) {
        panic!("seal failed: {e:?}");
    }
    b
}

/// `VouchList::decode` never panics; what it accepts re-encodes to the same bytes.
pub fn check_vouch_decode(data: &[u8]) {
    if let Ok(l) = VouchList::decode(data) {
        assert_eq!(l.encode(), data);
        assert!(!l.digests.is_empty() && l.digests.len() <= 1024);
        assert!(l.first_ctr.checked_add(l.digests.len() as u64).is_some());
    }
}

/// Invariants of a sender-authenticated opener under any sequence of genuine frames, forgeries,
/// true vouches and arbitrary vouch bytes: no panic; a forgery is never delivered as
/// `Vouched`; a genuine frame is never refused as `Forged`; a frame delivered `Vouched` is a
/// replay the next time.
pub fn check_sender_record(data: &[u8]) {
    check_vouch_decode(data);
    let mut o = Opener::new();
    let key = match BaseKey::new(b"hush fuzz auth key".to_vec()) {
        Ok(k) => k,
        Err(e) => panic!("fixed key refused: {e:?}"),
    };
    assert_eq!(
        o.add_sender_key(KID, CipherSuite::Aes128GcmSha256, key),
        Ok(())
    );
    // The sender's truth: counter -> digest of the genuine frame, and the frames kept.
    let mut genuine: HashMap<u64, [u8; 8]> = HashMap::new();
    let mut kept: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut forged_at: HashMap<u64, [u8; 8]> = HashMap::new();
    // Counters a true vouch covered: the sender never seals under them afterwards.
    let mut vouched = std::collections::HashSet::new();
    let mut i = 0;
    while i < data.len() {
        let op = data[i];
        let arg = |k: usize| data.get(i + 1 + k).copied().unwrap_or(0);
        let ctr = u64::from(u16::from_be_bytes([arg(0), arg(1)]));
        match op {
            0x00 if vouched.contains(&ctr) && !genuine.contains_key(&ctr) => i += 4,
            0x00 => {
                let f = seal(ctr, 0x47, usize::from(arg(2) % 64));
                genuine.entry(ctr).or_insert_with(|| frame_digest(&f));
                if genuine.get(&ctr) == Some(&frame_digest(&f)) {
                    kept.push((ctr, f));
                }
                i += 4;
            }
            0x01 => {
                if !kept.is_empty() {
                    let (c, f) = kept[usize::from(arg(0)) % kept.len()].clone();
                    let mut b = f.clone();
                    match o.open(b"", &mut b) {
                        Ok(op) => {
                            assert_eq!(op.ctr, c);
                            if op.auth == SenderAuth::Vouched {
                                let mut again = f.clone();
                                assert!(matches!(
                                    o.open(b"", &mut again),
                                    Err(FrameError::Replay { .. })
                                ));
                            }
                        }
                        Err(FrameError::Forged { .. }) => {
                            panic!("a genuine frame (ctr {c}) was refused as forged")
                        }
                        Err(_) => {}
                    }
                }
                i += 2;
            }
            0x02 => {
                let f = seal(ctr, 0x66, 1 + usize::from(arg(2) % 64));
                let d = frame_digest(&f);
                if genuine.get(&ctr) != Some(&d) {
                    forged_at.insert(ctr, d);
                    let mut b = f;
                    if let Ok(op) = o.open(b"", &mut b) {
                        assert_ne!(op.auth, SenderAuth::Vouched, "forgery vouched at {ctr}");
                    }
                }
                i += 4;
            }
            0x03 => {
                let n = usize::from(arg(2) % 32) + 1;
                let digests = (ctr..ctr + n as u64)
                    .map(|c| genuine.get(&c).copied().unwrap_or(NOT_MEDIA))
                    .collect();
                let list = VouchList {
                    first_ctr: ctr,
                    digests,
                };
                vouched.extend(ctr..ctr + n as u64);
                assert!(o.vouch(KID, &list).is_ok());
                let (reports, _) = o.take_forgeries();
                for r in reports {
                    assert_eq!(r.kid, KID);
                    assert!(
                        forged_at.contains_key(&r.ctr),
                        "a genuine frame reported forged"
                    );
                }
                i += 4;
            }
            _ => {
                // Arbitrary vouch bytes are only ever applied by the caller after a signature
                // verified; here they just must not break the record.
                if let Ok(l) = VouchList::decode(&data[i + 1..]) {
                    let _ = o.vouch(KID, &l);
                    let _ = o.take_forgeries();
                }
                break;
            }
        }
    }
}
