//! The client's UDP socket: bound on the relay's address family, with enlarged buffers.

use std::net::SocketAddr;

use super::error::SetupError;

/// UDP socket buffer size the client asks for (the kernel caps it, e.g. at `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

/// A UDP socket on an ephemeral port of the unspecified address of `relay`'s family, with
/// enlarged buffers.
pub(super) fn bind_for(relay: SocketAddr) -> Result<std::net::UdpSocket, SetupError> {
    let bind: SocketAddr = if relay.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = std::net::UdpSocket::bind(bind)?;
    enlarge_socket_buffers(&socket);
    Ok(socket)
}

/// Asks for large UDP socket buffers, best effort. Everything the relay forwards to this client
/// (every other member's media) lands in one socket: with the usual 208 KiB default, a few hundred
/// milliseconds without CPU on a busy host overflow it and the kernel drops media (the issue-7
/// load test saw this on the relay → client leg). The same call as `hush-relay`'s
/// `tls::enlarge_socket_buffers`, duplicated because the client must not depend on the relay.
fn enlarge_socket_buffers(socket: &std::net::UdpSocket) {
    let Ok(state) = quinn::udp::UdpSocketState::new(socket.into()) else {
        return;
    };
    if let Err(e) = state.set_recv_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP receive buffer");
    }
    if let Err(e) = state.set_send_buffer_size(socket.into(), SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the UDP send buffer");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The receive buffer grows to what the kernel allows (Linux: `net.core.rmem_max`, and it
    /// reports twice the granted size). Skipped where the limit is unknown or not above the default.
    #[test]
    fn client_socket_buffers_are_enlarged() {
        let Some(max) = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            return;
        };
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let state = quinn::udp::UdpSocketState::new((&socket).into()).unwrap();
        let before = state.recv_buffer_size((&socket).into()).unwrap();
        super::enlarge_socket_buffers(&socket);
        let after = state.recv_buffer_size((&socket).into()).unwrap();
        let want = max.min(super::SOCKET_BUFFER);
        if want > before {
            assert!(
                after >= want,
                "receive buffer {after} < {want} (was {before})"
            );
        }
    }

    /// The socket's family follows the relay's address.
    #[test]
    fn binds_the_relay_family() {
        let v4 = super::bind_for("127.0.0.1:9".parse().unwrap()).unwrap();
        assert!(v4.local_addr().unwrap().is_ipv4());
    }
}
