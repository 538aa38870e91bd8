//! A small Freshservice-like API: tickets, behind bearer tokens with scopes.

use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::profile::ApiRejection;
use crate::state::{State, Ticket};

const CREATE: &str = "freshservice.tickets.create";
const VIEW: &str = "freshservice.tickets.view";

pub(crate) fn routes() -> axum::Router<Arc<State>> {
    axum::Router::new()
        .route("/api/v2/tickets", get(list).post(create))
        .route("/api/v2/tickets/{id}", get(show))
        .route("/api/1.0/workspaces", get(workspaces))
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The account of a valid bearer token holding `scope`, or the 401 / 403 to answer. At an
/// organisation's Freshservice domain (`acme.freshservice.com`), the token must be that
/// organisation's (`acme.myfreshworks.com`): each account's API is its own.
fn authorize(state: &State, headers: &HeaderMap, scope: &str) -> Result<String, Response> {
    let account = authorize_any(state, headers, scope)?;
    let organisation = crate::host_name(headers)
        .and_then(|host| host.strip_suffix(".freshservice.com"))
        .filter(|org| !org.contains('.'));
    match organisation {
        Some(org) if account.split('.').next() != Some(org) => Err(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "code": "access_denied", "message": "The token belongs to another organisation." }),
        )),
        _ => Ok(account),
    }
}

/// [`authorize`] wherever the request was sent.
fn authorize_any(state: &State, headers: &HeaderMap, scope: &str) -> Result<String, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let data = state.data();
    if let Some(key) = authorization.strip_prefix("Basic ").and_then(api_key) {
        return match data.api_keys.get(&key) {
            Some(account) => Ok(account.clone()),
            None => Err(json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({ "code": "invalid_credentials", "message": "You have to be logged in to perform this action." }),
            )),
        };
    }
    // Token types are case-insensitive (RFC 6750 examples write `Bearer`, FDK apps `bearer`).
    let token = authorization
        .split_once(' ')
        .filter(|(kind, _)| kind.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token);
    let Some(grant) = data.access.get(token).filter(|g| g.live()) else {
        return Err(json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "code": "access_denied", "message": "The access token is invalid or has expired." }),
        ));
    };
    if !grant.scopes.iter().any(|s| s.eq_ignore_ascii_case(scope)) {
        return Err(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "code": "access_denied", "message": format!("The token lacks the scope {scope}.") }),
        ));
    }
    Ok(grant.account.clone())
}

/// The key of `Basic base64(key:X)`.
fn api_key(encoded: &str) -> Option<String> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(key, _)| key.to_string())
}

async fn workspaces(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Response {
    match authorize(&state, &headers, "default") {
        Ok(account) => json(
            StatusCode::OK,
            serde_json::json!({ "data": [
                { "gid": "1201", "name": account, "resource_type": "workspace" },
                { "gid": "1202", "name": "Personal projects", "resource_type": "workspace" }
            ] }),
        ),
        Err(response) => response,
    }
}

pub(crate) fn ticket_json(ticket: &Ticket) -> serde_json::Value {
    serde_json::Value::Object(ticket.fields.clone())
}

async fn create(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let account = match authorize(&state, &headers, CREATE) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let Ok(serde_json::Value::Object(input)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "description": "Validation failed", "errors": [{ "field": "body", "message": "It should be a JSON object", "code": "invalid_value" }] }),
        );
    };
    let missing: Vec<serde_json::Value> = ["subject", "description"]
        .iter()
        .filter(|f| !input.get(**f).is_some_and(|v| v.is_string()))
        .map(|f| serde_json::json!({ "field": f, "message": "It should be a/an String", "code": "missing_field" }))
        .collect();
    if !missing.is_empty() {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "description": "Validation failed", "errors": missing }),
        );
    }
    let mut data = state.data();
    let id = data.tickets.len() as u64 + 1;
    let mut fields = serde_json::Map::new();
    fields.insert("id".into(), id.into());
    fields.insert("status".into(), 2.into());
    fields.insert("priority".into(), 1.into());
    fields.insert("source".into(), 2.into());
    for (key, value) in input {
        if key != "id" {
            fields.insert(key, value);
        }
    }
    fields.insert("created_at".into(), "2026-01-01T00:00:00Z".into());
    let ticket = Ticket {
        id,
        account,
        fields,
    };
    let body = serde_json::json!({ "ticket": ticket_json(&ticket) });
    data.tickets.push(ticket);
    json(StatusCode::CREATED, body)
}

async fn show(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let account = match authorize(&state, &headers, VIEW) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let data = state.data();
    match data
        .tickets
        .iter()
        .find(|t| t.account == account && t.id.to_string() == id)
    {
        Some(ticket) => json(
            StatusCode::OK,
            serde_json::json!({ "ticket": ticket_json(ticket) }),
        ),
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "code": "access_denied", "message": "There is no ticket with this id." }),
        ),
    }
}

async fn list(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Response {
    let account = match authorize(&state, &headers, VIEW) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let data = state.data();
    let tickets: Vec<serde_json::Value> = data
        .tickets
        .iter()
        .filter(|t| t.account == account)
        .map(ticket_json)
        .collect();
    json(StatusCode::OK, serde_json::json!({ "tickets": tickets }))
}

/// The provider's "who am I": the account and scopes of a live token, sent as
/// `Authorization: <scheme> <token>` (Bearer, or Podio's `OAuth2`) or Shopify's
/// `X-Shopify-Access-Token`; a bad token is answered as the provider answers it.
pub(crate) fn whoami(state: &State, headers: &HeaderMap) -> Response {
    let token = headers
        .get("x-shopify-access-token")
        .or_else(|| headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split_once(' ').map_or(v, |(_, token)| token))
        .unwrap_or("");
    let grant = state.data().access.get(token).filter(|g| g.live()).cloned();
    match grant {
        Some(grant) => json(
            StatusCode::OK,
            serde_json::json!({ "ok": true, "account": grant.account, "scopes": grant.scopes }),
        ),
        None => match state.settings().profile.api_rejection {
            ApiRejection::Unauthorized => json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({ "message": "Bad credentials" }),
            ),
            ApiRejection::SlackOkFalse => json(
                StatusCode::OK,
                serde_json::json!({ "ok": false, "error": "invalid_auth" }),
            ),
        },
    }
}
