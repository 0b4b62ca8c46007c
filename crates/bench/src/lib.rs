//! hush-bench: `hush bench`, frame throughput, latency, CPU and memory through an embedded relay
//! on loopback, mode after mode in one process (issue 6; BENCHMARKS.md explains every number).
//! Not published: the `hush` binary parses the command line and calls [`run`]; the allocation
//! test (`tests/bench_alloc.rs`) uses [`baseline`].
//!
//! - [`harness`]: one run: runtimes, server, participants, senders, receivers, measurement.
//! - [`baseline`]: the servers the hush relay is compared with (`quinn-min`; `udp-floor` has
//!   no server at all).
//! - [`codec`]: what a frame carries and how it is sealed/opened.
//! - [`stats`], [`sys`]: latency histogram and clock; per-thread CPU and peak RSS.
//! - [`report`]: the `--json` object, the table and the ratios.
//! - [`rekey`]: `--mode rekey`, the cost of one epoch change at N members (group layer only).
//! - [`directory`]: `--mode directory`, the cluster directory's cost on a real `redis-server`.
//! - [`sink`]: the legacy UDP endpoint of the `connector` mode.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod baseline;
pub mod codec;
pub mod directory;
pub mod harness;
pub mod rekey;
pub mod report;
pub mod sink;
pub mod stats;
pub mod sys;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use hush_frame::CipherSuite;

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Loopback UDP, sender straight to each receiver socket: this machine's packet floor.
    UdpFloor,
    /// A minimal quinn forwarder (no hush-wire, no rooms), plain frames.
    QuinnMin,
    /// The hush relay, frames not sealed.
    Plain,
    /// The hush relay, frames sealed with hush-frame directly under pre-shared keys (the
    /// crypto of e2ee without the group layer).
    Sframe,
    /// The hush relay in transport mode: keys issued by the relay's key service (2020 model).
    Transport,
    /// The hush relay, `hush_client::Meeting` clients: keys made by the host, sealed end to end
    /// (sender authentication off: what group-only SFrame costs).
    E2ee,
    /// e2ee with sender authentication (SPEC §14, the clients' default): data signed, media
    /// vouched for in signed batches.
    E2eeAuth,
    /// e2ee plus a connector that decrypts and re-emits to a UDP sink.
    Connector,
}

impl Mode {
    /// Every mode, in the order `all` runs them.
    pub const ALL: [Mode; 8] = [
        Mode::UdpFloor,
        Mode::QuinnMin,
        Mode::Plain,
        Mode::Sframe,
        Mode::Transport,
        Mode::E2ee,
        Mode::E2eeAuth,
        Mode::Connector,
    ];

    /// The name used on the command line and in the JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::UdpFloor => "udp-floor",
            Mode::QuinnMin => "quinn-min",
            Mode::Plain => "plain",
            Mode::Sframe => "sframe",
            Mode::Transport => "transport",
            Mode::E2ee => "e2ee",
            Mode::E2eeAuth => "e2ee-auth",
            Mode::Connector => "connector",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                anyhow::anyhow!("unknown mode {s:?} (expected {} or all)", names.join(", "))
            })
    }
}

/// How fast each sender sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// This many frames per second per sender, paced by a timer.
    Fps(f64),
    /// As fast as the transport accepts (QUIC flow/congestion control is the pacer).
    Max,
    /// Real media: each sender sends the trace's frames, with their sizes, at their times,
    /// over and over (`hush bench --media-in`).
    Trace(std::sync::Arc<Trace>),
}

/// Where a run landed. At `--max` the same workload lands in one of two regimes depending on
/// what else the machine runs: light (senders never fill their congestion window; p50 well
/// under a millisecond) or saturated (queues full; p50 of milliseconds, several datagrams per
/// send call). Paced and trace runs are `Paced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// A paced or trace workload.
    Paced,
    /// `--max`, p50 under [`Regime::SATURATED_P50_US`].
    Light,
    /// `--max`, p50 at or over [`Regime::SATURATED_P50_US`].
    Saturated,
}

impl Regime {
    /// The p50 latency (µs) from which a `--max` run counts as saturated: between the light
    /// regime's 65-100 µs and the saturated one's 4-12 ms seen here.
    pub const SATURATED_P50_US: f64 = 1000.0;

