//! Shared helpers of the issue-7 tests (hostile relay, faults): meeting configs and event waits
//! (from `hush_testkit::meeting`, plus the ones only these tests use; timeouts are failure guards
//! only, never the thing asserted), and blob classification.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hush_client::{Meeting, MeetingEvent, MeetingEvents, Stats};
use hush_group::Message;
pub use hush_testkit::meeting::{GUARD, TempDir, config, host_role, join, wait_for, wait_media};

/// Waits until the client holds an epoch whose roster lists `n` members; returns its code.
pub async fn wait_members(m: &Meeting, events: &mut MeetingEvents, n: usize) -> String {
    let epoch = wait_for(events, |ev| match ev {
        MeetingEvent::RosterChanged(v) if v.members.len() == n => Some(v.epoch),
        _ => None,
    })
    .await;
    // The roster event comes first in its batch; the code and readiness are published after
    // the whole batch (on the meeting's own task).
    tokio::time::timeout(GUARD, async {
        while m.wait_ready(GUARD).await.unwrap() < epoch {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("epoch never became ready");
    m.security_code().unwrap()
}

/// Waits until a counter of `m` reaches `n` (the counters move on the meeting's own task).
pub async fn wait_stat(m: &Meeting, what: &str, f: impl Fn(&Stats) -> u64, n: u64) {
    tokio::time::timeout(GUARD, async {
        while f(&m.stats()) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} never reached {n}: {:?}", m.stats()));
}

/// Seals and sends `payload` as one media frame.
pub async fn send(m: &Meeting, payload: &[u8]) {
    m.send_media(&mut BytesMut::from(payload)).await.unwrap();
}

/// Sends a clean frame and waits for it on `events`: everything `m` sent before it, on the same
/// path, has been handled by the receiver (the hostile relay keeps one sender's order). Returns
/// the payloads of the other media that opened meanwhile, in order.
pub async fn sentinel(m: &Meeting, events: &mut MeetingEvents, tag: &str) -> Vec<Bytes> {
    let p = format!("sentinel-{tag}");
    send(m, p.as_bytes()).await;
    let mut seen = Vec::new();
    wait_for(events, |ev| match ev {
        MeetingEvent::Media(f) if f.payload == p.as_bytes() => Some(()),
        MeetingEvent::Media(f) => {
            seen.push(f.payload.clone());
            None
        }
        _ => None,
    })
    .await;
    seen
}

/// Drains what is queued on `events` now, returning the payloads of media that opened.
pub fn drain_media(events: &mut MeetingEvents) -> Vec<Bytes> {
    let mut out = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let MeetingEvent::Media(f) = ev {
            out.push(f.payload);
        }
    }
    out
}

/// The group message a blob holds, if it is one.
pub fn group(bytes: &[u8]) -> Option<Message> {
    Message::decode(bytes).ok()
}

pub fn is_roster(bytes: &[u8]) -> bool {
    matches!(group(bytes), Some(Message::Roster(_)))
}

/// An epoch key or a welcome: the messages that carry an epoch secret.
pub fn is_epoch_key(bytes: &[u8]) -> bool {
    matches!(
        group(bytes),
        Some(Message::EpochKey(_) | Message::Welcome(_))
    )
}

/// The epoch of a full roster or a commit (what members take a new epoch's roster from).
pub fn roster_epoch(bytes: &[u8]) -> Option<u64> {
    match group(bytes) {
        Some(Message::Roster(r)) => Some(r.content.epoch),
        Some(Message::Commit(c)) => Some(c.content.epoch),
        _ => None,
    }
}

/// An epoch key's or a welcome's (epoch, recipient index), if the blob is one.
pub fn key_of(bytes: &[u8]) -> Option<(u64, u16)> {
    match group(bytes) {
        Some(Message::EpochKey(k)) => Some((k.epoch, k.recipient_index)),
        Some(Message::Welcome(w)) => Some((w.content.epoch, w.content.recipient_index)),
        _ => None,
    }
}
