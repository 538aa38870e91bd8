//! A fake authorization server and API on wiremock: it issues distinct tokens, rotates refresh
//! tokens if asked, accepts only the access tokens it issued (or was told to), injects faults,
//! and logs what happened in order.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth_runtime::{
    IntegrationConfig, MemoryStore, Runtime, RuntimeBuilder, TokenKey, TokenRecord, TokenSet,
    TokenStore,
};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the token endpoint answers next instead of tokens.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    Status(u16),
    RetryAfter(u16, String),
    InvalidGrant,
    Slow(Duration),
    /// Grants as usual, but the answer arrives after this long (it may be lost to a timeout).
    Hang(Duration),
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) token_requests: AtomicUsize,
    issued: AtomicUsize,
    pub(crate) accepted: Mutex<HashSet<String>>,
    pub(crate) live_refresh: Mutex<HashSet<String>>,
    pub(crate) rotate: AtomicBool,
    /// The API answers 401 to every token.
    pub(crate) reject_all: AtomicBool,
    /// The lifetime of issued access tokens, in seconds (1800 when 0).
    pub(crate) lifetime: std::sync::atomic::AtomicU64,
    faults: Mutex<VecDeque<Fault>>,
    pub(crate) events: Mutex<Vec<String>>,
    pub(crate) token_authorization: Mutex<Vec<String>>,
    /// The forms of authorization-code exchanges, as received.
    pub(crate) exchanges: Mutex<Vec<Vec<(String, String)>>>,
    /// The PKCE challenge the next exchange must match, if any.
    pub(crate) challenge: Mutex<Option<String>>,
    /// A field set, as written, in the next refresh's answer (a provider's odd typing).
    pub(crate) odd_field: Mutex<Option<(String, serde_json::Value)>>,
}

pub(crate) struct Provider {
    pub(crate) server: MockServer,
    pub(crate) state: Arc<State>,
}

pub(crate) const CLIENT_SECRET: &str = "sekrit-client-secret";