    /// The name in `--json` (`regime`) and `--regime`.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Paced => "paced",
            Regime::Light => "light",
            Regime::Saturated => "saturated",
        }
    }
}

impl std::str::FromStr for Regime {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "light" => Ok(Regime::Light),
            "saturated" => Ok(Regime::Saturated),
            other => anyhow::bail!("unknown regime {other:?} (expected light or saturated)"),
        }
    }
}

/// How many times `--regime` runs a mode to land in the asked regime before giving up.
pub const REGIME_ATTEMPTS: u32 = 5;

/// The frames of real media tracks merged in time order: when each is sent (from the start of
/// a cycle) and its payload size (track header and codec frame, as `hush join --media-in`
/// sends it). A cycle lasts `period`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// (send time within the cycle, payload bytes), sorted by time.
    pub frames: Vec<(Duration, usize)>,
    /// Length of one cycle.
    pub period: Duration,
    /// What it was made from (for the report line).
    pub label: String,
}

impl Trace {
    /// The trace of `hush join --media-in` inputs: every frame's due time and payload size.
    ///
    /// # Errors
    /// An input that does not open or read (named).
    pub fn from_inputs(paths: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut frames = Vec::new();
        let mut labels = Vec::new();
        let mut period = Duration::ZERO;
        for (i, p) in paths.iter().enumerate() {
            let file =
                std::fs::File::open(p).with_context(|| format!("--media-in {}", p.display()))?;
            let source = hush_media::Source::open(Box::new(std::io::BufReader::new(file)))
                .with_context(|| format!("--media-in {}", p.display()))?;
            labels.push(source.codec().name());
            let mut t = hush_media::TrackSender::new(source, i as u8, None);
            let mut last = Duration::ZERO;
            let mut n = 0u64;
            while let Some(f) = t.next_frame()? {
                last = f.due;
                n += 1;
                frames.push((f.due, f.payload.len()));
            }
            // One more frame interval after the last frame closes the cycle.
            let step = if n > 1 {
                last / (n - 1) as u32
            } else {
                Duration::from_millis(20)
            };
            period = period.max(last + step);
        }
        anyhow::ensure!(!frames.is_empty(), "--media-in: no frames");
        frames.sort_by_key(|(at, _)| *at);
        Ok(Trace {
            frames,
            period,
            label: labels.join("+"),
        })
    }

    /// Frames per second of the trace.
    pub fn fps(&self) -> f64 {
        self.frames.len() as f64 / self.period.as_secs_f64().max(1e-9)
    }

    /// Payload bits per second of the trace.
    pub fn bitrate(&self) -> f64 {
        let bytes: usize = self.frames.iter().map(|(_, s)| s).sum();
        bytes as f64 * 8.0 / self.period.as_secs_f64().max(1e-9)
    }
}

/// The shape of one run.
///
/// Participants: a participant is one QUIC connection. With `senders == receivers == P` the
/// room is a meeting of P participants who all send and all receive, and each frame reaches the
/// P−1 others (the audio/video workloads). Otherwise senders and receivers are distinct
/// participants (M send-only, N receive-only) and each frame reaches all N receivers (the
/// 1→4 fan-out).
#[derive(Debug, Clone)]
pub struct Workload {
    /// Sending participants (M).
    pub senders: usize,
    /// Receiving participants (N).
    pub receivers: usize,
    /// Payload bytes per frame (before any SFrame header or tag).
    pub frame_size: usize,
    /// Pacing.
    pub rate: Rate,
    /// How long senders send.
    pub duration: Duration,
    /// Cipher suite of the sealed modes.
    pub suite: CipherSuite,
    /// The meeting's KEM (the host's choice; members follow the roster).
    pub kem: hush_group::KemId,
    /// Relays carrying the room (1, or 2 linked in a cascade, SPEC §15): with 2, senders are
    /// on the first and receivers on the second (every delivery crosses the link once); in a
    /// meeting, participants alternate between them.
    pub relays: usize,
}

impl Workload {
    /// The relay (0 or 1) participant `i` connects to.
    pub fn relay_of(&self, i: usize) -> usize {
        match (self.relays, self.meeting()) {
            (1, _) => 0,
            (_, true) => i % 2,
            (_, false) => usize::from(!self.sends(i)),
        }
    }

