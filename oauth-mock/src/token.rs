//! The token endpoint, as the provider's [`Profile`] has it: client authentication (HTTP
//! Basic, the form's credentials, or either), the authorization-code grant with PKCE, the
//! refresh-token grant (reused, rotating, or none), the provider's answer format and error
//! words, faults on demand.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::profile::{
    BodyFormat, ClientAuthentication, ErrorKind, Errors, Placement, Profile, Refresh, ScopeEcho,
};
use crate::state::{Fault, Grant, State, token};

/// How long an authorization code may wait to be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// How the request asked for its answer.
struct Asked {
    json: bool,
}

fn answer(profile: &Profile, asked: &Asked, status: StatusCode, body: Value) -> Response {
    let form = profile.body == BodyFormat::FormUnlessJsonAccepted && !asked.json;
    if !form {
        return (status, axum::Json(body)).into_response();
    }
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    if let Value::Object(fields) = &body {
        for (key, value) in fields {
            match value {
                Value::String(text) => serializer.append_pair(key, text),
                other => serializer.append_pair(key, &other.to_string()),
            };
        }
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        serializer.finish(),
    )
        .into_response()
}

/// The provider's words for `kind`. `basic` says whether the client sent a Basic header (RFC
/// 6749 §5.2 answers 401 then).
fn error(profile: &Profile, asked: &Asked, kind: ErrorKind, basic: bool) -> Response {
    let rfc = |code: &str, description: &str| {
        let status = match kind {
            ErrorKind::BadClient if basic => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        (
            status,
            json!({ "error": code, "error_description": description }),
        )
    };
    let (status, body) = match (profile.errors, kind) {
        (Errors::GitHub, kind) => (
            StatusCode::OK,
            match kind {
                ErrorKind::DeadRefreshToken => json!({ "error": "bad_refresh_token",
                    "error_description": "The refresh token passed is incorrect or expired." }),
                ErrorKind::BadCode => json!({ "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired." }),
                ErrorKind::BadClient => json!({ "error": "incorrect_client_credentials",
                    "error_description": "The client_id and/or client_secret passed are incorrect." }),
                ErrorKind::UnsupportedGrant => json!({ "error": "unsupported_grant_type" }),
            },
        ),
        (Errors::Slack, kind) => (
            StatusCode::OK,
            json!({ "ok": false, "error": match kind {
                ErrorKind::DeadRefreshToken => "invalid_refresh_token",
                ErrorKind::BadCode => "invalid_code",
                ErrorKind::BadClient => "bad_client_secret",
                ErrorKind::UnsupportedGrant => "invalid_grant_type",
            } }),
        ),
        (Errors::HubSpot, kind) => (
            StatusCode::BAD_REQUEST,
            match kind {
                ErrorKind::DeadRefreshToken => json!({ "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or invalid refresh token", "correlationId": "mock" }),
                ErrorKind::BadCode => json!({ "status": "BAD_AUTH_CODE",
                    "message": "missing or invalid auth code", "correlationId": "mock" }),
                ErrorKind::BadClient => json!({ "status": "BAD_CLIENT_ID",
                    "message": "missing or invalid client id", "correlationId": "mock" }),
                ErrorKind::UnsupportedGrant => json!({ "status": "BAD_GRANT_TYPE",
                    "message": "unsupported grant type", "correlationId": "mock" }),
            },
        ),
        (Errors::Zoom, ErrorKind::BadClient) => (
            StatusCode::BAD_REQUEST,
            json!({ "reason": "Invalid client_id or client_secret", "error": "invalid_client" }),
        ),
        (Errors::Zoom, ErrorKind::DeadRefreshToken | ErrorKind::BadCode) => (
            StatusCode::BAD_REQUEST,
            json!({ "reason": "Invalid Token!", "error": "invalid_grant" }),
        ),
        (Errors::Bitbucket, ErrorKind::BadClient) => (
            StatusCode::BAD_REQUEST,
            json!({ "error": "unauthorized_client", "error_description": "Invalid OAuth client credentials" }),
        ),
        (Errors::Bitbucket, ErrorKind::DeadRefreshToken) => (
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request", "error_description": "Invalid refresh_token" }),
        ),
        (Errors::Shopify, ErrorKind::BadCode) => (
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request",
                "error_description": "The authorization code was not found or was already used" }),
        ),
        (Errors::Shopify, ErrorKind::BadClient) => (
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request",
                "error_description": "Required parameter missing or invalid: client_id" }),
        ),
        (Errors::Miro, ErrorKind::BadClient) => (
            StatusCode::UNAUTHORIZED,
            json!({ "status": 401, "code": "oauthError",
                "message": "Client id or secret is invalid.", "type": "error" }),
        ),
        (Errors::Basecamp, ErrorKind::DeadRefreshToken) => (
            StatusCode::BAD_REQUEST,
            json!({ "error": "authorization_expired" }),
        ),
        (_, ErrorKind::DeadRefreshToken) => rfc("invalid_grant", "the refresh token is not valid"),
        (_, ErrorKind::BadCode) => rfc("invalid_grant", "the code is not valid"),
        (_, ErrorKind::BadClient) => rfc("invalid_client", "client authentication failed"),
        (_, ErrorKind::UnsupportedGrant) => rfc("unsupported_grant_type", "unsupported grant type"),
    };
    answer(profile, asked, status, body)
}

