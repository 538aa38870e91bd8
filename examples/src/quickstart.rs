//! The quickstart: the whole lifecycle of an FDK-style Freshservice app, offline.
//!
//! 1. An embedded FreshID-like provider starts on loopback, answering over https for the
//!    organisation's FreshID domain and its Freshservice domain: the config is the one a real
//!    app ships (`https`, real host names), and nothing leaves the machine.
//! 2. The admin authorizes the app (account level): the authorize URL, the provider's consent,
//!    the redirect to the loopback callback, the code exchange with PKCE.
//! 3. A ticket is created with the typed method generated from `config/requests.json`.
//! 4. The access token expires (the provider issues them for 2 seconds here, 30 minutes in
//!    FreshID): the runtime refreshes it before the next call, and the app sees none of it.
//! 5. The refresh token is revoked: the next call fails with `ReauthorizationRequired`, and the
//!    app gets the address where the admin authorizes again.
//!
//! Run: `cargo run --example quickstart` (its `main` calls [`run`]); the test suite runs it too
//! and checks each step.

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use oauth_mock::Provider;
use oauth_runtime::loopback::CallbackServer;
use oauth_runtime::{CallbackOutcome, InvokeError, MemoryStore, Subject};

use crate::support::StandIn;

/// The client generated from the app's configuration (`oauth-templates expand --dir
/// examples/quickstart --name Freshservice` prints it).
#[oauth_runtime::templates(
    requests = "quickstart/config/requests.json",
    oauth = "quickstart/config/oauth_config.json"
)]
pub struct Freshservice;

const CLIENT_ID: &str = "quickstart-client";
const CLIENT_SECRET: &str = "quickstart-secret";
/// The installation's Freshworks organisation (FreshID) and its Freshservice account.
const ORG_DOMAIN: &str = "acme.myfreshworks.com";
const FRESHSERVICE_DOMAIN: &str = "acme.freshservice.com";
/// Short, so the quickstart sees a token expire.
const TOKEN_LIFETIME: Duration = Duration::from_secs(2);

