//! The control stream (SPEC §6.2, §6.3): reading length-prefixed relay messages, checking the
//! relay's `Hello`, and the reader task that turns the rest into [`Event`]s and answers the
//! waiting `join`/`leave`.

use std::sync::Arc;

use bytes::Bytes;
use hush_wire::{ErrorCode, RelayMessage, RelayMode};
use tokio::sync::mpsc;

use super::error::{NetError, ProtocolError};
use super::{Event, Inner, Joined, Pending, close, lock};

/// Reads one control message; `Ok(None)` if the stream ended cleanly between messages.
pub(super) async fn read_message(
    recv: &mut quinn::RecvStream,
) -> Result<Option<RelayMessage>, NetError> {
    let mut prefix = [0u8; 4];
    match recv.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(read_error(e)),
    }
    let len = hush_wire::control::parse_length(prefix).map_err(ProtocolError::from)?;
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body).await.map_err(read_error)?;
    let msg = RelayMessage::decode(Bytes::from(body)).map_err(ProtocolError::from)?;
    Ok(Some(msg))
}

/// A lost connection is [`NetError::Connection`]; anything else the relay did to the stream
/// (ended it inside a message, reset it) is a protocol error.
fn read_error(e: quinn::ReadExactError) -> NetError {
    match e {
        quinn::ReadExactError::ReadError(quinn::ReadError::ConnectionLost(c)) => {
            NetError::Connection(c)
        }
        e => ProtocolError::Read(e).into(),
    }
}

/// Checks the first control message: a `Hello` of this client's protocol version gives the
/// relay's region and mode; anything else closes the connection (`VERSION_MISMATCH` or
/// `PROTOCOL_VIOLATION`) and is an error.
pub(super) fn check_hello(
    conn: &quinn::Connection,
    first: Option<RelayMessage>,
) -> Result<(String, RelayMode, Option<hush_wire::RelayLimits>), ProtocolError> {
    match first {
        Some(RelayMessage::Hello {
            protocol_version,
            relay_region,
            relay_mode,
            limits,
        }) => {
            if protocol_version != hush_wire::PROTOCOL_VERSION {
                close(
                    conn,
                    ErrorCode::VERSION_MISMATCH,
                    "unsupported protocol version",
                );
                return Err(ProtocolError::Version(protocol_version));
            }
            Ok((relay_region, relay_mode, limits))
        }
        other => {
            close(conn, ErrorCode::PROTOCOL_VIOLATION, "expected Hello");
            Err(ProtocolError::ExpectedHello(other.map(Box::new)))
        }
    }
}

fn closed_event(conn: &quinn::Connection, fallback: String) -> Event {
    match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            let code = u32::try_from(c.error_code.into_inner()).map(ErrorCode).ok();
            Event::Closed {
                reason: String::from_utf8_lossy(&c.reason).into_owned(),
                code,
            }
        }
        Some(e) => Event::Closed {
            reason: e.to_string(),
            code: None,
        },
        None => Event::Closed {
            reason: fallback,
            code: None,
        },
    }
}

/// The control stream's reader task, from after `Hello` to the end of the connection: answers
/// the waiting join or leave, forwards everything else as events, and ends with
/// [`Event::Closed`].
pub(super) async fn control_reader(
    mut recv: quinn::RecvStream,
    conn: quinn::Connection,
    inner: Arc<Inner>,
    tx: mpsc::Sender<Event>,
) {
    let end = loop {
        let msg = match read_message(&mut recv).await {
            Ok(Some(m)) => m,
            Ok(None) => break "relay ended the control stream".to_owned(),
            Err(NetError::Protocol(e)) => {
                close(
                    &conn,
                    ErrorCode::PROTOCOL_VIOLATION,
                    "malformed control message",
                );
                break format!("relay protocol error: {e}");
            }
            Err(e) => break e.to_string(),
        };
        let ev = match msg {
            RelayMessage::Joined {
                your_id,
                participants,
            } => {
                *lock(&inner.my_id) = Some(your_id);
                answer(
                    &inner.pending_join,
                    Ok(Joined {
                        your_id,
                        participants,
                    }),
                );
                continue;
            }
            RelayMessage::Left => {
                *lock(&inner.my_id) = None;
                answer(&inner.pending_leave, Ok(()));
                continue;
            }
            RelayMessage::Error { code, reason } => {
                // The refusal of a waiting join (else leave), or a non-fatal error.
                let refused = || NetError::Refused {
                    code,
                    reason: reason.clone(),
                };
                if answer(&inner.pending_join, Err(refused()))
                    || answer(&inner.pending_leave, Err(refused()))
                {
                    continue;
                }
                Event::RelayError { code, reason }
            }
            RelayMessage::PeerJoined { id } => Event::PeerJoined { id },
            RelayMessage::PeerLeft { id } => Event::PeerLeft { id },
            RelayMessage::Deliver { from, blob } => Event::Deliver { from, blob },
            RelayMessage::Carriers { relays } => Event::Carriers { relays },
            RelayMessage::Pong { .. } => continue,
            RelayMessage::Hello { .. } => {
                close(
                    &conn,
                    ErrorCode::PROTOCOL_VIOLATION,
                    "unexpected second Hello",
                );
                break ProtocolError::SecondHello.to_string();
            }
            _ => continue,
        };
        if tx.send(ev).await.is_err() {
            break "event receiver dropped".to_owned();
        }
    };
    answer(&inner.pending_join, Err(NetError::Closed));
    answer(&inner.pending_leave, Err(NetError::Closed));
    let _ = tx.send(closed_event(&conn, end)).await;
}

/// Answers the request waiting in `slot`, if any; `false` if none was waiting.
fn answer<T>(slot: &Pending<T>, r: Result<T, NetError>) -> bool {
    let waiting = lock(slot).take();
    waiting.map(|p| p.send(r)).is_some()
}
