//! A server app (axum) that installs at account level: the admin signs in, opens
//! `/oauth/freshservice/authorize`, consents at the provider and comes back to
//! `/oauth/freshservice/callback`; the app's own route then creates tickets with the stored token.
//!
//! The authorize route belongs behind the app's own admin authentication: anyone who can open
//! it starts an installation (a link on another site can make an admin's browser open it). Here
//! a stand-in sign-in sets an `admin_session` cookie and a middleware refuses the authorize
//! route without it; a real app uses its own sessions.
//!
//! The runtime's lifecycle events drive an admin notice (FDK's REAUTHORIZE button): when the
//! provider revokes the installation's tokens, `/admin/notices` says so, with no call needed to
//! fail first in the admin's view.
//!
//! Run: `cargo run --example axum_server`.

use std::io::Write;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use oauth_mock::Provider;
use oauth_runtime::MemoryStore;
use oauth_runtime::events::{self, TokenEvent};

use crate::support::{Result, StandIn, browse};

/// The installation's Freshworks organisation and its Freshservice account.
const ORG_DOMAIN: &str = "acme.myfreshworks.com";
const FRESHSERVICE_DOMAIN: &str = "acme.freshservice.com";

/// The client of `examples/axum_server/config`.
#[oauth_runtime::templates(
    requests = "axum_server/config/requests.json",
    oauth = "axum_server/config/oauth_config.json"
)]
pub struct Helpdesk;

/// The app's own route: `POST /tickets` with a subject creates a ticket in Freshservice.
async fn create_ticket(State(helpdesk): State<Helpdesk>, subject: String) -> String {
    let sent = helpdesk
        .create_ticket()
        .json(&serde_json::json!({ "subject": subject, "description": "Filed through the server app" }))
        .send()
        .await;
    match sent {
        Ok(response) => format!("{}", response.status()),
        Err(error) => format!("error: {error}"),
    }
}

/// What the admin is told about the installation's authorizations.
type Notices = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Keeps a notice for each authorization the admin must renew, and drops it once renewed.
async fn watch(mut receiver: events::EventReceiver, notices: Notices) {
    while let Some(event) = receiver.recv().await {
        let mut notices = notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            TokenEvent::ReauthorizationRequired { key, reason, .. } => notices.push(format!(
                "{} needs a new authorization: {reason}",
                key.integration
            )),
            TokenEvent::Authorized { key } => notices.retain(|n| !n.starts_with(&*key.integration)),
            _ => {}
        }
    }
}

/// `GET /admin/notices`: the admin's notices, one a line.
async fn admin_notices(State(notices): State<Notices>) -> String {
    let notices = notices
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if notices.is_empty() {
        "no notices".to_string()
    } else {
        notices.join("\n")
    }
}

/// The stand-in admin session (a real app checks its own session store).
const ADMIN_SESSION: &str = "admin_session=demo-admin";

/// Stand-in sign-in: sets the admin session, then goes on to `next`.
async fn sign_in(axum::extract::RawQuery(query): axum::extract::RawQuery) -> Response {
    let next = query
        .as_deref()
        .and_then(|q| q.strip_prefix("next="))
        .filter(|next| next.starts_with("/oauth/"))
        .unwrap_or("/");
    (
        [(
            header::SET_COOKIE,
            format!("{ADMIN_SESSION}; Path=/; HttpOnly; SameSite=Lax"),
        )],
        Redirect::to(next),
    )
        .into_response()
}

/// Only a signed-in admin may start an installation.
async fn admins_only(request: Request, next: Next) -> Response {
    let signed_in = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim() == ADMIN_SESSION);
    let path = request.uri().path();
    let admin_only = path.ends_with("/authorize") || path.starts_with("/admin/");
    if admin_only && !signed_in {
        return (StatusCode::UNAUTHORIZED, "sign in as an admin first").into_response();
    }
    next.run(request).await
}

/// Starts the server on a free loopback port, installs through its routes, files a ticket.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    let stand_in = StandIn::start(
        Provider::builder()
            .client("server-client", "server-secret", "Helpdesk server")
            .auto_consent(true),
        &[ORG_DOMAIN, FRESHSERVICE_DOMAIN],
    )
    .await?;
    let provider = &stand_in.provider;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let integration = HelpdeskIntegration::Freshservice
        .spec()
        .configure(
            &|name| (name == "freshworks_org_domain").then(|| ORG_DOMAIN.to_string()),
            &|var| (var == "OAUTH_FRESHSERVICE_CLIENT_SECRET").then(|| "server-secret".to_string()),
        )?
        .redirect_uri(&format!("{base}/oauth/freshservice/callback"))?;
    let (sender, receiver) = events::channel(64);
    let notices = Notices::default();
    tokio::spawn(watch(receiver, notices.clone()));
    let runtime = stand_in
        .runtime()?
        .store(MemoryStore::new())
        .integration(integration)
        .events(sender)
        .build()?;
    let helpdesk = Helpdesk::new(
        runtime.clone(),
        HelpdeskIparams {
            freshservice_domain: FRESHSERVICE_DOMAIN.to_string(),
        },
    );
    let app = oauth_runtime::axum::routes(runtime, "/oauth")
        .layer(axum::middleware::from_fn(admins_only))
        .merge(
            axum::Router::new()
                .route("/sign-in", get(sign_in))
                .route("/tickets", post(create_ticket))
                .with_state(helpdesk),
        )
        .merge(
            axum::Router::new()
                .route("/admin/notices", get(admin_notices))
                .with_state(notices)
                .layer(axum::middleware::from_fn(admins_only)),
        );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    writeln!(out, "server listening at {base}")?;

    let anonymous = reqwest::get(format!("{base}/oauth/freshservice/authorize")).await?;
    writeln!(
        out,
        "the authorize route without an admin session: {}",
        anonymous.status()
    )?;
    let page = browse(
        stand_in.browser()?,
        url::Url::parse(&format!(
            "{base}/sign-in?next=/oauth/freshservice/authorize"
        ))?,
    )
    .await?;
    let installed = page.contains("freshservice is authorized");
    writeln!(
        out,
        "the admin installed the app: {}",
        if installed {
            "freshservice is authorized"
        } else {
            "failed"
        }
    )?;
    let filed = reqwest::Client::new()
        .post(format!("{base}/tickets"))
        .body("VPN is down")
        .send()
        .await?
        .text()
        .await?;
    writeln!(out, "POST /tickets answered: {filed}")?;

    // The user revokes the app at the provider; the next call finds out, and the admin is told.
    provider.revoke_all();
    provider.expire_access_tokens();
    let refused = reqwest::Client::new()
        .post(format!("{base}/tickets"))
        .body("Printer jam")
        .send()
        .await?
        .text()
        .await?;
    writeln!(
        out,
        "after the provider revoked the app, POST /tickets answered: {refused}"
    )?;
    // The notice arrives through the event channel, as the admin page would poll for it.
    let mut notice = String::new();
    for _ in 0..50 {
        notice = reqwest::Client::new()
            .get(format!("{base}/admin/notices"))
            .header(header::COOKIE, ADMIN_SESSION)
            .send()
            .await?
            .text()
            .await?;
        if notice != "no notices" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    writeln!(out, "the admin's notices: {notice}")?;
    server.abort();
    Ok(())
}
