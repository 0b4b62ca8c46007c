//! hush-relay: the untrusted relay (SPEC §7). It forwards SFrame frames it cannot read between
//! the participants of a room, over QUIC (quinn + rustls, TLS 1.3, ALPN `hush/1`).
//!
//! The relay cannot decrypt by construction: this crate links no frame cipher, no group-key
//! crate and no AEAD/HPKE crate (`.ci/relay-has-no-crypto` checks it). It reads nothing of a
//! frame but its length and the SFrame header's KID/CTR (for its knowledge report).
//!
//! Embedding a relay (tests, the demo, benchmarks):
//!
//! ```no_run
//! # async fn f() -> Result<(), hush_relay::RelayError> {
//! let config = hush_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap());
//! let relay = hush_relay::Relay::bind(config).await?;
//! println!("{} sha256={}", relay.local_addr(), hex::encode(relay.cert_sha256()));
//! let running = relay.spawn();
//! // ... connect clients ...
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`config`] (limits, TOML), [`hook`] (transport-mode key service plug), `conn`
//! (one connection: control, datagrams, streams, forwarding), `room` (membership), `report`
//! (the knowledge report), [`dump`] (the payload dump), `metrics` (counters, histograms and
//! the operator endpoint: `/metrics`, `/healthz`, `/readyz`), `budget`
//! (the byte budgets that bound every queue an outsider can fill, SPEC §7.5).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod budget;
pub mod config;
mod conn;
mod directory;
pub mod dump;
mod error;
mod geofence;
pub mod hook;
mod metrics;
mod peer;
mod rate;
mod report;
mod room;
mod sockets;
pub mod state_dir;
mod tls;
pub mod udp_count;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use hush_wire::{ErrorCode, RelayMode};

pub use config::{
    CertSource, ClusterConfig, DirectoryConfig, FileConfig, LimitRange, Limits, MAX_ENDPOINTS,
    ModeName, PeerAddr, RelayConfig,
};
pub use directory::redact as redact_url;
pub use directory::{HEARTBEAT as DIRECTORY_HEARTBEAT, LEASE as DIRECTORY_LEASE};
#[doc(hidden)]
pub use directory::{LoadReport, load_test as directory_load_test};
pub use error::RelayError;
pub use hook::{HookMessage, RelayHook};
pub use metrics::RelayStats;
pub use peer::{PeerLinkInfo, valid_relay_name};
pub use state_dir::pin_of;
pub use tls::SELF_SIGNED_NAMES;

use metrics::Metrics;
use report::{RelayFacts, ReportBook};
use room::Shared;

/// A bound relay, ready to [`run`](Relay::run).
pub struct Relay {
    /// One or more (`SO_REUSEPORT`) endpoints on the same address; the first is the listener.
    /// Only [`run`](Relay::run) holds them strongly, so the port is free once it returns.
    endpoints: Arc<Vec<quinn::Endpoint>>,
    shared: Arc<Shared>,
    cert_sha256: [u8; 32],
    local_addr: SocketAddr,
    mode: RelayMode,
    region: String,
    report_interval: Duration,
    metrics_listener: Option<tokio::net::TcpListener>,
    metrics_addr: Option<SocketAddr>,
    drain: Duration,
    /// The endpoint peer links are dialled from (SPEC §15): its own socket, because the replies
    /// to a connection dialled from one of several `SO_REUSEPORT` sockets may land on another.
    link_dialer: Option<quinn::Endpoint>,
}

/// A cheap handle to a relay's live counters and report.
#[derive(Clone)]
pub struct RelayHandle {
    shared: Arc<Shared>,
    endpoints: std::sync::Weak<Vec<quinn::Endpoint>>,
}

impl RelayHandle {
    /// A snapshot of the counters.
    pub fn stats(&self) -> RelayStats {
        self.shared.metrics.snapshot()
    }

    /// The knowledge report as it would be written now (`None` without `report_file`).
    pub fn report_text(&self) -> Option<String> {
        self.shared.refresh_cluster_report();
        self.shared.report.as_ref().map(|b| b.render())
    }

