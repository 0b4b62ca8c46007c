//! Relay configuration: limits with defaults, overridable by flags and a TOML file (SPEC §7.4).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::RelayError;
use crate::hook::RelayHook;

/// Resource limits. Exceeding a per-connection limit closes that connection with a wire code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest media frame accepted, in bytes (at most 256 KiB on the wire).
    pub max_frame_size: usize,
    /// Participants per room; a `Join` beyond it gets `Error ROOM_FULL`.
    pub max_participants_per_room: usize,
    /// Rooms open at once; a `Join` creating one more gets `Error TOO_MANY_ROOMS`.
    pub max_rooms: usize,
    /// Connections at once; one more is closed with `TOO_MANY_CONNECTIONS`.
    pub max_connections: usize,
    /// Media frames plus control messages per second per connection (token bucket, 1 s burst).
    pub frames_per_second: u32,
    /// Bytes of media and control per second per connection (token bucket, 1 s burst).
    pub bytes_per_second: u64,
    /// QUIC idle timeout in seconds.
    pub idle_timeout_secs: u64,
    /// Control messages queued per receiver; a receiver whose queue is full is disconnected.
    pub control_queue: usize,
    /// Bytes of control messages queued per receiver; a receiver over it is disconnected
    /// (`SLOW_CONSUMER`), as for [`control_queue`](Self::control_queue).
    pub control_queue_bytes: usize,
    /// Stream-carried media frames queued per receiver for its writer (one frame per stream, in
    /// order); beyond it frames are dropped and counted.
    pub stream_frames_in_flight: usize,
    /// Bytes of stream-carried media frames queued or being written per receiver; a frame that
    /// does not fit is dropped and counted.
    pub stream_bytes_in_flight: usize,
    /// Bytes of unfinished inbound media streams held per connection (all its streams together);
    /// over it the connection is closed `RATE_LIMITED`.
    pub stream_pending_bytes: usize,
    /// Seconds an inbound media stream may take from its opening to its end (FIN); a slower one
    /// closes the connection with `PROTOCOL_VIOLATION`.
    pub stream_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: hush_wire::MAX_FRAME_SIZE,
            max_participants_per_room: 100,
            max_rooms: 1000,
            max_connections: 1000,
            frames_per_second: 2000,
            bytes_per_second: 32 * 1024 * 1024,
            idle_timeout_secs: 30,
            control_queue: 1024,
            control_queue_bytes: 1024 * 1024,
            stream_frames_in_flight: 16,
            stream_bytes_in_flight: 2 * 1024 * 1024,
            // 32 concurrent streams of a maximum-size frame: a sender's burst of large frames
            // arrives interleaved (QUIC sends its streams round-robin), so an honest client can
            // have every stream unfinished at once.
            stream_pending_bytes: 8 * 1024 * 1024,
            stream_timeout_secs: 10,
        }
    }
}

/// Longest graceful drain accepted, in seconds.
pub const MAX_DRAIN_SECS: u64 = 300;

/// Largest byte budget any limit accepts (256 MiB).
const MAX_BYTES_LIMIT: u64 = 256 * 1024 * 1024;
/// The largest control message on the wire: length prefix plus the longest body.
const MAX_CONTROL_WIRE: u64 = hush_wire::MAX_CONTROL_SIZE as u64 + 4;

