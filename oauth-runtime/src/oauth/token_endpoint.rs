//! Requests to an integration's token endpoint, and lenient reading of what real providers
//! answer (`expires_in` as a string, no `token_type`, 200 with an `error`, form bodies).

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;

use super::{ClientAuth, IntegrationConfig};
use crate::retry;

/// The largest token response read: real ones are well under 8 KiB.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Attempts at a token request that fails for a passing reason (5xx, 429, network).
const ATTEMPTS: u32 = 3;
/// The wait before the second attempt; doubled before the third.
const FIRST_DELAY: Duration = Duration::from_millis(250);

/// What the token endpoint granted.
pub(crate) struct Granted {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: Option<Duration>,
    pub(crate) scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Granted")
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The longest token lifetime believed: beyond it (or for nonsense values) a token is
/// refreshed after this long anyway.
const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Why the token endpoint gave no tokens. Messages carry no secret.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The grant itself is dead (`invalid_grant`): the user must authorize again.
    GrantRejected,
    /// The request was refused for a reason retrying will not fix (bad client credentials,
    /// a malformed answer…).
    Refused(String),
    /// A passing failure (5xx, 429, timeout, network): tried again later.
    Transient(String),
}

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
    loop {
        let Attempt {
            result,
            retry_after,
            unanswered,
        } = request_once(http, integration, form, timeout).await;
        let result = match result {
            // The grant may have been used by the attempt whose answer was lost (a rotated
            // refresh token is single use): not proof that it is dead.
            Err(Failure::GrantRejected) if maybe_redeemed => Err(Failure::Transient(
                "an earlier attempt got no answer and the grant is now refused".to_string(),
            )),
            other => other,
        };
        if unanswered && resend == Resend::Never {
            return result;
        }
        maybe_redeemed |= unanswered;
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
    /// The request may have reached the server, but no answer came back.
    unanswered: bool,
}

impl Attempt {
    fn failed(failure: Failure, unanswered: bool) -> Self {
        Attempt {
            result: Err(failure),
            retry_after: None,
            unanswered,
        }
    }
}

async fn request_once(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    form: &[(&str, &str)],
    timeout: Duration,
) -> Attempt {
    let request = token_request(http, integration, form, timeout);
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let (reason, unanswered) = if e.is_timeout() {
                ("no answer in time", true)
            } else if e.is_connect() {
                ("could not connect", false)
            } else {
                ("the connection failed", true)
            };
            return Attempt::failed(Failure::Transient(reason.to_string()), unanswered);
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
            let unanswered = matches!(failure, Failure::Transient(_));
            return Attempt::failed(failure, unanswered);
        }
    };
    Attempt {
        result: parse(status, form_body, &body),
        retry_after,
        unanswered: false,
    }
}

