//! Publish a media file through the library API: an in-process relay, a host that writes what
//! it receives back into the same container, and a guest that sends the file as a track, paced
//! by its timestamps (hush-media's `TrackSender`), end-to-end encrypted.
//!
//! `cargo run --example publish_clip -- clip.ivf` (or an Ogg/Opus file); make one with
//! `ffmpeg -f lavfi -i testsrc=size=320x240:rate=30 -t 3 -c:v libvpx -f ivf clip.ivf`.
//! The received copy is written next to the input as `<input>.received.<ivf|opus>`.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::BytesMut;
use hush_client::{Admit, ClientRole, Meeting, MeetingConfig, MeetingEvent, TrustAnchor};
use hush_media::{FrameHeader, Source, TrackSender, TrackWriter};
use hush_relay::{Relay, RelayConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(input) = std::env::args().nth(1) else {
        bail!("usage: publish_clip <file.ivf|file.opus>");
    };
    let source = Source::open(Box::new(
        std::fs::File::open(&input).context("open the clip")?,
    ))
    .with_context(|| format!("{input} is not IVF or Ogg/Opus"))?;
    let codec = source.codec();

    let relay = Relay::bind(RelayConfig::new("127.0.0.1:0".parse()?)).await?;
    let (addr, pin) = (relay.local_addr(), relay.cert_sha256());
    let relay = relay.spawn();
    let cfg = |name: &str, role| -> anyhow::Result<MeetingConfig> {
        Ok(MeetingConfig::new(addr, TrustAnchor::Sha256(pin), "publish", name)?.with_role(role))
    };
    let host_role = ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    };
    let (host, mut events) = Meeting::join(cfg("Host", host_role)?).await?;
    let (guest, _guest_events) = Meeting::join(cfg("Publisher", ClientRole::Guest)?).await?;
    guest.wait_for_others(1, Duration::from_secs(10)).await?;
    println!(
        "keyed in; security code {}",
        guest.security_code().unwrap_or_default()
    );

    // The receiving side: decrypted frames, written back into their container.
    let out_path = format!(
        "{input}.received.{}",
        TrackWriter::<std::fs::File>::extension(codec)
    );
    let receiving = {
        let out_path = out_path.clone();
        tokio::spawn(async move {
            let mut writer = None;
            while let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_secs(2), events.recv()).await
            {
                let MeetingEvent::Media(f) = ev else { continue };
                let Ok(Some((h, frame))) = FrameHeader::decode(&f.payload) else {
                    continue;
                };
                if writer.is_none()
                    && let Some(config) = &h.config
                {
                    let file = std::fs::File::create(&out_path)?;
                    writer = Some(TrackWriter::new(file, h.codec, config, 1)?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(h.timestamp, frame)?;
                }
            }
            anyhow::Ok(writer.map_or(0, |w| w.frames()))
        })
    };

    // The sending side: each frame when its timestamp is due.
    let mut track = TrackSender::new(source, 0, None);
    let start = tokio::time::Instant::now();
    let mut sent = 0u64;
    while let Some(f) = track.next_frame()? {
        tokio::time::sleep_until(start + f.due).await;
        guest
            .send_media(&mut BytesMut::from(&f.payload[..]))
            .await?;
        sent += 1;
    }
    let received = receiving.await??;
    println!(
        "sent {sent} {} frames; the host wrote {received} to {out_path}",
        codec.name()
    );
    host.leave().await?;
    guest.leave().await?;
    relay.shutdown().await?;
    Ok(())
}
