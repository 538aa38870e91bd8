//! The runtime's metrics, through the `metrics` facade: install any recorder (a Prometheus
//! exporter, say) and they are recorded; without one they cost a check each. Label values are
//! bounded: template and integration names from the app's config, status classes, outcomes;
//! never ids, users or anything a request carries.

use std::time::Duration;

use http::StatusCode;

/// Calls made, by template and `status` (`2xx`, `3xx`, `4xx`, `5xx`, or `error` when no
/// response came: a timeout, a refused value, no token).
pub const CALLS: &str = "oauth_runtime_calls_total";
/// Attempts made (retries and 401 replays included), by template.
pub const ATTEMPTS: &str = "oauth_runtime_call_attempts_total";
/// How long calls took, in seconds, by template.
pub const CALL_DURATION: &str = "oauth_runtime_call_duration_seconds";
/// Token refreshes, by integration and `outcome` (`refreshed`, `failed`, `client_rejected`,
/// `refresh_token_rejected`, `no_refresh_token`, `access_token_rejected`, `not_configured`,
/// `timed_out`).
pub const REFRESHES: &str = "oauth_runtime_refreshes_total";
/// Errors of the token store, by `kind` (`io`, `corrupt`, `unavailable`, …).
pub const STORE_ERRORS: &str = "oauth_runtime_token_store_errors_total";
/// How long a call waited for its token when it was not at hand (a store read, a refresh),
/// in seconds, by integration.
pub const TOKEN_WAIT: &str = "oauth_runtime_token_wait_seconds";

pub(crate) fn call(
    template: &'static str,
    status: Option<StatusCode>,
    attempts: u32,
    took: Duration,
) {
    let class = match status.map(|s| s.as_u16() / 100) {
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        _ => "error",
    };
    metrics::counter!(CALLS, "template" => template, "status" => class).increment(1);
    metrics::counter!(ATTEMPTS, "template" => template).increment(u64::from(attempts));
    metrics::histogram!(CALL_DURATION, "template" => template).record(took.as_secs_f64());
}

/// How many users' and named installations' keys the token manager keeps in memory (see
/// `RuntimeBuilder::token_cache`); set when idle ones are let go.
pub const CACHED_KEYS: &str = "oauth_runtime_cached_token_keys";

pub(crate) fn cached_keys(count: usize) {
    metrics::gauge!(CACHED_KEYS).set(count as f64);
}

pub(crate) fn refresh(integration: &str, outcome: &'static str) {
    metrics::counter!(REFRESHES, "integration" => integration.to_string(), "outcome" => outcome)
        .increment(1);
}

pub(crate) fn store_error(kind: &'static str) {
    metrics::counter!(STORE_ERRORS, "kind" => kind).increment(1);
}

pub(crate) fn token_wait(integration: &'static str, waited: Duration) {
    metrics::histogram!(TOKEN_WAIT, "integration" => integration).record(waited.as_secs_f64());
}
