//! Known-answer tests of the internals against RFC 9605 Appendix C
//! (`tests/data/rfc9605-sframe.json`): the key schedule and the AES-CTR-HMAC AEAD.

use serde_json::Value;

use crate::backend;
use crate::key::{self, BaseKey};
use crate::{CipherSuite, NONCE_LEN};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../tests/data/rfc9605-sframe.json")).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn suite(v: &Value) -> CipherSuite {
    CipherSuite::from_id(v["cipher_suite"].as_u64().unwrap() as u16).unwrap()
}

#[test]
fn key_schedule_and_nonce() {
    let all = vectors();
    let cases = all["sframe"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for v in cases {
        let s = suite(v);
        let kid = v["kid"].as_u64().unwrap();
        let ctr = v["ctr"].as_u64().unwrap();
        let ks = key::derive(s, kid, &BaseKey::new(hx(&v["base_key"])).unwrap());
        assert_eq!(ks.key, hx(&v["sframe_key"]), "{s}");
        assert_eq!(ks.salt.to_vec(), hx(&v["sframe_salt"]), "{s}");
        assert_eq!(key::nonce(&ks.salt, ctr).to_vec(), hx(&v["nonce"]), "{s}");
    }
}

#[test]
fn aes_ctr_hmac_aead() {
    let all = vectors();
    let cases = all["aes_ctr_hmac"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for v in cases {
        let s = suite(v);
        let key = hx(&v["key"]);
        let nonce: [u8; NONCE_LEN] = hx(&v["nonce"]).try_into().unwrap();
        let aad = hx(&v["aad"]);
        let pt = hx(&v["pt"]);
        let ct = hx(&v["ct"]);
        let aead = backend::new(s, &key);

        let mut data = pt.clone();
        let mut tag = vec![0u8; s.tag_len()];
        aead.seal(&nonce, &aad, &mut data, &mut tag).unwrap();
        data.extend_from_slice(&tag);
        assert_eq!(data, ct, "{s} seal");

        let mut buf = ct.clone();
        let n = aead.open(&nonce, &aad, &mut buf).unwrap();
        assert_eq!(&buf[..n], &pt[..], "{s} open");

        let mut bad = ct.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(aead.open(&nonce, &aad, &mut bad).is_err(), "{s} forged tag");
    }
}
