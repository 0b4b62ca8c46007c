//! `hush demo`: the guided walk through the claims (issue 5). Until the meeting pieces exist it
//! says so plainly.

/// `hush demo` options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs the demo.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.json {
        println!("{{\"claims\":[],\"note\":\"the demo is being built\"}}");
    } else {
        println!("hush demo: the guided walkthrough is being built; this build has no checks yet.");
    }
    Ok(())
}
