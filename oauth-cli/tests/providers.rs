//! Conformance of real apps with their real providers, offline: every `oauth_config.json` of
//! the FDK corpus (and its `history/`), each integration against the embedded provider's
//! profile of its token URL's provider (`oauth_mock::Profile::for_token_url`), and every
//! profile on a config of its own. Each goes through the CLI as a user would:
//! `check` → `authorize` → `invoke` (the provider's "who am I") → the access token expires →
//! `invoke` (refreshed where the provider refreshes) → again (a rotated refresh token was
//! kept) → the provider revokes everything → `invoke` tells the user to authorize again. No
//! token, code or client secret may appear in anything the CLI prints.
//!
//! The app's URLs are pointed at the provider on loopback (their origin replaced, their path
//! kept as written); everything else in the file is used as it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use oauth_mock::{Profile, Refresh};
use oauth_runtime::{FileStore, TokenKey, TokenStore, UserId};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "sekrit-client-secret-0123";
const USER: &str = "agent-7";

// The corpus is found as the checker's corpus tests find it.
#[path = "../../oauth-codegen/tests/common/mod.rs"]
mod common;
use common::corpus_dir;

/// The corpus's `oauth_config.json` files, top level and `history/`, by name.
fn corpus_configs(corpus: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for (prefix, dir) in [
        ("", corpus.to_path_buf()),
        ("history/", corpus.join("history")),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_oauth = name.ends_with("oauth_config.json")
                || name
                    .rsplit_once("oauth_config__")
                    .is_some_and(|(_, rest)| rest.ends_with(".json") && !rest.contains('_'));
            if is_oauth {
                files.push((format!("{prefix}{name}"), entry.path()));
            }
        }
    }
    files.sort();
    files
}

/// `text` with its origin (scheme and authority, placeholders and all) replaced by `origin`.
fn with_origin(text: &str, origin: &str) -> Option<String> {
    let (_, rest) = text.split_once("://")?;
    let mut depth = 0usize;
    let mut cut = rest.len();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if rest[i..].starts_with("<%") {
            depth += 1;
            i += 2;
        } else if rest[i..].starts_with("%>") {
            depth = depth.saturating_sub(1);
            i += 2;
        } else if depth == 0 && matches!(bytes[i], b'/' | b'?') {
            cut = i;
            break;
        } else {
            i += 1;
        }
    }
    Some(format!("{origin}{}", &rest[cut..]))
}

/// `text` with each `<%= oauth_iparams.NAME %>` replaced by `value(NAME)`.
fn substitute(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<%=") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("%>") else {
            break;
        };
        let expr = rest[start + 3..start + end].trim();
        // The CLI passes every oauth_iparam, so a `|| 'default'` never applies.
        let name = expr.split("||").next().unwrap_or_default().trim();
        out.push_str(&value(name.trim_start_matches("oauth_iparams.")));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn iparam_value(name: &str) -> String {
    if name.contains("secret") {
        SECRET.to_string()
    } else {
        format!("acme-{name}")
    }
}

/// The client id the environment gives when the config's is empty (as Freshworks' samples
/// ship it).
const ENV_CLIENT_ID: &str = "client-from-env";

fn env_prefix(integration: &str) -> String {
    format!(
        "OAUTH_{}",
        integration.to_ascii_uppercase().replace('-', "_")
    )
}

/// One integration of an app under test.
struct Integration {
    name: String,
    agent: bool,
    profile: Profile,
    provider: oauth_mock::Provider,
    oauth_iparams: Vec<String>,
}