    /// Whether every participant both sends and receives: equal counts of two or more (one
    /// sender and one receiver are two participants, a meeting of one would have no receiver).
    pub fn meeting(&self) -> bool {
        self.senders == self.receivers && self.senders >= 2
    }

    /// Payload bytes of the average frame: `frame_size`, or a media trace's mean.
    pub fn mean_frame_size(&self) -> f64 {
        match &self.rate {
            Rate::Trace(t) => {
                let bytes: usize = t.frames.iter().map(|(_, s)| s).sum();
                bytes as f64 / t.frames.len().max(1) as f64
            }
            _ => self.frame_size as f64,
        }
    }

    /// Number of connections.
    pub fn participants(&self) -> usize {
        if self.meeting() {
            self.senders
        } else {
            self.senders + self.receivers
        }
    }

    /// How many receivers each frame reaches.
    pub fn fanout(&self) -> usize {
        if self.meeting() {
            self.senders.saturating_sub(1)
        } else {
            self.receivers
        }
    }

    /// Whether participant `i` sends.
    pub fn sends(&self, i: usize) -> bool {
        i < self.senders
    }

    /// Whether participant `i` receives.
    pub fn receives(&self, i: usize) -> bool {
        self.meeting() || i >= self.senders
    }

    /// Checks the shape makes sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.senders >= 1, "--senders must be at least 1");
        anyhow::ensure!((1..=2).contains(&self.relays), "--relays must be 1 or 2");
        anyhow::ensure!(
            self.fanout() >= 1,
            "--receivers 0: nobody would receive; use --receivers 1 or more (equal to --senders, \
             2 or more, for a meeting where everyone sends and receives)"
        );
        anyhow::ensure!(
            self.participants() <= 200,
            "at most 200 participants per run"
        );
        anyhow::ensure!(
            (codec::STAMP_LEN..=hush_wire::MAX_FRAME_SIZE - 64).contains(&self.frame_size),
            "--frame-size must be {}..={} bytes",
            codec::STAMP_LEN,
            hush_wire::MAX_FRAME_SIZE - 64
        );
        if let Rate::Fps(f) = self.rate {
            anyhow::ensure!(f > 0.0 && f <= 100_000.0, "--fps must be in (0, 100000]");
        }
        anyhow::ensure!(
            self.duration >= Duration::from_millis(100)
                && self.duration <= Duration::from_secs(600),
            "--duration must be 0.1..=600 seconds"
        );
        Ok(())
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Mode.
    pub mode: Mode,
    /// The workload.
    pub workload: Workload,
    /// Frames the senders handed to the transport.
    pub frames_sent: u64,
    /// Frames opened successfully, summed over receivers.
    pub frames_delivered: u64,
    /// Frames that arrived but failed to open (must be 0).
    pub frames_bad: u64,
    /// Seconds from the first send to the end of the drain.
    pub elapsed_s: f64,
    /// Latency samples recorded (= frames delivered).
    pub latency_samples: u64,
    /// Latency quantiles in µs: p50, p99, p999.
    pub latency_us: [f64; 3],
    /// CPU seconds of the server (relay / forwarder) threads over the run.
    pub relay_cpu_s: f64,
    /// CPU seconds of the client threads over the run.
    pub clients_cpu_s: f64,
    /// Peak RSS of the process during the run, MiB.
    pub peak_rss_mb: f64,
    /// Frames the server counted as dropped (slow receiver), if it counts.
    pub server_drops: u64,
    /// The connector and its sink (`connector` mode only).
    pub connector: Option<ConnectorResult>,
    /// UDP send system calls of the server (relay or forwarder) over the run, handshakes and
    /// acknowledgements included (0 without a QUIC server).
    pub server_send_calls: u64,
    /// The datagrams those calls carried.
    pub server_datagrams: u64,
    /// Their UDP payload bytes: what the server put on the wire, sender authentication's
    /// vouches included.
    pub server_bytes: u64,
    /// Runs of this mode it took to land in the `--regime` asked for (1 without it).
    pub attempts: u32,
    /// `e2ee-auth` only: what signing and verifying every frame with Ed25519 (Orange Meets'
    /// scheme) would cost here, measured right after the run on this workload's frame size.
    pub ed25519: Option<Ed25519Cost>,
}

