//! Helpers for the through-the-relay tests: the in-process relay, meeting configs and event
//! waits come from `hush_testkit::meeting` (timeouts only as failure guards).
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub use hush_testkit::meeting::{
    GUARD, TempDir, TestRelay, contains, host_role, join, wait_for, wait_media, wait_media_all,
};

use hush_client::{Meeting, MeetingEvent, MeetingEvents};

/// Waits until the client's roster lists `n` members in all and returns its security code.
pub async fn wait_members(m: &Meeting, events: &mut MeetingEvents, n: usize) -> String {
    wait_for(events, |ev| match ev {
        MeetingEvent::RosterChanged(v) if v.members.len() == n => Some(()),
        _ => None,
    })
    .await;
    m.security_code().unwrap()
}

/// The running relay's handle.
pub fn handle(r: &TestRelay) -> hush_relay::RelayHandle {
    r.relay.as_ref().unwrap().handle.clone()
}

/// Waits until `relay` has `n` peer links (SPEC §15) whose peers satisfy `f`.
pub async fn wait_links(
    relay: &TestRelay,
    n: usize,
    f: impl Fn(&hush_relay::PeerLinkInfo) -> bool,
) {
    let h = handle(relay);
    tokio::time::timeout(GUARD, async {
        loop {
            let links = h.peer_links();
            if links.len() == n && links.iter().all(&f) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("links never became {n}: {:?}", h.peer_links()));
}

/// Stops `relays` and asserts that what they dumped (every byte they forwarded) is substantial
/// and holds none of `secrets`: the canary check of a cascade.
pub async fn no_relay_holds<const N: usize>(relays: [&mut TestRelay; N], secrets: &[&[u8]]) {
    let mut everything = Vec::new();
    for r in relays {
        everything.extend(r.stop_and_read_everything().await);
    }
    assert!(
        everything.len() > 200,
        "the relays dumped what they forwarded"
    );
    for secret in secrets {
        assert!(!contains(&everything, secret), "a relay holds {secret:?}");
    }
}
