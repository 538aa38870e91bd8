//! Requests to an integration's token endpoint: client authentication (with the fallback to
//! the form's credentials), retries of passing failures, and the answer read by
//! `token_response`.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use std::sync::atomic::Ordering;

use super::token_response::{self, Failure, Granted};
use super::{ClientAuth, IntegrationConfig};
use crate::retry;

/// The largest token response read: real ones are well under 8 KiB.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Attempts at a token request that fails for a passing reason (5xx, 429, network).
const ATTEMPTS: u32 = 3;
/// The wait before the second attempt; doubled before the third.
const FIRST_DELAY: Duration = Duration::from_millis(250);

/// Whether a request whose answer was lost may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Yes: a refresh (an `invalid_grant` after a lost answer is then not taken as proof that
    /// the token is dead).
    Allowed,
    /// No: a code exchange (codes are single use; a server that sees one twice may revoke the
    /// tokens it issued, RFC 6749 §4.1.2). Only attempts that never connected are retried.
    Never,
}

/// Posts `form` (plus client authentication) to the token endpoint, retrying passing failures.
pub(crate) async fn request(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    form: &[(&str, &str)],
    timeout: Duration,
    max_wait: Duration,
    resend: Resend,
) -> Result<Granted, Failure> {
    let mut attempt = 1;
    let mut delay = FIRST_DELAY;
    // Whether an earlier attempt may have reached the server without its answer reaching us.
    let mut maybe_redeemed = false;
    let fixed_to_form = integration.client_auth == ClientAuth::Post;
    let mut credentials =
        if fixed_to_form || integration.form_credentials_learned.load(Ordering::Relaxed) {
            Credentials::Form
        } else {
            Credentials::Header
        };
    // Whether this request switched methods after a refused client authentication.
    let mut switched = false;
    let secrets = secrets(integration, form);
    loop {
        let Attempt {
            result,
            retry_after,
            reached,
        } = request_once(http, integration, form, timeout, credentials, &secrets).await;
        if matches!(result, Err(Failure::ClientAuthRefused(_))) && !switched && !fixed_to_form {
            // The server authenticates the client before it looks at the grant (RFC 6749
            // §3.2.1, §5.2), so a refused client authentication redeemed nothing: the same
            // code or refresh token can be sent once more with the other method, as providers
            // that ignore Basic want (HubSpot, Shopify, Podio…), or back to the header when
            // a method learned earlier is refused now.
            credentials = match credentials {
                Credentials::Header => Credentials::Form,
                Credentials::Form => Credentials::Header,
            };
            tracing::info!(
                integration = %integration.name,
                form = credentials == Credentials::Form,
                "the token endpoint refused the client's authentication; trying the other method"
            );
            switched = true;
            continue;
        }
        if switched && result.is_ok() {
            // The other method was taken: keep using it.
            integration
                .form_credentials_learned
                .store(credentials == Credentials::Form, Ordering::Relaxed);
        }
        let result = result.map_err(Failure::client_auth_is_client_rejected);
        let result = match result {
            // The grant may have been used by the attempt whose answer was lost (a rotated
            // refresh token is single use): not proof that it is dead.
            Err(Failure::GrantRejected) if maybe_redeemed => Err(Failure::Transient(
                "an earlier attempt got no answer and the grant is now refused".to_string(),
            )),
            other => other,
        };
        // A code is single use: only an attempt that never reached the server is repeated
        // (a gateway's 502 or 504 may hide an upstream that redeemed it).
        if reached != Reached::Never && resend == Resend::Never {
            return result;
        }
        maybe_redeemed |= reached == Reached::Unanswered;
        match result {
            Err(Failure::Transient(reason)) if attempt < ATTEMPTS => {
                let wait = retry_after.unwrap_or(delay);
                if wait > max_wait {
                    return Err(Failure::Transient(reason));
                }
                tracing::debug!(attempt, reason = %reason, "token request failed; trying again");
                tokio::time::sleep(wait).await;
                attempt += 1;
                delay *= 2;
            }
            other => return other,
        }
    }
}

/// One token request's outcome.
struct Attempt {
    result: Result<Granted, Failure>,
    retry_after: Option<Duration>,
    reached: Reached,
}

/// Whether a token request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// No: the connection was never made.
    Never,
    /// Maybe: it may have been served, but no (whole) answer came back.
    Unanswered,
    /// Yes, and it was answered.
    Answered,
}

impl Attempt {
    fn failed(failure: Failure, reached: Reached) -> Self {
        Attempt {
            result: Err(failure),
            retry_after: None,
            reached,
        }
    }
}

/// Where a token request carries the client's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `Authorization: Basic`, or the integration's custom headers.
    Header,
    /// `client_id` and `client_secret` in the form.
    Form,
}

/// Every secret a token request sends (the grant's values, the client secret, the Basic and
/// custom headers' values): what a provider's echo must never carry into a message.
fn secrets(integration: &IntegrationConfig, form: &[(&str, &str)]) -> Vec<String> {
    let secret = secrecy::ExposeSecret::expose_secret(&integration.client_secret);
    let mut secrets: Vec<String> = form
        .iter()
        .filter(|(key, _)| !matches!(*key, "grant_type" | "redirect_uri" | "scope"))
        .map(|(_, value)| value.to_string())
        .collect();
    secrets.push(secret.to_string());
    if let Some(encoded) = basic_auth(&integration.client_id, secret).strip_prefix("Basic ") {
        secrets.push(encoded.to_string());
    }
    for (_, value) in &integration.token_headers {
        if let Ok(text) = value.to_str() {
            secrets.push(text.to_string());
            secrets.extend(text.split_once(' ').map(|(_, rest)| rest.to_string()));
        }
    }
    secrets.retain(|s| s.len() >= 4);
    secrets
}

