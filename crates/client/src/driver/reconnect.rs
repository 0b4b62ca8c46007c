//! Reconnecting (SPEC §7.11, §8.9 step 10): after a lost connection or a relay going away,
//! the driver tries the meeting's relays in rounds with backoff, re-enters the room and hands
//! the new connection to the core; a relay that now wants to issue the keys of an end-to-end
//! meeting ends it instead (SPEC §12.5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_session::SessionError;

use super::Driver;
use crate::connect::connect_and_join;
use crate::error::{MeetingError, meeting_error};
use crate::event::MeetingEvent;

impl Driver {
    /// After the connection dropped: retry with backoff for `reconnect_for`, rejoin the room and
    /// re-enter it, trying the relays of `cfg.relays()` in turn from `skip` past the one in use
    /// (1: it is going away). Returns false when giving up, or when the relay now wants to issue
    /// the keys of a meeting that may not take them (never followed, SPEC §12.5).
    pub(super) async fn reconnect(&mut self, reason: String, skip: usize) -> bool {
        self.session.handle_disconnected();
        self.flush().await;
        self.events.push(MeetingEvent::Disconnected {
            reason: reason.clone(),
            reconnecting: true,
        });
        let deadline = Instant::now() + self.cfg.reconnect_for;
        let mut backoff = Duration::from_millis(100);
        let relays = self.cfg.relays();
        let n = relays.len();
        let before = self.conn.relay_addr();
        // Rounds over every relay, from `skip` past the current one; a round that failed
        // everywhere waits `backoff`. A move (skip 1) starts at once, a retry after a pause.
        let mut tries = 0usize;
        loop {
            let k = tries;
            tries += 1;
            if k.is_multiple_of(n) && (k > 0 || skip == 0) {
                tokio::time::sleep(backoff).await;
            }
            let at = (self.at + skip + k) % n;
            let allow = self.session.accepts_relay_keys();
            let relay = relays[at];
            match connect_and_join(&self.cfg, relay, self.inbound.clone(), allow).await {
                Ok((conn, events, joined)) => {
                    self.at = at;
                    let conn = Arc::new(conn);
                    self.conn = conn.clone();
                    self.net = events;
                    if let Err(e) = self.connected(&joined, relay == before) {
                        if let SessionError::RelayKeys { .. } = e {
                            self.conn
                                .refuse(hush_wire::ErrorCode::MODE_REFUSED, "meeting was e2ee");
                        }
                        return self.give_up(meeting_error(e, relay)).await;
                    }
                    self.shared.set_conn(Some(conn));
                    self.flush().await;
                    if relay != before {
                        self.events.push(MeetingEvent::Moved {
                            relay,
                            region: self.conn.relay_region().to_owned(),
                        });
                    }
                    self.events.push(MeetingEvent::Reconnected);
                    return true;
                }
                Err(
                    e @ (MeetingError::TransportRefused { .. } | MeetingError::Downgrade { .. }),
                ) => {
                    return self.give_up(e).await;
                }
                Err(e) => {
                    tracing::debug!(%relay, error = %e, "reconnect failed");
                    if !(k + 1).is_multiple_of(n) {
                        continue;
                    }
                    if Instant::now() + backoff >= deadline {
                        self.events.push(MeetingEvent::Disconnected {
                            reason: format!("{reason}; gave up reconnecting: {e}"),
                            reconnecting: false,
                        });
                        return false;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// A reconnect the meeting must not follow: it ends, saying why.
    async fn give_up(&mut self, e: MeetingError) -> bool {
        let why = match e {
            MeetingError::TransportRefused { relay } if self.session.e2ee_reached() => {
                MeetingError::Downgrade { relay }
            }
            e => e,
        };
        self.conn.close().await;
        // The core ends the meeting as it does for any other reason (keys, readiness, event).
        self.session
            .end(hush_session::EndReason::Downgrade(why.to_string()));
        self.flush().await;
        false
    }
}
