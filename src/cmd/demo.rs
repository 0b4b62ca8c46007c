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

/// Runs the demo; exits 1 unless every claim held. Stopped early, it removes its temporary
/// files and exits 130 (SIGINT) or 143 (SIGTERM) like a shell; a closed stdout (`hush demo |
/// head -1`) ends it quietly with 0.
pub fn run(args: Args) -> anyhow::Result<()> {
    let summary = match hush_demo::run(args.json) {
        Ok(s) => s,
        Err(e) => {
            return match e.downcast_ref::<hush_demo::Stopped>() {
                Some(hush_demo::Stopped::StdoutClosed) => Ok(()),
                Some(s @ hush_demo::Stopped::Interrupted) => Err(stopped(*s, 130)),
                Some(s @ hush_demo::Stopped::Terminated) => Err(stopped(*s, 143)),
                None => Err(e),
            };
        }
    };
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

fn stopped(why: hush_demo::Stopped, code: u8) -> anyhow::Error {
    Failure {
        code,
        message: format!("demo {why}"),
    }
    .into()
}