/// Points `config`'s integration at a provider speaking `profile`; returns the provider.
async fn serve(config: &mut Map<String, Value>, profile: Profile) -> oauth_mock::Provider {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let origin = format!("http://127.0.0.1:{port}");
    let mut paths = Vec::new();
    for key in ["authorize_url", "token_url"] {
        let text = config[key].as_str().unwrap_or_default();
        let rewritten = with_origin(text, &origin).unwrap_or_default();
        let path = url::Url::parse(&rewritten)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        paths.push(path);
        config.insert(key.to_string(), rewritten.into());
    }
    // The credentials as the app sends them: from its oauth_iparams (whatever they hold: one
    // sample app sends its client id as its secret), else the environment.
    let evaluated = |key: &str| substitute(config[key].as_str().unwrap_or_default(), iparam_value);
    let client_id = match evaluated("client_id") {
        id if id.is_empty() => ENV_CLIENT_ID.to_string(),
        id => id,
    };
    let secret = match config["client_secret"].as_str() {
        Some(text) if text.contains("<%") => evaluated("client_secret"),
        _ => SECRET.to_string(),
    };
    oauth_mock::Provider::builder()
        .profile(profile.with_paths(&paths[0], &paths[1]))
        .client(&client_id, &secret, "App")
        .auto_consent(true)
        .port(port)
        .start()
        .await
        .unwrap()
}

/// Writes the app: its config as given (URLs pointed at the providers) and one probe
/// template per integration calling its provider's "who am I".
fn write_app(dir: &Path, config: &Value, integrations: &[Integration], legacy: bool) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/oauth_config.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
    let mut requests = Map::new();
    for integration in integrations {
        let options = if legacy {
            json!({ "isOAuth": true })
        } else {
            json!({ "oauth": integration.name })
        };
        requests.insert(
            format!("probe_{}", integration.name),
            json!({ "schema": { "method": "GET", "protocol": "http",
                "host": integration.provider.host(), "path": integration.profile.api_path(),
                "headers": { "Authorization": "Bearer <%= access_token %>" } },
                "options": options }),
        );
    }
    std::fs::write(
        dir.join("config/requests.json"),
        serde_json::to_string_pretty(&requests).unwrap(),
    )
    .unwrap();
}

/// `--oauth-iparam K=V` for each of the integration's oauth_iparams.
fn oauth_iparams(integration: &Integration) -> Vec<String> {
    integration
        .oauth_iparams
        .iter()
        .flat_map(|name| {
            [
                "--oauth-iparam".to_string(),
                format!("{name}={}", iparam_value(name)),
            ]
        })
        .collect()
}

/// What one step printed, and how it ended.
struct Run {
    ok: bool,
    output: String,
}

