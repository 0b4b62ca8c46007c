//! Differential test against the independent `sframe` crate (RustCrypto backend): random
//! KIDs, CTRs, metadata and payload sizes, every suite both implement (RFC 9605's five), both
//! directions.
#![allow(clippy::unwrap_used)]

use hush_frame::{BaseKey, CipherSuite, Opener, Sealer};
use proptest::prelude::*;
use sframe::frame::{EncryptedFrame, MediaFrame, SingleUseCounter};
use sframe::key::{DecryptionKey, EncryptionKey};

fn theirs(s: CipherSuite) -> sframe::CipherSuite {
    match s {
        CipherSuite::AesCtr128HmacSha256_80 => sframe::CipherSuite::AesCtr128HmacSha256_80,
        CipherSuite::AesCtr128HmacSha256_64 => sframe::CipherSuite::AesCtr128HmacSha256_64,
        CipherSuite::AesCtr128HmacSha256_32 => sframe::CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::Aes128GcmSha256 => sframe::CipherSuite::AesGcm128Sha256,
        CipherSuite::Aes256GcmSha512 => sframe::CipherSuite::AesGcm256Sha512,
        other => panic!("sframe has no {other}"),
    }
}

fn shared_suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL[..5].to_vec())
}

/// KIDs and CTRs spread over every encoded length.
fn spread_u64() -> impl Strategy<Value = u64> {
    (0u32..64, any::<u64>()).prop_map(|(bits, x)| if bits == 0 { 0 } else { x >> (64 - bits) })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn we_seal_they_open(
        suite in shared_suite(),
        kid in spread_u64(),
        ctr in spread_u64(),
        key in prop::collection::vec(any::<u8>(), 1..48),
        metadata in prop::collection::vec(any::<u8>(), 0..40),
        payload in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let mut sealer = Sealer::new(suite, kid, BaseKey::new(key.clone()).unwrap()).starting_at(ctr);
        let mut buf = payload.clone();
        sealer.seal(&metadata, &mut buf).unwrap();

        let dec = DecryptionKey::derive_from(theirs(suite), kid, &key).unwrap();
        let frame = EncryptedFrame::try_with_meta_data(&buf, &metadata).unwrap();
        prop_assert_eq!(frame.header().key_id(), kid);
        prop_assert_eq!(frame.header().counter(), ctr);
        let opened = frame.decrypt(&dec).unwrap();
        prop_assert_eq!(opened.payload(), &payload[..]);
    }

    #[test]
    fn they_seal_we_open(
        suite in shared_suite(),
        kid in spread_u64(),
        ctr in spread_u64(),
        key in prop::collection::vec(any::<u8>(), 1..48),
        metadata in prop::collection::vec(any::<u8>(), 0..40),
        payload in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let enc = EncryptionKey::derive_from(theirs(suite), kid, &key).unwrap();
        let mut counter = SingleUseCounter::new(ctr);
        let media = MediaFrame::try_with_meta_data(&mut counter, &payload, &metadata).unwrap();
        let sealed = media.encrypt(&enc).unwrap();

        let mut opener = Opener::new();
        opener.add_key(kid, suite, BaseKey::new(key).unwrap()).unwrap();
        let mut buf = sealed.sframe_cipher_text().to_vec();
        let opened = opener.open(&metadata, &mut buf).unwrap();
        prop_assert_eq!((opened.kid, opened.ctr), (kid, ctr));
        prop_assert_eq!(buf, payload);
    }
}