/// Runs the quickstart, telling `out` what happens at each step.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    writeln!(
        out,
        "1. Starting the embedded FreshID-like provider (offline, on loopback)."
    )?;
    let stand_in = StandIn::start(
        Provider::builder()
            .client(CLIENT_ID, CLIENT_SECRET, "Quickstart helpdesk")
            .access_token_lifetime(TOKEN_LIFETIME)
            .require_pkce(true)
            .auto_consent(true),
        &[ORG_DOMAIN, FRESHSERVICE_DOMAIN],
    )
    .await?;
    let provider = &stand_in.provider;
    writeln!(
        out,
        "   https://{ORG_DOMAIN} and https://{FRESHSERVICE_DOMAIN} are answered at {}",
        provider.https_address().ok_or("no https")?
    )?;

    // The installation: what the admin enters when installing the app (`oauth_iparams`: the
    // organisation's domain and the OAuth client's credentials). The token requests carry
    // FreshID's custom header, `Authorization: Basic base64(id:secret)`, built from them; none
    // of it is in the config file or the binary.
    let oauth_iparams = |name: &str| match name {
        "freshworks_org_domain" => Some(ORG_DOMAIN.to_string()),
        "client_id" => Some(CLIENT_ID.to_string()),
        "client_secret" => Some(CLIENT_SECRET.to_string()),
        _ => None,
    };
    let no_environment = |_: &str| None;
    // FDK's local redirect URL when the port is free, else any free port.
    let callback =
        match CallbackServer::bind(&url::Url::parse(oauth_runtime::DEFAULT_REDIRECT_URI)?).await {
            Ok(server) => server,
            Err(_) => {
                CallbackServer::bind(&url::Url::parse("http://localhost:0/auth/callback")?).await?
            }
        };
    let redirect = callback.redirect_uri().clone();
    let integration = FreshserviceIntegration::Freshservice
        .spec()
        .configure(&oauth_iparams, &no_environment)?
        .redirect_uri(callback.redirect_uri().as_str())?;
    // In production: `Runtime::builder()`. Here the two domains go to the embedded provider,
    // whose throwaway authority is trusted; TLS still checks their names.
    let runtime = stand_in
        .runtime()?
        .store(MemoryStore::new())
        .integration(integration)
        .build()?;

    writeln!(
        out,
        "2. Authorizing the app for the account (the admin's part)."
    )?;
    let request = runtime
        .authorize("freshservice", Subject::Installation)
        .await?;
    writeln!(
        out,
        "   the admin is sent to {}",
        shorten(request.url().as_str())
    )?;
    // The admin's browser: the provider consents at once (auto-consent) and redirects to the
    // loopback callback.
    let browser = tokio::spawn(crate::support::browse(
        stand_in.browser()?,
        request.url().clone(),
    ));
    let (received, reply) = callback.receive(&request, Duration::from_secs(30)).await?;
    let outcome = runtime
        .complete_authorization("freshservice", None, &received)
        .await;
    reply
        .finish(outcome.as_ref().map_err(|_| "the authorization failed"))
        .await;
    browser.await?.map_err(|e| e.to_string())?;
    match outcome? {
        CallbackOutcome::Authorized { .. } => writeln!(
            out,
            "   the provider redirected to {redirect} with a code; it was exchanged for tokens (PKCE checked) and they are stored\n   \
             the token request authenticated with FreshID's custom header `Authorization: Basic …`, built from the installation's oauth_iparams"
        )?,
        other => return Err(format!("not authorized: {other:?}").into()),
    }

    let app = Freshservice::new(
        runtime.clone(),
        FreshserviceIparams {
            freshservice_domain: FRESHSERVICE_DOMAIN.to_string(),
        },
    );

    writeln!(
        out,
        "3. Creating a ticket with the typed method `create_ticket`."
    )?;
    let created = app
        .create_ticket()
        .json(&serde_json::json!({
            "subject": "Printer on fire",
            "description": "The printer on floor 3 is on fire.",
            "email": "ana@example.com",
        }))
        .send()
        .await?;
    let ticket: serde_json::Value = created.json()?;
    let id = ticket["ticket"]["id"].as_u64().unwrap_or_default();
    writeln!(
        out,
        "   the API answered {}: ticket #{id}, \"{}\"",
        created.status(),
        ticket["ticket"]["subject"].as_str().unwrap_or("")
    )?;

    writeln!(
        out,
        "4. Waiting for the access token to expire ({} s here).",
        TOKEN_LIFETIME.as_secs()
    )?;
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    let before = provider.token_requests();
    let fetched = app
        .get_ticket(&GetTicketContext {
            ticket_id: id.to_string(),
        })
        .send()
        .await?;
    writeln!(
        out,
        "   get_ticket answered {} at once: the runtime refreshed the token first ({} token request)",
        fetched.status(),
        provider.token_requests() - before,
    )?;

    writeln!(
        out,
        "5. The refresh token is revoked (the admin removed the app's access)."
    )?;
    provider.revoke_refresh_tokens();
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    match app
        .get_ticket(&GetTicketContext {
            ticket_id: id.to_string(),
        })
        .send()
        .await
    {
        Err(error @ InvokeError::ReauthorizationRequired { .. }) => {
            writeln!(out, "   the call failed: {error}")?;
            let again = runtime
                .authorize("freshservice", Subject::Installation)
                .await?;
            writeln!(
                out,
                "   the app shows the admin where to authorize again: {}",
                shorten(again.url().as_str())
            )?;
            let before = provider.token_requests();
            let _ = app
                .get_ticket(&GetTicketContext {
                    ticket_id: id.to_string(),
                })
                .send()
                .await;
            writeln!(
                out,
                "   further calls fail at once: {} more token requests",
                provider.token_requests() - before
            )?;
        }
        other => return Err(format!("expected ReauthorizationRequired, got {other:?}").into()),
    }
    writeln!(
        out,
        "Done: authorize, call, refresh, reauthorize — all offline."
    )?;
    Ok(())
}

/// The URL without its query, which is long and says nothing to a reader.
fn shorten(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?client_id=…&state=…&code_challenge=…"),
        None => url.to_string(),
    }
}
