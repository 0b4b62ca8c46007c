//! Subcommands of the `hush` binary. One module per subcommand; each exposes `Args` (clap) and
//! `run(Args) -> anyhow::Result<()>`.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod connector;
pub mod demo;
pub mod features;
pub mod frame;
pub mod identity;
pub mod join;
mod media_in;
mod meeting;
mod paths;
pub mod recording;
mod recv_dir;
pub mod relay;
mod signal;

/// hush: end-to-end encrypted meetings over an untrusted relay.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: `text` for people, `json` (one object per line) for machines.
    /// Levels come from RUST_LOG (default: info for `hush relay`, warnings for the rest).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text,
          env = "HUSH_LOG_FORMAT")]
    log_format: LogFormat,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

impl Cli {
    /// Starts logging for this command line (see [`init_tracing`]).
    pub fn init_tracing(&self) {
        let default = match self.command {
            Command::Relay(_) => "info",
            _ => "warn",
        };
        init_tracing(self.log_format, default);
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Seal, open and inspect single SFrame frames (RFC 9605).
    #[command(subcommand, after_help = EXIT_CODES)]
    Frame(frame::Args),
    /// A guided, self-checking walk through every claim hush makes.
    #[command(after_help = DEMO_EXIT_CODES)]
    Demo(demo::Args),
    /// Which meeting features work under end-to-end encryption, and why (claim C5).
    #[command(after_help = EXIT_CODES)]
    Features(features::Args),
    /// Throughput, latency, CPU and memory of frames through an embedded relay, per mode.
    #[command(after_help = EXIT_CODES)]
    Bench(Box<bench::Args>),
    /// Create or show a long-term identity (Ed25519) file.
    #[command(subcommand, after_help = EXIT_CODES)]
    Identity(identity::Args),
    /// Join a meeting through a relay (end-to-end encrypted unless the relay issues the keys).
    #[command(after_help = EXIT_CODES)]
    Join(join::Args),
    /// Bridge a meeting to a legacy non-E2EE sink as a visible, decrypting connector.
    #[command(after_help = EXIT_CODES)]
    Connector(connector::Args),
    /// Read a local recording made with `hush join --record` (encrypted at rest; claim C8).
    #[command(subcommand, after_help = EXIT_CODES)]
    Recording(recording::Args),
    /// Run the untrusted relay: rooms and opaque frame forwarding over QUIC.
    #[command(after_help = EXIT_CODES)]
    Relay(relay::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Frame(args) => frame::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Features(args) => features::run(args),
        Command::Bench(args) => bench::run(*args),
        Command::Identity(args) => identity::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Join(args) => join::run(args),
        Command::Connector(args) => connector::run(args),
        Command::Recording(args) => recording::run(args),
    }
}

/// `n` and the noun in its number: `count(1, "entry", "entries")` is `1 entry`, 0 or 2 are
/// `0 entries`, `2 entries`.
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The exit codes of every subcommand (one scheme, printed by `--help`).
pub mod exit {
    /// Authentication or integrity failure (a relay certificate that does not match the pin, a
    /// recording or frame that does not verify), or a
    /// meeting that ended for a reason of its own (removed, the host gone).
    pub const FAILURE: u8 = 1;
    /// Usage: a bad flag or value, a path that cannot be used, an unreadable input.
    pub const USAGE: u8 = 2;
    /// Refused by policy: a relay that issues the keys, a relay outside the allowed regions,
    /// denied by the host, the room already has a host.
    pub const REFUSED: u8 = 3;
    /// Network: the relay cannot be reached, or was lost and reconnecting failed.
    pub const NETWORK: u8 = 4;
}

/// The exit-code table for `--help`.
pub const EXIT_CODES: &str = "Exit codes: 0 success, 1 authentication/integrity failure (a relay \
certificate that does not match the pin, a recording that does not verify) or a meeting ended (removed, host gone), 2 usage or input error, 3 refused by policy (transport \
relay, region, denied by the host, room already hosted), 4 network (relay unreachable or lost). \
Interrupted (SIGINT/SIGTERM) meetings leave cleanly and exit 0.";

/// `hush demo`'s exit codes.
pub const DEMO_EXIT_CODES: &str = "Exit codes: 0 every claim held, 1 a claim did not hold, 2 the \
demo could not run, 130 interrupted (SIGINT), 143 terminated (SIGTERM); stopped early, the demo \
removes its temporary files. A closed stdout (`hush demo | head -1`) ends it quietly with 0.";

/// True if `err` is a write to a closed stdout (`hush … | head -1`): not a failure of hush,
/// so the process ends quietly with 0 instead of an error line (and never a panic).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes one line to stdout; an error (a closed stdout) is returned, never a panic as with
/// `println!`.
pub(crate) fn stdout_line(line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}")?;
    o.flush()
}