/// The cost of one Ed25519 signature and verification per frame (microseconds each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ed25519Cost {
    /// Signing one frame.
    pub sign_us: f64,
    /// Verifying one frame.
    pub verify_us: f64,
}

impl Ed25519Cost {
    /// Times `rounds` signatures and verifications of a `size`-byte frame (the data-message
    /// signature of SPEC §14.3, the same primitive a per-frame scheme would use).
    pub fn measure(size: usize, rounds: u32) -> Ed25519Cost {
        let id = hush_group::Identity::from_secret_bytes(&[7; 32]);
        let pk = id.public();
        let body = vec![0x5a; size];
        let t = std::time::Instant::now();
        let mut sig = [0u8; 64];
        for i in 0..rounds {
            sig = id.sign_data("bench", 1, u64::from(i), &body);
        }
        let sign = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let mut ok = 0u32;
        for _ in 0..rounds {
            ok += u32::from(pk.verify_data("bench", 1, u64::from(rounds - 1), &body, &sig));
        }
        let verify = t.elapsed().as_secs_f64();
        if ok != rounds {
            tracing::warn!(ok, rounds, "an Ed25519 signature did not verify");
        }
        let per = 1e6 / f64::from(rounds.max(1));
        Ed25519Cost {
            sign_us: sign * per,
            verify_us: verify * per,
        }
    }
}

/// What the connector of a `connector` run did, over the same window as the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConnectorResult {
    /// Frames the connector decrypted and re-emitted (each sent frame once: the connector is
    /// one more member of the room, not one of the N receivers).
    pub frames_bridged: u64,
    /// Media frames its meeting dropped because the bridge did not read them in time
    /// (`hush_client::Stats::dropped_events`, network reader and meeting driver queues).
    pub frames_dropped: u64,
    /// Datagrams it sent to the sink (SPEC §13.3: one per frame up to 1184 payload bytes).
    pub datagrams_sent: u64,
    /// Datagrams (or frames) it could not send.
    pub udp_errors: u64,
    /// Datagrams the sink received.
    pub sink_datagrams: u64,
    /// Bytes the sink received (framing headers included).
    pub sink_bytes: u64,
    /// CPU seconds of the connector's thread.
    pub cpu_s: f64,
}

impl RunResult {
    /// The regime this run landed in.
    pub fn regime(&self) -> Regime {
        match self.workload.rate {
            Rate::Max if self.latency_us[0] >= Regime::SATURATED_P50_US => Regime::Saturated,
            Rate::Max => Regime::Light,
            _ => Regime::Paced,
        }
    }

    /// UDP payload bytes the server sent per delivered frame (`None` without a counted server).
    pub fn wire_bytes_per_frame(&self) -> Option<f64> {
        (self.server_bytes > 0 && self.frames_delivered > 0)
            .then(|| self.server_bytes as f64 / self.frames_delivered as f64)
    }

    /// The server's send system calls per delivered frame, and datagrams per call (`None`
    /// without a counted server).
    pub fn send_calls(&self) -> Option<(f64, f64)> {
        if self.server_send_calls == 0 || self.frames_delivered == 0 {
            return None;
        }
        let calls = self.server_send_calls as f64;
        Some((
            calls / self.frames_delivered as f64,
            self.server_datagrams as f64 / calls,
        ))
    }

    /// Deliveries expected if nothing were lost.
    pub fn expected(&self) -> u64 {
        self.frames_sent * self.workload.fanout() as u64
    }

    /// Fraction of expected deliveries that did not happen.
    pub fn loss(&self) -> f64 {
        let e = self.expected();
        if e == 0 {
            return 0.0;
        }
        (1.0 - self.frames_delivered as f64 / e as f64).max(0.0)
    }

    /// Delivered frames per second of sending time.
    pub fn frames_per_s(&self) -> f64 {
        self.frames_delivered as f64 / self.workload.duration.as_secs_f64()
    }

