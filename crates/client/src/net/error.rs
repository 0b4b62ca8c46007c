//! The network layer's errors: [`NetError`] and the typed causes it carries.
//!
//! Each variant's text names what failed (`cannot connect to the relay: …`, `send failed: …`)
//! followed by its cause's own text; the cause is also the variant's [`source`]
//! (std::error::Error::source), so callers can match on it instead of parsing strings.

use std::path::PathBuf;

use hush_wire::{ErrorCode, RelayMessage, WireError};

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Local socket or TLS setup failed.
    #[error("setup: {0}")]
    Setup(#[from] SetupError),
    /// The CA file could not be read.
    #[error("cannot read CA file {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: CaFileError,
    },
    /// The QUIC connection could not be established (includes a pin mismatch).
    #[error("cannot connect to the relay: {0}")]
    Connect(#[from] ConnectError),
    /// The relay presented a certificate other than the pinned one (`--relay-cert-sha256`).
    #[error(
        "the relay's certificate does not match the pin: expected {}, got {}",
        hex::encode(expected),
        hex::encode(got)
    )]
    PinMismatch {
        /// The pin the client holds.
        expected: [u8; 32],
        /// SHA-256 of the certificate the relay presented.
        got: [u8; 32],
    },
    /// The connection failed or was closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The relay broke the protocol (bad `Hello`, undecodable message).
    #[error("relay protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The relay is in a region the policy does not allow (claim C6).
    #[error("relay region {region:?} is not among the allowed regions {allowed:?}")]
    RegionRefused {
        /// The relay's region.
        region: String,
        /// The allowed list.
        allowed: Vec<String>,
    },
    /// The relay answered a request with an error.
    #[error("relay refused: {code}: {reason}")]
    Refused {
        /// Code (SPEC §6.4).
        code: ErrorCode,
        /// Reason.
        reason: String,
    },
    /// No answer in time.
    #[error("timed out waiting for the relay")]
    Timeout,
    /// A frame exceeds the 256 KiB maximum.
    #[error("frame of {0} bytes exceeds the maximum frame size")]
    FrameTooLarge(usize),
    /// Writing to a stream or sending a datagram failed.
    #[error("send failed: {0}")]
    Send(#[from] SendError),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

/// Why the local endpoint could not be set up ([`NetError::Setup`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The TLS configuration was refused (e.g. the provider lacks TLS 1.3).
    #[error(transparent)]
    Tls(#[from] rustls::Error),
    /// The TLS configuration cannot serve QUIC (no initial cipher suite).
    #[error(transparent)]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    /// The UDP socket could not be bound or the endpoint not started.
    #[error(transparent)]
    Socket(#[from] std::io::Error),
}

/// Why a CA file gave no trust anchors ([`NetError::CaFile`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaFileError {
    /// The file could not be read or is not PEM.
    #[error(transparent)]
    Pem(#[from] rustls::pki_types::pem::Error),
    /// A certificate in it is not a usable trust anchor.
    #[error(transparent)]
    Certificate(#[from] rustls::Error),
    /// The file holds no `CERTIFICATE` block.
    #[error("no CERTIFICATE block")]
    NoCertificate,
}

/// Why the QUIC connection to the relay was not established ([`NetError::Connect`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection could not be started (e.g. an invalid server name or address).
    #[error(transparent)]
    Start(#[from] quinn::ConnectError),
    /// The handshake failed (e.g. the relay's certificate does not match the pin).
    #[error(transparent)]
    Handshake(#[from] quinn::ConnectionError),
}

/// How the relay broke the protocol of SPEC §6 ([`NetError::Protocol`]), or (for
/// [`RoomName`](Self::RoomName)) a request that cannot be put on the wire.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A control message (or its length prefix) does not decode.
    #[error(transparent)]
    Decode(#[from] WireError),
    /// The control stream ended inside a message, or was reset.
    #[error(transparent)]
    Read(#[from] quinn::ReadExactError),
    /// The first message on the control stream is not `Hello` (`None`: the stream ended).
    #[error("expected Hello, got {0:?}")]
    ExpectedHello(Option<Box<RelayMessage>>),
    /// The relay's `Hello` names a protocol version this client does not speak.
    #[error("relay speaks protocol version {0}")]
    Version(u16),
    /// A second `Hello` after the first.
    #[error("relay sent a second Hello")]
    SecondHello,
    /// A media stream does not start with the media type byte.
    #[error(transparent)]
    StreamType(WireError),
    /// A media stream ended before carrying any frame byte.
    #[error("empty media stream")]
    EmptyMediaStream,
    /// A room name outside 1..=255 bytes (refused before sending).
    #[error("room name must be 1..=255 bytes")]
    RoomName,
}

/// Why a message or frame could not be sent ([`NetError::Send`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Writing to a stream failed (e.g. the relay stopped it).
    #[error(transparent)]
    Write(#[from] quinn::WriteError),
    /// A datagram could not be sent (e.g. datagrams are disabled).
    #[error(transparent)]
    Datagram(#[from] quinn::SendDatagramError),
    /// Finishing a media stream failed (already finished or reset).
    #[error(transparent)]
    Finish(#[from] quinn::ClosedStream),
}
