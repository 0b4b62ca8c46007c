//! `hush relay`: runs the untrusted QUIC relay (issue 3; SPEC §7).
//!
//! The first line on stdout is exactly `hush relay listening on <ip:port> sha256=<64 hex>`,
//! flushed at once, so scripts can read the address and the certificate pin.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context as _;
use hush_keyservice::{KeyService, KeyServiceConfig};
use hush_relay::config::MAX_DRAIN_SECS;
use hush_relay::{
    CertSource, ClusterConfig, DirectoryConfig, FileConfig, ModeName, PeerAddr, Relay, RelayConfig,
};

/// Who holds the meeting keys (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Keys are made by clients and never reach the relay.
    E2ee,
    /// The 2020 model: a key service beside the relay issues the keys and opens every frame.
    Transport,
}

impl From<ModeName> for Mode {
    fn from(m: ModeName) -> Self {
        match m {
            ModeName::E2ee => Mode::E2ee,
            ModeName::Transport => Mode::Transport,
        }
    }
}

impl From<Mode> for ModeName {
    fn from(m: Mode) -> Self {
        match m {
            Mode::E2ee => ModeName::E2ee,
            Mode::Transport => ModeName::Transport,
        }
    }
}

/// Default seconds of graceful drain.
const DEFAULT_DRAIN_SECS: u64 = 10;

/// `hush relay` flags. Each also comes from an environment variable (`HUSH_RELAY_<FLAG>`) and
/// from the `--config` TOML file (the same name with `_`): a flag overrides its variable, which
/// overrides the file, which overrides the default.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    tool: Option<Tool>,
    /// e2ee: the relay holds no key. transport: a key service beside the relay issues and holds
    /// the keys and decrypts every frame (with --dump-dir, also writes `<id>.decrypted`).
    /// [default: e2ee]
    #[arg(long, value_enum, env = "HUSH_RELAY_MODE")]
    mode: Option<Mode>,
    /// UDP address to listen on (`127.0.0.1:0` picks a free port). Default 127.0.0.1:4433.
    #[arg(long, env = "HUSH_RELAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Keep the relay's identity here: a self-signed key and certificate generated on first
    /// start (key mode 0600) and reused, so the pin clients hold survives restarts.
    #[arg(long, env = "HUSH_RELAY_STATE_DIR", conflicts_with = "cert")]
    state_dir: Option<PathBuf>,
    /// Certificate chain PEM file (with --key); default: a fresh self-signed certificate at
    /// every start (its pin changes: use --state-dir or a CA's certificate for a service).
    #[arg(long, requires = "key", env = "HUSH_RELAY_CERT")]
    cert: Option<PathBuf>,
    /// Private key PEM file (with --cert).
    #[arg(long, requires = "cert", env = "HUSH_RELAY_KEY")]
    key: Option<PathBuf>,
    /// TOML config file (keys: the flags' names with `_`, e.g. listen, mode, region, state_dir,
    /// drain_secs, metrics, and a [limits] table; `--print-config` shows them all).
    #[arg(long, env = "HUSH_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective configuration (defaults, file, environment and flags merged) as
    /// TOML, and exit without starting.
    #[arg(long)]
    print_config: bool,
    /// Write the relay knowledge report here (rewritten every second and at shutdown).
    #[arg(long, env = "HUSH_RELAY_REPORT_FILE")]
    report_file: Option<PathBuf>,
    /// Write every forwarded payload, as received, under this directory (SPEC §7.7).
    #[arg(long, env = "HUSH_RELAY_DUMP_DIR")]
    dump_dir: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (and /healthz, /readyz).
    #[arg(long, env = "HUSH_RELAY_METRICS")]
    metrics: Option<SocketAddr>,
    /// Region this relay runs in, advertised to clients (geofencing).
    #[arg(long, env = "HUSH_RELAY_REGION")]
    region: Option<String>,
    /// Largest media frame in bytes (at most 262144).
    #[arg(long, env = "HUSH_RELAY_MAX_FRAME_SIZE")]
    max_frame_size: Option<usize>,
    /// Participants per room.
    #[arg(long, env = "HUSH_RELAY_MAX_PARTICIPANTS")]
    max_participants: Option<usize>,
    /// Rooms open at once.
    #[arg(long, env = "HUSH_RELAY_MAX_ROOMS")]
    max_rooms: Option<usize>,
    /// Connections at once.
    #[arg(long, env = "HUSH_RELAY_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Media frames plus control messages per second per connection.
    #[arg(long, env = "HUSH_RELAY_FRAMES_PER_SEC")]
    frames_per_sec: Option<u32>,
    /// Bytes per second per connection.
    #[arg(long, env = "HUSH_RELAY_BYTES_PER_SEC")]
    bytes_per_sec: Option<u64>,
    /// QUIC idle timeout in seconds.
    #[arg(long, env = "HUSH_RELAY_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// On SIGTERM/SIGINT: seconds connected clients get to move to another relay (they are
    /// told GOING_AWAY) before the relay closes what is left and exits 0 (0..=300).
    /// [default: 10]
    #[arg(long, env = "HUSH_RELAY_DRAIN_SECS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_DRAIN_SECS))]
    drain_secs: Option<u64>,
    /// QUIC endpoints serving --listen, each on its own SO_REUSEPORT socket and all sharing the
    /// rooms (1..=64; 1 is one plain socket). [default: the number of cores]
    #[arg(long, env = "HUSH_RELAY_ENDPOINTS",
          value_parser = clap::value_parser!(u64).range(1..=hush_relay::MAX_ENDPOINTS as u64))]
    endpoints: Option<u64>,
    /// Join the cluster whose room directory is this Redis server (`redis://HOST:PORT[/DB]`,
    /// SPEC §15.7): the relay registers there under a 5 s lease, links to the other relays it
    /// finds, and checks every join against the geofence of the whole room.
    #[arg(long, env = "HUSH_RELAY_CLUSTER", value_name = "REDIS_URL")]
    cluster: Option<String>,
    /// The address other relays of the cluster dial to reach this one. Default: --listen
    /// (which must then not be a wildcard address).
    #[arg(long, env = "HUSH_RELAY_ADVERTISE")]
    advertise: Option<SocketAddr>,
    /// This relay's name in its cluster (1..=64 letters, digits, '.', '_', '-'; unique in the
    /// cluster). Default: made from the advertised address.
    #[arg(long, env = "HUSH_RELAY_NAME")]
    name: Option<String>,
    /// A relay to link to, `ADDR#SHA256` (its address and certificate pin; repeatable): a
    /// static cascade, without --cluster, or beside it.
    #[arg(long = "peer", value_name = "ADDR#SHA256")]
    peers: Vec<String>,
    /// File holding the cluster secret every relay of the cluster presents to the others (at
    /// least 16 bytes). Default with --cluster: the secret kept in the directory, set by the
    /// first relay (whoever can read the directory can then join the mesh).
    #[arg(long, env = "HUSH_RELAY_CLUSTER_SECRET_FILE")]
    cluster_secret_file: Option<PathBuf>,
}

