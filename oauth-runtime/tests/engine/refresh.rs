//! Refresh: before expiry, after a 401, once per key however many tasks wait; dead refresh
//! tokens; rotation; store failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use oauth_runtime::store::{StoreError, StoreFuture, Version, Versioned};
use oauth_runtime::{
    DeadToken, FileStore, InvokeError, MemoryStore, ReauthorizationReason, Runtime, Subject,
    TokenKey, TokenRecord, TokenStore, UserId,
};

use crate::support::{Fault, Provider};
use crate::{Engine, GetInvoiceContext, GetMessagesContext, GetThingContext};

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

/// `getThing` sent through `runtime`.
async fn send_get_thing(
    runtime: &Runtime,
    provider: &Provider,
) -> Result<oauth_runtime::Response, InvokeError> {
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await
}

/// The token the API saw on a `getThing` call.
async fn get_thing(runtime: &Runtime, provider: &Provider) -> Result<String, InvokeError> {
    let response = send_get_thing(runtime, provider).await?;
    Ok(response.json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string())
}

/// Whose token a call sends: the installation's (`getThing`, `crm`: a slot the manager finds
/// without a table) or a user's (`getMessages`, `chat`, Alice: a slot in the users' table, whose
/// tokens its shard keeps). The runtime keeps the two in different places, so the tests of
/// what it must never lose run for both.
#[derive(Debug, Clone, Copy)]
enum Whose {
    Installation,
    User,
}

impl Whose {
    fn key(self) -> TokenKey {
        match self {
            Whose::Installation => crm(),
            Whose::User => TokenKey::user("chat", UserId::new("alice")),
        }
    }

    /// The token the API saw on a call sending this key's token.
    async fn call(self, runtime: &Runtime, provider: &Provider) -> Result<String, InvokeError> {
        let response = match self {
            Whose::Installation => send_get_thing(runtime, provider).await?,
            Whose::User => {
                let context = GetMessagesContext {
                    port: provider.port(),
                };
                Engine::new(runtime.clone())
                    .get_messages(&context, &UserId::new("alice"))
                    .send()
                    .await?
            }
        };
        Ok(response.json::<serde_json::Value>().unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string())
    }

    /// The key's token expired a minute ago, refreshable with `sekrit-refresh-0`.
    async fn seed_expired(self, runtime: &Runtime, provider: &Provider) {
        provider.seed_expired_for(runtime, &self.key()).await;
    }

    async fn stored(self, runtime: &Runtime) -> Versioned {
        let stored = runtime.store().unwrap().load(&self.key()).await;
        stored.unwrap().unwrap()
    }
}

async fn stampede(runtimes: &[Runtime], provider: &Arc<Provider>, calls: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        let runtime = runtimes[i % runtimes.len()].clone();
        let provider = provider.clone();
        tasks.spawn(async move { get_thing(&runtime, &provider).await });
    }
    let mut tokens = Vec::new();
    while let Some(result) = tasks.join_next().await {
        tokens.push(result.unwrap().unwrap());
    }
    // A thousand joins can spend this task's cooperative budget. wiremock's `MockServer`,
    // dropped with the provider at the end of the test, waits on a tokio lock with a blocking
    // executor: without budget, that wait spins for ever. Yielding gives the task a new one.
    tokio::task::yield_now().await;
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_on_an_expired_token_make_one_token_request() {
    let provider = Arc::new(Provider::start().await);
    let runtime = provider.runtime(MemoryStore::new());
    provider.seed_expired(&runtime).await;
    let tokens = stampede(&[runtime], &provider, 1000).await;
    assert_eq!(tokens.len(), 1000);
    assert!(
        tokens.iter().all(|t| t == "sekrit-access-1"),
        "every call used the new token"
    );
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_sharing_one_file_store_refresh_once() {
    let provider = Arc::new(Provider::start().await);
    let dir = tempdir();
    let path = dir.join("tokens.json");
    let first = provider.runtime(FileStore::new(&path));
    let second = provider.runtime(FileStore::new(&path));
    provider.seed_expired(&first).await;
    let tokens = stampede(&[first, second], &provider, 1000).await;
    assert_eq!(tokens.len(), 1000);
    assert!(tokens.iter().all(|t| t == "sekrit-access-1"));
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn a_token_inside_the_margin_is_refreshed_before_it_expires() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    // Valid for 30 s more, inside the default 60 s margin.
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-old",
            true,
            30,
            Some("sekrit-refresh-0"),
        )
        .await;
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    assert_eq!(provider.token_requests(), 1);
    // The new token is good for 30 minutes: no more refreshes.
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn an_early_refresh_that_fails_keeps_using_the_valid_token() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-old",
            true,
            30,
            Some("sekrit-refresh-0"),
        )
        .await;
    for _ in 0..3 {
        provider.fault(Fault::Status(503));
    }
    assert_eq!(get_thing(&runtime, &provider).await.unwrap(), "sekrit-old");
    assert_eq!(
        provider.token_requests(),
        3,
        "three attempts at the token endpoint"
    );
    let stored = stored(&runtime).await;
    assert_eq!(stored.record.needs_reauthorization, None);
}

