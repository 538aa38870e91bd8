//! Multi-OAuth (platform documents 001 and 003): two `account` integrations and one `agent`
//! integration in one app, each token kept apart; agents authorize for themselves.
//!
//! Run: `cargo run --example multi_oauth`.

use std::io::Write;

use oauth_mock::Provider;
use oauth_runtime::{InvokeError, MemoryStore, Runtime, Subject, UserId};

use crate::support::{Result, authorize, callback_server};

/// The client of `examples/multi_oauth/config`.
#[oauth_runtime::templates(
    requests = "multi_oauth/config/requests.json",
    oauth = "multi_oauth/config/oauth_config.json"
)]
pub struct Multi;

/// Authorizes the three integrations (the agent one for one agent), and calls each.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    let provider = Provider::builder()
        .client("multi-client", "multi-secret", "Multi app")
        .auto_consent(true)
        .start()
        .await?;
    let host = provider.host();
    let mut builder = Runtime::builder().store(MemoryStore::new());
    let mut servers = Vec::new();
    for integration in MultiIntegration::ALL {
        let server = callback_server().await?;
        let config = integration
            .spec()
            .configure(&|_| Some(host.clone()), &|_| {
                Some("multi-secret".to_string())
            })?
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
        authorize(&runtime, integration.name(), subject.clone(), server).await?;
        writeln!(out, "authorized `{}` for {subject}", integration.name())?;
    }

    let app = Multi::new(runtime, MultiIparams { host: host.clone() });
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
