//! No heap allocation per frame after warm-up, for seal and open, on both default suites
//! (AES-128-GCM and ChaCha20-Poly1305) and on AES-CTR-HMAC, with `Vec<u8>` and `BytesMut`.
//! A counting global allocator; this file is its own test binary and runs one test so that
//! nothing else allocates concurrently.
#![allow(clippy::unwrap_used)]

use std::alloc::System;

use hush_frame::{BaseKey, CipherSuite, FrameBuffer, Opener, Sealer};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

// `stats_alloc` wraps the system allocator and counts calls (hush forbids `unsafe`, so the
// counting allocator comes from a crate).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn run<B: FrameBuffer>(suite: CipherSuite, buf: &mut B, fill: impl Fn(&mut B, usize)) {
    let mut sealer = Sealer::new(suite, 9, BaseKey::new(*b"no allocation please").unwrap());
    let mut opener = Opener::new();
    opener
        .add_key(9, suite, BaseKey::new(*b"no allocation please").unwrap())
        .unwrap();
    let metadata = [7u8; 12];
    let sizes = [64usize, 160, 1200, 6144, 1200, 64];
    let pt = vec![0x33u8; 6144];
    // Both seal paths, both open paths, on the same buffer.
    let mut round = |buf: &mut B, n: usize| {
        fill(buf, n);
        sealer.seal(&metadata, buf).unwrap();
        opener.open(&metadata, buf).unwrap();
        assert_eq!(buf.as_slice().len(), n);
        sealer.seal_into(&metadata, &pt[..n], buf).unwrap();
        let (_, plain) = opener.open_in_place(&metadata, buf.as_mut_slice()).unwrap();
        assert_eq!(plain.len(), n);
    };
    // Warm-up: the largest frame sizes the buffers and the AAD scratch.
    for &n in &sizes {
        round(buf, n);
    }
    let region = Region::new(GLOBAL);
    for _ in 0..50 {
        for &n in &sizes {
            round(buf, n);
        }
    }
    let change = region.change();
    assert_eq!(
        (change.allocations, change.reallocations),
        (0, 0),
        "{suite}: heap allocations in 600 seal+open pairs"
    );
    // The counter itself works: an allocation is seen.
    let probe = Region::new(GLOBAL);
    drop(std::hint::black_box(Vec::<u8>::with_capacity(64)));
    assert!(probe.change().allocations >= 1);
}

#[test]
fn seal_and_open_do_not_allocate() {
    for suite in [
        CipherSuite::Aes128GcmSha256,
        CipherSuite::ChaCha20Poly1305Sha256,
        CipherSuite::AesCtr128HmacSha256_80,
    ] {
        let mut v: Vec<u8> = Vec::new();
        run(suite, &mut v, |b, n| {
            b.clear();
            b.resize(n, 0x5a);
        });
        let mut bm = bytes::BytesMut::new();
        run(suite, &mut bm, |b, n| {
            b.clear();
            b.resize(n, 0x5a);
        });
    }
}