/// A runtime whose installation's `crm` token is not expired but no longer accepted by the
/// API (revoked on the server's side), with a refresh token that works.
async fn with_revoked_token(provider: &Provider) -> oauth_runtime::Runtime {
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-revoked",
            false,
            1800,
            Some("sekrit-refresh-0"),
        )
        .await;
    runtime
}

#[tokio::test]
async fn a_401_refreshes_once_and_replays_once() {
    let provider = Provider::start().await;
    let runtime = with_revoked_token(&provider).await;
    let response = send_get_thing(&runtime, &provider).await.unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(provider.token_requests(), 1);
    assert_eq!(
        provider.events(),
        ["api sekrit-revoked 401", "token", "api sekrit-access-1 200"]
    );
    // A user's token, kept by the users' table: the same.
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let alice = Whose::User;
    (provider.seed(
        &runtime,
        &alice.key(),
        "sekrit-revoked",
        false,
        1800,
        Some("sekrit-refresh-0"),
    ))
    .await;
    assert_eq!(
        alice.call(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    assert_eq!(
        alice.call(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    assert_eq!(provider.token_requests(), 1);
    assert_eq!(
        provider.events(),
        [
            "api sekrit-revoked 401",
            "token",
            "api sekrit-access-1 200",
            "api sekrit-access-1 200"
        ]
    );
}

#[tokio::test]
async fn the_replay_after_a_401_sends_the_other_headers_again_beside_the_new_token() {
    // `Authorization: Bearer …`, `Authorization: token …`, and `X-Api-Token: Bearer …`.
    for header in ["bearer", "token", "x-api-token"] {
        let provider = Provider::start().await;
        let runtime = with_revoked_token(&provider).await;
        let engine = Engine::new(runtime.clone());
        let (port, id, account) = (provider.port(), "7".to_string(), "acme".to_string());
        let request = match header {
            "bearer" => engine.get_thing_as(&crate::GetThingAsContext { port, id, account }),
            "token" => {
                engine.get_thing_token_as(&crate::GetThingTokenAsContext { port, id, account })
            }
            _ => engine.get_thing_bearer_in(&crate::GetThingBearerInContext { port, id, account }),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.attempts(), 2);
        let via = if header == "x-api-token" {
            " in=x-api-token"
        } else {
            ""
        };
        assert_eq!(
            provider.events(),
            [
                format!("api sekrit-revoked 401 account=acme{via}"),
                "token".to_string(),
                format!("api sekrit-access-1 200 account=acme{via}")
            ],
            "{header}"
        );
    }
}

#[tokio::test]
async fn a_renewed_token_that_cannot_be_a_header_value_fails_the_replay_and_sends_nothing() {
    let provider = Provider::start().await;
    let runtime = with_revoked_token(&provider).await;
    *provider.state.odd_field.lock().unwrap() = Some((
        "access_token".to_string(),
        "sekrit-bad\r\nX-Injected: 1".into(),
    ));
    let error = send_get_thing(&runtime, &provider).await.unwrap_err();
    let shown = error.to_string();
    assert!(shown.contains("not a valid header value"), "{shown}");
    assert!(!shown.contains("sekrit"), "{shown}");
    assert_eq!(
        provider.events(),
        ["api sekrit-revoked 401", "token"],
        "the renewed token is never sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_401s_refresh_once() {
    let provider = Arc::new(Provider::start().await);
    let runtime = with_revoked_token(&provider).await;
    let tokens = stampede(&[runtime], &provider, 20).await;
    assert!(tokens.iter().all(|t| t == "sekrit-access-1"));
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn a_second_401_is_returned_not_looped() {
    let provider = Provider::start().await;
    let runtime = with_revoked_token(&provider).await;
    provider.state.reject_all.store(true, Ordering::SeqCst);
    let error = send_get_thing(&runtime, &provider).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(error.attempts(), 2);
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn a_dead_refresh_token_requires_reauthorization_and_then_fails_fast() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let alice = TokenKey::user("chat", UserId::new("alice"));
    let bob = TokenKey::user("chat", UserId::new("bob"));
    // The refresh token is not one the provider knows: invalid_grant.
    let expired = TokenKey::installation("crm");
    runtime
        .save_tokens(
            &expired,
            oauth_runtime::TokenSet::new("sekrit-expired")
                .with_refresh_token("sekrit-refresh-revoked")
                .expires_in(std::time::Duration::ZERO),
        )
        .await
        .unwrap();
    provider
        .seed(
            &runtime,
            &TokenKey::installation("billing"),
            "sekrit-billing",
            true,
            1800,
            None,
        )
        .await;
    provider
        .seed(
            &runtime,
            &alice,
            "sekrit-alice-expired",
            false,
            -1,
            Some("sekrit-alice-refresh-revoked"),
        )
        .await;
    provider.state.live_refresh.lock().unwrap().clear();
    provider
        .seed(
            &runtime,
            &bob,
            "sekrit-bob",
            true,
            1800,
            Some("sekrit-bob-refresh"),
        )
        .await;

    for _ in 0..5 {
        let error = get_thing(&runtime, &provider).await.unwrap_err();
        match &error {
            InvokeError::ReauthorizationRequired {
                integration,
                subject,
                reason,
                ..
            } => {
                assert_eq!(*integration, "crm");
                assert_eq!(*subject, Subject::Installation);
                assert_eq!(
                    *reason,
                    ReauthorizationReason::Dead(DeadToken::RefreshTokenRejected)
                );
            }
            other => panic!("expected ReauthorizationRequired, got {other:?}"),
        }
        assert_eq!(
            error.to_string(),
            "template `getThing`: the installation must authorize `crm` again (the \
             authorization server rejected the refresh token)"
        );
    }
    assert_eq!(
        provider.token_requests(),
        1,
        "fail fast: no further token requests"
    );
    let stored = stored(&runtime).await;
    assert_eq!(
        stored.record.needs_reauthorization,
        Some(DeadToken::RefreshTokenRejected)
    );

    // Other integrations and other users are unaffected.
    let engine = Engine::new(runtime.clone());
    let invoice = engine
        .get_invoice(&GetInvoiceContext {
            port: provider.port(),
        })
        .send()
        .await;
    assert!(invoice.is_ok(), "{invoice:?}");
    let messages = GetMessagesContext {
        port: provider.port(),
    };
    assert!(
        engine
            .get_messages(&messages, &UserId::new("bob"))
            .send()
            .await
            .is_ok()
    );
    let alice_error = engine
        .get_messages(&messages, &UserId::new("alice"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        alice_error,
        InvokeError::ReauthorizationRequired { subject: Subject::User(ref u), .. } if u.as_str() == "alice"
    ));
    assert_eq!(
        provider.token_requests(),
        2,
        "alice's dead token cost one request"
    );

    // Authorizing again brings the key back.
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-new",
            true,
            1800,
            Some("sekrit-refresh-new"),
        )
        .await;
    assert_eq!(get_thing(&runtime, &provider).await.unwrap(), "sekrit-new");
}

#[tokio::test]
async fn calls_without_a_token_say_the_app_was_never_authorized() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    assert!(matches!(
        error,
        InvokeError::ReauthorizationRequired {
            reason: ReauthorizationReason::NotAuthorized,
            ..
        }
    ));
    assert_eq!(provider.token_requests(), 0);
}

#[tokio::test]
async fn an_expired_token_without_a_refresh_token_needs_reauthorization() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(&runtime, &crm(), "sekrit-expired", true, -5, None)
        .await;
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    assert!(matches!(
        error,
        InvokeError::ReauthorizationRequired {
            reason: ReauthorizationReason::Dead(DeadToken::NoRefreshToken),
            ..
        }
    ));
    assert_eq!(provider.token_requests(), 0);
}

#[tokio::test]
async fn scopes_added_by_a_new_app_version_need_reauthorization() {
    let provider = Provider::start().await;
    let runtime = provider
        .builder(MemoryStore::new())
        .integration(
            provider
                .integration("crm")
                .scopes(["things.read", "things.write"]),
        )
        .build()
        .unwrap();
    runtime
        .save_tokens(
            &crm(),
            oauth_runtime::TokenSet::new("sekrit-narrow")
                .expires_in(std::time::Duration::from_secs(1800))
                .with_requested_scopes(["things.read"]),
        )
        .await
        .unwrap();
    provider.accept("sekrit-narrow");
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    match error {
        InvokeError::ReauthorizationRequired {
            reason: ReauthorizationReason::MissingScopes(missing),
            ..
        } => assert_eq!(missing, ["things.write"]),
        other => panic!("expected missing scopes, got {other:?}"),
    }
    assert_eq!(provider.token_requests(), 0);
    assert!(provider.events().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_badly_typed_optional_field_never_loses_a_rotated_refresh_token() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let runtime = provider.runtime(MemoryStore::new());
    provider.seed_expired(&runtime).await;
    let odd = [
        ("expires_in", serde_json::json!("3600.0")),
        ("expires_in", serde_json::json!("")),
        ("expires_in", serde_json::json!(true)),
        ("expires_in", serde_json::json!(-1)),
        ("scope", serde_json::json!(5)),
        ("token_type", serde_json::json!({ "odd": [] })),
    ];
    for (n, (field, value)) in odd.into_iter().enumerate() {
        *provider.state.odd_field.lock().unwrap() = Some((field.to_string(), value.clone()));
        // The provider rotates: the answer holds the only live refresh token.
        assert_eq!(
            get_thing(&runtime, &provider).await.unwrap(),
            format!("sekrit-access-{}", n + 1),
            "{field}: {value}"
        );
        let stored = stored(&runtime).await;
        assert_eq!(
            stored.record.tokens.refresh_token(),
            Some(format!("sekrit-refresh-{}", n + 1).as_str()),
            "{field}: {value}"
        );
        assert_eq!(stored.record.needs_reauthorization, None);
        expire(&runtime, &crm()).await;
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_is_saved_before_the_new_access_token_is_used() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let events = provider.state.clone();
    let store = Recording {
        inner: MemoryStore::new(),
        events: events.clone(),
        fail: Arc::new(AtomicBool::new(false)),
    };
    let runtime = provider.runtime(store.clone());
    provider.seed_expired(&runtime).await;
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    let log = provider.events();
    let saved = log
        .iter()
        .position(|e| e == "saved sekrit-refresh-1")
        .unwrap();
    let used = log
        .iter()
        .position(|e| e == "api sekrit-access-1 200")
        .unwrap();
    assert!(saved < used, "{log:?}");

    // Without rotation the response has no refresh token: the old one is kept.
    provider.state.rotate.store(false, Ordering::SeqCst);
    expire(&runtime, &crm()).await;
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-2"
    );
    let stored = store.load(&crm()).await.unwrap().unwrap();
    assert_eq!(
        stored.record.tokens.refresh_token(),
        Some("sekrit-refresh-1")
    );
}

/// A runtime whose refresh of `whose`'s expired token could not be saved (its store failing):
/// the new tokens are kept in memory, and the provider has rotated the refresh token. The
/// store works again after.
async fn with_unsaved_tokens(whose: Whose) -> (Provider, Runtime, Recording) {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let (store, fail) = Recording::on(&provider);
    let runtime = provider.runtime(store.clone());
    whose.seed_expired(&runtime, &provider).await;
    fail.store(true, Ordering::SeqCst);
    let error = whose.call(&runtime, &provider).await.unwrap_err();
    assert!(
        matches!(error, InvokeError::TokenStore { .. }),
        "{whose:?}: {error:?}"
    );
    fail.store(false, Ordering::SeqCst);
    (provider, runtime, store)
}

#[tokio::test]
async fn a_failed_save_loses_no_token() {
    for whose in [Whose::Installation, Whose::User] {
        let (provider, runtime, store) = with_unsaved_tokens(whose).await;
        assert!(
            !provider
                .events()
                .iter()
                .any(|e| e.starts_with("api sekrit-access-1")),
            "{whose:?}: an unsaved token is never used"
        );
        // The provider has rotated: only sekrit-refresh-1 works now, and it lives in memory.
        assert_eq!(
            whose.call(&runtime, &provider).await.unwrap(),
            "sekrit-access-1",
            "{whose:?}"
        );
        assert_eq!(
            provider.token_requests(),
            1,
            "{whose:?}: the kept tokens were saved, not refreshed again"
        );
        let stored = store.load(&whose.key()).await.unwrap().unwrap();
        assert_eq!(
            stored.record.tokens.refresh_token(),
            Some("sekrit-refresh-1"),
            "{whose:?}"
        );
    }
}

#[tokio::test]
async fn forgetting_a_key_forgets_its_tokens_not_yet_saved_too() {
    for whose in [Whose::Installation, Whose::User] {
        let (provider, runtime, store) = with_unsaved_tokens(whose).await;
        let forgot = runtime.forget_tokens(&whose.key()).await.unwrap();
        assert!(forgot, "{whose:?}: there were tokens");
        // Nothing comes back: not the stored tokens, nor the ones kept to be saved.
        let error = whose.call(&runtime, &provider).await.unwrap_err();
        assert!(
            matches!(error, InvokeError::ReauthorizationRequired { .. }),
            "{whose:?}: {error:?}"
        );
        let stored = store.load(&whose.key()).await.unwrap();
        assert!(stored.is_none(), "{whose:?}: nothing saved after");
        assert_eq!(provider.token_requests(), 1, "{whose:?}");
    }
}

#[tokio::test]
async fn transient_token_endpoint_failures_never_mark_the_token_dead() {
    for whose in [Whose::Installation, Whose::User] {
        let provider = Provider::start().await;
        let runtime = provider
            .builder(MemoryStore::new())
            .refresh_backoff(std::time::Duration::from_millis(300))
            .build()
            .unwrap();
        whose.seed_expired(&runtime, &provider).await;
        provider.fault(Fault::RetryAfter(429, "1".into()));
        provider.fault(Fault::Status(503));
        provider.fault(Fault::Status(500));
        let started = std::time::Instant::now();
        let error = whose.call(&runtime, &provider).await.unwrap_err();
        // Retry-After: 1 s, then the 500 ms backoff of the second retry.
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(1400),
            "{whose:?}: {:?}",
            started.elapsed()
        );
        assert!(
            matches!(error, InvokeError::Token { .. }),
            "{whose:?}: a passing failure is not a reauthorization: {error:?}"
        );
        assert_eq!(provider.token_requests(), 3, "{whose:?}");
        let stored = whose.stored(&runtime).await;
        assert_eq!(stored.record.needs_reauthorization, None, "{whose:?}");
        // During the backoff, calls take the failure's answer without asking again.
        for _ in 0..10 {
            let error = whose.call(&runtime, &provider).await.unwrap_err();
            assert!(error.to_string().contains("500"), "{whose:?}: {error}");
        }
        assert_eq!(
            provider.token_requests(),
            3,
            "{whose:?}: no token request during the backoff"
        );
        tokio::time::sleep(std::time::Duration::from_millis(350)).await;
        // Slow, then fine: the next call refreshes.
        provider.fault(Fault::Slow(std::time::Duration::from_millis(100)));
        assert_eq!(
            whose.call(&runtime, &provider).await.unwrap(),
            "sekrit-access-1",
            "{whose:?}"
        );
    }
}

#[tokio::test]
async fn a_stale_writer_adopts_the_newer_token() {
    let provider = Provider::start().await;
    let dir = tempdir();
    let store = FileStore::new(dir.join("tokens.json"));
    let runtime = provider.runtime(store.clone());
    provider.seed_expired(&runtime).await;
    let before = store.load(&crm()).await.unwrap().unwrap();
    // Another replica refreshed meanwhile.
    let newer = TokenRecord::active(
        oauth_runtime::TokenSet::new("sekrit-from-elsewhere")
            .with_refresh_token("sekrit-refresh-elsewhere")
            .expires_in(std::time::Duration::from_secs(1800)),
    );
    store
        .save(&crm(), &newer, Some(before.version))
        .await
        .unwrap();
    // The old version's write is refused.
    let stale = store
        .save(&crm(), &before.record, Some(before.version))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })));
    provider.accept("sekrit-from-elsewhere");
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-from-elsewhere"
    );
    assert_eq!(provider.token_requests(), 0);
}

