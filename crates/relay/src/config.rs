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
    /// Stream-carried media frames queued per receiver for its writer (one frame per stream, in
    /// order); beyond it frames are dropped and counted.
    pub stream_frames_in_flight: usize,
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
            stream_frames_in_flight: 16,
        }
    }
}

impl Limits {
    /// The idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}

/// Where the relay's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertSource {
    /// A fresh self-signed certificate generated at start (rcgen).
    SelfSigned,
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
    /// TCP address for the Prometheus `/metrics` endpoint.
    pub metrics: Option<SocketAddr>,
    /// Limits.
    pub limits: Limits,
    /// Optional hook (transport mode's key service); `None` is a pure forwarder.
    pub hook: Option<Arc<dyn RelayHook>>,
}

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
        self.limits = file.limits;
    }
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
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Region name.
    pub region: Option<String>,
    /// Certificate PEM file (with `key`).
    pub cert: Option<PathBuf>,
    /// Private key PEM file (with `cert`).
    pub key: Option<PathBuf>,
    /// Report file.
    pub report_file: Option<PathBuf>,
    /// Dump directory.
    pub dump_dir: Option<PathBuf>,
    /// Metrics address.
    pub metrics: Option<SocketAddr>,
    /// Limits (missing keys keep their defaults).
    pub limits: Limits,
}

impl FileConfig {
    /// Parses TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, RelayError> {
        toml::from_str(text).map_err(|e| RelayError::Config {
            path: path.to_owned(),
            reason: e.to_string(),
        })
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
}
