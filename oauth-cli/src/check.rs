//! `oauth-templates check`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use oauth_codegen::{AppInput, check};

/// Exit code when the config has errors.
const EXIT_INVALID: u8 = 1;
/// Exit code when the files cannot be read.
const EXIT_UNREADABLE: u8 = 2;

pub(crate) fn run(dir: &Path) -> ExitCode {
    let input = match AppInput::read_dir(dir) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    if input.is_empty() {
        eprintln!(
            "error: no config/requests.json or config/oauth_config.json in {}",
            dir.display()
        );
        eprintln!("help: run the command from the app's folder, or pass it with --dir");
        return ExitCode::from(EXIT_UNREADABLE);
    }
    let app = check(input);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut stderr = std::io::stderr().lock();
    if !app.diagnostics.is_empty() {
        let _ = writeln!(stderr, "{}", app.diagnostics.render(&app.sources, color));
    }
    if app.diagnostics.has_errors() {
        return ExitCode::from(EXIT_INVALID);
    }
    let templates = app.config.templates.len();
    let integrations = app
        .config
        .oauth
        .as_ref()
        .map_or(0, |o| o.integrations.len());
    println!(
        "ok: {templates} template{}, {integrations} OAuth integration{}",
        if templates == 1 { "" } else { "s" },
        if integrations == 1 { "" } else { "s" }
    );
    ExitCode::SUCCESS
}
