//! The loopback callback server: one callback, a page that leaks nothing, 404 elsewhere,
//! loopback only, a time limit.

use std::time::Duration;

use oauth_runtime::loopback::{CallbackServer, CallbackServerError};
use oauth_runtime::{CallbackOutcome, MemoryStore, Runtime, Subject, TokenKey};

use crate::support::Provider;

/// A callback server on `uri`, a runtime whose `crm` integration redirects to it, and the
/// authorization started for the installation, with its `state`.
async fn listening(
    provider: &Provider,
    uri: &str,
) -> (
    CallbackServer,
    Runtime,
    oauth_runtime::AuthorizationRequest,
    String,
) {
    let server = CallbackServer::bind(&url::Url::parse(uri).unwrap())
        .await
        .unwrap();
    let runtime = provider.authorizing_runtime(server.redirect_uri().as_str());
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state = request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    (server, runtime, request, state)
}

#[tokio::test]
async fn only_plain_http_on_loopback_with_a_port_is_served() {
    for uri in [
        "https://localhost:10001/auth/callback",
        "http://example.com:10001/auth/callback",
        "http://192.168.1.2:10001/auth/callback",
        "http://localhost/auth/callback",
    ] {
        let error = CallbackServer::bind(&url::Url::parse(uri).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(error, CallbackServerError::NotLoopback(_)),
            "{uri}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_callback_through_the_loopback_server_stores_the_token() {
    let provider = Provider::start().await;
    let (server, runtime, request, state) =
        listening(&provider, "http://localhost:0/auth/callback").await;
    let redirect = server.redirect_uri().clone();
    assert_ne!(redirect.port(), Some(0));
    // The "browser": first a stray request, then the redirect.
    let browser = tokio::spawn({
        let redirect = redirect.clone();
        async move {
            let http = reqwest::Client::new();
            let mut favicon = redirect.clone();
            favicon.set_path("/favicon.ico");
            let stray = http.get(favicon).send().await.unwrap();
            assert_eq!(stray.status(), 404);
            let mut back = redirect.clone();
            back.query_pairs_mut()
                .append_pair("code", "good-code")
                .append_pair("state", &state);
            http.get(back).send().await.unwrap()
        }
    });
    let (callback, reply) = server
        .receive(&request, Duration::from_secs(10))
        .await
        .unwrap();
    let outcome = runtime
        .complete_authorization("crm", None, &callback)
        .await
        .unwrap();
    assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));
    reply.finish(Ok(&outcome)).await;
    let page = browser.await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let text = page.text().await.unwrap();
    assert!(text.contains("crm is authorized"), "{text}");
    assert!(
        !text.contains("good-code"),
        "the page does not echo the code"
    );
    let stored = runtime
        .store()
        .unwrap()
        .load(&TokenKey::installation("crm"))
        .await
        .unwrap();
    assert!(stored.is_some());
    // One-shot: nobody listens any more.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(reqwest::Client::new().get(redirect).send().await.is_err());
}

/// A runtime whose `crm` integration redirects to `redirect`, and an authorization started.
async fn started(redirect: &url::Url) -> (Runtime, oauth_runtime::AuthorizationRequest) {
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(
            oauth_runtime::IntegrationConfig::new(
                "crm",
                "https://auth.example.com/token",
                "id",
                "s",
            )
            .unwrap()
            .authorize_url("https://auth.example.com/authorize")
            .unwrap()
            .redirect_uri(redirect.as_str())
            .unwrap(),
        )
        .build()
        .unwrap();
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    (runtime, request)
}

#[tokio::test]
async fn no_callback_in_time_is_an_error() {
    let server = CallbackServer::bind(&url::Url::parse("http://127.0.0.1:0/cb").unwrap())
        .await
        .unwrap();
    let (_runtime, request) = started(server.redirect_uri()).await;
    let error = server
        .receive(&request, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackServerError::TimedOut(_)));
    assert_eq!(
        error.to_string(),
        "no callback arrived within 100ms: the authorization was not completed"
    );
}

