//! The demo's world: a temporary directory, the two embedded relays (e2ee and transport mode),
//! and the parties, each with an event log the scenario awaits (no sleeping: every wait ends
//! on the event it needs, bounded by a short guard).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use hush_client::{ClientRole, Meeting, MeetingConfig, MeetingEvent, MeetingEvents, TrustAnchor};
use hush_keyservice::{KeyService, KeyServiceConfig};
use hush_relay::{Relay, RelayConfig, RelayHandle, RunningRelay};
use hush_wire::sync::lock;
use tokio::sync::{Notify, mpsc};

/// The longest any single wait may take before its observation counts as missing.
pub const GUARD: Duration = Duration::from_secs(5);

/// The e2ee relay's region (claim C6).
pub const REGION: &str = "eu-west";

/// The region of the second e2ee relay, linked to the first as a cascade (claim C6).
pub const FAR_REGION: &str = "us-east";

/// A temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory under the system's temp dir.
    pub fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!("hush-demo-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
        Ok(TempDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Removes every temporary directory this process made ([`TempDir`] names carry the pid), after
/// the runtime is shut down: a task still writing into one (a relay's dump or report) while it
/// was being dropped may have put files back.
pub fn remove_own_temp_dirs() {
    let prefix = format!("hush-demo-{}-", std::process::id());
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An embedded relay and where it writes.
pub struct RelayUnderTest {
    running: Option<RunningRelay>,
    /// Its UDP address.
    pub addr: SocketAddr,
    /// Its certificate's SHA-256 (what clients pin).
    pub pin: [u8; 32],
    /// Its payload dump directory.
    pub dump_dir: PathBuf,
    /// Its knowledge report file.
    pub report_file: PathBuf,
    /// Counters and the live report.
    pub handle: RelayHandle,
}

impl RelayUnderTest {
    async fn start(
        dir: &Path,
        tag: &str,
        region: &str,
        hook: Option<Arc<KeyService>>,
        cluster: Option<hush_relay::ClusterConfig>,
    ) -> anyhow::Result<Self> {
        let dump_dir = dir.join(format!("{tag}-dump"));
        let report_file = dir.join(format!("{tag}-report.txt"));
        let mut cfg = RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        cfg.region = region.to_owned();
        cfg.dump_dir = Some(dump_dir.clone());
        cfg.report_file = Some(report_file.clone());
        cfg.hook = hook.map(|h| h as Arc<dyn hush_relay::RelayHook>);
        cfg.cluster = cluster;
        let relay = Relay::bind(cfg)
            .await
            .with_context(|| format!("cannot start the {tag} relay"))?;
        let addr = relay.local_addr();
        let pin = relay.cert_sha256();
        let running = relay.spawn();
        let handle = running.handle.clone();
        Ok(RelayUnderTest {
            running: Some(running),
            addr,
            pin,
            dump_dir,
            report_file,
            handle,
        })
    }

    /// A meeting configuration for this relay.
    pub fn config(
        &self,
        room: &str,
        name: &str,
        role: ClientRole,
    ) -> anyhow::Result<MeetingConfig> {
        Ok(
            MeetingConfig::new(self.addr, TrustAnchor::Sha256(self.pin), room, name)?
                .with_role(role),
        )
    }

    /// Stops the relay: connections closed, dump flushed, final report written.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take()
            && let Err(e) = r.shutdown().await
        {
            tracing::warn!(error = %e, "relay shutdown");
        }
    }
}

/// The temp dir and both relays.
pub struct World {
    /// Everything the demo writes lives here; removed at the end.
    pub dir: TempDir,
    /// The e2ee relay (no key service; region [`REGION`]).
    pub e2ee: RelayUnderTest,
    /// A second e2ee relay in [`FAR_REGION`], linked to the first (a static cascade, SPEC §15).
    pub far: RelayUnderTest,
    /// The transport-mode relay with the key service hook.
    pub transport: RelayUnderTest,
    /// The transport relay's key service.
    pub key_service: Arc<KeyService>,
}

impl World {
    /// Creates the temp dir and starts both relays on loopback.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = TempDir::new()?;
        // The two e2ee relays form a cascade: a fresh cluster secret for this run, the far
        // relay dialling the first (pinned).
        let secret = {
            use ring::rand::SecureRandom as _;
            let mut b = vec![0u8; 32];
            ring::rand::SystemRandom::new()
                .fill(&mut b)
                .map_err(|_| anyhow::anyhow!("no system randomness"))?;
            b
        };
        let cluster = |name: &str, peers| hush_relay::ClusterConfig {
            name: name.to_owned(),
            secret: secret.clone(),
            peers,
            directory: None,
        };
        let e2ee = RelayUnderTest::start(
            dir.path(),
            "e2ee",
            REGION,
            None,
            Some(cluster("relay-eu-west", Vec::new())),
        )
        .await?;
        let to_first = hush_relay::PeerAddr {
            addr: e2ee.addr,
            pin: e2ee.pin,
        };
        let far = RelayUnderTest::start(
            dir.path(),
            "far",
            FAR_REGION,
            None,
            Some(cluster("relay-us-east", vec![to_first])),
        )
        .await?;
        let key_service = Arc::new(KeyService::new(KeyServiceConfig {
            dump_dir: Some(dir.path().join("transport-dump")),
            ..KeyServiceConfig::default()
        }));
        let transport = RelayUnderTest::start(
            dir.path(),
            "transport",
            REGION,
            Some(key_service.clone()),
            None,
        )
        .await?;
        Ok(World {
            dir,
            e2ee,
            far,
            transport,
            key_service,
        })
    }
}

/// Events collected from an async source, awaitable by predicate.
pub struct Log<T> {
    items: Mutex<Vec<T>>,
    notify: Notify,
}

/// Something events are read from: a channel, or a meeting's two event lanes.
pub trait Source<T>: Send + 'static {
    /// The next item; `None` at the end.
    fn next(&mut self) -> impl Future<Output = Option<T>> + Send;
}

