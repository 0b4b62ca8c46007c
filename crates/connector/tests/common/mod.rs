//! Helpers for the connector tests: the in-process relay, meeting configs and joins come from
//! `hush_testkit::meeting`; waits here use timeouts only as failure guards, never as assertions.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::time::Duration;

use hush_client::{Admit, ClientRole, Meeting, MeetingEvents};
pub use hush_testkit::meeting::{GUARD, TempDir, TestRelay, contains, join};

pub fn host_role(admit_connectors: bool) -> ClientRole {
    ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors,
    }
}

/// Polls `f` until it holds, failing after the guard. The events channel is drained meanwhile
/// so the meeting never drops events for want of a reader.
pub async fn until(m: &Meeting, ev: &mut MeetingEvents, what: &str, f: impl Fn(&Meeting) -> bool) {
    tokio::time::timeout(GUARD, async {
        while !f(m) {
            while ev.try_recv().is_ok() {}
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for: {what}"));
}

/// As [`until`], for a meeting whose events someone else reads (a connector's bridge).
pub async fn until_state(m: &Meeting, what: &str, f: impl Fn(&Meeting) -> bool) {
    tokio::time::timeout(GUARD, async {
        while !f(m) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for: {what}"));
}

/// The e2ee status line of a client, or "" before it has one.
pub fn status(m: &Meeting) -> String {
    m.e2ee_status().map(|s| s.to_string()).unwrap_or_default()
}

/// How many members the client's current roster lists.
pub fn members(m: &Meeting) -> usize {
    m.roster().map_or(0, |r| r.members.len())
}
