//! `/org/oauth/v2/token`: client authentication (HTTP Basic, or the client's id and secret in
//! the form), the authorization-code grant with PKCE, the refresh-token grant, faults.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;

use crate::state::{Fault, Grant, State, token};

/// How long an authorization code may wait to be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

pub(crate) fn routes() -> axum::Router<Arc<State>> {
    axum::Router::new().route("/org/oauth/v2/token", post(token_endpoint))
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

async fn token_endpoint(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
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
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many requests",
            );
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Some(Fault::InvalidGrant) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the grant is not valid",
            );
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(client_id) =
        authenticate(&state, &headers, field("client_id"), field("client_secret"))
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    };
    match field("grant_type") {
        Some("authorization_code") => {
            let code = state.data().codes.remove(field("code").unwrap_or(""));
            let Some(code) = code else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            if code.client_id != client_id
                || Some(code.redirect_uri.as_str()) != field("redirect_uri")
                || code.issued.elapsed() > CODE_LIFETIME
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the code does not match",
                );
            }
            if let Some(challenge) = &code.challenge {
                let verifier = field("code_verifier").unwrap_or("");
                let digest =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
                if base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) != *challenge {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "PKCE verification failed",
                    );
                }
            }
            issue(&state, &client_id, code.account, code.scopes, true)
        }
        Some("refresh_token") => {
            let presented = field("refresh_token").unwrap_or("").to_string();
            let rotate = state.settings().rotate;
            // Looked up and, when rotating, redeemed under one lock: of two concurrent uses
            // of a rotating token, only one succeeds.
            let grant = {
                let mut data = state.data();
                let grant = data.refresh.get(&presented).cloned();
                let usable = grant
                    .as_ref()
                    .is_some_and(|g| g.client_id == client_id && g.expires > Instant::now());
                if usable && rotate {
                    data.refresh.remove(&presented);
                }
                grant.filter(|_| usable)
            };
            match grant {
                Some(grant) => issue(&state, &client_id, grant.account, grant.scopes, rotate),
                _ => error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is not valid",
                ),
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant type",
        ),
    }
}

/// The client's id if its credentials are right: HTTP Basic (as FreshID takes them, raw or
/// form-encoded), or the id and secret in the form.
fn authenticate(
    state: &State,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Option<String> {
    let (id, secret) = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        Some(encoded) => {
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
            (unescape(id), unescape(secret))
        }
        None => (form_id?.to_string(), form_secret?.to_string()),
    };
    let data = state.data();
    let client = data.clients.get(&id)?;
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(
        client.secret.as_bytes(),
        secret.as_bytes(),
    );
    same.is_ok().then_some(id)
}

fn issue(
    state: &State,
    client_id: &str,
    account: String,
    scopes: Vec<String>,
    new_refresh: bool,
) -> Response {
    let (access_lifetime, refresh_lifetime) = {
        let settings = state.settings();
        (settings.access_lifetime, settings.refresh_lifetime)
    };
    let now = Instant::now();
    let access = token("fs_at_");
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": access_lifetime.as_secs(),
        "scope": scopes.join(" "),
    });
    let mut data = state.data();
    data.access.insert(
        access,
        Grant {
            client_id: client_id.to_string(),
            account: account.clone(),
            scopes: scopes.clone(),
            expires: now + access_lifetime,
        },
    );
    if new_refresh {
        let refresh = token("fs_rt_");
        data.refresh.insert(
            refresh.clone(),
            Grant {
                client_id: client_id.to_string(),
                account,
                scopes,
                expires: now + refresh_lifetime,
            },
        );
        body["refresh_token"] = refresh.into();
    }
    axum::Json(body).into_response()
}