impl Limits {
    /// The idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    /// How long an inbound media stream may stay unfinished.
    pub fn stream_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_timeout_secs.max(1))
    }

    /// Every limit with its TOML key, command-line flag (if any) and accepted range (SPEC §7.4).
    pub fn ranges(&self) -> Vec<LimitRange> {
        let frame = self.max_frame_size as u64;
        let r = |key, flag, value: u64, min, max| LimitRange {
            key,
            flag,
            value,
            min,
            max,
        };
        vec![
            r(
                "max_frame_size",
                Some("--max-frame-size"),
                frame,
                1,
                hush_wire::MAX_FRAME_SIZE as u64,
            ),
            r(
                "max_participants_per_room",
                Some("--max-participants"),
                self.max_participants_per_room as u64,
                1,
                10_000,
            ),
            r(
                "max_rooms",
                Some("--max-rooms"),
                self.max_rooms as u64,
                1,
                1_000_000,
            ),
            r(
                "max_connections",
                Some("--max-connections"),
                self.max_connections as u64,
                1,
                100_000,
            ),
            r(
                "frames_per_second",
                Some("--frames-per-sec"),
                u64::from(self.frames_per_second),
                1,
                u64::from(u32::MAX),
            ),
            r(
                "bytes_per_second",
                Some("--bytes-per-sec"),
                self.bytes_per_second,
                1,
                i64::MAX as u64,
            ),
            r(
                "idle_timeout_secs",
                Some("--idle-timeout"),
                self.idle_timeout_secs,
                1,
                86_400,
            ),
            r("control_queue", None, self.control_queue as u64, 1, 65_536),
            r(
                "control_queue_bytes",
                None,
                self.control_queue_bytes as u64,
                MAX_CONTROL_WIRE,
                MAX_BYTES_LIMIT,
            ),
            r(
                "stream_frames_in_flight",
                None,
                self.stream_frames_in_flight as u64,
                1,
                4096,
            ),
            r(
                "stream_bytes_in_flight",
                None,
                self.stream_bytes_in_flight as u64,
                frame,
                MAX_BYTES_LIMIT,
            ),
            r(
                "stream_pending_bytes",
                None,
                self.stream_pending_bytes as u64,
                frame + 1,
                MAX_BYTES_LIMIT,
            ),
            r(
                "stream_timeout_secs",
                None,
                self.stream_timeout_secs,
                1,
                600,
            ),
        ]
    }

    /// Checks every limit against its range (SPEC §7.4): the first one outside it is the error.
    ///
    /// # Errors
    /// [`RelayError::Limit`] naming the key, its value and its range.
    pub fn validate(&self) -> Result<(), RelayError> {
        match self.ranges().into_iter().find(|r| !r.holds()) {
            Some(r) => Err(RelayError::Limit(r.to_string())),
            None => Ok(()),
        }
    }
}

/// One limit's value and accepted range, as [`Limits::validate`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRange {
    /// TOML key under `[limits]`.
    pub key: &'static str,
    /// Command-line flag of `hush relay`, if the limit has one.
    pub flag: Option<&'static str>,
    /// The configured value.
    pub value: u64,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
}

impl LimitRange {
    /// True if the value is in range.
    pub fn holds(&self) -> bool {
        (self.min..=self.max).contains(&self.value)
    }
}

impl std::fmt::Display for LimitRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[limits] {}", self.key)?;
        if let Some(flag) = self.flag {
            write!(f, " ({flag})")?;
        }
        write!(
            f,
            " = {} is outside its range {}..={}",
            self.value, self.min, self.max
        )
    }
}

/// Where the relay's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertSource {
    /// A fresh self-signed certificate generated at start (rcgen).
    SelfSigned,
    /// A state directory (`--state-dir`): `cert.pem` and `key.pem`, a self-signed identity
    /// generated on first use and reused, so the pin survives restarts (SPEC §7.12).
    StateDir(PathBuf),
    /// PEM files: certificate chain (end-entity first) and private key.
    Pem {
        /// Certificate chain file.
        cert: PathBuf,
        /// Private key file.
        key: PathBuf,
    },
}