/// The record the store holds for the installation's `crm` token.
async fn stored(runtime: &Runtime) -> oauth_runtime::store::Versioned {
    runtime
        .store()
        .unwrap()
        .load(&crm())
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn expire(runtime: &Runtime, key: &TokenKey) {
    let store = runtime.store().unwrap();
    let current = store.load(key).await.unwrap().unwrap();
    let mut tokens = current.record.tokens.clone();
    tokens =
        tokens.with_expires_at(std::time::SystemTime::now() - std::time::Duration::from_secs(1));
    runtime.save_tokens(key, tokens).await.unwrap();
}

pub(crate) fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::AtomicUsize;
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "oauth-runtime-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    // A folder left by an earlier run whose process had the same id would hold its files.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A store that logs saves into the provider's event log and fails them on demand.
#[derive(Clone)]
pub(crate) struct Recording {
    pub(crate) inner: MemoryStore,
    pub(crate) events: Arc<crate::support::State>,
    pub(crate) fail: Arc<AtomicBool>,
}

impl Recording {
    /// A store in memory logging its saves into `provider`'s events, and the switch that makes
    /// them fail.
    pub(crate) fn on(provider: &Provider) -> (Recording, Arc<AtomicBool>) {
        let fail = Arc::new(AtomicBool::new(false));
        let store = Recording {
            inner: MemoryStore::new(),
            events: provider.state.clone(),
            fail: fail.clone(),
        };
        (store, fail)
    }
}

impl TokenStore for Recording {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        self.inner.load(key)
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        if self.fail.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(StoreError::Io {
                    path: "tokens.json".into(),
                    action: "writing",
                    source: std::io::Error::other("disk full"),
                })
            });
        }
        self.events.events.lock().unwrap().push(format!(
            "saved {}",
            record.tokens.refresh_token().unwrap_or("-")
        ));
        self.inner.save(key, record, expected)
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        self.inner.delete(key)
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        self.inner.keys()
    }
}

