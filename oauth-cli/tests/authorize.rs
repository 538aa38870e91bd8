//! `authorize`, `invoke` and `tokens` against a fake provider: the CLI prints the address, the
//! "browser" follows it back to the loopback callback, the tokens land in the app's token file
//! (shown by `tokens list` without a secret), `invoke` sends them, Cancel leaves the app
//! unauthorized.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "sekrit-client-secret";

/// An app whose `crm` integration talks to `provider`.
fn app(name: &str, provider: &MockServer) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oauth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let port = provider.address().port();
    std::fs::write(
        dir.join("config/requests.json"),
        format!(
            r#"{{ "getThing": {{ "schema": {{ "method": "GET", "protocol": "http",
                "host": "127.0.0.1:{port}", "path": "/things/<%= context.id %>",
                "headers": {{ "Authorization": "Bearer <%= access_token %>" }} }},
                "options": {{ "oauth": "crm" }} }} }}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config/oauth_config.json"),
        format!(
            r#"{{ "integrations": {{ "crm": {{ "display_name": "CRM",
                "client_id": "crm-client", "client_secret": "",
                "authorize_url": "http://127.0.0.1:{port}/authorize?tenant=<%= oauth_iparams.tenant %>",
                "token_url": "http://127.0.0.1:{port}/token",
                "options": {{ "scope": "things.read" }}, "token_type": "account",
                "oauth_iparams": {{ "tenant": {{ "display_name": "Tenant", "type": "text", "required": true }} }} }} }} }}"#
        ),
    )
    .unwrap();
    dir
}

async fn provider() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "sekrit-access", "refresh_token": "sekrit-refresh", "expires_in": 1800
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/things/7"))
        .and(header("authorization", "Bearer sekrit-access"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("set-cookie", "session=sekrit-cookie")
                .set_body_json(serde_json::json!({ "id": 7 })),
        )
        .mount(&server)
        .await;
    server
}

fn cli(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oauth-templates"));
    command
        .current_dir(dir)
        .env("OAUTH_CRM_CLIENT_SECRET", CLIENT_SECRET)
        .env_remove("OAUTH_TEMPLATES_STORE_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// What a run of `authorize crm` gave.
struct Authorized {
    code: i32,
    /// Everything it printed.
    output: String,
    /// The page the browser got at the callback.
    page: String,
    /// The provider's authorize URL, where the printed start address redirected.
    provider_url: url::Url,
}

/// `authorize crm` started: the process, its output so far and the rest to read, the start
/// address it printed and the callback address it waits on.
struct Started {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    printed: Vec<String>,
    start: String,
    callback: String,
}

/// `authorize crm` started, holding a callback `start_grace` seconds after it began waiting.
async fn start_authorize(dir: &Path, start_grace: u32) -> Started {
    let mut child = cli(dir)
        .args([
            "authorize",
            "crm",
            "--no-browser",
            "--port",
            "0",
            "--oauth-iparam",
            "tenant=acme",
            "--start-grace",
            &start_grace.to_string(),
        ])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let callback = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the CLI printed the address");
        printed.push(line.clone());
        if let Some(waiting) =
            line.strip_prefix("Waiting for the authorization server to send you back to ")
        {
            break waiting.trim_end_matches(" …").to_string();
        }
    };
    let start = printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("http://"))
        .map(|address| format!("http://{address}"))
        .unwrap();
    Started {
        child,
        lines,
        printed,
        start,
        callback,
    }
}

/// A client that, as a test's browser, follows no redirect by itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What opening the start address gave: the cookie it set (`name=value`), and the provider's
/// address it redirected to, with that address's `state`.
struct Opened {
    cookie: String,
    provider_url: url::Url,
    state: String,
}

/// Opens the CLI's start address, as a browser (or someone who read it) would.
async fn open_start(http: &reqwest::Client, start: &str) -> Opened {
    let opened = http.get(start).send().await.unwrap();
    assert_eq!(opened.status(), 302);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let provider_url = url::Url::parse(opened.headers()["location"].to_str().unwrap()).unwrap();
    let state = provider_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    Opened {
        cookie,
        provider_url,
        state,
    }
}

/// The CLI gave the authorization up because its start address was opened twice, and
/// stored nothing.
async fn assert_abandoned(child: tokio::process::Child, dir: &Path) {
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("opened twice"), "{stderr}");
    assert!(
        !dir.join(".oauth-templates/tokens.json").exists(),
        "no tokens were stored"
    );
}