    /// The Prometheus text the `/metrics` endpoint serves.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.render()
    }

    /// Open connections on each endpoint ([`RelayConfig::endpoints`]), in binding order;
    /// empty once the relay has stopped.
    pub fn connections_per_endpoint(&self) -> Vec<usize> {
        self.endpoints.upgrade().map_or_else(Vec::new, |eps| {
            eps.iter().map(quinn::Endpoint::open_connections).collect()
        })
    }

    /// The relay's links to peer relays (SPEC §15) and the rooms each peer announced; empty on a
    /// relay without a cluster.
    pub fn peer_links(&self) -> Vec<PeerLinkInfo> {
        self.shared
            .cluster
            .as_ref()
            .map_or_else(Vec::new, peer::Cluster::info)
    }
}

impl Relay {
    /// Checks the limits (SPEC §7.4), loads or generates the certificate, binds the UDP socket
    /// (and the metrics listener). Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// [`RelayError::Limit`] for a limit outside its range; certificate and bind errors.
    pub async fn bind(config: RelayConfig) -> Result<Relay, RelayError> {
        config.limits.validate()?;
        let identity = tls::Identity::load(&config.cert)?;
        let cert_sha256 = identity.sha256();
        let server = identity.server_config(&config.limits)?;
        let bind_err = |source| RelayError::Bind {
            addr: config.listen,
            source,
        };
        if !(1..=MAX_ENDPOINTS).contains(&config.endpoints) {
            return Err(RelayError::Limit(format!(
                "endpoints = {} is outside 1..={MAX_ENDPOINTS}",
                config.endpoints
            )));
        }
        let sockets = sockets::bind(config.listen, config.endpoints).map_err(bind_err)?;
        let metrics = Arc::new(Metrics::default());
        let mut endpoints = Vec::with_capacity(sockets.len());
        for socket in sockets {
            tls::enlarge_socket_buffers(&socket);
            let socket = udp_count::Counted::wrap(socket, metrics.udp.clone()).map_err(bind_err)?;
            let endpoint = quinn::Endpoint::new_with_abstract_socket(
                quinn::EndpointConfig::default(),
                Some(server.clone()),
                socket,
                Arc::new(quinn::TokioRuntime),
            )
            .map_err(bind_err)?;
            endpoints.push(endpoint);
        }
        let local_addr = endpoints[0]
            .local_addr()
            .map_err(|source| RelayError::Bind {
                addr: config.listen,
                source,
            })?;
        let (metrics_listener, metrics_addr) = match config.metrics {
            Some(addr) => {
                let l = metrics::bind(addr)
                    .await
                    .map_err(|source| RelayError::Bind { addr, source })?;
                let a = l.local_addr().ok();
                (Some(l), a)
            }
            None => (None, None),
        };
        let mode = config.hook.as_ref().map_or(RelayMode::E2ee, |h| h.mode());
        let report = config.report_file.as_ref().map(|path| {
            Arc::new(ReportBook::new(
                path.clone(),
                RelayFacts {
                    region: config.region.clone(),
                    mode,
                    listen: local_addr,
                    started: SystemTime::now(),
                    dump_dir: config.dump_dir.clone(),
                    cert_sha256,
                },
            ))
        });
        if let Some(dir) = &config.dump_dir {
            std::fs::create_dir_all(dir).map_err(|source| RelayError::Write {
                path: dir.clone(),
                source,
            })?;
        }
        let cluster = match &config.cluster {
            None => None,
            Some(_) if config.hook.is_some() => {
                return Err(RelayError::Cluster(
                    "a relay with a key service (transport mode) cannot join a cascade".into(),
                ));
            }
            Some(c) => Some(cluster(c, &config.region, local_addr, cert_sha256).await?),
        };
        let link_dialer = match &cluster {
            Some(_) => {
                let addr = SocketAddr::new(local_addr.ip(), 0);
                Some(
                    quinn::Endpoint::client(addr)
                        .map_err(|source| RelayError::Bind { addr, source })?,
                )
            }
            None => None,
        };
        let shared = Arc::new(Shared::new(
            config.limits.clone(),
            config.hook.clone(),
            metrics,
            report,
            config.dump_dir.clone(),
            config.region.clone(),
            cluster,
        ));
        Ok(Relay {
            endpoints: Arc::new(endpoints),
            shared,
            cert_sha256,
            local_addr,
            mode,
            region: config.region,
            report_interval: config.report_interval,
            metrics_listener,
            metrics_addr,
            drain: config.drain,
            link_dialer,
        })
    }

