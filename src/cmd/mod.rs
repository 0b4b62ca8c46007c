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
mod meeting;
pub mod recording;
mod recv_dir;
pub mod relay;
mod signal;

/// hush: end-to-end encrypted meetings over an untrusted relay.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Seal, open and inspect single SFrame frames (RFC 9605).
    #[command(subcommand)]
    Frame(frame::Args),
    /// A guided, self-checking walk through every claim hush makes.
    Demo(demo::Args),
    /// Which meeting features work under end-to-end encryption, and why (claim C5).
    Features(features::Args),
    /// Throughput, latency, CPU and memory of frames through an embedded relay, per mode.
    Bench(Box<bench::Args>),
    /// Create or show a long-term identity (Ed25519) file.
    #[command(subcommand)]
    Identity(identity::Args),
    /// Join a meeting through a relay (end-to-end encrypted unless the relay issues the keys).
    Join(join::Args),
    /// Bridge a meeting to a legacy non-E2EE sink as a visible, decrypting connector.
    Connector(connector::Args),
    /// Read a local recording made with `hush join --record` (encrypted at rest; claim C8).
    #[command(subcommand)]
    Recording(recording::Args),
    /// Run the untrusted relay: rooms and opaque frame forwarding over QUIC.
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

/// A failure that carries its own process exit code (e.g. 1 for an authentication failure).
/// Any other error exits with code 2.
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

/// Exit code for an error returned by a subcommand: a [`Failure`]'s own code, otherwise 2.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Failure>().map_or(2, |f| f.code)
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

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings only), so stdout stays a clean
/// contract for scripts.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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

    /// A cause is printed once, whether its error shows it in its own text or not.
    #[test]
    fn error_text_prints_each_cause_once() {
        assert_eq!(super::error_text(&err(true)), "ctx: outer: inner");
        let hidden = err(false);
        assert_eq!(super::error_text(&hidden), format!("{hidden:#}"));
        assert_eq!(super::error_text(&hidden), "ctx: outer: inner");
    }
}
