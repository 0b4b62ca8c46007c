//! The `Issued` codec (SPEC §12.2): round trips, exact layout, and total decoding.
#![allow(clippy::unwrap_used)]

use hush_frame::CipherSuite;
use hush_group::{MAX_EPOCH, MeetingId};
use hush_keyservice::message::{
    DecodeError, ISSUED_LEN, ISSUED_TYPE, ISSUED_VERSION, Issued, decode, is_issued,
};
use proptest::prelude::*;
use zeroize::Zeroizing;

fn sample() -> Issued {
    Issued {
        suite: CipherSuite::Aes128GcmSha256,
        meeting: MeetingId([0x11; 16]),
        epoch: 0x0102_0304_0506,
        epoch_secret: Zeroizing::new([0x5a; 32]),
        your_index: 0xbeef,
    }
}

#[test]
fn layout_is_exactly_the_spec() {
    let bytes = sample().encode();
    let mut want = vec![0xA1, 0x01, 0x00, 0x04];
    want.extend_from_slice(&[0x11; 16]);
    want.extend_from_slice(&[0, 0, 1, 2, 3, 4, 5, 6]);
    want.extend_from_slice(&[0x5a; 32]);
    want.extend_from_slice(&[0xbe, 0xef]);
    assert_eq!(bytes.len(), ISSUED_LEN);
    assert_eq!(&bytes[..], &want[..]);
    assert_eq!(decode(&want).unwrap(), sample());
}

#[test]
fn typed_errors() {
    let good = sample().encode().to_vec();
    assert_eq!(decode(&[]), Err(DecodeError::Truncated { len: 0 }));
    assert_eq!(decode(&good[..1]), Err(DecodeError::Truncated { len: 1 }));
    assert_eq!(decode(&good[..61]), Err(DecodeError::Truncated { len: 61 }));
    let mut long = good.clone();
    long.extend_from_slice(&[0, 0]);
    assert_eq!(decode(&long), Err(DecodeError::TrailingBytes { extra: 2 }));
    let mut t = good.clone();
    t[0] = 0x01;
    assert_eq!(decode(&t), Err(DecodeError::WrongType(0x01)));
    let mut v = good.clone();
    v[1] = 2;
    assert_eq!(decode(&v), Err(DecodeError::UnsupportedVersion(2)));
    let mut s = good.clone();
    s[2..4].copy_from_slice(&[0x12, 0x34]);
    assert_eq!(decode(&s), Err(DecodeError::UnknownSuite(0x1234)));
    let mut e = good.clone();
    e[20..28].copy_from_slice(&(MAX_EPOCH + 1).to_be_bytes());
    assert_eq!(decode(&e), Err(DecodeError::EpochOutOfRange(MAX_EPOCH + 1)));
}

#[test]
fn never_confused_with_group_messages() {
    // Every hush-group message starts with its version byte 1 (SPEC §8.2).
    let issued = sample().encode();
    assert_eq!(issued[0], ISSUED_TYPE);
    assert_eq!(issued[1], ISSUED_VERSION);
    assert_ne!(ISSUED_TYPE, hush_group::message::VERSION);
    assert!(matches!(
        hush_group::Message::decode(&issued),
        Err(hush_group::DecodeError::UnsupportedVersion(0xA1))
    ));
    let hello = [
        hush_group::message::VERSION,
        hush_group::message::msg_type::HELLO,
    ];
    assert!(hush_group::Message::decode(&hello).is_ok());
    assert!(!is_issued(&hello));
    assert_eq!(decode(&hello), Err(DecodeError::WrongType(1)));
}

#[test]
fn debug_prints_no_secret() {
    let s = format!("{:?}", sample());
    assert!(s.contains("your_index"));
    assert!(
        !s.contains("90, 90") && !s.to_lowercase().contains("5a5a"),
        "{s}"
    );
    assert!(!s.contains("epoch_secret"), "{s}");
}

#[test]
fn derives_the_same_keys_as_hush_group() {
    let i = sample();
    let direct = hush_group::EpochSecret::from_bytes([0x5a; 32])
        .sender(&i.meeting, i.epoch, 7, i.suite.id())
        .unwrap();
    assert_eq!(i.sender(7).unwrap(), direct);
    assert_eq!(i.my_sender().unwrap().kid, hush_group::kid(i.epoch, 0xbeef));
    assert_ne!(i.sender(1).unwrap().base_key, i.sender(2).unwrap().base_key);
}

fn arb_issued() -> impl Strategy<Value = Issued> {
    (
        0..CipherSuite::ALL.len(),
        any::<[u8; 16]>(),
        0..=MAX_EPOCH,
        any::<[u8; 32]>(),
        any::<u16>(),
    )
        .prop_map(|(s, m, epoch, secret, your_index)| Issued {
            suite: CipherSuite::ALL[s],
            meeting: MeetingId(m),
            epoch,
            epoch_secret: Zeroizing::new(secret),
            your_index,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(i in arb_issued()) {
        let bytes = i.encode();
        prop_assert_eq!(bytes.len(), ISSUED_LEN);
        prop_assert_eq!(decode(&bytes).unwrap(), i);
    }

    #[test]
    fn any_bytes_decode_or_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        match decode(&bytes) {
            Ok(i) => prop_assert_eq!(&i.encode()[..], &bytes[..]),
            Err(DecodeError::Truncated { len }) => prop_assert!(len == bytes.len() && len < ISSUED_LEN),
            Err(DecodeError::TrailingBytes { extra }) => prop_assert_eq!(extra + ISSUED_LEN, bytes.len()),
            Err(DecodeError::WrongType(t)) => prop_assert_ne!(t, ISSUED_TYPE),
            Err(_) => prop_assert!(bytes.len() >= 2),
        }
    }

    #[test]
    fn mutated_valid_message_is_ok_or_typed(i in arb_issued(), at in 0..ISSUED_LEN, x in 1..=255u8) {
        let mut bytes = i.encode().to_vec();
        bytes[at] ^= x;
        if let Ok(j) = decode(&bytes) {
            prop_assert_eq!(&j.encode()[..], &bytes[..]);
            prop_assert_ne!(j, i);
        }
    }
}
