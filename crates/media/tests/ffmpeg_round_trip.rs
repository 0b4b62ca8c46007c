//! hush-media against the real tools: clips ffmpeg made, read frame by frame and written back
//! by hush's IVF and Ogg/Opus writers, are the same packets for ffmpeg (`framemd5`: count,
//! per-packet checksum, timestamps).
#![allow(clippy::unwrap_used)]

use std::fs::File;

use hush_media::ivf::IvfWriter;
use hush_media::opus::OpusWriter;
use hush_media::{Source, TrackConfig};
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
