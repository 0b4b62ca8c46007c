//! Errors of the test kit.

/// What went wrong setting up or running a test tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// Certificate generation, TLS or QUIC setup failed.
    #[error("setup: {0}")]
    Setup(String),
    /// Binding the UDP socket failed.
    #[error("cannot bind: {0}")]
    Bind(#[from] std::io::Error),
    /// The relay child process did not start as its contract says.
    #[error("relay process: {0}")]
    Process(String),
}
