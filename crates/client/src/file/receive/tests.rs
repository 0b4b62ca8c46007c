//! The receiver under honest and hostile transfers.

use sha2::{Digest, Sha256};

use super::*;
use crate::file::FileLimits;
use crate::file::message::{encode_chunk, encode_end, encode_start};

fn limits() -> FileLimits {
    FileLimits {
        max_file_size: 100,
        max_transfers_per_sender: 2,
        max_bytes_per_sender: 150,
        max_total_bytes: 250,
    }
}

fn end_for(id: &TransferId, content: &[u8]) -> Vec<u8> {
    encode_end(id, &Sha256::digest(content).into())
}

type R = FileReceiver<&'static str>;

fn send_all(r: &mut R, who: &'static str, id: TransferId, name: &str, content: &[u8]) {
    r.feed(
        who,
        DataKind::FileStart,
        &encode_start(&id, content.len() as u64, name),
    )
    .unwrap();
    for c in content.chunks(7) {
        r.feed(who, DataKind::FileChunk, &encode_chunk(&id, c))
            .unwrap();
    }
}

#[test]
fn a_transfer_round_trips_with_its_sanitized_name() {
    let mut r = R::new(limits());
    let content = b"the quarterly numbers".to_vec();
    send_all(&mut r, "bob", [1; 8], "../../etc/notes.pdf", &content);
    let f = r
        .feed("bob", DataKind::FileEnd, &end_for(&[1; 8], &content))
        .unwrap()
        .unwrap();
    assert_eq!(f.sender, "bob");
    assert_eq!(f.name, "_.._etc_notes.pdf");
    assert_eq!(f.bytes, content);
    assert_eq!(r.open_transfers(), 0);
    assert_eq!(r.reserved_bytes(), 0);
    // Other kinds are not file messages.
    assert_eq!(r.feed("bob", DataKind::Chat, b"hi"), Ok(None));
}

#[test]
fn abuse_two_senders_with_one_transfer_id_stay_apart() {
    let mut r = R::new(limits());
    send_all(&mut r, "alice-1", [7; 8], "a.txt", b"first alice");
    send_all(&mut r, "alice-2", [7; 8], "a.txt", b"second alice!");
    // A chunk of alice-2 cannot land in alice-1's transfer.
    let a1 = r
        .feed(
            "alice-1",
            DataKind::FileEnd,
            &end_for(&[7; 8], b"first alice"),
        )
        .unwrap()
        .unwrap();
    let a2 = r
        .feed(
            "alice-2",
            DataKind::FileEnd,
            &end_for(&[7; 8], b"second alice!"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(a1.bytes, b"first alice");
    assert_eq!(a2.bytes, b"second alice!");
}

#[test]
fn abuse_oversize_file_is_refused_at_start_and_by_overrun() {
    let mut r = R::new(limits());
    assert_eq!(
        r.feed("m", DataKind::FileStart, &encode_start(&[1; 8], 101, "x")),
        Err(FileError::TooLarge {
            size: 101,
            max: 100
        })
    );
    assert_eq!(r.open_transfers(), 0);
    // Declares 10, sends 11: refused and dropped.
    r.feed("m", DataKind::FileStart, &encode_start(&[2; 8], 10, "x"))
        .unwrap();
    r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 6]))
        .unwrap();
    assert_eq!(
        r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 5])),
        Err(FileError::Overrun { size: 10 })
    );
    assert_eq!(r.open_transfers(), 0);
    assert_eq!(r.reserved_bytes(), 0);
    assert_eq!(
        r.feed("m", DataKind::FileChunk, &encode_chunk(&[2; 8], &[0; 1])),
        Err(FileError::UnknownTransfer)
    );
}

#[test]
fn abuse_too_many_transfers_and_too_many_bytes_per_sender() {
    let mut r = R::new(limits());
    r.feed("m", DataKind::FileStart, &encode_start(&[1; 8], 10, "a"))
        .unwrap();
    r.feed("m", DataKind::FileStart, &encode_start(&[2; 8], 10, "b"))
        .unwrap();
    assert_eq!(
        r.feed("m", DataKind::FileStart, &encode_start(&[3; 8], 10, "c")),
        Err(FileError::TooManyTransfers { max: 2 })
    );
    // Someone else is not held back by m.
    r.feed("n", DataKind::FileStart, &encode_start(&[3; 8], 100, "c"))
        .unwrap();
    // Bytes: n has 100 of 150 reserved.
    assert_eq!(
        r.feed("n", DataKind::FileStart, &encode_start(&[4; 8], 51, "d")),
        Err(FileError::OverBudget { max: 150 })
    );
    // Total: 120 reserved of 250; o may reserve 100 but not then 100 more via p.
    r.feed("o", DataKind::FileStart, &encode_start(&[5; 8], 100, "e"))
        .unwrap();
    assert_eq!(
        r.feed("p", DataKind::FileStart, &encode_start(&[6; 8], 100, "f")),
        Err(FileError::OverBudget { max: 250 })
    );
    // Leaving frees the reservation.
    r.retain_senders(|k| *k != "o");
    r.feed("p", DataKind::FileStart, &encode_start(&[6; 8], 100, "f"))
        .unwrap();
}

#[test]
fn abuse_unknown_duplicate_incomplete_tampered_and_malformed_are_refused() {
    let mut r = R::new(limits());
    assert_eq!(
        r.feed("m", DataKind::FileChunk, &encode_chunk(&[9; 8], b"x")),
        Err(FileError::UnknownTransfer)
    );
    assert_eq!(
        r.feed("m", DataKind::FileEnd, &end_for(&[9; 8], b"")),
        Err(FileError::UnknownTransfer)
    );
    // A chunk for another sender's transfer id is unknown for this sender.
    send_all(&mut r, "bob", [1; 8], "f", b"abc");
    assert_eq!(
        r.feed("eve", DataKind::FileChunk, &encode_chunk(&[1; 8], b"evil")),
        Err(FileError::UnknownTransfer)
    );
    // Duplicate start: refused, and the open transfer is dropped.
    assert_eq!(
        r.feed("bob", DataKind::FileStart, &encode_start(&[1; 8], 3, "f")),
        Err(FileError::DuplicateTransfer)
    );
    assert_eq!(r.open_transfers(), 0);
    // Incomplete.
    send_all(&mut r, "bob", [2; 8], "f", b"abc");
    r.feed("bob", DataKind::FileStart, &encode_start(&[3; 8], 4, "g"))
        .unwrap();
    assert_eq!(
        r.feed("bob", DataKind::FileEnd, &end_for(&[3; 8], b"")),
        Err(FileError::Incomplete { size: 4, got: 0 })
    );
    // Wrong hash.
    assert_eq!(
        r.feed("bob", DataKind::FileEnd, &end_for(&[2; 8], b"abd")),
        Err(FileError::HashMismatch)
    );
    assert_eq!(r.open_transfers(), 0);
    // Malformed: short, bad name length, empty or non-UTF-8 name.
    for bad in [
        &b"1234567"[..],
        &encode_start(&[4; 8], 1, "abc")[..19],
        &[&[4u8; 8][..], &1u64.to_be_bytes(), &[0]].concat(),
        &[&[4u8; 8][..], &1u64.to_be_bytes(), &[1, 0xFF]].concat(),
    ] {
        assert!(r.feed("bob", DataKind::FileStart, bad).is_err(), "{bad:?}");
    }
    assert!(r.feed("bob", DataKind::FileChunk, b"short").is_err());
    assert!(r.feed("bob", DataKind::FileEnd, &[1; 8]).is_err());
    assert_eq!(r.open_transfers(), 0);
}
