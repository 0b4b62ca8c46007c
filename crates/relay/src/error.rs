//! The relay's error type.

use std::path::PathBuf;

/// What can go wrong starting or running a relay. Peer misbehaviour is not an error of the
/// relay: it closes that connection with a wire code (SPEC §6.4) and carries on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A certificate or key file could not be read or parsed.
    #[error("cannot load {what} from {path}: {reason}")]
    Pem {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    CertGen(String),
    /// rustls refused the TLS configuration (e.g. the key does not match the certificate).
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Binding a socket failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// Address.
        addr: std::net::SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The configuration file is invalid.
    #[error("invalid config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A limit is outside its range (SPEC §7.4); the text names the key, value and range.
    #[error("{0}")]
    Limit(String),
    /// The cluster settings are unusable.
    #[error("cluster: {0}")]
    Cluster(String),
    /// The cluster directory cannot be reached at start (SPEC §15.7).
    #[error("cluster: {0}")]
    DirectoryUnreachable(String),
    /// Writing the report or a dump file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}
