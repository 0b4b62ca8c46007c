//! `hush bench`: throughput, latency, CPU and memory of frames through an embedded relay on
//! loopback, mode after mode (issue 6). The work is in `crate::bench`; this file is the CLI.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hush_frame::CipherSuite;

use crate::bench::{Mode, Rate, Workload, harness, report};

/// `hush bench` arguments.
#[derive(Debug, Parser)]
pub struct Args {
    /// Modes, comma-separated, or `all`: udp-floor, quinn-min, plain,
    /// sframe, transport, e2ee, connector.
    #[arg(long, default_value = "plain,e2ee")]
    mode: String,
    /// Receiving participants. Equal to --senders: a meeting where everyone sends and receives
    /// (each frame reaches the others); otherwise senders and receivers are distinct.
    #[arg(long, default_value_t = 4)]
    receivers: usize,
    /// Sending participants.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Payload bytes per frame (before SFrame header and tag).
    #[arg(long, default_value_t = 1000)]
    frame_size: usize,
    /// Frames per second per sender.
    #[arg(long, conflicts_with = "max", required_unless_present = "max")]
    fps: Option<f64>,
    /// Send as fast as the transport accepts.
    #[arg(long)]
    max: bool,
    /// Seconds each mode sends.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Print one JSON object `{"runs":[...]}` on stdout and nothing else.
    #[arg(long)]
    json: bool,
    /// Cipher suite of the sealed modes (id or name; default: the fastest on this CPU).
    #[arg(long)]
    suite: Option<String>,
}

fn modes(spec: &str) -> anyhow::Result<Vec<Mode>> {
    if spec.trim().eq_ignore_ascii_case("all") {
        return Ok(Mode::ALL.to_vec());
    }
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let m: Mode = part.parse()?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    anyhow::ensure!(!out.is_empty(), "no mode given");
    Ok(out)
}

/// Runs `hush bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let suite = match &args.suite {
        Some(s) => s.parse::<CipherSuite>().context("--suite")?,
        None => CipherSuite::default_for_this_cpu(),
    };
    anyhow::ensure!(
        args.duration.is_finite(),
        "--duration must be a number of seconds"
    );
    let workload = Workload {
        senders: args.senders,
        receivers: args.receivers,
        frame_size: args.frame_size,
        rate: match args.fps {
            Some(f) if !args.max => Rate::Fps(f),
            _ => Rate::Max,
        },
        duration: Duration::try_from_secs_f64(args.duration).context("--duration")?,
        suite,
    };
    workload.validate()?;
    let modes = modes(&args.mode)?;
    let mut runs = Vec::new();
    for mode in modes {
        let r = if args.json {
            harness::run(mode, &workload, &mut |_| {})
        } else {
            let bar = indicatif::ProgressBar::new(1000);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix:>10} [{bar:40}] {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(mode.name());
            let r = harness::run(mode, &workload, &mut |f| {
                bar.set_position((f.clamp(0.0, 1.0) * 1000.0) as u64);
            });
            bar.finish_and_clear();
            r
        };
        runs.push(r.with_context(|| format!("mode {mode}"))?);
    }
    if args.json {
        println!("{}", report::json(&runs));
    } else {
        let w = &workload;
        println!(
            "hush bench: {} participant(s), {} sending, fan-out 1→{}, {} B frames, {}, {:.1} s per mode, suite {}",
            w.participants(),
            w.senders,
            w.fanout(),
            w.frame_size,
            match w.rate {
                Rate::Fps(f) => format!("{f} fps per sender"),
                Rate::Max => "max rate".to_owned(),
            },
            w.duration.as_secs_f64(),
            w.suite.name()
        );
        print!("{}", report::table(&runs));
    }
    Ok(())
}
