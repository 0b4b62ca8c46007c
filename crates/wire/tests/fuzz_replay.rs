//! Replays the fuzz seed corpora of the `sframe_header` and `wire_decode` targets (issue 7)
//! through the very checks the fuzz targets run (`fuzz/src/wire_checks.rs`, included by path),
//! so CI covers them on stable without libFuzzer; plus "any bytes" proptests of the same checks
//! and regression inputs.
#![allow(clippy::unwrap_used)]

#[path = "../../../fuzz/src/seeds.rs"]
mod seeds;
#[path = "../../../fuzz/src/wire_checks.rs"]
mod wire_checks;

use proptest::prelude::*;
use seeds::seeds;
use wire_checks::{check_sframe_header, check_wire};

fn replay(target: &str, check: fn(&[u8])) {
    let files = seeds(target);
    assert!(files.len() >= 10, "{target}: only {} seeds", files.len());
    for (path, bytes) in files {
        eprintln!("replaying {}", path.display());
        check(&bytes);
    }
}

#[test]
fn sframe_header_seed_corpus_replays() {
    replay("sframe_header", check_sframe_header);
}

#[test]
fn wire_decode_seed_corpus_replays() {
    replay("wire_decode", check_wire);
}

#[test]
fn fuzz_checks_catch_what_they_claim() {
    // The checks must be able to fail: a header that is not minimal is refused (no round
    // trip to assert), and every length class round-trips.
    check_sframe_header(&[0x80, 0x05]);
    check_sframe_header(&[0xff, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    check_wire(&[0x43, 1, 0, 0, 0, 0, 0, 0, 1, 2, b'x', b'y']);
    check_wire(&[0, 0, 0, 1, 0x42, 0, 0, 0, 2, 0x44]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_pass_the_sframe_header_checks(b in prop::collection::vec(any::<u8>(), 0..24)) {
        check_sframe_header(&b);
    }

    #[test]
    fn any_bytes_pass_the_wire_checks(b in prop::collection::vec(any::<u8>(), 0..96)) {
        check_wire(&b);
    }
}
