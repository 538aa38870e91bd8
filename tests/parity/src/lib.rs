//! The generated client of every fixture and accepted corpus app, each with a `call` function
//! that invokes a template by name with values given by name, for the parity test.

pub use oauth_cli::interpret::Given;
use oauth_runtime::{RequestBuilder, Runtime, SecretString, UserId};

/// A template's request at a client's first call (its fixed part composed, not kept), its
/// second (composed and kept) and its third (copied).
pub type ThreeCalls = [RequestBuilder; 3];

/// One app compared.
pub struct App {
    /// Where it came from.
    pub label: &'static str,
    /// Its `requests.json`, `oauth_config.json`, `iparams.json` and `manifest.json`.
    pub files: [Option<&'static str>; 4],
    /// The template's request from its generated method, at a client's first three calls.
    pub call: fn(Runtime, &str, &Given, &UserId) -> Option<ThreeCalls>,
}

fn required<T>(given: &Given, label: &str, read: fn(&str) -> T) -> T {
    read(given.iparams.get(label).map_or("", String::as_str))
}

fn text(value: &str) -> String {
    value.to_string()
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_string())
}

fn number(value: &str) -> f64 {
    value.parse().unwrap_or_default()
}

fn checkbox(value: &str) -> bool {
    value == "true"
}

fn multiselect(value: &str) -> Vec<String> {
    value.split(',').map(str::to_string).collect()
}

include!(concat!(env!("OUT_DIR"), "/apps.rs"));
