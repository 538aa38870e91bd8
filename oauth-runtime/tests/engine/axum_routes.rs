//! The axum routes (feature `axum`): authorize redirects to the provider, the callback stores
//! the tokens; a forged state or an unknown integration is refused.

use oauth_runtime::{MemoryStore, Runtime, TokenKey};

use crate::support::Provider;

#[tokio::test]
async fn a_server_app_installs_at_account_level_through_its_routes() {
    let provider = Provider::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let runtime = provider.authorizing_runtime(&format!("{base}/oauth/crm/callback"));
    let app = oauth_runtime::axum::routes(runtime.clone(), "/oauth");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let redirect = http
        .get(format!("{base}/oauth/crm/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let cookie = redirect.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("auth.example.com"));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("redirect_uri"),
        Some(format!("{base}/oauth/crm/callback"))
    );
    let state = get("state").unwrap();

    let forged = http
        .get(format!(
            "{base}/oauth/crm/callback?code=good-code&state=forged"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(forged.text().await.unwrap().contains("refused"));
    // The right state from another browser (no cookie): refused, and the state is not spent.
    let elsewhere = http
        .get(format!(
            "{base}/oauth/crm/callback?code=good-code&state={state}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 400);
    assert!(
        elsewhere
            .text()
            .await
            .unwrap()
            .contains("does not come from the browser")
    );
    assert_eq!(provider.token_requests(), 0);

    let done = http
        .get(format!(
            "{base}/oauth/crm/callback?code=good-code&state={state}"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(done.headers()["referrer-policy"], "no-referrer");
    assert!(done.text().await.unwrap().contains("crm is authorized"));
    let stored = runtime
        .store()
        .unwrap()
        .load(&TokenKey::installation("crm"))
        .await
        .unwrap();
    assert!(stored.is_some());

    let unknown = http
        .get(format!("{base}/oauth/nope/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn an_integration_named_in_the_url_cannot_forge_log_lines() {
    use base64::Engine as _;
    let capture = crate::secrets::Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let app = oauth_runtime::axum::routes(runtime, "/oauth");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The cookie the routes expect is the state's hash: anyone can make a matching pair.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"x");
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    let answer = reqwest::Client::new()
        .get(format!(
            "{base}/oauth/evil%0A2026-01-01T00:00:00Z%20ERROR%20forged/callback?code=c&state=x"
        ))
        .header(
            "cookie",
            format!("oauth_state_evil_2026_01_01T00_00_00Z_ERROR_forged={hash}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("authorization callback refused"),
        "{logged}"
    );
    assert!(
        !logged
            .lines()
            .any(|line| line.starts_with("2026-01-01T00:00:00Z ERROR forged")),
        "a forged log line: {logged}"
    );
}

/// Many installations behind one server: the installation comes from the authorize route's
/// path, the one callback route finds it from the `state`, and each installation's tokens are
/// stored apart.
#[tokio::test]
async fn installations_authorize_through_one_callback_route() {
    let provider = Provider::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let runtime = provider.authorizing_runtime(&format!("{base}/oauth/crm/callback"));
    let app = oauth_runtime::axum::installation_routes(runtime.clone(), "/oauth");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for installation in ["acme", "globex.example.com"] {
        let redirect = http
            .get(format!("{base}/oauth/{installation}/crm/authorize"))
            .send()
            .await
            .unwrap();
        assert_eq!(redirect.status(), 302);
        let cookie = redirect.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
        let state = location
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let done = http
            .get(format!(
                "{base}/oauth/crm/callback?code=good-code&state={state}"
            ))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200, "{installation}");
    }
    let store = runtime.store().unwrap();
    let mut installations: Vec<String> = store
        .keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.installation.as_str().to_string())
        .collect();
    installations.sort();
    assert_eq!(installations, ["acme", "globex.example.com"]);
    assert!(
        store
            .load(&TokenKey::installation("crm"))
            .await
            .unwrap()
            .is_none()
    );
    // An installation id that is none (a path with other characters) is refused.
    let odd = http
        .get(format!("{base}/oauth/a%20b/crm/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 404);
    assert_eq!(provider.token_requests(), 2);
}
