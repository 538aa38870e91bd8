//! [`TokenSet`] and [`TokenRecord`]: what a token store keeps for one key.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::AccessToken;

/// The tokens an authorization server granted: the access token, the refresh token if any, when
/// the access token expires and the scopes granted. `Debug` shows no secret.
#[derive(Clone)]
pub struct TokenSet {
    access_token: AccessToken,
    refresh_token: Option<SecretString>,
    expires_at: Option<SystemTime>,
    scopes: Option<Vec<String>>,
}

impl TokenSet {
    /// An access token with no refresh token, no known expiry and unknown scopes.
    pub fn new(access_token: impl Into<String>) -> Self {
        TokenSet {
            access_token: AccessToken::new(access_token),
            refresh_token: None,
            expires_at: None,
            scopes: None,
        }
    }

    /// With a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: impl Into<String>) -> Self {
        self.refresh_token = Some(SecretString::from(refresh_token.into()));
        self
    }

    /// With the moment the access token expires.
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Expiring `lifetime` from now (a lifetime past what the clock can hold: never).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_at = SystemTime::now().checked_add(lifetime);
        self
    }

    /// With the scopes the server granted.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, for the one place that sends it.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(|t| t.expose_secret())
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The scopes granted, if known.
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    /// The scopes of `wanted` that this token was not granted (none when the grant is unknown).
    pub fn missing_scopes(&self, wanted: &[String]) -> Vec<String> {
        match &self.scopes {
            Some(granted) => wanted
                .iter()
                .filter(|s| !granted.contains(s))
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    pub(crate) fn same_access_token(&self, other: &AccessToken) -> bool {
        self.access_token.secret() == other.secret()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// What a store keeps for one key: the tokens, and whether they can still be used.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The tokens.
    pub tokens: TokenSet,
    /// Set when the refresh token is dead: calls fail fast until the user authorizes again.
    pub needs_reauthorization: Option<DeadToken>,
}

impl TokenRecord {
    /// Tokens that can be used.
    pub fn active(tokens: TokenSet) -> Self {
        TokenRecord {
            tokens,
            needs_reauthorization: None,
        }
    }
}

/// Why stored tokens can no longer be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadToken {
    /// The authorization server rejected the refresh token (`invalid_grant`): revoked,
    /// expired, or used twice.
    RefreshTokenRejected,
    /// The access token expired and there is no refresh token.
    NoRefreshToken,
}

impl DeadToken {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeadToken::RefreshTokenRejected => "refresh_token_rejected",
            DeadToken::NoRefreshToken => "no_refresh_token",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "refresh_token_rejected" => Some(DeadToken::RefreshTokenRejected),
            "no_refresh_token" => Some(DeadToken::NoRefreshToken),
            _ => None,
        }
    }
}
