//! The embedded provider as a client sees it: the consent page, Agree and Cancel, the token
//! endpoint's checks, rotation, faults, and the tickets API's 401 / 403.

use std::time::Duration;

use base64::Engine as _;
use oauth_mock::{Fault, Provider};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://localhost:10001/auth/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn authorize_url(provider: &Provider, scope: &str) -> String {
    format!(
        "{}/org/oauth/v2/authorize?client_id=client&redirect_uri={}&response_type=code&scope={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256",
        provider.url(),
        urlencode(REDIRECT),
        urlencode(scope)
    )
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(pairs);
    form.finish()
}

async fn post(
    provider: &Provider,
    path: &str,
    auth: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut request = http()
        .post(format!("{}{path}", provider.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

/// Submits the consent form as the browser would, with `decision`.
async fn decide(provider: &Provider, scope: &str, account: &str, decision: &str) -> url::Url {
    let body = form(&[
        ("client_id", "client"),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("account", account),
        ("decision", decision),
    ]);
    let response = post(provider, "/org/oauth/v2/authorize", None, body).await;
    assert_eq!(response.status(), 302);
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn exchange(
    provider: &Provider,
    code: &str,
    verifier: &str,
    auth: &str,
) -> reqwest::Response {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]);
    post(provider, "/org/oauth/v2/token", Some(auth), body).await
}

async fn refresh(provider: &Provider, token: &str) -> reqwest::Response {
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    post(
        provider,
        "/org/oauth/v2/token",
        Some(&basic("client", "secret")),
        body,
    )
    .await
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_consent_page_offers_accounts_and_marks_scopes_already_granted() {
    let provider = Provider::start().await.unwrap();
    let scope = "freshservice.tickets.create freshservice.tickets.view";
    let page = http()
        .get(authorize_url(&provider, scope))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test app wants to access your account"),
        "{html}"
    );
    assert!(html.contains("value=\"acme.myfreshworks.com\""), "{html}");
    assert!(html.contains("value=\"globex.myfreshworks.com\""), "{html}");
    assert!(
        html.contains("<li class=\"new\">freshservice.tickets.create</li>"),
        "{html}"
    );
    assert!(html.contains("id=\"agree\"") && html.contains("id=\"cancel\""));

    // Agreeing to one scope; the next request shows it as granted.
    decide(
        &provider,
        "freshservice.tickets.create",
        "acme.myfreshworks.com",
        "agree",
    )
    .await;
    let html = http()
        .get(authorize_url(&provider, scope))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("freshservice.tickets.create (already granted)"),
        "{html}"
    );
    assert!(
        html.contains("<li class=\"new\">freshservice.tickets.view</li>"),
        "{html}"
    );

    let unknown_client = format!(
        "{}/org/oauth/v2/authorize?client_id=nobody&redirect_uri=x&response_type=code",
        provider.url()
    );
    assert_eq!(
        http().get(unknown_client).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied() {
    let provider = Provider::start().await.unwrap();
    let back = decide(&provider, "x", "acme.myfreshworks.com", "cancel").await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&back, "code"), None);
}

#[tokio::test]
async fn codes_are_single_use_and_need_the_client_and_the_verifier() {
    let provider = Provider::start().await.unwrap();
    let scope = "freshservice.tickets.create";
    let code = |url: url::Url| param(&url, "code").unwrap();
    let good = basic("client", "secret");

    let first = code(decide(&provider, scope, "acme.myfreshworks.com", "agree").await);
    let wrong_client = exchange(&provider, &first, VERIFIER, &basic("client", "wrong")).await;
    assert_eq!(wrong_client.status(), 401);
    // A wrong client does not spend the code; a wrong verifier does (codes are single use).
    assert_eq!(
        exchange(&provider, &first, "not-the-verifier", &good)
            .await
            .status(),
        400
    );
    assert_eq!(
        exchange(&provider, &first, VERIFIER, &good).await.status(),
        400
    );

    let second = code(decide(&provider, scope, "acme.myfreshworks.com", "agree").await);
    let body = json(exchange(&provider, &second, VERIFIER, &good).await).await;
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], scope);
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("fs_rt_")
    );
    let twice = exchange(&provider, &second, VERIFIER, &good).await;
    assert_eq!(twice.status(), 400, "used twice");
    assert_eq!(provider.token_requests(), 5);
}

#[tokio::test]
async fn refresh_tokens_rotate_when_asked_and_die_when_revoked() {
    let provider = Provider::builder()
        .client("client", "secret", "Test app")
        .rotate_refresh_tokens(true)
        .start()
        .await
        .unwrap();
    let back = decide(&provider, "s", "acme.myfreshworks.com", "agree").await;
    let code = param(&back, "code").unwrap();
    let body = json(exchange(&provider, &code, VERIFIER, &basic("client", "secret")).await).await;
    let first = body["refresh_token"].as_str().unwrap().to_string();
    let renewed = json(refresh(&provider, &first).await).await;
    let second = renewed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(
        refresh(&provider, &first).await.status(),
        400,
        "the old one is dead"
    );

    provider.rotate_refresh_tokens(false);
    let kept = json(refresh(&provider, &second).await).await;
    assert!(
        kept.get("refresh_token").is_none(),
        "no new refresh token without rotation"
    );
    assert_eq!(
        refresh(&provider, &second).await.status(),
        200,
        "still alive"
    );

    provider.revoke_refresh_tokens();
    let refused = json(refresh(&provider, &second).await).await;
    assert_eq!(refused["error"], "invalid_grant");
}

