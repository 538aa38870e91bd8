//! Interop with a real OAuth 2.0 server nobody here wrote: panva/oidc-provider (npm, pinned in
//! `tests/interop/package-lock.json`, installed by `scripts/install-interop`), started on
//! loopback: authorize → loopback callback → code exchange with PKCE → refresh (rotating) →
//! an invalid refresh token gives ReauthorizationRequired.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use oauth_runtime::loopback::CallbackServer;
use oauth_runtime::{
    CallbackOutcome, DeadToken, IntegrationConfig, InvokeError, MemoryStore, ReauthorizationReason,
    Runtime, Subject, TokenKey, TokenSet,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{Engine, GetThingContext};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Starts the server on a free port; killed when the child is dropped.
async fn start_server(redirect_uri: &url::Url) -> (tokio::process::Child, u16) {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "the interop test's OAuth server is not installed: run `scripts/install-interop` \
         (it runs `npm ci` in oauth-runtime/tests/interop; needs Node.js 20+ and the npm registry)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new("node")
        .arg("server.mjs")
        .arg(port.to_string())
        .arg(redirect_uri.as_str())
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("READY ") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the OAuth server did not start");
    // It logs notices to stdout as it goes: keep reading, or it dies of a broken pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

/// The user's browser: follows the authorization server's redirects, keeping its cookies,
/// until it is sent to the redirect URI, then goes there.
async fn browse(start: url::Url, redirect_uri: url::Url) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: HashMap<String, String> = HashMap::new();
    let mut url = start;
    for _ in 0..12 {
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = http
            .get(url.clone())
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        if url.origin() == redirect_uri.origin() {
            return response;
        }
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.trim().to_string(), value.to_string());
            }
        }
        assert!(
            response.status().is_redirection(),
            "{} at {url}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap();
        url = url.join(location).unwrap();
    }
    panic!("too many redirects");
}

#[tokio::test]
async fn the_whole_lifecycle_against_a_real_oauth_server() {
    let callback = CallbackServer::bind(&url::Url::parse("http://127.0.0.1:0/cb").unwrap())
        .await
        .unwrap();
    let redirect_uri = callback.redirect_uri().clone();
    let (_server, port) = start_server(&redirect_uri).await;
    let issuer = format!("http://127.0.0.1:{port}");

    // The API: accepts any bearer token and says which one it got.
    let api = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(|request: &Request| {
            let auth = request
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "auth": auth }))
        })
        .mount(&api)
        .await;

    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(
            IntegrationConfig::new(
                "crm",
                &format!("{issuer}/token"),
                "interop-client",
                "interop-secret",
            )
            .unwrap()
            .authorize_url(&format!("{issuer}/auth"))
            .unwrap()
            .redirect_uri(redirect_uri.as_str())
            .unwrap()
            .scopes(["read", "write"]),
        )
        .build()
        .unwrap();

    // Authorize: the browser goes through the server's login and consent to our callback.
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let browser = tokio::spawn(browse(request.url().clone(), redirect_uri.clone()));
    let (received, reply) = callback
        .receive(&request, Duration::from_secs(20))
        .await
        .unwrap();
    let outcome = runtime.complete_authorization("crm", None, &received).await;
    reply.finish(outcome.as_ref().map_err(|_| "failed")).await;
    assert_eq!(
        outcome.unwrap(),
        CallbackOutcome::Authorized {
            integration: "crm".into(),
            subject: Subject::Installation,
            installation: oauth_runtime::InstallationId::default(),
        }
    );
    assert_eq!(browser.await.unwrap().status(), 200);

    let key = TokenKey::installation("crm");
    let store = runtime.store().unwrap().clone();
    let first = store.load(&key).await.unwrap().unwrap().record.tokens;
    assert_eq!(first.granted_scopes().unwrap(), ["read", "write"]);
    let first_refresh = first.refresh_token().unwrap().to_string();

    let engine = Engine::new(runtime.clone());
    let context = GetThingContext {
        port: api.address().port().to_string(),
        id: "1".into(),
    };
    let sent = |response: oauth_runtime::Response| {
        response.json::<serde_json::Value>().unwrap()["auth"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let auth = sent(engine.get_thing(&context).send().await.unwrap());
    assert_eq!(auth, format!("Bearer {}", first.access_token().secret()));

    // Refresh: expire the access token; the server issues new tokens and rotates the refresh token.
    let expired = first
        .clone()
        .with_expires_at(std::time::SystemTime::now() - Duration::from_secs(1));
    runtime.save_tokens(&key, expired).await.unwrap();
    let auth = sent(engine.get_thing(&context).send().await.unwrap());
    let second = store.load(&key).await.unwrap().unwrap().record.tokens;
    assert_eq!(auth, format!("Bearer {}", second.access_token().secret()));
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    assert_ne!(
        second.refresh_token().unwrap(),
        first_refresh,
        "the server rotated it"
    );

    // An invalid refresh token: the server answers invalid_grant; the user must authorize again.
    runtime
        .save_tokens(
            &key,
            TokenSet::new("expired")
                .with_refresh_token("not-a-real-refresh-token")
                .with_expires_at(std::time::SystemTime::now() - Duration::from_secs(1)),
        )
        .await
        .unwrap();
    let error = engine.get_thing(&context).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeError::ReauthorizationRequired {
                reason: ReauthorizationReason::Dead(DeadToken::RefreshTokenRejected),
                ..
            }
        ),
        "{error:?}"
    );
}
