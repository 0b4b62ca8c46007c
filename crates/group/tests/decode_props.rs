//! Decoding is total (SPEC §8.2): any bytes give a message or a typed error, never a panic;
//! a member or host fed garbage or mutated messages refuses them with an error.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hush_group::*;
use proptest::prelude::*;
use std::sync::OnceLock;

/// Valid messages of every type from one honest meeting.
fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut m = Meeting::new(KemId::X25519);
        let a = m.join(2, "Alice");
        let mut out: Vec<Vec<u8>> = m
            .sent
            .iter()
            .map(|o| match o {
                Outgoing::Broadcast(b) | Outgoing::To(_, b) => b.clone(),
                _ => unreachable!(),
            })
            .collect();
        out.push(m.peers[a].member.hello());
        out.push(m.peers[a].member.rekey_request().unwrap());
        let mut j = Member::new(identity(3), "Bob", ROOM, None, MemberConfig::default()).unwrap();
        j.handle(HOST_RELAY, m.host.roster_bytes(), 0).unwrap();
        out.push(j.join_request(&mut m.rng).unwrap());
        out.push(m.peers[a].member.leave().unwrap());
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_or_fail_typed(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Message::decode(&bytes);
        let mut with_header = vec![1u8, bytes.first().copied().unwrap_or(2) % 8];
        with_header.extend_from_slice(&bytes);
        let _ = Message::decode(&with_header);
    }

    #[test]
    fn mutated_messages_are_refused_or_identical(
        which in 0usize..16,
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        cut in any::<prop::sample::Index>(),
    ) {
        let corpus = corpus();
        let msg = &corpus[which % corpus.len()];
        // Every valid message decodes, and re-encodes to itself.
        let decoded = Message::decode(msg).unwrap();
        let again = match &decoded {
            Message::Hello => hush_group::message::hello(),
            Message::Roster(s) => s.to_bytes(),
            Message::JoinRequest(s) => s.to_bytes(),
            Message::EpochKey(k) => k.to_bytes(),
            Message::Commit(s) => s.to_bytes(),
            Message::Welcome(s) => s.to_bytes(),
            Message::Denied(s) => s.to_bytes(),
            Message::Leave(s) | Message::RekeyRequest(s) => s.to_bytes(),
            other => panic!("unexpected message in the corpus: {other:?}"),
        };
        prop_assert_eq!(&again, msg);
        // One flipped byte: the member refuses it (decode error, bad signature, or a check).
        let mut bad = msg.clone();
        let i = pos.index(bad.len());
        bad[i] ^= xor;
        let mut member =
            Member::new(identity(4), "Probe", ROOM, None, MemberConfig::default()).unwrap();
        if let Message::Roster(_) = decoded {
            prop_assert!(member.handle(HOST_RELAY, &bad, 0).is_err());
        } else {
            let _ = member.handle(HOST_RELAY, &bad, 0);
        }
        // Truncated or extended: never accepted as the same message.
        let short = &msg[..cut.index(msg.len())];
        prop_assert!(Message::decode(short).is_err());
        let mut long = msg.clone();
        long.push(0);
        if matches!(decoded, Message::EpochKey(_)) {
            prop_assert_eq!(Message::decode(&long), Err(DecodeError::TrailingBytes));
        } else if !matches!(decoded, Message::Hello) {
            // Signed messages: the signature is taken from the end, so the body shifts.
            prop_assert!(Message::decode(&long).map(|m| m != decoded).unwrap_or(true));
        } else {
            prop_assert_eq!(Message::decode(&long), Err(DecodeError::TrailingBytes));
        }
    }
}
