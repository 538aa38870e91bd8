//! Compile time of a crate with 100 generated templates against the same client written by hand
//! on reqwest, side by side in one run, and lines of generated code per template.
//!
//! Run: `cargo bench -p oauth-codegen --bench compile_time` (takes a few minutes: it builds both
//! crates' dependencies once, then times 5 rebuilds of each crate).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oauth_codegen::{format_generated, generate};

mod common;
use common::{OAUTH, checked_app, generated_requests, spec};

const RUNS: usize = 5;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace exists")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a file in a folder"))
        .expect("a writable target folder");
    std::fs::write(path, text).expect("a writable target folder");
}

fn manifest(name: &str, dependencies: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n{dependencies}\n[workspace]\n"
    )
}

/// The same 100 requests as `generated_requests()`, written as a person would on reqwest.
fn handwritten() -> String {
    let mut code = String::from(
        "//! 100 requests written by hand on reqwest.\n\
         use base64::Engine as _;\n\
         use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};\n\
         use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};\n\n\
         const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');\n\n\
         /// The client.\n#[derive(Clone, Debug)]\npub struct Helpdesk {\n    http: reqwest::Client,\n    domain: String,\n    api_key: String,\n    token: String,\n}\n\n\
         impl Helpdesk {\n    /// A client.\n    pub fn new(http: reqwest::Client, domain: String, api_key: String, token: String) -> Self {\n        Self { http, domain, api_key, token }\n    }\n}\n",
    );
    for i in 0..100 {
        let auth = if i % 2 == 0 {
            "format!(\"Bearer {}\", self.token)".to_string()
        } else {
            "format!(\"Basic {}\", base64::engine::general_purpose::STANDARD.encode(format!(\"{}:X\", self.api_key)))".to_string()
        };
        code.push_str(&format!(
            r#"
/// Values of template {i}.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template{i}Context {{
    /// In the path.
    pub ticket_id: String,
    /// In the path.
    pub note_id: String,
    /// In the query.
    pub page: Option<String>,
}}

impl Helpdesk {{
    /// POST https://{{domain}}.freshservice.com/api/v2/tickets/{{ticket_id}}/notes/{{note_id}}
    pub fn template{i}(&self, context: &Template{i}Context) -> reqwest::RequestBuilder {{
        let page = context.page.as_deref().filter(|p| !p.is_empty()).unwrap_or("1");
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("page", page)
            .append_pair("per_page", "30")
            .finish();
        let url = format!(
            "https://{{}}.freshservice.com/api/v2/tickets/{{}}/notes/{{}}?{{query}}",
            self.domain,
            utf8_percent_encode(&context.ticket_id, SEGMENT),
            utf8_percent_encode(&context.note_id, SEGMENT),
        );
        self.http
            .post(url)
            .header(AUTHORIZATION, {auth})
            .header(CONTENT_TYPE, "application/json")
    }}
}}
"#
        ));
    }
    code
}

fn cargo_build(dir: &Path, target: &Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "{} did not build", dir.display());
    start.elapsed()
}

/// Median of `RUNS` rebuilds of the crate alone (its dependencies stay built).
fn median_rebuild(dir: &Path, target: &Path) -> Duration {
    cargo_build(dir, target);
    let lib = dir.join("src/lib.rs");
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let text = std::fs::read_to_string(&lib).expect("lib.rs");
            std::fs::write(&lib, text).expect("lib.rs");
            cargo_build(dir, target)
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` lists or smoke-runs benches: this one only runs on purpose
    }
    let root = workspace().join("target/compile-bench");
    let target = root.join("target");
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).expect("Cargo.lock");
    let runtime = workspace().join("oauth-runtime");

    let generated = root.join("generated");
    write(
        &generated.join("Cargo.toml"),
        &manifest(
            "generated",
            &format!(
                "oauth-runtime = {{ path = {:?} }}\n",
                runtime.display().to_string()
            ),
        ),
    );
    write(&generated.join("Cargo.lock"), &lock);
    write(
        &generated.join("config/requests.json"),
        &generated_requests(),
    );
    write(&generated.join("config/oauth_config.json"), OAUTH);
    write(
        &generated.join("src/lib.rs"),
        "//! 100 generated requests.\n#[oauth_runtime::templates(requests = \"config/requests.json\", oauth = \"config/oauth_config.json\")]\npub struct Helpdesk;\n",
    );

    let by_hand = root.join("handwritten");
    write(
        &by_hand.join("Cargo.toml"),
        &manifest(
            "handwritten",
            "reqwest = { version = \"0.13\", default-features = false, features = [\"rustls\"] }\npercent-encoding = \"2\"\nform_urlencoded = \"1\"\nbase64 = \"0.22\"\n",
        ),
    );
    write(&by_hand.join("Cargo.lock"), &lock);
    write(&by_hand.join("src/lib.rs"), &handwritten());

    let app = checked_app(&generated_requests());
    let code =
        format_generated(generate(&app.config, &spec()), "bench").expect("generated code parses");

    // The macro's output pasted as source: the difference to `generated` is the expansion.
    let expanded = root.join("expanded");
    write(
        &expanded.join("Cargo.toml"),
        &manifest(
            "expanded",
            &format!(
                "oauth-runtime = {{ path = {:?} }}\n",
                runtime.display().to_string()
            ),
        ),
    );
    write(&expanded.join("Cargo.lock"), &lock);
    write(
        &expanded.join("src/lib.rs"),
        &format!("//! 100 requests, the macro's output as source.\n{code}"),
    );

    println!("building dependencies once…");
    let generated_time = median_rebuild(&generated, &target);
    let expanded_time = median_rebuild(&expanded, &target);
    let by_hand_time = median_rebuild(&by_hand, &target);
    let generated_lines = code.lines().count();
    let handwritten_lines = handwritten().lines().count();

    println!("compile time, debug build of the crate alone, median of {RUNS}:");
    println!(
        "  generated (100 templates): {:>8.1} ms",
        generated_time.as_secs_f64() * 1000.0
    );
    println!(
        "  the same code, pasted:     {:>8.1} ms",
        expanded_time.as_secs_f64() * 1000.0
    );
    println!(
        "  by hand on reqwest:        {:>8.1} ms",
        by_hand_time.as_secs_f64() * 1000.0
    );
    println!(
        "  ratio generated / by hand: {:>8.2}",
        generated_time.as_secs_f64() / by_hand_time.as_secs_f64()
    );
    println!("lines of code (formatted):");
    println!(
        "  generated: {generated_lines} ({:.1} per template)",
        generated_lines as f64 / 100.0
    );
    println!(
        "  by hand:   {handwritten_lines} ({:.1} per template)",
        handwritten_lines as f64 / 100.0
    );
}
