//! hush-media against the real tools: clips ffmpeg made, read frame by frame and written back
//! by hush's IVF and Ogg/Opus writers, are the same packets for ffmpeg (`framemd5`: count,
//! per-packet checksum, timestamps).
#![allow(clippy::unwrap_used)]

use std::fs::File;

use hush_media::ivf::IvfWriter;
use hush_media::opus::OpusWriter;
use hush_media::{Codec, Source, TrackConfig};
use hush_testkit::ffmpeg;
use hush_testkit::meeting::TempDir;

fn rewrite(src: &std::path::Path, dst: &std::path::Path) -> usize {
    let mut s = Source::open(Box::new(File::open(src).unwrap())).unwrap();
    let out = File::create(dst).unwrap();
    let mut n = 0;
    match s.config().clone() {
        c @ TrackConfig::Video { .. } => {
            let mut w = IvfWriter::new(out, s.codec(), &c).unwrap();
            while let Some(f) = s.next_frame().unwrap() {
                w.write_frame(f.timestamp, &f.data).unwrap();
                n += 1;
            }
        }
        TrackConfig::Opus { head } => {
            let mut w = OpusWriter::new(out, &head, 1).unwrap();
            while let Some(f) = s.next_frame().unwrap() {
                w.write_packet(f.timestamp, &f.data).unwrap();
                n += 1;
            }
        }
    }
    n
}

#[test]
fn ivf_and_ogg_opus_rewritten_by_hush_are_the_same_packets_for_ffmpeg() {
    if !ffmpeg::available() {
        return;
    }
    let dir = TempDir::new("media-roundtrip");
    let vp8 = dir.path().join("in.ivf");
    let opus = dir.path().join("in.opus");
    ffmpeg::vp8_clip(&vp8, 2);
    ffmpeg::opus_clip(&opus, 2);
    for (src, name) in [(&vp8, "out.ivf"), (&opus, "out.opus")] {
        let dst = dir.path().join(name);
        let n = rewrite(src, &dst);
        let a = ffmpeg::framemd5(src);
        let b = ffmpeg::framemd5(&dst);
        assert!(n > 40, "{name}: {n} frames");
        assert_eq!(a.len(), n, "{name}: every packet read");
        assert_eq!(
            a, b,
            "{name}: same packets, sizes, checksums and timestamps"
        );
    }
    let mut s = Source::open(Box::new(File::open(&vp8).unwrap())).unwrap();
    let first = s.next_frame().unwrap().unwrap();
    assert!(first.keyframe, "a VP8 clip starts with a keyframe");
}

/// VP9 and AV1 in IVF, made by ffmpeg: every frame read back, and the first is recognised as a
/// keyframe (the flag receivers start from).
#[test]
fn vp9_and_av1_clips_round_trip_and_start_with_a_keyframe() {
    if !ffmpeg::available() {
        return;
    }
    let dir = TempDir::new("media-vp9-av1");
    for (encoder, codec) in [("libvpx-vp9", Codec::Vp9), ("libaom-av1", Codec::Av1)] {
        let src = dir.path().join(format!("{encoder}.ivf"));
        ffmpeg::ivf_clip(&src, encoder, 1);
        let dst = dir.path().join(format!("{encoder}.out.ivf"));
        let n = rewrite(&src, &dst);
        assert!(n >= 10, "{encoder}: {n}");
        assert_eq!(ffmpeg::framemd5(&src), ffmpeg::framemd5(&dst), "{encoder}");
        let mut s = Source::open(Box::new(File::open(&src).unwrap())).unwrap();
        assert_eq!(s.codec(), codec);
        let first = s.next_frame().unwrap().unwrap();
        assert!(first.keyframe, "{encoder}: the first frame is a keyframe");
        let keys = std::iter::from_fn(|| s.next_frame().unwrap())
            .filter(|f| f.keyframe)
            .count();
        assert!(keys < n, "{encoder}: not every frame is a keyframe");
    }
}
