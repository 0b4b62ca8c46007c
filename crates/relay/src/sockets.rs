//! The relay's UDP sockets: one, or several bound to the same address with `SO_REUSEPORT` so
//! that one QUIC endpoint per core can serve them (SPEC §7.13). The kernel picks a socket by a
//! hash of the client's address and port, so each connection's packets always reach the same
//! endpoint; on Linux only sockets of the same user can join the group.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Binds `n` (≥ 1) sockets to `addr`; with a port of 0 the first picks it and the others join
/// it. One socket is a plain bind (no `SO_REUSEPORT`: nobody else can share the port).
pub(crate) fn bind(addr: SocketAddr, n: usize) -> io::Result<Vec<UdpSocket>> {
    if n <= 1 {
        return Ok(vec![UdpSocket::bind(addr)?]);
    }
    let first = shared(addr)?;
    let addr = first.local_addr()?;
    let mut out = Vec::with_capacity(n);
    out.push(first);
    for _ in 1..n {
        out.push(shared(addr)?);
    }
    Ok(out)
}

#[cfg(unix)]
fn shared(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_port(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

#[cfg(not(unix))]
fn shared(_addr: SocketAddr) -> io::Result<UdpSocket> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "several endpoints need SO_REUSEPORT (unix only)",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn several_sockets_share_one_port_and_a_stranger_port_stays_private() {
        let socks = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 3).unwrap();
        assert_eq!(socks.len(), 3);
        let addr = socks[0].local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        assert!(socks.iter().all(|s| s.local_addr().unwrap() == addr));
        // Every datagram sent to the address lands on one of them.
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"x", addr).unwrap();
        let got = socks.iter().any(|s| {
            s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
                .unwrap();
            let mut b = [0u8; 4];
            s.recv(&mut b).is_ok()
        });
        assert!(got);
        // A single socket is a plain bind: nothing can join its port.
        let one = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 1).unwrap();
        let port = one[0].local_addr().unwrap();
        assert!(shared(port).is_err());
    }
}
