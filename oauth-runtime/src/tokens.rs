//! Where access tokens come from. The generated code only names an integration and a subject;
//! a [`TokenSource`] turns that into a token at send time.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use secrecy::{ExposeSecret, SecretString};

/// The end user of an `agent` integration (one token per user).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Wraps the app's own identifier for a user.
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId::new(id)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId(id)
    }
}

/// Whose token: the installation's (`account` integrations) or one user's (`agent`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// The installation: one token, authorized by an admin.
    Installation,
    /// One end user.
    User(UserId),
}

/// Which token: an integration and a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The integration's name in `oauth_config.json` (`oauth` for the legacy format).
    pub integration: String,
    /// Whose token.
    pub subject: Subject,
}

impl TokenKey {
    /// The key of an `account` integration's token.
    pub fn installation(integration: impl Into<String>) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::Installation,
        }
    }

    /// The key of one user's token of an `agent` integration.
    pub fn user(integration: impl Into<String>, user: UserId) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::User(user),
        }
    }
}

/// An access token. Its `Debug` is redacted; read it with [`AccessToken::secret`].
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(SecretString::from(token.into()))
    }

    /// The token itself, for the one place that sends it.
    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    message: String,
}

impl TokenError {
    /// A token error with a message for people. Never put a secret in it.
    pub fn new(message: impl Into<String>) -> Self {
        TokenError {
            message: message.into(),
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TokenError {}

/// The future a [`TokenSource`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenError>> + Send + 'a>>;

/// Supplies the access token for a key when a request is sent.
pub trait TokenSource: Send + Sync + 'static {
    /// The current access token for `key`.
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a>;
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

impl TokenSource for StaticTokens {
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a> {
        let token = self.tokens.get(key).cloned().ok_or_else(|| {
            TokenError::new(match &key.subject {
                Subject::Installation => {
                    "the installation has no token for this integration".to_string()
                }
                Subject::User(user) => {
                    format!("user `{}` has no token for this integration", user.as_str())
                }
            })
        });
        Box::pin(std::future::ready(token))
    }
}