/// The POST of `form` with the client's authentication: the integration's custom headers
/// verbatim when it has any, else `client_secret_basic` or `client_secret_post`.
fn token_request(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    form: &[(&str, &str)],
    timeout: Duration,
) -> reqwest::RequestBuilder {
    let secret = || secrecy::ExposeSecret::expose_secret(&integration.client_secret);
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(form);
    let mut request = http
        .post(integration.token_url.clone())
        .timeout(timeout)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if !integration.token_headers.is_empty() {
        for (name, value) in &integration.token_headers {
            request = request.header(name, value);
        }
    } else {
        match integration.client_auth {
            ClientAuth::Basic => {
                if let Ok(mut value) =
                    HeaderValue::from_str(&basic_auth(&integration.client_id, secret()))
                {
                    value.set_sensitive(true);
                    request = request.header(AUTHORIZATION, value);
                }
            }
            ClientAuth::Post => {
                body.append_pair("client_id", &integration.client_id);
                body.append_pair("client_secret", secret());
            }
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

#[derive(Deserialize, Default)]
struct Fields {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<NumberOrText>,
    scope: Option<Scope>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scope {
    Text(String),
    List(Vec<String>),
}

/// Reads a token endpoint's answer.
pub(crate) fn parse(status: StatusCode, form_body: bool, body: &[u8]) -> Result<Granted, Failure> {
    let fields = if form_body {
        Some(form_fields(body))
    } else {
        serde_json::from_slice::<Fields>(body)
            .ok()
            .or_else(|| looks_like_form(body).then(|| form_fields(body)))
    };
    let passing = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let Some(fields) = fields else {
        return Err(if passing {
            Failure::Transient(format!("the token endpoint answered {status}"))
        } else {
            Failure::Refused(format!(
                "the token endpoint answered {status} with a body that is not a token response"
            ))
        });
    };
    if let Some(code) = fields.error.as_deref() {
        return Err(match code {
            "invalid_grant" => Failure::GrantRejected,
            "temporarily_unavailable" | "server_error" => {
                Failure::Transient(format!("the token endpoint answered `{}`", clean(code)))
            }
            _ if passing => Failure::Transient(format!("the token endpoint answered {status}")),
            _ => Failure::Refused(format!(
                "the token endpoint answered {status} `{}`",
                clean(code)
            )),
        });
    }
    if passing {
        return Err(Failure::Transient(format!(
            "the token endpoint answered {status}"
        )));
    }
    if !status.is_success() {
        return Err(Failure::Refused(format!(
            "the token endpoint answered {status}"
        )));
    }
    let access_token = fields
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Refused("the token response has no access_token".to_string()))?;
    let expires_in = match fields.expires_in {
        None => None,
        Some(NumberOrText::Number(n)) if n.is_finite() && n >= 0.0 => {
            Some(Duration::from_secs_f64(n.min(MAX_LIFETIME.as_secs_f64())))
        }
        Some(NumberOrText::Text(text)) if text.trim().parse::<u64>().is_ok() => text
            .trim()
            .parse()
            .ok()
            .map(|n: u64| Duration::from_secs(n).min(MAX_LIFETIME)),
        Some(_) => {
            return Err(Failure::Refused(
                "the token response's expires_in is not a number of seconds".to_string(),
            ));
        }
    };
    let scopes = fields.scope.map(|scope| match scope {
        Scope::Text(text) => text
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Scope::List(list) => list,
    });
    Ok(Granted {
        access_token,
        refresh_token: fields.refresh_token.filter(|t| !t.is_empty()),
        expires_in,
        scopes,
    })
}

fn looks_like_form(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    !text.is_empty() && !text.starts_with(b"{") && !text.starts_with(b"<") && text.contains(&b'=')
}

fn form_fields(body: &[u8]) -> Fields {
    let mut fields = Fields::default();
    for (key, value) in form_urlencoded::parse(body) {
        let value = value.into_owned();
        match key.as_ref() {
            "access_token" => fields.access_token = Some(value),
            "refresh_token" => fields.refresh_token = Some(value),
            "expires_in" => fields.expires_in = Some(NumberOrText::Text(value)),
            "scope" => fields.scope = Some(Scope::Text(value)),
            "error" => fields.error = Some(value),
            _ => {}
        }
    }
    fields
}

/// An error code as a provider wrote it, kept to the characters error codes use, so a
/// provider's text can never smuggle anything into our messages.
pub(crate) fn clean(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Granted {
        parse(StatusCode::OK, false, body.as_bytes()).unwrap()
    }

    #[test]
    fn real_world_token_responses_are_read() {
        let granted =
            ok(r#"{"access_token":"a","refresh_token":"r","expires_in":"1800","scope":"x y"}"#);
        assert_eq!(granted.access_token, "a");
        assert_eq!(granted.refresh_token.as_deref(), Some("r"));
        assert_eq!(granted.expires_in, Some(Duration::from_secs(1800)));
        assert_eq!(granted.scopes, Some(vec!["x".to_string(), "y".to_string()]));

        let granted = ok(r#"{"access_token":"a","expires_in":3599.0,"token_type":"Bearer"}"#);
        assert_eq!(granted.expires_in, Some(Duration::from_secs(3599)));
        assert_eq!(granted.refresh_token, None);

        let granted = ok(r#"{"access_token":"a","scope":["x","y"],"refresh_token":""}"#);
        assert_eq!(granted.scopes.map(|s| s.len()), Some(2));
        assert_eq!(
            granted.refresh_token, None,
            "an empty refresh token is none"
        );

        let granted = parse(
            StatusCode::OK,
            true,
            b"access_token=a%2Bb&scope=repo%2Cuser&token_type=bearer",
        )
        .unwrap();
        assert_eq!(granted.access_token, "a+b");
        assert_eq!(granted.scopes.map(|s| s.len()), Some(2));
        // A form body served as text/plain.
        assert_eq!(
            parse(StatusCode::OK, false, b"access_token=z&expires_in=60")
                .unwrap()
                .expires_in,
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn absurd_lifetimes_are_capped_not_overflowed() {
        for body in [
            r#"{"access_token":"a","expires_in":1e300}"#,
            r#"{"access_token":"a","expires_in":"18446744073709551615"}"#,
        ] {
            let granted = ok(body);
            assert_eq!(granted.expires_in, Some(MAX_LIFETIME));
            // And a set built from it has an expiry the clock can hold.
            let set = crate::TokenSet::new("a").expires_in(granted.expires_in.unwrap());
            assert!(set.expires_at().is_some());
        }
        assert!(
            crate::TokenSet::new("a")
                .expires_in(Duration::MAX)
                .expires_at()
                .is_none()
        );
        let debug = format!(
            "{:?}",
            ok(r#"{"access_token":"sekrit","refresh_token":"sekrit2"}"#)
        );
        assert!(!debug.contains("sekrit"), "{debug}");
    }

    #[test]
    fn errors_are_classified() {
        let parse_err = |status: u16, body: &str| {
            parse(
                StatusCode::from_u16(status).unwrap(),
                false,
                body.as_bytes(),
            )
            .unwrap_err()
        };
        assert_eq!(
            parse_err(400, r#"{"error":"invalid_grant"}"#),
            Failure::GrantRejected
        );
        assert_eq!(
            parse_err(
                200,
                r#"{"error":"invalid_grant","error_description":"revoked"}"#
            ),
            Failure::GrantRejected,
            "a 200 carrying an error is an error"
        );
        assert!(
            matches!(parse_err(401, r#"{"error":"invalid_client"}"#), Failure::Refused(m) if m.contains("invalid_client"))
        );
        assert!(matches!(
            parse_err(503, "<html>down</html>"),
            Failure::Transient(_)
        ));
        assert!(matches!(
            parse_err(429, r#"{"error":"slow_down"}"#),
            Failure::Transient(_)
        ));
        assert!(matches!(
            parse_err(200, r#"{"error":"temporarily_unavailable"}"#),
            Failure::Transient(_)
        ));
        assert!(matches!(
            parse_err(200, r#"{"token_type":"bearer"}"#),
            Failure::Refused(_)
        ));
        assert!(matches!(
            parse_err(200, r#"{"access_token":"a","expires_in":"soon"}"#),
            Failure::Refused(_)
        ));
        assert!(matches!(parse_err(200, "<html>"), Failure::Refused(_)));
        assert!(matches!(parse_err(400, "nonsense"), Failure::Refused(_)));
        assert!(
            matches!(parse_err(400, r#"{"error":"bad\r\ncode<script>"}"#), Failure::Refused(m) if m.contains("badcodescript"))
        );
    }

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
}