impl<T: Send + 'static> Source<T> for mpsc::Receiver<T> {
    fn next(&mut self) -> impl Future<Output = Option<T>> + Send {
        self.recv()
    }
}

impl Source<MeetingEvent> for MeetingEvents {
    fn next(&mut self) -> impl Future<Output = Option<MeetingEvent>> + Send {
        self.recv()
    }
}

impl<T: Send + 'static> Log<T> {
    /// Drains `rx` into a new log on a background task.
    pub fn spawn(mut rx: impl Source<T>) -> Arc<Self> {
        let log = Arc::new(Log {
            items: Mutex::new(Vec::new()),
            notify: Notify::new(),
        });
        let l = log.clone();
        tokio::spawn(async move {
            while let Some(item) = rx.next().await {
                lock(&l.items).push(item);
                l.notify.notify_waiters();
            }
        });
        log
    }

    /// Runs `f` over everything logged so far.
    pub fn with<R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        f(&lock(&self.items))
    }

    /// Waits until `f` returns `Some` (checked now and after every new item), at most `guard`.
    pub async fn wait<R>(
        &self,
        guard: Duration,
        mut f: impl FnMut(&[T]) -> Option<R>,
    ) -> Option<R> {
        let deadline = tokio::time::Instant::now() + guard;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = f(&lock(&self.items)) {
                return Some(r);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return f(&lock(&self.items));
            }
        }
    }
}

/// A meeting participant and its event log.
pub struct Party {
    /// Display name.
    pub name: String,
    /// The meeting handle.
    pub meeting: Meeting,
    /// Every event it reported.
    pub log: Arc<Log<MeetingEvent>>,
}

impl Party {
    /// Joins with `config` (display name taken from it).
    pub async fn join(config: MeetingConfig) -> anyhow::Result<Party> {
        let name = config.name.clone();
        let (meeting, events): (Meeting, MeetingEvents) = Meeting::join(config)
            .await
            .with_context(|| format!("{name} cannot join"))?;
        Ok(Party::from_events(name, meeting, events))
    }

    /// A party over a meeting joined elsewhere (e.g. by a connector), logging `events`.
    pub fn from_events(name: String, meeting: Meeting, events: impl Source<MeetingEvent>) -> Party {
        Party {
            name,
            meeting,
            log: Log::spawn(events),
        }
    }

    /// Waits until `cond` holds (re-checked on each of this party's events), at most [`GUARD`].
    pub async fn until(&self, cond: impl Fn(&Meeting) -> bool) -> bool {
        let m = &self.meeting;
        self.log
            .wait(GUARD, |_| cond(m).then_some(()))
            .await
            .is_some()
    }

    /// Waits for an event matching `f`, at most `guard`.
    pub async fn event<R>(
        &self,
        guard: Duration,
        f: impl Fn(&MeetingEvent) -> Option<R>,
    ) -> Option<R> {
        self.log.wait(guard, |evs| evs.iter().find_map(&f)).await
    }

    /// Waits for a media frame whose payload contains `needle`; returns the payload.
    pub async fn media_with(&self, needle: &[u8]) -> Option<Vec<u8>> {
        self.event(GUARD, |e| match e {
            MeetingEvent::Media(f) if super::scan::contains(&f.payload, needle) => {
                Some(f.payload.to_vec())
            }
            _ => None,
        })
        .await
    }

    /// Media payloads received so far containing `needle`, with the epoch they were sealed in.
    pub fn media_seen(&self, needle: &[u8]) -> Vec<(u64, Vec<u8>)> {
        self.log.with(|evs| {
            evs.iter()
                .filter_map(|e| match e {
                    MeetingEvent::Media(f) if super::scan::contains(&f.payload, needle) => {
                        Some((f.epoch, f.payload.to_vec()))
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// Display names in its current roster, sorted.
    pub fn roster_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .meeting
            .roster()
            .map(|r| r.members.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Its status line now (`e2ee: on`, ...), or `(none)`.
    pub fn status(&self) -> String {
        self.meeting
            .e2ee_status()
            .map_or_else(|| "(none)".to_owned(), |s| s.to_string())
    }

    /// Its security code now, or an empty string.
    pub fn code(&self) -> String {
        self.meeting.security_code().unwrap_or_default()
    }
}
