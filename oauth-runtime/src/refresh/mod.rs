//! [`TokenManager`]: access tokens from a [`TokenStore`](crate::TokenStore), refreshed before they expire and
//! after a 401, once per key however many tasks wait, and never lost.
//!
//! Per key there is a slot: the last record read or written (so most calls touch no store)
//! and an async lock held by whoever reads the store or refreshes. A task that finds the
//! cached token stale takes the lock, then looks again: the holder before it has usually
//! refreshed already. Across processes the store's own refresh lock plays the same part, and
//! the version check on save fences a writer that went on without it.
//!
//! By job: `token_manager` (the manager and its [`TokenSource`](crate::TokenSource) face),
//! `slot` (the per-key cache), `flow` (obtaining and refreshing a token), `save` (writing to
//! the store, and conflicts with other writers) and `handshake` (the authorization-code grant).

use crate::tokens::{ReauthorizationReason, TokenError, TokenKey};

mod flow;
mod handshake;
mod save;
mod slot;
mod slots;
mod token_manager;

pub(crate) use slots::SlotLimits;
pub(crate) use token_manager::{RefreshPolicy, TokenManager};

/// The error that sends whoever `key` names to authorize (again), for `reason`.
fn reauthorize(key: &TokenKey, reason: ReauthorizationReason) -> TokenError {
    TokenError::ReauthorizationRequired {
        integration: key.integration.to_string(),
        subject: key.subject.clone(),
        installation: key.installation.clone(),
        reason,
    }
}
