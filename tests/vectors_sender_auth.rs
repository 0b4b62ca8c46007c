//! Known-answer vectors of sender authentication (SPEC §14.5): the committed
//! `vectors/sender-auth.json` must match this implementation, recomputed from its inputs.
//! `HUSH_REGENERATE_VECTORS=1 cargo test --test vectors_sender_auth` rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hush_frame::auth::{NOT_MEDIA, VouchList};
use hush_frame::{BaseKey, CipherSuite, Sealer, frame_digest};
use hush_group::Identity;
use hush_group::sender_auth::data_signature_input;
use serde_json::{Value, json};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/sender-auth.json");
const ROOM: &str = "kat-room";

/// Every vector, computed from the inputs it lists.
fn compute() -> Value {
    let mut digests = Vec::new();
    for (suite, kid, ctr, plain) in [
        (
            CipherSuite::Aes128GcmSha256,
            0x1_0001u64,
            0u64,
            &b"audio frame"[..],
        ),
        (CipherSuite::ChaCha20Poly1305Sha256, 0x2_0003, 77, &b""[..]),
        (
            CipherSuite::Aes256GcmSha512,
            0x3_0002,
            1 << 40,
            &[0xabu8; 300][..],
        ),
    ] {
        let key = [0x11u8; 32];
        let mut sealer =
            Sealer::new(suite, kid, BaseKey::new(key.to_vec()).unwrap()).starting_at(ctr);
        let mut frame = plain.to_vec();
        sealer.seal(b"", &mut frame).unwrap();
        digests.push(json!({
            "suite": suite.id(), "base_key": hex::encode(key), "kid": kid, "ctr": ctr,
            "plaintext": hex::encode(plain), "sealed": hex::encode(&frame),
            "digest": hex::encode(frame_digest(&frame)),
        }));
    }
    let list = VouchList {
        first_ctr: 40,
        digests: vec![[1, 2, 3, 4, 5, 6, 7, 8], NOT_MEDIA, [0xff; 8]],
    };
    let vouch = json!({
        "first_ctr": list.first_ctr,
        "digests": list.digests.iter().map(hex::encode).collect::<Vec<_>>(),
        "encoded": hex::encode(list.encode()),
    });
    let mut signed = Vec::new();
    for (seed, kid, ctr, body) in [
        ([0x22u8; 32], 0x1_0001u64, 3u64, b"\x01hello".to_vec()),
        ([0x33u8; 32], 0x5_0002, 1 << 33, {
            let mut b = vec![0x07];
            b.extend(list.encode());
            b
        }),
    ] {
        let id = Identity::from_secret_bytes(&seed);
        signed.push(json!({
            "identity_seed": hex::encode(seed), "identity_pk": id.public().to_hex(),
            "room": ROOM, "kid": kid, "ctr": ctr, "body": hex::encode(&body),
            "signature_input": hex::encode(data_signature_input(ROOM, kid, ctr, &body)),
            "signature": hex::encode(id.sign_data(ROOM, kid, ctr, &body)),
        }));
    }
    json!({ "digest": digests, "vouch": vouch, "signed_data": signed })
}

/// Checks `v` against the implementation: every output recomputed from the vector's inputs.
fn verify(v: &Value) -> Result<(), String> {
    let want = compute();
    for part in ["digest", "vouch", "signed_data"] {
        if v[part] != want[part] {
            return Err(format!("{part} differs"));
        }
    }
    // The encoded vouch parses back to its fields, and each signature verifies.
    let enc = hex::decode(v["vouch"]["encoded"].as_str().unwrap()).unwrap();
    let list = VouchList::decode(&enc).map_err(|e| e.to_string())?;
    if list.first_ctr != v["vouch"]["first_ctr"].as_u64().unwrap() {
        return Err("vouch first_ctr".into());
    }
    for s in v["signed_data"].as_array().unwrap() {
        let pk: [u8; 32] = hex::decode(s["identity_pk"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let sig: [u8; 64] = hex::decode(s["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let body = hex::decode(s["body"].as_str().unwrap()).unwrap();
        let (kid, ctr) = (s["kid"].as_u64().unwrap(), s["ctr"].as_u64().unwrap());
        if !hush_group::IdentityKey(pk).verify_data(ROOM, kid, ctr, &body, &sig) {
            return Err("a signature does not verify".into());
        }
    }
    Ok(())
}

fn committed() -> Value {
    if std::env::var_os("HUSH_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&compute()).unwrap() + "\n",
        )
        .unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap()
}

#[test]
fn committed_sender_auth_vectors_match() {
    let v = committed();
    assert_eq!(v["digest"].as_array().unwrap().len(), 3);
    assert_eq!(v["signed_data"].as_array().unwrap().len(), 2);
    verify(&v).unwrap();
}

#[test]
fn a_wrong_sender_auth_vector_is_caught() {
    let v = committed();
    for (part, field) in [
        ("digest", "digest"),
        ("digest", "sealed"),
        ("signed_data", "signature"),
        ("signed_data", "signature_input"),
    ] {
        let mut bad = v.clone();
        let s = bad[part][0][field].as_str().unwrap().to_owned();
        let first = if s.starts_with('0') { "1" } else { "0" };
        bad[part][0][field] = Value::String(format!("{first}{}", &s[1..]));
        assert!(
            verify(&bad).is_err(),
            "{part}.{field}: a wrong vector was accepted"
        );
    }
    let mut bad = v.clone();
    bad["vouch"]["encoded"] = Value::String("00".repeat(10));
    assert!(verify(&bad).is_err());
}
