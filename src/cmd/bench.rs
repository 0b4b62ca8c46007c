//! `hush bench`: throughput, latency, CPU and memory of frames through an embedded relay on
//! loopback, mode after mode (issue 6). The work is in the `hush-bench` crate; this file is the CLI.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hush_frame::CipherSuite;

use hush_bench::{Mode, Rate, Workload};

/// `hush bench` arguments.
#[derive(Debug, Parser)]
pub struct Args {
    /// Modes, comma-separated, or `all`: udp-floor, quinn-min, plain,
    /// sframe, transport, e2ee (sender authentication off), e2ee-auth (on, as every client
    /// joins by default), connector. Or `rekey` alone: the cost of one epoch change
    /// (a leave and a join) at --members N, on the group layer, for each --kem. Or
    /// `directory` alone: the cluster directory's cost on a real redis-server (SPEC §15.7). Or
    /// `rekey-live` alone: a real loopback meeting of --members N (up to 200, every client in
    /// this process), the last member leaves, the time until each other member is keyed.
    #[arg(long, default_value = "plain,e2ee")]
    mode: String,
    /// Receiving participants. Equal to --senders (2 or more): a meeting where everyone sends
    /// and receives (each frame reaches the others); otherwise senders and receivers are
    /// distinct participants.
    #[arg(long, default_value_t = 4)]
    receivers: usize,
    /// Sending participants.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Payload bytes per frame (before SFrame header and tag).
    #[arg(long, default_value_t = 1000)]
    frame_size: usize,
    /// Frames per second per sender (paced, as a live source sends). Alternative to --max;
    /// with neither, 50.
    #[arg(long, conflicts_with = "max")]
    fps: Option<f64>,
    /// Send as fast as the transport accepts (saturation). Alternative to --fps.
    #[arg(long)]
    max: bool,
    /// Real media instead of synthetic frames (repeatable, one track each, as `hush join
    /// --media-in`): each sender sends the files' frames with their sizes at their times, in
    /// a loop. Alternative to --fps, --max and --frame-size.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["fps", "max"])]
    media_in: Vec<std::path::PathBuf>,
    /// Seconds each mode sends.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Print one JSON object `{"runs":[...]}` on stdout and nothing else.
    #[arg(long)]
    json: bool,
    /// Cipher suite of the sealed modes (id or name; default: the fastest on this CPU).
    #[arg(long)]
    suite: Option<String>,
    /// With --max: run each mode until it lands in this regime (light or saturated; at most
    /// 5 runs), since outside load decides which one a saturating run lands in.
    #[arg(long, requires = "max")]
    regime: Option<String>,
    /// Relays carrying the room: 2 runs every mode on one relay and then on two linked relays
    /// (SPEC §15), side by side: senders on the first, receivers on the second (in a meeting,
    /// participants alternate), so the second run shows what a relay hop adds.
    #[arg(long, default_value_t = 1)]
    relays: usize,
    /// `--mode directory`: the Redis server to load (default: start a `redis-server` on a free
    /// loopback port for the run).
    #[arg(long, value_name = "REDIS_URL")]
    redis: Option<String>,
    /// `--mode directory`: rooms to open, comma-separated (one run each).
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000])]
    rooms: Vec<usize>,
    /// `--mode directory`: relays registered in the directory.
    #[arg(long, default_value_t = 20)]
    cluster_relays: usize,
    /// `--mode directory`: participants per room.
    #[arg(long, default_value_t = 2)]
    room_size: usize,
    /// `--mode rekey`: meeting sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = hush_bench::rekey::DEFAULT_MEMBERS)]
    members: Vec<usize>,
    /// `--mode rekey`: KEMs, comma-separated (x25519, xwing).
    #[arg(long, value_delimiter = ',', default_values = ["x25519", "xwing"])]
    kem: Vec<String>,
}

/// Frames per second per sender when neither --fps nor --max is given (an audio stream's rate).
const DEFAULT_FPS: f64 = 50.0;

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

