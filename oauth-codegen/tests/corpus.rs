//! Conformance over the real FDK configs in `fdk-corpus` (third-party data kept outside the
//! project): nothing panics, and what we accept or reject is recorded in snapshots, so every
//! change in behaviour on real apps is reviewed.
//!
//! The corpus is found through `FDK_CORPUS` (default `../shared/fdk-corpus` beside the
//! workspace). When it is missing the test says so and passes, unless `FDK_CORPUS_REQUIRED` is
//! set (as `.ci/run` does), when it fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

mod common;
use common::corpus_dir;
use oauth_codegen::{AppInput, CheckedApp, InputFile, check};

fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn read(path: &Path, name: &str) -> InputFile {
    InputFile::read(path, name)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{} vanished", path.display()))
}

/// Manifests of top-level requests files, from the manifest column of `INDEX.md`.
fn manifests_from_index(corpus: &Path) -> BTreeMap<String, String> {
    let index = std::fs::read_to_string(corpus.join("INDEX.md")).unwrap_or_default();
    let mut manifests = BTreeMap::new();
    for line in index.lines().filter(|l| l.starts_with("| `")) {
        let columns: Vec<&str> = line.split(" | ").collect();
        let file = columns[0].trim_start_matches("| ").trim_matches('`');
        let Some(manifest_column) = columns.last() else {
            continue;
        };
        let manifest = manifest_column
            .split('`')
            .find(|token| token.ends_with(".json") && token.contains("manifest"))
            .map(|m| m.trim_start_matches("manifests/"));
        if let Some(manifest) = manifest
            && corpus.join("manifests").join(manifest).is_file()
        {
            manifests.insert(file.to_string(), manifest.to_string());
        }
    }
    manifests
}

/// One line per diagnostic: `error config/requests.json:3:5 message (help: …)`.
fn summarize(app: &CheckedApp) -> String {
    if app.diagnostics.is_empty() {
        let integrations = app
            .config
            .oauth
            .as_ref()
            .map_or(0, |o| o.integrations.len());
        return format!(
            "  ok: {} templates, {integrations} integrations\n",
            app.config.templates.len()
        );
    }
    let mut out = String::new();
    for d in app.diagnostics.iter() {
        let severity = if d.is_error() { "error" } else { "warning" };
        let location = d.location(&app.sources).unwrap_or_default();
        let _ = write!(out, "  {severity} {location} {}", d.message);
        if let Some(help) = &d.help {
            let _ = write!(out, " (help: {help})");
        }
        out.push('\n');
    }
    out
}

/// Checks every app in one corpus folder; returns the summary and the number of clean apps.
fn check_folder(
    corpus: &Path,
    folder: &str,
    manifests: &BTreeMap<String, String>,
) -> (String, usize, usize) {
    let dir = corpus.join(folder);
    let files = json_files(&dir);
    let mut report = String::new();
    let (mut apps, mut clean) = (0, 0);
    for name in &files {
        let oauth_pair = name.replace("config_requests", "config_oauth_config");
        // An older requests.json whose oauth_config.json did not change is paired with the newest one.
        let newest_oauth = name
            .rsplit_once("__")
            .map(|(app, _)| app.replace("config_requests", "config_oauth_config") + ".json")
            .filter(|_| folder == "history")
            .filter(|newest| corpus.join(newest).is_file());
        let requests_pair = name.replace("config_oauth_config", "config_requests");
        let mut input = AppInput::default();
        let mut title = name.clone();
        if name.contains("config_requests") {
            input.requests = Some(read(&dir.join(name), "config/requests.json"));
            if files.contains(&oauth_pair) {
                input.oauth = Some(read(&dir.join(&oauth_pair), "config/oauth_config.json"));
                let _ = write!(title, " + {oauth_pair}");
            } else if let Some(newest) = newest_oauth {
                input.oauth = Some(read(&corpus.join(&newest), "config/oauth_config.json"));
                let _ = write!(title, " + ../{newest}");
            }
            if let Some(manifest) = manifests.get(name) {
                input.manifest = Some(read(
                    &corpus.join("manifests").join(manifest),
                    "manifest.json",
                ));
                let _ = write!(title, " + manifests/{manifest}");
            }
        } else if name.contains("config_oauth_config") {
            if files.contains(&requests_pair) {
                continue; // checked together with its requests.json
            }
            input.oauth = Some(read(&dir.join(name), "config/oauth_config.json"));
        } else {
            continue;
        }
        let app = check(input);
        apps += 1;
        if !app.diagnostics.has_errors() {
            clean += 1;
        }
        let _ = writeln!(report, "{title}");
        report.push_str(&summarize(&app));
    }
    let header = format!("{apps} apps, {clean} without errors\n\n");
    (header + &report, apps, clean)
}

#[test]
fn corpus_top_level() {
    let Some(corpus) = corpus_dir() else { return };
    let manifests = manifests_from_index(&corpus);
    assert!(
        manifests.len() > 50,
        "INDEX.md pairing found only {} manifests",
        manifests.len()
    );
    let (report, apps, _) = check_folder(&corpus, "", &manifests);
    assert!(apps > 90, "only {apps} apps found");
    insta::assert_snapshot!("corpus_top_level", report);
}

#[test]
fn corpus_history() {
    let Some(corpus) = corpus_dir() else { return };
    let (report, apps, _) = check_folder(&corpus, "history", &BTreeMap::new());
    assert!(apps > 150, "only {apps} apps found");
    insta::assert_snapshot!("corpus_history", report);
}

#[test]
fn corpus_non_fdk_file_is_recognised_as_foreign() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = corpus.join("non_fdk");
    for name in json_files(&dir) {
        let app = check(AppInput {
            oauth: Some(read(&dir.join(&name), "config/oauth_config.json")),
            ..AppInput::default()
        });
        let messages: Vec<&str> = app.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["this is not an FDK `oauth_config.json`"],
            "{name}"
        );
    }
}
