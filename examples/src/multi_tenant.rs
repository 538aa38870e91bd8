//! Many installations on two replicas (issue 16): one backend serving three accounts that
//! installed a Freshservice app, each with its own Freshworks organisation (so its own token
//! URL), from two replicas sharing one PostgreSQL store.
//!
//! 1. The embedded provider stands in for the three organisations' FreshID and Freshservice
//!    domains over https; each organisation's API takes only its own tokens.
//! 2. Two replicas start, each with its own runtime, connection pool and database session,
//!    the installations' integrations coming from an `IntegrationMap` (in a real app, an
//!    `IntegrationSource` over its installations table).
//! 3. Each account is installed through replica A's route
//!    `/oauth/{installation}/freshservice/authorize`; the provider sends the admin back to
//!    replica B (as a load balancer may), which completes the authorization from the state
//!    kept in PostgreSQL.
//! 4. Tickets are created for each installation on either replica: each call carries its own
//!    installation's token, and each account lists only its own tickets.
//!
//! Run: `OAUTH_EXAMPLE_POSTGRES=postgres://… cargo run --example multi_tenant`.

use std::io::Write;

use oauth_mock::Provider;
use oauth_runtime::store::PostgresStore;
use oauth_runtime::{IntegrationMap, Runtime};

use crate::support::{Result, StandIn, browse};

/// The client generated from the app's configuration.
#[oauth_runtime::templates(
    requests = "multi_tenant/config/requests.json",
    oauth = "multi_tenant/config/oauth_config.json"
)]
pub struct Helpdesk;

const CLIENT_ID: &str = "tenant-client";
const CLIENT_SECRET: &str = "tenant-secret";
/// The accounts that installed the app: installation id, and its organisation's name.
const ACCOUNTS: [&str; 3] = ["acme", "globex", "initech"];

fn org_domain(account: &str) -> String {
    format!("{account}.myfreshworks.com")
}

fn freshservice_domain(account: &str) -> String {
    format!("{account}.freshservice.com")
}

/// Each installation's integration, configured with its own `oauth_iparams` and sent back to
/// `callback`.
fn installations(callback: &str) -> Result<IntegrationMap> {
    let mut map = IntegrationMap::new();
    for account in ACCOUNTS {
        let domain = org_domain(account);
        let config = HelpdeskIntegration::Freshservice
            .spec()
            .configure(
                &|name| match name {
                    "freshworks_org_domain" => Some(domain.clone()),
                    "client_id" => Some(CLIENT_ID.to_string()),
                    "client_secret" => Some(CLIENT_SECRET.to_string()),
                    _ => None,
                },
                &|_| None,
            )?
            .redirect_uri(callback)?;
        map = map.with(account, config);
    }
    Ok(map)
}

/// One replica: its own store connection and runtime, the installation routes on its own
/// loopback port. Returns the runtime and the server task.
async fn replica(
    stand_in: &StandIn,
    database: &str,
    callback: &str,
    listener: tokio::net::TcpListener,
) -> Result<(Runtime, tokio::task::JoinHandle<()>)> {
    let store = PostgresStore::connect(database).await?;
    let runtime = stand_in
        .runtime()?
        .store(store)
        .integration_source(installations(callback)?)
        .build()?;
    let app = oauth_runtime::axum::installation_routes(runtime.clone(), "/oauth");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((runtime, server))
}

/// Runs the example against the PostgreSQL server at `database`, telling `out` each step.
pub async fn run(out: &mut dyn Write, database: &str) -> Result<()> {
    let mut hosts: Vec<String> = ACCOUNTS.iter().map(|a| org_domain(a)).collect();
    hosts.extend(ACCOUNTS.iter().map(|a| freshservice_domain(a)));
    let host_names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let stand_in = StandIn::start(
        Provider::builder()
            .client(CLIENT_ID, CLIENT_SECRET, "Multi-tenant helpdesk")
            .accounts(ACCOUNTS.iter().map(|a| org_domain(a)))
            .auto_consent(true),
        &host_names,
    )
    .await?;
    writeln!(
        out,
        "1. The embedded provider answers for {} organisations over https.",
        ACCOUNTS.len()
    )?;

    let (a_listener, b_listener) = (
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    );
    let (a_base, b_base) = (
        format!("http://{}", a_listener.local_addr()?),
        format!("http://{}", b_listener.local_addr()?),
    );
    // Behind a load balancer both replicas answer at one address; here the provider sends the
    // admin back to replica B, whichever replica started the authorization.
    let callback = format!("{b_base}/oauth/freshservice/callback");
    let (a, a_server) = replica(&stand_in, database, &callback, a_listener).await?;
    let (b, b_server) = replica(&stand_in, database, &callback, b_listener).await?;
    writeln!(
        out,
        "2. Two replicas share one PostgreSQL store: A at {a_base}, B at {b_base}."
    )?;

    writeln!(
        out,
        "3. Installing each account through replica A; the provider sends the admin back to B."
    )?;
    let browser = stand_in.browser()?;
    for account in ACCOUNTS {
        let start = url::Url::parse(&format!("{a_base}/oauth/{account}/freshservice/authorize"))?;
        let page = browse(browser.clone(), start).await?;
        writeln!(
            out,
            "   {account}: {}",
            if page.contains("freshservice is authorized") {
                "authorized (started on A, completed on B)"
            } else {
                "failed"
            }
        )?;
    }

    writeln!(out, "4. Each installation's calls carry its own token.")?;
    for (n, account) in ACCOUNTS.iter().enumerate() {
        for (replica, name) in [(&a, "A"), (&b, "B")] {
            let helpdesk = Helpdesk::new(
                replica.installation(*account),
                HelpdeskIparams {
                    freshservice_domain: freshservice_domain(account),
                },
            );
            let created = helpdesk
                .create_ticket()
                .json(&serde_json::json!({
                    "subject": format!("{account}'s ticket #{} via replica {name}", n + 1),
                    "description": "From the multi-tenant example",
                }))
                .send()
                .await?;
            let ticket: serde_json::Value = created.json()?;
            writeln!(
                out,
                "   {account} on replica {name}: {} {}",
                created.status(),
                ticket["ticket"]["subject"].as_str().unwrap_or("")
            )?;
        }
    }
    for account in ACCOUNTS {
        let helpdesk = Helpdesk::new(
            a.installation(account),
            HelpdeskIparams {
                freshservice_domain: freshservice_domain(account),
            },
        );
        let list: serde_json::Value = helpdesk.list_tickets().send().await?.json()?;
        let subjects: Vec<&str> = list["tickets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["subject"].as_str())
            .collect();
        writeln!(
            out,
            "   {account} sees {} tickets, all its own: {}",
            subjects.len(),
            subjects.iter().all(|s| s.starts_with(account))
        )?;
    }
    writeln!(
        out,
        "token requests at the provider: {} (one code exchange per installation)",
        stand_in.provider.token_requests()
    )?;
    a_server.abort();
    b_server.abort();
    Ok(())
}
