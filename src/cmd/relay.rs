//! `hush relay`: runs the untrusted QUIC relay (issue 3; SPEC §7).
//!
//! The first line on stdout is exactly `hush relay listening on <ip:port> sha256=<64 hex>`,
//! flushed at once, so scripts can read the address and the certificate pin.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;

use anyhow::Context as _;
use hush_keyservice::{KeyService, KeyServiceConfig};
use hush_relay::{CertSource, FileConfig, Relay, RelayConfig};

/// Who holds the meeting keys (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Keys are made by clients and never reach the relay.
    E2ee,
    /// The 2020 model: a key service beside the relay issues the keys and opens every frame.
    Transport,
}

/// `hush relay` flags. Flags override the `--config` file, which overrides the defaults.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// e2ee: the relay holds no key. transport: a key service beside the relay issues and holds
    /// the keys and decrypts every frame (with --dump-dir, also writes `<id>.decrypted`).
    #[arg(long, value_enum, default_value_t = Mode::E2ee)]
    mode: Mode,
    /// UDP address to listen on (`127.0.0.1:0` picks a free port). Default 127.0.0.1:4433.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Certificate chain PEM file (with --key); default: a fresh self-signed certificate.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key PEM file (with --cert).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// TOML config file (keys: listen, region, cert, key, report_file, dump_dir, metrics, [limits]).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write the relay knowledge report here (rewritten every second and at shutdown).
    #[arg(long)]
    report_file: Option<PathBuf>,
    /// Write every forwarded payload, as received, under this directory (SPEC §7.7).
    #[arg(long)]
    dump_dir: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Region this relay runs in, advertised to clients (geofencing).
    #[arg(long)]
    region: Option<String>,
    /// Largest media frame in bytes (at most 262144).
    #[arg(long)]
    max_frame_size: Option<usize>,
    /// Participants per room.
    #[arg(long)]
    max_participants: Option<usize>,
    /// Rooms open at once.
    #[arg(long)]
    max_rooms: Option<usize>,
    /// Connections at once.
    #[arg(long)]
    max_connections: Option<usize>,
    /// Media frames plus control messages per second per connection.
    #[arg(long)]
    frames_per_sec: Option<u32>,
    /// Bytes per second per connection.
    #[arg(long)]
    bytes_per_sec: Option<u64>,
    /// QUIC idle timeout in seconds.
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// On SIGTERM/SIGINT: seconds connected clients get to move to another relay (they are
    /// told GOING_AWAY) before the relay closes what is left and exits 0 (0..=300).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=300))]
    drain_secs: u64,
}

impl Args {
    fn config(self) -> anyhow::Result<RelayConfig> {
        let mut cfg = RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 4433)));
        if let Some(path) = &self.config {
            cfg.apply_file(FileConfig::load(path)?);
        }
        let l = &mut cfg.limits;
        macro_rules! set {
            ($($flag:ident => $field:expr),* $(,)?) => {$(
                if let Some(v) = self.$flag { $field = v; }
            )*};
        }
        set!(
            max_frame_size => l.max_frame_size,
            max_participants => l.max_participants_per_room,
            max_rooms => l.max_rooms,
            max_connections => l.max_connections,
            frames_per_sec => l.frames_per_second,
            bytes_per_sec => l.bytes_per_second,
            idle_timeout => l.idle_timeout_secs,
        );
        // Every limit in its range (SPEC §7.4), before anything starts: one line naming it.
        l.validate()?;
        if let Some(v) = self.listen {
            cfg.listen = v;
        }
        if let (Some(cert), Some(key)) = (self.cert, self.key) {
            cfg.cert = CertSource::Pem { cert, key };
        }
        if let Some(v) = self.region {
            cfg.region = v;
        }
        if self.report_file.is_some() {
            cfg.report_file = self.report_file;
        }
        if self.dump_dir.is_some() {
            cfg.dump_dir = self.dump_dir;
        }
        if self.metrics.is_some() {
            cfg.metrics = self.metrics;
        }
        cfg.drain = std::time::Duration::from_secs(self.drain_secs);
        Ok(cfg)
    }
}

/// Runs the relay until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mode = args.mode;
    let mut cfg = args.config()?;
    let keys = (mode == Mode::Transport).then(|| {
        Arc::new(KeyService::new(KeyServiceConfig {
            dump_dir: cfg.dump_dir.clone(),
            ..KeyServiceConfig::default()
        }))
    });
    if let Some(k) = &keys {
        cfg.hook = Some(k.clone());
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let relay = Relay::bind(cfg).await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "hush relay listening on {} sha256={}",
            relay.local_addr(),
            hex::encode(relay.cert_sha256())
        )?;
        if let Some(m) = relay.metrics_addr() {
            writeln!(out, "metrics on http://{m}/metrics")?;
        }
        out.flush()?;
        drop(out);
        match &keys {
            Some(k) => eprintln!(
                "hush relay mode: transport (keys issued and held by the relay's key service, \
                 suite {}; the relay decrypts every frame)",
                k.suite().name()
            ),
            None => eprintln!("hush relay mode: e2ee (keys stay on clients; the relay holds none)"),
        }
        tracing::info!(mode = ?mode, "relay mode");
        relay.run(shutdown_signal()).await?;
        if let Some(k) = &keys {
            k.flush();
            let s = k.stats();
            eprintln!(
                "hush relay key service: issued {} keys, opened {} frames, refused {}",
                s.issued, s.opened, s.failed
            );
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