/// A store in which "another process" writes between our refresh and our save: a dead mark
/// (`dead`), or tokens of its own.
#[derive(Clone)]
pub(crate) struct Interfering {
    inner: MemoryStore,
    armed: Arc<AtomicBool>,
    dead: bool,
}

impl TokenStore for Interfering {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        self.inner.load(key)
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        record: &'a TokenRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        Box::pin(async move {
            if self.armed.swap(false, Ordering::SeqCst) {
                let current = self.inner.load(key).await?.unwrap();
                let theirs = if self.dead {
                    TokenRecord {
                        tokens: current.record.tokens.clone(),
                        needs_reauthorization: Some(DeadToken::RefreshTokenRejected),
                    }
                } else {
                    TokenRecord::active(
                        oauth_runtime::TokenSet::new("sekrit-theirs")
                            .with_refresh_token("sekrit-refresh-theirs")
                            .expires_in(std::time::Duration::from_secs(1800)),
                    )
                };
                self.inner.save(key, &theirs, Some(current.version)).await?;
            }
            self.inner.save(key, record, expected).await
        })
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        self.inner.delete(key)
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        self.inner.keys()
    }
}

/// A store where every save meets a newer record.
#[derive(Clone)]
pub(crate) struct AlwaysConflicts(MemoryStore);