/// A cascade's settings as the file, variables and flags give them.
#[derive(Debug, Default)]
struct ClusterArgs {
    url: Option<String>,
    advertise: Option<SocketAddr>,
    name: Option<String>,
    peers: Vec<String>,
    secret_file: Option<PathBuf>,
}

impl ClusterArgs {
    /// The relay's cluster configuration, `None` without --cluster or --peer.
    fn build(&self, listen: SocketAddr) -> anyhow::Result<Option<ClusterConfig>> {
        if self.url.is_none() && self.peers.is_empty() {
            if self.advertise.is_some() || self.name.is_some() || self.secret_file.is_some() {
                anyhow::bail!(
                    "--advertise, --name and --cluster-secret-file need --cluster or --peer"
                );
            }
            return Ok(None);
        }
        let peers = self
            .peers
            .iter()
            .map(|p| {
                p.parse::<PeerAddr>()
                    .map_err(|e| anyhow::anyhow!("--peer: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = match &self.name {
            Some(n) => n.clone(),
            None => self
                .advertise
                .unwrap_or(listen)
                .to_string()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect(),
        };
        if !hush_relay::valid_relay_name(&name) {
            anyhow::bail!(
                "--name {name:?}: 1..=64 ASCII letters, digits, '.', '_' or '-' (unique in the cluster)"
            );
        }
        let secret = match &self.secret_file {
            Some(path) => {
                let text = std::fs::read(path).with_context(|| {
                    format!("cannot read the cluster secret {}", path.display())
                })?;
                text.trim_ascii().to_vec()
            }
            None if self.url.is_none() => {
                anyhow::bail!(
                    "a cascade of --peer relays without --cluster needs --cluster-secret-file"
                )
            }
            None => Vec::new(),
        };
        Ok(Some(ClusterConfig {
            name,
            secret,
            peers,
            directory: self.url.as_ref().map(|url| DirectoryConfig {
                url: url.clone(),
                advertise: self.advertise,
            }),
        }))
    }
}

/// Tools of `hush relay` that do not start it.
#[derive(Debug, clap::Subcommand)]
enum Tool {
    /// Print the pin (`sha256=<hex>`) of a state directory or a PEM certificate, without
    /// starting a relay: what clients pass to `--relay-sha256`.
    Pin {
        /// A `--state-dir` directory or a PEM certificate file.
        path: PathBuf,
    },
}

impl Args {
    /// The effective configuration and mode: defaults, then the file, then variables and flags.
    fn config(self) -> anyhow::Result<(RelayConfig, Mode, ClusterArgs)> {
        let mut cfg = RelayConfig::new(SocketAddr::from(([127, 0, 0, 1], 4433)));
        cfg.drain = Duration::from_secs(DEFAULT_DRAIN_SECS);
        cfg.endpoints = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(hush_relay::MAX_ENDPOINTS);
        let mut mode = Mode::E2ee;
        let mut cluster = ClusterArgs::default();
        if let Some(path) = &self.config {
            let file = FileConfig::load(path)?;
            if let Some(m) = file.mode {
                mode = m.into();
            }
            cluster = ClusterArgs {
                url: file.cluster.clone(),
                advertise: file.advertise,
                name: file.name.clone(),
                peers: file.peers.clone().unwrap_or_default(),
                secret_file: file.cluster_secret_file.clone(),
            };
            cfg.apply_file(file);
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
        if let Some(v) = self.mode {
            mode = v;
        }
        if let Some(v) = self.listen {
            cfg.listen = v;
        }
        if let Some(dir) = self.state_dir {
            cfg.cert = CertSource::StateDir(dir);
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
        if let Some(d) = self.drain_secs {
            cfg.drain = Duration::from_secs(d);
        }
        if let Some(n) = self.endpoints {
            cfg.endpoints = usize::try_from(n).unwrap_or(1);
        }
        if self.cluster.is_some() {
            cluster.url = self.cluster;
        }
        if self.advertise.is_some() {
            cluster.advertise = self.advertise;
        }
        if self.name.is_some() {
            cluster.name = self.name;
        }
        if !self.peers.is_empty() {
            cluster.peers = self.peers;
        }
        if self.cluster_secret_file.is_some() {
            cluster.secret_file = self.cluster_secret_file;
        }
        cfg.cluster = cluster.build(cfg.listen)?;
        Ok((cfg, mode, cluster))
    }
}

/// The effective configuration in the config file's own format, so it can be saved and reused.
fn config_toml(cfg: &RelayConfig, mode: Mode, cluster: &ClusterArgs) -> anyhow::Result<String> {
    let (state_dir, cert, key) = match &cfg.cert {
        CertSource::StateDir(d) => (Some(d.clone()), None, None),
        CertSource::Pem { cert, key } => (None, Some(cert.clone()), Some(key.clone())),
        _ => (None, None, None),
    };
    let file = FileConfig {
        mode: Some(mode.into()),
        drain_secs: Some(cfg.drain.as_secs()),
        endpoints: Some(cfg.endpoints),
        listen: Some(cfg.listen),
        region: Some(cfg.region.clone()),
        cert,
        key,
        state_dir,
        report_file: cfg.report_file.clone(),
        dump_dir: cfg.dump_dir.clone(),
        metrics: cfg.metrics,
        // A password in the directory's URL is not printed (set it again when reusing this).
        cluster: cluster.url.as_deref().map(hush_relay::redact_url),
        advertise: cluster.advertise,
        name: cfg.cluster.as_ref().map(|c| c.name.clone()),
        peers: (!cluster.peers.is_empty()).then(|| cluster.peers.clone()),
        cluster_secret_file: cluster.secret_file.clone(),
        limits: cfg.limits.clone(),
    };
    let mut text = String::from(
        "# hush relay: effective configuration (defaults < --config file < HUSH_RELAY_* < flags)\n",
    );
    if matches!(cfg.cert, CertSource::SelfSigned) {
        text.push_str(
            "# identity: a fresh self-signed certificate at every start (set state_dir to keep it)\n",
        );
    }
    text.push_str(&toml::to_string(&file).context("cannot print the configuration")?);
    Ok(text)
}

/// Runs the relay until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(Tool::Pin { path }) = &args.tool {
        let pin = hush_relay::pin_of(path)?;
        super::stdout_line(&format!("sha256={}", hex::encode(pin)))?;
        return Ok(());
    }
    let print = args.print_config;
    let (mut cfg, mode, cluster) = args.config()?;
    if print {
        super::stdout_line(config_toml(&cfg, mode, &cluster)?.trim_end())?;
        return Ok(());
    }
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
        eprintln!("hush relay {}", env!("CARGO_PKG_VERSION"));
        match &keys {
            Some(k) => eprintln!(
                "hush relay mode: transport (keys issued and held by the relay's key service, \
                 suite {}; the relay decrypts every frame)",
                k.suite().name()
            ),
            None => eprintln!("hush relay mode: e2ee (keys stay on clients; the relay holds none)"),
        }
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            mode = ?mode,
            listen = %relay.local_addr(),
            pin = %hex::encode(relay.cert_sha256()),
            "hush relay started"
        );
        relay.run(shutdown_signal()).await?;
        if let Some(k) = &keys {
            k.flush();
            let s = k.stats();
            eprintln!(
                "hush relay key service: issued {}, opened {}, refused {}",
                super::count(s.issued, "key", "keys"),
                super::count(s.opened, "frame", "frames"),
                s.failed
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
