//! Freshservice tickets (platform document 000) with tokens in a file: authorize once, and a
//! later run of the app (a new runtime on the same file) uses the stored tokens.
//!
//! Run: `cargo run --example freshservice_tickets`.

use std::io::Write;
use std::path::Path;

use oauth_mock::Provider;
use oauth_runtime::{FileStore, IntegrationConfig, Subject};

use crate::support::{Result, StandIn, authorize, callback_server};

/// The client of `examples/freshservice_tickets/config`.
#[oauth_runtime::templates(
    requests = "freshservice_tickets/config/requests.json",
    oauth = "freshservice_tickets/config/oauth_config.json"
)]
pub struct Tickets;

/// The installation's Freshworks organisation and its Freshservice account.
const ORG_DOMAIN: &str = "acme.myfreshworks.com";
const FRESHSERVICE_DOMAIN: &str = "acme.freshservice.com";

fn integration(redirect: &str) -> Result<IntegrationConfig> {
    Ok(TicketsIntegration::Freshservice
        .spec()
        .configure(
            &|name| (name == "freshworks_org_domain").then(|| ORG_DOMAIN.to_string()),
            &|var| {
                (var == "OAUTH_FRESHSERVICE_CLIENT_SECRET").then(|| "tickets-secret".to_string())
            },
        )?
        .redirect_uri(redirect)?)
}

/// Authorizes with tokens kept in `folder/tokens.json`, creates tickets from a second runtime
/// reading the same file, and lists them.
pub async fn run(out: &mut dyn Write, folder: &Path) -> Result<()> {
    let stand_in = StandIn::start(
        Provider::builder()
            .client("tickets-client", "tickets-secret", "Ticket desk")
            .auto_consent(true),
        &[ORG_DOMAIN, FRESHSERVICE_DOMAIN],
    )
    .await?;
    let file = folder.join("tokens.json");
    let server = callback_server().await?;
    let redirect = server.redirect_uri().to_string();
    let installing = stand_in
        .runtime()?
        .store(FileStore::new(&file))
        .integration(integration(&redirect)?)
        .build()?;
    let browser = stand_in.browser()?;
    authorize(
        &installing,
        &browser,
        "freshservice",
        Subject::Installation,
        server,
    )
    .await?;
    writeln!(out, "authorized; the tokens are in {}", file.display())?;

    // Later, another run of the app: a new runtime on the same file.
    let runtime = stand_in
        .runtime()?
        .store(FileStore::new(&file))
        .integration(integration(&redirect)?)
        .build()?;
    let tickets = Tickets::new(
        runtime,
        TicketsIparams {
            freshservice_domain: FRESHSERVICE_DOMAIN.to_string(),
        },
    );
    for subject in ["Laptop will not start", "New hire: accounts"] {
        let created = tickets
            .create_ticket()
            .json(&serde_json::json!({ "subject": subject, "description": "From the example" }))
            .send()
            .await?;
        let body: serde_json::Value = created.json()?;
        writeln!(out, "created ticket #{}: {subject}", body["ticket"]["id"])?;
    }
    writeln!(
        out,
        "token requests so far: {} (the second runtime used the stored token)",
        stand_in.provider.token_requests()
    )?;
    Ok(())
}