impl TokenStore for AlwaysConflicts {
    fn load<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, Option<Versioned>> {
        self.0.load(key)
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        _record: &'a TokenRecord,
        _expected: Option<Version>,
    ) -> StoreFuture<'a, Version> {
        Box::pin(async move {
            Err(StoreError::Conflict {
                integration: key.integration.to_string(),
            })
        })
    }

    fn delete<'a>(&'a self, key: &'a TokenKey) -> StoreFuture<'a, bool> {
        self.0.delete(key)
    }

    fn keys(&self) -> StoreFuture<'_, Vec<TokenKey>> {
        self.0.keys()
    }
}

#[tokio::test]
async fn saving_granted_tokens_gives_up_on_a_store_that_always_conflicts() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(AlwaysConflicts(MemoryStore::new()));
    let saved = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        runtime.save_tokens(&crm(), oauth_runtime::TokenSet::new("sekrit-granted")),
    )
    .await
    .expect("gives up instead of trying forever");
    assert!(
        matches!(
            saved,
            Err(oauth_runtime::TokenError::Store(
                StoreError::Conflict { .. }
            ))
        ),
        "{saved:?}"
    );
}

#[tokio::test]
async fn a_rotated_token_survives_a_dead_mark_written_meanwhile() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let armed = Arc::new(AtomicBool::new(false));
    let store = Interfering {
        inner: MemoryStore::new(),
        armed: armed.clone(),
        dead: true,
    };
    let runtime = provider.runtime(store.clone());
    provider.seed_expired(&runtime).await;
    armed.store(true, Ordering::SeqCst);
    // Another process marked the old refresh token dead while ours was being redeemed: ours
    // holds the only live refresh token and must not be dropped.
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    let stored = store.load(&crm()).await.unwrap().unwrap();
    assert_eq!(stored.record.needs_reauthorization, None);
    assert_eq!(
        stored.record.tokens.refresh_token(),
        Some("sekrit-refresh-1")
    );
}