async fn request_once(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    form: &[(&str, &str)],
    timeout: Duration,
    credentials: Credentials,
    secrets: &[String],
) -> Attempt {
    let request = token_request(http, integration, form, timeout, credentials);
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let (reason, reached) = if e.is_timeout() {
                ("no answer in time", Reached::Unanswered)
            } else if e.is_connect() {
                ("could not connect", Reached::Never)
            } else {
                ("the connection failed", Reached::Unanswered)
            };
            return Attempt::failed(Failure::Transient(reason.to_string()), reached);
        }
    };
    let status = response.status();
    let retry_after = retry::retry_after(response.headers());
    let form_body = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = match read_capped(response).await {
        Ok(body) => body,
        Err(failure) => {
            let reached = match failure {
                Failure::Transient(_) => Reached::Unanswered,
                _ => Reached::Answered,
            };
            return Attempt::failed(failure, reached);
        }
    };
    Attempt {
        result: token_response::parse(status, form_body, &body, secrets),
        retry_after,
        reached: Reached::Answered,
    }
}

/// The POST of `form` with the client's authentication: in the header (the integration's
/// custom headers verbatim when it has any, else `client_secret_basic`) or in the form
/// (`client_secret_post`), never both.
fn token_request(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    form: &[(&str, &str)],
    timeout: Duration,
    credentials: Credentials,
) -> reqwest::RequestBuilder {
    authenticated_post(
        http,
        integration,
        &integration.token_url,
        form,
        timeout,
        credentials,
    )
}

/// The POST of `form` to `url` with the client's authentication, as the token endpoint takes
/// it (the revocation endpoint takes it the same way, RFC 7009 §2.1).
pub(crate) fn authenticated_post(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    url: &url::Url,
    form: &[(&str, &str)],
    timeout: Duration,
    credentials: Credentials,
) -> reqwest::RequestBuilder {
    let secret = || secrecy::ExposeSecret::expose_secret(&integration.client_secret);
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(form);
    let mut request = http
        .post(url.clone())
        .timeout(timeout)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    match credentials {
        Credentials::Header if !integration.token_headers.is_empty() => {
            for (name, value) in &integration.token_headers {
                request = request.header(name, value);
            }
        }
        Credentials::Header => {
            if let Ok(mut value) =
                HeaderValue::from_str(&basic_auth(&integration.client_id, secret()))
            {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        Credentials::Form => {
            // The custom headers other than `Authorization` still go: they may be needed
            // for other reasons; the credentials go in the form alone.
            for (name, value) in &integration.token_headers {
                if name != AUTHORIZATION {
                    request = request.header(name, value);
                }
            }
            body.append_pair("client_id", &integration.client_id);
            body.append_pair("client_secret", secret());
        }
    }
    request.body(body.finish())
}

/// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined with `:`.
pub(crate) fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn read_capped(mut response: reqwest::Response) -> Result<Bytes, Failure> {
    let too_large = || Failure::Refused("the token response is too large".to_string());
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(_) => {
                return Err(Failure::Transient(
                    "the connection failed while reading the answer".to_string(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_id_and_secret() {
        // RFC 6749 §2.3.1 with characters that matter: `+ / = : %` and a space.
        let header = basic_auth("id:+/=", "s %:x");
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%3A%2B%2F%3D:s+%25%3Ax"
        );
    }

    #[test]
    fn every_secret_sent_is_listed_for_scrubbing() {
        let integration = IntegrationConfig::new("x", "https://a.com/t", "id", "client-secret")
            .unwrap()
            .token_header("Authorization", "Basic Y3VzdG9tOmhlYWRlcg==")
            .unwrap();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-123456"),
        ];
        let listed = secrets(&integration, &form);
        for secret in [
            "rt-123456",
            "client-secret",
            "Y3VzdG9tOmhlYWRlcg==",
            basic_auth("id", "client-secret").trim_start_matches("Basic "),
        ] {
            assert!(listed.iter().any(|s| s == secret), "{secret}: {listed:?}");
        }
        assert!(!listed.iter().any(|s| s == "refresh_token"));
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::*;
    use wiremock::matchers::{header_exists, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn basic_only() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header_exists("authorization"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({ "access_token": "a", "refresh_token": "r" }),
                ),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({ "error": "invalid_client" })),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        server
    }

    fn integration(server: &MockServer) -> IntegrationConfig {
        IntegrationConfig::new("x", &format!("{}/token", server.uri()), "id", "secret").unwrap()
    }

    async fn refresh(integration: &IntegrationConfig) -> Result<Granted, Failure> {
        request(
            &reqwest::Client::new(),
            integration,
            &[("grant_type", "refresh_token"), ("refresh_token", "r")],
            Duration::from_secs(5),
            Duration::from_secs(1),
            Resend::Allowed,
        )
        .await
    }

    #[tokio::test]
    async fn a_learned_form_that_is_refused_later_goes_back_to_the_header() {
        let server = basic_only().await;
        let integration = integration(&server);
        integration
            .form_credentials_learned
            .store(true, Ordering::Relaxed);
        assert!(refresh(&integration).await.is_ok());
        assert!(!integration.form_credentials_learned.load(Ordering::Relaxed));
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
        // From then on, the header at once.
        assert!(refresh(&integration).await.is_ok());
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_client_refused_for_another_reason_is_not_sent_again() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({ "error": "unauthorized_client" })),
            )
            .mount(&server)
            .await;
        let integration = integration(&server);
        assert!(matches!(
            refresh(&integration).await,
            Err(Failure::ClientRejected(_))
        ));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        assert!(!integration.form_credentials_learned.load(Ordering::Relaxed));
    }
}
