//! Errors of the connector: the meeting layer's, the sinks' (local I/O), and malformed sink
//! data met by the readers (a datagram or recording that does not follow SPEC §13).

/// Why a connector operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The meeting layer failed (connect, join, leave).
    #[error("meeting: {0}")]
    Meeting(#[from] hush_client::MeetingError),
    /// The UDP sink's socket could not be opened.
    #[error("udp sink {addr}: {source}")]
    UdpSink {
        /// The sink's address.
        addr: std::net::SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The recording file could not be created or written.
    #[error("record file {path}: {source}")]
    RecordFile {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The datagram size is outside `MIN_DATAGRAM_SIZE..=MAX_DATAGRAM_SIZE`.
    #[error("datagram size {0} is outside {min}..={max}", min = crate::datagram_size::MIN_DATAGRAM_SIZE, max = crate::datagram_size::MAX_DATAGRAM_SIZE)]
    DatagramSize(usize),
    /// A payload needs more than 65535 chunks at this datagram size.
    #[error("a payload of {0} bytes needs more than 65535 chunks")]
    PayloadTooLarge(usize),
    /// A datagram that does not follow SPEC §13.3 (short, wrong version, bad chunk numbers).
    #[error("malformed datagram: {0}")]
    MalformedDatagram(&'static str),
    /// A recording that does not follow SPEC §13.4 (magic, version, record type, truncation).
    #[error("malformed recording: {0}")]
    MalformedRecording(&'static str),
    /// The bridge task ended abnormally (it panicked or was cancelled).
    #[error("the bridge task failed")]
    Task,
}
