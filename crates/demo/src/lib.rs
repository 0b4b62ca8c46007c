//! hush-demo: `hush demo`, every claim of CLAIMS.md, live, in one process, with verdicts
//! computed from what the parties observed (issue 5). Not published: the `hush` binary is its
//! one user (`hush demo`, `hush features`).
//!
//! - [`world`]: the temp dir, the embedded relays, parties with awaitable event logs;
//! - [`scenario`]: the live run that fills in each claim's observations;
//! - [`claims`]: per claim, the observations, a pure `judge`, a sabotage hook;
//! - [`verdict`]: checks and outcomes; [`render`]: terminal and JSON output; [`scan`]: searching
//!   what the relay kept;
//! - [`features`]: the feature table of claim C5 (also printed by `hush features`).
//!
//! `HUSH_DEMO_SABOTAGE=C1[,C5…]` corrupts one observation of each named claim before judging,
//! so a test can see the verdict turn to `fail` end to end.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod claims;
pub mod features;
pub mod render;
pub mod scan;
pub mod scenario;
pub mod verdict;
pub mod world;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use render::Style;

/// The environment variable naming claims to sabotage (comma-separated ids).
pub const SABOTAGE_ENV: &str = "HUSH_DEMO_SABOTAGE";

fn sabotage_list() -> Vec<String> {
    std::env::var(SABOTAGE_ENV)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// How many of the claims held in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Claims whose every check held.
    pub passed: usize,
    /// Claims judged.
    pub total: usize,
}

impl Summary {
    /// Whether every claim held.
    pub fn all_held(&self) -> bool {
        self.passed == self.total
    }
}

/// Why a demo stopped before its verdicts: the `hush` binary maps each to its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// Nobody reads stdout any more (`hush demo | head -1`).
    #[error("stdout was closed")]
    StdoutClosed,
    /// SIGINT (Ctrl-C).
    #[error("interrupted; the demo's temporary files are removed")]
    Interrupted,
    /// SIGTERM.
    #[error("terminated; the demo's temporary files are removed")]
    Terminated,
}

/// Writes `text` to stdout and flushes; an error means stdout is closed.
fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()
}

/// Runs the demo and prints the report (text or JSON); says how many claims held (the `hush`
/// binary exits 1 unless all did).
///
/// A closed stdout, SIGINT or SIGTERM stop the run at once with [`Stopped`]: the scenario is
/// dropped and the runtime shut down before this returns, so the temporary directory (which
/// holds the transport meeting's decrypted dump) is removed on every exit path.
pub fn run(json: bool) -> anyhow::Result<Summary> {
    // Colour only on a terminal, and never with NO_COLOR (or CLICOLOR=0).
    let style = Style::new(!json && std::io::stdout().is_terminal() && console::colors_enabled());
    let started = Instant::now();
    if !json && out(&render::intro(style)).is_err() {
        return Err(Stopped::StdoutClosed.into());
    }
    let closed = Arc::new(tokio::sync::Notify::new());
    let progress: Arc<dyn Fn(&str) + Send + Sync> = if json {
        Arc::new(|_: &str| {})
    } else {
        let closed = closed.clone();
        Arc::new(move |what: &str| {
            if out(&format!("{}\n", render::progress(style, what))).is_err() {
                closed.notify_one();
            }
        })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let evidence = rt.block_on(async {
        // Both handlers exist before the scenario makes its temporary directory, so a signal
        // at any later moment is caught (and the directory removed), never the default death.
        let (mut int, mut term) = signals();
        tokio::select! {
            r = scenario::run(progress) => r,
            () = closed.notified() => Err(Stopped::StdoutClosed.into()),
            () = next(&mut int) => Err(Stopped::Interrupted.into()),
            () = next(&mut term) => Err(Stopped::Terminated.into()),
        }
    });
    // Cancels every task still holding a relay or the temporary directory, so it is gone now.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    world::remove_own_temp_dirs();
    let evidence = evidence?;
    let results = claims::results(evidence, &sabotage_list());
    let text = if json {
        format!("{}\n", render::json(&results))
    } else {
        render::text(style, &results, started.elapsed().as_secs_f64())
    };
    out(&text).map_err(|_| Stopped::StdoutClosed)?;
    Ok(Summary {
        passed: render::passed(&results),
        total: results.len(),
    })
}

#[cfg(unix)]
type Signal = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Signal = Option<()>;

/// SIGINT and SIGTERM handlers, installed now (Unix; elsewhere SIGINT via `ctrl_c`).
fn signals() -> (Signal, Signal) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    }
    #[cfg(not(unix))]
    {
        (Some(()), None)
    }
}

/// Resolves when the signal arrives; never if it has no handler.
async fn next(s: &mut Signal) {
    #[cfg(unix)]
    if let Some(s) = s {
        s.recv().await;
        return;
    }
    #[cfg(not(unix))]
    if s.is_some() {
        let _ = tokio::signal::ctrl_c().await;
        return;
    }
    std::future::pending::<()>().await;
}