/// A failure that carries its own process exit code (see [`exit`]). Other errors are mapped by
/// [`exit_code`].
#[derive(Debug)]
pub struct Failure {
    /// Exit code to return.
    pub code: u8,
    /// One-line message.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Exit code for an error returned by a subcommand: a [`Failure`]'s own code; a refusal by
/// policy 3 and a network failure 4 when the error says so; otherwise 2 (see [`exit`]).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    use hush_client::MeetingError as M;
    use hush_client::net::NetError as N;
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.code;
    }
    let net = |n: &N| match n {
        N::RegionRefused { .. } => Some(exit::REFUSED),
        N::PinMismatch { .. } => Some(exit::FAILURE),
        N::Connect(_) | N::Connection(_) | N::Timeout | N::Closed => Some(exit::NETWORK),
        _ => None,
    };
    for cause in err.chain() {
        if let Some(hush_relay::RelayError::DirectoryUnreachable(_)) = cause.downcast_ref() {
            return exit::NETWORK;
        }
        let code = if let Some(m) = cause.downcast_ref::<M>() {
            match m {
                M::TransportRefused { .. } | M::Downgrade { .. } => Some(exit::REFUSED),
                M::Net(n) => net(n),
                M::Timeout | M::Closed => Some(exit::NETWORK),
                _ => None,
            }
        } else {
            cause.downcast_ref::<N>().and_then(net)
        };
        if let Some(c) = code {
            return c;
        }
    }
    exit::USAGE
}

/// The text printed for an error: as anyhow's `{:#}` (the message, then each cause after `: `),
/// but without a cause whose text already ends the line. Library errors such as hush-client's
/// `NetError` show their cause in their own message and also return it as `source()`; printed
/// naively, the cause would appear twice.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// Logs go to stderr, filtered by `RUST_LOG` (else `default`), so stdout stays a clean contract
/// for scripts. Text lines carry no ANSI colour when stderr is not a terminal or `NO_COLOR` is
/// set.
pub fn init_tracing(format: LogFormat, default: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && console::colors_enabled_stderr();
            builder.with_ansi(colour).try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    /// An error with a cause, which its text shows (`outer: inner`) or not (`outer`).
    #[derive(Debug)]
    struct Outer {
        shows_cause: bool,
        cause: std::io::Error,
    }

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if self.shows_cause {
                write!(f, "outer: {}", self.cause)
            } else {
                f.write_str("outer")
            }
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.cause)
        }
    }

    fn err(shows_cause: bool) -> anyhow::Error {
        let cause = std::io::Error::other("inner");
        anyhow::Error::new(Outer { shows_cause, cause }).context("ctx")
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(super::count(1u64, "entry", "entries"), "1 entry");
        assert_eq!(super::count(0u64, "entry", "entries"), "0 entries");
        assert_eq!(super::count(2u64, "byte", "bytes"), "2 bytes");
    }

    /// A cause is printed once, whether its error shows it in its own text or not.
    #[test]
    fn error_text_prints_each_cause_once() {
        assert_eq!(super::error_text(&err(true)), "ctx: outer: inner");
        let hidden = err(false);
        assert_eq!(super::error_text(&hidden), format!("{hidden:#}"));
        assert_eq!(super::error_text(&hidden), "ctx: outer: inner");
    }
}
