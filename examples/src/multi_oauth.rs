//! Multi-OAuth (platform documents 001 and 003): two `account` integrations and one `agent`
//! integration in one app, each token kept apart; agents authorize for themselves.
//!
//! Run: `cargo run --example multi_oauth`.

use std::io::Write;

use oauth_mock::{Profile, Provider};
use oauth_runtime::{InvokeError, MemoryStore, Subject, UserId};

use crate::support::{Result, StandIn, authorize, browser, callback_server};

/// The client of `examples/multi_oauth/config`.
#[oauth_runtime::templates(
    requests = "multi_oauth/config/requests.json",
    oauth = "multi_oauth/config/oauth_config.json"
)]
pub struct Multi;

const ORG_DOMAIN: &str = "acme.myfreshworks.com";
const FRESHSERVICE_DOMAIN: &str = "acme.freshservice.com";

/// Authorizes the three integrations (the agent one for one agent), and calls each.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    // Two providers, as in production: FreshID (with Freshservice's API) and Asana.
    let freshworks = StandIn::start(
        Provider::builder()
            .client("multi-client", "multi-secret", "Multi app")
            .auto_consent(true),
        &[ORG_DOMAIN, FRESHSERVICE_DOMAIN],
    )
    .await?;
    let asana = StandIn::start(
        Provider::builder()
            .profile(Profile::asana())
            .client("multi-asana-client", "multi-asana-secret", "Multi app")
            .auto_consent(true),
        &["app.asana.com"],
    )
    .await?;
    let mut builder = asana
        .trusted_by(freshworks.runtime()?)?
        .store(MemoryStore::new());
    let browser = asana.seen_by(freshworks.seen_by(browser())?)?.build()?;
    let mut servers = Vec::new();
    for integration in MultiIntegration::ALL {
        let server = callback_server().await?;
        let secret = match integration {
            MultiIntegration::Asana => "multi-asana-secret",
            _ => "multi-secret",
        };
        let config = integration
            .spec()
            .configure(
                &|name| (name == "freshworks_org_domain").then(|| ORG_DOMAIN.to_string()),
                &|_| Some(secret.to_string()),
            )?
            .redirect_uri(server.redirect_uri().as_str())?;
        builder = builder.integration(config);
        servers.push((integration, server));
    }
    let runtime = builder.build()?;
    let ana = UserId::new("ana");
    for (integration, server) in servers {
        let subject = match integration {
            MultiIntegration::AgentFreshservice => Subject::User(ana.clone()),
            _ => Subject::Installation,
        };
        authorize(
            &runtime,
            &browser,
            integration.name(),
            subject.clone(),
            server,
        )
        .await?;
        writeln!(out, "authorized `{}` for {subject}", integration.name())?;
    }

    let app = Multi::new(
        runtime,
        MultiIparams {
            freshservice_domain: FRESHSERVICE_DOMAIN.to_string(),
        },
    );
    let created = app
        .create_ticket()
        .json(&serde_json::json!({ "subject": "From the multi app", "description": "…" }))
        .send()
        .await?;
    writeln!(
        out,
        "freshservice (account): create_ticket {}",
        created.status()
    )?;
    let workspaces: serde_json::Value = app.asana_get_workspace().send().await?.json()?;
    writeln!(
        out,
        "asana (account): {} workspaces",
        workspaces["data"].as_array().map_or(0, Vec::len)
    )?;
    let mine: serde_json::Value = app.my_tickets(&ana).send().await?.json()?;
    writeln!(
        out,
        "agent_freshservice (ana's token): {} tickets",
        mine["tickets"].as_array().map_or(0, Vec::len)
    )?;
    // Bob never authorized: he gets the address to do it.
    match app.my_tickets(&UserId::new("bob")).send().await {
        Err(InvokeError::ReauthorizationRequired {
            authorize_url: Some(url),
            ..
        }) => {
            writeln!(
                out,
                "bob must authorize first, at {}{}",
                url.origin().ascii_serialization(),
                url.path()
            )?;
        }
        other => return Err(format!("expected bob to need authorization, got {other:?}").into()),
    }
    Ok(())
}
