//! Shared helpers for the relay tests: an in-process relay on loopback and net clients.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use hush_client::net::{Event, Events, RelayConnection};
use hush_relay::{Relay, RelayConfig, RunningRelay};
use hush_wire::ErrorCode;
use hush_wire::sframe_header::Header;

pub async fn relay(configure: impl FnOnce(&mut RelayConfig)) -> RunningRelay {
    let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap());
    configure(&mut cfg);
    Relay::bind(cfg).await.unwrap().spawn()
}

pub async fn client(r: &RunningRelay) -> (RelayConnection, Events) {
    hush_testkit::connect_raw(r.addr, r.cert_sha256)
        .await
        .unwrap()
}

/// An SFrame-shaped frame: a real header (kid, ctr) then `len` filler bytes.
pub fn frame(kid: u64, ctr: u64, len: usize, fill: u8) -> Bytes {
    hush_testkit::sframe_frame(kid, ctr, len, fill)
}

pub fn header(frame: &[u8]) -> Header {
    Header::decode(frame).unwrap().0
}

const WAIT: Duration = Duration::from_secs(20);

/// Next event that `pick` accepts, skipping others; panics after a generous bound.
pub async fn next<T>(ev: &mut Events, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = ev.recv().await.expect("event channel closed");
            if let Some(t) = pick(e) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

pub async fn next_media(ev: &mut Events) -> Bytes {
    next(ev, |e| match e {
        Event::Media(b) => Some(b),
        _ => None,
    })
    .await
}

pub async fn closed_code(ev: &mut Events) -> Option<ErrorCode> {
    next(ev, |e| match e {
        Event::Closed { code, .. } => Some(code),
        _ => None,
    })
    .await
}

/// Every event already queued (after a short settle), for absence checks.
pub async fn drain(ev: &mut Events) -> Vec<Event> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut out = Vec::new();
    while let Ok(e) = ev.try_recv() {
        out.push(e);
    }
    out
}