/// Runs `authorize crm`, opens the printed start address as the browser would (keeping its
/// cookie), answers the provider's address with `answer(state)` at the callback.
async fn authorize(dir: &Path, answer: impl Fn(&str) -> String) -> Authorized {
    let Started {
        child,
        mut lines,
        mut printed,
        start: address,
        callback,
    } = start_authorize(dir, 0).await;
    let address = url::Url::parse(&address).unwrap();
    assert!(
        address.path().starts_with("/start/") && address.query().is_none(),
        "the printed address holds no state: {address}"
    );
    let http = browser();
    let Opened {
        cookie,
        provider_url,
        state,
    } = open_start(&http, address.as_str()).await;
    let page = http
        .get(format!("{callback}?{}", answer(&state)))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push(line);
    }
    let all = format!(
        "{}\n{}",
        printed.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    Authorized {
        code: output.status.code().unwrap(),
        output: all,
        page,
        provider_url,
    }
}

#[tokio::test]
async fn authorize_stores_the_tokens_then_invoke_sends_them_and_tokens_lists_them() {
    let provider = provider().await;
    let dir = app("authorize", &provider);
    let Authorized {
        code,
        output,
        page,
        provider_url,
    } = authorize(&dir, |state| format!("code=good&state={state}")).await;
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("Open this address to authorize `crm`:"),
        "{output}"
    );
    // The token folder keeps itself out of version control, and the plain file is pointed out.
    assert_eq!(
        std::fs::read_to_string(dir.join(".oauth-templates/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    assert!(
        output.contains("tokens.json is not encrypted: set OAUTH_TEMPLATES_STORE_KEY"),
        "{output}"
    );
    let provider_url = provider_url.as_str();
    assert!(
        provider_url.contains("tenant=acme"),
        "oauth_iparams are substituted: {provider_url}"
    );
    assert!(
        provider_url.contains("code_challenge_method=S256"),
        "{provider_url}"
    );
    assert!(
        !output.contains("state=") && !output.contains("code_challenge"),
        "nothing printed holds the state or the challenge: {output}"
    );
    assert!(
        output.contains("authorized: the tokens of `crm` are stored in"),
        "{output}"
    );
    assert!(page.contains("crm is authorized"), "{page}");
    assert!(!output.contains("sekrit"), "no secret printed: {output}");
    // The exchange was authenticated with the secret from the environment.
    let token_requests: Vec<_> = provider
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/token")
        .collect();
    assert_eq!(token_requests.len(), 1);
    let form: Vec<(String, String)> = form_urlencoded::parse(&token_requests[0].body)
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("grant_type"), Some("authorization_code"));
    assert_eq!(
        field("code"),
        Some("good"),
        "the code the browser brought back"
    );
    assert_eq!(field("code_verifier").map(str::len), Some(43));
    let printed_redirect = output
        .lines()
        .find_map(|l| l.strip_prefix("Waiting for the authorization server to send you back to "))
        .unwrap()
        .trim_end_matches(" …");
    assert_eq!(
        field("redirect_uri"),
        Some(printed_redirect),
        "the bound callback"
    );
    let basic = token_requests[0].headers["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("crm-client:{CLIENT_SECRET}"),
        "authenticated with the secret from the environment"
    );

    let file = std::fs::read_to_string(dir.join(".oauth-templates/tokens.json")).unwrap();
    assert!(
        file.contains("sekrit-refresh"),
        "the token file holds the tokens"
    );

    let list = cli(&dir).args(["tokens", "list"]).output().await.unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("crm") && list.contains("installation") && list.contains("active"),
        "{list}"
    );
    assert!(list.contains("expires in"), "{list}");
    assert!(!list.contains("sekrit"), "{list}");

    // The oauth_iparam from the environment this time.
    let invoke = cli(&dir)
        .env("OAUTH_IPARAM_TENANT", "acme")
        .args(["invoke", "getThing", "--context", "id=7"])
        .output()
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&invoke.stderr).contains("will be used as stored"),
        "the integration was configured from the environment: {}",
        String::from_utf8_lossy(&invoke.stderr)
    );
    let stdout = String::from_utf8_lossy(&invoke.stdout).into_owned();
    assert!(
        invoke.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&invoke.stderr)
    );
    assert!(stdout.starts_with("200 OK\n"), "{stdout}");
    assert!(stdout.contains("set-cookie: [REDACTED]"), "{stdout}");
    assert!(stdout.trim_end().ends_with(r#"{"id":7}"#), "{stdout}");
    assert!(!stdout.contains("sekrit"), "{stdout}");

    let missing = cli(&dir)
        .args(["invoke", "getThing"])
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("`context.id` has no value: pass it with --context"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // Revoked at the provider (RFC 7009), refresh token first, then deleted.
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&provider)
        .await;
    let revoke = cli(&dir)
        .env("OAUTH_IPARAM_TENANT", "acme")
        .args(["tokens", "revoke", "crm", "--revocation-url"])
        .arg(format!("{}/revoke", provider.uri()))
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&revoke.stdout).into_owned();
    assert!(
        said.contains(
            "the tokens of `crm` for installation: revoked at the provider, then deleted"
        ),
        "{said}{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    assert!(!said.contains("sekrit"), "{said}");
    let revocations: Vec<Vec<(String, String)>> = provider
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/revoke")
        .map(|r| form_urlencoded::parse(&r.body).into_owned().collect())
        .collect();
    let sent: Vec<(&str, &str)> = revocations
        .iter()
        .map(|form| {
            let field = |k: &str| {
                form.iter()
                    .find(|(n, _)| n == k)
                    .map_or("", |(_, v)| v.as_str())
            };
            (field("token"), field("token_type_hint"))
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("sekrit-refresh", "refresh_token"),
            ("sekrit-access", "access_token")
        ]
    );
    let after = cli(&dir)
        .args(["invoke", "getThing", "--context", "id=7"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&after.stderr).into_owned();
    assert_eq!(after.status.code(), Some(1));
    let lines: Vec<&str> = stderr.lines().collect();
    let error = lines.iter().position(|l| l.starts_with("error: ")).unwrap();
    let help = lines
        .iter()
        .position(|l| *l == "help: run `oauth-templates authorize crm`")
        .unwrap();
    assert!(lines[error].contains("must authorize `crm`"), "{stderr}");
    assert_eq!(help, error + 1, "the help follows its error: {stderr}");
}

#[tokio::test]
async fn cancel_leaves_the_app_unauthorized() {
    let provider = provider().await;
    let dir = app("cancel", &provider);
    let Authorized {
        code, output, page, ..
    } = authorize(&dir, |state| format!("error=access_denied&state={state}")).await;
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("not authorized: the authorization of `crm` was cancelled"),
        "{output}"
    );
    assert!(page.contains("You cancelled"), "{page}");
    assert!(!dir.join(".oauth-templates/tokens.json").exists());
    assert!(
        provider.received_requests().await.unwrap().is_empty(),
        "no token request"
    );
}

#[tokio::test]
async fn a_missing_client_secret_names_the_variable() {
    let provider = provider().await;
    let dir = app("secret", &provider);
    let output = cli(&dir)
        .env_remove("OAUTH_CRM_CLIENT_SECRET")
        .args([
            "authorize",
            "crm",
            "--no-browser",
            "--oauth-iparam",
            "tenant=acme",
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("set OAUTH_CRM_CLIENT_SECRET"), "{stderr}");
    let output = cli(&dir)
        .args(["authorize", "crm", "--no-browser"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.contains("needs `oauth_iparams.tenant`, which has no value"),
        "{stderr}"
    );
    let output = cli(&dir)
        .args(["authorize", "nope", "--no-browser"])
        .output()
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no integration `nope` in oauth_config.json (there are: crm)")
    );
}

#[tokio::test]
async fn malformed_arguments_are_explained() {
    let provider = provider().await;
    let dir = app("arguments", &provider);
    let output = cli(&dir)
        .args(["invoke", "getThing", "--context", "id"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.contains("--context takes KEY=VALUE, not `id`"),
        "{stderr}"
    );
    let output = cli(&dir).args(["invoke", "nope"]).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.contains("no template `nope` in config/requests.json (there are: getThing)"),
        "{stderr}"
    );
    let output = cli(&dir).args(["tokens", "revoke"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("name the integration whose tokens to delete, or pass --all")
    );
    let output = cli(&dir)
        .args([
            "tokens",
            "revoke",
            "--all",
            "--revocation-url",
            "http://127.0.0.1:9/revoke",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--revocation-url revokes one integration's tokens: name it")
    );
}

#[tokio::test]
async fn invoke_redacts_the_token_and_secrets_sent_wherever_a_server_echoes_them() {
    let provider = provider().await;
    Mock::given(method("GET"))
        .and(path("/things/8"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-echo-credential", "Bearer sekrit-stored-access")
                .insert_header(
                    "location",
                    "https://app.example/cb?access_token=sekrit-stored-access",
                )
                .insert_header("x-tenant", "sekrit+tenant/value")
                .insert_header("x-encoded", "tenant=sekrit%2Btenant%2Fvalue")
                .set_body_string(
                    r#"{"you_sent":"Bearer sekrit-stored-access","client":"sekrit-client-secret"}"#,
                ),
        )
        .mount(&provider)
        .await;
    let dir = app("echo", &provider);
    let store = oauth_runtime::FileStore::new(dir.join(".oauth-templates/tokens.json"));
    oauth_runtime::TokenStore::save(
        &store,
        &oauth_runtime::TokenKey::installation("crm"),
        &oauth_runtime::TokenRecord::active(
            oauth_runtime::TokenSet::new("sekrit-stored-access")
                .with_refresh_token("sekrit-stored-refresh")
                .expires_in(Duration::from_secs(1800)),
        ),
        None,
    )
    .await
    .unwrap();
    let invoke = cli(&dir)
        .args([
            "invoke",
            "getThing",
            "--context",
            "id=8",
            "--oauth-iparam",
            "tenant=sekrit+tenant/value",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&invoke.stdout).into_owned();
    assert!(invoke.status.success(), "{stdout}");
    assert!(!stdout.contains("sekrit"), "{stdout}");
    assert!(
        stdout.contains("location: https://app.example/cb?access_token=[REDACTED]"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"{"you_sent":"Bearer [REDACTED]","client":"[REDACTED]"}"#),
        "{stdout}"
    );
}

/// Another local user who read the start address (or the state) cannot complete the
/// authorization: a callback without the browser's cookie is refused, and the start address
/// opened twice abandons the authorization.
#[tokio::test]
async fn a_callback_without_the_browsers_cookie_completes_nothing_and_a_reused_start_abandons() {
    let provider = provider().await;
    let dir = app("bound", &provider);
    let Started {
        child,
        start,
        callback,
        ..
    } = start_authorize(&dir, 0).await;
    let http = browser();
    // The attacker opens the start address first and learns the state…
    let Opened { state, .. } = open_start(&http, &start).await;
    // …but a callback without the cookie is not the one the CLI waits for.
    let forged = http
        .get(format!("{callback}?code=good&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    // The real browser opens the start address too: the CLI gives up.
    let second = http.get(&start).send().await.unwrap();
    assert_eq!(second.status(), 400);
    assert!(second.text().await.unwrap().contains("already opened"));
    assert_abandoned(child, &dir).await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_planted_gitignore_link_is_never_written_through() {
    let provider = provider().await;
    let dir = app("planted", &provider);
    let target = dir.join("outside.txt");
    std::fs::create_dir_all(dir.join(".oauth-templates")).unwrap();
    std::os::unix::fs::symlink(&target, dir.join(".oauth-templates/.gitignore")).unwrap();
    let output = cli(&dir).args(["tokens", "list"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is a symbolic link"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!target.exists());
}

/// Someone who read the start address from the process list opens it first and completes a
/// consent of their own at once: the real browser, opening it late, makes the CLI abandon the
/// authorization instead of storing the other account's tokens.
#[tokio::test]
async fn a_start_address_opened_again_after_the_callback_abandons_within_the_grace() {
    let provider = provider().await;
    let dir = app("late-browser", &provider);
    let Started {
        child,
        start,
        callback,
        ..
    } = start_authorize(&dir, 3).await;
    let http = browser();
    let Opened { cookie, state, .. } = open_start(&http, &start).await;
    // The other account's code, with the cookie: the CLI holds it…
    let delivered = tokio::spawn({
        let http = http.clone();
        async move {
            http.get(format!("{callback}?code=good&state={state}"))
                .header("cookie", cookie)
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …and the real browser arrives.
    let late = http.get(&start).send().await.unwrap();
    assert_eq!(late.status(), 400);
    let _ = delivered.await;
    assert_abandoned(child, &dir).await;
}
