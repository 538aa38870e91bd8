//! What the provider remembers: clients, accounts, consents, codes, tokens, tickets, faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};

use crate::profile::Profile;
use base64::Engine as _;

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) secret: String,
    pub(crate) name: String,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) account: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<String>,
    pub(crate) issued: Instant,
}

/// A grant behind an access or refresh token.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) account: String,
    pub(crate) scopes: Vec<String>,
    /// `None`: it does not expire.
    pub(crate) expires: Option<Instant>,
}

impl Grant {
    pub(crate) fn live(&self) -> bool {
        self.expires.is_none_or(|at| at > Instant::now())
    }
}

/// A ticket of the Freshservice-like API.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub(crate) id: u64,
    pub(crate) account: String,
    pub(crate) fields: serde_json::Map<String, serde_json::Value>,
}

/// What the token endpoint answers next instead of doing its job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `503 Service Unavailable`.
    ServerError,
    /// `429 Too Many Requests` with `Retry-After` in seconds.
    RateLimited(u64),
    /// `400 invalid_grant`, whatever the grant.
    InvalidGrant,
    /// The answer comes after this long (then the request is served as usual).
    Slow(Duration),
}

pub(crate) struct Settings {
    pub(crate) profile: Profile,
    pub(crate) refresh_lifetime: Duration,
    pub(crate) auto_consent: bool,
    pub(crate) require_pkce: bool,
    /// The scopes a consent grants of those asked for (`None`: all of them).
    pub(crate) grant_only: Option<Vec<String>>,
}

#[derive(Default)]
pub(crate) struct Data {
    pub(crate) clients: HashMap<String, Client>,
    pub(crate) accounts: Vec<String>,
    /// Scopes each (account, client) was granted before: shown as "already granted".
    pub(crate) consents: HashMap<(String, String), Vec<String>>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) access: HashMap<String, Grant>,
    pub(crate) refresh: HashMap<String, Grant>,
    pub(crate) tickets: Vec<Ticket>,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) token_requests: usize,
    /// Revocation requests answered.
    pub(crate) revocations: usize,
    /// Codes exchanged for tokens.
    pub(crate) redemptions: usize,
    /// Every token and code issued, to check that none leaks.
    pub(crate) issued: Vec<String>,
    /// Freshdesk-style API keys (sent as `Basic base64(key:X)`), by key: their account.
    pub(crate) api_keys: HashMap<String, String>,
}

pub(crate) struct State {
    pub(crate) settings: Mutex<Settings>,
    pub(crate) data: Mutex<Data>,
}

impl State {
    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        // Every change is a few assignments with nothing that panics in between.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A random token with a readable prefix (`fs_at_…`), 32 random bytes.
pub(crate) fn token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source works");
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}