/// Everything needed to start a relay.
#[derive(Clone)]
pub struct RelayConfig {
    /// UDP address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// TLS certificate.
    pub cert: CertSource,
    /// Region advertised in `Hello` (geofencing, claim C6).
    pub region: String,
    /// Knowledge report file, rewritten every `report_interval` and at shutdown.
    pub report_file: Option<PathBuf>,
    /// How often the report is rewritten.
    pub report_interval: Duration,
    /// Directory for the payload dump (SPEC §7.7); nothing is written without it.
    pub dump_dir: Option<PathBuf>,
    /// TCP address for the operator endpoint: `/metrics`, `/healthz`, `/readyz` (SPEC §7.8).
    pub metrics: Option<SocketAddr>,
    /// Limits.
    pub limits: Limits,
    /// Optional hook (transport mode's key service); `None` is a pure forwarder.
    pub hook: Option<Arc<dyn RelayHook>>,
    /// Graceful drain (SPEC §7.11): once the shutdown future fires, how long connected clients
    /// have to move to another relay (they are told with `GOING_AWAY`) before every connection
    /// is closed with `SHUTTING_DOWN`. Zero (the default for an embedded relay) closes at once;
    /// `hush relay` defaults to 10 s.
    pub drain: Duration,
    /// QUIC endpoints serving `listen`, each on its own `SO_REUSEPORT` socket (SPEC §7.13):
    /// the kernel spreads clients across them by address, every room is shared by all. 1 (the
    /// default for an embedded relay) is one plain socket; `hush relay` defaults to the number
    /// of cores. At most [`MAX_ENDPOINTS`].
    pub endpoints: usize,
    /// Relay-to-relay links (SPEC §15): `None` (the default) is a relay on its own.
    pub cluster: Option<ClusterConfig>,
}

/// A relay's part in a cascade (SPEC §15): its name, the cluster secret every relay of the
/// cluster holds, and the relays it dials.
#[derive(Clone)]
pub struct ClusterConfig {
    /// This relay's name, unique in the cluster (1..=255 bytes).
    pub name: String,
    /// The cluster secret (at least [`hush_wire::peer::MIN_SECRET`] bytes): a dialling relay
    /// presents it, an accepting relay refuses a link without it. Empty with a
    /// [`directory`](Self::directory): the secret the directory keeps (set by the first relay).
    pub secret: Vec<u8>,
    /// The relays this one dials (a static peer list); a link is used both ways, so each pair
    /// needs listing on one side only.
    pub peers: Vec<PeerAddr>,
    /// The room directory on Redis (SPEC §15.7): relays find each other there, and every join
    /// is checked there against the geofence of the whole room. `None`: static peers only.
    pub directory: Option<DirectoryConfig>,
}

/// Where the cluster's room directory is, and how this relay is reached by the others.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectoryConfig {
    /// `redis://HOST:PORT[/DB]` (a password in it is never printed).
    pub url: String,
    /// The address other relays dial (`--advertise`); `None`: the address the relay listens
    /// on, which must then not be a wildcard.
    pub advertise: Option<SocketAddr>,
}

impl std::fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &crate::directory::redact(&self.url))
            .field("advertise", &self.advertise)
            .finish()
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("name", &self.name)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("peers", &self.peers)
            .field("directory", &self.directory)
            .finish()
    }
}

/// Where a peer relay listens and the SHA-256 pin of its certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr {
    /// UDP address.
    pub addr: SocketAddr,
    /// SHA-256 of its certificate's DER.
    pub pin: [u8; 32],
}

impl std::fmt::Debug for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.addr, hex::encode(self.pin))
    }
}

impl std::str::FromStr for PeerAddr {
    type Err = String;

    /// `ADDR#PIN`: a socket address and the 64 hex digits of the certificate's SHA-256 (what
    /// `hush relay` prints as `sha256=`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, pin) = s
            .split_once('#')
            .ok_or_else(|| format!("peer {s:?} is not ADDR#SHA256"))?;
        let addr = addr
            .parse()
            .map_err(|e| format!("peer address {addr:?}: {e}"))?;
        let pin = hex::decode(pin)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| format!("peer pin {pin:?} is not 64 hex digits"))?;
        Ok(PeerAddr { addr, pin })
    }
}