/// `POST` of the token endpoint.
/// RFC 7009 token revocation: the client authenticated as at the token endpoint, then the
/// `token` (refresh or access) forgotten. 200 also for a token it does not know (§2.2); 503
/// when a fault says the provider is down.
pub(crate) fn revoke(state: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    let profile = state.settings().profile.clone();
    if let Some(Fault::ServerError) = state.data().faults.pop_front() {
        return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let basic = headers.contains_key(header::AUTHORIZATION);
    let asked = Asked { json: true };
    if authenticate(
        state,
        profile.client_auth,
        headers,
        field("client_id"),
        field("client_secret"),
    )
    .is_none()
    {
        return error(&profile, &asked, ErrorKind::BadClient, basic);
    }
    let token = field("token").unwrap_or("");
    let mut data = state.data();
    data.revocations += 1;
    data.refresh.remove(token);
    data.access.remove(token);
    StatusCode::OK.into_response()
}

pub(crate) async fn token_endpoint(state: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    let profile = state.settings().profile.clone();
    let asked = Asked {
        json: headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json")),
    };
    let fault = {
        let mut data = state.data();
        data.token_requests += 1;
        data.faults.pop_front()
    };
    match fault {
        Some(Fault::ServerError) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
        }
        Some(Fault::RateLimited(seconds)) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(
                    json!({ "error": "slow_down", "error_description": "too many requests" }),
                ),
            )
                .into_response();
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Some(Fault::InvalidGrant) => {
            return error(&profile, &asked, ErrorKind::DeadRefreshToken, false);
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let basic = headers.contains_key(header::AUTHORIZATION);
    if basic && field("client_secret").is_some() {
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in
        // each request."
        let body = json!({ "error": "invalid_request",
            "error_description": "the client used more than one authentication method" });
        return answer(&profile, &asked, StatusCode::BAD_REQUEST, body);
    }
    let Some(client_id) = authenticate(
        state,
        profile.client_auth,
        headers,
        field("client_id"),
        field("client_secret"),
    ) else {
        return error(&profile, &asked, ErrorKind::BadClient, basic);
    };
    match field("grant_type") {
        Some("authorization_code") => {
            let code = state.data().codes.remove(field("code").unwrap_or(""));
            let Some(code) = code else {
                return error(&profile, &asked, ErrorKind::BadCode, basic);
            };
            if code.client_id != client_id
                || Some(code.redirect_uri.as_str()) != field("redirect_uri")
                || code.issued.elapsed() > CODE_LIFETIME
            {
                return error(&profile, &asked, ErrorKind::BadCode, basic);
            }
            if let Some(challenge) = &code.challenge {
                let verifier = field("code_verifier").unwrap_or("");
                let digest =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
                if base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) != *challenge {
                    return error(&profile, &asked, ErrorKind::BadCode, basic);
                }
            }
            state.data().redemptions += 1;
            let issued = issue(
                state,
                &profile,
                &client_id,
                code.account,
                code.scopes,
                Issue::Code,
            );
            answer(&profile, &asked, StatusCode::OK, issued)
        }
        Some("refresh_token") if profile.refresh != Refresh::None => {
            let presented = field("refresh_token").unwrap_or("").to_string();
            // Looked up and, when rotating, redeemed under one lock: of two concurrent uses
            // of a rotating token, only one succeeds.
            let grant = {
                let mut data = state.data();
                let grant = data.refresh.get(&presented).cloned();
                let usable = grant
                    .as_ref()
                    .is_some_and(|g| g.client_id == client_id && g.live());
                if usable && profile.refresh == Refresh::Rotating {
                    data.refresh.remove(&presented);
                }
                grant.filter(|_| usable)
            };
            match grant {
                Some(grant) => {
                    let how = Issue::Refresh { presented };
                    let issued = issue(
                        state,
                        &profile,
                        &client_id,
                        grant.account,
                        grant.scopes,
                        how,
                    );
                    answer(&profile, &asked, StatusCode::OK, issued)
                }
                None => error(&profile, &asked, ErrorKind::DeadRefreshToken, basic),
            }
        }
        _ => error(&profile, &asked, ErrorKind::UnsupportedGrant, basic),
    }
}

