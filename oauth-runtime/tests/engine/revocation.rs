//! Revocation at the provider (RFC 7009) before tokens are deleted: the provider up, down,
//! refusing the client; no endpoint; nothing stored. Against the embedded provider's profiles
//! of providers that have a revocation endpoint.

use std::sync::Arc;
use std::time::Duration;

use oauth_mock::{Fault, Profile};
use oauth_runtime::events::{self, TokenEvent};
use oauth_runtime::{
    CallbackOutcome, IntegrationConfig, MemoryStore, Revocation, Runtime, Subject, TokenKey,
    TokenRecord, TokenStore,
};

const SECRET: &str = "sekrit-client-secret";

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

struct Setup {
    provider: oauth_mock::Provider,
    store: Arc<dyn TokenStore>,
}

async fn start(profile: Profile) -> Setup {
    let provider = oauth_mock::Provider::builder()
        .profile(profile)
        .client("client", SECRET, "App")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    Setup {
        provider,
        store: Arc::new(MemoryStore::new()),
    }
}

impl Setup {
    fn runtime(
        &self,
        secret: &str,
        revocation: bool,
        events: Option<events::EventSender>,
    ) -> Runtime {
        let profile = self.provider.profile();
        let url = self.provider.url();
        let mut config = IntegrationConfig::new(
            "crm",
            &format!("{url}{}", profile.token_path()),
            "client",
            secret,
        )
        .unwrap()
        .authorize_url(&format!("{url}{}", profile.authorize_path()))
        .unwrap();
        if revocation {
            let path = profile.revocation_path().expect("a revocation endpoint");
            config = config.revocation_url(&format!("{url}{path}")).unwrap();
        }
        let mut builder = Runtime::builder()
            .shared_store(self.store.clone())
            .integration(config)
            .timeout(Duration::from_secs(5));
        if let Some(events) = events {
            builder = builder.events(events);
        }
        builder.build().unwrap()
    }

    /// Authorizes through the provider (it agrees at once): the tokens stored.
    async fn authorize(&self, runtime: &Runtime) -> TokenRecord {
        let request = runtime
            .authorize("crm", Subject::Installation)
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = http.get(request.url().clone()).send().await.unwrap();
        let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let callback = oauth_runtime::Callback::from_query(location.query().unwrap());
        let outcome = runtime
            .complete_authorization("crm", None, &callback)
            .await
            .unwrap();
        assert!(matches!(outcome, CallbackOutcome::Authorized { .. }));
        self.store.load(&crm()).await.unwrap().unwrap().record
    }

    async fn deleted(&self) -> bool {
        self.store.load(&crm()).await.unwrap().is_none()
    }

    /// Whether the provider's API still takes `access_token`.
    async fn api_takes(&self, access_token: &str) -> bool {
        let url = format!(
            "{}{}",
            self.provider.url(),
            self.provider.profile().api_path()
        );
        reqwest::Client::new()
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    }
}

#[tokio::test]
async fn tokens_are_revoked_at_the_provider_then_deleted() {
    for profile in [Profile::google(), Profile::asana(), Profile::gitlab()] {
        let name = format!("{profile:?}");
        let setup = start(profile).await;
        let (sender, mut receiver) = events::channel(8);
        let runtime = setup.runtime(SECRET, true, Some(sender));
        let record = setup.authorize(&runtime).await;
        let access = record.tokens.access_token().secret().to_string();
        assert!(setup.api_takes(&access).await, "{name}");
        assert!(record.tokens.refresh_token().is_some(), "{name}");

        assert_eq!(
            runtime.revoke_tokens(&crm()).await.unwrap(),
            Revocation::Revoked
        );
        // The refresh token, then the access token.
        assert_eq!(setup.provider.revocations(), 2, "{name}");
        assert!(setup.deleted().await, "{name}");
        assert!(
            !setup.api_takes(&access).await,
            "{name}: revoked at the provider"
        );
        // The old refresh token is dead at the provider too.
        setup.store.save(&crm(), &record, None).await.unwrap();
        let fresh = setup.runtime(SECRET, true, None);
        assert!(fresh.refresh_now(&crm()).await.is_err(), "{name}");

        let events: Vec<TokenEvent> = std::iter::from_fn(|| receiver.try_recv()).collect();
        assert!(
            events.contains(&TokenEvent::Revoked {
                key: crm(),
                revocation: Revocation::Revoked
            }),
            "{name}: {events:?}"
        );
    }
}

