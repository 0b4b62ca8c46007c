//! Relay-to-relay links (SPEC §15): what one relay of a cascade tells another.
//!
//! A link is one QUIC connection with ALPN [`PEER_ALPN`]. The relay that dials opens one
//! bidirectional stream and sends [`PeerMessage::Hello`] (with the cluster secret); the other
//! answers [`PeerMessage::Welcome`] or closes the connection. Then both sides send, on that one
//! stream, framed as client control messages are (`u32 length || type || fields`):
//!
//! - `Carry { room, handle }`: "I have participants in `room`; my media and messages for it carry
//!   `handle`" (a number the sender picks, unique among the rooms it carries);
//! - `Joined { handle, id }` / `Left { handle, id }`: one of my participants came or went;
//! - `Deliver { handle, from, to, blob }`: a blob one of my participants sent (`to` 0: everyone
//!   in the room on your side; else that participant only);
//! - `Uncarry { handle }`: I have no participants in that room any more.
//!
//! Media crosses the link as datagrams `u32 handle || SFrame frame`, or, when too large, on a
//! unidirectional stream with the same layout. A relay forwards what it receives on a link to
//! its own participants only, never to another link: with every relay of a room linked to every
//! other, each frame crosses each link at most once and cannot loop.

use bytes::{BufMut, Bytes};

use crate::control::{blob_rest, framed, open_body, put_str8, utf8};
use crate::reader::Reader;
use crate::{MAX_ROOM_NAME, ParticipantId, WireError};

/// ALPN protocol id of a relay-to-relay link.
pub const PEER_ALPN: &[u8] = b"hush-peer/1";

/// Bytes of the room handle in front of every media frame on a link.
pub const HANDLE_LEN: usize = 4;

/// Shortest cluster secret a relay accepts (bytes).
pub const MIN_SECRET: usize = 16;

/// Longest cluster secret on the wire (bytes).
pub const MAX_SECRET: usize = 255;

/// Type bytes of link messages.
pub mod peer_type {
    /// `Hello`.
    pub const HELLO: u8 = 0x81;
    /// `Welcome`.
    pub const WELCOME: u8 = 0x82;
    /// `Carry`.
    pub const CARRY: u8 = 0x83;
    /// `Uncarry`.
    pub const UNCARRY: u8 = 0x84;
    /// `Joined`.
    pub const JOINED: u8 = 0x85;
    /// `Left`.
    pub const LEFT: u8 = 0x86;
    /// `Deliver`.
    pub const DELIVER: u8 = 0x87;
}

/// Who a relay of a cascade is, as it tells its peers.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Its name (unique in the cluster; the operator's choice, 1..=255 bytes).
    pub name: String,
    /// Its region (geofencing, claim C6); may be empty.
    pub region: String,
    /// The high 32 bits of every participant id it assigns (so ids are unique in the cluster).
    pub tag: u32,
}

impl std::fmt::Debug for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerIdentity")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("tag", &format_args!("{:#010x}", self.tag))
            .finish()
    }
}

/// A message on a relay-to-relay link's stream.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMessage {
    /// The dialling relay's first message.
    Hello {
        /// The cluster secret: proves the dialler is a relay of the cluster.
        secret: Vec<u8>,
        /// Who the dialler is.
        from: PeerIdentity,
    },
    /// The answer: who the accepting relay is.
    Welcome {
        /// Who the acceptor is.
        from: PeerIdentity,
    },
    /// The sender has participants in `room`.
    Carry {
        /// Room name.
        room: String,
        /// The sender's handle for it.
        handle: u32,
    },
    /// The sender has no participants in the room of `handle` any more.
    Uncarry {
        /// The sender's handle.
        handle: u32,
    },
    /// A participant of the sender joined the room of `handle`.
    Joined {
        /// The sender's handle.
        handle: u32,
        /// The participant.
        id: ParticipantId,
        /// The regions it allows (`a,b`, or `*` for any; SPEC §15.6).
        policy: String,
    },
    /// A participant of the sender left the room of `handle`.
    Left {
        /// The sender's handle.
        handle: u32,
        /// The participant.
        id: ParticipantId,
    },
    /// A blob a participant of the sender sent.
    Deliver {
        /// The sender's handle.
        handle: u32,
        /// The participant who sent it.
        from: ParticipantId,
        /// [`ParticipantId::RELAY`] (0) for everyone, else one participant.
        to: ParticipantId,
        /// The blob exactly as sent.
        blob: Bytes,
    },
}

