//! The runtime against the embedded provider's profiles of real providers (`oauth_mock::Profile`):
//! scopes as providers echo them (subsets, `offline_access` dropped, commas, `""`), client
//! authentication a provider refuses, dead grants in each provider's words, a misconfigured
//! client, tokens that never expire.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oauth_mock::{Profile, ProviderBuilder};
use oauth_runtime::{
    CallbackOutcome, DeadToken, IntegrationConfig, InvokeError, MemoryStore, ReauthorizationReason,
    Runtime, Subject, TokenError, TokenKey, TokenStore,
};

use crate::{Engine, WhoamiContext};

const SECRET: &str = "sekrit-client-secret";

/// A provider speaking as `profile` (its API at `/whoami`), and the store its tokens land in.
struct Setup {
    provider: oauth_mock::Provider,
    store: Arc<dyn TokenStore>,
    scope: String,
}

async fn start(
    profile: Profile,
    scope: &str,
    builder: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
) -> Setup {
    let provider = builder(
        oauth_mock::Provider::builder()
            .profile(profile.with_api_path("/whoami"))
            .client("client", SECRET, "App")
            .auto_consent(true),
    )
    .start()
    .await
    .unwrap();
    Setup {
        provider,
        store: Arc::new(MemoryStore::new()),
        scope: scope.to_string(),
    }
}

impl Setup {
    /// A runtime (a new process, as far as caching goes) on the shared store, asking for
    /// `scope` with `secret`.
    fn runtime_with(&self, scope: &str, secret: &str) -> Runtime {
        let profile = self.provider.profile();
        let url = self.provider.url();
        let config = IntegrationConfig::new(
            "crm",
            &format!("{url}{}", profile.token_path()),
            "client",
            secret,
        )
        .unwrap()
        .authorize_url(&format!("{url}{}", profile.authorize_path()))
        .unwrap()
        .scope(scope);
        Runtime::builder()
            .shared_store(self.store.clone())
            .integration(config)
            .refresh_jitter(Duration::ZERO)
            .build()
            .unwrap()
    }

    fn runtime(&self) -> Runtime {
        self.runtime_with(&self.scope, SECRET)
    }

    /// Authorizes through the provider's authorize endpoint (it agrees at once).
    async fn authorize(&self, runtime: &Runtime) -> url::Url {
        let request = runtime
            .authorize("crm", Subject::Installation)
            .await
            .unwrap();
        let url = request.url().clone();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = http.get(url.clone()).send().await.unwrap();
        let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let callback = oauth_runtime::Callback::from_query(location.query().unwrap());
        let outcome = runtime
            .complete_authorization("crm", None, &callback)
            .await
            .unwrap();
        assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));
        url
    }

    async fn whoami(&self, runtime: &Runtime) -> Result<serde_json::Value, InvokeError> {
        let context = WhoamiContext {
            port: self.provider.host().rsplit(':').next().unwrap().to_string(),
        };
        let response = Engine::new(runtime.clone()).whoami(&context).send().await?;
        Ok(response.json().unwrap())
    }

    async fn stored(&self) -> oauth_runtime::TokenRecord {
        self.store
            .load(&TokenKey::installation("crm"))
            .await
            .unwrap()
            .unwrap()
            .record
    }

    /// Time passes: the access token is past its expiry at the provider and in the store.
    async fn age(&self) {
        self.provider.expire_access_tokens();
        let key = TokenKey::installation("crm");
        let current = self.store.load(&key).await.unwrap().unwrap();
        let mut record = current.record;
        if record.tokens.expires_at().is_some() {
            record.tokens = record
                .tokens
                .with_expires_at(SystemTime::now() - Duration::from_secs(60));
            self.store
                .save(&key, &record, Some(current.version))
                .await
                .unwrap();
        }
    }
}

fn reauthorization(error: InvokeError) -> ReauthorizationReason {
    match error {
        InvokeError::ReauthorizationRequired { reason, .. } => reason,
        other => panic!("expected ReauthorizationRequired, got {other}"),
    }
}

#[tokio::test]
async fn a_subset_grant_calls_what_was_granted_and_needs_no_reauthorization() {
    let setup = start(Profile::freshid(), "things.read things.write", |b| {
        b.grant_only(["things.read"])
    })
    .await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    let me = setup.whoami(&runtime).await.unwrap();
    assert_eq!(me["scopes"], serde_json::json!(["things.read"]));
    let tokens = setup.stored().await.tokens;
    assert_eq!(tokens.granted_scopes().unwrap(), ["things.read"]);
    assert_eq!(
        tokens.requested_scopes().unwrap(),
        ["things.read", "things.write"]
    );
}

