//! TLS: the runtime trusts what the app says (a root certificate added, a host resolved to a
//! local address with its name still checked, a client of the app's own), for the templates'
//! calls and the token endpoint alike; a certificate it does not trust is refused before any
//! token leaves.

use std::time::Duration;

use oauth_runtime::{
    IntegrationConfig, InvokeError, MemoryStore, Runtime, RuntimeBuilder, TokenKey, TokenSet,
};

use crate::{Engine, SecureWhoamiContext};

const SECRET: &str = "sekrit-client-secret";

async fn provider() -> oauth_mock::Provider {
    oauth_mock::Provider::builder()
        .client("client", SECRET, "App")
        .https(["api.example.test"])
        .start()
        .await
        .unwrap()
}

fn crm() -> TokenKey {
    TokenKey::installation("crm")
}

/// A runtime refreshing `crm` at the provider's https token endpoint, reached as `host`.
fn builder(provider: &oauth_mock::Provider, host: &str) -> RuntimeBuilder {
    let profile = provider.profile();
    let config = IntegrationConfig::new(
        "crm",
        &format!("https://{host}{}", profile.token_path()),
        "client",
        SECRET,
    )
    .unwrap();
    Runtime::builder()
        .store(MemoryStore::new())
        .integration(config)
}

/// An expired token whose refresh token the provider does not know: a refresh reaches the
/// token endpoint (and fails there), which proves the connection was made.
async fn seed(runtime: &Runtime) {
    runtime
        .save_tokens(
            &crm(),
            TokenSet::new("sekrit-stored")
                .with_refresh_token("sekrit-refresh")
                .with_expires_at(std::time::SystemTime::now() - Duration::from_secs(60)),
        )
        .await
        .unwrap();
}

/// The API's "who am I" over https at `localhost:port`.
async fn whoami(runtime: &Runtime, port: u16) -> Result<oauth_runtime::Response, InvokeError> {
    Engine::new(runtime.clone())
        .secure_whoami(&SecureWhoamiContext {
            port: port.to_string(),
        })
        .send()
        .await
}

/// The token endpoint is reached over TLS (it refuses the unknown refresh token: one token
/// request), and so is the API by a template's call.
async fn assert_reached_over_tls(runtime: &Runtime, provider: &oauth_mock::Provider, port: u16) {
    seed(runtime).await;
    let _ = runtime.access_token(&crm()).await;
    assert_eq!(provider.token_requests(), 1);
    runtime
        .save_tokens(&crm(), TokenSet::new("sekrit-valid"))
        .await
        .unwrap();
    let answer = whoami(runtime, port).await.unwrap_err();
    assert_answered(&answer);
}

/// The API answered (it does not know the token: a 401, which a token that cannot be renewed
/// turns into a reauthorization): the call went through TLS.
fn assert_answered(error: &InvokeError) {
    assert!(
        matches!(
            error,
            InvokeError::ReauthorizationRequired { .. } | InvokeError::Status { .. }
        ),
        "{error}"
    );
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_any_token_is_sent() {
    let provider = provider().await;
    let address = provider.https_address().unwrap();
    let host = format!("localhost:{}", address.port());
    let runtime = builder(&provider, &host).build().unwrap();
    seed(&runtime).await;
    // The token endpoint: never reached.
    let refused = runtime.access_token(&crm()).await.unwrap_err();
    assert_eq!(provider.token_requests(), 0, "{refused}");
    assert!(!chain(&refused).contains("sekrit"), "{refused}");
    // A template's call: refused with the certificate named as the reason.
    runtime
        .save_tokens(&crm(), TokenSet::new("sekrit-valid"))
        .await
        .unwrap();
    let error = whoami(&runtime, address.port()).await.unwrap_err();
    let text = chain(&error);
    assert!(matches!(error, InvokeError::Connect { .. }), "{text}");
    // Said plainly, with what to do.
    let said = error.to_string();
    assert!(
        said.contains("the server's certificate was refused"),
        "{said}"
    );
    assert!(said.contains("add_root_certificate"), "{said}");
    assert!(!text.contains("sekrit"), "{text}");
}

#[tokio::test]
async fn the_right_authority_is_trusted_for_calls_and_token_requests() {
    let provider = provider().await;
    let address = provider.https_address().unwrap();
    let host = format!("localhost:{}", address.port());
    let runtime = builder(&provider, &host)
        .add_root_certificate(provider.ca_certificate().unwrap())
        .build()
        .unwrap();
    assert_reached_over_tls(&runtime, &provider, address.port()).await;
}

#[tokio::test]
async fn resolve_sends_a_host_to_a_local_address_and_still_checks_its_name() {
    let provider = provider().await;
    let address = provider.https_address().unwrap();
    // The token endpoint as `api.example.test`, a name DNS does not know, sent to the
    // provider: reached, over TLS checked for that name.
    let named = format!("api.example.test:{}", address.port());
    let runtime = builder(&provider, &named)
        .add_root_certificate(provider.ca_certificate().unwrap())
        .resolve("api.example.test", address)
        .build()
        .unwrap();
    seed(&runtime).await;
    let _ = runtime.access_token(&crm()).await;
    assert_eq!(provider.token_requests(), 1, "reached as api.example.test");
    // The same address under a name its certificate is not for: refused, nothing sent.
    let other = format!("other.example.test:{}", address.port());
    let runtime = builder(&provider, &other)
        .add_root_certificate(provider.ca_certificate().unwrap())
        .resolve("other.example.test", address)
        .build()
        .unwrap();
    seed(&runtime).await;
    let error = runtime.access_token(&crm()).await.unwrap_err();
    assert_eq!(provider.token_requests(), 1, "{error}");
}

#[tokio::test]
async fn an_apps_own_client_is_used_for_calls_and_token_requests() {
    let provider = provider().await;
    let address = provider.https_address().unwrap();
    let named = format!("api.example.test:{}", address.port());
    let ca = reqwest::Certificate::from_pem(provider.ca_certificate().unwrap().as_bytes()).unwrap();
    // Trusts the provider's authority alone, and knows the name: only this client can reach it.
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("api.example.test", address)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let runtime = builder(&provider, &named)
        .http_client(client)
        .build()
        .unwrap();
    // Calls too: `localhost` is in the certificate, and only this client trusts its authority.
    assert_reached_over_tls(&runtime, &provider, address.port()).await;
}

#[test]
fn contradictory_or_unreadable_trust_settings_are_build_errors() {
    let both = Runtime::builder()
        .http_client(reqwest::Client::new())
        .add_root_certificate("not used")
        .build()
        .unwrap_err();
    assert!(
        both.to_string().contains("set them on that client"),
        "{both}"
    );
    let unreadable = Runtime::builder()
        .add_root_certificate("this is not PEM")
        .build()
        .unwrap_err();
    assert!(
        unreadable.to_string().contains("root certificate"),
        "{unreadable}"
    );
}
