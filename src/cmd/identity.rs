//! `hush identity new|show`: long-term identity files (SPEC §8.1).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use hush_group::Identity;

/// `hush identity` subcommands.
#[derive(Debug, Subcommand)]
pub enum Args {
    /// Create a new identity file (mode 0600) and print its public key as hex.
    New {
        /// Where to write the identity file; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key (hex) of an identity file.
    Show {
        /// The identity file.
        path: PathBuf,
    },
}

/// Runs `hush identity ...`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::New { out } => {
            let identity = Identity::generate(&mut hush_group::os_rng());
            let text = identity.to_file_string();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", out.display()))?;
            super::stdout_line(&identity.public().to_string())?;
            Ok(())
        }
        Args::Show { path } => {
            let text = hush_group::Zeroizing::new(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            );
            let identity = Identity::from_file_str(&text)
                .with_context(|| format!("{} is not a valid identity file", path.display()))?;
            super::stdout_line(&identity.public().to_string())?;
            Ok(())
        }
    }
}
