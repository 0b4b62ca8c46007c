//! The SDP file of the RTP sink (SPEC §13.5, RFC 8866): one `m=` line per stream, each on its
//! own port, so `ffmpeg -protocol_whitelist file,udp,rtp -i meeting.sdp` (or ffplay, GStreamer's
//! `sdpdemux`) plays the bridged meeting. Rewritten atomically each time a stream appears.
//!
//! The session name is the room, which another party chose: everything but printable ASCII is
//! dropped from it, so it can never end a line or add one. Participant names are left out.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use hush_media::Codec;

use crate::rtp::StreamInfo;

/// Printable ASCII only (no CR, LF or other controls), at most 64 characters.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

/// The SDP text for `streams` sent to `host`.
pub fn sdp(session_name: &str, host: IpAddr, streams: &[StreamInfo]) -> String {
    let family = if host.is_ipv4() { "IP4" } else { "IP6" };
    let mut o = String::new();
    let _ = write!(o, "v=0\r\no=- 0 0 IN {family} {host}\r\n");
    let name = sanitize(session_name);
    let _ = write!(
        o,
        "s=hush meeting{}{name}\r\nc=IN {family} {host}\r\nt=0 0\r\n",
        if name.is_empty() { "" } else { " " }
    );
    for s in streams {
        let (media, rtpmap) = match s.codec {
            Codec::Opus => ("audio", format!("opus/{}/2", s.clock_rate)),
            _ => ("video", format!("VP8/{}", s.clock_rate)),
        };
        let _ = write!(
            o,
            "m={media} {} RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\na=sendonly\r\n",
            s.port,
            pt = s.payload_type
        );
    }
    o
}

/// Writes `text` to `path` through a temporary file and a rename (a player never reads half).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("sdp-tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stream(port: u16, codec: Codec) -> StreamInfo {
        StreamInfo {
            port,
            codec,
            payload_type: if codec == Codec::Opus { 111 } else { 96 },
            clock_rate: if codec == Codec::Opus { 48_000 } else { 90_000 },
            ssrc: 1,
            track: 0,
            sender_name: "x\r\nm=evil".into(),
        }
    }

    #[test]
    fn one_m_line_per_stream() {
        let s = sdp(
            "standup",
            "127.0.0.1".parse().unwrap(),
            &[stream(5004, Codec::Vp8), stream(5006, Codec::Opus)],
        );
        assert_eq!(
            s,
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hush meeting standup\r\nc=IN IP4 127.0.0.1\r\n\
             t=0 0\r\nm=video 5004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n\
             m=audio 5006 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"
        );
    }

    #[test]
    fn a_hostile_room_name_cannot_add_lines() {
        let s = sdp(
            "r\r\nm=video 1 RTP/AVP 96\x1b[8m\u{202e}",
            "127.0.0.1".parse().unwrap(),
            &[stream(5004, Codec::Vp8)],
        );
        assert_eq!(s.matches("\r\n").count(), 8, "{s:?}");
        assert_eq!(
            s.matches("m=").count(),
            1 + 1,
            "the text stays inside the s= line: {s:?}"
        );
        assert!(
            s.lines()
                .nth(2)
                .unwrap()
                .starts_with("s=hush meeting rm=video")
        );
        assert!(!s.contains('\x1b') && !s.contains('\u{202e}'));
        assert!(!s.contains("evil"), "participant names are not in the SDP");
    }
}