#[tokio::test]
async fn forged_callbacks_cannot_spend_the_real_one() {
    let server =
        CallbackServer::bind(&url::Url::parse("http://localhost:0/auth/callback").unwrap())
            .await
            .unwrap();
    let redirect = server.redirect_uri().clone();
    let (_runtime, request) = started(&redirect).await;
    let state = request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let port = redirect.port().unwrap();
    let waiting =
        tokio::spawn(async move { server.receive(&request, Duration::from_secs(10)).await });
    let http = reqwest::Client::new();
    for (url, host) in [
        (
            format!("http://127.0.0.1:{port}/auth/callback?code=x&state=forged"),
            None,
        ),
        (
            format!("http://127.0.0.1:{port}/auth/callback?code=x&xstate={state}"),
            None,
        ),
        (
            format!("http://127.0.0.1:{port}/elsewhere?code=x&state={state}"),
            None,
        ),
        // DNS rebinding: the right state, but the browser thinks it talks to another site.
        (
            format!("http://127.0.0.1:{port}/auth/callback?code=x&state={state}"),
            Some("evil.example:80"),
        ),
    ] {
        let mut forged = http.get(&url);
        if let Some(host) = host {
            forged = forged.header("host", host);
        }
        assert_eq!(forged.send().await.unwrap().status(), 404, "{url} {host:?}");
    }
    let real = tokio::spawn(reqwest::get(format!("{redirect}?code=good&state={state}")));
    let (callback, reply) = waiting.await.unwrap().unwrap();
    reply.finish(Err("checked")).await;
    assert_eq!(real.await.unwrap().unwrap().status(), 400);
    assert!(format!("{callback:?}").contains("[REDACTED]"));
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let uri = url::Url::parse(&format!("http://localhost:{port}/auth/callback")).unwrap();
    let error = CallbackServer::bind(&uri).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is another program using the port?"),
        "{error}"
    );
}

/// Out of file descriptors under a flood of connections, the callback server keeps its port
/// (no other program can bind it and receive the code), and the real callback, sent after the
/// flood, completes.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_connection_flood_past_the_descriptor_limit_never_releases_the_port() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    let provider = Provider::start().await;
    let (server, runtime, request, state) =
        listening(&provider, "http://127.0.0.1:0/auth/callback").await;
    let redirect = server.redirect_uri().clone();
    let address = format!("127.0.0.1:{}", redirect.port().unwrap());
    let receiving =
        tokio::spawn(async move { server.receive(&request, Duration::from_secs(60)).await });

    // Under nextest each test has a process of its own, so a low limit is felt by this
    // server alone; under `cargo test` (threads of one process) it would starve other tests.
    let own_process = std::env::var_os("NEXTEST").is_some();
    if !own_process {
        eprintln!("not under cargo nextest: the descriptor limit is left as it is");
    }
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let before = getrlimit(Resource::Nofile);
    if own_process {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(open_now + 64),
                maximum: before.maximum,
            },
        )
        .unwrap();
    }
    let mut flood = Vec::new();
    for _ in 0..if own_process { 1000 } else { 200 } {
        match tokio::net::TcpStream::connect(&address).await {
            Ok(stream) => flood.push(stream),
            Err(_) => break,
        }
        tokio::task::yield_now().await;
    }
    // Let the server meet the limit on its accepts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(flood);
    setrlimit(Resource::Nofile, before).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Nobody else can take the port…
    let taken = std::net::TcpListener::bind(&address);
    assert!(taken.is_err(), "the port was released during the flood");
    // …and the browser's callback still lands.
    let page = tokio::time::timeout(
        Duration::from_secs(20),
        reqwest::get(format!("{redirect}?code=good-code&state={state}")),
    );
    let (outcome, page) = tokio::join!(
        async {
            let (callback, reply) = receiving.await.unwrap().unwrap();
            let outcome = runtime.complete_authorization("crm", None, &callback).await;
            reply.finish(outcome.as_ref().map_err(|_| "failed")).await;
            outcome
        },
        page
    );
    assert!(
        matches!(outcome, Ok(CallbackOutcome::Authorized { .. })),
        "{outcome:?}"
    );
    assert!(page.unwrap().is_ok());
}
