//! A server app (axum) that installs at account level: the admin opens
//! `/oauth/freshservice/authorize`, consents at the provider and comes back to
//! `/oauth/freshservice/callback`; the app's own route then creates tickets with the stored token.
//!
//! Run: `cargo run --example axum_server`.

use std::io::Write;

use axum::extract::State;
use axum::routing::post;
use oauth_mock::Provider;
use oauth_runtime::{MemoryStore, Runtime};

use crate::support::{Result, browse};

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

/// Starts the server on a free loopback port, installs through its routes, files a ticket.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    let provider = Provider::builder()
        .client("server-client", "server-secret", "Helpdesk server")
        .auto_consent(true)
        .start()
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let integration = HelpdeskIntegration::Freshservice
        .spec()
        .configure(
            &|name| (name == "freshworks_org_domain").then(|| provider.host()),
            &|var| (var == "OAUTH_FRESHSERVICE_CLIENT_SECRET").then(|| "server-secret".to_string()),
        )?
        .redirect_uri(&format!("{base}/oauth/freshservice/callback"))?;
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(integration)
        .build()?;
    let helpdesk = Helpdesk::new(
        runtime.clone(),
        HelpdeskIparams {
            freshservice_domain: provider.host(),
        },
    );
    let app = oauth_runtime::axum::routes(runtime, "/oauth").merge(
        axum::Router::new()
            .route("/tickets", post(create_ticket))
            .with_state(helpdesk),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    writeln!(out, "server listening at {base}")?;

    let page = browse(url::Url::parse(&format!(
        "{base}/oauth/freshservice/authorize"
    ))?)
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
    server.abort();
    Ok(())
}
