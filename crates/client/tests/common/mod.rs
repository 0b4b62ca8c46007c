//! Helpers for the through-the-relay tests: an in-process relay on loopback with a dump
//! directory, meeting configs, and event waits (timeouts only as failure guards).
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_client::{
    Admit, ClientRole, Meeting, MeetingConfig, MeetingEvent, MeetingEvents, TrustAnchor,
};
use hush_relay::{Relay, RelayConfig, RunningRelay};

pub const GUARD: Duration = Duration::from_secs(10);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("hush-client-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestRelay {
    pub relay: Option<RunningRelay>,
    pub addr: SocketAddr,
    pub pin: [u8; 32],
    pub dir: TempDir,
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut RelayConfig)) -> Self {
        let dir = TempDir::new("relay");
        let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap());
        cfg.dump_dir = Some(dir.path().join("dump"));
        cfg.report_file = Some(dir.path().join("report.txt"));
        cfg.region = "eu-test".into();
        f(&mut cfg);
        let relay = Relay::bind(cfg).await.unwrap();
        let addr = relay.local_addr();
        let pin = relay.cert_sha256();
        TestRelay {
            relay: Some(relay.spawn()),
            addr,
            pin,
            dir,
        }
    }

    pub fn config(&self, room: &str, name: &str, role: ClientRole) -> MeetingConfig {
        MeetingConfig::new(self.addr, TrustAnchor::Sha256(self.pin), room, name)
            .unwrap()
            .with_role(role)
    }

    /// Stops the relay (flushing its dump and report) and returns every byte it wrote.
    pub async fn stop_and_read_everything(&mut self) -> Vec<u8> {
        if let Some(r) = self.relay.take() {
            r.shutdown().await.unwrap();
        }
        let mut all = Vec::new();
        read_all(self.dir.path(), &mut all);
        all
    }
}

fn read_all(dir: &Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            read_all(&p, out);
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
}

pub fn host_role() -> ClientRole {
    ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    }
}

pub async fn join(cfg: MeetingConfig) -> (Meeting, MeetingEvents) {
    Meeting::join(cfg).await.unwrap()
}

/// Waits for the first event matching `f` (skipping others), failing after the guard.
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

/// Waits until the client's roster lists `n` members in all and returns its security code.
pub async fn wait_members(m: &Meeting, events: &mut MeetingEvents, n: usize) -> String {
    wait_for(events, |ev| match ev {
        MeetingEvent::RosterChanged(v) if v.members.len() == n => Some(()),
        _ => None,
    })
    .await;
    m.security_code().unwrap()
}

/// Waits for a media frame whose payload is `payload`.
pub async fn wait_media(events: &mut MeetingEvents, payload: &[u8]) -> hush_client::MediaFrame {
    wait_for(events, |ev| match ev {
        MeetingEvent::Media(f) if f.payload == payload => Some(f.clone()),
        _ => None,
    })
    .await
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
