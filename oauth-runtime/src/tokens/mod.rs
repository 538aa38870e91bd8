//! Where access tokens come from. The generated code only names an integration and a subject;
//! a [`TokenSource`] turns that into a token at send time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::store::StoreError;

mod set;

pub use set::{DeadToken, TokenRecord, TokenSet};

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

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Installation => f.write_str("the installation"),
            Subject::User(user) => write!(f, "user `{}`", user.as_str()),
        }
    }
}

/// Which token: an integration and a subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenKey {
    /// The integration's name in `oauth_config.json` (`oauth` for the legacy format).
    pub integration: Cow<'static, str>,
    /// Whose token.
    pub subject: Subject,
}

impl TokenKey {
    /// The key of an `account` integration's token.
    pub fn installation(integration: impl Into<Cow<'static, str>>) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::Installation,
        }
    }

    /// The key of one user's token of an `agent` integration.
    pub fn user(integration: impl Into<Cow<'static, str>>, user: UserId) -> Self {
        TokenKey {
            integration: integration.into(),
            subject: Subject::User(user),
        }
    }
}

/// An access token. Its `Debug` is redacted; read it with [`AccessToken::secret`]. Cheap to
/// clone.
#[derive(Clone)]
pub struct AccessToken(Arc<SecretString>);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(Arc::new(SecretString::from(token.into())))
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

/// Why no token could be had. Nothing secret is ever part of it.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenError {
    /// The user (or, for an `account` integration, the admin) must authorize the app again.
    ReauthorizationRequired {
        /// The integration.
        integration: String,
        /// Whose token.
        subject: Subject,
        /// Why.
        reason: ReauthorizationReason,
    },
    /// The token store failed; no token was lost.
    Store(StoreError),
    /// The authorization server could not refresh the token (it was down, slow, or refused
    /// the client); the token is kept and the next call tries again.
    Refresh {
        /// The integration.
        integration: String,
        /// What went wrong, for a person.
        reason: String,
    },
    /// The code of an authorization could not be exchanged for tokens (the code was refused,
    /// or the client's credentials were): nothing was stored, and the user must start the
    /// authorization again once the cause is fixed.
    Exchange {
        /// The integration.
        integration: String,
        /// What went wrong, for a person.
        reason: String,
    },
    /// The token endpoint refused the client's own credentials (`invalid_client` and the
    /// like): the integration's client id or secret is wrong. The token is kept: fixing the
    /// credentials makes it work again.
    ClientRejected {
        /// The integration.
        integration: String,
        /// The provider's answer, for a person.
        reason: String,
    },
    /// The server rejected the token and there is no better one to try (it was refreshed
    /// moments ago, or cannot be refreshed and has not expired): the 401 is the answer.
    NotRenewed {
        /// The integration.
        integration: String,
    },
    /// Anything else, as a sentence (the runtime has no token source, a custom source failed…).
    Other(String),
}

impl TokenError {
    /// A token error with a message for people. Never put a secret in it.
    pub fn new(message: impl Into<String>) -> Self {
        TokenError::Other(message.into())
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::ReauthorizationRequired {
                integration,
                subject,
                reason,
            } => write!(
                f,
                "{subject} must authorize `{integration}`{}: {reason}",
                reason.again()
            ),
            TokenError::Store(error) => write!(f, "the token store failed: {error}"),
            TokenError::Refresh {
                integration,
                reason,
            } => write!(
                f,
                "the `{integration}` token could not be refreshed: {reason}"
            ),
            TokenError::Exchange {
                integration,
                reason,
            } => write!(f, "the code exchange for `{integration}` failed: {reason}"),
            TokenError::ClientRejected {
                integration,
                reason,
            } => write!(
                f,
                "the token endpoint of `{integration}` refused the app's client credentials ({reason}): \
                 check the integration's client id and client secret"
            ),
            TokenError::NotRenewed { integration } => write!(
                f,
                "the server rejected the `{integration}` token and there is no newer one"
            ),
            TokenError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        TokenError::Store(error)
    }
}

/// Why a user must authorize again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReauthorizationReason {
    /// No token was ever stored for this key: the app was never authorized.
    NotAuthorized,
    /// The stored tokens are dead.
    Dead(DeadToken),
    /// The app now asks for scopes that were not asked for when the stored token was
    /// authorized (a new app version added them); the user must consent to these.
    MissingScopes(Vec<String>),
}

impl ReauthorizationReason {
    /// `" again"`, unless the app was never authorized.
    pub(crate) fn again(&self) -> &'static str {
        match self {
            ReauthorizationReason::NotAuthorized => "",
            _ => " again",
        }
    }
}

impl fmt::Display for ReauthorizationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReauthorizationReason::NotAuthorized => f.write_str("the app was never authorized"),
            ReauthorizationReason::Dead(DeadToken::RefreshTokenRejected) => {
                f.write_str("the authorization server rejected the refresh token")
            }
            ReauthorizationReason::Dead(DeadToken::NoRefreshToken) => {
                f.write_str("the access token expired and there is no refresh token")
            }
            ReauthorizationReason::Dead(DeadToken::AccessTokenRejected) => f.write_str(
                "the provider refused an access token that does not expire, and there is no refresh token",
            ),
            ReauthorizationReason::MissingScopes(scopes) => write!(
                f,
                "the app now asks for scopes the user has not consented to: {}",
                scopes.join(" ")
            ),
        }
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
