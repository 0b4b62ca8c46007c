//! `hush demo`: every claim of CLAIMS.md, live, in one process, with verdicts computed from
//! what the parties observed (issue 5).
//!
//! - [`world`]: the temp dir, the embedded relays, parties with awaitable event logs;
//! - [`scenario`]: the live run that fills in each claim's observations;
//! - [`claims`]: per claim, the observations, a pure `judge`, a sabotage hook;
//! - [`verdict`]: checks and outcomes; [`render`]: terminal and JSON output; [`scan`]: searching
//!   what the relay kept.
//!
//! `HUSH_DEMO_SABOTAGE=C1[,C5…]` corrupts one observation of each named claim before judging,
//! so a test can see the verdict turn to `fail` end to end.

pub mod claims;
pub mod render;
pub mod scan;
pub mod scenario;
pub mod verdict;
pub mod world;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use crate::cmd::Failure;
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

/// Runs the demo, prints the report (text or JSON) and fails with exit code 1 unless every
/// claim held.
pub fn run(json: bool) -> anyhow::Result<()> {
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
    let passed = render::passed(&results);
    if passed == results.len() {
        Ok(())
    } else {
        Err(anyhow::Error::new(Failure {
            code: 1,
            message: format!(
                "{} of {} claims did not hold",
                results.len() - passed,
                results.len()
            ),
        }))
    }
}