/// The most endpoints one relay runs ([`RelayConfig::endpoints`]).
pub const MAX_ENDPOINTS: usize = 64;

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("listen", &self.listen)
            .field("cert", &self.cert)
            .field("region", &self.region)
            .field("report_file", &self.report_file)
            .field("dump_dir", &self.dump_dir)
            .field("metrics", &self.metrics)
            .field("limits", &self.limits)
            .field("hook", &self.hook.is_some())
            .field("drain", &self.drain)
            .field("endpoints", &self.endpoints)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl RelayConfig {
    /// A configuration with defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        RelayConfig {
            listen,
            cert: CertSource::SelfSigned,
            region: String::new(),
            report_file: None,
            report_interval: Duration::from_secs(1),
            dump_dir: None,
            metrics: None,
            limits: Limits::default(),
            hook: None,
            drain: Duration::ZERO,
            endpoints: 1,
            cluster: None,
        }
    }

    /// Applies a parsed config file: every key present in the file replaces the current value.
    pub fn apply_file(&mut self, file: FileConfig) {
        if let Some(l) = file.listen {
            self.listen = l;
        }
        if let Some(r) = file.region {
            self.region = r;
        }
        if let Some(dir) = file.state_dir {
            self.cert = CertSource::StateDir(dir);
        }
        if let (Some(cert), Some(key)) = (file.cert, file.key) {
            self.cert = CertSource::Pem { cert, key };
        }
        if file.report_file.is_some() {
            self.report_file = file.report_file;
        }
        if file.dump_dir.is_some() {
            self.dump_dir = file.dump_dir;
        }
        if file.metrics.is_some() {
            self.metrics = file.metrics;
        }
        if let Some(d) = file.drain_secs {
            self.drain = Duration::from_secs(d);
        }
        if let Some(n) = file.endpoints {
            self.endpoints = n;
        }
        self.limits = file.limits;
    }
}

/// Who holds the meeting keys, as the config file names it (`mode = "e2ee"` or `"transport"`).
/// The relay itself only forwards; `hush relay` plugs transport mode's key service in as a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    /// Keys stay on clients.
    E2ee,
    /// A key service beside the relay issues and holds the keys.
    Transport,
}

/// The TOML config file (`--config FILE.toml`). Every key is optional; unknown keys are errors.
///
/// ```toml
/// listen = "0.0.0.0:4433"
/// region = "eu-west"
/// report_file = "relay-report.txt"
/// [limits]
/// max_frame_size = 262144
/// frames_per_second = 2000
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Who holds the keys (`hush relay --mode`).
    pub mode: Option<ModeName>,
    /// Seconds of graceful drain on SIGTERM (`hush relay --drain-secs`, 0..=300).
    pub drain_secs: Option<u64>,
    /// QUIC endpoints on `SO_REUSEPORT` sockets (`hush relay --endpoints`, 1..=64).
    pub endpoints: Option<usize>,
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Region name.
    pub region: Option<String>,
    /// Certificate PEM file (with `key`).
    pub cert: Option<PathBuf>,
    /// Private key PEM file (with `cert`).
    pub key: Option<PathBuf>,
    /// State directory holding a stable self-signed identity (not with `cert`/`key`).
    pub state_dir: Option<PathBuf>,
    /// Report file.
    pub report_file: Option<PathBuf>,
    /// Dump directory.
    pub dump_dir: Option<PathBuf>,
    /// Metrics address.
    pub metrics: Option<SocketAddr>,
    /// The cluster's room directory, `redis://HOST:PORT` (`hush relay --cluster`).
    pub cluster: Option<String>,
    /// The address other relays of the cluster dial (`hush relay --advertise`).
    pub advertise: Option<SocketAddr>,
    /// This relay's name in its cluster (`hush relay --name`).
    pub name: Option<String>,
    /// Relays to dial, `ADDR#SHA256` each (`hush relay --peer`).
    pub peers: Option<Vec<String>>,
    /// A file holding the cluster secret (`hush relay --cluster-secret-file`).
    pub cluster_secret_file: Option<PathBuf>,
    /// Limits (missing keys keep their defaults).
    pub limits: Limits,
}

