//! Many installations on one runtime: each handle (`Runtime::installation`) sends its own
//! installation's tokens, authorizations store tokens for the installation they were started
//! for (whichever handle completes them), errors say which installation must authorize, and
//! uninstalling one leaves the others.

use oauth_runtime::{
    Callback, CallbackOutcome, FileStore, InstallationId, InvokeError, MemoryStore, Runtime,
    Subject, TokenKey, TokenStore,
};

use crate::support::Provider;
use crate::{Engine, GetThingContext};

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

/// The token the API saw on a call of `runtime`'s installation.
async fn token_sent(runtime: &Runtime, provider: &Provider) -> Result<String, InvokeError> {
    let response = Engine::new(runtime.clone())
        .get_thing(&GetThingContext {
            port: provider.port(),
            id: "1".into(),
        })
        .send()
        .await?;
    let body: serde_json::Value = response.json().unwrap();
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}

/// Valid tokens for the default installation and for `acme` and `globex`.
async fn seed_three(provider: &Provider, runtime: &Runtime) {
    for (installation, token) in [
        ("", "sekrit-default"),
        ("acme", "sekrit-acme"),
        ("globex", "sekrit-globex"),
    ] {
        let key = crm().in_installation(installation);
        provider.seed(runtime, &key, token, true, 3600, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_installation_sends_its_own_token_through_one_runtime() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    seed_three(&provider, &runtime).await;
    let mut calls = tokio::task::JoinSet::new();
    let provider = std::sync::Arc::new(provider);
    for round in 0..30 {
        let (installation, expected) = match round % 3 {
            0 => ("", "sekrit-default"),
            1 => ("acme", "sekrit-acme"),
            _ => ("globex", "sekrit-globex"),
        };
        let handle = runtime.installation(installation);
        let provider = provider.clone();
        calls.spawn(async move {
            let sent = token_sent(&handle, &provider).await.unwrap();
            assert_eq!(sent, expected, "installation {installation:?}");
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    assert_eq!(runtime.installation_id(), &InstallationId::default());
    assert_eq!(
        runtime.installation("acme").installation_id().as_str(),
        "acme"
    );
}

#[tokio::test]
async fn an_installation_without_tokens_is_named_in_the_error() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    seed_three(&provider, &runtime).await;
    let error = token_sent(&runtime.installation("initech"), &provider)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("installation `initech` must authorize `crm`"),
        "{error}"
    );
    match error {
        InvokeError::ReauthorizationRequired { installation, .. } => {
            assert_eq!(installation, InstallationId::new("initech"));
        }
        other => panic!("{other:?}"),
    }
    // The default installation's error reads as before.
    let lone = provider.runtime(MemoryStore::new());
    let error = token_sent(&lone, &provider).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the installation must authorize `crm`"),
        "{error}"
    );
}

#[tokio::test]
async fn uninstalling_one_installation_leaves_the_others() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    seed_three(&provider, &runtime).await;
    assert_eq!(runtime.installation("acme").uninstall().await.unwrap(), 1);
    let mut left: Vec<String> = runtime
        .store()
        .unwrap()
        .keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.installation.as_str().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["", "globex"]);
    assert_eq!(
        token_sent(&runtime.installation("globex"), &provider)
            .await
            .unwrap(),
        "sekrit-globex"
    );
    assert!(
        token_sent(&runtime.installation("acme"), &provider)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn uninstalling_one_installation_keeps_the_others_cached_answers() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    seed_three(&provider, &runtime).await;
    let cached = |installation: &str| {
        Engine::new(runtime.installation(installation))
            .get_thing(&GetThingContext {
                port: provider.port(),
                id: "1".into(),
            })
            .cache(std::time::Duration::from_secs(60))
            .send()
    };
    for installation in ["acme", "globex"] {
        assert_eq!(cached(installation).await.unwrap().attempts(), 1);
        assert_eq!(cached(installation).await.unwrap().attempts(), 0, "cached");
    }
    runtime.installation("acme").uninstall().await.unwrap();
    assert_eq!(
        cached("globex").await.unwrap().attempts(),
        0,
        "still cached"
    );
    assert!(cached("acme").await.is_err(), "no token, no answer");
}

#[tokio::test]
async fn an_authorization_belongs_to_the_installation_that_started_it() {
    let provider = Provider::start().await;
    let runtime = provider.authorizing_runtime("http://localhost:9/callback");
    let acme = runtime.installation("acme");
    let request = acme.authorize("crm", Subject::Installation).await.unwrap();
    assert_eq!(request.installation().as_str(), "acme");
    let state: String = request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // The callback route does not know the installation: any handle completes it, and the
    // tokens go where the authorization was started.
    let callback = Callback::from_query(&format!("state={state}&code=good-code"));
    let outcome = runtime
        .complete_authorization("crm", None, &callback)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallbackOutcome::Authorized {
            integration: "crm".into(),
            subject: Subject::Installation,
            installation: InstallationId::new("acme"),
        }
    );
    let store = runtime.store().unwrap();
    assert!(
        store
            .load(&crm().in_installation("acme"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.load(&crm()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_token_file_keeps_installations_apart_and_opens_files_written_before_them() {
    let dir = std::env::temp_dir().join(format!("installations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A file as the previous version wrote it: no installation anywhere.
    let file = dir.join("tokens.json");
    std::fs::write(
        &file,
        r#"{ "format": 1, "highest_version": 3, "records": [ { "integration": "crm", "user": null,
            "version": 3, "access_token": "sekrit-old", "refresh_token": null, "expires_at": null,
            "scopes": null, "needs_reauthorization": null } ] }"#,
    )
    .unwrap();
    let store = FileStore::new(&file);
    let old = store.load(&crm()).await.unwrap().expect("the old record");
    assert_eq!(old.record.tokens.access_token().secret(), "sekrit-old");
    assert!(
        store
            .load(&crm().in_installation("acme"))
            .await
            .unwrap()
            .is_none()
    );
    let acme = crm().in_installation("acme");
    store
        .save(
            &acme,
            &oauth_runtime::TokenRecord::active(oauth_runtime::TokenSet::new("sekrit-acme")),
            None,
        )
        .await
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(r#""installation": "acme""#), "{text}");
    // Read again from the file: both, each in its installation.
    let reopened = FileStore::new(&file);
    let mut keys = reopened.keys().await.unwrap();
    keys.sort();
    assert_eq!(keys, [crm(), acme.clone()]);
    assert_eq!(
        reopened
            .load(&acme)
            .await
            .unwrap()
            .unwrap()
            .record
            .tokens
            .access_token()
            .secret(),
        "sekrit-acme"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An [`IntegrationSource`] over a map, counting how often it is asked, or failing.
struct Counted {
    map: oauth_runtime::IntegrationMap,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    fail: bool,
}

impl oauth_runtime::IntegrationSource for Counted {
    fn integrations<'a>(
        &'a self,
        installation: &'a InstallationId,
    ) -> oauth_runtime::IntegrationsFuture<'a> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail {
            return Box::pin(async {
                Err(oauth_runtime::TokenError::new(
                    "the installations table is down",
                ))
            });
        }
        self.map.integrations(installation)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_installation_refreshes_at_its_own_token_url_from_the_apps_source() {
    // Two organisations, two token endpoints (FreshID's token URL holds the org's domain).
    let (acme_provider, globex_provider) = (Provider::start().await, Provider::start().await);
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let source = Counted {
        map: oauth_runtime::IntegrationMap::new()
            .with("acme", acme_provider.integration("crm"))
            .with("globex", globex_provider.integration("crm")),
        asked: asked.clone(),
        fail: false,
    };
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration_source(source)
        .build()
        .unwrap();
    for (installation, provider) in [("acme", &acme_provider), ("globex", &globex_provider)] {
        let key = crm().in_installation(installation);
        let refresh = format!("sekrit-refresh-{installation}");
        provider
            .seed(&runtime, &key, "sekrit-expired", false, -60, Some(&refresh))
            .await;
    }
    for (installation, provider) in [("acme", &acme_provider), ("globex", &globex_provider)] {
        let handle = runtime.installation(installation);
        let sent = token_sent(&handle, provider).await.unwrap();
        assert!(sent.starts_with("sekrit-access-"), "{sent}");
        assert_eq!(
            provider.token_requests(),
            1,
            "{installation} refreshed at its own"
        );
    }
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Kept: further refreshes do not ask again; after `forget_integrations`, they do.
    let acme = runtime.installation("acme");
    acme.refresh_now(&crm().in_installation("acme"))
        .await
        .unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
    acme.forget_integrations();
    acme.refresh_now(&crm().in_installation("acme"))
        .await
        .unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(acme_provider.token_requests(), 3);
    assert_eq!(globex_provider.token_requests(), 1);
}

#[tokio::test]
async fn a_failing_source_is_named_in_the_error_and_nothing_is_refreshed() {
    let provider = Provider::start().await;
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration_source(Counted {
            map: oauth_runtime::IntegrationMap::new(),
            asked: Default::default(),
            fail: true,
        })
        .build()
        .unwrap();
    let key = crm().in_installation("acme");
    provider
        .seed(
            &runtime,
            &key,
            "sekrit-expired",
            false,
            -60,
            Some("sekrit-r"),
        )
        .await;
    let error = token_sent(&runtime.installation("acme"), &provider)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("the integrations of installation `acme` could not be had")
            && text.contains("the installations table is down"),
        "{text}"
    );
    assert_eq!(provider.token_requests(), 0);
    let refused = runtime
        .installation("acme")
        .authorize("crm", Subject::Installation)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the installations table is down"),
        "{refused}"
    );
}

#[tokio::test]
async fn keys_let_go_from_memory_are_read_again_from_the_store() {
    let provider = Provider::start().await;
    // Two keys in memory at most, let go after 20 ms unused.
    let runtime = provider
        .builder(MemoryStore::new())
        .token_cache(std::time::Duration::from_millis(20), 2)
        .build()
        .unwrap();
    let names: Vec<String> = (0..6).map(|n| format!("installation-{n}")).collect();
    for name in &names {
        let key = crm().in_installation(name.as_str());
        provider
            .seed(&runtime, &key, &format!("sekrit-{name}"), true, 3600, None)
            .await;
    }
    for round in 0..3 {
        for name in &names {
            let sent = token_sent(&runtime.installation(name.as_str()), &provider)
                .await
                .unwrap();
            assert_eq!(sent, format!("sekrit-{name}"), "round {round}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_over_its_budget_waits_or_is_refused_and_never_delays_another() {
    let provider = std::sync::Arc::new(Provider::start().await);
    // Two requests per 400 ms for each installation.
    let runtime = provider
        .builder(MemoryStore::new())
        .installation_budget(2, std::time::Duration::from_millis(400))
        .build()
        .unwrap();
    seed_three(&provider, &runtime).await;
    let (acme, globex) = (runtime.installation("acme"), runtime.installation("globex"));
    token_sent(&acme, &provider).await.unwrap();
    token_sent(&acme, &provider).await.unwrap();
    // The third waits for its turn (about 200 ms), within the call's timeout…
    let started = std::time::Instant::now();
    let waiting = {
        let (acme, provider) = (acme.clone(), provider.clone());
        tokio::spawn(async move { token_sent(&acme, &provider).await })
    };
    // …while another installation's calls go at once.
    for _ in 0..2 {
        assert_eq!(
            token_sent(&globex, &provider).await.unwrap(),
            "sekrit-globex"
        );
    }
    assert_eq!(waiting.await.unwrap().unwrap(), "sekrit-acme");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(150),
        "the third call of the budget waited its turn"
    );

    // A call that cannot wait that long is refused at once, nothing sent.
    let strict = provider
        .builder(MemoryStore::new())
        .installation_budget(1, std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    seed_three(&provider, &strict).await;
    let initech = strict.installation("acme");
    token_sent(&initech, &provider).await.unwrap();
    let before = api_calls(&provider);
    let refused = token_sent(&initech, &provider).await.unwrap_err();
    assert!(
        matches!(refused, InvokeError::RateLimited { .. }),
        "{refused:?}"
    );
    assert_eq!(refused.attempts(), 0);
    assert_eq!(api_calls(&provider), before, "nothing sent");
    let text = refused.to_string();
    assert!(
        text.contains("installation `acme` is over its budget of 1 requests per 60 s"),
        "{text}"
    );
}

/// How many calls reached the API.
fn api_calls(provider: &Provider) -> usize {
    provider
        .events()
        .iter()
        .filter(|e| e.starts_with("api "))
        .count()
}

#[tokio::test]
async fn a_named_handle_completes_only_its_own_installations_authorizations() {
    let provider = Provider::start().await;
    let runtime = provider.authorizing_runtime("http://localhost:9/callback");
    let request = runtime
        .installation("acme")
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state: String = request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let callback = Callback::from_query(&format!("state={state}&code=good-code"));
    let refused = runtime
        .installation("globex")
        .complete_authorization("crm", None, &callback)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            oauth_runtime::CallbackError::WrongInstallation { .. }
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("another installation"),
        "{refused}"
    );
    assert_eq!(
        provider.token_requests(),
        0,
        "refused before any token request"
    );
    let store = runtime.store().unwrap();
    assert!(store.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_handles_keys_of_the_default_installation_are_its_own() {
    let provider = Provider::start().await;
    let runtime = provider.runtime(MemoryStore::new());
    let acme = runtime.installation("acme");
    acme.save_tokens(&crm(), oauth_runtime::TokenSet::new("sekrit-acme"))
        .await
        .unwrap();
    runtime
        .save_tokens(&crm(), oauth_runtime::TokenSet::new("sekrit-default"))
        .await
        .unwrap();
    assert_eq!(
        acme.access_token(&crm()).await.unwrap().secret(),
        "sekrit-acme"
    );
    assert!(acme.forget_tokens(&crm()).await.unwrap());
    assert_eq!(
        runtime.access_token(&crm()).await.unwrap().secret(),
        "sekrit-default",
        "the default installation's token stays"
    );
    // A key naming an installation is that one's, whatever the handle.
    runtime
        .save_tokens(
            &crm().in_installation("globex"),
            oauth_runtime::TokenSet::new("sekrit-globex"),
        )
        .await
        .unwrap();
    assert_eq!(
        acme.access_token(&crm().in_installation("globex"))
            .await
            .unwrap()
            .secret(),
        "sekrit-globex"
    );
}
