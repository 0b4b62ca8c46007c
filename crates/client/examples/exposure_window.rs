//! Measures the exposure window on loopback (claim C11): how long after a participant leaves
//! the frames the others send still open under the keys it kept.
//!
//! A host and a guest send a timestamped frame every millisecond; a third member calls the
//! (hostile) `leave_keeping_keys`, keeps every key it had and keeps receiving. The window of a
//! run is the latest send time, relative to the leave, of a frame it could still open. Prints
//! each run and a summary. `cargo run --release -p hush-client --example exposure_window [RUNS]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use hush_client::{Admit, ClientRole, Meeting, MeetingConfig, MeetingEvent, TrustAnchor};
use hush_relay::{Relay, RelayConfig};

const GUARD: Duration = Duration::from_secs(10);

fn sender(m: Meeting, base: Instant, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut buf = BytesMut::with_capacity(64);
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            buf.reserve(64);
            buf.put_u64(u64::try_from(base.elapsed().as_nanos()).unwrap());
            buf.put_slice(&[0u8; 32]);
            if m.send_media(&mut buf).await.is_err() {
                buf.clear();
            }
        }
    })
}

async fn one_run(addr: std::net::SocketAddr, pin: [u8; 32], run: usize) -> (f64, u64, u64) {
    let room = format!("exposure-{run}");
    let cfg = |name: &str, role| {
        MeetingConfig::new(addr, TrustAnchor::Sha256(pin), &room, name)
            .unwrap()
            .with_role(role)
    };
    let host_role = ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    };
    let (host, _hev) = Meeting::join(cfg("H", host_role)).await.unwrap();
    let (guest, _gev) = Meeting::join(cfg("G", ClientRole::Guest)).await.unwrap();
    guest.wait_for_others(1, GUARD).await.unwrap();
    let (leaver, mut lev) = Meeting::join(cfg("L", ClientRole::Guest)).await.unwrap();
    leaver.wait_for_others(2, GUARD).await.unwrap();
    guest.wait_for_others(2, GUARD).await.unwrap();
    host.wait_for_others(2, GUARD).await.unwrap();

    let base = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = [
        sender(host.clone(), base, stop.clone()),
        sender(guest.clone(), base, stop.clone()),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = u64::try_from(base.elapsed().as_nanos()).unwrap();
    leaver.leave_keeping_keys().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut window_ns = 0u64;
    let mut opened_after = 0u64;
    while let Ok(ev) = lev.try_recv() {
        if let MeetingEvent::Media(f) = ev {
            let sent = u64::from_be_bytes(f.payload[..8].try_into().unwrap());
            if sent >= t0 {
                opened_after += 1;
                window_ns = window_ns.max(sent - t0);
            }
        }
    }
    let refused = leaver.stats().refused_unknown_kid;
    for m in [&leaver, &guest, &host] {
        let _ = m.leave().await;
    }
    (window_ns as f64 / 1e6, opened_after, refused)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let relay = Relay::bind(RelayConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let (addr, pin) = (relay.local_addr(), relay.cert_sha256());
    let relay = relay.spawn();
    let mut windows = Vec::new();
    for run in 0..runs {
        let (ms, opened, refused) = one_run(addr, pin, run).await;
        println!(
            "run {run}: exposure window {ms:.3} ms ({opened} frames sent after the leave still \
             opened, {refused} refused for want of a key)"
        );
        assert!(refused > 0, "frames after the rekey must be refused");
        windows.push(ms);
    }
    windows.sort_by(f64::total_cmp);
    let median = windows[windows.len() / 2];
    println!(
        "exposure window over {runs} runs: min {:.3} ms, median {median:.3} ms, max {:.3} ms",
        windows[0],
        windows[windows.len() - 1]
    );
    relay.shutdown().await.unwrap();
}
