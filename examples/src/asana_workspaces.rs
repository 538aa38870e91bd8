//! Asana workspaces through `options.oauth` (platform document 003): an `account` integration
//! named `asana`, its token sent as `bearer <%= access_token %>`.
//!
//! Run: `cargo run --example asana_workspaces`.

use std::io::Write;

use oauth_mock::Provider;
use oauth_runtime::{MemoryStore, Runtime, Subject};

use crate::support::{Result, authorize, callback_server};

/// The client of `examples/asana_workspaces/config`.
#[oauth_runtime::templates(
    requests = "asana_workspaces/config/requests.json",
    oauth = "asana_workspaces/config/oauth_config.json"
)]
pub struct Asana;

/// Authorizes the Asana integration, then lists the workspaces.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    let provider = Provider::builder()
        .client("asana-client", "asana-secret", "Workspace viewer")
        .auto_consent(true)
        .start()
        .await?;
    let server = callback_server().await?;
    let integration = AsanaIntegration::Asana
        .spec()
        .configure(
            &|name| (name == "asana_host").then(|| provider.host()),
            &|var| (var == "OAUTH_ASANA_CLIENT_SECRET").then(|| "asana-secret".to_string()),
        )?
        .redirect_uri(server.redirect_uri().as_str())?;
    let runtime = Runtime::builder()
        .store(MemoryStore::new())
        .integration(integration)
        .build()?;
    authorize(&runtime, "asana", Subject::Installation, server).await?;
    writeln!(out, "authorized `asana` for the installation")?;

    let asana = Asana::new(
        runtime,
        AsanaIparams {
            asana_host: provider.host(),
        },
    );
    let response = asana.asana_get_workspace().send().await?;
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
