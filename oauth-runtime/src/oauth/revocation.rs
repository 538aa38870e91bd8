//! Token revocation at the provider (RFC 7009): the refresh token, then the access token,
//! each posted with the client's authentication as the token endpoint takes it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::token_endpoint::{Credentials, authenticated_post};
use super::{ClientAuth, IntegrationConfig};

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

/// Revokes `refresh_token` (if any), then `access_token`, at `url`.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    integration: &IntegrationConfig,
    url: &url::Url,
    access_token: &str,
    refresh_token: Option<&str>,
    timeout: Duration,
) -> Revocation {
    let credentials = if integration.client_auth == ClientAuth::Post
        || integration.form_credentials_learned.load(Ordering::Relaxed)
    {
        Credentials::Form
    } else {
        Credentials::Header
    };
    let tokens = refresh_token
        .map(|t| (t, "refresh_token"))
        .into_iter()
        .chain([(access_token, "access_token")]);
    for (token, hint) in tokens {
        let form = [("token", token), ("token_type_hint", hint)];
        let request = authenticated_post(http, integration, url, &form, timeout, credentials);
        let reason = match request.send().await {
            Ok(response) if response.status().is_success() => continue,
            // The status alone: a body may echo the token.
            Ok(response) => format!(
                "the revocation endpoint answered {} for the {}",
                response.status(),
                hint.replace('_', " ")
            ),
            Err(e) if e.is_timeout() => "the revocation endpoint did not answer in time".into(),
            Err(e) if e.is_connect() => "could not connect to the revocation endpoint".into(),
            Err(_) => "the connection to the revocation endpoint failed".into(),
        };
        return Revocation::Failed { reason };
    }
    Revocation::Revoked
}
