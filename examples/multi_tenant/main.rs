//! Many installations on two replicas: an axum backend serving three accounts of a
//! Freshservice app, each with its own organisation, their tokens in one PostgreSQL store.
//! The code is in `examples/src/multi_tenant.rs`; its configuration in
//! `examples/multi_tenant/config/`.
//!
//! Run: `OAUTH_EXAMPLE_POSTGRES=postgres://… cargo run --example multi_tenant` (the URL that
//! `scripts/start-postgres` prints will do).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("OAUTH_EXAMPLE_POSTGRES").map_err(|_| {
        "set OAUTH_EXAMPLE_POSTGRES to a PostgreSQL URL (scripts/start-postgres starts a \
         server on loopback and prints one)"
    })?;
    oauth_examples::multi_tenant::run(&mut std::io::stdout(), &url).await
}
