//! The response cache (`RequestBuilder::cache`, FDK's `invokeTemplate` `cache`/`ttl`): kept
//! for its ttl, never shared between users or installations, 2xx only, bounded.

use std::time::Duration;

use oauth_runtime::{MemoryStore, Runtime, TokenKey, UserId};

use crate::support::Provider;
use crate::{Engine, GetThingContext};

fn api_calls(provider: &Provider) -> usize {
    provider
        .events()
        .iter()
        .filter(|e| e.starts_with("api "))
        .count()
}

/// The installation's token for `crm`, valid for an hour; its key.
async fn seed_installation(provider: &Provider, runtime: &Runtime) -> TokenKey {
    let key = TokenKey::installation("crm");
    provider
        .seed(
            runtime,
            &key,
            "sekrit-a",
            true,
            3600,
            Some("sekrit-refresh"),
        )
        .await;
    key
}

/// A provider, and a runtime on a `MemoryStore` holding the installation's token.
async fn seeded() -> (Provider, Runtime) {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    seed_installation(&provider, &runtime).await;
    (provider, runtime)
}

async fn get_thing(
    runtime: &Runtime,
    provider: &Provider,
    id: &str,
    ttl: Duration,
) -> oauth_runtime::Response {
    let context = GetThingContext {
        port: provider.port(),
        id: id.into(),
    };
    Engine::new(runtime.clone())
        .get_thing(&context)
        .cache(ttl)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cached_get_is_answered_from_the_cache_until_its_ttl_then_asked_again() {
    let (provider, runtime) = seeded().await;
    let ttl = Duration::from_millis(400);
    let first = get_thing(&runtime, &provider, "7", ttl).await;
    assert_eq!(first.attempts(), 1);
    for _ in 0..3 {
        let again = get_thing(&runtime, &provider, "7", ttl).await;
        assert_eq!(again.attempts(), 0, "from the cache");
        assert_eq!(again.bytes(), first.bytes());
    }
    assert_eq!(api_calls(&provider), 1);
    // Another URL is another question.
    get_thing(&runtime, &provider, "8", ttl).await;
    assert_eq!(api_calls(&provider), 2);
    // Past its ttl, asked again.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(get_thing(&runtime, &provider, "7", ttl).await.attempts(), 1);
    assert_eq!(api_calls(&provider), 3);
    // Without `.cache`, never from the cache.
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    let plain = Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.attempts(), 1);
    assert_eq!(api_calls(&provider), 4);
}

#[tokio::test]
async fn cached_answers_are_never_shared_between_users() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let (ana, bob) = (UserId::new("ana"), UserId::new("bob"));
    for (user, token) in [(&ana, "sekrit-ana"), (&bob, "sekrit-bob")] {
        provider
            .seed(
                &runtime,
                &TokenKey::user("chat", user.clone()),
                token,
                true,
                3600,
                None,
            )
            .await;
    }
    let ttl = Duration::from_secs(60);
    let messages = |user: &UserId| {
        Engine::new(runtime.clone())
            .get_messages(
                &crate::GetMessagesContext {
                    port: provider.port(),
                },
                user,
            )
            .cache(ttl)
            .send()
    };
    for _ in 0..2 {
        let ana_says = messages(&ana)
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap();
        let bob_says = messages(&bob)
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap();
        assert_eq!(ana_says["token"], "sekrit-ana");
        assert_eq!(bob_says["token"], "sekrit-bob");
    }
    // One question each; the second round came from each user's own entry.
    assert_eq!(api_calls(&provider), 2);
}

#[tokio::test]
async fn only_success_is_cached_and_the_cache_is_bounded() {
    let provider = Provider::start().await;
    let runtime = provider
        .builder(MemoryStore::new())
        .response_cache(1, 1024 * 1024)
        .build()
        .unwrap();
    seed_installation(&provider, &runtime).await;
    let ttl = Duration::from_secs(60);
    // A 401 (the API rejects every token) is not kept.
    provider
        .state
        .reject_all
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    for _ in 0..2 {
        let refused = Engine::new(runtime.clone())
            .get_thing(&context)
            .cache(ttl)
            .send()
            .await;
        assert!(refused.is_err());
    }
    provider
        .state
        .reject_all
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let before = api_calls(&provider);
    get_thing(&runtime, &provider, "7", ttl).await;
    assert_eq!(get_thing(&runtime, &provider, "7", ttl).await.attempts(), 0);
    assert_eq!(api_calls(&provider), before + 1);
    // Room for one answer: keeping 8 drops 7.
    get_thing(&runtime, &provider, "8", ttl).await;
    assert_eq!(get_thing(&runtime, &provider, "7", ttl).await.attempts(), 1);
    assert_eq!(api_calls(&provider), before + 3);
}

#[tokio::test]
async fn new_tokens_for_a_key_drop_its_cached_answers() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let key = seed_installation(&provider, &runtime).await;
    let ttl = Duration::from_secs(60);
    get_thing(&runtime, &provider, "7", ttl).await;
    assert_eq!(get_thing(&runtime, &provider, "7", ttl).await.attempts(), 0);
    // Reauthorized through this runtime (perhaps as another account): the answers of the
    // old tokens are gone.
    provider.accept("sekrit-b");
    runtime
        .save_tokens(&key, oauth_runtime::TokenSet::new("sekrit-b"))
        .await
        .unwrap();
    let fresh = get_thing(&runtime, &provider, "7", ttl).await;
    assert_eq!(fresh.attempts(), 1);
    assert_eq!(
        fresh.json::<serde_json::Value>().unwrap()["token"],
        "sekrit-b"
    );
    // Forgotten: the same.
    get_thing(&runtime, &provider, "7", ttl).await;
    runtime.forget_tokens(&key).await.unwrap();
    provider.accept("sekrit-c");
    runtime
        .save_tokens(&key, oauth_runtime::TokenSet::new("sekrit-c"))
        .await
        .unwrap();
    assert_eq!(get_thing(&runtime, &provider, "7", ttl).await.attempts(), 1);
}

#[tokio::test]
async fn answers_asked_with_other_header_values_are_not_shared() {
    let (provider, runtime) = seeded().await;
    let ttl = Duration::from_secs(60);
    let get = |account: &str| {
        Engine::new(runtime.clone())
            .get_thing_as(&crate::GetThingAsContext {
                port: provider.port(),
                id: "7".into(),
                account: account.into(),
            })
            .cache(ttl)
            .send()
    };
    assert_eq!(get("acme").await.unwrap().attempts(), 1);
    assert_eq!(
        get("acme").await.unwrap().attempts(),
        0,
        "the same question"
    );
    assert_eq!(
        get("globex").await.unwrap().attempts(),
        1,
        "another header value"
    );
    assert_eq!(api_calls(&provider), 2);
}
