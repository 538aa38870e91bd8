//! Lifecycle events in real flows, a subscriber that never reads, and the metrics' names and
//! labels through a recorder.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit,
};
use oauth_runtime::events::{self, RefreshFailure, TokenEvent};
use oauth_runtime::{
    Callback, DeadToken, MemoryStore, ReauthorizationReason, Runtime, Subject, TokenKey, UserId,
};

use crate::support::{Fault, Provider};
use crate::{Engine, GetMessagesContext, GetThingContext};

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

/// `getThing` of thing `id`, sent through `runtime`.
async fn get_thing(
    runtime: &Runtime,
    provider: &Provider,
    id: &str,
) -> Result<oauth_runtime::Response, oauth_runtime::InvokeError> {
    Engine::new(runtime.clone())
        .get_thing(&GetThingContext {
            port: provider.port(),
            id: id.into(),
        })
        .send()
        .await
}

/// A runtime's builder on a `MemoryStore` with `integration`, its events sent to the receiver.
fn telling(
    integration: oauth_runtime::IntegrationConfig,
) -> (oauth_runtime::RuntimeBuilder, events::EventReceiver) {
    let (sender, receiver) = events::channel(64);
    let builder = Runtime::builder()
        .store(MemoryStore::new())
        .integration(integration)
        .events(sender);
    (builder, receiver)
}

fn drain(receiver: &mut events::EventReceiver) -> Vec<TokenEvent> {
    std::iter::from_fn(|| receiver.try_recv()).collect()
}

#[tokio::test]
async fn authorize_refresh_provider_down_then_up_and_a_dead_refresh_token_are_told() {
    let provider = Provider::start().await;
    let (builder, mut receiver) = telling(
        provider
            .integration("crm")
            .authorize_url("https://auth.example.com/authorize")
            .unwrap(),
    );
    let runtime = builder.refresh_backoff(Duration::ZERO).build().unwrap();

    // Authorized.
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state = request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    runtime
        .complete_authorization(
            "crm",
            None,
            &Callback::from_query(&format!("state={state}&code=good-code")),
        )
        .await
        .unwrap();
    assert_eq!(
        drain(&mut receiver),
        [TokenEvent::Authorized { key: crm() }]
    );

    // Refreshed.
    runtime.refresh_now(&crm()).await.unwrap();
    assert_eq!(drain(&mut receiver), [TokenEvent::Refreshed { key: crm() }]);

    // The provider is down: every attempt of the token request gets a 503.
    for _ in 0..3 {
        provider.fault(Fault::Status(503));
    }
    assert!(runtime.refresh_now(&crm()).await.is_err());
    assert_eq!(
        drain(&mut receiver),
        [TokenEvent::RefreshFailed {
            key: crm(),
            failure: RefreshFailure::Transient
        }]
    );

    // It is back: refreshed, and recovered.
    runtime.refresh_now(&crm()).await.unwrap();
    assert_eq!(
        drain(&mut receiver),
        [
            TokenEvent::Refreshed { key: crm() },
            TokenEvent::Recovered { key: crm() }
        ]
    );

    // The refresh token is refused: the admin must authorize again.
    provider.fault(Fault::InvalidGrant);
    assert!(runtime.refresh_now(&crm()).await.is_err());
    assert_eq!(
        drain(&mut receiver),
        [TokenEvent::ReauthorizationRequired {
            key: crm(),
            reason: ReauthorizationReason::Dead(DeadToken::RefreshTokenRejected),
            authorize_url: None,
        }]
    );
    assert_eq!(receiver.dropped(), 0);
}

