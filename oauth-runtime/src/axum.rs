//! Routes for server apps that install at account level (feature `axum`):
//!
//! - `GET {prefix}/{integration}/authorize` sends the admin to the integration's authorize URL;
//! - `GET {prefix}/{integration}/callback` completes the authorization and shows how it ended.
//!
//! Each integration's redirect URI must be its callback route (`https://app.example.com/oauth/
//! freshservice/callback`), set with [`IntegrationConfig::redirect_uri`](crate::IntegrationConfig::redirect_uri).
//! Put the authorize route behind your own admin authentication.
//!
//! The authorize route binds the authorization to the browser that asked for it: it sets an
//! HttpOnly, SameSite=Lax cookie holding a hash of the `state`, and the callback refuses a
//! `state` that the cookie does not match (a link with someone else's state, forwarded to an
//! admin, completes nothing).
//!
//! A backend serving many installations uses [`installation_routes`]: the authorize route
//! takes the installation from its path (`{prefix}/{installation}/{integration}/authorize`),
//! and the one callback route of each integration (the redirect URI registered at the
//! provider) finds the installation from the `state`. An app that knows the installation from
//! its own session instead calls [`authorize_response`] from its own handler, with
//! `runtime.installation(…)`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::loopback::{has_cookie, outcome_page, page_headers};
use crate::oauth::authorize::{AuthorizeError, Callback};
use crate::oauth::pkce;
use crate::{Runtime, Subject};

/// The authorize and callback routes of every integration of `runtime`, under `prefix`
/// (such as `/oauth`).
pub fn routes(runtime: Runtime, prefix: &str) -> axum::Router {
    let prefix = prefix.trim_end_matches('/');
    axum::Router::new()
        .route(
            &format!("{prefix}/{{integration}}/authorize"),
            get(authorize),
        )
        .route(&format!("{prefix}/{{integration}}/callback"), get(callback))
        .with_state(runtime)
}

/// The routes of [`routes`] for every installation: `GET {prefix}/{installation}/{integration}
/// /authorize` starts an authorization of that installation, and `GET {prefix}/{integration}
/// /callback` completes any, storing the tokens for the installation that started it. Put
/// the authorize route behind your own authentication, which must also check that the admin
/// administers that installation.
pub fn installation_routes(runtime: Runtime, prefix: &str) -> axum::Router {
    let prefix = prefix.trim_end_matches('/');
    axum::Router::new()
        .route(
            &format!("{prefix}/{{installation}}/{{integration}}/authorize"),
            get(authorize_installation),
        )
        .route(&format!("{prefix}/{{integration}}/callback"), get(callback))
        .with_state(runtime)
}

/// Whether an installation id taken from a URL is one: 1 to 128 letters, digits, `.`, `_`
/// or `-` (what account ids and domains are made of).
fn is_installation_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

async fn authorize_installation(
    State(runtime): State<Runtime>,
    Path((installation, integration)): Path<(String, String)>,
) -> Response {
    if !is_installation_id(&installation) {
        return page(
            StatusCode::NOT_FOUND,
            outcome_page(Err("no such installation")).1,
        );
    }
    authorize_response(&runtime.installation(installation), &integration).await
}

/// The cookie binding an authorization of `integration` to the browser.
fn cookie_name(integration: &str) -> String {
    let safe: String = integration
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("oauth_state_{safe}")
}

async fn authorize(State(runtime): State<Runtime>, Path(integration): Path<String>) -> Response {
    authorize_response(&runtime, &integration).await
}

/// What the authorize route answers: a redirect to `integration`'s authorize URL for
/// `runtime`'s installation, binding the authorization to the browser with a cookie (or a
/// page saying why not). For an app's own handler, which knows the installation
/// (`runtime.installation(…)`) from its session.
pub async fn authorize_response(runtime: &Runtime, integration: &str) -> Response {
    match runtime.authorize(integration, Subject::Installation).await {
        Ok(request) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(location) = HeaderValue::from_str(request.url().as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            let secure = request
                .url()
                .query_pairs()
                .any(|(k, v)| k == "redirect_uri" && v.starts_with("https:"));
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600{}",
                cookie_name(integration),
                pkce::challenge(&request.state),
                if secure { "; Secure" } else { "" }
            );
            if let Ok(cookie) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            page_headers(response.headers_mut());
            response
        }
        Err(error) => {
            let status = match error {
                AuthorizeError::UnknownIntegration(_) => StatusCode::NOT_FOUND,
                AuthorizeError::TooManyPending(_) => StatusCode::TOO_MANY_REQUESTS,
                AuthorizeError::Integrations(_) | AuthorizeError::Store(_) => {
                    // The app's source or its database said why: logged, not shown to
                    // whoever opened the page.
                    tracing::warn!(error = %error, "an authorization could not be started");
                    let shown = "the authorization could not be started: try again later";
                    return page(StatusCode::SERVICE_UNAVAILABLE, outcome_page(Err(shown)).1);
                }
                _ => StatusCode::BAD_REQUEST,
            };
            page(status, outcome_page(Err(&error.to_string())).1)
        }
    }
}

async fn callback(
    State(runtime): State<Runtime>,
    Path(integration): Path<String>,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let callback = Callback::from_query(query.as_deref().unwrap_or(""));
    let name = cookie_name(&integration);
    let matches = callback
        .state()
        .is_some_and(|state| has_cookie(&headers, &name, &pkce::challenge(state)));
    if !matches {
        return page(
            StatusCode::BAD_REQUEST,
            outcome_page(Err(
                "this callback does not come from the browser that started the authorization: refused",
            ))
            .1,
        );
    }
    let outcome = runtime
        .complete_authorization(&integration, None, &callback)
        .await;
    let (status, body) = match &outcome {
        Ok(outcome) => outcome_page(Ok(outcome)),
        Err(error) => {
            // The integration comes from the URL: logged escaped (`?`), never as raw text.
            tracing::warn!(integration = ?integration, error = ?error.to_string(), "authorization callback refused");
            outcome_page(Err(&error.to_string()))
        }
    };
    let mut response = page(status, body);
    if let Ok(expired) = HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0")) {
        response.headers_mut().insert(header::SET_COOKIE, expired);
    }
    response
}

fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    page_headers(response.headers_mut());
    response
}