#[tokio::test]
async fn newer_tokens_written_meanwhile_win_over_ours() {
    let provider = Provider::start().await;
    let armed = Arc::new(AtomicBool::new(false));
    let store = Interfering {
        inner: MemoryStore::new(),
        armed: armed.clone(),
        dead: false,
    };
    let runtime = provider.runtime(store.clone());
    provider.seed_expired(&runtime).await;
    provider.accept("sekrit-theirs");
    armed.store(true, Ordering::SeqCst);
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-theirs"
    );
    let stored = store.load(&crm()).await.unwrap().unwrap();
    assert_eq!(
        stored.record.tokens.refresh_token(),
        Some("sekrit-refresh-theirs")
    );
}

#[tokio::test]
async fn a_401_on_an_unexpired_token_without_refresh_token_is_returned_and_kills_nothing() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(&runtime, &crm(), "sekrit-no-refresh", false, 1800, None)
        .await;
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(error.attempts(), 1);
    let stored = stored(&runtime).await;
    assert_eq!(stored.record.needs_reauthorization, None);
    assert_eq!(provider.token_requests(), 0);
}

#[tokio::test]
async fn a_401_just_after_a_refresh_is_returned_without_another_refresh() {
    for whose in [Whose::Installation, Whose::User] {
        let provider = Provider::start().await;
        let runtime = provider.runtime(MemoryStore::new());
        whose.seed_expired(&runtime, &provider).await;
        assert_eq!(
            whose.call(&runtime, &provider).await.unwrap(),
            "sekrit-access-1",
            "{whose:?}"
        );
        // Now the API refuses the fresh token (say, a scope this call needs).
        provider.state.reject_all.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            let error = whose.call(&runtime, &provider).await.unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(401), "{whose:?}");
            assert_eq!(error.attempts(), 1, "{whose:?}");
        }
        assert_eq!(provider.token_requests(), 1, "{whose:?}");
    }
}

