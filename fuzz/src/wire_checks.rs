//! Checks for hush-wire's decoders (SPEC §2 SFrame header, SPEC §6 control and media framing).
//!
//! Shared by the `sframe_header` and `wire_decode` fuzz targets and by
//! `crates/wire/tests/fuzz_replay.rs` (included there with `#[path]`), so it uses only
//! hush-wire and `bytes`.

use bytes::{Bytes, BytesMut};
use hush_wire::control::{parse_length, split_frame, truncate_utf8};
use hush_wire::media::{self, STREAM_TYPE_MEDIA};
use hush_wire::sframe_header::{Header, HeaderError, MAX_HEADER_LEN};
use hush_wire::{ClientMessage, MAX_CONTROL_SIZE, RelayMessage, RelayMode, WireError};

/// `sframe_header` target: `Header::decode` on arbitrary bytes never panics; a decoded header
/// re-encodes to exactly the bytes it was read from (one encoding per (KID, CTR)); errors are
/// consistent with the input; and any (KID, CTR) taken from the input round-trips.
pub fn check_sframe_header(data: &[u8]) {
    match Header::decode(data) {
        Ok((h, len)) => {
            assert!((1..=MAX_HEADER_LEN).contains(&len), "header length {len}");
            assert!(len <= data.len());
            assert_eq!(len, h.encoded_len(), "decoded length != encoded_len");
            let (buf, n) = h.to_array();
            assert_eq!(
                &buf[..n],
                &data[..len],
                "re-encoding differs from the input"
            );
            let mut exact = vec![0u8; len];
            assert_eq!(h.encode(&mut exact), Ok(len));
            assert_eq!(&exact[..], &data[..len]);
            let short = h.encode(&mut exact[..len - 1]);
            assert_eq!(
                short,
                Err(HeaderError::BufferTooSmall {
                    needed: len,
                    available: len - 1
                })
            );
            // Bytes after the header are never looked at.
            assert_eq!(Header::decode(&data[..len]), Ok((h, len)));
        }
        Err(HeaderError::Truncated { needed, available }) => {
            assert_eq!(available, data.len());
            assert!(available < needed && needed <= MAX_HEADER_LEN);
        }
        Err(HeaderError::NonMinimalKid | HeaderError::NonMinimalCtr) => {
            // A non-minimal header must not be a prefix-equal re-encoding of anything.
            assert!(data.len() >= 2);
        }
        Err(other) => panic!("decode returned an encode-only error: {other:?}"),
    }

    // Encode -> decode for a header whose values come from the input.
    let mut kid = [0u8; 8];
    let mut ctr = [0u8; 8];
    for (i, b) in data.iter().take(16).enumerate() {
        if i < 8 {
            kid[i] = *b;
        } else {
            ctr[i - 8] = *b;
        }
    }
    // Use the first byte to shorten the values so every length class is reached.
    let shift = u32::from(data.first().copied().unwrap_or(0) & 0x3f);
    let h = Header::new(
        u64::from_be_bytes(kid) >> shift,
        u64::from_be_bytes(ctr) >> (63 - shift),
    );
    let (buf, n) = h.to_array();
    assert_eq!(n, h.encoded_len());
    assert_eq!(Header::decode(&buf[..n]), Ok((h, n)));
    for cut in 0..n {
        assert!(
            matches!(
                Header::decode(&buf[..cut]),
                Err(HeaderError::Truncated { .. })
            ),
            "a truncated header decoded"
        );
    }
}

/// Checks that a decoded relay message re-encodes to `[u32 len] || body`.
fn relay_round_trip(body: &Bytes, msg: &RelayMessage) {
    let enc = msg.encode();
    assert!(enc.len() >= 4);
    let len = parse_length([enc[0], enc[1], enc[2], enc[3]]);
    assert_eq!(len, Ok(body.len()), "length prefix of re-encoded {msg:?}");
    assert_eq!(&enc[4..], &body[..], "re-encoding of {msg:?} differs");
    if let RelayMessage::Deliver { from, blob } = msg {
        assert_eq!(RelayMessage::encode_deliver(*from, blob), enc);
    }
    assert_eq!(RelayMessage::decode(enc.slice(4..)).as_ref(), Ok(msg));
}

