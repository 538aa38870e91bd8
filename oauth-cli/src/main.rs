//! `oauth-templates`: check FDK request templates and OAuth configs, and expand them into the
//! Rust client the macro generates.

mod check;
mod expand;

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
    /// Print (or write) the Rust code `#[oauth_runtime::templates]` generates for the app.
    ///
    /// For checking the code in, or generating it from build.rs. With --check, compares with
    /// the file given by -o and exits with 1 when it is stale.
    Expand {
        /// The app's folder (the one holding `config/`).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The client struct's name.
        #[arg(long, default_value = "Client")]
        name: String,
        /// Write the code to FILE instead of standard output.
        #[arg(short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Do not write: exit with 1 if FILE differs from what would be written.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { dir } => check::run(&dir),
        Command::Expand {
            dir,
            name,
            output,
            check,
        } => expand::run(expand::Expand {
            dir: &dir,
            name: &name,
            output: output.as_deref(),
            check,
        }),
    }
}
