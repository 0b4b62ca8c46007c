//! Property tests: every message round-trips, and decoding arbitrary bytes never panics.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use hush_wire::control::parse_length;
use hush_wire::{ClientMessage, ErrorCode, ParticipantId, RelayMessage, RelayMode, Target};
use proptest::prelude::*;

fn body(framed: Bytes) -> Bytes {
    let len = parse_length([framed[0], framed[1], framed[2], framed[3]]).unwrap();
    assert_eq!(len, framed.len() - 4);
    framed.slice(4..)
}

fn relay_msg() -> impl Strategy<Value = RelayMessage> {
    prop_oneof![
        (
            any::<u16>(),
            "[a-z]{0,20}",
            any::<bool>(),
            prop::option::of((any::<u32>(), any::<u64>(), any::<u32>()))
        )
            .prop_map(|(v, r, t, l)| RelayMessage::Hello {
                protocol_version: v,
                relay_region: r,
                relay_mode: if t {
                    RelayMode::Transport
                } else {
                    RelayMode::E2ee
                },
                limits: l.map(|(f, b, m)| hush_wire::RelayLimits {
                    frames_per_second: f,
                    bytes_per_second: b,
                    max_frame_size: m,
                }),
            }),
        (any::<u64>(), prop::collection::vec(any::<u64>(), 0..40)).prop_map(|(id, ps)| {
            RelayMessage::Joined {
                your_id: ParticipantId(id),
                participants: ps.into_iter().map(ParticipantId).collect(),
            }
        }),
        any::<u64>().prop_map(|id| RelayMessage::PeerJoined {
            id: ParticipantId(id)
        }),
        any::<u64>().prop_map(|id| RelayMessage::PeerLeft {
            id: ParticipantId(id)
        }),
        (any::<u64>(), prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(f, b)| {
            RelayMessage::Deliver {
                from: ParticipantId(f),
                blob: Bytes::from(b),
            }
        }),
        (any::<u32>(), ".{0,40}").prop_map(|(c, r)| RelayMessage::Error {
            code: ErrorCode(c),
            reason: r,
        }),
        any::<u64>().prop_map(|n| RelayMessage::Pong { nonce: n }),
        Just(RelayMessage::Left),
        prop::collection::vec((".{0,20}", ".{0,20}"), 0..=64)
            .prop_map(|relays| RelayMessage::Carriers { relays }),
    ]
}

fn client_msg() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (
            ".{1,30}",
            prop::option::of(prop::collection::vec("[a-z0-9:._-]{1,64}", 1..=16))
        )
            .prop_map(|(room, allow)| ClientMessage::Join { room, allow }),
        Just(ClientMessage::Leave),
        (
            prop::option::of(any::<u64>()),
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(to, b)| ClientMessage::Send {
                to: to.map_or(Target::All, |id| Target::Participant(ParticipantId(id))),
                blob: Bytes::from(b),
            }),
        any::<u64>().prop_map(|n| ClientMessage::Ping { nonce: n }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn relay_messages_round_trip(m in relay_msg()) {
        prop_assert_eq!(RelayMessage::decode(body(m.encode())).unwrap(), m);
    }

    #[test]
    fn client_messages_round_trip(m in client_msg()) {
        prop_assert_eq!(ClientMessage::decode(body(m.encode())).unwrap(), m);
    }

    #[test]
    fn decoding_garbage_is_total(b in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = RelayMessage::decode(Bytes::from(b.clone()));
        let _ = ClientMessage::decode(Bytes::from(b.clone()));
        let _ = hush_wire::media::parse_media_stream(&b);
    }

    #[test]
    fn truncating_a_message_never_decodes_to_it(m in client_msg(), cut in 1usize..8) {
        let b = body(m.encode());
        if cut <= b.len() {
            let shorter = b.slice(..b.len() - cut);
            prop_assert_ne!(ClientMessage::decode(shorter).ok(), Some(m));
        }
    }
}
