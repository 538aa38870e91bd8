//! The authorization-code grant: the authorize URL, every way a callback is refused (with no
//! token request), Cancel, the code exchange with PKCE and custom headers, and three
//! integrations side by side.

use std::time::Duration;

use oauth_runtime::{
    AuthorizeError, Callback, CallbackError, CallbackOutcome, InvokeError, MemoryStore, Runtime,
    Subject, TokenKey, TokenType, UserId,
};

use crate::support::Provider;
use crate::{Engine, GetInvoiceContext, GetMessagesContext, GetThingContext};

fn runtime(provider: &Provider, ttl: Duration) -> Runtime {
    let with_urls = |name: &str, agent: bool| {
        let config = provider
            .integration(name)
            .authorize_url(&format!(
                "https://auth.example.com/{name}/authorize?tenant=acme"
            ))
            .unwrap()
            .scopes([format!("{name}.read"), format!("{name}.write")])
            .authorize_param("access_type", "offline")
            .unwrap();
        if agent {
            config.token_type(TokenType::Agent)
        } else {
            config
        }
    };
    Runtime::builder()
        .store(MemoryStore::new())
        .integration(with_urls("crm", false))
        .integration(with_urls("billing", false).pkce(false))
        .integration(with_urls("chat", true))
        .authorization_ttl(ttl)
        .build()
        .unwrap()
}

fn query(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The `state` an authorize URL carries.
fn state(url: &url::Url) -> String {
    param(&query(url), "state").unwrap().to_string()
}

fn callback(state: &str, rest: &str) -> Callback {
    Callback::from_query(&format!("state={state}&{rest}"))
}

#[tokio::test]
async fn the_authorize_url_carries_what_the_provider_needs() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let url = request.url();
    assert_eq!(url.host_str(), Some("auth.example.com"));
    assert_eq!(url.path(), "/crm/authorize");
    let pairs = query(url);
    assert_eq!(
        param(&pairs, "tenant"),
        Some("acme"),
        "the URL's own query is kept"
    );
    assert_eq!(param(&pairs, "client_id"), Some("crm-client"));
    assert_eq!(
        param(&pairs, "redirect_uri"),
        Some("http://localhost:10001/auth/callback")
    );
    assert_eq!(param(&pairs, "response_type"), Some("code"));
    assert_eq!(param(&pairs, "scope"), Some("crm.read crm.write"));
    assert_eq!(param(&pairs, "access_type"), Some("offline"));
    assert_eq!(param(&pairs, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&pairs, "code_challenge").map(str::len), Some(43));
    let state = param(&pairs, "state").unwrap();
    assert_eq!(state.len(), 43);
    let again = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    assert_ne!(
        param(&query(again.url()), "state"),
        Some(state),
        "a new state each time"
    );
    assert!(!url.as_str().contains("sekrit"), "no secret in the URL");

    let plain = runtime
        .authorize("billing", Subject::Installation)
        .await
        .unwrap();
    assert_eq!(
        param(&query(plain.url()), "code_challenge"),
        None,
        "PKCE turned off"
    );

    assert!(matches!(
        runtime.authorize("chat", Subject::Installation).await,
        Err(AuthorizeError::WrongSubject { agent: true, .. })
    ));
    assert!(matches!(
        runtime
            .authorize("crm", Subject::User(UserId::new("ana")))
            .await,
        Err(AuthorizeError::WrongSubject { agent: false, .. })
    ));
    assert_eq!(
        runtime
            .authorize("nope", Subject::Installation)
            .await
            .unwrap_err()
            .to_string(),
        "the runtime has no integration `nope` (see RuntimeBuilder::integration and RuntimeBuilder::integration_source)"
    );
}

