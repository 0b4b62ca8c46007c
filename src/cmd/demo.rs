//! `hush demo`: the guided, self-checking walk through every claim (issue 5); the work is in
//! the `hush-demo` crate.

use super::Failure;

/// `hush demo` options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the result as one JSON object (`{"claims":[..],"passed":N,"failed":M}`) and nothing
    /// else on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the demo; exits 1 unless every claim held.
pub fn run(args: Args) -> anyhow::Result<()> {
    let summary = hush_demo::run(args.json)?;
    if summary.all_held() {
        return Ok(());
    }
    Err(Failure {
        code: 1,
        message: format!(
            "{} of {} claims did not hold",
            summary.total - summary.passed,
            summary.total
        ),
    }
    .into())
}