    /// Payload bytes delivered per second of sending time, in MB (10^6 bytes).
    pub fn goodput_mb_s(&self) -> f64 {
        self.frames_per_s() * self.workload.mean_frame_size() / 1e6
    }

    /// CPU seconds per 1000 delivered frames: (relay, clients).
    pub fn cpu_per_1000(&self) -> (f64, f64) {
        if self.frames_delivered == 0 {
            return (0.0, 0.0);
        }
        let k = self.frames_delivered as f64 / 1000.0;
        (self.relay_cpu_s / k, self.clients_cpu_s / k)
    }
}

/// Runs `hush bench`: each of `modes` in turn on `workload`, then prints the results, as one JSON
/// object `{"runs":[...]}` with `json` and nothing else, otherwise a progress bar per mode, a
/// line describing the workload and the table.
///
/// With `pin` (a `--max` workload), each mode runs until it lands in that regime, at most
/// [`REGIME_ATTEMPTS`] times; never landing there is an error naming where it landed.
pub fn run(
    modes: &[Mode],
    workload: &Workload,
    json: bool,
    pin: Option<Regime>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        pin.is_none() || workload.rate == Rate::Max,
        "--regime needs --max (paced runs have no regime to pin)"
    );
    let mut runs = Vec::new();
    // With two relays every mode runs on one relay and then on two, side by side.
    let shapes: Vec<Workload> = (1..=workload.relays)
        .map(|n| Workload {
            relays: n,
            ..workload.clone()
        })
        .collect();
    if workload.relays > 1
        && let Some(m) = modes
            .iter()
            .find(|m| matches!(m, Mode::UdpFloor | Mode::QuinnMin | Mode::Transport))
    {
        anyhow::bail!(
            "--relays 2 needs modes that run through end-to-end relays in a cascade, not {m} \
             (a transport-mode relay, holding keys, never joins a cascade)"
        );
    }
    for &mode in modes {
        for w in &shapes {
            let workload = w;
            let mut attempts = 0;
            let r = loop {
                attempts += 1;
                let mut r = run_one(mode, workload, json)?;
                r.attempts = attempts;
                match pin {
                    Some(want) if r.regime() != want => {
                        anyhow::ensure!(
                            attempts < REGIME_ATTEMPTS,
                            "mode {mode}: {attempts} runs landed in the {} regime, none in the {} one \
                         (p50 {:.0} µs last)",
                            r.regime().name(),
                            want.name(),
                            r.latency_us[0]
                        );
                    }
                    _ => break r,
                }
            };
            runs.push(r);
        }
    }
    print(&runs, workload, json)
}

fn run_one(mode: Mode, workload: &Workload, json: bool) -> anyhow::Result<RunResult> {
    {
        let r = if json {
            harness::run(mode, workload, &mut |_| {})
        } else {
            let bar = indicatif::ProgressBar::new(1000);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix:>10} [{bar:40}] {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(report::label(mode, workload.relays));
            let r = harness::run(mode, workload, &mut |f| {
                bar.set_position((f.clamp(0.0, 1.0) * 1000.0) as u64);
            });
            bar.finish_and_clear();
            r
        };
        r.with_context(|| format!("mode {mode}"))
    }
}

fn print(runs: &[RunResult], workload: &Workload, json: bool) -> anyhow::Result<()> {
    // A closed stdout is an error returned to the caller (the `hush` binary ends quietly), never
    // a `println!` panic.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", report::json(runs))?;
    } else {
        let w = workload;
        writeln!(
            out,
            "hush bench: {} participant(s), {} sending, fan-out 1→{}, {:.0} B frames, {}, {:.1} s per mode, suite {}",
            w.participants(),
            w.senders,
            w.fanout(),
            w.mean_frame_size(),
            match &w.rate {
                Rate::Fps(f) => format!("{f} fps per sender"),
                Rate::Max => "max rate".to_owned(),
                Rate::Trace(t) => format!(
                    "media trace {} ({:.0} fps, {:.2} Mbit/s per sender)",
                    t.label,
                    t.fps(),
                    t.bitrate() / 1e6
                ),
            },
            w.duration.as_secs_f64(),
            w.suite.name()
        )?;
        write!(out, "{}", report::table(runs))?;
    }
    out.flush()?;
    Ok(())
}
