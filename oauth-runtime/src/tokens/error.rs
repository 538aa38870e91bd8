//! [`TokenError`]: why no token could be had, and [`ReauthorizationReason`]: why a user must
//! authorize again.

use std::fmt;

use super::{DeadToken, InstallationId, StoreError, Subject};

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
        /// The installation.
        installation: InstallationId,
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

    /// The runtime was built without a store or a token source, and a token is asked for.
    pub(crate) fn no_token_source() -> Self {
        TokenError::new("the runtime has no token source (see RuntimeBuilder::store or ::tokens)")
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::ReauthorizationRequired {
                integration,
                subject,
                installation,
                reason,
            } => write!(
                f,
                "{} must authorize `{integration}`{}: {reason}",
                super::key::owner(subject, installation),
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
        crate::metrics::store_error(match &error {
            StoreError::Conflict { .. } => "conflict",
            StoreError::Io { .. } => "io",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Decrypt { .. } => "decrypt",
            StoreError::Backend(_) => "backend",
        });
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