#[tokio::test]
async fn a_lost_answer_then_invalid_grant_does_not_kill_the_token() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let runtime = provider
        .builder(MemoryStore::new())
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    provider.seed_expired(&runtime).await;
    // The first attempt is granted (and rotates), but its answer comes too late; the retry
    // with the old refresh token is then refused.
    provider.fault(Fault::Hang(std::time::Duration::from_secs(2)));
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    assert!(matches!(error, InvokeError::Token { .. }), "{error:?}");
    let stored = stored(&runtime).await;
    assert_eq!(stored.record.needs_reauthorization, None, "not marked dead");
}

/// A caller that stops waiting (its own timeout, a dropped request) after the provider has
/// rotated the refresh token, but before the answer arrived, loses nothing: the token request
/// goes on, and the next call uses its tokens instead of redeeming the replaced refresh token.
#[tokio::test]
async fn a_caller_that_stops_waiting_mid_refresh_loses_no_rotated_token() {
    for whose in [Whose::Installation, Whose::User] {
        let provider = Provider::start().await;
        provider.state.rotate.store(true, Ordering::SeqCst);
        let runtime = provider.runtime(MemoryStore::new());
        whose.seed_expired(&runtime, &provider).await;
        provider.fault(Fault::Hang(std::time::Duration::from_millis(300)));
        let gave_up = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            whose.call(&runtime, &provider),
        )
        .await;
        assert!(
            gave_up.is_err(),
            "{whose:?}: the caller stopped waiting: {gave_up:?}"
        );
        assert_eq!(
            whose.call(&runtime, &provider).await.unwrap(),
            "sekrit-access-1",
            "{whose:?}"
        );
        assert_eq!(provider.token_requests(), 1, "{whose:?}");
        let stored = whose.stored(&runtime).await;
        assert_eq!(stored.record.needs_reauthorization, None, "{whose:?}");
        assert_eq!(
            stored.record.tokens.refresh_token(),
            Some("sekrit-refresh-1"),
            "{whose:?}"
        );
    }
}

