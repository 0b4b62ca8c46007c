//! hush-testkit: test-only tools for proving that hush holds up (issue 7). Never a dependency of
//! anything shipped: only a dev-dependency.
//!
//! - [`HostileRelay`]: a relay that speaks the same wire protocol as `hush-relay` (SPEC §6,
//!   codec from `hush-wire`) with minimal forwarding of its own (SPEC §7.2, §7.3), and that can be
//!   told to misbehave: every delivery to every recipient passes through a [`Tamper`] policy
//!   that may pass, drop, alter, duplicate, hold back, redirect or hide it, and the test can
//!   [`inject`](HostileRelay::inject) anything as if any participant had sent it. It records
//!   everything the clients sent ([`HostileRelay::log`]), so a test can replay it later.
//! - [`RelayProcess`]: the real `hush relay` binary as a child process (kill it, restart it on
//!   the same port, read its peak memory).
//!
//! - [`Hush`]: the `hush` binary as child processes against a relay, output in files, each a
//!   [`Proc`] killed on drop.
//! - [`attacker`]: a non-member in a room flooding its host with what a room member can send
//!   ([`attacker::Attacker`], the mix of attacks chosen by each test).
//! - [`meeting`]: the production relay in-process ([`meeting::TestRelay`]) and the meeting
//!   helpers the client, connector and top-level tests share (configs, joins, event waits).
//!
//! - [`ffmpeg`]: real clips made with ffmpeg, and what ffmpeg/ffprobe read back.
//!
//! The hostile relay shares no code with the production relay; only [`meeting`] runs it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attacker;
mod child;
mod error;
pub mod ffmpeg;
pub mod meeting;
mod process;
pub mod redis;
mod relay;
mod tamper;
mod tls;
pub mod udp_proxy;

pub use child::{Hush, Proc, wait_for_lines};
pub use error::TestkitError;
pub use process::{
    RelayProcess, cpu_seconds, peak_rss_kib, rss_kib, signal, udp_rcvbuf_errors, write_pem,
};
pub use relay::{HostileRelay, Record};
pub use tamper::{Delivery, Fate, Kind, Out, Tamper};
pub use tls::{CaIssued, SelfSigned};

/// An SFrame-shaped media frame: a real header (`kid`, `ctr`, SPEC §2.2) then `len` bytes of
/// `fill`, which no key opens (what an attacker or a load test sends).
pub fn sframe_frame(kid: u64, ctr: u64, len: usize, fill: u8) -> bytes::Bytes {
    let (h, n) = hush_wire::sframe_header::Header { kid, ctr }.to_array();
    let mut v = h[..n].to_vec();
    v.resize(n + len, fill);
    bytes::Bytes::from(v)
}

/// A raw connection to the relay at `addr` pinned to `pin` (default options), joined to no
/// room: what an outsider or a relay test starts from.
pub async fn connect_raw(
    addr: std::net::SocketAddr,
    pin: [u8; 32],
) -> Result<(hush_client::net::RelayConnection, hush_client::net::Events), hush_client::net::NetError>
{
    hush_client::net::connect(
        addr,
        hush_client::TrustAnchor::Sha256(pin),
        hush_client::net::ConnectOptions::default(),
    )
    .await
}