#[tokio::test]
async fn an_agent_users_dead_token_event_carries_the_url_to_authorize_at() {
    let provider = Provider::start().await;
    let (builder, mut receiver) = telling(
        provider
            .integration("chat")
            .authorize_url("https://auth.example.com/authorize")
            .unwrap()
            .token_type(oauth_runtime::TokenType::Agent),
    );
    let runtime = builder.build().unwrap();
    let key = TokenKey::user("chat", "ana".into());
    provider
        .seed(
            &runtime,
            &key,
            "sekrit-ana",
            true,
            3600,
            Some("sekrit-refresh-ana"),
        )
        .await;
    provider.fault(Fault::InvalidGrant);
    assert!(runtime.refresh_now(&key).await.is_err());
    let events = drain(&mut receiver);
    let [
        TokenEvent::ReauthorizationRequired {
            key: told,
            authorize_url: Some(url),
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert_eq!(told, &key);
    assert_eq!(url.host_str(), Some("auth.example.com"));
    assert!(!format!("{events:?}").contains("sekrit"));
    // The URL holds the pending authorization's `state`: `Debug` never shows it.
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    assert!(!format!("{events:?}").contains(&state), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_slows_no_call_and_its_drops_are_counted() {
    let provider = Arc::new(Provider::start().await);
    let (sender, receiver) = events::channel(1);
    let runtime = provider
        .builder(MemoryStore::new())
        .refresh_margin(Duration::ZERO)
        .events(sender)
        .build()
        .unwrap();
    provider
        .seed(
            &runtime,
            &crm(),
            "sekrit-0",
            true,
            3600,
            Some("sekrit-refresh-0"),
        )
        .await;
    let started = std::time::Instant::now();
    for _ in 0..5 {
        runtime.refresh_now(&crm()).await.unwrap();
        let context = GetThingContext {
            port: provider.port(),
            id: "7".into(),
        };
        let response = Engine::new(runtime.clone())
            .get_thing(&context)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // One event fit; the four after it were dropped and counted.
    assert_eq!(receiver.dropped(), 4);
}

/// Counters and histogram counts by name and labels, for the test.
#[derive(Default)]
struct Recorded {
    values: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

struct Handle(Arc<AtomicU64>);

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl HistogramFn for Handle {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Recorded {
    fn handle(&self, key: &Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.values.lock().unwrap().entry(name).or_default().clone()
    }

    fn get(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }
}

struct TestRecorder(Arc<Recorded>);

impl metrics::Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle(self.0.handle(key))))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle(self.0.handle(key))))
    }
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Arc<Recorded>> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorded = Arc::new(Recorded::default());
        metrics::set_global_recorder(TestRecorder(recorded.clone()))
            .expect("the only recorder of this test process");
        recorded
    })
}

#[tokio::test]
async fn calls_refreshes_and_waits_are_metrics_with_bounded_labels() {
    let recorded = recorded();
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    provider.seed_expired(&runtime).await;
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    let calls = recorded.get("oauth_runtime_calls_total{status=2xx,template=getThing}");
    let refreshes =
        recorded.get("oauth_runtime_refreshes_total{integration=crm,outcome=refreshed}");
    for _ in 0..3 {
        Engine::new(runtime.clone())
            .get_thing(&context)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        recorded.get("oauth_runtime_calls_total{status=2xx,template=getThing}") - calls,
        3
    );
    assert!(recorded.get("oauth_runtime_call_attempts_total{template=getThing}") >= 3);
    assert!(recorded.get("oauth_runtime_call_duration_seconds{template=getThing}") >= 3);
    assert_eq!(
        recorded.get("oauth_runtime_refreshes_total{integration=crm,outcome=refreshed}")
            - refreshes,
        1
    );
    // The first call waited for the refresh.
    assert!(recorded.get("oauth_runtime_token_wait_seconds{integration=crm}") >= 1);
    // A call that gets no response is counted as `error`.
    provider.state.reject_all.store(true, Ordering::SeqCst);
    let before = recorded.get("oauth_runtime_calls_total{status=4xx,template=getThing}");
    let _ = Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await;
    assert_eq!(
        recorded.get("oauth_runtime_calls_total{status=4xx,template=getThing}") - before,
        1
    );
    // Labels are the bounded ones only: no id, user or token is ever a label.
    let names: Vec<String> = recorded.values.lock().unwrap().keys().cloned().collect();
    for name in &names {
        let labels = name
            .split_once('{')
            .map_or("", |(_, l)| l.trim_end_matches('}'));
        for label in labels.split(',').filter(|l| !l.is_empty()) {
            let key = label.split_once('=').map_or(label, |(k, _)| k);
            assert!(
                ["template", "status", "integration", "outcome", "kind"].contains(&key),
                "{name}"
            );
        }
        assert!(!name.contains("sekrit"), "{name}");
    }
}

#[tokio::test]
async fn a_token_that_expired_is_refreshed_by_a_call_and_told() {
    let provider = Provider::start().await;
    let (sender, mut receiver) = events::channel(8);
    let runtime = provider
        .builder(MemoryStore::new())
        .events(sender)
        .build()
        .unwrap();
    provider.seed_expired(&runtime).await;
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await
        .unwrap();
    assert_eq!(drain(&mut receiver), [TokenEvent::Refreshed { key: crm() }]);
    // A call on the fresh token tells nothing.
    Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await
        .unwrap();
    assert_eq!(drain(&mut receiver), []);
}

