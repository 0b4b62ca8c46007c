//! Control messages (SPEC §6.3): one bidirectional stream per connection, opened by the relay.
//!
//! Each message is framed as `u32 length` (big-endian, the body length, at most
//! [`MAX_CONTROL_SIZE`]) followed by the body: one type byte, then the
//! fields of that type. Blobs are opaque to the relay and take the rest of the body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codes::ErrorCode;
use crate::reader::Reader;
use crate::{
    MAX_BLOB_SIZE, MAX_CONTROL_SIZE, MAX_REASON, MAX_ROOM_NAME, ParticipantId, RelayMode, Target,
    WireError,
};

/// Type bytes of relay → client messages.
pub mod relay_type {
    /// `Hello`.
    pub const HELLO: u8 = 0x01;
    /// `Joined`.
    pub const JOINED: u8 = 0x02;
    /// `PeerJoined`.
    pub const PEER_JOINED: u8 = 0x03;
    /// `PeerLeft`.
    pub const PEER_LEFT: u8 = 0x04;
    /// `Deliver`.
    pub const DELIVER: u8 = 0x05;
    /// `Error`.
    pub const ERROR: u8 = 0x06;
    /// `Pong`.
    pub const PONG: u8 = 0x07;
    /// `Left`.
    pub const LEFT: u8 = 0x08;
    /// `Carriers`.
    pub const CARRIERS: u8 = 0x09;
}

/// Type bytes of client → relay messages.
pub mod client_type {
    /// `Join`.
    pub const JOIN: u8 = 0x41;
    /// `Leave`.
    pub const LEAVE: u8 = 0x42;
    /// `Send`.
    pub const SEND: u8 = 0x43;
    /// `Ping`.
    pub const PING: u8 = 0x44;
}

/// A message from the relay to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayMessage {
    /// First message on every connection: who the relay is.
    Hello {
        /// [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION) of the relay.
        protocol_version: u16,
        /// Region the relay runs in (geofencing, claim C6); may be empty.
        relay_region: String,
        /// Whether keys are client-made or relay-issued.
        relay_mode: RelayMode,
        /// The per-connection budgets the relay enforces (SPEC §6.3, §7.4), so a sender can
        /// pace itself below them; `None` from a relay that does not announce them.
        limits: Option<RelayLimits>,
    },
    /// Answer to `Join`: the client's id and the other participants already in the room.
    Joined {
        /// The id the relay gave this client in this room.
        your_id: ParticipantId,
        /// Ids of the participants already in the room (not including `your_id`).
        participants: Vec<ParticipantId>,
    },
    /// Someone joined the client's room.
    PeerJoined {
        /// The newcomer's id.
        id: ParticipantId,
    },
    /// Someone left the client's room.
    PeerLeft {
        /// The departed participant's id.
        id: ParticipantId,
    },
    /// An opaque blob another participant (or the relay's hook, id 0) sent.
    Deliver {
        /// Sender id.
        from: ParticipantId,
        /// The blob exactly as sent.
        blob: Bytes,
    },
    /// A request failed (non-fatal) or the connection is about to close.
    Error {
        /// Error code (SPEC §6.4).
        code: ErrorCode,
        /// Human-readable reason, at most [`MAX_REASON`] bytes.
        reason: String,
    },
    /// Answer to `Ping`.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// The relays carrying the client's room (SPEC §15.8), this relay first: sent by a relay of
    /// a cascade on `Join` and whenever the set changes. What the relays say: a client cannot
    /// verify it. At most [`MAX_CARRIERS`] entries.
    Carriers {
        /// `(name, region)` of each relay.
        relays: Vec<(String, String)>,
    },
    /// Answer to `Leave`: the client is no longer in a room.
    Left,
}

/// What a relay announces of its per-connection limits in `Hello` (SPEC §6.3): a client that
/// stays below them is never closed for its own traffic. Attacker-chosen like every other
/// field: a client only ever uses them to send less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayLimits {
    /// Media frames plus control messages per second per connection.
    pub frames_per_second: u32,
    /// Bytes per second per connection (media and control).
    pub bytes_per_second: u64,
    /// Largest media frame the relay forwards, in bytes.
    pub max_frame_size: u32,
}

/// The bytes of the limits block of `Hello`.
const HELLO_LIMITS_LEN: usize = 16;

/// The most relays a `Carriers` message lists (SPEC §15.8).
pub const MAX_CARRIERS: usize = 64;

/// The most regions a `Join` may allow (SPEC §15.6).
pub const MAX_ALLOWED_REGIONS: usize = 16;

