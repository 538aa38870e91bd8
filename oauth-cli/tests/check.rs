//! `oauth-templates check` as a user runs it: output, exit codes, no colours when piped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh app folder under the target directory, removed and recreated per test.
fn app_dir(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_check(dir: &Path) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_oauth-templates"))
        .args(["check", "--dir"])
        .arg(dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn a_valid_app_exits_zero_and_says_what_it_checked() {
    let dir = app_dir(
        "valid",
        &[(
            "config/requests.json",
            br#"{ "getTicket": { "schema": { "method": "GET", "host": "<%= iparam.domain %>.freshdesk.com", "path": "/api/v2/tickets/<%= context.id %>" } } }"#,
        )],
    );
    let (code, stdout, stderr) = run_check(&dir);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (0, "ok: 1 template, 0 OAuth integrations\n", "")
    );
}

#[test]
fn errors_are_printed_like_rustc_without_colours_when_piped() {
    let requests = "{\n  \"getTicket\": {\n    \"schema\": { \"method\": \"get\", \"host\": \"x.com\",\n      \"headers\": { \"X\": \"<%= iparams.key %>\" } }\n  }\n}\n";
    let dir = app_dir("invalid", &[("config/requests.json", requests.as_bytes())]);
    let (code, stdout, stderr) = run_check(&dir);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    let expected = r#"error: unsupported method `get`
 --> config/requests.json:3:27
  |
3 |     "schema": { "method": "get", "host": "x.com",
  |                           ^^^^^
  |
help: methods are written in upper case: `GET`

error: unknown placeholder `iparams.key`
 --> config/requests.json:4:30
  |
4 |       "headers": { "X": "<%= iparams.key %>" } }
  |                              ^^^^^^^
  |
help: did you mean `iparam.key`?

error: the configuration has 2 errors
"#;
    assert_eq!(stderr, expected);
    assert!(!stderr.contains('\u{1b}'), "colour codes in piped output");
}

#[test]
fn warnings_alone_exit_zero() {
    let dir = app_dir(
        "warning",
        &[(
            "config/requests.json",
            br#"{ "a": { "schema": { "method": "GET", "protocol": "http", "host": "example.com" } } }"#,
        )],
    );
    let (code, stdout, stderr) = run_check(&dir);
    assert_eq!(code, 0);
    assert_eq!(stdout, "ok: 1 template, 0 OAuth integrations\n");
    assert!(
        stderr.starts_with("warning: plain `http` to `example.com`\n --> config/requests.json:1:"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("warning: the configuration has 1 warning\n"),
        "{stderr}"
    );
}

#[test]
fn errors_in_several_files_are_all_reported() {
    let dir = app_dir(
        "several",
        &[
            (
                "config/requests.json",
                br#"{ "a": { "schema": { "method": "GET", "host": "x.com", "headers": { "Authorization": "Bearer <%= access_token %>" } }, "options": { "oauth": "githb" } } }"#,
            ),
            (
                "config/oauth_config.json",
                br#"{ "integrations": { "github": { "display_name": "GitHub", "client_id": "a", "client_secret": "b", "authorize_url": "https://github.com/login/oauth/authorize", "token_url": "https://github.com/login/oauth/access_token", "token_type": "acount" } } }"#,
            ),
            ("manifest.json", br#"{ "modules": { "common": { "requests": { "a": {}, "b": {} } } } }"#),
        ],
    );
    let (code, _, stderr) = run_check(&dir);
    assert_eq!(code, 1);
    let headlines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with(" -->"))
        .collect();
    assert_eq!(
        headlines,
        [
            "error: unknown integration `githb`",
            " --> config/requests.json:1:142",
            // The warning about the client secret written in the file.
            " --> config/oauth_config.json:1:95",
            "error: `token_type` must be \"account\" or \"agent\", found a string",
            " --> config/oauth_config.json:1:234",
            "error: template `b` is declared in the manifest but not defined",
            " --> manifest.json:1:51",
            "error: the configuration has 3 errors and 1 warning",
        ]
    );
    assert!(stderr.contains("help: did you mean `github`?"));
}

#[test]
fn a_folder_without_config_exits_two() {
    let dir = app_dir("empty", &[]);
    let (code, stdout, stderr) = run_check(&dir);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("error: no config/requests.json or config/oauth_config.json in "),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_file_exits_two() {
    let dir = app_dir(
        "not-utf8",
        &[("config/requests.json", b"{\"a\": \"\xff\xfe\"}")],
    );
    let (code, _, stderr) = run_check(&dir);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("requests.json: it is not UTF-8 text"),
        "{stderr}"
    );

    let dir = app_dir("is-a-dir", &[("config/requests.json/x", b"")]);
    let (code, _, stderr) = run_check(&dir);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: cannot read "), "{stderr}");
}

#[test]
fn invalid_json_is_an_error_not_a_read_failure() {
    let dir = app_dir(
        "bad-json",
        &[("config/requests.json", b"{\n  \"a\": 1,\n}\n")],
    );
    let (code, _, stderr) = run_check(&dir);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(
            "error: invalid JSON: trailing commas are not allowed\n --> config/requests.json:2:9\n"
        ),
        "{stderr}"
    );
}

/// Runs `check` on a pseudo-terminal through util-linux `script`, if the machine has it.
fn run_check_on_terminal(dir: &Path, no_color: bool) -> Option<String> {
    let command = format!(
        "{} check --dir {}",
        env!("CARGO_BIN_EXE_oauth-templates"),
        dir.display()
    );
    let mut script = Command::new("script");
    script.args(["-qec", &command, "/dev/null"]);
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    match script.output() {
        Ok(output) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        Err(_) => {
            eprintln!(
                "`script` (util-linux) is not installed: the terminal colour test did not run"
            );
            None
        }
    }
}

#[test]
fn colours_on_a_terminal_unless_no_color() {
    let dir = app_dir(
        "tty",
        &[(
            "config/requests.json",
            br#"{ "a": { "schema": { "method": "get", "host": "x.com" } } }"#,
        )],
    );
    let Some(coloured) = run_check_on_terminal(&dir, false) else {
        return;
    };
    assert!(
        coloured.contains("\u{1b}[") && coloured.contains("unsupported method"),
        "{coloured:?}"
    );
    let Some(plain) = run_check_on_terminal(&dir, true) else {
        return;
    };
    assert!(
        !plain.contains('\u{1b}') && plain.contains("unsupported method"),
        "{plain:?}"
    );
}