#[tokio::test]
async fn a_rejected_token_that_cannot_be_renewed_is_told_once_not_at_every_call() {
    let provider = Provider::start().await;
    let (sender, mut receiver) = events::channel(8);
    let runtime = provider
        .builder(MemoryStore::new())
        .events(sender)
        .build()
        .unwrap();
    // A token that does not expire and has no refresh token (GitHub's OAuth apps'), revoked
    // at the provider: every call gets a 401.
    runtime
        .save_tokens(&crm(), oauth_runtime::TokenSet::new("sekrit-revoked"))
        .await
        .unwrap();
    drain(&mut receiver);
    let context = GetThingContext {
        port: provider.port(),
        id: "7".into(),
    };
    for _ in 0..3 {
        assert!(
            Engine::new(runtime.clone())
                .get_thing(&context)
                .send()
                .await
                .is_err()
        );
    }
    let told: Vec<TokenEvent> = drain(&mut receiver);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(matches!(
        &told[0],
        TokenEvent::ReauthorizationRequired {
            reason: ReauthorizationReason::Dead(DeadToken::AccessTokenRejected),
            ..
        }
    ));
}

/// Every store failure is counted by kind, including a refresh whose tokens could not be
/// saved (kept in memory, and saved by the next call).
#[tokio::test]
async fn store_failures_are_counted_by_kind() {
    let recorded = recorded();
    let provider = Provider::start().await;
    let (store, fail) = crate::refresh::Recording::on(&provider);
    let runtime = provider.runtime(store);
    provider.seed_expired(&runtime).await;
    let io = "oauth_runtime_token_store_errors_total{kind=io}";
    let before = recorded.get(io);
    fail.store(true, Ordering::SeqCst);
    let failed = get_thing(&runtime, &provider, "7").await;
    assert!(failed.is_err(), "the refreshed tokens could not be saved");
    assert_eq!(recorded.get(io) - before, 1);
    // The next call saves the kept tokens, and nothing more is counted.
    fail.store(false, Ordering::SeqCst);
    get_thing(&runtime, &provider, "7").await.unwrap();
    assert_eq!(recorded.get(io) - before, 1);
}

/// Tokens that lack scopes the integration now asks for are told once per stored version, as
/// the calls fail with the same reason; a user's event carries the URL to authorize at.
#[tokio::test]
async fn missing_scopes_are_told_once_per_stored_version() {
    // The installation's key, and a user's (whose cached tokens the users' table keeps).
    let alice = TokenKey::user("chat", UserId::new("alice"));
    for (key, wanted) in [(crm(), "things.write"), (alice, "messages.write")] {
        let provider = Provider::start().await;
        let integration = provider.integration(&key.integration);
        let integration = match &key.subject {
            Subject::Installation => integration.scopes(["things.read", "things.write"]),
            Subject::User(_) => (integration.token_type(oauth_runtime::TokenType::Agent))
                .scopes(["messages", "messages.write"]),
        };
        let (builder, mut receiver) = telling(integration);
        let runtime = builder.build().unwrap();
        let granted = match &key.subject {
            Subject::Installation => "things.read",
            Subject::User(_) => "messages",
        };
        let narrow = || {
            oauth_runtime::TokenSet::new("sekrit-narrow")
                .expires_in(Duration::from_secs(1800))
                .with_requested_scopes([granted])
        };
        runtime.save_tokens(&key, narrow()).await.unwrap();
        provider.accept("sekrit-narrow");
        for _ in 0..3 {
            let failed = match &key.subject {
                Subject::Installation => get_thing(&runtime, &provider, "1").await.unwrap_err(),
                Subject::User(user) => Engine::new(runtime.clone())
                    .get_messages(
                        &GetMessagesContext {
                            port: provider.port(),
                        },
                        user,
                    )
                    .send()
                    .await
                    .unwrap_err(),
            };
            assert!(failed.to_string().contains(wanted), "{key:?}: {failed}");
        }
        let told: Vec<TokenEvent> = drain(&mut receiver)
            .into_iter()
            .filter(|e| matches!(e, TokenEvent::ReauthorizationRequired { .. }))
            .collect();
        assert_eq!(told.len(), 1, "{key:?}: {told:?}");
        match &told[0] {
            TokenEvent::ReauthorizationRequired {
                key: told_key,
                reason,
                ..
            } => {
                assert_eq!(told_key, &key);
                assert_eq!(
                    reason,
                    &ReauthorizationReason::MissingScopes(vec![wanted.to_string()])
                );
            }
            other => panic!("{other:?}"),
        }
        // A new grant, still narrow: a new version, told again.
        runtime.save_tokens(&key, narrow()).await.unwrap();
        let again = drain(&mut receiver)
            .into_iter()
            .filter(|e| matches!(e, TokenEvent::ReauthorizationRequired { .. }))
            .count();
        assert_eq!(again, 1, "{key:?}");
    }
}
