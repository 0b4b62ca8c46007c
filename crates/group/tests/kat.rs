//! Known-answer vectors (SPEC §8-§10): the committed JSON must match this implementation.
//! `HUSH_REGENERATE_VECTORS=1 cargo test -p hush-group --test kat` rewrites it.
#![allow(clippy::unwrap_used)]

use rand::SeedableRng;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/group_vectors.json");

#[test]
fn committed_vectors_match() {
    if std::env::var_os("HUSH_REGENERATE_VECTORS").is_some() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        let v = hush_group::kat::generate(&mut rng).unwrap();
        std::fs::write(PATH, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(PATH).unwrap();
    let v: hush_group::kat::Vectors = serde_json::from_str(&text).unwrap();
    assert_eq!(v.key_schedule.len(), 3);
    assert_eq!(v.roster.len(), 3);
    assert_eq!(v.epoch_key.len(), 3);
    hush_group::kat::verify(&v).unwrap();
    // The checker must be able to fail: a one-digit change is caught.
    let flip = |s: &str| {
        let first = if s.starts_with('0') { "1" } else { "0" };
        format!("{first}{}", &s[1..])
    };
    let mut bad = v.clone();
    bad.security_code[0].code = flip(&v.security_code[0].code);
    assert!(hush_group::kat::verify(&bad).is_err());
    let mut bad = v.clone();
    bad.key_schedule[1].senders[2].base_key = flip(&v.key_schedule[1].senders[2].base_key);
    assert!(hush_group::kat::verify(&bad).is_err());
    let mut bad = v;
    bad.roster[1].members[1].name = "Alicf".into();
    assert!(hush_group::kat::verify(&bad).is_err());
}