async fn authorize(dir: &Path, integration: &Integration, printed: &mut String) -> Run {
    let mut command = cli(dir, integration);
    command.args([
        "authorize",
        &integration.name,
        "--no-browser",
        "--port",
        "0",
        "--timeout",
        "20",
        "--start-grace",
        "0",
    ]);
    command.args(oauth_iparams(integration));
    if integration.agent {
        command.args(["--user", USER]);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut address = None;
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
        if address.is_none()
            && let Some(url) = line.trim().strip_prefix("http://")
        {
            address = Some(format!("http://{url}"));
        }
        if line.starts_with("Waiting for the authorization server") {
            break;
        }
    }
    if let Some(address) = address {
        // The browser: the CLI's start address (its cookie kept), the provider (which agrees
        // at once), back to the callback with the cookie.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut cookie = String::new();
        let mut next = Some(address);
        for _ in 0..3 {
            let Some(url) = next.take() else { break };
            let Ok(answer) = http.get(&url).header("cookie", &cookie).send().await else {
                break;
            };
            if let Some(set) = answer.headers().get("set-cookie") {
                cookie = set
                    .to_str()
                    .unwrap_or_default()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            next = answer
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap_or_default().to_string());
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
    }
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    printed.push_str(&stderr);
    Run {
        ok: output.status.success(),
        output: stderr,
    }
}

/// The CLI in the app's folder, with the integration's client secret in the environment.
fn cli(dir: &Path, integration: &Integration) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oauth-templates"));
    let prefix = env_prefix(&integration.name);
    command
        .current_dir(dir)
        .env(format!("{prefix}_CLIENT_SECRET"), SECRET)
        .env(format!("{prefix}_CLIENT_ID"), ENV_CLIENT_ID)
        .env_remove("OAUTH_TEMPLATES_STORE_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

async fn invoke(dir: &Path, integration: &Integration, printed: &mut String) -> Run {
    let mut command = cli(dir, integration);
    command.args(["invoke", &format!("probe_{}", integration.name)]);
    command.args(oauth_iparams(integration));
    if integration.agent {
        command.args(["--user", USER]);
    }
    let output = command.output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    printed.push_str(&text);
    Run {
        ok: output.status.success(),
        output: text,
    }
}

/// Time passes: the provider's access tokens and the stored one are past their expiry.
async fn age(dir: &Path, integration: &Integration) {
    integration.provider.expire_access_tokens();
    let store = FileStore::new(dir.join(".oauth-templates/tokens.json"));
    let key = if integration.agent {
        TokenKey::user(integration.name.clone(), UserId::new(USER))
    } else {
        TokenKey::installation(integration.name.clone())
    };
    let Ok(Some(current)) = store.load(&key).await else {
        return;
    };
    let mut record = current.record;
    if record.tokens.expires_at().is_some() {
        record.tokens = record
            .tokens
            .with_expires_at(SystemTime::now() - Duration::from_secs(60));
        store
            .save(&key, &record, Some(current.version))
            .await
            .unwrap();
    }
}

/// A step's outcome in the table's words.
fn called(run: &Run) -> String {
    if run.ok && run.output.contains("\"ok\":true") {
        "200".to_string()
    } else if run.output.contains("invalid_auth") {
        "200 ok:false invalid_auth".to_string()
    } else if run.output.contains("must authorize") && run.output.contains("again") {
        "reauthorize".to_string()
    } else {
        format!(
            "FAILED: {}",
            run.output
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("?")
        )
    }
}

/// What each step should give with `profile`.
fn expected(profile: &Profile) -> [String; 6] {
    let expiring = profile.access_token_lifetime().is_some();
    let after_expiry = if expiring {
        "200 after a refresh"
    } else {
        "200 (does not expire)"
    };
    let again = match (expiring, profile.refresh()) {
        (false, _) => "200 (does not expire)",
        (true, Refresh::Rotating) => "200 after a refresh (rotated)",
        (true, _) => "200 after a refresh",
    };
    let revoked = if profile.rejects_in_body() && profile.refresh() == Refresh::None {
        "200 ok:false invalid_auth"
    } else {
        "reauthorize"
    };
    [
        "ok".into(),
        "200".into(),
        after_expiry.into(),
        again.into(),
        revoked.into(),
        "none".into(),
    ]
}

/// Runs every step for one integration of the app in `dir`.
async fn steps(dir: &Path, integration: &Integration) -> [String; 6] {
    let mut printed = String::new();
    let authorized = authorize(dir, integration, &mut printed).await;
    let authorized = if authorized.ok {
        "ok".to_string()
    } else {
        format!(
            "FAILED: {}",
            authorized.output.lines().last().unwrap_or("?")
        )
    };
    let first = called(&invoke(dir, integration, &mut printed).await);
    let expiring = integration.profile.access_token_lifetime().is_some();
    let mut after = Vec::new();
    for _ in 0..2 {
        let before = integration.provider.token_requests();
        age(dir, integration).await;
        let outcome = called(&invoke(dir, integration, &mut printed).await);
        let refreshed = integration.provider.token_requests() > before;
        after.push(match (outcome.as_str(), expiring, refreshed) {
            ("200", true, true) if integration.profile.refresh() == Refresh::Rotating => {
                if after.is_empty() {
                    "200 after a refresh".to_string()
                } else {
                    "200 after a refresh (rotated)".to_string()
                }
            }
            ("200", true, true) => "200 after a refresh".to_string(),
            ("200", false, false) => "200 (does not expire)".to_string(),
            (other, _, _) => format!("{other} (refreshed: {refreshed})"),
        });
    }
    integration.provider.revoke_all();
    age(dir, integration).await;
    let revoked = called(&invoke(dir, integration, &mut printed).await);
    let mut secrets = integration.provider.issued_secrets();
    secrets.push(SECRET.to_string());
    let leaked: Vec<&String> = secrets.iter().filter(|s| printed.contains(*s)).collect();
    let secrets = if leaked.is_empty() {
        "none".to_string()
    } else {
        format!("LEAKED {}", leaked.len())
    };
    let [again, second] = [after[0].clone(), after[1].clone()];
    [authorized, first, again, second, revoked, secrets]
}

/// Checks, then runs the steps for each integration of `config` (a whole `oauth_config.json`).
/// Returns one row per integration, or the reason the app cannot be run.
async fn run_app(
    label: &str,
    config: Value,
    dir: &Path,
) -> Result<Vec<(String, String, [String; 6])>, String> {
    let Value::Object(mut root) = config else {
        return Err("not a JSON object".to_string());
    };
    let legacy = !root.contains_key("integrations");
    let mut integrations = Vec::new();
    let mut entries: Vec<(String, Map<String, Value>)> = if legacy {
        vec![("oauth".to_string(), root.clone())]
    } else {
        match &root["integrations"] {
            Value::Object(all) => all
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_object()?.clone())))
                .collect(),
            _ => return Err("`integrations` is not an object".to_string()),
        }
    };
    for (name, config) in &mut entries {
        let token_url = config["token_url"].as_str().unwrap_or_default().to_string();
        let Some(profile) = Profile::for_token_url(&token_url) else {
            return Err(format!("no profile for the token URL `{token_url}`"));
        };
        let provider = serve(config, profile.clone()).await;
        let oauth_iparams = config
            .get("oauth_iparams")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        integrations.push(Integration {
            name: name.clone(),
            agent: config.get("token_type").and_then(Value::as_str) == Some("agent"),
            profile: provider.profile(),
            provider,
            oauth_iparams,
        });
    }
    if legacy {
        root = entries.pop().map(|(_, c)| c).unwrap_or_default();
    } else {
        root.insert(
            "integrations".to_string(),
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, Value::Object(v)))
                    .collect(),
            ),
        );
    }
    write_app(dir, &Value::Object(root), &integrations, legacy);
    let check = Command::new(env!("CARGO_BIN_EXE_oauth-templates"))
        .args(["check", "--dir"])
        .arg(dir)
        .output()
        .await
        .unwrap();
    if !check.status.success() {
        let stderr = String::from_utf8_lossy(&check.stderr).into_owned();
        let first = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("?")
            .to_string();
        return Err(format!("rejected by check: {first}"));
    }
    let mut rows = Vec::new();
    for integration in &integrations {
        let outcome = steps(dir, integration).await;
        rows.push((
            format!("{label} ({})", integration.name),
            integration.profile.name().to_string(),
            outcome,
        ));
    }
    Ok(rows)
}

