//! A token on demand, for code outside the templates: `Runtime::access_token` and
//! `Runtime::refresh_now`, on the same single-flight path as the templates' calls.

use std::sync::Arc;
use std::time::Duration;

use oauth_runtime::{MemoryStore, Runtime, StaticTokens, TokenError, TokenKey, TokenSet};

use crate::support::{Fault, Provider};

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

async fn concurrently<F, Fut>(count: usize, call: F) -> Vec<Result<String, TokenError>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<oauth_runtime::AccessToken, TokenError>>
        + Send
        + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let call = call();
        tasks.spawn(async move { call.await.map(|t| t.secret().to_string()) });
    }
    let mut results = Vec::new();
    while let Some(result) = tasks.join_next().await {
        results.push(result.expect("no panic"));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_on_demand_is_the_cached_one_and_an_expired_one_is_refreshed_once() {
    let provider = Arc::new(Provider::start().await);
    let runtime = provider.runtime(MemoryStore::new());
    provider.seed_expired(&runtime).await;
    let tokens = concurrently(50, || {
        let runtime = runtime.clone();
        async move { runtime.access_token(&crm()).await }
    })
    .await;
    assert!(
        tokens
            .iter()
            .all(|t| matches!(t, Ok(t) if t == "sekrit-access-1")),
        "{tokens:?}"
    );
    assert_eq!(provider.token_requests(), 1);
    // Fresh now: asked again, it is the cached one.
    let again = runtime.access_token(&crm()).await.expect("a token");
    assert_eq!(again.secret(), "sekrit-access-1");
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn a_token_on_demand_comes_from_any_token_source() {
    let runtime = Runtime::builder()
        .tokens(StaticTokens::new().with(crm(), "in-hand"))
        .build()
        .expect("a runtime");
    assert_eq!(
        runtime
            .access_token(&crm())
            .await
            .expect("a token")
            .secret(),
        "in-hand"
    );
    let missing = runtime
        .access_token(&TokenKey::installation("other"))
        .await
        .expect_err("no token");
    assert!(
        matches!(missing, TokenError::ReauthorizationRequired { .. }),
        "{missing}"
    );
    let none = Runtime::builder().build().expect("a runtime");
    let error = none.access_token(&crm()).await.expect_err("no source");
    assert!(error.to_string().contains("no token source"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_now_refreshes_a_valid_token_once_for_everyone_waiting() {
    let provider = Arc::new(Provider::start().await);
    let runtime = provider.runtime(MemoryStore::new());
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-valid",
            true,
            3600,
            Some("sekrit-refresh-0"),
        )
        .await;
    assert_eq!(
        runtime
            .access_token(&crm())
            .await
            .expect("a token")
            .secret(),
        "sekrit-valid"
    );
    assert_eq!(provider.token_requests(), 0);
    // Every caller asks while the one refresh is under way: the callers start together, and
    // the token endpoint answers only after they have all asked.
    provider.fault(Fault::Hang(Duration::from_millis(500)));
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let refreshed = concurrently(20, || {
        let (runtime, start) = (runtime.clone(), start.clone());
        async move {
            start.wait().await;
            runtime.refresh_now(&crm()).await
        }
    })
    .await;
    assert!(
        refreshed
            .iter()
            .all(|t| matches!(t, Ok(t) if t == "sekrit-access-1")),
        "{refreshed:?}"
    );
    assert_eq!(provider.token_requests(), 1, "one refresh for every caller");
    // The new token is the one kept and used from now on.
    assert_eq!(
        runtime
            .access_token(&crm())
            .await
            .expect("a token")
            .secret(),
        "sekrit-access-1"
    );
    let stored = runtime
        .store()
        .expect("a store")
        .load(&crm())
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(
        stored.record.tokens.access_token().secret(),
        "sekrit-access-1"
    );
}

#[tokio::test]
async fn refresh_now_without_a_refresh_token_says_so_and_leaves_the_token() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    runtime
        .save_tokens(
            &crm(),
            TokenSet::new("sekrit-only").with_expires_at(
                std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
            ),
        )
        .await
        .expect("saved");
    let error = runtime
        .refresh_now(&crm())
        .await
        .expect_err("nothing to refresh with");
    assert!(
        matches!(&error, TokenError::Refresh { reason, .. } if reason.contains("no refresh token")),
        "{error}"
    );
    assert!(!error.to_string().contains("sekrit"), "{error}");
    assert_eq!(provider.token_requests(), 0);
    assert_eq!(
        runtime
            .access_token(&crm())
            .await
            .expect("still usable")
            .secret(),
        "sekrit-only"
    );
    let without_store = Runtime::builder().build().expect("a runtime");
    assert!(without_store.refresh_now(&crm()).await.is_err());
}

#[tokio::test]
async fn the_background_refreshes_a_due_token_with_no_call_and_stops_when_dropped() {
    let provider = Provider::start().await;
    let runtime = provider
        .builder(MemoryStore::new())
        .refresh_margin(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    // Valid for 30 s more, inside the 60 s margin: due.
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
    let background = runtime
        .refresh_in_background(std::time::Duration::from_millis(50))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while provider.token_requests() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(provider.token_requests(), 1, "refreshed once, with no call");
    let stored = runtime
        .store()
        .unwrap()
        .load(&crm())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.record.tokens.access_token().secret(),
        "sekrit-access-1"
    );
    // Fresh now: later ticks leave it alone.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(provider.token_requests(), 1);

    // Dropped: no more refreshes, even of a token that comes due.
    drop(background);
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-due-again",
            true,
            30,
            Some("sekrit-refresh-1"),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(provider.token_requests(), 1);
    // An interval of zero is refused, not a panic.
    assert!(
        runtime
            .refresh_in_background(std::time::Duration::ZERO)
            .is_err()
    );
    // A runtime without a store has nothing to refresh.
    assert!(
        Runtime::builder()
            .build()
            .unwrap()
            .refresh_in_background(std::time::Duration::from_secs(1))
            .is_err()
    );
}
