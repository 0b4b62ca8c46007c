//! Two clients and an in-process relay on loopback: a host and a guest exchange end-to-end
//! encrypted frames both ways; the program prints what each client decrypted and what the relay
//! saw (first bytes, hex, from its own dump), and checks the plaintext is not in the dump.
//!
//! `cargo run --example two_clients`

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::BytesMut;
use hush_client::{Admit, ClientRole, Meeting, MeetingConfig, MeetingEvent, TrustAnchor};
use hush_relay::{Relay, RelayConfig};

const GUARD: Duration = Duration::from_secs(10);

fn first_bytes(b: &[u8]) -> String {
    let n = b.len().min(24);
    format!(
        "{}{}",
        hex::encode(&b[..n]),
        if b.len() > n { "…" } else { "" }
    )
}

async fn next_media(
    events: &mut hush_client::MeetingEvents,
) -> anyhow::Result<hush_client::MediaFrame> {
    tokio::time::timeout(GUARD, async {
        while let Some(ev) = events.recv().await {
            if let MeetingEvent::Media(f) = ev {
                return Ok(f);
            }
        }
        bail!("meeting ended")
    })
    .await
    .context("no frame in time")?
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dump = std::env::temp_dir().join(format!("hush-two-clients-{}", std::process::id()));
    let mut config = RelayConfig::new("127.0.0.1:0".parse()?);
    config.dump_dir = Some(dump.clone());
    let relay = Relay::bind(config).await?;
    let (addr, pin) = (relay.local_addr(), relay.cert_sha256());
    let relay = relay.spawn();
    println!("relay on {addr}, certificate sha256 {}", hex::encode(pin));

    let cfg = |name: &str, role| -> anyhow::Result<MeetingConfig> {
        Ok(
            MeetingConfig::new(addr, TrustAnchor::Sha256(pin), "two-clients", name)?
                .with_role(role),
        )
    };
    let host_role = ClientRole::Host {
        admit: Admit::Auto,
        admit_connectors: false,
    };
    let (host, mut host_events) = Meeting::join(cfg("Alice", host_role)?).await?;
    let (guest, mut guest_events) = Meeting::join(cfg("Bob", ClientRole::Guest)?).await?;
    host.wait_for_others(1, GUARD).await?;
    guest.wait_for_others(1, GUARD).await?;
    let code = host.security_code().context("no security code")?;
    ensure!(
        guest.security_code().as_deref() == Some(code.as_str()),
        "codes differ"
    );
    println!("security code (both): {code}");
    println!("{}", guest.e2ee_status().context("no status")?);

    let hello = b"hello from Alice, end to end";
    let reply = b"hi Alice, Bob here";
    host.send_media(&mut BytesMut::from(&hello[..])).await?;
    guest.send_media(&mut BytesMut::from(&reply[..])).await?;
    let at_guest = next_media(&mut guest_events).await?;
    let at_host = next_media(&mut host_events).await?;
    println!(
        "Bob decrypted from {} (epoch {}): {:?}",
        at_guest.sender_name,
        at_guest.epoch,
        String::from_utf8_lossy(&at_guest.payload)
    );
    println!(
        "Alice decrypted from {} (epoch {}): {:?}",
        at_host.sender_name,
        at_host.epoch,
        String::from_utf8_lossy(&at_host.payload)
    );
    ensure!(&at_guest.payload[..] == hello && &at_host.payload[..] == reply);

    guest.leave().await?;
    host.leave().await?;
    relay.shutdown().await?;

    let mut seen = Vec::new();
    for room in std::fs::read_dir(&dump)? {
        for file in std::fs::read_dir(room?.path())? {
            let path = file?.path();
            for record in hush_relay::dump::read_records(&path)? {
                seen.push((
                    path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    record,
                ));
            }
        }
    }
    let media: Vec<_> = seen
        .iter()
        .filter(|(n, _)| n.as_deref().is_some_and(|n| n.ends_with(".media")))
        .collect();
    println!(
        "the relay saw {} records ({} media frames):",
        seen.len(),
        media.len()
    );
    for (name, record) in &media {
        println!(
            "  {}: {} bytes: {}",
            name.as_deref().unwrap_or("?"),
            record.len(),
            first_bytes(record)
        );
    }
    let all: Vec<u8> = seen.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    let leaked = [&hello[..], &reply[..], b"Alice", b"Bob"]
        .iter()
        .any(|p| all.windows(p.len()).any(|w| w == *p));
    let _ = std::fs::remove_dir_all(&dump);
    ensure!(media.len() >= 2, "the relay dumped the frames it forwarded");
    ensure!(!leaked, "plaintext or a display name reached the relay");
    println!("no plaintext and no display name in what the relay holds");
    Ok(())
}
