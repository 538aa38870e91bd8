//! Mutual TLS (`options.security`): a template presents the client certificate of its
//! installation's iparams to a server that requires one (the embedded provider's mutual-TLS
//! side). The right identity is accepted, none or another authority's is refused with an
//! error that says so, an unreadable one is refused before anything is sent, and one client
//! per identity is built and reused.

use oauth_runtime::{InvokeError, Runtime, SecretString};

#[oauth_runtime::templates(
    requests = "../oauth-codegen/tests/fixtures/mutual_tls/config/requests.json",
    iparams = "../oauth-codegen/tests/fixtures/mutual_tls/config/iparams.json"
)]
pub struct Payments;

const API_KEY: &str = "sekrit-api-key";

async fn provider() -> oauth_mock::Provider {
    oauth_mock::Provider::builder()
        .api_key(API_KEY, "acme.example.com")
        .https(["api.example.test"])
        .start()
        .await
        .unwrap()
}

fn identity(provider: &oauth_mock::Provider) -> oauth_mock::ClientIdentity {
    provider.client_identity("acme").unwrap().unwrap()
}

/// The iparams of an installation calling the provider's mutual-TLS side with `identity`,
/// trusting the provider's authority through the template's `ca`.
fn iparams(
    provider: &oauth_mock::Provider,
    identity: &oauth_mock::ClientIdentity,
) -> PaymentsIparams {
    let address = provider.mutual_tls_address().unwrap();
    PaymentsIparams {
        domain: format!("localhost:{}", address.port()),
        api_key: SecretString::from(API_KEY),
        client_cert: identity.certificate.clone(),
        client_key: SecretString::from(identity.key.clone()),
        server_ca: provider.ca_certificate().map(str::to_string),
    }
}

fn payments(
    provider: &oauth_mock::Provider,
    identity: &oauth_mock::ClientIdentity,
    runtime: &Runtime,
) -> Payments {
    Payments::new(runtime.clone(), iparams(provider, identity))
}

