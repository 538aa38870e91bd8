//! README's command lines, run as written: the `oauth-templates` examples on the quickstart's
//! app succeed, and the ones for the reader's own app (`my-app`) are accepted by the argument
//! parser (they fail only because `my-app` is not here).

use std::path::Path;
use std::process::Command;

/// README's `oauth-templates …` lines, without their trailing comments.
fn command_lines() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    readme
        .lines()
        .filter(|line| line.starts_with("oauth-templates "))
        .map(|line| line.split("  #").next().unwrap_or(line).trim().to_string())
        .collect()
}

#[test]
fn readme_command_lines_run_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lines = command_lines();
    assert!(lines.len() >= 6, "{lines:?}");
    for line in lines {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let output = Command::new(env!("CARGO_BIN_EXE_oauth-templates"))
            .args(&args)
            .current_dir(&root)
            .env_remove("OAUTH_TEMPLATES_STORE_KEY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        for usage_error in [
            "unexpected argument",
            "invalid value",
            "Usage:",
            "unrecognized subcommand",
        ] {
            assert!(
                !stderr.contains(usage_error),
                "`{line}` is not a valid command line: {stderr}"
            );
        }
        if line.contains("examples/quickstart") {
            assert!(output.status.success(), "`{line}` failed: {stderr}");
        }
    }
}