/// A config of `profile`'s own: one account integration asking for typical scopes.
fn profile_config(profile: &Profile) -> Value {
    let scope = match profile.name() {
        "Shopify" => "read_orders,write_orders",
        "Microsoft identity platform" | "Microsoft account (live.com)" => {
            "User.Read offline_access"
        }
        name if name.starts_with("Slack") => "chat:write,users:read",
        _ => "read write",
    };
    json!({ "integrations": { "app": {
        "display_name": profile.name(), "client_id": "client-1", "client_secret": "",
        "authorize_url": format!("https://provider.example{}", profile.authorize_path()),
        "token_url": format!("https://provider.example{}", profile.token_path()),
        "options": { "scope": scope }, "token_type": "account" } } })
}

fn table(rows: &[(String, String, [String; 6])]) -> String {
    let mut out = String::from(
        "| app (integration) | provider | authorize | call | expired | expired again | revoked | secrets printed |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (label, provider, steps) in rows {
        let _ = writeln!(out, "| {label} | {provider} | {} |", steps.join(" | "));
    }
    out
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("oauth-providers-{}-{name}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_profile_authorizes_calls_refreshes_and_reauthorizes() {
    let mut rows = Vec::new();
    for profile in Profile::all() {
        let dir = temp_dir(&profile.name().replace([' ', '(', ')', '.'], "_"));
        let config = profile_config(&profile);
        let label = format!("{} profile", profile.name());
        // `for_token_url` must find the profile from the host the config names, so for the
        // test the URLs name it by the profile's own paths: serve the profile directly.
        let result = run_profile(&label, config, profile.clone(), &dir).await;
        let row = result.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(row.2, expected(&profile), "{label}");
        rows.push(row);
        let _ = std::fs::remove_dir_all(&dir);
    }
    insta::assert_snapshot!("profiles", table(&rows));
}

/// As [`run_app`] for a config of one integration `app` speaking `profile`.
async fn run_profile(
    label: &str,
    config: Value,
    profile: Profile,
    dir: &Path,
) -> Result<(String, String, [String; 6]), String> {
    let mut app = config["integrations"]["app"].as_object().cloned().unwrap();
    let provider = serve(&mut app, profile).await;
    let integration = Integration {
        name: "app".to_string(),
        agent: false,
        profile: provider.profile(),
        provider,
        oauth_iparams: Vec::new(),
    };
    let config = json!({ "integrations": { "app": app } });
    write_app(dir, &config, std::slice::from_ref(&integration), false);
    let outcome = steps(dir, &integration).await;
    Ok((
        label.to_string(),
        integration.profile.name().to_string(),
        outcome,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_oauth_config_authorizes_calls_refreshes_and_reauthorizes() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let mut rows = Vec::new();
    let mut rejected = BTreeMap::new();
    for (label, path) in corpus_configs(&corpus) {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(config) = serde_json::from_str::<Value>(&text) else {
            rejected.insert(label, "not JSON".to_string());
            continue;
        };
        let dir = temp_dir(&label.replace('/', "_"));
        match run_app(&label, config, &dir).await {
            Ok(app_rows) => rows.extend(app_rows),
            Err(reason) => {
                rejected.insert(label, reason);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut failures = Vec::new();
    for (label, provider, steps) in &rows {
        let profile = Profile::all()
            .into_iter()
            .find(|p| p.name() == provider)
            .unwrap();
        if *steps != expected(&profile) {
            failures.push(format!("{label}: {steps:?}"));
        }
    }
    let mut report = format!(
        "{} integrations of {} configs run, {} configs not run\n\n{}",
        rows.len(),
        rows.iter()
            .map(|(label, ..)| label.rsplit_once(" (").map_or(label.as_str(), |(f, _)| f))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        rejected.len(),
        table(&rows)
    );
    report.push_str("\nNot run:\n");
    for (label, reason) in &rejected {
        let _ = writeln!(report, "- {label}: {reason}");
    }
    assert!(failures.is_empty(), "{}\n\n{report}", failures.join("\n"));
    // Freshworks' own published samples are what FDK accepts: `check` passes every one.
    let samples_rejected: Vec<&String> = rejected
        .iter()
        .filter(|(label, reason)| {
            let name = label.trim_start_matches("history/");
            (name.starts_with("freshworks__") || name.starts_with("freshworks-developers__"))
                && reason.starts_with("rejected by check")
        })
        .map(|(label, _)| label)
        .collect();
    assert!(
        samples_rejected.is_empty(),
        "{samples_rejected:?}\n\n{report}"
    );
    insta::assert_snapshot!("corpus", report);
}
