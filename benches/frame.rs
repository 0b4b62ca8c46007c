//! Frame layer throughput (BENCHMARKS.md, "Frame layer (criterion)"): hush-frame's seal and
//! open side by side with the bare AEAD (ring) on the same buffers, and with the `sframe`
//! crate (RustCrypto backend) on AES-128-GCM, at audio and video frame sizes.
//!
//! Every contender does the same per-frame work on a reused buffer: copy the input frame in,
//! then seal (or open) in place. hush and `sframe` also write or parse the SFrame header, use
//! it as AAD and derive the nonce; the bare AEAD uses a counter nonce, no header, empty AAD.
//!
//! - seal `hush`: `Sealer::seal_into` (plaintext copied once, behind the header) into a `Vec`;
//!   `hush-in-place`: `Sealer::seal` on a `Vec` that holds the plaintext (one extra `memmove`).
//! - open `hush`: `Opener::open` on `BytesMut` frames (decrypt after the header, then an O(1)
//!   `advance`); `hush-vec`: `Opener::open` on `Vec` frames (plaintext moved to the front).
//!   Frames are opened in chunks sealed just before (untimed), so hush (whose replay window
//!   refuses a frame twice) and the bare AEAD both open fresh, cache-resident frames.
//!
//! - `bare-ring-aad`: the bare AEAD with a 3-byte header's worth of AAD, as SFrame requires
//!   (AAD = header): the part of hush's cost that the format itself sets.
//!
//! Two modes, the same contenders (the same closures) in both:
//! - criterion: `cargo bench --bench frame -- --warm-up-time 1 --measurement-time 2`
//! - paired ratios: `HUSH_BENCH_PAIRED=1 cargo bench --bench frame`. Each hush variant and the
//!   bare AEAD run in alternating ~1 ms batches, 201 rounds per cell, and the table gives the
//!   median of the per-round ratios: load from other processes hits both sides of a pair
//!   alike, which criterion's one-contender-after-the-other runs cannot promise on a shared
//!   machine.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use hush_frame::{BaseKey, CipherSuite, Opener, Sealer};
use ring::aead::{AES_128_GCM, Aad, Algorithm, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sframe::frame::{EncryptedFrameView, MediaFrameView, MonotonicCounter};
use sframe::key::{DecryptionKey, EncryptionKey};

const SIZES: [usize; 5] = [64, 160, 1200, 6144, 65536];
const KEY: &[u8; 16] = b"hush bench key!!";
const KID: u64 = 42;
/// Open benchmarks seal this many bytes of frames (untimed), then open them (timed).
const CHUNK_BYTES: usize = 128 * 1024;
const SUITES: [(CipherSuite, &Algorithm, &str); 2] = [
    (CipherSuite::Aes128GcmSha256, &AES_128_GCM, "AES-128-GCM"),
    (
        CipherSuite::ChaCha20Poly1305Sha256,
        &CHACHA20_POLY1305,
        "ChaCha20-Poly1305",
    ),
];

/// A 3-byte SFrame header's worth of AAD (KID 42, a two-byte counter), for `bare-ring-aad`.
const HDR: &[u8; 3] = &[0xa9, 0x2a, 0x01];

/// Runs `iters` frames and returns the time they took (criterion's `iter_custom` routine).
type Routine = Box<dyn FnMut(u64) -> Duration>;

fn nonce(ctr: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&ctr.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn ring_key(alg: &'static Algorithm) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(alg, &[7u8; 32][..alg.key_len()]).unwrap())
}

fn hush_sealer(suite: CipherSuite) -> Sealer {
    Sealer::new(suite, KID, BaseKey::new(*KEY).unwrap())
}

fn hush_opener(suite: CipherSuite) -> Opener {
    let mut o = Opener::new();
    o.add_key(KID, suite, BaseKey::new(*KEY).unwrap()).unwrap();
    o
}

fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// Open loop shared by every contender: seal `chunk` frames untimed, open them timed.
fn chunked<F>(
    iters: u64,
    frames: &mut [F],
    mut seal: impl FnMut(&mut F),
    mut open: impl FnMut(&mut F),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let k = left.min(frames.len());
        frames[..k].iter_mut().for_each(&mut seal);
        let start = Instant::now();
        frames[..k].iter_mut().for_each(&mut open);
        total += start.elapsed();
        left -= k;
    }
    total
}

/// The seal contenders at `n` bytes, bare AEAD first.
fn seal_contenders(
    suite: CipherSuite,
    alg: &'static Algorithm,
    n: usize,
) -> Vec<(&'static str, Routine)> {
    let pt = vec![0x5au8; n];
    let mut v: Vec<(&'static str, Routine)> = Vec::new();

    let (bare, p, mut buf) = (ring_key(alg), pt.clone(), Vec::with_capacity(n + 64));
    let mut ctr = 0u64;
    v.push((
        "bare-ring",
        Box::new(move |iters| {
            timed(iters, || {
                buf.clear();
                buf.extend_from_slice(&p);
                bare.seal_in_place_append_tag(nonce(ctr), Aad::empty(), &mut buf)
                    .unwrap();
                ctr += 1;
                black_box(&buf);
            })
        }),
    ));

    let (bare, p, mut buf) = (ring_key(alg), pt.clone(), Vec::with_capacity(n + 64));
    let mut ctr = 0u64;
    v.push((
        "bare-ring-aad",
        Box::new(move |iters| {
            timed(iters, || {
                buf.clear();
                buf.extend_from_slice(&p);
                bare.seal_in_place_append_tag(nonce(ctr), Aad::from(HDR), &mut buf)
                    .unwrap();
                ctr += 1;
                black_box(&buf);
            })
        }),
    ));

    let (mut sealer, p, mut buf) = (hush_sealer(suite), pt.clone(), Vec::with_capacity(n + 64));
    v.push((
        "hush",
        Box::new(move |iters| {
            timed(iters, || {
                sealer.seal_into(b"", &p, &mut buf).unwrap();
                black_box(&buf);
            })
        }),
    ));

    let (mut sealer, p, mut buf) = (hush_sealer(suite), pt.clone(), Vec::with_capacity(n + 64));
    v.push((
        "hush-in-place",
        Box::new(move |iters| {
            timed(iters, || {
                buf.clear();
                buf.extend_from_slice(&p);
                sealer.seal(b"", &mut buf).unwrap();
                black_box(&buf);
            })
        }),
    ));

    if suite == CipherSuite::Aes128GcmSha256 {
        let key =
            EncryptionKey::derive_from(sframe::CipherSuite::AesGcm128Sha256, KID, KEY).unwrap();
        let mut counter = MonotonicCounter::default();
        let mut buf = Vec::with_capacity(n + 64);
        v.push((
            "sframe-crate",
            Box::new(move |iters| {
                timed(iters, || {
                    let frame = MediaFrameView::try_new(&mut counter, &pt).unwrap();
                    black_box(frame.encrypt_into(&key, &mut buf).unwrap());
                })
            }),
        ));
    }
    v
}

/// The open contenders at `n` bytes, bare AEAD first.
fn open_contenders(
    suite: CipherSuite,
    alg: &'static Algorithm,
    n: usize,
) -> Vec<(&'static str, Routine)> {
    let pt = vec![0x5au8; n];
    let chunk = (CHUNK_BYTES / n).clamp(1, 256);
    let mut v: Vec<(&'static str, Routine)> = Vec::new();

    let (bare, p) = (ring_key(alg), pt.clone());
    let mut frames: Vec<(u64, Vec<u8>)> = (0..chunk)
        .map(|_| (0, Vec::with_capacity(n + 64)))
        .collect();
    let mut ctr = 0u64;
    v.push((
        "bare-ring",
        Box::new(move |iters| {
            chunked(
                iters,
                &mut frames,
                |(c, f)| {
                    f.clear();
                    f.extend_from_slice(&p);
                    bare.seal_in_place_append_tag(nonce(ctr), Aad::empty(), f)
                        .unwrap();
                    *c = ctr;
                    ctr += 1;
                },
                |(c, f)| {
                    let len = bare
                        .open_in_place(nonce(*c), Aad::empty(), f)
                        .unwrap()
                        .len();
                    f.truncate(len);
                    black_box(&*f);
                },
            )
        }),
    ));

    let (bare, p) = (ring_key(alg), pt.clone());
    let mut frames: Vec<(u64, Vec<u8>)> = (0..chunk)
        .map(|_| (0, Vec::with_capacity(n + 64)))
        .collect();
    let mut ctr = 0u64;
    v.push((
        "bare-ring-aad",
        Box::new(move |iters| {
            chunked(
                iters,
                &mut frames,
                |(c, f)| {
                    f.clear();
                    f.extend_from_slice(&p);
                    bare.seal_in_place_append_tag(nonce(ctr), Aad::from(HDR), f)
                        .unwrap();
                    *c = ctr;
                    ctr += 1;
                },
                |(c, f)| {
                    let len = bare
                        .open_in_place(nonce(*c), Aad::from(HDR), f)
                        .unwrap()
                        .len();
                    f.truncate(len);
                    black_box(&*f);
                },
            )
        }),
    ));

    let (mut sealer, mut opener, p) = (hush_sealer(suite), hush_opener(suite), pt.clone());
    let mut frames: Vec<BytesMut> = (0..chunk)
        .map(|_| BytesMut::with_capacity(n + 64))
        .collect();
    v.push((
        "hush",
        Box::new(move |iters| {
            chunked(
                iters,
                &mut frames,
                |f| {
                    sealer.seal_into(b"", &p, f).unwrap();
                },
                |f| {
                    opener.open(b"", f).unwrap();
                    black_box(&*f);
                },
            )
        }),
    ));

    let (mut sealer, mut opener, p) = (hush_sealer(suite), hush_opener(suite), pt.clone());
    let mut frames: Vec<Vec<u8>> = (0..chunk).map(|_| Vec::with_capacity(n + 64)).collect();
    v.push((
        "hush-vec",
        Box::new(move |iters| {
            chunked(
                iters,
                &mut frames,
                |f| {
                    sealer.seal_into(b"", &p, f).unwrap();
                },
                |f| {
                    opener.open(b"", f).unwrap();
                    black_box(&*f);
                },
            )
        }),
    ));

    if suite == CipherSuite::Aes128GcmSha256 {
        let dec =
            DecryptionKey::derive_from(sframe::CipherSuite::AesGcm128Sha256, KID, KEY).unwrap();
        let mut frame = Vec::new();
        hush_sealer(suite).seal_into(b"", &pt, &mut frame).unwrap();
        let mut buf = Vec::with_capacity(n + 64);
        v.push((
            "sframe-crate",
            Box::new(move |iters| {
                timed(iters, || {
                    let f = EncryptedFrameView::try_new(&frame).unwrap();
                    black_box(f.decrypt_into(&dec, &mut buf).unwrap());
                })
            }),
        ));
    }
    v
}

type Contenders = fn(CipherSuite, &'static Algorithm, usize) -> Vec<(&'static str, Routine)>;

const OPS: [(&str, Contenders); 2] = [("seal", seal_contenders), ("open", open_contenders)];

fn frame(c: &mut Criterion) {
    for (suite, alg, label) in SUITES {
        for (op, contenders) in OPS {
            let mut group = c.benchmark_group(format!("{op}/{label}"));
            for n in SIZES {
                group.throughput(Throughput::Bytes(n as u64));
                for (name, mut routine) in contenders(suite, alg, n) {
                    group
                        .bench_function(BenchmarkId::new(name, n), |b| b.iter_custom(&mut routine));
                }
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = frame
}

/// Median of a non-empty sample.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Alternating batches of `a` (the bare AEAD) and `b`; returns the medians of a's and b's
/// nanoseconds per frame and of the per-round throughput ratio b / a (= time a / time b).
fn paired(a: &mut Routine, b: &mut Routine, rounds: usize) -> (f64, f64, f64, f64, f64) {
    // Batch size: about 1 ms of the bare AEAD, after a warm-up of both.
    a(1000);
    b(1000);
    let per = a(1000).as_secs_f64() / 1000.0;
    let batch = ((1e-3 / per) as u64).max(1);
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (x, y) = if r % 2 == 0 {
            let x = a(batch);
            (x, b(batch))
        } else {
            let y = b(batch);
            (a(batch), y)
        };
        let (x, y) = (x.as_secs_f64() * 1e9, y.as_secs_f64() * 1e9);
        ta.push(x / batch as f64);
        tb.push(y / batch as f64);
        ratio.push(x / y);
    }
    let mut sorted = ratio.clone();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (sorted[sorted.len() / 4], sorted[sorted.len() * 3 / 4]);
    (median(ta), median(tb), median(ratio), q1, q3)
}

fn paired_main() {
    let rounds: usize = std::env::var("HUSH_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(201);
    let filter = std::env::var("HUSH_BENCH_FILTER").ok();
    println!("| op | suite | size | contender | bare ring | contender / bare (median, IQR) |");
    println!("|---|---|---|---|---|---|");
    for (suite, alg, label) in SUITES {
        for (op, contenders) in OPS {
            for n in SIZES {
                let cell = format!("{op}/{label}/{n}");
                if !filter.as_deref().is_none_or(|f| cell.contains(f)) {
                    continue;
                }
                let mut cs = contenders(suite, alg, n);
                let (_, mut bare) = cs.remove(0);
                for (name, mut routine) in cs {
                    let (ta, tb, r, q1, q3) = paired(&mut bare, &mut routine, rounds);
                    println!(
                        "| {op} | {label} | {n} B | {name} {tb:.0} ns ({:.2} GB/s) | {ta:.0} ns ({:.2} GB/s) | **{r:.2}** ({q1:.2}–{q3:.2}) |",
                        n as f64 / tb,
                        n as f64 / ta
                    );
                }
            }
        }
    }
}

fn main() {
    if std::env::var_os("HUSH_BENCH_PAIRED").is_some() {
        paired_main();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
