//! `hush`: the command-line front end of the hush end-to-end encrypted meeting transport.
//!
//! Each subcommand lives in its own module under `cmd/`; this file only parses arguments,
//! sets up logging and maps errors to exit codes (see [`cmd::Failure`]).
#![forbid(unsafe_code)]

mod cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cmd::Cli::parse();
    cli.init_tracing();
    match cmd::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) if cmd::is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let code = cmd::exit_code(&err);
            // Errors can carry other parties' text (a relay's refusal or close reason).
            let msg = cmd::error_text(&err);
            eprintln!("hush: error: {}", hush_group::names::Escaped(&msg));
            std::process::ExitCode::from(code)
        }
    }
}