/// The longest region name in a `Join`'s policy, in bytes.
pub const MAX_REGION_NAME: usize = 64;

/// True for a region name a `Join` policy may carry: 1..=[`MAX_REGION_NAME`] bytes of ASCII
/// letters, digits, `.`, `_`, `-` and `:` (no separators, no control characters: the relay
/// stores and reports them).
pub fn valid_region(name: &str) -> bool {
    (1..=MAX_REGION_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// A message from a client to the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// Enter a room (created if it does not exist).
    Join {
        /// Room name: 1..=255 bytes of UTF-8.
        room: String,
        /// The regions the client allows its meeting to be carried in (SPEC §15.6): `None`
        /// allows any. At most [`MAX_ALLOWED_REGIONS`] names, each a [`valid_region`].
        allow: Option<Vec<String>>,
    },
    /// Leave the current room.
    Leave,
    /// Deliver an opaque blob to participants of the current room.
    Send {
        /// Recipient(s).
        to: Target,
        /// Opaque bytes, at most [`MAX_BLOB_SIZE`].
        blob: Bytes,
    },
    /// Liveness check; the relay answers `Pong` with the same nonce.
    Ping {
        /// Echoed nonce.
        nonce: u64,
    },
}

/// Parses a control message's 4-byte length prefix and checks it against the maximum.
pub fn parse_length(prefix: [u8; 4]) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_CONTROL_SIZE {
        return Err(WireError::TooLarge {
            len,
            max: MAX_CONTROL_SIZE,
        });
    }
    if len == 0 {
        return Err(WireError::Empty);
    }
    Ok(len)
}

/// Splits one complete framed message off the front of `buf`, if there is one
/// (sans-IO helper for byte-stream readers). Returns the body.
pub fn split_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, WireError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = parse_length([buf[0], buf[1], buf[2], buf[3]])?;
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let mut frame = buf.split_to(4 + len);
    let _ = frame.split_to(4);
    Ok(Some(frame.freeze()))
}

pub(crate) fn framed(body_len_hint: usize, f: impl FnOnce(&mut BytesMut)) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + body_len_hint);
    out.put_u32(0);
    f(&mut out);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out.freeze()
}

pub(crate) fn put_str8(out: &mut BytesMut, s: &str) {
    // Callers guarantee s.len() <= 255 (checked at construction or truncated).
    let s = truncate_utf8(s, 255);
    out.put_u8(s.len() as u8);
    out.put_slice(s.as_bytes());
}

