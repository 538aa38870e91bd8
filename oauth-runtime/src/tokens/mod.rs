//! Where access tokens come from. The generated code only names an integration and a subject;
//! a [`TokenSource`] turns that into a token at send time.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

mod access;
mod error;
mod key;
mod set;
mod store_error;

pub use access::AccessToken;
pub(crate) use access::{BEARER, ReadyToken, secret_header_value};
pub use error::{ReauthorizationReason, TokenError};
pub use key::{InstallationId, Subject, TokenKey, UserId};
pub(crate) use key::{KeyRef, owner};
pub use set::{DeadToken, TokenRecord, TokenSet};
pub use store_error::StoreError;

/// The future a [`TokenSource`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenError>> + Send + 'a>>;

/// Supplies the access token for a key when a request is sent.
pub trait TokenSource: Send + Sync + 'static {
    /// The current access token for `key`.
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a>;

    /// The token for `key` if it can be had at once, without waiting (a cached, valid token):
    /// the hot path of every call. `None` sends the caller to [`TokenSource::access_token`].
    fn ready_token(&self, key: &TokenKey) -> Option<Result<AccessToken, TokenError>> {
        let _ = key;
        None
    }

    /// Whether [`TokenSource::rejected`] can give a new token. When it cannot (the
    /// default), a 401 is returned to the caller as it is.
    fn can_renew(&self) -> bool {
        false
    }

    /// The server answered 401 to `rejected`: a new token to replay the request with once.
    /// Called only when [`TokenSource::can_renew`] says so.
    fn rejected<'a>(&'a self, key: &'a TokenKey, rejected: &'a AccessToken) -> TokenFuture<'a> {
        let _ = rejected;
        Box::pin(std::future::ready(Err(TokenError::new(format!(
            "the `{}` token was rejected and this token source cannot renew it",
            key.integration
        )))))
    }
}

/// Tokens you already hold, by key: for tests and for tokens obtained elsewhere.
#[derive(Default)]
pub struct StaticTokens {
    tokens: HashMap<TokenKey, AccessToken>,
}

impl StaticTokens {
    /// No tokens.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the token for `key`.
    pub fn with(mut self, key: TokenKey, token: impl Into<String>) -> Self {
        self.tokens.insert(key, AccessToken::new(token));
        self
    }
}

impl fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.tokens.keys()).finish()
    }
}

impl StaticTokens {
    fn token(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        self.tokens
            .get(key)
            .cloned()
            .ok_or_else(|| TokenError::ReauthorizationRequired {
                integration: key.integration.to_string(),
                subject: key.subject.clone(),
                installation: key.installation.clone(),
                reason: ReauthorizationReason::NotAuthorized,
            })
    }
}

impl TokenSource for StaticTokens {
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a> {
        Box::pin(std::future::ready(self.token(key)))
    }

    fn ready_token(&self, key: &TokenKey) -> Option<Result<AccessToken, TokenError>> {
        Some(self.token(key))
    }
}