fn runtime() -> Runtime {
    Runtime::builder().build().unwrap()
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        text.push_str(" / ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}

#[tokio::test]
async fn the_right_client_certificate_is_accepted_and_its_client_reused() {
    let provider = provider().await;
    let runtime = runtime();
    let identity = identity(&provider);
    let client = payments(&provider, &identity, &runtime);
    for _ in 0..3 {
        let response = client.list_tickets().send().await.expect("accepted");
        assert_eq!(response.status(), 200);
    }
    // Another client of the same installation (its values equal) shares the identity's.
    let again = payments(&provider, &identity, &runtime);
    again.list_tickets().send().await.expect("accepted");
    assert_eq!(
        provider.mutual_tls_handshakes(),
        1,
        "one connection for every call of one identity"
    );
    // Another identity gets a client (and a connection) of its own.
    let other = payments(&provider, &self::identity(&provider), &runtime);
    other.list_tickets().send().await.expect("accepted");
    assert_eq!(provider.mutual_tls_handshakes(), 2);
}

#[tokio::test]
async fn no_client_certificate_or_another_authoritys_is_refused_with_a_clear_error() {
    let provider = provider().await;
    let runtime = Runtime::builder()
        .add_root_certificate(provider.ca_certificate().unwrap())
        .build()
        .unwrap();
    let client = payments(&provider, &identity(&provider), &runtime);
    let without = client
        .list_tickets_without_certificate()
        .send()
        .await
        .expect_err("a certificate is required");
    let text = without.to_string();
    assert!(
        text.contains("client certificate") && text.contains("options.security"),
        "{text} ({})",
        chain(&without)
    );

    let stranger = provider_elsewhere().await;
    let foreign = payments(&provider, &identity(&stranger), &runtime);
    let refused = foreign
        .list_tickets()
        .send()
        .await
        .expect_err("another authority's certificate");
    let text = refused.to_string();
    assert!(
        text.contains("client certificate"),
        "{text} ({})",
        chain(&refused)
    );
    assert_eq!(provider.mutual_tls_handshakes(), 0);
    assert!(!format!("{text} {refused:?}").contains("PRIVATE KEY"));
}

/// Another provider: its authority is not the first one's.
async fn provider_elsewhere() -> oauth_mock::Provider {
    oauth_mock::Provider::builder()
        .https(Vec::<String>::new())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unusable_identity_is_refused_before_anything_is_sent() {
    let provider = provider().await;
    let runtime = runtime();
    let good = identity(&provider);
    let key_body = good
        .key
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .to_string();
    let cases = [
        (
            oauth_mock::ClientIdentity {
                certificate: "not a certificate".into(),
                key: good.key.clone(),
            },
            "must be a PEM certificate",
        ),
        (
            oauth_mock::ClientIdentity {
                certificate: good.certificate.clone(),
                key: good.key.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
            },
            "encrypted",
        ),
        (
            oauth_mock::ClientIdentity {
                certificate: good.certificate.clone(),
                key: "garbage".into(),
            },
            "must be a PEM certificate",
        ),
    ];
    for (identity, expected) in cases {
        let error = payments(&provider, &identity, &runtime)
            .list_tickets()
            .send()
            .await
            .expect_err("unusable");
        assert!(
            matches!(error, InvokeError::ClientCertificate { .. }),
            "{error:?}"
        );
        assert_eq!(error.attempts(), 0);
        let text = format!("{error} {error:?}");
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(!text.contains(&key_body), "the key leaked: {text}");
    }
    assert_eq!(provider.mutual_tls_handshakes(), 0);
}

#[tokio::test]
async fn the_servers_certificate_is_still_checked() {
    let provider = provider().await;
    let runtime = runtime();
    let mut client_iparams = iparams(&provider, &identity(&provider));
    // No `ca` and no root added: the provider's authority is not trusted.
    client_iparams.server_ca = None;
    let error = Payments::new(runtime, client_iparams)
        .list_tickets()
        .send()
        .await
        .expect_err("an unknown authority");
    assert!(
        error
            .to_string()
            .contains("the server's certificate was refused"),
        "{error}"
    );
    assert_eq!(provider.mutual_tls_handshakes(), 0);
}

#[tokio::test]
async fn an_apps_own_client_leaves_the_certificate_to_the_runtime() {
    let provider = provider().await;
    let runtime = Runtime::builder()
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let response = payments(&provider, &identity(&provider), &runtime)
        .list_tickets()
        .send()
        .await
        .expect("accepted");
    assert_eq!(response.status(), 200);
    assert_eq!(provider.mutual_tls_handshakes(), 1);
}

/// A cached answer is its installation's and its certificate's own: another installation,
/// presenting another certificate to the same URL with the same headers, is not given it.
#[tokio::test]
async fn cached_answers_are_not_shared_across_installations_or_certificates() {
    let provider = provider().await;
    let runtime = runtime();
    for installation in ["acme", "globex"] {
        let client = Payments::new(
            runtime.installation(installation),
            iparams(&provider, &identity(&provider)),
        );
        for _ in 0..2 {
            let response = client
                .list_tickets()
                .cache(std::time::Duration::from_secs(60))
                .send()
                .await
                .expect("accepted");
            assert_eq!(response.status(), 200);
        }
    }
    // One connection per installation's certificate; each installation's second call cached.
    assert_eq!(provider.mutual_tls_handshakes(), 2);
}

/// A call through an identity's client, with no timeout of its own, is timed out by that
/// client after the runtime's timeout: its request carries none (see `attempts.rs`).
#[tokio::test]
async fn a_call_through_an_identitys_client_times_out_after_the_runtimes_timeout() {
    let provider = provider().await;
    let identity = identity(&provider);
    // A server that takes connections and never answers, not even the TLS handshake.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let runtime = Runtime::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let mut iparams = iparams(&provider, &identity);
    iparams.domain = format!("localhost:{port}");
    let client = Payments::new(runtime, iparams);
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.list_tickets().send(),
    )
    .await
    .expect("timed out by the runtime, not by this test");
    assert!(
        matches!(result, Err(InvokeError::Timeout { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    held.abort();
}
