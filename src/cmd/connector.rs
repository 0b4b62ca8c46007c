//! `hush connector`: join a meeting as a connector (SPEC §13) and bridge every decrypted media
//! frame to a legacy, non-E2EE sink: UDP datagrams (`--udp-sink`, SPEC §13.3) and/or a recording
//! (`--record-file`, SPEC §13.4). Prints the same `security code:` / `e2ee:` lines as `hush join`
//! (stdout), then `connector: admitted, bridging to <sinks>` once the host admitted it. SIGINT
//! leaves (the meeting rekeys) and prints the counters on stderr.

use std::net::ToSocketAddrs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use hush_client::{MeetingConfig, MeetingEvent};
use hush_connector::{Connector, ConnectorEvents, SinkConfig, udp};

use super::meeting::{
    PolicyArgs, RelayArgs, meeting_config, out, print_chat, print_session_event, print_status,
};

/// `hush connector` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    relay: RelayArgs,
    /// Display name: every client shows `e2ee: off (connector <name> decrypts)`.
    #[arg(long)]
    name: String,
    /// Send each decrypted media payload as UDP datagrams to this address (plaintext).
    #[arg(long, value_name = "HOST:PORT")]
    udp_sink: Option<String>,
    /// Write every decrypted media frame and data message to this recording (plaintext).
    #[arg(long, value_name = "PATH")]
    record_file: Option<PathBuf>,
    /// Send each decrypted track as RTP (VP8 per RFC 7741, Opus per RFC 7587): the first stream
    /// to HOST:PORT, the next to PORT+2, PORT+4, … (plaintext). Play it with
    /// `ffmpeg -protocol_whitelist file,udp,rtp -i meeting.sdp` (see --sdp).
    #[arg(long, value_name = "HOST:PORT")]
    rtp_sink: Option<String>,
    /// With --rtp-sink: write an SDP file describing the RTP streams here (rewritten each time
    /// a stream appears).
    #[arg(long, value_name = "PATH", requires = "rtp_sink")]
    sdp: Option<PathBuf>,
    /// Largest datagram sent to the UDP sink, 16-byte header included.
    #[arg(long, default_value_t = udp::DEFAULT_DATAGRAM_SIZE)]
    datagram_size: usize,
    #[command(flatten)]
    policy: PolicyArgs,
}

fn config(args: &Args) -> anyhow::Result<(MeetingConfig, SinkConfig)> {
    let trust = args.relay.trust()?;
    if args.udp_sink.is_none() && args.record_file.is_none() && args.rtp_sink.is_none() {
        bail!(
            "a connector needs a sink: give --udp-sink HOST:PORT, --rtp-sink HOST:PORT and/or \
             --record-file PATH"
        );
    }
    let rtp = match &args.rtp_sink {
        Some(s) => {
            let addr = s
                .to_socket_addrs()
                .with_context(|| format!("cannot resolve --rtp-sink {s:?}"))?
                .next()
                .with_context(|| format!("--rtp-sink {s:?} resolves to nothing"))?;
            let mut r = hush_connector::rtp::RtpConfig::new(addr);
            r.sdp = args.sdp.clone();
            r.session_name = args.relay.room.clone();
            Some(r)
        }
        None => None,
    };
    if let Some(p) = &args.sdp {
        super::paths::output_file("--sdp", p)?;
    }
    let udp = match &args.udp_sink {
        Some(s) => Some(
            s.to_socket_addrs()
                .with_context(|| format!("cannot resolve --udp-sink {s:?}"))?
                .next()
                .with_context(|| format!("--udp-sink {s:?} resolves to nothing"))?,
        ),
        None => None,
    };
    udp::chunk_size(args.datagram_size)?;
    let cfg = meeting_config(&args.relay, trust, &args.name, &args.policy)?;
    let sinks = SinkConfig {
        udp,
        record_file: args.record_file.clone(),
        datagram_size: args.datagram_size,
        rtp,
    };
    Ok((cfg, sinks))
}

/// Runs `hush connector`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (cfg, sinks) = config(&args)?;
    if let Some(p) = &args.record_file {
        super::paths::output_file("--record-file", p)?;
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(session(args, cfg, sinks))
}

async fn session(args: Args, cfg: MeetingConfig, sinks: SinkConfig) -> anyhow::Result<()> {
    let (connector, events) = Connector::join(cfg, sinks).await?;
    let m = connector.meeting();
    eprintln!(
        "joined room {:?} via relay {} (region \"{}\") as connector {:?}; waiting for the host \
         to admit it. What it decrypts leaves it in plaintext.",
        args.relay.room,
        m.relay_addr(),
        hush_group::names::Escaped(&m.relay_region()),
        args.name,
    );
    let result = tokio::select! {
        r = listen(&connector, events) => r,
        _ = tokio::signal::ctrl_c() => { eprintln!("interrupted: leaving"); Ok(()) }
        () = super::signal::terminated() => { eprintln!("terminated: leaving"); Ok(()) }
    };
    let stats = connector.stop().await;
    match &stats {
        Ok(s) => {
            use super::count;
            eprintln!(
                "connector: left; bridged {} ({}) in {}, {} ({}), {}",
                count(s.frames_bridged, "frame", "frames"),
                count(s.bytes_bridged, "byte", "bytes"),
                count(s.datagrams_sent, "datagram", "datagrams"),
                count(s.records_written, "record", "records"),
                count(s.data_recorded, "data message", "data messages"),
                count(s.udp_errors, "udp error", "udp errors"),
            )
        }
        Err(e) => eprintln!("connector: left; {e}"),
    }
    result?;
    stats?;
    Ok(())
}

async fn listen(connector: &Connector, mut events: ConnectorEvents) -> anyhow::Result<()> {
    let mut admitted = false;
    while let Some(ev) = events.recv().await {
        if print_status(&ev) {
            // The first status line comes with the first keyed epoch: admitted.
            if matches!(ev, MeetingEvent::E2ee(_)) && !admitted {
                admitted = true;
                out(&format!(
                    "connector: admitted, bridging to {}",
                    connector.sinks().describe()
                ));
            }
            continue;
        }
        if print_session_event(&ev)? {
            continue;
        }
        match ev {
            MeetingEvent::Data(d) if d.kind == hush_client::DataKind::Chat => print_chat(&d),
            MeetingEvent::Removed => {
                eprintln!("removed from the meeting");
                return Ok(());
            }
            _ => {}
        }
    }
    Ok(())
}
