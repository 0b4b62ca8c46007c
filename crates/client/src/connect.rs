//! Connecting a meeting to its relay (first time and after a reconnect): the network layer's
//! connect with this meeting's options, the key-mode policy of SPEC §12.5 before anything is
//! sent, then the room's `Join`.

use std::net::SocketAddr;
use std::sync::Arc;

use hush_wire::{ErrorCode, RelayMode};

use crate::config::MeetingConfig;
use crate::error::MeetingError;
use crate::keys::Inbound;
use crate::net::{self, ConnectOptions};

/// Connects and joins the room. `allow_transport`: whether relay-issued keys are acceptable
/// (the user opted in and the meeting never ran on client-made keys): otherwise a relay whose
/// `Hello` says transport is refused before the `Join` (SPEC §12.5).
pub(crate) async fn connect_and_join(
    config: &MeetingConfig,
    relay: SocketAddr,
    inbound: Arc<Inbound>,
    allow_transport: bool,
) -> Result<(net::RelayConnection, net::Events, net::Joined), MeetingError> {
    let options = ConnectOptions {
        allow_regions: config.allow_regions.clone(),
        // Blobs (up to 256 KiB each) from the relay to the driver, which never waits on the
        // application: a short queue, so what waits here is bounded in bytes (16 MiB) and the
        // rest waits in the relay's own byte-bounded queue (SPEC §7.4, §11.5).
        event_capacity: NET_EVENTS,
        server_name: config.server_name(relay),
        ..ConnectOptions::default()
    };
    let (conn, events) =
        net::connect_with_sink(relay, config.trust.clone(), options, Some(inbound)).await?;
    // One unauthenticated byte of the relay's Hello must not decide whether the meeting is end
    // to end encrypted: relay-issued keys only when the user asked for them (SPEC §12.5).
    if conn.relay_mode() == RelayMode::Transport && !allow_transport {
        conn.refuse(ErrorCode::MODE_REFUSED, "client refuses relay-issued keys");
        return Err(MeetingError::TransportRefused { relay });
    }
    match conn
        .join_within(&config.room, config.allow_regions.as_deref())
        .await
    {
        Ok(joined) => Ok((conn, events, joined)),
        Err(e) => {
            conn.close().await;
            Err(e.into())
        }
    }
}

/// Connection events (blobs, peers) queued between the network reader and the driver.
const NET_EVENTS: usize = 64;
