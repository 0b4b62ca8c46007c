//! `hush frame seal|open|inspect` (issue 2).

use clap::Subcommand;

/// `hush frame` subcommands.
#[derive(Debug, Subcommand)]
pub enum Args {
    /// Placeholder until hush-frame lands.
    Inspect,
}

/// Runs `hush frame ...`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
