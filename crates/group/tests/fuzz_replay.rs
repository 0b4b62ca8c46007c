//! Replays the fuzz seed corpus of the `group_decode` target (issue 7) through the very checks
//! the fuzz target runs (`fuzz/src/group_checks.rs`, included by path), so CI covers it on
//! stable without libFuzzer; plus "any bytes" proptests: the decoder is total and round-trips,
//! and a member or host given arbitrary bytes returns a typed error.
//!
//! `cargo test -p hush-group --test fuzz_replay -- --ignored write_group_decode_seeds`
//! (re)writes the hand-made seeds (`fuzz/seeds/group_decode/hand-*`): the messages of a real
//! meeting, framed as the fuzz target reads them.
#![allow(clippy::unwrap_used)]

#[path = "../../../fuzz/src/group_checks.rs"]
mod group_checks;
#[path = "../../../fuzz/src/seeds.rs"]
mod seeds;

use std::path::PathBuf;

use group_checks::{JOINER_RELAY, check_group, decode_round_trip, joiner_identity, setup};
use hush_group::{HostInput, Member, MemberConfig, Outgoing};
use proptest::prelude::*;

fn seed_dir() -> PathBuf {
    seeds::seed_dir("group_decode")
}

/// Frames `(flags, message)` chunks after a mode byte, as `check_group` reads them.
fn input(mode: u8, chunks: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![mode];
    for (flags, bytes) in chunks {
        out.push(*flags);
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

fn outgoing_bytes(o: &Outgoing) -> Vec<u8> {
    match o {
        Outgoing::Broadcast(b) | Outgoing::To(_, b) => b.clone(),
        _ => unreachable!(),
    }
}

fn hand_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // The next epoch's roster and key, exactly as the harness's host would send them.
    let mut m = setup(false);
    let epoch1 = {
        let light = setup(true);
        light.host.roster_bytes().to_vec()
    };
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    let msgs: Vec<Vec<u8>> = step.outgoing.iter().map(outgoing_bytes).collect();
    let chunks: Vec<(u8, &[u8])> = msgs.iter().map(|b| (0u8, b.as_slice())).collect();
    out.push(("hand-rekey".to_owned(), input(0, &chunks)));
    // The same, re-signed, then an old roster (rollback), then a clock jump.
    let resigned: Vec<(u8, &[u8])> = msgs.iter().map(|b| (1u8, b.as_slice())).collect();
    out.push(("hand-rekey-resigned".to_owned(), input(0, &resigned)));
    out.push((
        "hand-rollback".to_owned(),
        input(0, &[(0, &msgs[0]), (0xf8, &epoch1)]),
    ));
    // Light mode: a fresh member sees the first roster.
    out.push(("hand-light-roster".to_owned(), input(0x80, &[(0, &epoch1)])));
    // Requests to the host: hello, a real join request, leave and rekey from the member.
    let m = setup(false);
    let hello = m.member.hello();
    let mut joiner = Member::new(
        joiner_identity(),
        "Joiner",
        group_checks::ROOM,
        Some(m.host.identity()),
        MemberConfig::default(),
    )
    .unwrap();
    joiner.handle(100, m.host.roster_bytes(), 0).unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
    let join = joiner.join_request(&mut rng).unwrap();
    let rekey = m.member.rekey_request().unwrap();
    let mut leaver = setup(false);
    let leave = leaver.member.leave().unwrap();
    out.push(("hand-hello".to_owned(), input(0, &[(2, &hello)])));
    out.push(("hand-join".to_owned(), input(0, &[(2, &join)])));
    out.push(("hand-join-connector".to_owned(), input(0, &[(6, &join)])));
    out.push(("hand-rekey-request".to_owned(), input(0, &[(2, &rekey)])));
    out.push(("hand-leave".to_owned(), input(0, &[(2, &leave)])));
    out.push(("hand-leave-resigned".to_owned(), input(0, &[(3, &leave)])));
    out.push((
        "hand-timers".to_owned(),
        input(0, &[(0xfa, &[]), (0xfa, &[])]),
    ));
    // Whole-input decoding: every message type alone.
    for (name, msg) in [
        ("hello", hello.clone()),
        ("roster", epoch1.clone()),
        ("key", msgs[1].clone()),
        ("join", join.clone()),
        ("rekey", rekey.clone()),
        ("leave", leave.clone()),
    ] {
        out.push((format!("hand-raw-{name}"), msg));
    }
    out
}

#[test]
#[ignore = "writes fuzz/seeds/group_decode/hand-*; run on purpose"]
fn write_group_decode_seeds() {
    for (name, bytes) in hand_seeds() {
        std::fs::write(seed_dir().join(name), bytes).unwrap();
    }
}

#[test]
fn group_decode_seed_corpus_replays() {
    let seeds = seeds::seeds("group_decode");
    assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    for (path, bytes) in seeds {
        eprintln!("replaying {}", path.display());
        check_group(&bytes);
    }
}

#[test]
fn hand_seeds_reach_the_deep_paths() {
    // The seeds are only useful if they are accepted: the real join request is admitted,
    // the real rekey is applied by the member.
    let mut m = setup(false);
    let seeds = hand_seeds();
    let raw = |n: &str| seeds.iter().find(|(name, _)| name == n).unwrap().1.clone();
    let join = raw("hand-raw-join");
    assert!(decode_round_trip(&join).is_some());
    let r = m.host.handle(JOINER_RELAY, &join, &mut m.rng, 0).unwrap();
    assert!(matches!(r, HostInput::Join(_)));
    let mut m = setup(false);
    let step = m.host.rekey(&mut m.rng, 0).unwrap();
    for o in &step.outgoing {
        m.member.handle(100, &outgoing_bytes(o), 0).unwrap();
    }
    assert_eq!(m.member.epoch(), Some(3));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_to_a_message_or_a_typed_error(
        b in prop::collection::vec(any::<u8>(), 0..160)
    ) {
        let _ = decode_round_trip(&b);
    }

    #[test]
    fn any_version_and_type_byte_then_garbage_is_total(
        ty in any::<u8>(), b in prop::collection::vec(any::<u8>(), 0..200)
    ) {
        let mut bytes = vec![1, ty];
        bytes.extend_from_slice(&b);
        let _ = decode_round_trip(&bytes);
    }
}

proptest! {
    // Each case sets up a real meeting (HPKE, signatures): few cases.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn any_bytes_pass_the_group_checks(b in prop::collection::vec(any::<u8>(), 0..96)) {
        check_group(&b);
    }
}
