//! Routes for server apps that install at account level (feature `axum`):
//!
//! - `GET {prefix}/{integration}/authorize` sends the admin to the integration's authorize URL;
//! - `GET {prefix}/{integration}/callback` completes the authorization and shows how it ended.
//!
//! Each integration's redirect URI must be its callback route (`https://app.example.com/oauth/
//! freshservice/callback`), set with [`IntegrationConfig::redirect_uri`](crate::IntegrationConfig::redirect_uri).
//! Put the authorize route behind your own admin authentication.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::loopback::{outcome_page, page_headers};
use crate::oauth::authorize::{AuthorizeError, Callback};
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

async fn authorize(State(runtime): State<Runtime>, Path(integration): Path<String>) -> Response {
    match runtime.authorize(&integration, Subject::Installation) {
        Ok(request) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(location) = HeaderValue::from_str(request.url().as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            page_headers(response.headers_mut());
            response
        }
        Err(error) => {
            let status = match error {
                AuthorizeError::UnknownIntegration(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            page(status, outcome_page(Err(&error.to_string())).1)
        }
    }
}

async fn callback(
    State(runtime): State<Runtime>,
    Path(integration): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let callback = Callback::from_query(query.as_deref().unwrap_or(""));
    let outcome = runtime
        .complete_authorization(&integration, None, &callback)
        .await;
    let (status, body) = match &outcome {
        Ok(outcome) => outcome_page(Ok(outcome)),
        Err(error) => {
            tracing::warn!(integration = %integration, error = %error, "authorization callback refused");
            outcome_page(Err(&error.to_string()))
        }
    };
    page(status, body)
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
