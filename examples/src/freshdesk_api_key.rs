//! A Freshdesk app without OAuth (the API of platform document 004): the API key is a `secure`
//! installation parameter, sent as `Basic <%= encode(iparam.api_key + ':X') %>`; it is held as a
//! secret, redacted in `Debug`.
//!
//! Run: `cargo run --example freshdesk_api_key`.

use std::io::Write;

use crate::support::{Result, StandIn};
use oauth_mock::Provider;

/// The client of `examples/freshdesk_api_key/config`.
#[oauth_runtime::templates(
    requests = "freshdesk_api_key/config/requests.json",
    iparams = "freshdesk_api_key/config/iparams.json"
)]
pub struct Freshdesk;

/// Creates a ticket with the API key, then lists the tickets.
pub async fn run(out: &mut dyn Write) -> Result<()> {
    let freshdesk_domain = "acme.freshdesk.com";
    let stand_in = StandIn::start(
        Provider::builder().api_key("fd-api-key-0123", freshdesk_domain),
        &[freshdesk_domain],
    )
    .await?;
    let iparams = FreshdeskIparams {
        domain: freshdesk_domain.to_string(),
        api_key: "fd-api-key-0123".to_string().into(),
    };
    // Neither the installation values' `Debug` nor the secret's own shows the key.
    writeln!(out, "installation values: {iparams:?}")?;
    writeln!(out, "api_key: {:?}", iparams.api_key)?;
    let freshdesk = Freshdesk::new(stand_in.runtime()?.build()?, iparams);
    let created = freshdesk
        .create_ticket()
        .json(&serde_json::json!({ "subject": "Refund", "description": "Order 1234", "email": "bo@example.com" }))
        .send()
        .await?;
    let ticket: serde_json::Value = created.json()?;
    writeln!(
        out,
        "{}: ticket #{}",
        created.status(),
        ticket["ticket"]["id"]
    )?;
    let list: serde_json::Value = freshdesk.list_tickets().send().await?.json()?;
    writeln!(
        out,
        "the account has {} ticket(s)",
        list["tickets"].as_array().map_or(0, Vec::len)
    )?;
    Ok(())
}
