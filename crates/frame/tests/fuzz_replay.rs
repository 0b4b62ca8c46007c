//! Replays the fuzz seed corpus of the `frame_open` target (issue 7) through the very checks
//! the fuzz target runs (`fuzz/src/frame_checks.rs`, included by path), so CI covers it on
//! stable without libFuzzer; plus an "any bytes" proptest of the same check.
//!
//! `cargo test -p hush-frame --test fuzz_replay -- --ignored write_frame_open_seeds` (re)writes
//! the hand-made seeds (`fuzz/seeds/frame_open/hand-*`): real sealed frames for every suite.
#![allow(clippy::unwrap_used)]

#[path = "../../../fuzz/src/auth_checks.rs"]
mod auth_checks;
#[path = "../../../fuzz/src/frame_checks.rs"]
mod frame_checks;
#[path = "../../../fuzz/src/seeds.rs"]
mod seeds;

use std::path::PathBuf;

use frame_checks::{FUZZ_BASE_KEY, FUZZ_KIDS, check_frame_open};
use hush_frame::{BaseKey, CipherSuite, Sealer};
use proptest::prelude::*;

fn seed_dir() -> PathBuf {
    seeds::seed_dir("frame_open")
}

/// A `frame_open` input whose frame is a real frame sealed under the fuzzed key.
fn sealed_input(sel: u8, kid: u64, ctr: u64, metadata: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let suite = CipherSuite::ALL[usize::from(sel & 7) % CipherSuite::ALL.len()];
    let mut s =
        Sealer::new(suite, kid, BaseKey::new(FUZZ_BASE_KEY.to_vec()).unwrap()).starting_at(ctr);
    let mut buf = plaintext.to_vec();
    s.seal(metadata, &mut buf).unwrap();
    let mut input = vec![sel, metadata.len() as u8];
    input.extend_from_slice(metadata);
    input.extend_from_slice(&buf);
    input
}

fn hand_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, kid) in FUZZ_KIDS.into_iter().enumerate() {
        for s in 0..6u8 {
            let ctr = [0u64, 5, 300, u64::MAX][i];
            let meta: &[u8] = if s % 2 == 0 { b"" } else { b"room-1" };
            let input = sealed_input(s | ((i as u8) << 5), kid, ctr, meta, b"hello, frame");
            out.push((format!("hand-kid{i}-suite{s}"), input));
        }
    }
    out
}

#[test]
#[ignore = "writes fuzz/seeds/frame_open/hand-*; run on purpose"]
fn write_frame_open_seeds() {
    for (name, bytes) in hand_seeds() {
        std::fs::write(seed_dir().join(name), bytes).unwrap();
    }
}

#[test]
fn frame_open_seed_corpus_replays() {
    let seeds = seeds::seeds("frame_open");
    assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    for (path, bytes) in seeds {
        eprintln!("replaying {}", path.display());
        check_frame_open(&bytes);
    }
}

#[test]
fn real_frames_open_in_the_fuzz_check() {
    // A genuine frame goes through the "opened" branch (replay refused on the second open).
    for (_, input) in hand_seeds() {
        check_frame_open(&input);
    }
}

/// A scenario through every branch of the `vouch` check: genuine frames, a forgery before and
/// after the vouch, replays, a true vouch, then raw vouch bytes.
#[test]
fn the_vouch_check_runs_a_whole_scenario() {
    let mut input = Vec::new();
    for c in 0..6u16 {
        input.extend_from_slice(&[0x00, 0, c as u8, 10]);
    }
    input.extend_from_slice(&[0x02, 0, 2, 5]); // forgery under 2, before 2 arrives
    for k in 0..6u8 {
        input.extend_from_slice(&[0x01, k]);
    }
    input.extend_from_slice(&[0x01, 3]); // a replay
    input.extend_from_slice(&[0x03, 0, 0, 7]); // true vouch for 0..8
    input.extend_from_slice(&[0x02, 0, 4, 9]); // forgery under a vouched counter
    input.extend_from_slice(&[0x00, 0, 9, 3, 0x01, 6, 0x03, 0, 9, 0]);
    input.push(0xff);
    input.extend_from_slice(&VouchListBytes::one(9));
    auth_checks::check_sender_record(&input);
}

struct VouchListBytes;

impl VouchListBytes {
    fn one(ctr: u64) -> Vec<u8> {
        hush_frame::VouchList {
            first_ctr: ctr,
            digests: vec![[1; 8]],
        }
        .encode()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_operations_keep_the_sender_record_honest(
        ops in prop::collection::vec((0u8..4, 0u8..24, any::<u8>()), 0..80)
    ) {
        let mut input = Vec::new();
        for (op, c, x) in ops {
            match op {
                1 => input.extend_from_slice(&[1, x]),
                _ => input.extend_from_slice(&[op, 0, c, x]),
            }
        }
        auth_checks::check_sender_record(&input);
    }

    #[test]
    fn any_bytes_pass_the_vouch_checks(b in prop::collection::vec(any::<u8>(), 0..64)) {
        auth_checks::check_sender_record(&b);
    }

    #[test]
    fn any_bytes_pass_the_frame_open_checks(b in prop::collection::vec(any::<u8>(), 0..96)) {
        check_frame_open(&b);
    }
}