/// The client's id if its credentials are right and sent where the provider looks for them:
/// HTTP Basic (raw or form-encoded, RFC 6749 §2.3.1), the form, or either.
fn authenticate(
    state: &State,
    accepted: ClientAuthentication,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Option<String> {
    let basic = || {
        let encoded = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Some((unescape(id), unescape(secret)))
    };
    let form = || Some((form_id?.to_string(), form_secret?.to_string()));
    let (id, secret) = match accepted {
        ClientAuthentication::Basic => basic()?,
        ClientAuthentication::Form => form()?,
        ClientAuthentication::Either => basic().or_else(form)?,
    };
    let data = state.data();
    let client = data.clients.get(&id)?;
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(
        client.secret.as_bytes(),
        secret.as_bytes(),
    );
    same.is_ok().then_some(id)
}

/// Why tokens are issued.
enum Issue {
    Code,
    Refresh { presented: String },
}

/// Issues tokens for `account` and answers them as the provider does.
fn issue(
    state: &State,
    profile: &Profile,
    client_id: &str,
    account: String,
    scopes: Vec<String>,
    how: Issue,
) -> Value {
    let refresh_lifetime = state.settings().refresh_lifetime;
    let now = Instant::now();
    let access = token(&format!("{}_at_", profile.prefix));
    let new_refresh = match (&how, profile.refresh) {
        (_, Refresh::None) => None,
        (Issue::Code, _) | (_, Refresh::Rotating | Refresh::RotatingWithGrace) => {
            Some(token(&format!("{}_rt_", profile.prefix)))
        }
        (Issue::Refresh { .. }, Refresh::Reused | Refresh::ReusedEchoed) => None,
    };
    let mut tokens = Map::new();
    tokens.insert("access_token".into(), access.clone().into());
    if let Some(lifetime) = profile.access_lifetime {
        tokens.insert("expires_in".into(), lifetime.as_secs().into());
    }
    match (&new_refresh, &how, profile.refresh) {
        (Some(refresh), _, _) => {
            tokens.insert("refresh_token".into(), refresh.clone().into());
        }
        (None, Issue::Refresh { presented }, Refresh::ReusedEchoed) => {
            tokens.insert("refresh_token".into(), presented.clone().into());
        }
        _ => {}
    }
    if let Some(scope) = echo(profile, &scopes) {
        tokens.insert(profile.scope_field.into(), scope.into());
    }
    let mut data = state.data();
    data.issued.push(access.clone());
    data.access.insert(
        access,
        Grant {
            client_id: client_id.to_string(),
            account: account.clone(),
            scopes: scopes.clone(),
            expires: profile.access_lifetime.map(|lifetime| now + lifetime),
        },
    );
    if let Some(refresh) = new_refresh {
        data.issued.push(refresh.clone());
        data.refresh.insert(
            refresh,
            Grant {
                client_id: client_id.to_string(),
                account,
                scopes,
                expires: Some(now + refresh_lifetime),
            },
        );
    }
    let mut body: Map<String, Value> = serde_json::from_str(profile.extra).unwrap_or_default();
    match (profile.placement, how) {
        (Placement::SlackUser, Issue::Code) => {
            let user = body
                .entry("authed_user")
                .or_insert_with(|| json!({ "id": "U0MOCK" }));
            if let Value::Object(user) = user {
                user.insert("token_type".into(), "user".into());
                user.extend(tokens);
            }
        }
        _ => body.extend(tokens),
    }
    Value::Object(body)
}

/// The `scope` the provider answers for `granted`, if any.
fn echo(profile: &Profile, granted: &[String]) -> Option<String> {
    let join = |scopes: Vec<String>| scopes.join(profile.scope_separator);
    match profile.scope_echo {
        ScopeEcho::Omitted => None,
        ScopeEcho::Empty => Some(String::new()),
        ScopeEcho::Granted => Some(join(granted.to_vec())),
        ScopeEcho::WithoutOfflineAccess => Some(join(
            granted
                .iter()
                .filter(|s| !s.eq_ignore_ascii_case("offline_access"))
                .cloned()
                .collect(),
        )),
        ScopeEcho::AsUrls => Some(join(
            granted
                .iter()
                .map(|s| match s.as_str() {
                    "email" | "profile" => {
                        format!("https://www.googleapis.com/auth/userinfo.{s}")
                    }
                    s if s.contains(':') || s.contains('/') || s == "openid" => s.to_string(),
                    s => format!("https://www.googleapis.com/auth/{s}"),
                })
                .collect(),
        )),
    }
}
