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

/// Runs the demo and prints the report (text or JSON); says how many claims held (the `hush`
/// binary exits 1 unless all did).
pub fn run(json: bool) -> anyhow::Result<Summary> {
    let style = Style::new(!json && std::io::stdout().is_terminal());
    let started = Instant::now();
    if !json {
        print!("{}", render::intro(style));
    }
    let progress: Arc<dyn Fn(&str) + Send + Sync> = if json {
        Arc::new(|_: &str| {})
    } else {
        Arc::new(move |what: &str| println!("{}", render::progress(style, what)))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let evidence = rt.block_on(scenario::run(progress))?;
    let results = claims::results(evidence, &sabotage_list());
    if json {
        println!("{}", render::json(&results));
    } else {
        print!(
            "{}",
            render::text(style, &results, started.elapsed().as_secs_f64())
        );
    }
    Ok(Summary {
        passed: render::passed(&results),
        total: results.len(),
    })
}