impl std::fmt::Debug for PeerMessage {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerMessage::Hello { secret, from } => f
                .debug_struct("Hello")
                .field("secret", &format_args!("<{} bytes>", secret.len()))
                .field("from", from)
                .finish(),
            PeerMessage::Welcome { from } => f.debug_struct("Welcome").field("from", from).finish(),
            PeerMessage::Carry { room, handle } => f
                .debug_struct("Carry")
                .field("room", room)
                .field("handle", handle)
                .finish(),
            PeerMessage::Uncarry { handle } => {
                f.debug_struct("Uncarry").field("handle", handle).finish()
            }
            PeerMessage::Joined { handle, id, policy } => f
                .debug_struct("Joined")
                .field("handle", handle)
                .field("id", id)
                .field("policy", policy)
                .finish(),
            PeerMessage::Left { handle, id } => f
                .debug_struct("Left")
                .field("handle", handle)
                .field("id", id)
                .finish(),
            PeerMessage::Deliver {
                handle,
                from,
                to,
                blob,
            } => f
                .debug_struct("Deliver")
                .field("handle", handle)
                .field("from", from)
                .field("to", to)
                .field("blob_len", &blob.len())
                .finish(),
        }
    }
}

fn put_identity(o: &mut bytes::BytesMut, p: &PeerIdentity) {
    put_str8(o, &p.name);
    put_str8(o, &p.region);
    o.put_u32(p.tag);
}

fn identity(r: &mut Reader<'_>) -> Result<PeerIdentity, WireError> {
    let name = utf8(r.prefixed8()?)?.to_owned();
    if name.is_empty() {
        return Err(WireError::Truncated);
    }
    let region = utf8(r.prefixed8()?)?.to_owned();
    Ok(PeerIdentity {
        name,
        region,
        tag: r.u32()?,
    })
}

impl PeerMessage {
    /// Encodes the message with its length prefix (strings truncated to their fields).
    pub fn encode(&self) -> Bytes {
        use peer_type::*;
        match self {
            PeerMessage::Hello { secret, from } => framed(600, |o| {
                o.put_u8(HELLO);
                let s = &secret[..secret.len().min(MAX_SECRET)];
                o.put_u8(s.len() as u8);
                o.put_slice(s);
                put_identity(o, from);
            }),
            PeerMessage::Welcome { from } => framed(520, |o| {
                o.put_u8(WELCOME);
                put_identity(o, from);
            }),
            PeerMessage::Carry { room, handle } => framed(6 + room.len(), |o| {
                o.put_u8(CARRY);
                o.put_u32(*handle);
                put_str8(o, crate::control::truncate_utf8(room, MAX_ROOM_NAME));
            }),
            PeerMessage::Uncarry { handle } => framed(5, |o| {
                o.put_u8(UNCARRY);
                o.put_u32(*handle);
            }),
            PeerMessage::Joined { handle, id, policy } => framed(14 + policy.len(), |o| {
                o.put_u8(JOINED);
                o.put_u32(*handle);
                o.put_u64(id.0);
                put_str8(o, policy);
            }),
            PeerMessage::Left { handle, id } => framed(13, |o| {
                o.put_u8(LEFT);
                o.put_u32(*handle);
                o.put_u64(id.0);
            }),
            PeerMessage::Deliver {
                handle,
                from,
                to,
                blob,
            } => framed(21 + blob.len(), |o| {
                o.put_u8(DELIVER);
                o.put_u32(*handle);
                o.put_u64(from.0);
                o.put_u64(to.0);
                o.put_slice(blob);
            }),
        }
    }

