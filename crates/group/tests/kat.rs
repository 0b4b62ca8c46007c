//! Known-answer vectors (SPEC §8-§10, §9.6): the committed `vectors/group.json` must match this
//! implementation, recomputed from its inputs.
//! `HUSH_REGENERATE_VECTORS=1 cargo test -p hush-group --test kat` rewrites it.
#![allow(clippy::unwrap_used)]

use hush_group::kat::{Vectors, verify};
use rand::SeedableRng;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/group.json");

/// The committed vectors (rewritten first, once, under `HUSH_REGENERATE_VECTORS`).
fn committed() -> Vectors {
    static REGENERATE: std::sync::Once = std::sync::Once::new();
    REGENERATE.call_once(|| {
        if std::env::var_os("HUSH_REGENERATE_VECTORS").is_some() {
            let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
            let v = hush_group::kat::generate(&mut rng).unwrap();
            std::fs::write(PATH, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        }
    });
    let text = std::fs::read_to_string(PATH).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Changes the first hex digit (or digit) of `s`.
fn flip(s: &str) -> String {
    let first = if s.starts_with('0') { "1" } else { "0" };
    format!("{first}{}", &s[1..])
}

/// `edit` spoils one vector: `verify` must notice.
fn refused(v: &Vectors, what: &str, edit: impl FnOnce(&mut Vectors)) {
    let mut bad = v.clone();
    edit(&mut bad);
    assert_ne!(&bad, v, "{what}: the edit changed nothing");
    assert!(verify(&bad).is_err(), "{what}: a wrong vector was accepted");
}

#[test]
fn committed_vectors_match() {
    let v = committed();
    assert_eq!(v.key_schedule.len(), 3);
    assert_eq!(v.roster.len(), 3);
    assert_eq!(v.epoch_key.len(), 3);
    assert_eq!(v.join_name.len(), 3);
    assert_eq!(v.name_padding.len(), 6);
    assert_eq!(v.invalid_hpke_pk.len(), 16);
    assert!(v.display_name.iter().any(|d| d.refused.is_none()));
    assert!(v.display_name.iter().any(|d| d.refused.is_some()));
    assert_eq!(v.fingerprint.len(), 3);
    verify(&v).unwrap();
}

#[test]
fn a_wrong_vector_is_caught() {
    let v = committed();
    refused(&v, "security code", |b| {
        b.security_code[0].code = flip(&b.security_code[0].code)
    });
    refused(&v, "base key", |b| {
        b.key_schedule[1].senders[2].base_key = flip(&b.key_schedule[1].senders[2].base_key)
    });
    refused(&v, "names key", |b| {
        b.key_schedule[0].names_key = flip(&b.key_schedule[0].names_key)
    });
    refused(&v, "roster name", |b| {
        b.roster[1].members[1].name = "Alicf".into()
    });
    refused(&v, "roster bytes", |b| {
        b.roster[2].roster = flip(&b.roster[2].roster)
    });
    refused(&v, "roster names key", |b| {
        b.roster[0].names_key = flip(&b.roster[0].names_key)
    });
    refused(&v, "roster sender key", |b| {
        b.roster[1].senders[2].base_key = flip(&b.roster[1].senders[2].base_key)
    });
    refused(&v, "roster HPKE public key", |b| {
        b.roster[2].members[1].hpke_public = flip(&b.roster[2].members[1].hpke_public)
    });
    refused(&v, "welcome info", |b| {
        b.welcome[1].info = flip(&b.welcome[1].info)
    });
    refused(&v, "welcome message", |b| {
        let m = &mut b.welcome[0].message;
        let n = m.len();
        m.replace_range(n - 2.., if m.ends_with('0') { "11" } else { "00" });
    });
    refused(&v, "roster name salt", |b| {
        b.roster[1].members[2].name_salt = flip(&b.roster[1].members[2].name_salt)
    });
    refused(&v, "sealed name", |b| {
        b.roster[0].names[0] = flip(&b.roster[0].names[0])
    });
    refused(&v, "commit message", |b| {
        b.commit[0].message = flip(&b.commit[0].message)
    });
    refused(&v, "ratcheted secret", |b| {
        b.commit[1].epoch_secret = flip(&b.commit[1].epoch_secret)
    });
    refused(&v, "commit roster hash", |b| {
        b.commit[1].roster_hash = flip(&b.commit[1].roster_hash)
    });
    refused(&v, "epoch key message", |b| {
        let m = &mut b.epoch_key[2].message;
        let n = m.len();
        m.replace_range(n - 2.., if m.ends_with('0') { "11" } else { "00" });
    });
    refused(&v, "join name info", |b| {
        b.join_name[0].info = flip(&b.join_name[0].info)
    });
    refused(&v, "join padded name", |b| {
        b.join_name[2].padded_name = flip(&b.join_name[2].padded_name)
    });
    refused(&v, "join message", |b| {
        b.join_name[1].message = flip(&b.join_name[1].message)
    });
    refused(&v, "name padding", |b| {
        // A 31-byte name padded to 64 bytes instead of 32.
        b.name_padding[3].padded.push_str(&"00".repeat(32))
    });
    refused(&v, "invalid key replaced by a valid one", |b| {
        b.invalid_hpke_pk[0].public_key = "09".to_owned() + &"00".repeat(31)
    });
    refused(&v, "display name refusal", |b| {
        let d = b
            .display_name
            .iter_mut()
            .find(|d| d.refused.is_some())
            .unwrap();
        d.refused = None;
    });
    refused(&v, "display name escape", |b| {
        let d = b
            .display_name
            .iter_mut()
            .find(|d| d.escaped.contains("\\x1b"))
            .unwrap();
        d.escaped = d.escaped.replace("\\x1b", "\x1b");
    });
    refused(&v, "fingerprint", |b| {
        b.fingerprint[1].fingerprint = b.fingerprint[1].fingerprint.replacen(' ', "", 1)
    });
}