#[tokio::test]
async fn a_provider_that_is_down_or_refuses_gets_the_tokens_deleted_here_anyway() {
    let setup = start(Profile::google()).await;
    let runtime = setup.runtime(SECRET, true, None);
    setup.authorize(&runtime).await;
    setup.provider.fault(Fault::ServerError);
    let revocation = runtime.revoke_tokens(&crm()).await.unwrap();
    let Revocation::Failed { reason } = &revocation else {
        panic!("{revocation:?}");
    };
    assert!(reason.contains("503"), "{reason}");
    assert!(setup.deleted().await);

    // A client the provider refuses: said so, deleted anyway, and no secret in the words.
    let wrong = setup.runtime("sekrit-wrong-secret", true, None);
    setup.authorize(&runtime).await;
    let revocation = wrong.revoke_tokens(&crm()).await.unwrap();
    let Revocation::Failed { reason } = &revocation else {
        panic!("{revocation:?}");
    };
    assert!(reason.contains("401"), "{reason}");
    assert!(!reason.contains("sekrit"), "{reason}");
    assert!(setup.deleted().await);

    // Unreachable: the same.
    let unreachable = {
        let config = IntegrationConfig::new("crm", "http://127.0.0.1:9/token", "client", SECRET)
            .unwrap()
            .revocation_url("http://127.0.0.1:9/revoke")
            .unwrap();
        Runtime::builder()
            .shared_store(setup.store.clone())
            .integration(config)
            .build()
            .unwrap()
    };
    setup.authorize(&runtime).await;
    assert!(matches!(
        unreachable.revoke_tokens(&crm()).await.unwrap(),
        Revocation::Failed { .. }
    ));
    assert!(setup.deleted().await);
}

#[tokio::test]
async fn without_a_revocation_endpoint_tokens_are_deleted_here_only_and_forget_and_uninstall_revoke()
 {
    let setup = start(Profile::asana()).await;
    let plain = setup.runtime(SECRET, false, None);
    setup.authorize(&plain).await;
    assert_eq!(
        plain.revoke_tokens(&crm()).await.unwrap(),
        Revocation::NotSupported
    );
    assert_eq!(setup.provider.revocations(), 0);
    assert!(setup.deleted().await);
    assert_eq!(
        plain.revoke_tokens(&crm()).await.unwrap(),
        Revocation::NothingStored
    );

    // `forget_tokens` and `uninstall` revoke too.
    let revoking = setup.runtime(SECRET, true, None);
    setup.authorize(&revoking).await;
    assert!(revoking.forget_tokens(&crm()).await.unwrap());
    assert_eq!(setup.provider.revocations(), 2);
    setup.authorize(&revoking).await;
    assert_eq!(revoking.uninstall().await.unwrap(), 1);
    assert_eq!(setup.provider.revocations(), 4);
    assert!(setup.deleted().await);
}

#[tokio::test]
async fn after_a_revocation_a_new_authorization_is_stored_as_usual() {
    let setup = start(Profile::google()).await;
    let runtime = setup.runtime(SECRET, true, None);
    setup.authorize(&runtime).await;
    // Revoked and deleted; a new authorization afterwards is stored as usual.
    assert_eq!(
        runtime.revoke_tokens(&crm()).await.unwrap(),
        Revocation::Revoked
    );
    let record = setup.authorize(&runtime).await;
    let stored = setup.store.load(&crm()).await.unwrap().unwrap().record;
    assert_eq!(
        stored.tokens.access_token().secret(),
        record.tokens.access_token().secret()
    );
    assert!(setup.api_takes(record.tokens.access_token().secret()).await);
}