impl FileConfig {
    /// Parses TOML text. A `cert` without `key` (or the reverse) is an error, not a silent
    /// fall-back to a self-signed certificate; so is a limit outside its range.
    pub fn parse(text: &str, path: &Path) -> Result<Self, RelayError> {
        let err = |reason: String| RelayError::Config {
            path: path.to_owned(),
            reason,
        };
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            // One line: where, then toml's message (its Display spans several lines).
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().replace('\n', " ");
            err(match line {
                Some(n) => format!("line {n}: {msg}"),
                None => msg,
            })
        })?;
        match (&file.cert, &file.key) {
            (Some(_), None) => return Err(err("`cert` is set without `key`".into())),
            (None, Some(_)) => return Err(err("`key` is set without `cert`".into())),
            _ => {}
        }
        if file.state_dir.is_some() && file.cert.is_some() {
            return Err(err(
                "`state_dir` and `cert`/`key` are two identities: set one".into(),
            ));
        }
        if file.drain_secs.is_some_and(|d| d > MAX_DRAIN_SECS) {
            return Err(err(format!(
                "drain_secs is outside its range 0..={MAX_DRAIN_SECS}"
            )));
        }
        if file
            .endpoints
            .is_some_and(|n| !(1..=MAX_ENDPOINTS).contains(&n))
        {
            return Err(err(format!(
                "endpoints is outside its range 1..={MAX_ENDPOINTS}"
            )));
        }
        file.limits.validate().map_err(|e| err(e.to_string()))?;
        Ok(file)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, RelayError> {
        let text = std::fs::read_to_string(path).map_err(|e| RelayError::Config {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_only_given_limits() {
        let f = FileConfig::parse(
            "region = \"eu\"\n[limits]\nmax_rooms = 3\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(f.region.as_deref(), Some("eu"));
        assert_eq!(f.limits.max_rooms, 3);
        assert_eq!(f.limits.max_frame_size, Limits::default().max_frame_size);
        assert!(FileConfig::parse("bogus = 1", Path::new("x.toml")).is_err());
    }

    #[test]
    fn defaults_are_in_range_and_every_limit_has_one() {
        Limits::default().validate().unwrap();
        let r = Limits::default().ranges();
        assert_eq!(r.len(), 13, "one range per field of Limits");
        assert!(r.iter().all(|r| r.min >= 1), "0 is never accepted");
    }

    #[test]
    fn out_of_range_and_zero_limits_are_one_line_errors_naming_the_key() {
        let bad = |f: fn(&mut Limits)| {
            let mut l = Limits::default();
            f(&mut l);
            l.validate().unwrap_err().to_string()
        };
        let e = bad(|l| l.control_queue = 1 << 62);
        assert_eq!(
            e,
            "[limits] control_queue = 4611686018427387904 is outside its range 1..=65536"
        );
        let e = bad(|l| l.stream_frames_in_flight = 1 << 62);
        assert!(e.contains("stream_frames_in_flight"), "{e}");
        let e = bad(|l| l.max_frame_size = 0);
        assert_eq!(
            e,
            "[limits] max_frame_size (--max-frame-size) = 0 is outside its range 1..=262144"
        );
        let e = bad(|l| l.idle_timeout_secs = 0);
        assert!(e.contains("idle_timeout_secs (--idle-timeout) = 0"), "{e}");
        // A budget must hold the largest message or frame it queues.
        let e = bad(|l| l.control_queue_bytes = 1000);
        assert!(e.contains("control_queue_bytes = 1000"), "{e}");
        let e = bad(|l| l.stream_pending_bytes = l.max_frame_size);
        assert!(e.contains("stream_pending_bytes"), "{e}");
    }

    #[test]
    fn file_errors_are_one_line_cert_needs_key() {
        let p = Path::new("bad.toml");
        let e = FileConfig::parse("cert = \"c.pem\"\n", p)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "invalid config bad.toml: `cert` is set without `key`");
        let e = FileConfig::parse("key = \"k.pem\"\n", p)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "invalid config bad.toml: `key` is set without `cert`");
        let e = FileConfig::parse("[limits]\ncontrol_queue = 4611686018427387904\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("control_queue") && e.contains("1..=65536"),
            "{e}"
        );
        let e = FileConfig::parse("[limits]\nmax_rooms = 0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_rooms (--max-rooms) = 0"), "{e}");
        let e = FileConfig::parse("[limits]\nmax_rooms = -1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid config bad.toml: line 2: "), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        let ok = FileConfig::parse("cert = \"c.pem\"\nkey = \"k.pem\"\n", p).unwrap();
        assert!(ok.cert.is_some() && ok.key.is_some());
    }
}
