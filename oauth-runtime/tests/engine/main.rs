//! The runtime's engine against a fake provider: refresh, retries, stores, hostile values,
//! secret hygiene. One test binary, so the generated client is compiled once.

#[oauth_runtime::templates(
    requests = "tests/engine/config/requests.json",
    oauth = "tests/engine/config/oauth_config.json"
)]
pub struct Engine;

#[cfg(feature = "axum")]
mod axum_routes;
mod cache;
mod events;
mod handshake;
mod hostile;
mod installations;
mod interop;
mod limits;
mod loopback;
mod mutual_tls;
mod on_demand;
#[cfg(feature = "postgres")]
mod postgres_store;
mod providers;
mod refresh;
mod retries;
mod revocation;
mod secrets;
mod stores;
mod support;
mod tls;
