//! Editing a config file rebuilds the client: cargo tracks the files the macro read.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn cargo_build(dir: &Path) -> (bool, String) {
    // Shares trybuild's target folder: the dependencies are built once for both.
    let target = workspace().join("target/tests/trybuild");
    let output = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const ONE: &str = r#"{ "first": { "schema": { "method": "GET", "host": "example.com" } } }"#;
const TWO: &str = r#"{ "first": { "schema": { "method": "GET", "host": "example.com" } },
  "second": { "schema": { "method": "GET", "host": "example.com", "path": "/2" } } }"#;

#[test]
fn adding_a_template_to_requests_json_adds_the_method_on_the_next_build() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rebuild-app");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let runtime = workspace().join("oauth-runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"rebuild-app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\noauth-runtime = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "#[oauth_runtime::templates(requests = \"config/requests.json\")]\npub struct App;\n\nfn main() {\n    let app = App::new(oauth_runtime::Runtime::builder().build().unwrap());\n    let _ = (app.first(), app.second());\n}\n",
    )
    .unwrap();

    std::fs::write(dir.join("config/requests.json"), ONE).unwrap();
    let (ok, stderr) = cargo_build(&dir);
    assert!(!ok, "built without the `second` template");
    assert!(stderr.contains("no method named `second`"), "{stderr}");

    // Only the config changes; main.rs stays as it is.
    std::fs::write(dir.join("config/requests.json"), TWO).unwrap();
    let (ok, stderr) = cargo_build(&dir);
    assert!(
        ok,
        "the edit to requests.json did not rebuild the client:\n{stderr}"
    );
}