#[tokio::test]
async fn a_refused_code_exchange_says_it_was_the_exchange_and_what_to_check() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    // The client's credentials refused, in the header and then in the form.
    for _ in 0..2 {
        provider.fault(crate::support::Fault::Status(401));
    }
    let request = runtime
        .authorize("billing", Subject::Installation)
        .await
        .unwrap();
    let error = runtime
        .complete_authorization(
            "billing",
            None,
            &callback(&state(request.url()), "code=good-code"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "authorizing `billing` failed: the code exchange for `billing` failed: the token endpoint \
         refused the app's client credentials (the token endpoint answered 401 Unauthorized): \
         check the integration's client id and client secret"
    );
    assert!(!error.to_string().contains("refreshed"), "{error}");
    assert_eq!(provider.token_requests(), 2, "the header, then the form");

    // A code the server refuses.
    let request = runtime
        .authorize("billing", Subject::Installation)
        .await
        .unwrap();
    let error = runtime
        .complete_authorization(
            "billing",
            None,
            &callback(&state(request.url()), "code=bad-code"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "authorizing `billing` failed: the code exchange for `billing` failed: the authorization \
         server refused the code (it expired, was used, or was issued for another redirect URI)"
    );
}

#[tokio::test]
async fn the_code_is_exchanged_with_the_verifier_and_the_same_redirect_uri() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let pairs = query(request.url());
    *provider.state.challenge.lock().unwrap() = param(&pairs, "code_challenge").map(str::to_string);
    let state = param(&pairs, "state").unwrap();
    let outcome = runtime
        .complete_authorization("crm", None, &callback(state, "code=good-code"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallbackOutcome::Authorized {
            integration: "crm".into(),
            subject: Subject::Installation,
            installation: oauth_runtime::InstallationId::default(),
        }
    );
    let exchange = provider.state.exchanges.lock().unwrap()[0].clone();
    let field = |k: &str| param(&exchange, k).map(str::to_string);
    assert_eq!(field("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(
        field("redirect_uri").as_deref(),
        Some("http://localhost:10001/auth/callback")
    );
    assert_eq!(field("code_verifier").map(|v| v.len()), Some(43));
    // Client authentication: Basic, since the integration has no custom headers.
    let auth = provider.state.token_authorization.lock().unwrap()[0].clone();
    assert!(auth.starts_with("Basic "), "{auth}");

    // The stored token is used, with the scopes asked for.
    let stored = runtime
        .store()
        .unwrap()
        .load(&TokenKey::installation("crm"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.record.tokens.granted_scopes().unwrap(),
        ["crm.read", "crm.write"]
    );
    assert_eq!(
        stored.record.tokens.requested_scopes().unwrap(),
        ["crm.read", "crm.write"]
    );
    let context = GetThingContext {
        port: provider.port(),
        id: "1".into(),
    };
    let response = Engine::new(runtime.clone())
        .get_thing(&context)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The same callback again: the state was single use.
    let replay = runtime
        .complete_authorization("crm", None, &callback(state, "code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(replay, CallbackError::UnknownState), "{replay:?}");
    assert_eq!(provider.token_requests(), 1);
}

#[tokio::test]
async fn refused_callbacks_make_no_token_request() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_millis(200));
    let state_of = async |integration: &str, subject: Subject| {
        let request = runtime.authorize(integration, subject).await.unwrap();
        state(request.url())
    };

    let error = runtime
        .complete_authorization("crm", None, &Callback::from_query("code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::NoState), "{error:?}");

    let error = runtime
        .complete_authorization("crm", None, &callback("forged-state", "code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::UnknownState), "{error:?}");

    // A state issued for billing never completes crm.
    let billing = state_of("billing", Subject::Installation).await;
    let error = runtime
        .complete_authorization("crm", None, &callback(&billing, "code=good-code"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallbackError::WrongIntegration { ref issued_for, .. } if issued_for == "billing"),
        "{error:?}"
    );
    // …and it is spent: it cannot be replayed at the right place either.
    let error = runtime
        .complete_authorization("billing", None, &callback(&billing, "code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::UnknownState), "{error:?}");

    // A user's state does not complete another user's authorization.
    let ana = state_of("chat", Subject::User(UserId::new("ana"))).await;
    let error = runtime
        .complete_authorization(
            "chat",
            Some(&UserId::new("bob")),
            &callback(&ana, "code=good-code"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallbackError::WrongSubject { .. }),
        "{error:?}"
    );

    let late = state_of("crm", Subject::Installation).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = runtime
        .complete_authorization("crm", None, &callback(&late, "code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::Expired { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the authorization of `crm` took too long: start it again"
    );

    let no_code = state_of("crm", Subject::Installation).await;
    let error = runtime
        .complete_authorization("crm", None, &callback(&no_code, "x=1"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::NoCode { .. }), "{error:?}");

    let provider_error = state_of("crm", Subject::Installation).await;
    let error = runtime
        .complete_authorization(
            "crm",
            None,
            &callback(&provider_error, "error=server_error%0D%0A"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the authorization server refused to authorize `crm`: `server_error`"
    );

    assert_eq!(
        provider.token_requests(),
        0,
        "no callback above reached the token endpoint"
    );
    assert!(runtime.store().unwrap().keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn cancel_leaves_the_app_unauthorized() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let request = runtime
        .authorize("chat", Subject::User(UserId::new("ana")))
        .await
        .unwrap();
    let state = state(request.url());
    let outcome = runtime
        .complete_authorization(
            "chat",
            Some(&UserId::new("ana")),
            &callback(
                &state,
                "error=access_denied&error_description=The+user+cancelled",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CallbackOutcome::Denied {
            integration: "chat".into(),
            subject: Subject::User(UserId::new("ana"))
        }
    );
    assert_eq!(provider.token_requests(), 0);
    let context = GetMessagesContext {
        port: provider.port(),
    };
    let error = Engine::new(runtime)
        .get_messages(&context, &UserId::new("ana"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, InvokeError::ReauthorizationRequired { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn custom_token_headers_are_sent_verbatim_instead_of_client_authentication() {
    let provider = Provider::start().await;
    let freshid = provider
        .integration("crm")
        .authorize_url("https://acme.myfreshworks.com/org/oauth/v2/authorize")
        .unwrap()
        .token_header("Authorization", "Basic c2Vrcml0LWlkOnNla3JpdC1zZWNyZXQ=")
        .unwrap();
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(freshid)
        .build()
        .unwrap();
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state = state(request.url());
    runtime
        .complete_authorization("crm", None, &callback(&state, "code=good-code"))
        .await
        .unwrap();
    assert_eq!(
        provider
            .state
            .token_authorization
            .lock()
            .unwrap()
            .as_slice(),
        ["Basic c2Vrcml0LWlkOnNla3JpdC1zZWNyZXQ="]
    );
    let exchange = provider.state.exchanges.lock().unwrap()[0].clone();
    assert_eq!(
        param(&exchange, "client_secret"),
        None,
        "no second client authentication"
    );
}

#[tokio::test]
async fn three_integrations_keep_their_tokens_apart() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let ana = UserId::new("ana");
    let bob = UserId::new("bob");
    for (integration, subject) in [
        ("crm", Subject::Installation),
        ("billing", Subject::Installation),
        ("chat", Subject::User(ana.clone())),
        ("chat", Subject::User(bob.clone())),
    ] {
        let user = match &subject {
            Subject::User(user) => Some(user.clone()),
            Subject::Installation => None,
        };
        let request = runtime.authorize(integration, subject).await.unwrap();
        let state = state(request.url());
        let outcome = runtime
            .complete_authorization(
                integration,
                user.as_ref(),
                &callback(&state, "code=good-code"),
            )
            .await
            .unwrap();
        assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));
    }
    let store = runtime.store().unwrap();
    let mut tokens = Vec::new();
    for key in [
        TokenKey::installation("crm"),
        TokenKey::installation("billing"),
        TokenKey::user("chat", ana.clone()),
        TokenKey::user("chat", bob.clone()),
    ] {
        let stored = store.load(&key).await.unwrap().unwrap();
        tokens.push(stored.record.tokens.access_token().secret().to_string());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 4, "each key has its own token");

    // Each call sends its own integration's (and user's) token.
    let engine = Engine::new(runtime.clone());
    let port = provider.port();
    engine
        .get_thing(&GetThingContext {
            port: port.clone(),
            id: "1".into(),
        })
        .send()
        .await
        .unwrap();
    engine
        .get_invoice(&GetInvoiceContext { port: port.clone() })
        .send()
        .await
        .unwrap();
    let messages = GetMessagesContext { port };
    engine.get_messages(&messages, &ana).send().await.unwrap();
    engine.get_messages(&messages, &bob).send().await.unwrap();
    let sent: Vec<String> = provider
        .events()
        .iter()
        .filter_map(|e| {
            e.strip_prefix("api ")
                .map(|rest| rest.split(' ').next().unwrap().to_string())
        })
        .collect();
    let expected: Vec<String> = {
        let load = |key: TokenKey| {
            let store = store.clone();
            async move {
                store
                    .load(&key)
                    .await
                    .unwrap()
                    .unwrap()
                    .record
                    .tokens
                    .access_token()
                    .secret()
                    .to_string()
            }
        };
        vec![
            load(TokenKey::installation("crm")).await,
            load(TokenKey::installation("billing")).await,
            load(TokenKey::user("chat", ana.clone())).await,
            load(TokenKey::user("chat", bob.clone())).await,
        ]
    };
    assert_eq!(sent, expected);

    // Revoking one leaves the others.
    assert!(
        runtime
            .forget_tokens(&TokenKey::user("chat", ana.clone()))
            .await
            .unwrap()
    );
    assert!(engine.get_messages(&messages, &ana).send().await.is_err());
    assert!(engine.get_messages(&messages, &bob).send().await.is_ok());
}

#[tokio::test]
async fn a_user_without_a_token_gets_the_url_to_authorize() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let context = GetMessagesContext {
        port: provider.port(),
    };
    let engine = Engine::new(runtime.clone());
    let mut urls = Vec::new();
    for _ in 0..3 {
        match engine
            .get_messages(&context, &UserId::new("ana"))
            .send()
            .await
            .unwrap_err()
        {
            InvokeError::ReauthorizationRequired {
                authorize_url: Some(url),
                reason: oauth_runtime::ReauthorizationReason::NotAuthorized,
                ..
            } => urls.push(url),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(urls[0].path(), "/chat/authorize");
    assert_eq!(param(&query(&urls[0]), "client_id"), Some("chat-client"));
    assert!(
        urls.iter().all(|u| u == &urls[0]),
        "failing calls reuse one authorization"
    );
    // Following it completes ana's authorization.
    let state = state(&urls[0]);
    let outcome = runtime
        .complete_authorization(
            "chat",
            Some(&UserId::new("ana")),
            &callback(&state, "code=good-code"),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));
    assert!(
        engine
            .get_messages(&context, &UserId::new("ana"))
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn uninstall_deletes_every_token_of_the_installation() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    for (integration, user) in [
        ("crm", None),
        ("billing", None),
        ("chat", Some(UserId::new("ana"))),
    ] {
        let subject = user.clone().map_or(Subject::Installation, Subject::User);
        let request = runtime.authorize(integration, subject).await.unwrap();
        let state = state(request.url());
        runtime
            .complete_authorization(
                integration,
                user.as_ref(),
                &callback(&state, "code=good-code"),
            )
            .await
            .unwrap();
    }
    assert_eq!(runtime.uninstall().await.unwrap(), 3);
    assert!(runtime.store().unwrap().keys().await.unwrap().is_empty());
    let context = GetThingContext {
        port: provider.port(),
        id: "1".into(),
    };
    let error = Engine::new(runtime)
        .get_thing(&context)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        InvokeError::ReauthorizationRequired {
            reason: oauth_runtime::ReauthorizationReason::NotAuthorized,
            ..
        }
    ));
}

#[test]
fn credentials_come_from_the_environment_and_their_absence_says_where_it_looked() {
    let vars = |id: Option<&'static str>, secret: Option<&'static str>| {
        move |var: &str| match var {
            "OAUTH_FRESH_SERVICE_CLIENT_ID" => id.map(str::to_string),
            "OAUTH_FRESH_SERVICE_CLIENT_SECRET" => secret.map(str::to_string),
            _ => None,
        }
    };
    let url = "https://acme.myfreshworks.com/org/oauth/v2/token";
    let config = oauth_runtime::IntegrationConfig::from_vars(
        "fresh-service",
        url,
        vars(Some("id"), Some("sekrit")),
    )
    .unwrap();
    assert!(!format!("{config:?}").contains("sekrit"));
    let error =
        oauth_runtime::IntegrationConfig::from_vars("fresh-service", url, vars(None, Some("s")))
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        "integration `fresh-service`: no client id: set OAUTH_FRESH_SERVICE_CLIENT_ID (looked in the environment)"
    );
    let error = oauth_runtime::IntegrationConfig::from_vars(
        "fresh-service",
        url,
        vars(Some("i"), Some("")),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("set OAUTH_FRESH_SERVICE_CLIENT_SECRET"),
        "{error}"
    );
    let error = oauth_runtime::IntegrationConfig::new("x", "http://example.com/token", "i", "s")
        .unwrap_err();
    assert!(error.to_string().contains("must use https"), "{error}");
}

#[tokio::test]
async fn a_code_whose_exchange_got_no_answer_is_not_sent_again() {
    let provider = Provider::start().await;
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(
            provider
                .integration("crm")
                .authorize_url("https://auth.example.com/authorize")
                .unwrap(),
        )
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let request = runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let state = state(request.url());
    provider.fault(crate::support::Fault::Hang(Duration::from_secs(2)));
    let error = runtime
        .complete_authorization("crm", None, &callback(&state, "code=good-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, CallbackError::Exchange { .. }), "{error:?}");
    assert_eq!(
        provider.token_requests(),
        1,
        "a code is single use: never sent twice"
    );
}

#[tokio::test]
async fn an_authorize_url_cannot_set_what_the_runtime_sets_and_a_wrong_response_type_is_refused() {
    // The rule `oauth-templates check` applies too (`oauth_rules::authorize_param`): what the
    // runtime sets is dropped, a response type other than `code` refused.
    let config = oauth_runtime::IntegrationConfig::new("x", "https://a.com/token", "i", "s")
        .unwrap()
        .authorize_url(
            "https://a.com/authorize?redirect_uri=https://evil.example/cb&response_type=code&access_type=offline&client_id=evil",
        )
        .unwrap();
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(config)
        .build()
        .unwrap();
    let request = runtime.authorize("x", Subject::Installation).await.unwrap();
    let pairs: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
    let all = |key: &str| {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        all("redirect_uri"),
        ["http://localhost:10001/auth/callback"]
    );
    assert_eq!(all("response_type"), ["code"]);
    assert_eq!(all("client_id"), ["i"]);
    assert_eq!(all("access_type"), ["offline"]);

    let error = oauth_runtime::IntegrationConfig::new("x", "https://a.com/token", "i", "s")
        .unwrap()
        .authorize_url("https://a.com/authorize?response_type=token&access_type=offline")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "integration `x`: the authorize URL sets `response_type`: the runtime does the \
         authorization-code grant only, so `response_type` can only be `code`"
    );
}

#[tokio::test]
async fn one_users_authorizations_never_cancel_anothers_and_a_stray_start_keeps_the_first() {
    let provider = Provider::start().await;
    let runtime = runtime(&provider, Duration::from_secs(600));
    let user = |n: usize| Subject::User(UserId::new(format!("user-{n}")));
    let first = runtime.authorize("chat", user(0)).await.unwrap();
    // A flood of other users' starts: refused past the cap, never evicting user 0's.
    let mut refused = 0;
    for n in 1..1100 {
        match runtime.authorize("chat", user(n)).await {
            Ok(_) => {}
            Err(AuthorizeError::TooManyPending(integration)) => {
                assert_eq!(integration, "chat");
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(refused, 1099 - 1023, "1024 in flight at most");
    // Other integrations are not affected.
    runtime
        .authorize("crm", Subject::Installation)
        .await
        .unwrap();
    let outcome = runtime
        .complete_authorization(
            "chat",
            Some(&UserId::new("user-0")),
            &callback(&state(first.url()), "code=good-code"),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));

    // The same subject: a second start (another tab, a navigation someone caused) leaves the
    // first usable; only a subject's fourth start drops its oldest.
    let mut starts: Vec<String> = Vec::new();
    for _ in 0..4 {
        let request = runtime
            .authorize("crm", Subject::Installation)
            .await
            .unwrap();
        starts.push(state(request.url()));
    }
    let complete = |state: String| {
        let runtime = runtime.clone();
        async move {
            runtime
                .complete_authorization("crm", None, &callback(&state, "code=good-code"))
                .await
        }
    };
    assert!(
        complete(starts[0].clone()).await.is_err(),
        "the oldest of four was dropped"
    );
    assert!(complete(starts[1].clone()).await.is_ok());
    assert!(complete(starts[3].clone()).await.is_ok());
}
