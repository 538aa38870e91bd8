//! Token revocation at the provider (RFC 7009): the refresh token, then the access token,
//! each posted with the client's authentication as the token endpoint takes it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::token_endpoint::{Credentials, authenticated_post};
use super::{ClientAuth, IntegrationConfig};
use crate::tokens::TokenSet;

/// What became of a key's tokens at the provider when they were forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The provider revoked them: it answered 200 for each token sent (RFC 7009 §2.2).
    Revoked,
    /// The integration has no revocation endpoint ([`IntegrationConfig::revocation_url`]),
    /// or the runtime has no configuration for it: they were deleted here only, and work at
    /// the provider until they expire or the user revokes the app there.
    NotSupported,
    /// The provider could not be asked, or refused: they were deleted here anyway, and may
    /// still work at the provider until they expire.
    Failed {
        /// What went wrong, for a person (never a token).
        reason: String,
    },
    /// There were no tokens.
    NothingStored,
}

/// Revokes the refresh tokens of `tokens`, then their access tokens, at `url`. Once every
/// refresh token is revoked, the provider invalidates the access tokens of the same grant
/// (RFC 7009 §2.1) and may refuse to revoke them again: the revocation stands.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    url: &url::Url,
    tokens: &[&TokenSet],
    timeout: Duration,
) -> Revocation {
    let credentials = if integration.client_auth == ClientAuth::Post
        || integration.form_credentials_learned.load(Ordering::Relaxed)
    {
        Credentials::Form
    } else {
        Credentials::Header
    };
    let mut refresh_tokens: Vec<&str> = tokens.iter().filter_map(|t| t.refresh_token()).collect();
    refresh_tokens.dedup();
    let mut access_tokens: Vec<&str> = tokens.iter().map(|t| t.access_token().secret()).collect();
    access_tokens.dedup();
    let post = |token: &str, hint: &'static str| {
        let form = [("token", token), ("token_type_hint", hint)];
        authenticated_post(http, integration, url, &form, timeout, credentials).send()
    };
    for token in &refresh_tokens {
        if let Err(reason) = answered(post(token, "refresh_token").await, "refresh token") {
            return Revocation::Failed { reason };
        }
    }
    for token in &access_tokens {
        if let Err(reason) = answered(post(token, "access_token").await, "access token")
            && refresh_tokens.is_empty()
        {
            return Revocation::Failed { reason };
        }
    }
    Revocation::Revoked
}

/// Whether the provider revoked the token (200, RFC 7009 §2.2), or why not: the status alone,
/// as a body may echo the token.
fn answered(sent: reqwest::Result<reqwest::Response>, what: &str) -> Result<(), String> {
    match sent {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!(
            "the revocation endpoint answered {} for the {what}",
            response.status()
        )),
        Err(e) if e.is_timeout() => Err("the revocation endpoint did not answer in time".into()),
        Err(e) if e.is_connect() => Err("could not connect to the revocation endpoint".into()),
        Err(_) => Err("the connection to the revocation endpoint failed".into()),
    }
}