#[tokio::test]
async fn microsoft_never_echoes_offline_access_and_the_token_keeps_working() {
    let setup = start(Profile::microsoft(), "User.Read offline_access", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(
        setup.stored().await.tokens.granted_scopes().unwrap(),
        ["User.Read"]
    );
    setup.age().await;
    setup.whoami(&setup.runtime()).await.unwrap();
    assert_eq!(
        setup.provider.token_requests(),
        2,
        "one exchange, one refresh"
    );
}

#[tokio::test]
async fn shopify_comma_scopes_are_sent_as_written_and_compared_as_sets() {
    let setup = start(Profile::shopify(), "write_orders,read_customers", |b| b).await;
    let runtime = setup.runtime();
    let url = setup.authorize(&runtime).await;
    let sent: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(sent, ["write_orders,read_customers"]);
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(
        setup.stored().await.tokens.granted_scopes().unwrap(),
        ["write_orders", "read_customers"]
    );
    // The same scopes in another order and separator need nothing.
    setup
        .whoami(&setup.runtime_with("read_customers write_orders", SECRET))
        .await
        .unwrap();
    // A new app version adds a scope: only that one is missing.
    let newer = setup.runtime_with("write_orders,read_customers,read_products", SECRET);
    let reason = reauthorization(setup.whoami(&newer).await.unwrap_err());
    assert_eq!(
        reason,
        ReauthorizationReason::MissingScopes(vec!["read_products".to_string()])
    );
}

#[tokio::test]
async fn an_empty_scope_is_not_reported_and_a_provider_refusing_basic_gets_the_form_once() {
    // GitHub App user tokens: `"scope": ""`, rotating refresh tokens, and client credentials
    // taken from the form only (Basic is answered 200 `incorrect_client_credentials`).
    let setup = start(Profile::github_app(), "repo", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    assert_eq!(
        setup.provider.token_requests(),
        2,
        "Basic refused, then the form"
    );
    assert_eq!(
        setup.provider.code_redemptions(),
        1,
        "the code redeemed once"
    );
    setup.whoami(&runtime).await.unwrap();
    let tokens = setup.stored().await.tokens;
    assert_eq!(
        tokens.granted_scopes().unwrap(),
        ["repo"],
        "an empty scope says nothing: the scopes asked for (RFC 6749 §5.1)"
    );
    assert!(tokens.extra().contains_key("refresh_token_expires_in"));

    // The same runtime refreshes with the form at once: the method is remembered.
    setup.provider.expire_access_tokens();
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(setup.provider.token_requests(), 3);
    // Another process (runtime) learns it again, with the rotated refresh token it reads.
    setup.age().await;
    setup.whoami(&setup.runtime()).await.unwrap();
    assert_eq!(
        setup.provider.token_requests(),
        5,
        "Basic refused, then the form with the rotated refresh token"
    );
}

#[tokio::test]
async fn a_refused_custom_authorization_header_falls_back_to_the_form_without_it() {
    // The provider ignores headers and wants the form; the app sends FreshID-style custom
    // headers. The fallback sends the form's credentials and not the custom `Authorization`
    // (the provider answers 400 to a request with both, RFC 6749 §2.3).
    let setup = start(
        Profile::freshid().with_form_credentials_only(),
        "things.read",
        |b| b,
    )
    .await;
    let profile = setup.provider.profile();
    let url = setup.provider.url();
    let config = IntegrationConfig::new(
        "crm",
        &format!("{url}{}", profile.token_path()),
        "client",
        SECRET,
    )
    .unwrap()
    .authorize_url(&format!("{url}{}", profile.authorize_path()))
    .unwrap()
    .scope("things.read")
    .token_header("Authorization", "Basic bm90OnRoaXM=")
    .unwrap()
    .token_header("X-Tenant", "acme")
    .unwrap();
    let runtime = Runtime::builder()
        .shared_store(setup.store.clone())
        .integration(config)
        .build()
        .unwrap();
    setup.authorize(&runtime).await;
    assert_eq!(setup.provider.token_requests(), 2);
    assert_eq!(setup.provider.code_redemptions(), 1);
    setup.whoami(&runtime).await.unwrap();
}

#[tokio::test]
async fn a_provider_refusing_the_form_keeps_basic() {
    let profile = Profile::gitlab().with_basic_credentials_only();
    let setup = start(profile, "api", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    setup.provider.expire_access_tokens();
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(setup.provider.token_requests(), 2, "Basic each time");
}

#[tokio::test]
async fn a_dead_grant_in_each_providers_words_needs_reauthorization() {
    for profile in Profile::all()
        .into_iter()
        .filter(|p| p.refresh() != oauth_mock::Refresh::None)
    {
        let name = profile.name();
        let setup = start(profile, "read", |b| b).await;
        setup.authorize(&setup.runtime()).await;
        setup.provider.revoke_refresh_tokens();
        setup.age().await;
        let error = setup.whoami(&setup.runtime()).await.unwrap_err();
        assert_eq!(
            reauthorization(error),
            ReauthorizationReason::Dead(DeadToken::RefreshTokenRejected),
            "{name}"
        );
        assert_eq!(
            setup.stored().await.needs_reauthorization,
            Some(DeadToken::RefreshTokenRejected),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_misconfigured_client_is_told_and_the_token_stays_alive() {
    let setup = start(Profile::zoom(), "meeting:read", |b| b).await;
    setup.authorize(&setup.runtime()).await;
    setup.age().await;
    let before = setup.provider.token_requests();
    let wrong = setup.runtime_with("meeting:read", "not-the-secret");
    let error = setup.whoami(&wrong).await.unwrap_err();
    match &error {
        InvokeError::Token {
            source: TokenError::ClientRejected { reason, .. },
            ..
        } => assert!(reason.contains("invalid_client"), "{reason}"),
        other => panic!("expected a refused client, got {other}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("check the integration's client id and client secret"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");
    assert_eq!(
        setup.provider.token_requests() - before,
        2,
        "Basic, then the form, then no more"
    );
    assert_eq!(setup.stored().await.needs_reauthorization, None);
    // With the right secret, the same stored refresh token works.
    setup.whoami(&setup.runtime()).await.unwrap();
}

#[tokio::test]
async fn a_token_that_does_not_expire_is_refreshed_after_a_401_when_it_can_be() {
    let profile = Profile::freshid().with_access_token_lifetime(None);
    let setup = start(profile, "things.read", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    assert_eq!(setup.stored().await.tokens.expires_at(), None);
    setup.whoami(&runtime).await.unwrap();
    setup.provider.revoke_access_tokens();
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(
        setup.provider.token_requests(),
        2,
        "refreshed after the 401"
    );
}

#[tokio::test]
async fn a_token_that_does_not_expire_without_a_refresh_token_needs_reauthorization_when_refused() {
    let setup = start(Profile::github(), "repo", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    setup.whoami(&runtime).await.unwrap();
    setup.age().await;
    setup.whoami(&runtime).await.unwrap();
    assert_eq!(setup.provider.token_requests(), 2, "it does not expire");
    setup.provider.revoke_all();
    let reason = reauthorization(setup.whoami(&runtime).await.unwrap_err());
    assert_eq!(
        reason,
        ReauthorizationReason::Dead(DeadToken::AccessTokenRejected)
    );
    assert!(
        reason
            .to_string()
            .contains("the provider refused an access token that does not expire")
    );
    // Not recorded as dead: a 401 may be about the call. The next call asks the API again and
    // gets the same answer; the token endpoint is never asked.
    assert_eq!(setup.stored().await.needs_reauthorization, None);
    let requests = setup.provider.token_requests();
    reauthorization(setup.whoami(&runtime).await.unwrap_err());
    assert_eq!(setup.provider.token_requests(), requests);
}

#[tokio::test]
async fn slack_v2_user_tokens_come_from_authed_user() {
    let setup = start(Profile::slack_v2_user(), "chat:write,users:read", |b| b).await;
    let runtime = setup.runtime();
    setup.authorize(&runtime).await;
    let tokens = setup.stored().await.tokens;
    assert!(tokens.refresh_token().is_some());
    assert!(tokens.expires_at().is_some());
    assert_eq!(tokens.extra()["team"]["id"], "T0MOCK");
    setup.whoami(&runtime).await.unwrap();
    setup.age().await;
    setup.whoami(&setup.runtime()).await.unwrap();
    assert_eq!(setup.provider.token_requests(), 2);
}