/// Checks that a decoded client message re-encodes to `[u32 len] || body`.
fn client_round_trip(body: &Bytes, msg: &ClientMessage) {
    let enc = msg.encode();
    assert!(enc.len() >= 4);
    let len = parse_length([enc[0], enc[1], enc[2], enc[3]]);
    assert_eq!(len, Ok(body.len()), "length prefix of re-encoded {msg:?}");
    assert_eq!(&enc[4..], &body[..], "re-encoding of {msg:?} differs");
    assert_eq!(ClientMessage::decode(enc.slice(4..)).as_ref(), Ok(msg));
}

/// Both control decoders on one body: Ok round-trips, Err is typed and maps to a wire code.
fn decode_body(body: &Bytes) {
    match RelayMessage::decode(body.clone()) {
        Ok(m) => relay_round_trip(body, &m),
        Err(e) => check_error(&e, body.len()),
    }
    match ClientMessage::decode(body.clone()) {
        Ok(m) => client_round_trip(body, &m),
        Err(e) => check_error(&e, body.len()),
    }
}

fn check_error(e: &WireError, len: usize) {
    // Every error has a wire code; an empty body is always `Empty`.
    let _ = e.code();
    if len == 0 {
        assert_eq!(e, &WireError::Empty);
    }
    if let WireError::TrailingBytes(n) = e {
        assert!(*n >= 1 && *n < len);
    }
}

/// `wire_decode` target: every decoder of hush-wire on arbitrary bytes.
///
/// - the input as one control body, for both directions, with a re-encode round trip;
/// - the input as a byte stream of length-prefixed control messages (`split_frame`), each body
///   decoded the same way, checking that exactly the announced bytes are consumed;
/// - the input as a media stream (`parse_media_stream`, `check_stream_type`);
/// - the single-byte decoders (`RelayMode::from_byte`) and `truncate_utf8`.
pub fn check_wire(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    decode_body(&body);

    // As a stream of framed messages.
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match split_frame(&mut buf) {
            Ok(Some(frame)) => {
                assert_eq!(
                    before - buf.len(),
                    4 + frame.len(),
                    "split consumed wrong bytes"
                );
                assert!(!frame.is_empty() && frame.len() <= MAX_CONTROL_SIZE);
                decode_body(&frame);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "split consumed bytes without a frame");
                if before >= 4 {
                    let len = parse_length([buf[0], buf[1], buf[2], buf[3]]);
                    assert!(matches!(len, Ok(n) if before < 4 + n));
                }
                break;
            }
            Err(e) => {
                assert!(matches!(e, WireError::TooLarge { .. } | WireError::Empty));
                assert_eq!(buf.len(), before, "split consumed bytes on error");
                break;
            }
        }
    }

    // As a media stream.
    match media::parse_media_stream(data) {
        Ok(frame) => {
            assert_eq!(data.first(), Some(&STREAM_TYPE_MEDIA));
            assert_eq!(frame, &data[1..]);
            assert!(!frame.is_empty());
        }
        Err(WireError::Truncated) => assert!(data.len() <= 1),
        Err(WireError::UnknownStreamType(b)) => assert_eq!(data.first(), Some(&b)),
        Err(other) => panic!("unexpected media stream error {other:?}"),
    }
    if let Some(&b) = data.first() {
        assert_eq!(media::check_stream_type(b).is_ok(), b == STREAM_TYPE_MEDIA);
        match RelayMode::from_byte(b) {
            Ok(mode) => assert_eq!(mode.to_byte(), b),
            Err(e) => assert_eq!(e, WireError::InvalidMode(b)),
        }
    }

    // truncate_utf8 on a string made from the input.
    let text = String::from_utf8_lossy(data);
    let max = usize::from(data.first().copied().unwrap_or(0));
    let cut = truncate_utf8(&text, max);
    assert!(cut.len() <= max, "truncated string longer than its maximum");
    assert!(text.starts_with(cut));
    if text.len() > max {
        // At most one partial character (< 4 bytes) is dropped.
        assert!(
            max - cut.len() < 4,
            "truncate_utf8 dropped a whole character"
        );
    } else {
        assert_eq!(cut.len(), text.len());
    }
}
