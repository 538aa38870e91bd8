//! Runnable example apps, each with its own `config/` folder; the `examples` targets of this
//! package run them, and the tests check what they print.

pub mod asana_workspaces;
pub mod axum_server;
pub mod freshdesk_api_key;
pub mod freshservice_tickets;
pub mod multi_oauth;
pub mod multi_tenant;
pub mod quickstart;
pub mod support;
