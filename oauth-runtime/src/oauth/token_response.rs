//! Reading what a token endpoint answered, as real providers write it: JSON or a form body,
//! `expires_in` as a number or a string, `scope` space- or comma-separated or empty, errors
//! under a 200 (GitHub, Slack), HubSpot's `status`, Slack v2's user token under `authed_user`.
//!
//! A 2xx answer carrying an `access_token` is never thrown away: an optional field that cannot
//! be read is taken as absent (and logged by name, never by value), because on a refresh the
//! provider may already have rotated the refresh token this answer carries.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value};

use super::provider_errors::{self, Meaning};

/// The longest token lifetime believed: beyond it a token is refreshed after this long anyway.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The longest provider description kept in a message.
const MAX_DESCRIPTION: usize = 200;

/// What the token endpoint granted.
pub(crate) struct Granted {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    /// `None`: the server gave no (usable) lifetime; the token is used until it is rejected.
    pub(crate) expires_in: Option<Duration>,
    /// `None`: the server did not say (no `scope`, or an empty one).
    pub(crate) scopes: Option<Vec<String>>,
    /// The answer's other fields.
    pub(crate) extra: Map<String, Value>,
}

impl std::fmt::Debug for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Granted")
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why the token endpoint gave no tokens. Messages carry no secret.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The grant itself is dead (`invalid_grant` or the provider's words for it): the user
    /// must authorize again.
    GrantRejected,
    /// The client's credentials were refused (`invalid_client` and the like, or a 401): the
    /// other way of sending them may be taken (see `token_endpoint`).
    ClientAuthRefused(String),
    /// The client itself was refused (`unauthorized_client`, a redirect URI not registered…):
    /// the app's settings are wrong, not the user's grant.
    ClientRejected(String),
    /// Refused for another reason retrying will not fix (a malformed answer, an unknown
    /// error code, which the message carries).
    Refused(String),
    /// A passing failure (5xx, 429, timeout, network): tried again later.
    Transient(String),
}

impl Failure {
    /// For the caller, a refused client authentication is a refused client.
    pub(crate) fn client_auth_is_client_rejected(self) -> Self {
        match self {
            Failure::ClientAuthRefused(reason) => Failure::ClientRejected(reason),
            other => other,
        }
    }
}

/// Reads a token endpoint's answer; `secrets` (what the request sent) are scrubbed from any
/// description the provider echoes.
pub(crate) fn parse(
    status: StatusCode,
    form_body: bool,
    body: &[u8],
    secrets: &[String],
) -> Result<Granted, Failure> {
    // The body's shape decides, whatever its content type says (a JSON body labelled as a
    // form, a form body labelled as text).
    let fields = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => (form_body || looks_like_form(body)).then(|| form_fields(body)),
    };
    let passing = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let Some(mut fields) = fields else {
        return Err(status_failure(
            status,
            passing,
            " with a body that is not a token response",
        ));
    };
    // A 2xx that carries an access token is the tokens, whatever else it says: it may hold
    // the only copy of a rotated refresh token.
    let read = status
        .is_success()
        .then(|| token_fields(&fields))
        .flatten()
        .and_then(|tokens| {
            Some((
                non_empty_text(tokens.get("access_token"))?,
                optional(tokens, "refresh_token", |v| non_empty_text(Some(v))),
                optional(tokens, "expires_in", lifetime),
                optional(tokens, "scope", scopes).flatten(),
            ))
        });
    let Some((access_token, refresh_token, expires_in, scopes)) = read else {
        if let Some(failure) = error_answer(status, passing, &fields, secrets) {
            return Err(failure);
        }
        if !status.is_success() || passing {
            return Err(status_failure(status, passing, ""));
        }
        return Err(Failure::Refused(
            "the token response has no access_token".to_string(),
        ));
    };
    for known in ["access_token", "refresh_token", "expires_in", "scope"] {
        fields.remove(known);
    }
    Ok(Granted {
        access_token,
        refresh_token,
        expires_in,
        scopes,
        extra: fields,
    })
}

/// The failure an answer's status alone tells: passing (5xx, 429, 408), the client's
/// authentication refused (401), or refused.
fn status_failure(status: StatusCode, passing: bool, detail: &str) -> Failure {
    let answered = format!("the token endpoint answered {status}");
    if passing {
        Failure::Transient(answered)
    } else if status == StatusCode::UNAUTHORIZED {
        Failure::ClientAuthRefused(answered)
    } else {
        Failure::Refused(format!("{answered}{detail}"))
    }
}

