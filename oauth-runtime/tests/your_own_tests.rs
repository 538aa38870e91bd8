//! The recipe for an app's own tests (README, "Testing your app offline"): the app's config,
//! unchanged, with its fixed https hosts (`github.com`, `api.github.com`), run against the
//! embedded provider's GitHub profile on https: the provider's throwaway authority trusted,
//! the hosts resolved to it, TLS still checking their names.

use oauth_mock::Profile;
use oauth_runtime::{MemoryStore, Runtime, Subject};

#[oauth_runtime::templates(
    requests = "tests/github/config/requests.json",
    oauth = "tests/github/config/oauth_config.json"
)]
pub struct GitHub;

#[tokio::test]
async fn an_unchanged_github_config_runs_against_the_embedded_provider() {
    // 1. The provider, speaking as GitHub, on https for the config's hosts.
    let provider = oauth_mock::Provider::builder()
        .profile(Profile::github())
        .client("app-id", "app-secret", "My app")
        .auto_consent(true)
        .https(["github.com", "api.github.com"])
        .start()
        .await
        .unwrap();
    let https = provider.https_address().unwrap();
    let ca = provider.ca_certificate().unwrap().to_string();

    // 2. The integration from the config, as in production; the runtime trusts the
    //    provider's authority and sends the config's hosts to it.
    let integration = GitHubIntegration::Github
        .spec()
        .configure(
            &|name| match name {
                "client_id" => Some("app-id".to_string()),
                "client_secret" => Some("app-secret".to_string()),
                _ => None,
            },
            &|_| None,
        )
        .unwrap();
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(integration)
        .add_root_certificate(ca.clone())
        .resolve("github.com", https)
        .resolve("api.github.com", https)
        .build()
        .unwrap();

    // 3. Authorize as a user's browser would (the provider consents at once).
    let request = runtime
        .authorize("github", Subject::Installation)
        .await
        .unwrap();
    assert_eq!(request.url().host_str(), Some("github.com"));
    let browser = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .resolve("github.com", https)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = browser.get(request.url().clone()).send().await.unwrap();
    let back = url::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let callback = oauth_runtime::Callback::from_query(back.query().unwrap());
    runtime
        .complete_authorization("github", None, &callback)
        .await
        .unwrap();

    // 4. The template's call goes to `api.github.com` over TLS, with the token.
    let user = GitHub::new(runtime).get_user().send().await.unwrap();
    assert_eq!(user.status(), 200);
    // GitHub takes the client's credentials in the form only: the first exchange's Basic
    // header is refused, the form's taken, and the code redeemed once.
    assert_eq!(provider.code_redemptions(), 1);
}
