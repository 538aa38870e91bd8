//! The consent flow in a real browser: headless Chromium, driven over WebDriver, opens the
//! address `oauth-templates authorize` prints, picks an account on the embedded provider's
//! consent page, presses Agree (then, in a second run, Cancel), and lands on the CLI's loopback
//! callback page. Screenshots of both pages go to `target/test-artifacts/`.
//!
//! The config is a real app's (`https://acme.myfreshworks.com/…`): the CLI reaches that name at
//! the provider with `--resolve` and trusts its authority with `--ca-cert`; Chromium maps the
//! name with `--host-resolver-rules` and accepts the provider's key by its hash.
//!
//! Needs `chromium` and `chromedriver` (Debian packages `chromium` and `chromium-driver`),
//! installed by `scripts/install-browser`, which `scripts/test` runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use oauth_mock::Provider;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "browser-secret";
/// The organisation's FreshID domain, answered by the embedded provider over https.
const ORG_DOMAIN: &str = "acme.myfreshworks.com";

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn app(provider: &Provider) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oauth-cli-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(dir.join("ca.pem"), provider.ca_certificate().unwrap()).unwrap();
    let host = ORG_DOMAIN;
    std::fs::write(
        dir.join("config/oauth_config.json"),
        format!(
            r#"{{ "integrations": {{ "freshservice": {{ "display_name": "Freshservice",
                "client_id": "browser-client", "client_secret": "",
                "authorize_url": "https://{host}/org/oauth/v2/authorize",
                "token_url": "https://{host}/org/oauth/v2/token",
                "options": {{ "scope": "freshservice.tickets.create freshservice.tickets.view" }},
                "token_type": "account" }} }} }}"#
        ),
    )
    .unwrap();
    dir
}

/// Chromedriver on a free port, and a headless Chromium session through it that reaches the
/// organisation's domain at the provider and accepts its certificate.
async fn browser(provider: &Provider) -> (tokio::process::Child, Client) {
    let missing = "chromium and chromedriver are needed: run `scripts/install-browser` \
                   (Debian packages chromium and chromium-driver)";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect(missing);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = std::env::temp_dir().join(format!("oauth-cli-chromium-{}", std::process::id()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "binary": which("chromium").expect(missing),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=900,760",
                format!("--user-data-dir={}", profile.display()),
                format!(
                    "--host-resolver-rules=MAP {ORG_DOMAIN} {}",
                    provider.https_address().unwrap()
                ),
                format!(
                    "--ignore-certificate-errors-spki-list={}",
                    provider.server_spki_sha256().unwrap()
                ),
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

fn which(program: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
}

/// Starts `authorize freshservice` and returns it with the address it printed.
async fn start_authorize(
    dir: &Path,
    provider: &Provider,
) -> (tokio::process::Child, String, Vec<String>) {
    let resolve = format!("{ORG_DOMAIN}:{}", provider.https_address().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_oauth-templates"))
        .args(["authorize", "freshservice", "--no-browser", "--port", "0"])
        .args(["--ca-cert", "ca.pem", "--resolve", &resolve])
        .current_dir(dir)
        .env("OAUTH_FRESHSERVICE_CLIENT_SECRET", SECRET)
        .env_remove("OAUTH_TEMPLATES_STORE_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the CLI printed the address");
        printed.push(line.clone());
        if let Some(address) = line.trim().strip_prefix("http://") {
            break format!("http://{address}");
        }
    };
    // The rest of its output is read when it exits.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, address, printed)
}

async fn finish(child: tokio::process::Child) -> (i32, String) {
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the CLI finished")
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Waits until the browser has landed on the loopback callback page.
async fn landed_on_callback(client: &Client) -> url::Url {
    for _ in 0..200 {
        let url = client.current_url().await.unwrap();
        if url.path() == "/auth/callback" && client.find(Locator::Css("h1")).await.is_ok() {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = client.current_url().await.unwrap();
    let text = body_text(client).await;
    panic!("the browser never reached the callback page; it is at {url}:\n{text}");
}

async fn body_text(client: &Client) -> String {
    let body = client
        .wait()
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
    body.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_in_a_real_browser_authorizes_and_cancel_does_not() {
    let provider = Provider::builder()
        .client("browser-client", SECRET, "Browser test app")
        .https([ORG_DOMAIN])
        .start()
        .await
        .unwrap();
    let dir = app(&provider);
    let (_driver, client) = browser(&provider).await;

    // Agree, as the second account, on the consent page served over https.
    let (cli, address, _) = start_authorize(&dir, &provider).await;
    client.goto(&address).await.unwrap();
    let consent = client.current_url().await.unwrap();
    assert_eq!(
        (consent.scheme(), consent.host_str()),
        ("https", Some(ORG_DOMAIN))
    );
    let page = body_text(&client).await;
    assert!(
        page.contains("Browser test app wants to access your account"),
        "{page}"
    );
    assert!(
        page.contains("freshservice.tickets.create") && page.contains("globex.myfreshworks.com")
    );
    client
        .find(Locator::Css("#account-1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    std::fs::write(
        artifacts().join("consent.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client
        .find(Locator::Css("#agree"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let landed = landed_on_callback(&client).await;
    assert_eq!(landed.host_str(), Some("localhost"));
    let page = body_text(&client).await;
    assert!(
        page.contains("freshservice is authorized. You can close this window."),
        "{page}"
    );
    std::fs::write(
        artifacts().join("callback.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    let (code, stderr) = finish(cli).await;
    assert_eq!(code, 0, "{stderr}");
    let stored = std::fs::read_to_string(dir.join(".oauth-templates/tokens.json")).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let token = stored["records"][0]["access_token"].as_str().unwrap();
    assert_eq!(
        provider.account_of(token).as_deref(),
        Some("globex.myfreshworks.com"),
        "the token is for the account picked in the browser"
    );
    assert_eq!(provider.token_requests(), 1);

    // Cancel: the CLI reports the app unauthorized.
    let (cli, address, _) = start_authorize(&dir, &provider).await;
    client.goto(&address).await.unwrap();
    client
        .find(Locator::Css("#cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    landed_on_callback(&client).await;
    let page = body_text(&client).await;
    assert!(
        page.contains("You cancelled: freshservice stays unauthorized."),
        "{page}"
    );
    let (code, stderr) = finish(cli).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("not authorized: the authorization of `freshservice` was cancelled"),
        "{stderr}"
    );
    assert_eq!(provider.token_requests(), 1, "Cancel asks for no token");
    client.close().await.unwrap();
}