    /// Decodes a message body (without the length prefix). Total: never panics.
    pub fn decode(body: Bytes) -> Result<Self, WireError> {
        use peer_type::*;
        let (mut r, ty) = open_body(&body)?;
        let msg = match ty {
            HELLO => {
                let secret = r.prefixed8()?.to_vec();
                PeerMessage::Hello {
                    secret,
                    from: identity(&mut r)?,
                }
            }
            WELCOME => PeerMessage::Welcome {
                from: identity(&mut r)?,
            },
            CARRY => {
                let handle = r.u32()?;
                let room = utf8(r.prefixed8()?)?;
                if room.is_empty() {
                    return Err(WireError::EmptyRoom);
                }
                PeerMessage::Carry {
                    room: room.to_owned(),
                    handle,
                }
            }
            UNCARRY => PeerMessage::Uncarry { handle: r.u32()? },
            JOINED => {
                let handle = r.u32()?;
                let id = ParticipantId(r.u64()?);
                let policy = utf8(r.prefixed8()?)?;
                if !valid_policy(policy) {
                    return Err(WireError::InvalidRegion);
                }
                PeerMessage::Joined {
                    handle,
                    id,
                    policy: policy.to_owned(),
                }
            }
            LEFT => PeerMessage::Left {
                handle: r.u32()?,
                id: ParticipantId(r.u64()?),
            },
            DELIVER => {
                let handle = r.u32()?;
                let from = ParticipantId(r.u64()?);
                let to = ParticipantId(r.u64()?);
                PeerMessage::Deliver {
                    handle,
                    from,
                    to,
                    blob: blob_rest(&body, &mut r)?,
                }
            }
            other => return Err(WireError::UnknownType(other)),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Splits a link media frame (`u32 handle || frame`) into its handle and the frame.
pub fn split_media(d: &Bytes) -> Option<(u32, Bytes)> {
    let head: [u8; HANDLE_LEN] = d.get(..HANDLE_LEN)?.try_into().ok()?;
    (d.len() > HANDLE_LEN).then(|| (u32::from_be_bytes(head), d.slice(HANDLE_LEN..)))
}

/// True for a region policy as links and the directory carry it: `*`, or 1..=16 valid region
/// names joined by `,` (SPEC §15.6).
pub fn valid_policy(p: &str) -> bool {
    p == "*"
        || (p.split(',').count() <= crate::MAX_ALLOWED_REGIONS
            && p.split(',').all(crate::valid_region))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::control::parse_length;

    fn roundtrip(m: PeerMessage) {
        let framed = m.encode();
        let len = parse_length([framed[0], framed[1], framed[2], framed[3]]).unwrap();
        assert_eq!(len, framed.len() - 4);
        assert_eq!(PeerMessage::decode(framed.slice(4..)).unwrap(), m);
    }

    fn me() -> PeerIdentity {
        PeerIdentity {
            name: "relay-a".into(),
            region: "eu".into(),
            tag: 0xdead_beef,
        }
    }

    #[test]
    fn every_message_round_trips() {
        roundtrip(PeerMessage::Hello {
            secret: vec![7; 32],
            from: me(),
        });
        roundtrip(PeerMessage::Welcome { from: me() });
        roundtrip(PeerMessage::Carry {
            room: "standup".into(),
            handle: 3,
        });
        roundtrip(PeerMessage::Uncarry { handle: 3 });
        roundtrip(PeerMessage::Joined {
            handle: 3,
            id: ParticipantId(0xdead_beef_0000_0001),
            policy: "*".into(),
        });
        roundtrip(PeerMessage::Joined {
            handle: 3,
            id: ParticipantId(2),
            policy: "eu-west,eu:central".into(),
        });
        for bad in [
            "",
            "eu,",
            ",eu",
            "e\u{1b}u",
            "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
        ] {
            let b = PeerMessage::Joined {
                handle: 3,
                id: ParticipantId(2),
                policy: bad.into(),
            }
            .encode();
            assert_eq!(
                PeerMessage::decode(b.slice(4..)).unwrap_err(),
                WireError::InvalidRegion,
                "{bad:?}"
            );
        }
        roundtrip(PeerMessage::Left {
            handle: 3,
            id: ParticipantId(9),
        });
        roundtrip(PeerMessage::Deliver {
            handle: 3,
            from: ParticipantId(9),
            to: ParticipantId::RELAY,
            blob: Bytes::from_static(b"opaque"),
        });
    }

    #[test]
    fn hello_layout_is_exact() {
        let f = PeerMessage::Hello {
            secret: vec![0xaa; 2],
            from: PeerIdentity {
                name: "a".into(),
                region: "".into(),
                tag: 1,
            },
        }
        .encode();
        assert_eq!(
            &f[..],
            &[0, 0, 0, 11, 0x81, 2, 0xaa, 0xaa, 1, b'a', 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn hostile_bodies_are_refused_not_panicked_on() {
        for body in [
            &[][..],
            &[0x81],
            &[0x81, 5, 1],
            &[0x82, 0, 0, 0, 0, 0, 0],
            &[0x83, 0, 0, 0, 1, 0],
            &[0x84, 0, 0, 0],
            &[0x85, 0, 0, 0, 1, 0, 0],
            &[0x86, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9],
            &[0x87, 0, 0, 0, 1],
            &[0x83, 0, 0, 0, 1, 1, 0xff],
            &[0x01],
        ] {
            assert!(
                PeerMessage::decode(Bytes::copy_from_slice(body)).is_err(),
                "{body:?}"
            );
        }
        // Every prefix of a valid message is refused, and nothing panics on any byte flip.
        let full = PeerMessage::Deliver {
            handle: 1,
            from: ParticipantId(2),
            to: ParticipantId(3),
            blob: Bytes::from_static(b"x"),
        }
        .encode()
        .slice(4..);
        for n in 0..full.len() - 1 {
            assert!(PeerMessage::decode(full.slice(..n)).is_err(), "prefix {n}");
        }
        for i in 0..full.len() {
            let mut b = full.to_vec();
            b[i] ^= 0xff;
            let _ = PeerMessage::decode(Bytes::from(b));
        }
    }

    #[test]
    fn the_secret_never_reaches_debug_output() {
        let m = PeerMessage::Hello {
            secret: b"correct horse battery".to_vec(),
            from: me(),
        };
        let s = format!("{m:?}");
        assert!(!s.contains("horse"), "{s}");
        assert!(s.contains("<21 bytes>"), "{s}");
    }

    #[test]
    fn link_media_is_handle_then_frame() {
        let d = Bytes::from_static(&[0, 0, 0, 5, 0x10, 0xaa]);
        let (h, f) = split_media(&d).unwrap();
        assert_eq!(h, 5);
        assert_eq!(&f[..], &[0x10, 0xaa]);
        assert!(split_media(&Bytes::from_static(&[0, 0, 0, 5])).is_none());
        assert!(split_media(&Bytes::from_static(&[0, 0])).is_none());
    }
}
