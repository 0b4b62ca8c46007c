//! Frame layer throughput (BENCHMARKS.md, "Frame layer (criterion)"): hush-frame's seal and
//! open side by side with the bare AEAD (ring) on the same buffers, and with the `sframe`
//! crate (RustCrypto backend) on AES-128-GCM, at audio and video frame sizes.
//!
//! Every contender does the same per-frame work on a reused buffer: copy the input frame in,
//! then seal (or open) in place. hush and `sframe` also write or parse the SFrame header and
//! derive the nonce; the bare AEAD uses a fixed nonce and no header.
//!
//! - seal `hush`: `Sealer::seal_into` (plaintext copied once, behind the header) into a `Vec`;
//!   `hush-in-place`: `Sealer::seal` on a `Vec` that holds the plaintext (one extra `memmove`).
//! - open `hush`: `Opener::open` on `BytesMut` frames (decrypt after the header, then an O(1)
//!   `advance`); `hush-vec`: `Opener::open` on `Vec` frames (plaintext moved to the front).
//!
//! `cargo bench --bench frame -- --warm-up-time 1 --measurement-time 2`
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hush_frame::{BaseKey, CipherSuite, Opener, Sealer};
use ring::aead::{AES_128_GCM, Aad, Algorithm, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sframe::frame::{EncryptedFrameView, MediaFrameView, MonotonicCounter};
use sframe::key::{DecryptionKey, EncryptionKey};

const SIZES: [usize; 5] = [64, 160, 1200, 6144, 65536];
const KEY: &[u8; 16] = b"hush bench key!!";
const KID: u64 = 42;
/// Open benchmarks seal this many bytes of frames (untimed), then open them (timed).
const CHUNK_BYTES: usize = 128 * 1024;

fn nonce(ctr: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&ctr.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn ring_key(alg: &'static Algorithm) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(alg, &[7u8; 32][..alg.key_len()]).unwrap())
}

fn hush_opener(suite: CipherSuite) -> Opener {
    let mut o = Opener::new();
    o.add_key(KID, suite, BaseKey::new(*KEY).unwrap()).unwrap();
    o
}

fn bench_suite(c: &mut Criterion, suite: CipherSuite, alg: &'static Algorithm, label: &str) {
    let with_sframe = suite == CipherSuite::Aes128GcmSha256;
    let bare = ring_key(alg);

    let mut seal = c.benchmark_group(format!("seal/{label}"));
    for &n in &SIZES {
        let pt = vec![0x5au8; n];
        let mut buf: Vec<u8> = Vec::with_capacity(n + 64);
        seal.throughput(Throughput::Bytes(n as u64));

        let mut sealer = Sealer::new(suite, KID, BaseKey::new(*KEY).unwrap());
        seal.bench_function(BenchmarkId::new("hush", n), |b| {
            b.iter(|| {
                sealer.seal_into(b"", &pt, &mut buf).unwrap();
                black_box(&buf);
            })
        });
        seal.bench_function(BenchmarkId::new("hush-in-place", n), |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(&pt);
                sealer.seal(b"", &mut buf).unwrap();
                black_box(&buf);
            })
        });
        seal.bench_function(BenchmarkId::new("bare-ring", n), |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(&pt);
                let nonce = Nonce::assume_unique_for_key([1u8; 12]);
                bare.seal_in_place_append_tag(nonce, Aad::empty(), &mut buf)
                    .unwrap();
                black_box(&buf);
            })
        });
        if with_sframe {
            let key =
                EncryptionKey::derive_from(sframe::CipherSuite::AesGcm128Sha256, KID, KEY).unwrap();
            let mut counter = MonotonicCounter::default();
            seal.bench_function(BenchmarkId::new("sframe-crate", n), |b| {
                b.iter(|| {
                    let frame = MediaFrameView::try_new(&mut counter, &pt).unwrap();
                    black_box(frame.encrypt_into(&key, &mut buf).unwrap());
                })
            });
        }
    }
    seal.finish();

    let mut open = c.benchmark_group(format!("open/{label}"));
    for &n in &SIZES {
        let pt = vec![0x5au8; n];
        let mut buf: Vec<u8> = Vec::with_capacity(n + 64);
        open.throughput(Throughput::Bytes(n as u64));

        // Frames are opened in chunks sealed just before (untimed), so hush (whose replay
        // window refuses a frame twice) and the bare AEAD both open fresh, cache-resident
        // frames in place, and the timed loop holds nothing else.
        let chunk = (CHUNK_BYTES / n).clamp(1, 256);
        let mut sealer = Sealer::new(suite, KID, BaseKey::new(*KEY).unwrap());
        let mut opener = hush_opener(suite);
        let mut bframes: Vec<BytesMut> = (0..chunk)
            .map(|_| BytesMut::with_capacity(n + 64))
            .collect();
        open.bench_function(BenchmarkId::new("hush", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(chunk);
                    for f in &mut bframes[..k] {
                        sealer.seal_into(b"", &pt, f).unwrap();
                    }
                    let start = Instant::now();
                    for f in &mut bframes[..k] {
                        opener.open(b"", f).unwrap();
                        black_box(&*f);
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
        });
        let mut frames: Vec<Vec<u8>> = (0..chunk).map(|_| Vec::with_capacity(n + 64)).collect();
        open.bench_function(BenchmarkId::new("hush-vec", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(chunk);
                    for f in &mut frames[..k] {
                        sealer.seal_into(b"", &pt, f).unwrap();
                    }
                    let start = Instant::now();
                    for f in &mut frames[..k] {
                        opener.open(b"", f).unwrap();
                        black_box(&*f);
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
        });

        let mut nonce_ctr = 0u64;
        open.bench_function(BenchmarkId::new("bare-ring", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(chunk);
                    let first = nonce_ctr;
                    for f in &mut frames[..k] {
                        f.clear();
                        f.extend_from_slice(&pt);
                        bare.seal_in_place_append_tag(nonce(nonce_ctr), Aad::empty(), f)
                            .unwrap();
                        nonce_ctr += 1;
                    }
                    let start = Instant::now();
                    for (i, f) in frames[..k].iter_mut().enumerate() {
                        let p = bare
                            .open_in_place(nonce(first + i as u64), Aad::empty(), f)
                            .unwrap()
                            .len();
                        f.truncate(p);
                        black_box(&*f);
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
        });
        let mut sframe_sealer = Sealer::new(suite, KID, BaseKey::new(*KEY).unwrap());
        let mut one = pt.clone();
        sframe_sealer.seal(b"", &mut one).unwrap();
        let frames = [one];
        if with_sframe {
            let dec =
                DecryptionKey::derive_from(sframe::CipherSuite::AesGcm128Sha256, KID, KEY).unwrap();
            let frame = &frames[0];
            open.bench_function(BenchmarkId::new("sframe-crate", n), |b| {
                b.iter(|| {
                    let f = EncryptedFrameView::try_new(frame).unwrap();
                    black_box(f.decrypt_into(&dec, &mut buf).unwrap());
                })
            });
        }
    }
    open.finish();
}

fn frame(c: &mut Criterion) {
    bench_suite(c, CipherSuite::Aes128GcmSha256, &AES_128_GCM, "AES-128-GCM");
    bench_suite(
        c,
        CipherSuite::ChaCha20Poly1305Sha256,
        &CHACHA20_POLY1305,
        "ChaCha20-Poly1305",
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = frame
}
criterion_main!(benches);
