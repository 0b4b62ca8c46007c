//! `hush features`: which meeting features work under end-to-end encryption in hush, and why
//! (claim C5). The table is `hush_demo::features`, which the demo's C5 check reads too.

use std::io::Write as _;

use hush_demo::features::{to_json, to_text};

/// `hush features` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print `{"features":[{"feature":..,"e2ee":"yes"|"no"|"connector",..,"why":..}]}`.
    #[arg(long)]
    json: bool,
}

/// Prints the table.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", to_json())?;
    } else {
        out.write_all(to_text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
