//! Where access tokens come from. The generated code only names an integration and a subject;
//! a [`TokenSource`] turns that into a token at send time.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

mod error;
mod key;
mod set;
mod store_error;

pub use error::{ReauthorizationReason, TokenError};
pub(crate) use key::owner;
pub use key::{InstallationId, Subject, TokenKey, UserId};
pub use set::{DeadToken, TokenRecord, TokenSet};
pub use store_error::StoreError;

/// An access token. Its `Debug` is redacted; read it with [`AccessToken::secret`]. Cheap to
/// clone.
#[derive(Clone)]
pub struct AccessToken(Arc<TokenText>);

struct TokenText {
    secret: SecretString,
    /// `Bearer <token>`, made at the first request that sends it and shared by the token's
    /// clones after (the runtime's cache hands out clones): most requests send it so.
    bearer: OnceLock<Option<HeaderValue>>,
}

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(Arc::new(TokenText {
            secret: SecretString::from(token.into()),
            bearer: OnceLock::new(),
        }))
    }

    /// The token itself, for the one place that sends it.
    pub fn secret(&self) -> &str {
        self.0.secret.expose_secret()
    }

    /// The header value `Bearer <token>`, marked sensitive; `None` when the token cannot be
    /// a header value.
    pub(crate) fn bearer(&self) -> Option<HeaderValue> {
        self.0
            .bearer
            .get_or_init(|| {
                let mut value = HeaderValue::try_from(format!("Bearer {}", self.secret())).ok()?;
                value.set_sensitive(true);
                Some(value)
            })
            .clone()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

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