/// The fields holding the access token: the answer's own, or, for Slack v2 user-only
/// installs, its `authed_user` (https://api.slack.com/authentication/oauth-v2#exchanging).
fn token_fields(fields: &Map<String, Value>) -> Option<&Map<String, Value>> {
    if non_empty_text(fields.get("access_token")).is_some() {
        return Some(fields);
    }
    match fields.get("authed_user") {
        Some(Value::Object(user)) if non_empty_text(user.get("access_token")).is_some() => {
            Some(user)
        }
        _ => None,
    }
}

/// `text` without any of `secrets`.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "[REDACTED]");
        }
    }
    text
}

/// The failure an answer reports in its body, if it reports one: `error` (RFC 6749, GitHub,
/// Slack), Slack's `ok: false`, HubSpot's `status` on a non-2xx answer.
fn error_answer(
    status: StatusCode,
    passing: bool,
    fields: &Map<String, Value>,
    secrets: &[String],
) -> Option<Failure> {
    let text = |key: &str| match fields.get(key) {
        Some(Value::String(text)) if !text.is_empty() => Some(text.as_str()),
        _ => None,
    };
    let code = match fields.get("error") {
        Some(Value::String(code)) if !code.is_empty() => Some(code.as_str()),
        Some(Value::Object(error)) => match error.get("code").or_else(|| error.get("type")) {
            Some(Value::String(code)) => Some(code.as_str()),
            _ if !status.is_success() => Some("error"),
            _ => None,
        },
        _ => None,
    }
    .or_else(|| (fields.get("ok") == Some(&Value::Bool(false))).then_some("ok:false"))
    .or_else(|| (!status.is_success()).then(|| text("status")).flatten())?;
    let description = text("error_description")
        .or_else(|| text("message"))
        .or_else(|| text("reason"))
        .unwrap_or_default();
    let answered = format!(
        "the token endpoint answered {status} `{}`{}",
        clean(&scrub(code, secrets)),
        describe(&scrub(description, secrets))
    );
    Some(match provider_errors::meaning(code, description) {
        Some(Meaning::DeadGrant) => Failure::GrantRejected,
        Some(Meaning::ClientAuthRefused) => Failure::ClientAuthRefused(answered),
        Some(Meaning::BadClient) => Failure::ClientRejected(answered),
        Some(Meaning::Passing) => Failure::Transient(answered),
        None if passing => Failure::Transient(answered),
        None if status == StatusCode::UNAUTHORIZED => Failure::ClientAuthRefused(answered),
        None if provider_errors::is_about_client_authentication(description) => {
            Failure::ClientAuthRefused(answered)
        }
        None => Failure::Refused(answered),
    })
}

/// `field` read with `read`; present but unreadable is absent, with a warning naming the field.
fn optional<T>(
    fields: &Map<String, Value>,
    field: &'static str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Option<T> {
    let value = fields.get(field)?;
    let read = read(value);
    if read.is_none() && !value.is_null() && value != &Value::String(String::new()) {
        tracing::warn!(
            field,
            "the token response's field could not be read and is taken as absent"
        );
    }
    read
}

fn non_empty_text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

/// A lifetime in seconds, as a number or a numeric string (`3600`, `3600.0`, `"3599"`);
/// zero, negative or nonsense is no lifetime, and absurd ones are capped.
fn lifetime(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_LIFETIME.as_secs_f64())))
}

/// Scopes from a string (split on spaces and commas) or an array of strings; empty is `None`
/// inside (said nothing); `None` outside means unreadable.
fn scopes(value: &Value) -> Option<Option<Vec<String>>> {
    let list: Vec<String> = match value {
        Value::String(text) => oauth_rules::scope_items(text).map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        Value::Null => Vec::new(),
        _ => return None,
    };
    Some((!list.is_empty()).then_some(list))
}

fn looks_like_form(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    !text.is_empty()
        && !text.starts_with(b"{")
        && !text.starts_with(b"[")
        && !text.starts_with(b"<")
        && text.contains(&b'=')
}

fn form_fields(body: &[u8]) -> Map<String, Value> {
    form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
        .collect()
}

/// An error code as a provider wrote it, kept to the characters error codes use, so a
/// provider's text can never smuggle anything into our messages.
pub(crate) fn clean(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .take(64)
        .collect()
}

/// `: description`, kept to one line of printable text and a few hundred characters.
fn describe(description: &str) -> String {
    let text: String = description
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DESCRIPTION)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
#[path = "token_response_tests.rs"]
mod tests;