impl Provider {
    pub(crate) async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(State::default());
        Mock::given(method("POST"))
            .and(path_regex("^/[a-z]+/token$"))
            .respond_with(TokenEndpoint(state.clone()))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path_regex("^/(things|invoices|messages)"))
            .respond_with(Api(state.clone()))
            .with_priority(5)
            .mount(&server)
            .await;
        Provider { server, state }
    }

    pub(crate) fn port(&self) -> String {
        self.server.address().port().to_string()
    }

    pub(crate) fn integration(&self, name: &str) -> IntegrationConfig {
        IntegrationConfig::new(
            name,
            &format!("{}/{name}/token", self.server.uri()),
            format!("{name}-client"),
            CLIENT_SECRET,
        )
        .unwrap()
    }

    /// A runtime on `store` that refreshes the three integrations here, with no jitter.
    pub(crate) fn builder(&self, store: impl TokenStore) -> RuntimeBuilder {
        Runtime::builder()
            .store(store)
            .integration(self.integration("crm"))
            .integration(self.integration("billing"))
            .integration(self.integration("chat"))
            .refresh_jitter(Duration::ZERO)
    }

    pub(crate) fn runtime(&self, store: impl TokenStore) -> Runtime {
        self.builder(store).build().unwrap()
    }

    /// A runtime on a `MemoryStore` whose `crm` integration authorizes at
    /// `https://auth.example.com/authorize` and sends the user back to `redirect_uri`.
    pub(crate) fn authorizing_runtime(&self, redirect_uri: &str) -> Runtime {
        Runtime::builder()
            .store(MemoryStore::new())
            .integration(
                self.integration("crm")
                    .authorize_url("https://auth.example.com/authorize")
                    .unwrap()
                    .redirect_uri(redirect_uri)
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    /// The API accepts `token`.
    pub(crate) fn accept(&self, token: &str) {
        self.state
            .accepted
            .lock()
            .unwrap()
            .insert(token.to_string());
    }

    /// The token endpoint accepts `refresh`.
    pub(crate) fn live_refresh(&self, refresh: &str) {
        self.state
            .live_refresh
            .lock()
            .unwrap()
            .insert(refresh.to_string());
    }

    pub(crate) fn fault(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    pub(crate) fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn events(&self) -> Vec<String> {
        self.state.events.lock().unwrap().clone()
    }

    /// The usual start: the installation's `crm` token expired a minute ago, refreshable with
    /// `sekrit-refresh-0`.
    pub(crate) async fn seed_expired(&self, runtime: &Runtime) {
        self.seed_expired_for(runtime, &TokenKey::installation("crm"))
            .await;
    }

    /// `key`'s token expired a minute ago, refreshable with `sekrit-refresh-0`.
    pub(crate) async fn seed_expired_for(&self, runtime: &Runtime, key: &TokenKey) {
        let (access, refresh) = ("sekrit-expired", Some("sekrit-refresh-0"));
        self.seed(runtime, key, access, false, -60, refresh).await;
    }

    /// Stores tokens for `key`: `access` (accepted by the API if `accepted`) expiring in
    /// `expires_in` seconds (negative: already expired), refreshable with `refresh`.
    pub(crate) async fn seed(
        &self,
        runtime: &Runtime,
        key: &TokenKey,
        access: &str,
        accepted: bool,
        expires_in: i64,
        refresh: Option<&str>,
    ) {
        let now = std::time::SystemTime::now();
        let at = if expires_in >= 0 {
            now + Duration::from_secs(expires_in as u64)
        } else {
            now - Duration::from_secs(expires_in.unsigned_abs())
        };
        let mut tokens = TokenSet::new(access).with_expires_at(at);
        if let Some(refresh) = refresh {
            tokens = tokens.with_refresh_token(refresh);
            self.live_refresh(refresh);
        }
        if accepted {
            self.accept(access);
        }
        // Straight into the store, as tokens saved earlier or by another process.
        let store = runtime.store().unwrap();
        let expected = store.load(key).await.unwrap().map(|v| v.version);
        store
            .save(key, &TokenRecord::active(tokens), expected)
            .await
            .unwrap();
    }
}

struct TokenEndpoint(Arc<State>);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        state.token_requests.fetch_add(1, Ordering::SeqCst);
        state.events.lock().unwrap().push("token".to_string());
        if let Some(auth) = request.headers.get("authorization") {
            state
                .token_authorization
                .lock()
                .unwrap()
                .push(auth.to_str().unwrap_or_default().to_string());
        }
        let fault = state.faults.lock().unwrap().pop_front();
        let hang = match fault {
            Some(Fault::Hang(delay)) => Some(delay),
            _ => None,
        };
        if let Some(fault) = fault.filter(|_| hang.is_none()) {
            return match fault {
                Fault::Status(code) => {
                    ResponseTemplate::new(code).set_body_string("temporarily down")
                }
                Fault::RetryAfter(code, after) => ResponseTemplate::new(code)
                    .insert_header("retry-after", after.as_str())
                    .set_body_string("{}"),
                Fault::InvalidGrant => invalid_grant(),
                Fault::Slow(delay) => ResponseTemplate::new(503).set_delay(delay),
                Fault::Hang(_) => unreachable!("handled below"),
            };
        }
        let form: Vec<(String, String)> =
            form_urlencoded::parse(&request.body).into_owned().collect();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if field("grant_type") == "authorization_code" {
            state.exchanges.lock().unwrap().push(form.clone());
            if field("code") != "good-code" {
                return invalid_grant();
            }
            if let Some(challenge) = state.challenge.lock().unwrap().clone() {
                let digest = aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    field("code_verifier").as_bytes(),
                );
                use base64::Engine as _;
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
                if computed != challenge {
                    return invalid_grant();
                }
            }
            let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let access = format!("sekrit-access-{n}");
            let refresh = format!("sekrit-refresh-{n}");
            state.accepted.lock().unwrap().insert(access.clone());
            state.live_refresh.lock().unwrap().insert(refresh.clone());
            let granted = ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": access, "refresh_token": refresh, "expires_in": 1800,
                "token_type": "Bearer"
            }));
            return match hang {
                Some(delay) => granted.set_delay(delay),
                None => granted,
            };
        }
        if field("grant_type") != "refresh_token" {
            return ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "unsupported_grant_type"}));
        }
        let refresh = field("refresh_token");
        let mut live = state.live_refresh.lock().unwrap();
        if !live.contains(&refresh) {
            return invalid_grant();
        }
        let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let access = format!("sekrit-access-{n}");
        state.accepted.lock().unwrap().insert(access.clone());
        // `expires_in` as a string and no `token_type`, as some providers send.
        let lifetime = match state.lifetime.load(Ordering::SeqCst) {
            0 => 1800,
            n => n,
        };
        let mut body =
            serde_json::json!({ "access_token": access, "expires_in": lifetime.to_string() });
        if state.rotate.load(Ordering::SeqCst) {
            let next = format!("sekrit-refresh-{n}");
            live.remove(&refresh);
            live.insert(next.clone());
            body["refresh_token"] = next.into();
        }
        if let Some((field, value)) = state.odd_field.lock().unwrap().take() {
            body[field] = value;
        }
        let response = ResponseTemplate::new(200).set_body_json(body);
        match hang {
            Some(delay) => response.set_delay(delay),
            None => response,
        }
    }
}

fn invalid_grant() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "error": "invalid_grant", "error_description": "refresh token revoked"
    }))
}

struct Api(Arc<State>);

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        // The token in `Authorization`, or else in `X-Api-Token` (then said in the event).
        let in_other_header = !request.headers.contains_key("authorization");
        let token = request
            .headers
            .get("authorization")
            .or_else(|| request.headers.get("x-api-token"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("token "))
            })
            .unwrap_or_default()
            .to_string();
        let accepted = !self.0.reject_all.load(Ordering::SeqCst)
            && self.0.accepted.lock().unwrap().contains(&token);
        let mut event = format!("api {token} {}", if accepted { 200 } else { 401 });
        if let Some(account) = request.headers.get("x-account") {
            event.push_str(&format!(" account={}", account.to_str().unwrap_or("?")));
        }
        if in_other_header && !token.is_empty() {
            event.push_str(" in=x-api-token");
        }
        self.0.events.lock().unwrap().push(event);
        if accepted {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": token }))
        } else {
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({ "message": "unauthorized" }))
        }
    }
}