#[tokio::test]
async fn faults_come_in_order() {
    let provider = Provider::start().await.unwrap();
    provider.fault(Fault::ServerError);
    provider.fault(Fault::RateLimited(3));
    provider.fault(Fault::InvalidGrant);
    provider.fault(Fault::Slow(Duration::from_millis(300)));
    assert_eq!(refresh(&provider, "x").await.status(), 503);
    let limited = refresh(&provider, "x").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "3");
    assert_eq!(refresh(&provider, "x").await.status(), 400);
    let started = std::time::Instant::now();
    let slow = refresh(&provider, "x").await;
    assert_eq!(slow.status(), 400, "slow, then served: an unknown token");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_tickets_api_wants_a_live_token_with_the_right_scope() {
    let provider = Provider::builder()
        .client("client", "secret", "Test app")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    // Auto-consent: the authorize URL redirects at once with a code.
    let back = http()
        .get(authorize_url(&provider, "freshservice.tickets.create"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302);
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let code = param(&back, "code").unwrap();
    let body = json(exchange(&provider, &code, VERIFIER, &basic("client", "secret")).await).await;
    let token = body["access_token"].as_str().unwrap().to_string();
    let tickets = format!("{}/api/v2/tickets", provider.url());
    let create = |body: &str| {
        http()
            .post(&tickets)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };

    let created = create(r#"{"subject":"Hello","description":"World","priority":3}"#)
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created = json(created).await;
    assert_eq!(created["ticket"]["id"], 1);
    assert_eq!(created["ticket"]["priority"], 3);
    assert_eq!(created["ticket"]["status"], 2);

    let invalid = create("{}").await.unwrap();
    assert_eq!(invalid.status(), 400);
    assert_eq!(json(invalid).await["description"], "Validation failed");

    // The token was granted `create` only: viewing is forbidden.
    let list = http()
        .get(&tickets)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 403);
    let unknown = http()
        .get(&tickets)
        .bearer_auth("nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    provider.expire_access_tokens();
    let expired = create(r#"{"subject":"a","description":"b"}"#)
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(provider.tickets().len(), 1);
}

#[tokio::test]
async fn the_consent_form_carries_only_the_request_and_redirects_only_to_loopback() {
    let provider = Provider::builder()
        .client("client", "secret", "Test app")
        .require_pkce(true)
        .start()
        .await
        .unwrap();
    // Parameters slipped into the URL do not answer for the user.
    let sneaky = format!(
        "{}&decision=agree&account=globex.myfreshworks.com",
        authorize_url(&provider, "s")
    );
    let html = http()
        .get(sneaky)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("name=\"decision\" value=\"agree\"><"),
        "{html}"
    );
    assert!(
        !html.contains("type=\"hidden\" name=\"decision\""),
        "{html}"
    );
    assert!(!html.contains("type=\"hidden\" name=\"account\""), "{html}");

    for redirect in [
        "https://evil.example/cb",
        "http://localhost.evil.example/cb",
        "http://user@127.0.0.1.evil/cb",
    ] {
        let url = format!(
            "{}/org/oauth/v2/authorize?client_id=client&redirect_uri={}&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256",
            provider.url(),
            urlencode(redirect)
        );
        assert_eq!(
            http().get(url).send().await.unwrap().status(),
            400,
            "{redirect}"
        );
    }
    let without_pkce = format!(
        "{}/org/oauth/v2/authorize?client_id=client&redirect_uri={}&response_type=code",
        provider.url(),
        urlencode(REDIRECT)
    );
    assert_eq!(
        http().get(without_pkce).send().await.unwrap().status(),
        400,
        "PKCE required"
    );
}

#[tokio::test]
async fn a_code_needs_the_same_redirect_uri() {
    let provider = Provider::start().await.unwrap();
    let back = decide(&provider, "s", "globex.myfreshworks.com", "agree").await;
    let code = param(&back, "code").unwrap();
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://localhost:10001/other"),
        ("code_verifier", VERIFIER),
    ]);
    let response = post(
        &provider,
        "/org/oauth/v2/token",
        Some(&basic("client", "secret")),
        body,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["error"], "invalid_grant");
}

/// Each organisation's Freshservice domain takes only its own organisation's tokens; the
/// organisation of an auto-consented authorization is the one its request was sent to.
#[tokio::test]
async fn an_organisations_api_refuses_another_organisations_token() {
    let provider = Provider::builder()
        .client("client", "secret", "Test app")
        .start()
        .await
        .unwrap();
    let back = decide(
        &provider,
        "freshservice.tickets.view",
        "globex.myfreshworks.com",
        "agree",
    )
    .await;
    let code = param(&back, "code").unwrap();
    let body = json(exchange(&provider, &code, VERIFIER, &basic("client", "secret")).await).await;
    let token = body["access_token"].as_str().unwrap().to_string();
    let list = |host: Option<&str>| {
        let mut request = http()
            .get(format!("{}/api/v2/tickets", provider.url()))
            .bearer_auth(&token);
        if let Some(host) = host {
            request = request.header(reqwest::header::HOST, host);
        }
        request.send()
    };
    assert_eq!(
        list(Some("acme.freshservice.com")).await.unwrap().status(),
        403
    );
    assert_eq!(
        list(Some("globex.freshservice.com"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(list(None).await.unwrap().status(), 200);

    // Auto-consent answers for the organisation the authorize request was sent to.
    let auto = Provider::builder()
        .client("client", "secret", "Test app")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let back = http()
        .get(authorize_url(&auto, "freshservice.tickets.view"))
        .header(reqwest::header::HOST, "globex.myfreshworks.com")
        .send()
        .await
        .unwrap();
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let code = param(&back, "code").unwrap();
    let body = json(exchange(&auto, &code, VERIFIER, &basic("client", "secret")).await).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        auto.account_of(token).as_deref(),
        Some("globex.myfreshworks.com")
    );
}