/// `token_wait` bounds a call's wait for its token as a whole; the refresh it gave up on is
/// still saved, and serves the next call.
#[tokio::test]
async fn a_call_waits_for_its_token_no_longer_than_token_wait() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let runtime = provider
        .builder(MemoryStore::new())
        .token_wait(std::time::Duration::from_millis(100))
        .build()
        .unwrap();
    provider.seed_expired(&runtime).await;
    provider.fault(Fault::Hang(std::time::Duration::from_millis(400)));
    let error = get_thing(&runtime, &provider).await.unwrap_err();
    let InvokeError::Token { source, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        matches!(source, oauth_runtime::TokenError::Refresh { .. }),
        "{source:?}"
    );
    assert!(
        error.to_string().contains("no token within 100 ms"),
        "{error}"
    );
    // The token request went on and its tokens were kept: once it is answered, the next
    // call uses them without asking the provider again.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        get_thing(&runtime, &provider).await.unwrap(),
        "sekrit-access-1"
    );
    assert_eq!(provider.token_requests(), 1);
    assert_eq!(
        stored(&runtime).await.record.tokens.refresh_token(),
        Some("sekrit-refresh-1")
    );
}

#[tokio::test]
async fn a_short_lived_token_is_not_refreshed_on_every_call() {
    let provider = Provider::start().await;
    provider.state.lifetime.store(20, Ordering::SeqCst);
    let runtime = provider.runtime(MemoryStore::new());
    provider.seed_expired(&runtime).await;
    for _ in 0..5 {
        assert_eq!(
            get_thing(&runtime, &provider).await.unwrap(),
            "sekrit-access-1"
        );
    }
    assert_eq!(
        provider.token_requests(),
        1,
        "a 20 s token inside the 60 s margin is still used"
    );
}

const STAMPEDE_CHILD_ENV: &str = "OAUTH_RUNTIME_STAMPEDE_CHILD";

/// Run by `two_processes_sharing_one_file_store_refresh_once` as a child: 500 calls through a
/// FileStore against the parent's provider. Without the variable, nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stampede_child_process() {
    let Ok(spec) = std::env::var(STAMPEDE_CHILD_ENV) else {
        return;
    };
    let (path, uri) = spec.split_once('|').unwrap();
    let port = uri.rsplit(':').next().unwrap().to_string();
    let runtime = Runtime::builder()
        .store(FileStore::new(path))
        .integration(
            oauth_runtime::IntegrationConfig::new(
                "crm",
                &format!("{uri}/crm/token"),
                "crm-client",
                crate::support::CLIENT_SECRET,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let runtime = runtime.clone();
        let port = port.clone();
        tasks.spawn(async move {
            let context = GetThingContext {
                port,
                id: "7".into(),
            };
            Engine::new(runtime)
                .get_thing(&context)
                .send()
                .await
                .unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_one_file_store_refresh_once() {
    let provider = Arc::new(Provider::start().await);
    let dir = tempdir();
    let path = dir.join("tokens.json");
    let runtime = provider.runtime(FileStore::new(&path));
    provider.seed_expired(&runtime).await;
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "refresh::stampede_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            STAMPEDE_CHILD_ENV,
            format!("{}|{}", path.display(), provider.server.uri()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tokens = stampede(&[runtime], &provider, 500).await;
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(tokens.iter().all(|t| t == "sekrit-access-1"));
    assert_eq!(
        provider.token_requests(),
        1,
        "one refresh across both processes"
    );
    let api_calls = provider
        .events()
        .iter()
        .filter(|e| e.starts_with("api "))
        .count();
    assert_eq!(api_calls, 1000, "both processes made their calls");
}

#[tokio::test]
async fn refresh_now_after_a_failed_save_saves_the_kept_tokens_instead_of_redeeming_the_old() {
    let provider = Provider::start().await;
    provider.state.rotate.store(true, Ordering::SeqCst);
    let (store, fail) = Recording::on(&provider);
    let runtime = provider.runtime(store.clone());
    provider.seed_expired(&runtime).await;
    fail.store(true, Ordering::SeqCst);
    assert!(get_thing(&runtime, &provider).await.is_err());
    fail.store(false, Ordering::SeqCst);
    // The provider has rotated: sekrit-refresh-0 is dead there, sekrit-refresh-1 is kept in
    // memory. A refresh now saves what was kept and does not redeem the dead one.
    let token = runtime.refresh_now(&crm()).await.unwrap();
    assert_eq!(token.secret(), "sekrit-access-1");
    assert_eq!(provider.token_requests(), 1);
    let stored = store.load(&crm()).await.unwrap().unwrap();
    assert_eq!(
        stored.record.tokens.refresh_token(),
        Some("sekrit-refresh-1")
    );
    assert!(stored.record.needs_reauthorization.is_none());
}
