//! [`TokenSet`] and [`TokenRecord`]: what a token store keeps for one key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::AccessToken;

/// The tokens an authorization server granted: the access token, the refresh token if any, when
/// the access token expires, the scopes the app asked for and those the server said it granted,
/// and the other fields of the token response. `Debug` shows no secret.
#[derive(Clone)]
pub struct TokenSet {
    access_token: AccessToken,
    refresh_token: Option<SecretString>,
    expires_at: Option<SystemTime>,
    granted_scopes: Option<Vec<String>>,
    requested_scopes: Option<Vec<String>>,
    extra: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
}

impl TokenSet {
    /// An access token with no refresh token, no known expiry and unknown scopes.
    pub fn new(access_token: impl Into<String>) -> Self {
        TokenSet {
            access_token: AccessToken::new(access_token),
            refresh_token: None,
            expires_at: None,
            granted_scopes: None,
            requested_scopes: None,
            extra: None,
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

    /// With the scopes the server said it granted (its `scope` field): kept as information.
    pub fn with_granted_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.granted_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// With the scopes the app asked for at the authorization that produced these tokens:
    /// what decides whether a new app version's scopes need the user's consent again.
    pub fn with_requested_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.requested_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// With the token response's other fields (Salesforce's `instance_url`, Slack's `team`…).
    pub fn with_extra(mut self, extra: serde_json::Map<String, serde_json::Value>) -> Self {
        self.extra = (!extra.is_empty()).then(|| Arc::new(extra));
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

    /// When the access token expires, if the server said (`None`: it does not expire, or
    /// nobody knows; it is used until the server rejects it).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The scopes the server said it granted, if it said (an empty `scope` is not saying).
    /// Providers grant subsets, drop `offline_access` and rename scopes, so this never
    /// decides anything: [`TokenSet::requested_scopes`] does.
    pub fn granted_scopes(&self) -> Option<&[String]> {
        self.granted_scopes.as_deref()
    }

    /// The scopes the app asked for when these tokens were authorized (`None` for tokens
    /// stored before this was recorded, or obtained elsewhere).
    pub fn requested_scopes(&self) -> Option<&[String]> {
        self.requested_scopes.as_deref()
    }

    /// The token response's fields other than `access_token`, `refresh_token`, `expires_in`
    /// and `scope`, as the server wrote them (empty when there were none). They may hold
    /// secrets of their own (Slack's `authed_user.access_token`): `Debug` shows their names only.
    pub fn extra(&self) -> &serde_json::Map<String, serde_json::Value> {
        static EMPTY: std::sync::OnceLock<serde_json::Map<String, serde_json::Value>> =
            std::sync::OnceLock::new();
        match &self.extra {
            Some(extra) => extra,
            None => EMPTY.get_or_init(serde_json::Map::new),
        }
    }

    /// The scopes of `wanted` that were not asked for when these tokens were authorized
    /// (none when that is not known). Scopes compare as items split on spaces and commas.
    pub fn missing_scopes(&self, wanted: &[String]) -> Vec<String> {
        let Some(requested) = &self.requested_scopes else {
            return Vec::new();
        };
        let asked: std::collections::HashSet<&str> = requested
            .iter()
            .flat_map(|s| oauth_rules::scope_items(s))
            .collect();
        wanted
            .iter()
            .flat_map(|s| oauth_rules::scope_items(s))
            .filter(|s| !asked.contains(s))
            .map(str::to_string)
            .collect()
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
            .field("granted_scopes", &self.granted_scopes)
            .field("requested_scopes", &self.requested_scopes)
            .field(
                "extra",
                &self.extra().keys().map(String::as_str).collect::<Vec<_>>(),
            )
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
    /// The authorization server rejected the refresh token as dead (`invalid_grant`, or the
    /// provider's own words for it): revoked, expired, or used twice.
    RefreshTokenRejected,
    /// The access token expired and there is no refresh token.
    NoRefreshToken,
    /// The server rejected an access token that does not expire, and there is no refresh
    /// token to get another (GitHub OAuth apps' tokens, revoked by the user). Given as a
    /// reason only, never recorded: a 401 may be about the call, not the token.
    AccessTokenRejected,
}

impl DeadToken {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeadToken::RefreshTokenRejected => "refresh_token_rejected",
            DeadToken::NoRefreshToken => "no_refresh_token",
            DeadToken::AccessTokenRejected => "access_token_rejected",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "refresh_token_rejected" => Some(DeadToken::RefreshTokenRejected),
            "no_refresh_token" => Some(DeadToken::NoRefreshToken),
            "access_token_rejected" => Some(DeadToken::AccessTokenRejected),
            _ => None,
        }
    }
}