fn put_str16(out: &mut BytesMut, s: &str, max: usize) {
    let s = truncate_utf8(s, max);
    out.put_u16(s.len() as u16);
    out.put_slice(s.as_bytes());
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl RelayMessage {
    /// Encodes the message with its length prefix. Strings longer than their field allows are
    /// truncated at a character boundary; blobs are not checked (the relay only forwards blobs
    /// that passed decoding).
    pub fn encode(&self) -> Bytes {
        use relay_type::*;
        match self {
            RelayMessage::Hello {
                protocol_version,
                relay_region,
                relay_mode,
                limits,
            } => framed(5 + relay_region.len() + HELLO_LIMITS_LEN, |o| {
                o.put_u8(HELLO);
                o.put_u16(*protocol_version);
                o.put_u8(relay_mode.to_byte());
                put_str8(o, relay_region);
                if let Some(l) = limits {
                    o.put_u32(l.frames_per_second);
                    o.put_u64(l.bytes_per_second);
                    o.put_u32(l.max_frame_size);
                }
            }),
            RelayMessage::Joined {
                your_id,
                participants,
            } => framed(11 + 8 * participants.len(), |o| {
                o.put_u8(JOINED);
                o.put_u64(your_id.0);
                // The relay caps room size far below u16::MAX (SPEC §7.4).
                let n = participants.len().min(usize::from(u16::MAX));
                o.put_u16(n as u16);
                for p in &participants[..n] {
                    o.put_u64(p.0);
                }
            }),
            RelayMessage::PeerJoined { id } => framed(9, |o| {
                o.put_u8(PEER_JOINED);
                o.put_u64(id.0);
            }),
            RelayMessage::PeerLeft { id } => framed(9, |o| {
                o.put_u8(PEER_LEFT);
                o.put_u64(id.0);
            }),
            RelayMessage::Carriers { relays } => {
                let n = relays.len().min(MAX_CARRIERS);
                let len: usize = relays[..n].iter().map(|(a, b)| 2 + a.len() + b.len()).sum();
                framed(2 + len, |o| {
                    o.put_u8(CARRIERS);
                    o.put_u8(n as u8);
                    for (name, region) in &relays[..n] {
                        put_str8(o, truncate_utf8(name, 255));
                        put_str8(o, truncate_utf8(region, 255));
                    }
                })
            }
            RelayMessage::Deliver { from, blob } => Self::encode_deliver(*from, blob),
            RelayMessage::Error { code, reason } => framed(7 + reason.len(), |o| {
                o.put_u8(ERROR);
                o.put_u32(code.0);
                put_str16(o, reason, MAX_REASON);
            }),
            RelayMessage::Pong { nonce } => framed(9, |o| {
                o.put_u8(PONG);
                o.put_u64(*nonce);
            }),
            RelayMessage::Left => framed(1, |o| o.put_u8(LEFT)),
        }
    }

    /// Encodes a `Deliver` without building the enum (the relay's fan-out path).
    pub fn encode_deliver(from: ParticipantId, blob: &[u8]) -> Bytes {
        framed(9 + blob.len(), |o| {
            o.put_u8(relay_type::DELIVER);
            o.put_u64(from.0);
            o.put_slice(blob);
        })
    }

    /// Decodes a message body (without the length prefix). Total: never panics.
    pub fn decode(body: Bytes) -> Result<Self, WireError> {
        use relay_type::*;
        let (mut r, ty) = open_body(&body)?;
        let msg = match ty {
            HELLO => {
                let protocol_version = r.u16()?;
                let relay_mode = RelayMode::from_byte(r.u8()?)?;
                let relay_region = utf8(r.prefixed8()?)?.to_owned();
                // The limits block is optional: present in full or absent.
                let limits = if r.remaining() == 0 {
                    None
                } else {
                    Some(RelayLimits {
                        frames_per_second: r.u32()?,
                        bytes_per_second: r.u64()?,
                        max_frame_size: r.u32()?,
                    })
                };
                RelayMessage::Hello {
                    protocol_version,
                    relay_region,
                    relay_mode,
                    limits,
                }
            }
            JOINED => {
                let your_id = ParticipantId(r.u64()?);
                let n = r.u16()?;
                let mut participants = Vec::with_capacity(usize::from(n).min(body.len() / 8));
                for _ in 0..n {
                    participants.push(ParticipantId(r.u64()?));
                }
                RelayMessage::Joined {
                    your_id,
                    participants,
                }
            }
            PEER_JOINED => RelayMessage::PeerJoined {
                id: ParticipantId(r.u64()?),
            },
            PEER_LEFT => RelayMessage::PeerLeft {
                id: ParticipantId(r.u64()?),
            },
            CARRIERS => {
                let n = usize::from(r.u8()?);
                if n > MAX_CARRIERS {
                    return Err(WireError::TooLarge {
                        len: n,
                        max: MAX_CARRIERS,
                    });
                }
                let mut relays = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = utf8(r.prefixed8()?)?.to_owned();
                    let region = utf8(r.prefixed8()?)?.to_owned();
                    relays.push((name, region));
                }
                RelayMessage::Carriers { relays }
            }
            DELIVER => {
                let from = ParticipantId(r.u64()?);
                RelayMessage::Deliver {
                    from,
                    blob: blob_rest(&body, &mut r)?,
                }
            }
            ERROR => {
                let code = ErrorCode(r.u32()?);
                let reason = utf8(r.prefixed16_max(MAX_REASON)?)?.to_owned();
                RelayMessage::Error { code, reason }
            }
            PONG => RelayMessage::Pong { nonce: r.u64()? },
            LEFT => RelayMessage::Left,
            other => return Err(WireError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// The start of every `decode`: checks the body against [`MAX_CONTROL_SIZE`] and reads the
/// type byte (an empty body is [`WireError::Empty`]).
pub(crate) fn open_body(body: &[u8]) -> Result<(Reader<'_>, u8), WireError> {
    if body.len() > MAX_CONTROL_SIZE {
        return Err(WireError::TooLarge {
            len: body.len(),
            max: MAX_CONTROL_SIZE,
        });
    }
    let mut r = Reader::new(body);
    let ty = r.u8().map_err(|_| WireError::Empty)?;
    Ok((r, ty))
}

/// A string field's bytes as UTF-8 ([`WireError::InvalidUtf8`] otherwise).
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, WireError> {
    std::str::from_utf8(bytes).map_err(|_| WireError::InvalidUtf8)
}

/// The rest of `body` (what `r` has not read yet) as an opaque blob, at most
/// [`MAX_BLOB_SIZE`] bytes, sliced from `body` without copying.
pub(crate) fn blob_rest(body: &Bytes, r: &mut Reader<'_>) -> Result<Bytes, WireError> {
    let len = r.rest().len();
    if len > MAX_BLOB_SIZE {
        return Err(WireError::TooLarge {
            len,
            max: MAX_BLOB_SIZE,
        });
    }
    Ok(body.slice(body.len() - len..))
}

impl ClientMessage {
    /// Encodes the message with its length prefix. A room name longer than
    /// [`MAX_ROOM_NAME`] is truncated; callers should validate first.
    pub fn encode(&self) -> Bytes {
        use client_type::*;
        match self {
            ClientMessage::Join { room, allow } => {
                let policy: usize = allow
                    .iter()
                    .flatten()
                    .map(|r| 1 + r.len().min(MAX_REGION_NAME))
                    .sum();
                framed(3 + room.len() + policy, |o| {
                    o.put_u8(JOIN);
                    put_str8(o, truncate_utf8(room, MAX_ROOM_NAME));
                    // The policy is a trailing field: a `Join` without it is one from before it.
                    if let Some(allow) = allow {
                        let n = allow.len().min(MAX_ALLOWED_REGIONS);
                        o.put_u8(n as u8);
                        for r in &allow[..n] {
                            put_str8(o, truncate_utf8(r, MAX_REGION_NAME));
                        }
                    }
                })
            }
            ClientMessage::Leave => framed(1, |o| o.put_u8(LEAVE)),
            ClientMessage::Send { to, blob } => framed(10 + blob.len(), |o| {
                o.put_u8(SEND);
                match to {
                    Target::All => o.put_u8(0),
                    Target::Participant(id) => {
                        o.put_u8(1);
                        o.put_u64(id.0);
                    }
                }
                o.put_slice(blob);
            }),
            ClientMessage::Ping { nonce } => framed(9, |o| {
                o.put_u8(PING);
                o.put_u64(*nonce);
            }),
        }
    }

    /// Decodes a message body (without the length prefix). Total: never panics.
    pub fn decode(body: Bytes) -> Result<Self, WireError> {
        use client_type::*;
        let (mut r, ty) = open_body(&body)?;
        let msg = match ty {
            JOIN => {
                let room = utf8(r.prefixed8()?)?;
                if room.is_empty() {
                    return Err(WireError::EmptyRoom);
                }
                let allow = if r.remaining() == 0 {
                    None
                } else {
                    let n = usize::from(r.u8()?);
                    if n == 0 || n > MAX_ALLOWED_REGIONS {
                        return Err(WireError::InvalidRegion);
                    }
                    let mut v = Vec::with_capacity(n);
                    for _ in 0..n {
                        let name = utf8(r.prefixed8()?)?;
                        if !valid_region(name) {
                            return Err(WireError::InvalidRegion);
                        }
                        v.push(name.to_owned());
                    }
                    Some(v)
                };
                ClientMessage::Join {
                    room: room.to_owned(),
                    allow,
                }
            }
            LEAVE => ClientMessage::Leave,
            SEND => {
                let to = match r.u8()? {
                    0 => Target::All,
                    1 => Target::Participant(ParticipantId(r.u64()?)),
                    other => return Err(WireError::InvalidTarget(other)),
                };
                ClientMessage::Send {
                    to,
                    blob: blob_rest(&body, &mut r)?,
                }
            }
            PING => ClientMessage::Ping { nonce: r.u64()? },
            other => return Err(WireError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body(framed: Bytes) -> Bytes {
        let len = parse_length([framed[0], framed[1], framed[2], framed[3]]).unwrap();
        assert_eq!(len, framed.len() - 4);
        framed.slice(4..)
    }

    #[test]
    fn hello_layout_is_exact() {
        let m = RelayMessage::Hello {
            protocol_version: 1,
            relay_region: "eu".into(),
            relay_mode: RelayMode::Transport,
            limits: None,
        };
        let e = m.encode();
        assert_eq!(&e[..], &[0, 0, 0, 7, 0x01, 0, 1, 1, 2, b'e', b'u']);
        assert_eq!(RelayMessage::decode(body(e)).unwrap(), m);
        let m = RelayMessage::Hello {
            protocol_version: 1,
            relay_region: String::new(),
            relay_mode: RelayMode::E2ee,
            limits: Some(RelayLimits {
                frames_per_second: 0x0102_0304,
                bytes_per_second: 0x0506_0708_090a_0b0c,
                max_frame_size: 0x0d0e_0f10,
            }),
        };
        let e = m.encode();
        assert_eq!(
            &e[..],
            &[
                0, 0, 0, 21, 0x01, 0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                16
            ]
        );
        assert_eq!(RelayMessage::decode(body(e.clone())).unwrap(), m);
        // A limits block cut short is malformed, never half-read.
        for cut in 1..HELLO_LIMITS_LEN {
            assert!(RelayMessage::decode(body(e.clone()).slice(..e.len() - 4 - cut)).is_err());
        }
    }

    #[test]
    fn send_layout_is_exact() {
        let m = ClientMessage::Send {
            to: Target::Participant(ParticipantId(0x0102)),
            blob: Bytes::from_static(b"xy"),
        };
        let e = m.encode();
        assert_eq!(
            &e[..],
            &[0, 0, 0, 12, 0x43, 1, 0, 0, 0, 0, 0, 0, 1, 2, b'x', b'y']
        );
        assert_eq!(ClientMessage::decode(body(e)).unwrap(), m);
    }

    #[test]
    fn trailing_bytes_and_unknown_types_are_rejected() {
        let r = ClientMessage::decode(Bytes::from_static(&[0x42, 0]));
        assert_eq!(r, Err(WireError::TrailingBytes(1)));
        let r = ClientMessage::decode(Bytes::from_static(&[0x01]));
        assert_eq!(r, Err(WireError::UnknownType(0x01)));
        let r = RelayMessage::decode(Bytes::from_static(&[0x41]));
        assert_eq!(r, Err(WireError::UnknownType(0x41)));
        assert_eq!(ClientMessage::decode(Bytes::new()), Err(WireError::Empty));
        let r = ClientMessage::decode(Bytes::from_static(&[0x41, 0]));
        assert_eq!(r, Err(WireError::EmptyRoom));
        let r = ClientMessage::decode(Bytes::from_static(&[0x43, 7]));
        assert_eq!(r, Err(WireError::InvalidTarget(7)));
    }

    #[test]
    fn oversize_length_is_rejected_before_reading() {
        let big = ((MAX_CONTROL_SIZE + 1) as u32).to_be_bytes();
        assert!(matches!(parse_length(big), Err(WireError::TooLarge { .. })));
        assert_eq!(
            WireError::TooLarge { len: 1, max: 0 }.code(),
            ErrorCode::MESSAGE_TOO_LARGE
        );
    }

    #[test]
    fn split_frame_waits_for_whole_messages() {
        let a = ClientMessage::Ping { nonce: 9 }.encode();
        let b = ClientMessage::Leave.encode();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&a[..6]);
        assert_eq!(split_frame(&mut buf).unwrap(), None);
        buf.extend_from_slice(&a[6..]);
        buf.extend_from_slice(&b);
        let m1 = split_frame(&mut buf).unwrap().unwrap();
        assert_eq!(
            ClientMessage::decode(m1).unwrap(),
            ClientMessage::Ping { nonce: 9 }
        );
        let m2 = split_frame(&mut buf).unwrap().unwrap();
        assert_eq!(ClientMessage::decode(m2).unwrap(), ClientMessage::Leave);
        assert!(buf.is_empty());
    }

    #[test]
    fn join_carries_an_optional_region_policy_and_refuses_a_bad_one() {
        let plain = ClientMessage::Join {
            room: "r".into(),
            allow: None,
        };
        let b = plain.encode();
        assert_eq!(&b[4..], &[0x41, 1, b'r'], "no policy: the Join of before");
        assert_eq!(ClientMessage::decode(b.slice(4..)).unwrap(), plain);
        let with = ClientMessage::Join {
            room: "r".into(),
            allow: Some(vec!["eu-west".into(), "eu:central".into()]),
        };
        let b = with.encode();
        assert_eq!(ClientMessage::decode(b.slice(4..)).unwrap(), with);
        let bad = |tail: &[u8]| {
            let mut body = vec![0x41, 1, b'r'];
            body.extend_from_slice(tail);
            ClientMessage::decode(Bytes::from(body)).unwrap_err()
        };
        assert_eq!(bad(&[0]), WireError::InvalidRegion, "an empty list");
        assert_eq!(bad(&[1, 3, b'e', b',', b'u']), WireError::InvalidRegion);
        assert_eq!(bad(&[1, 2, b'e', 0x1b]), WireError::InvalidRegion);
        assert_eq!(bad(&[1, 0]), WireError::InvalidRegion, "an empty name");
        let mut many = vec![17u8];
        for _ in 0..17 {
            many.extend_from_slice(&[1, b'x']);
        }
        assert_eq!(bad(&many), WireError::InvalidRegion);
        assert_eq!(bad(&[2, 1, b'x']), WireError::Truncated);
        assert!(valid_region(&"a".repeat(64)) && !valid_region(&"a".repeat(65)));
    }
}
