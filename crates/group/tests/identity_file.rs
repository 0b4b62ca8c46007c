//! Identity files (SPEC §8.1) and secret hygiene.
#![allow(clippy::unwrap_used)]

use hush_group::*;

#[test]
fn identity_file_round_trip_and_errors() {
    let id = Identity::from_secret_bytes(&[7; 32]);
    let text = id.to_file_string();
    let back = Identity::from_file_str(&text).unwrap();
    assert_eq!(back.public(), id.public());
    assert!(text.starts_with("hush-identity-v1\nsecret 0707"));
    assert_eq!(
        Identity::from_file_str("nope\n").err(),
        Some(IdentityFileError::BadHeader)
    );
    let other = Identity::from_secret_bytes(&[8; 32]).public().to_hex();
    let wrong = format!(
        "hush-identity-v1\nsecret {}\npublic {other}\n",
        "07".repeat(32)
    );
    assert_eq!(
        Identity::from_file_str(&wrong).err(),
        Some(IdentityFileError::Mismatch)
    );
    assert!(matches!(
        Identity::from_file_str("hush-identity-v1\nsecret 12\n"),
        Err(IdentityFileError::BadLine(_))
    ));
    assert!(matches!(
        Identity::from_file_str("hush-identity-v1\n"),
        Err(IdentityFileError::BadLine(_))
    ));
}

#[test]
fn debug_never_prints_secrets() {
    let id = Identity::from_secret_bytes(&[0xab; 32]);
    let dbg = format!("{id:?}");
    assert!(!dbg.contains(&"ab".repeat(8)));
    let s = EpochSecret::from_bytes([0xcd; 32]);
    assert!(!format!("{s:?}").contains("cd"));
    let sender = s.sender(&MeetingId([0; 16]), 1, 2, 4).unwrap();
    let dbg = format!("{sender:?}");
    assert!(dbg.contains("0x10002"));
    assert!(!dbg.contains(&hex::encode(&sender.base_key[..4])));
}

#[test]
fn kid_layout() {
    assert_eq!(kid(1, 0), 0x1_0000);
    assert_eq!(kid(MAX_EPOCH, 0xffff), u64::MAX);
    assert_eq!(split_kid(kid(12345, 77)), (12345, 77));
    let s = EpochSecret::from_bytes([1; 32]);
    assert_eq!(
        s.sender(&MeetingId([0; 16]), MAX_EPOCH + 1, 0, 4).err(),
        Some(GroupError::EpochExhausted)
    );
}
