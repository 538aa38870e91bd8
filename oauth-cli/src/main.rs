//! `oauth-templates`: check FDK request templates and OAuth configs from the command line.

mod check;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Check, expand, authorize and invoke FDK request templates.
#[derive(Debug, Parser)]
#[command(name = "oauth-templates", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate config/requests.json, config/oauth_config.json, config/iparams.json and manifest.json.
    ///
    /// Prints every error and warning with its file:line:col. Exits with 0 when there are no
    /// errors, 1 when there are, 2 when the files cannot be read.
    Check {
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { dir } => check::run(&dir),
    }
}