fn kems(names: &[String]) -> anyhow::Result<Vec<hush_group::KemId>> {
    names
        .iter()
        .map(|k| match k.trim().to_ascii_lowercase().as_str() {
            "x25519" => Ok(hush_group::KemId::X25519),
            "xwing" | "x-wing" => Ok(hush_group::KemId::XWing),
            other => anyhow::bail!("--kem {other:?}: expected x25519 or xwing"),
        })
        .collect()
}

/// `--mode rekey-live`: a real loopback meeting per (KEM, --members), the last member leaves.
fn rekey_live(args: &Args) -> anyhow::Result<()> {
    use std::io::Write as _;
    let suite = CipherSuite::default_for_this_cpu();
    let mut runs = Vec::new();
    for kem in kems(&args.kem)? {
        // A loopback meeting of every client in this process: up to 200 (the default sizes'
        // 1000 is skipped here).
        for &n in args.members.iter().filter(|n| **n <= 200) {
            runs.push(hush_bench::harness::rekey_live(n, kem, suite)?);
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let v: Vec<_> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "mode": "rekey-live",
                    "kem": match r.kem { hush_group::KemId::XWing => "xwing", _ => "x25519" },
                    "members": r.members,
                    "setup_s": r.setup_s,
                    "leave_to_keyed_ms": {"p50": r.leave_to_keyed_ms[0], "max": r.leave_to_keyed_ms[1]},
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "runs": v }))?;
    } else {
        writeln!(
            out,
            "hush bench --mode rekey-live: a loopback meeting, the last member leaves"
        )?;
        writeln!(
            out,
            "{:>7} {:>8} {:>10} {:>14} {:>14}",
            "kem", "members", "setup s", "keyed p50 ms", "keyed last ms"
        )?;
        for r in &runs {
            writeln!(
                out,
                "{:>7} {:>8} {:>10.1} {:>14.1} {:>14.1}",
                match r.kem {
                    hush_group::KemId::XWing => "xwing",
                    _ => "x25519",
                },
                r.members,
                r.setup_s,
                r.leave_to_keyed_ms[0],
                r.leave_to_keyed_ms[1]
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Runs `hush bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.mode.trim().eq_ignore_ascii_case("directory") {
        anyhow::ensure!(
            (1..=1000).contains(&args.cluster_relays) && (1..=1000).contains(&args.room_size),
            "--cluster-relays and --room-size must be 1..=1000"
        );
        anyhow::ensure!(
            args.rooms.iter().all(|n| (1..=1_000_000).contains(n)),
            "--rooms must be 1..=1000000 each"
        );
        return hush_bench::directory::run(
            args.redis.as_deref(),
            args.cluster_relays,
            &args.rooms,
            args.room_size,
            args.json,
        );
    }
    if args.mode.trim().eq_ignore_ascii_case("rekey-live") {
        return rekey_live(&args);
    }
    if args.mode.trim().eq_ignore_ascii_case("rekey") {
        let kems = kems(&args.kem)?;
        return hush_bench::rekey::run(&kems, &args.members, args.json);
    }
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
        rate: match (args.fps, args.max) {
            _ if !args.media_in.is_empty() => Rate::Trace(std::sync::Arc::new(
                hush_bench::Trace::from_inputs(&args.media_in)?,
            )),
            (_, true) => Rate::Max,
            (Some(f), false) => Rate::Fps(f),
            (None, false) => Rate::Fps(DEFAULT_FPS),
        },
        duration: Duration::try_from_secs_f64(args.duration).context("--duration")?,
        suite,
        kem: hush_group::KemId::X25519,
        relays: args.relays,
    };
    workload.validate()?;
    let pin = args
        .regime
        .as_deref()
        .map(str::parse::<hush_bench::Regime>)
        .transpose()?;
    hush_bench::run(&modes(&args.mode)?, &workload, args.json, pin)
}
