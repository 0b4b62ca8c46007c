//! Helpers for the tests that run real meetings through the production relay in-process (the
//! hush-client, hush-connector and top-level tests): a relay on loopback with a dump directory
//! and a report file, meeting configs pinned to it, and waits on meeting events.
//!
//! Every wait is bounded by [`GUARD`], a failure guard only: a test asserts what happened, never
//! how fast. The helpers panic on failure, as test code does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_client::{
    Admit, ClientRole, MediaFrame, Meeting, MeetingConfig, MeetingEvent, MeetingEvents, TrustAnchor,
};
use hush_relay::{Relay, RelayConfig, RunningRelay};

/// How long any single wait may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(15);

/// The region every [`TestRelay`] announces.
pub const TEST_REGION: &str = "eu-test";

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `<tmp>/hush-<tag>-<pid>-<n>`, empty.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("hush-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("cannot create a temporary directory");
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The production relay (`hush-relay`), running in-process on a free loopback port, with a
/// dump directory and a report file in its own [`TempDir`] and region [`TEST_REGION`].
pub struct TestRelay {
    /// The running relay; `None` once stopped.
    pub relay: Option<RunningRelay>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// SHA-256 of its certificate (the clients' pin).
    pub pin: [u8; 32],
    /// Its dump directory (`dump/`) and report file (`report.txt`).
    pub dir: TempDir,
}

impl TestRelay {
    /// Starts a relay with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a relay after `f` has adjusted its configuration.
    pub async fn start_with(f: impl FnOnce(&mut RelayConfig)) -> Self {
        let dir = TempDir::new("relay");
        let mut cfg = RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        cfg.dump_dir = Some(dir.path().join("dump"));
        cfg.report_file = Some(dir.path().join("report.txt"));
        cfg.region = TEST_REGION.into();
        f(&mut cfg);
        let relay = Relay::bind(cfg).await.expect("cannot start the relay");
        let addr = relay.local_addr();
        let pin = relay.cert_sha256();
        TestRelay {
            relay: Some(relay.spawn()),
            addr,
            pin,
            dir,
        }
    }

    /// The configuration of a participant of `room` pinned to this relay.
    pub fn config(&self, room: &str, name: &str, role: ClientRole) -> MeetingConfig {
        config(self.addr, self.pin, room, name, role)
    }

    /// Stops the relay (flushing its dump and report) and returns every byte it wrote.
    pub async fn stop_and_read_everything(&mut self) -> Vec<u8> {
        if let Some(r) = self.relay.take() {
            r.shutdown()
                .await
                .expect("the relay did not shut down cleanly");
        }
        let mut all = Vec::new();
        read_all(self.dir.path(), &mut all);
        all
    }
}

fn read_all(dir: &Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).expect("cannot list the relay's directory") {
        let p = e.expect("cannot list the relay's directory").path();
        if p.is_dir() {
            read_all(&p, out);
        } else {
            out.extend(std::fs::read(&p).expect("cannot read a file the relay wrote"));
        }
    }
}

/// The configuration of a participant of `room` through the relay at `addr` pinned to `pin`.
pub fn config(
    addr: SocketAddr,
    pin: [u8; 32],
    room: &str,
    name: &str,
    role: ClientRole,
) -> MeetingConfig {
    MeetingConfig::new(addr, TrustAnchor::Sha256(pin), room, name)
        .expect("cannot make a meeting config")
        .with_role(role)
}

/// A host that admits every participant and no connector.
pub fn host_role() -> ClientRole {
    ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    }
}

/// Joins the meeting.
pub async fn join(cfg: MeetingConfig) -> (Meeting, MeetingEvents) {
    Meeting::join(cfg).await.expect("cannot join the meeting")
}

/// Waits for the first event matching `f` (skipping others), failing after [`GUARD`].
pub async fn wait_for<T>(
    events: &mut MeetingEvents,
    mut f: impl FnMut(&MeetingEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(GUARD, async {
        loop {
            let ev = events.recv().await.expect("event channel closed");
            if let Some(t) = f(&ev) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// Waits for the media frame whose payload is `payload`.
pub async fn wait_media(events: &mut MeetingEvents, payload: &[u8]) -> MediaFrame {
    wait_for(events, |ev| match ev {
        MeetingEvent::Media(f) if f.payload == payload => Some(f.clone()),
        _ => None,
    })
    .await
}

/// Waits until every payload of `payloads` arrived as a media frame, in any order (a datagram
/// may overtake a frame sent before it on a stream); the frames in the order of `payloads`.
pub async fn wait_media_all(events: &mut MeetingEvents, payloads: &[&[u8]]) -> Vec<MediaFrame> {
    let mut got: Vec<Option<MediaFrame>> = vec![None; payloads.len()];
    while got.iter().any(Option::is_none) {
        let f = wait_for(events, |ev| match ev {
            MeetingEvent::Media(f) => Some(f.clone()),
            _ => None,
        })
        .await;
        if let Some(i) = payloads.iter().position(|p| f.payload == *p) {
            got[i] = Some(f);
        }
    }
    got.into_iter().flatten().collect()
}

/// True if `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
