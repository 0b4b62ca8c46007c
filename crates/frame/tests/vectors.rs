//! RFC 9605 Appendix C vectors (`tests/data/rfc9605-sframe.json`) through the public API:
//! the `header` section and the end-to-end `sframe` section, for every suite.
#![allow(clippy::unwrap_used)]

use hush_frame::{BaseKey, CipherSuite, Header, Opener, Sealer};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfc9605-sframe.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn header_vectors() {
    let all = vectors();
    let cases = all["header"].as_array().unwrap();
    assert!(cases.len() > 200);
    for v in cases {
        let h = Header::new(v["kid"].as_u64().unwrap(), v["ctr"].as_u64().unwrap());
        let encoded = hx(&v["encoded"]);
        let mut out = [0u8; hush_frame::MAX_HEADER_LEN];
        let n = h.encode(&mut out).unwrap();
        assert_eq!(&out[..n], &encoded[..], "{h:?}");
        assert_eq!(h.encoded_len(), encoded.len());
        // Decoding ignores what follows the header.
        let mut with_tail = encoded.clone();
        with_tail.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(Header::decode(&with_tail).unwrap(), (h, encoded.len()));
        // Every strict prefix is truncated.
        for cut in 0..encoded.len() {
            assert!(matches!(
                Header::decode(&encoded[..cut]),
                Err(hush_frame::HeaderError::Truncated { .. })
            ));
        }
    }
}

#[test]
fn sframe_vectors_seal_and_open() {
    let all = vectors();
    let cases = all["sframe"].as_array().unwrap();
    let mut seen = Vec::new();
    for v in cases {
        let suite = CipherSuite::from_id(v["cipher_suite"].as_u64().unwrap() as u16).unwrap();
        seen.push(suite);
        let kid = v["kid"].as_u64().unwrap();
        let ctr = v["ctr"].as_u64().unwrap();
        let base = hx(&v["base_key"]);
        let metadata = hx(&v["metadata"]);
        let pt = hx(&v["pt"]);
        let ct = hx(&v["ct"]);

        let mut sealer =
            Sealer::new(suite, kid, BaseKey::new(base.clone()).unwrap()).starting_at(ctr);
        let mut buf = pt.clone();
        let h = sealer.seal(&metadata, &mut buf).unwrap();
        assert_eq!(h, Header::new(kid, ctr));
        assert_eq!(buf, ct, "{suite} seal");

        let mut opener = Opener::new();
        opener
            .add_key(kid, suite, BaseKey::new(base).unwrap())
            .unwrap();
        let mut buf = bytes::BytesMut::from(&ct[..]);
        let opened = opener.open(&metadata, &mut buf).unwrap();
        assert_eq!((opened.kid, opened.ctr), (kid, ctr));
        assert_eq!(&buf[..], &pt[..], "{suite} open");
    }
    seen.sort_by_key(|s| s.id());
    assert_eq!(seen, CipherSuite::ALL[..5].to_vec());
}
