//! The bounds of the UDP sink's datagram size (SPEC §13.3), apart from the framing so that both
//! [`crate::udp`] (which enforces them) and [`crate::ConnectorError`] (which names them) can use
//! them without using each other. Re-exported as `udp::{DEFAULT,MIN,MAX}_DATAGRAM_SIZE`.

/// Default datagram size: safe under any path MTU hush meets (IPv6 minimum 1280 minus headers).
pub const DEFAULT_DATAGRAM_SIZE: usize = 1200;
/// Smallest datagram size accepted (header and 48 payload bytes).
pub const MIN_DATAGRAM_SIZE: usize = 64;
/// Largest datagram size accepted (the IPv4 UDP payload limit).
pub const MAX_DATAGRAM_SIZE: usize = 65_507;
