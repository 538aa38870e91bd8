//! Asana workspaces through `options.oauth` (platform document 003): an `account` integration
//! named `asana`, its token sent as `bearer <%= access_token %>`.
//!
//! Run: `cargo run --example asana_workspaces`.

use std::io::Write;

use oauth_mock::{Profile, Provider};
use oauth_runtime::{MemoryStore, Subject};

use crate::support::{Result, StandIn, authorize, callback_server};

/// The client of `examples/asana_workspaces/config`.
#[oauth_runtime::templates(
    requests = "asana_workspaces/config/requests.json",
    oauth = "asana_workspaces/config/oauth_config.json"
)]
pub struct Asana;

/// Authorizes the Asana integration, then lists the workspaces.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    // The config is Asana's own (`app.asana.com`, over https); the embedded provider answers
    // for that name, as Asana does.
    let asana = StandIn::start(
        Provider::builder()
            .profile(Profile::asana())
            .client("asana-client", "asana-secret", "Workspace viewer")
            .auto_consent(true),
        &["app.asana.com"],
    )
    .await?;
    let server = callback_server().await?;
    let integration = AsanaIntegration::Asana
        .spec()
        .configure(&|_| None, &|var| {
            (var == "OAUTH_ASANA_CLIENT_SECRET").then(|| "asana-secret".to_string())
        })?
        .redirect_uri(server.redirect_uri().as_str())?;
    let runtime = asana
        .runtime()?
        .store(MemoryStore::new())
        .integration(integration)
        .build()?;
    authorize(
        &runtime,
        &asana.browser()?,
        "asana",
        Subject::Installation,
        server,
    )
    .await?;
    writeln!(out, "authorized `asana` for the installation")?;

    let response = Asana::new(runtime).asana_get_workspace().send().await?;
    let body: serde_json::Value = response.json()?;
    for workspace in body["data"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "workspace {}: {}",
            workspace["gid"].as_str().unwrap_or("?"),
            workspace["name"].as_str().unwrap_or("?")
        )?;
    }
    Ok(())
}