    /// The UDP address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// SHA-256 of the relay's end-entity certificate (DER): what clients pin.
    pub fn cert_sha256(&self) -> [u8; 32] {
        self.cert_sha256
    }

    /// The metrics endpoint's bound address, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// A handle to the counters and report.
    pub fn handle(&self) -> RelayHandle {
        RelayHandle {
            shared: self.shared.clone(),
            endpoints: Arc::downgrade(&self.endpoints),
        }
    }

    /// Serves until `shutdown` completes, then drains for [`RelayConfig::drain`] (SPEC §7.11:
    /// no new connections or joins, every client told `GOING_AWAY`, until they have gone),
    /// closes every remaining connection with `SHUTTING_DOWN`, writes the final report and
    /// flushes the dump.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        let Relay {
            endpoints,
            shared,
            mode,
            region,
            report_interval,
            metrics_listener,
            drain: drain_for,
            link_dialer,
            ..
        } = self;
        let metrics_task =
            metrics_listener.map(|l| tokio::spawn(metrics::serve(l, shared.metrics.clone())));
        let report_task = shared.report.clone().map(|book| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval(report_interval.max(Duration::from_millis(50)));
                loop {
                    tick.tick().await;
                    shared.flush_dumps();
                    shared.refresh_cluster_report();
                    if let Err(e) = book.write() {
                        tracing::warn!(error = %e, "cannot write the report");
                    }
                }
            })
        });
        // Every endpoint's new connections, in one queue (a handshake waits there, bounded).
        let (accepted, mut incoming) = tokio::sync::mpsc::channel::<quinn::Incoming>(64);
        let acceptors: Vec<_> = endpoints
            .iter()
            .map(|ep| {
                let (ep, accepted) = (ep.clone(), accepted.clone());
                tokio::spawn(async move {
                    while let Some(i) = ep.accept().await {
                        if accepted.send(i).await.is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(accepted);
        let mut dialers = Vec::new();
        if let Some(ep) = &link_dialer {
            dialers = peer::spawn_dialers(&shared, ep);
            dialers.push(tokio::spawn(directory::run(shared.clone(), ep.clone())));
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                i = incoming.recv() => match i {
                    Some(i) => {
                        tokio::spawn(conn::handle(shared.clone(), i, mode, region.clone()));
                    }
                    None => break,
                },
            }
        }
        // Not ready from here on (SPEC §7.11): `/readyz` answers 503.
        shared.metrics.draining.store(true, Relaxed);
        drain(&mut incoming, &shared, drain_for).await;
        // The acceptors hold endpoint handles: wait until they are gone, so that the sockets
        // close when `run` returns (a restarted relay rebinds the port at once).
        for d in &dialers {
            d.abort();
        }
        if let Some(dir) = shared.directory() {
            dir.stop_dialers();
            dir.deregister().await;
        }
        for a in &acceptors {
            a.abort();
        }
        for a in acceptors {
            let _ = a.await;
        }
        tracing::info!("shutting down");
        let open = shared.conns.load(Relaxed) as u64;
        for _ in 0..open {
            shared.metrics.closed(ErrorCode::SHUTTING_DOWN);
        }
        for endpoint in endpoints.iter().chain(&link_dialer) {
            endpoint.close(
                quinn::VarInt::from_u32(ErrorCode::SHUTTING_DOWN.0),
                b"relay shutting down",
            );
        }
        // Let connection tasks record their leave, bounded.
        for _ in 0..200 {
            if shared.conns.load(Relaxed) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let idle = async {
            for endpoint in endpoints.iter() {
                endpoint.wait_idle().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), idle).await;
        if let Some(t) = metrics_task {
            t.abort();
        }
        if let Some(t) = report_task {
            t.abort();
        }
        shared.flush_dumps();
        shared.refresh_cluster_report();
        if let Some(book) = &shared.report {
            book.write()?;
        }
        Ok(())
    }

    /// Runs the relay on a background task; the returned value stops it.
    pub fn spawn(self) -> RunningRelay {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = self.local_addr;
        let sha = self.cert_sha256;
        let handle = self.handle();
        let metrics_addr = self.metrics_addr;
        let task = tokio::spawn(self.run(async move {
            let _ = rx.await;
        }));
        RunningRelay {
            addr,
            cert_sha256: sha,
            metrics_addr,
            handle,
            stop: Some(tx),
            task,
        }
    }
}

/// A relay running on a background task (see [`Relay::spawn`]).
pub struct RunningRelay {
    /// UDP address.
    pub addr: SocketAddr,
    /// SHA-256 of the certificate.
    pub cert_sha256: [u8; 32],
    /// Metrics endpoint, if enabled.
    pub metrics_addr: Option<SocketAddr>,
    /// Counters and report.
    pub handle: RelayHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), RelayError>>,
}

impl RunningRelay {
    /// Stops the relay and waits for its final report.
    pub async fn shutdown(mut self) -> Result<(), RelayError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }
}

/// The cluster part of a relay (SPEC §15): its directory connection, if it has one (reached
/// once here: a relay that cannot reach it at start says so), and its secret.
async fn cluster(
    c: &ClusterConfig,
    region: &str,
    local: SocketAddr,
    pin: [u8; 32],
) -> Result<peer::Cluster, RelayError> {
    let directory = match &c.directory {
        None => None,
        Some(d) => {
            let advertise = d.advertise.unwrap_or(local);
            if advertise.ip().is_unspecified() {
                return Err(RelayError::Cluster(format!(
                    "the relay listens on {local}: say with --advertise which address other \
                     relays dial"
                )));
            }
            if !hush_wire::valid_region(region) {
                return Err(RelayError::Cluster(format!(
                    "a relay of a directory cluster needs a --region of 1..={} letters, digits, \
                     '.', '_', '-' or ':', not {region:?}",
                    hush_wire::MAX_REGION_NAME
                )));
            }
            let dir = directory::Directory::connect(&d.url, &c.name, region, advertise, pin)
                .await
                .map_err(RelayError::DirectoryUnreachable)?;
            Some(Arc::new(dir))
        }
    };
    let secret = match (&directory, c.secret.is_empty()) {
        (Some(d), true) => d
            .shared_secret()
            .await
            .map_err(RelayError::DirectoryUnreachable)?,
        (None, true) => {
            return Err(RelayError::Cluster(
                "a cluster without a directory needs a secret".into(),
            ));
        }
        (_, false) => c.secret.clone(),
    };
    peer::Cluster::new(c, region, secret, directory).map_err(RelayError::Cluster)
}

/// Graceful drain (SPEC §7.11): refuse new connections and joins, tell every client
/// `GOING_AWAY`, and wait until they have all gone or `limit` has passed.
async fn drain(
    incoming: &mut tokio::sync::mpsc::Receiver<quinn::Incoming>,
    shared: &Shared,
    limit: Duration,
) {
    if limit.is_zero() {
        return;
    }
    shared.going_away.send_replace(true);
    let open = shared.conns.load(Relaxed);
    tracing::info!(
        connections = open,
        limit_secs = limit.as_secs_f64(),
        "draining"
    );
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while shared.conns.load(Relaxed) > 0 {
        tokio::select! {
            () = &mut deadline => break,
            _ = tick.tick() => {}
            // Refused at once (a QUIC CONNECTION_REFUSED), so a client moves on without a
            // handshake timeout.
            i = incoming.recv() => match i {
                Some(i) => i.refuse(),
                None => break,
            },
        }
    }
    tracing::info!(
        left = open.saturating_sub(shared.conns.load(Relaxed)),
        remaining = shared.conns.load(Relaxed),
        "drain over"
    );
}
