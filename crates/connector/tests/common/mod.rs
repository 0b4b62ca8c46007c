//! Helpers for the connector tests: an in-process relay on loopback with a dump directory,
//! meeting configs, and waits (timeouts only as failure guards, never as assertions).
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_client::{Admit, ClientRole, Meeting, MeetingConfig, MeetingEvents, TrustAnchor};
use hush_relay::{Relay, RelayConfig, RunningRelay};

pub const GUARD: Duration = Duration::from_secs(15);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("hush-connector-{tag}-{}-{n}", std::process::id()));
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
        let dir = TempDir::new("relay");
        let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap());
        cfg.dump_dir = Some(dir.path().join("dump"));
        cfg.report_file = Some(dir.path().join("report.txt"));
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

pub fn host_role(admit_connectors: bool) -> ClientRole {
    ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors,
    }
}

pub async fn join(cfg: MeetingConfig) -> (Meeting, MeetingEvents) {
    Meeting::join(cfg).await.unwrap()
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

/// The e2ee status line of a client, or "" before it has one.
pub fn status(m: &Meeting) -> String {
    m.e2ee_status().map(|s| s.to_string()).unwrap_or_default()
}

/// How many members the client's current roster lists.
pub fn members(m: &Meeting) -> usize {
    m.roster().map_or(0, |r| r.members.len())
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
