//! ffmpeg and ffprobe in tests (issue 13): real clips made by the test, and what ffmpeg reads
//! back from hush's files. `.ci/run` installs ffmpeg; elsewhere a machine without it skips the
//! media tests with a line saying so, unless `CI` is set, where a missing ffmpeg is a failure.

use std::path::Path;
use std::process::{Command, Stdio};

/// True if `ffmpeg` and `ffprobe` run. Without them: false, after a note on stderr; in CI
/// (`CI` set) a panic, so the media tests can never be skipped there.
pub fn available() -> bool {
    let ok = |bin: &str| {
        Command::new(bin)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok("ffmpeg") && ok("ffprobe") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "ffmpeg/ffprobe are missing in CI: .ci/run installs them with apt-get"
    );
    eprintln!("skipped: ffmpeg/ffprobe not installed (apt-get install ffmpeg)");
    false
}

/// Runs `ffmpeg -hide_banner -loglevel error -y <args>` and panics with its stderr on failure.
pub fn run(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("cannot run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `secs`-second VP8 clip (`testsrc`, 320x240, 30 fps) as IVF.
pub fn vp8_clip(path: &Path, secs: u32) {
    let d = secs.to_string();
    run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=30",
        "-t",
        &d,
        "-c:v",
        "libvpx",
        "-b:v",
        "300k",
        "-g",
        "30",
        "-f",
        "ivf",
        path.to_str().expect("utf-8 path"),
    ]);
}

/// A `secs`-second clip of another IVF codec (`libvpx-vp9`, `libaom-av1`), small and fast.
pub fn ivf_clip(path: &Path, encoder: &str, secs: u32) {
    let d = secs.to_string();
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=15",
        "-t",
        &d,
        "-c:v",
        encoder,
        "-g",
        "15",
    ];
    if encoder == "libaom-av1" {
        args.extend(["-cpu-used", "8", "-b:v", "100k"]);
    } else {
        args.extend(["-deadline", "realtime", "-b:v", "100k"]);
    }
    args.extend(["-f", "ivf", path.to_str().expect("utf-8 path")]);
    run(&args);
}

/// A `secs`-second Opus clip (a 440 Hz sine, 48 kHz mono, 20 ms packets) as Ogg.
pub fn opus_clip(path: &Path, secs: u32) {
    let d = secs.to_string();
    run(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &d,
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        "-frame_duration",
        "20",
        "-f",
        "ogg",
        path.to_str().expect("utf-8 path"),
    ]);
}

/// One line per packet of the file's first stream, as `ffmpeg -f framemd5 -c copy` prints it:
/// `(pts, size, md5)`, timestamps in the stream's time base.
pub fn framemd5(path: &Path) -> Vec<(i64, u64, String)> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:0", "-c", "copy", "-f", "framemd5", "-"])
        .output()
        .expect("cannot run ffmpeg");
    assert!(
        out.status.success(),
        "framemd5 of {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            // stream, dts, pts, duration, size, hash
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            Some((
                f.get(2)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
                (*f.get(5)?).to_owned(),
            ))
        })
        .collect()
}

/// `ffprobe`'s codec name and packet count of the file's first stream.
pub fn probe(path: &Path) -> (String, u64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "0", "-count_packets"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("cannot run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = text.trim().split(',');
    let codec = f.next().unwrap_or_default().to_owned();
    let n = f.next().and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    (codec, n)
}
