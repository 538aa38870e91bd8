//! `oauth-templates expand`: the code the macro generates, as a formatted file.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use oauth_codegen::{AppInput, ClientSpec, REQUESTS_PATH, check, format_generated, generate};
use quote::quote;

const EXIT_INVALID: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

/// What `expand` was asked to do.
pub(crate) struct Expand<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) name: &'a str,
    pub(crate) output: Option<&'a Path>,
    pub(crate) check: bool,
}

pub(crate) fn run(args: Expand<'_>) -> ExitCode {
    if syn_ident_is_invalid(args.name) {
        eprintln!("error: `{}` is not a Rust type name", args.name);
        eprintln!("help: pass --name with a name such as `Helpdesk`");
        return ExitCode::from(EXIT_UNREADABLE);
    }
    let input = match AppInput::read_dir(args.dir) {
        Ok(input) if input.requests.is_some() => input,
        Ok(_) => {
            eprintln!("error: no {REQUESTS_PATH} in {}", args.dir.display());
            return ExitCode::from(EXIT_UNREADABLE);
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    let app = check(input);
    if app.diagnostics.has_errors() {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprintln!("{}", app.diagnostics.render(&app.sources, color));
        return ExitCode::from(EXIT_INVALID);
    }
    let spec = ClientSpec {
        name: args.name.to_string(),
        vis: quote!(pub),
        attrs: quote!(),
        runtime: quote!(::oauth_runtime),
        requests_label: REQUESTS_PATH.to_string(),
        tracked_files: Vec::new(),
    };
    let code = match format_generated(
        generate(&app.config, &spec),
        &format!("{} from {}", args.name, REQUESTS_PATH),
    ) {
        Ok(code) => code,
        Err(error) => {
            // The generator's own output failed to parse: a bug in this tool, not in the config.
            eprintln!("error: the generated code does not parse ({error}); please report this");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    match (args.output, args.check) {
        (Some(path), true) => match std::fs::read_to_string(path) {
            Ok(existing) if existing == code => ExitCode::SUCCESS,
            Ok(_) => {
                eprintln!(
                    "error: {} is stale: run `oauth-templates expand -o {}` again",
                    path.display(),
                    path.display()
                );
                ExitCode::from(EXIT_INVALID)
            }
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", path.display());
                ExitCode::from(EXIT_INVALID)
            }
        },
        (None, true) => {
            eprintln!("error: --check needs -o FILE: the file to compare with");
            ExitCode::from(EXIT_UNREADABLE)
        }
        (Some(path), false) => match std::fs::write(path, code) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: cannot write {}: {error}", path.display());
                ExitCode::from(EXIT_UNREADABLE)
            }
        },
        (None, false) => {
            let _ = std::io::stdout().lock().write_all(code.as_bytes());
            ExitCode::SUCCESS
        }
    }
}

fn syn_ident_is_invalid(name: &str) -> bool {
    let mut chars = name.chars();
    !matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
