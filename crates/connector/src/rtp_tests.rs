//! The RTP packetizer: clocks, streams, splitting, bounds.

use bytes::Bytes;
use hush_client::file::SenderId;
use hush_group::IdentityKey;
use hush_media::{Codec, FrameHeader, TrackConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

fn frame(track: u8, codec: Codec, ts: u64, config: bool, body: &[u8]) -> Bytes {
    let mut b = Vec::new();
    FrameHeader {
        track,
        codec,
        keyframe: config,
        timestamp: ts,
        config: config.then(|| match codec {
            Codec::Opus => TrackConfig::Opus {
                head: b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0".to_vec(),
            },
            _ => TrackConfig::Video {
                width: 320,
                height: 240,
                timebase_num: 1,
                timebase_den: 30,
            },
        }),
    }
    .encode(&mut b);
    b.extend_from_slice(body);
    Bytes::from(b)
}

fn who(n: u8) -> SenderId {
    SenderId::Identity(IdentityKey([n; 32]))
}

fn header(p: &[u8]) -> (bool, u8, u16, u32, u32) {
    let marker = p[1] & 0x80 != 0;
    let pt = p[1] & 0x7F;
    let seq = u16::from_be_bytes([p[2], p[3]]);
    let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    let ssrc = u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
    (marker, pt, seq, ts, ssrc)
}

#[test]
fn timestamps_convert_to_the_rtp_clock() {
    assert_eq!(rtp_ticks(30, (1, 30), 90_000), 90_000);
    assert_eq!(rtp_ticks(1, (1, 30), 90_000), 3000);
    assert_eq!(rtp_ticks(960, (1, 48_000), 48_000), 960);
    assert_eq!(
        rtp_ticks(u64::MAX, (1, 1), 90_000),
        ((u128::from(u64::MAX) * 90_000) & 0xFFFF_FFFF) as u32
    );
    assert_eq!(rtp_ticks(5, (1, 0), 90_000), 0);
}

#[test]
fn a_large_vp8_frame_is_split_with_the_marker_on_the_last_packet() {
    let mut p = RtpPacketizer::with_rng(5004, 1200, StdRng::seed_from_u64(1));
    let mut out = Vec::new();
    let body = vec![0x10u8; 5000];
    let r = p
        .push_payload(who(1), "A", &frame(0, Codec::Vp8, 0, true, &body), &mut out)
        .unwrap();
    assert!(r.new_stream);
    assert!(out.len() >= 5, "{} packets", out.len());
    assert!(out.iter().all(|b| b.len() <= 1200));
    let hs: Vec<_> = out.iter().map(|b| header(b)).collect();
    assert!(
        hs[..hs.len() - 1].iter().all(|h| !h.0),
        "marker only on the last"
    );
    assert!(hs.last().unwrap().0);
    assert!(
        hs.iter()
            .all(|h| h.1 == VP8_PAYLOAD_TYPE && h.3 == hs[0].3 && h.4 == hs[0].4)
    );
    for w in hs.windows(2) {
        assert_eq!(
            w[1].2,
            w[0].2.wrapping_add(1),
            "consecutive sequence numbers"
        );
    }
    // RFC 7741 payload descriptor: the S bit (0x10) on the first packet only.
    assert!(out[0][12] & 0x10 != 0);
    assert!(out[1..].iter().all(|b| b[12] & 0x10 == 0));
    // The next frame, one 1/30 s later: 3000 ticks later on the 90 kHz clock.
    let mut more = Vec::new();
    p.push_payload(
        who(1),
        "A",
        &frame(0, Codec::Vp8, 1, false, &[0x11; 10]),
        &mut more,
    )
    .unwrap();
    assert_eq!(header(&more[0]).3, hs[0].3.wrapping_add(3000));
}

#[test]
fn streams_are_per_sender_and_track_each_on_its_own_port() {
    let mut p = RtpPacketizer::with_rng(6000, 1200, StdRng::seed_from_u64(2));
    let mut out = Vec::new();
    p.push_payload(
        who(1),
        "A",
        &frame(0, Codec::Vp8, 0, true, &[0x10; 50]),
        &mut out,
    )
    .unwrap();
    p.push_payload(
        who(1),
        "A",
        &frame(1, Codec::Opus, 0, true, &[0xFC, 1, 2]),
        &mut out,
    )
    .unwrap();
    p.push_payload(
        who(2),
        "A",
        &frame(0, Codec::Opus, 0, true, &[0xFC, 1]),
        &mut out,
    )
    .unwrap();
    let s = p.streams();
    assert_eq!(
        s.iter().map(|s| s.port).collect::<Vec<_>>(),
        [6000, 6002, 6004]
    );
    assert_eq!(s[1].codec, Codec::Opus);
    let mut ssrcs: Vec<_> = s.iter().map(|s| s.ssrc).collect();
    ssrcs.dedup();
    assert_eq!(ssrcs.len(), 3, "distinct SSRCs");
}

#[test]
fn what_is_not_rtp_is_a_skip_never_a_panic() {
    let mut p = RtpPacketizer::with_rng(7000, 1200, StdRng::seed_from_u64(3));
    let mut out = Vec::new();
    let mut push = |payload: Bytes| p.push_payload(who(1), "A", &payload, &mut out);
    assert_eq!(push(Bytes::from_static(&[0x42; 40])), Err(Skip::Untracked));
    assert_eq!(
        push(Bytes::from_static(&[0xA5, 0x01, 0])),
        Err(Skip::BadHeader)
    );
    assert_eq!(
        push(frame(0, Codec::Vp9, 0, true, &[1, 2])),
        Err(Skip::Codec(Codec::Vp9))
    );
    assert_eq!(
        push(frame(0, Codec::Vp8, 0, false, &[1, 2])),
        Err(Skip::NoTimebase)
    );
    assert_eq!(push(frame(0, Codec::Opus, 0, true, &[])), Err(Skip::Empty));
    assert!(out.is_empty());
    for t in 0..MAX_STREAMS as u8 {
        p.push_payload(
            who(9),
            "A",
            &frame(t, Codec::Opus, 0, true, &[0xFC]),
            &mut out,
        )
        .unwrap();
    }
    assert_eq!(
        p.push_payload(
            who(9),
            "A",
            &frame(200, Codec::Opus, 0, true, &[0xFC]),
            &mut out
        ),
        Err(Skip::StreamLimit)
    );
}
