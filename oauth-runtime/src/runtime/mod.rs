//! [`Runtime`]: the HTTP client and settings shared by every generated client, and handles
//! on its installations; [`RuntimeBuilder`] (in `builder`) configures it.

mod builder;

pub use builder::{BuildError, RuntimeBuilder};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::oauth::Revocation;
use crate::oauth::authorize::{
    AuthorizationRequest, AuthorizeError, Callback, CallbackError, CallbackOutcome,
};
use crate::refresh::TokenManager;
use crate::request::Shared;
use crate::store::TokenStore;
use crate::tokens::{AccessToken, InstallationId, Subject, TokenError, TokenKey, TokenSet, UserId};

/// The background refresh started by [`Runtime::refresh_in_background`]; dropping it stops
/// it.
#[derive(Debug)]
pub struct BackgroundRefresh {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BackgroundRefresh {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The HTTP client, limits and token source shared by generated clients. Cheap to clone.
///
/// A runtime is a handle on one installation of the app: the default one, or the one
/// [`Runtime::installation`] names. Handles of one runtime share everything but the
/// installation (HTTP connections, token manager, store, caches), so a handle, and a
/// generated client made from it, costs nothing to make per request.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    /// Whose tokens the templates' calls send and authorizations store.
    pub(crate) installation: InstallationId,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("timeout", &self.shared.timeout)
            .field("max_response_bytes", &self.shared.max_response_bytes)
            .field("allow_insecure_http", &self.shared.allow_insecure_http)
            .field("max_retry_wait", &self.shared.max_retry_wait)
            .field("tokens", &self.shared.tokens.as_ref().map(|_| "configured"))
            .field("installation", &self.installation)
            .finish()
    }
}

impl Runtime {
    /// Settings start at FDK's defaults: 15 s timeout, 6 MiB responses, https only (plain http
    /// to loopback is allowed, for local testing).
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// A handle on `installation` sharing this runtime: the templates' calls of a client made
    /// from it send that installation's tokens, its authorizations store tokens for it,
    /// [`Runtime::uninstall`] deletes only its tokens, and the methods taking a [`TokenKey`]
    /// read a key of the default installation as this one's.
    pub fn installation(&self, installation: impl Into<InstallationId>) -> Runtime {
        Runtime {
            shared: self.shared.clone(),
            installation: installation.into(),
        }
    }

    /// `key` as this handle reads it: a key of the default installation (as
    /// `TokenKey::installation` and `TokenKey::user` make) is this handle's installation's;
    /// a key naming an installation is that one's.
    fn own<'k>(&self, key: &'k TokenKey) -> std::borrow::Cow<'k, TokenKey> {
        if key.installation.is_default() && !self.installation.is_default() {
            std::borrow::Cow::Owned(key.clone().in_installation(self.installation.clone()))
        } else {
            std::borrow::Cow::Borrowed(key)
        }
    }

    /// The installation this handle is on.
    pub fn installation_id(&self) -> &InstallationId {
        &self.installation
    }

    /// Stores `tokens` for `key` (after an authorization, or tokens obtained elsewhere),
    /// replacing what was stored. Needs a runtime built with [`RuntimeBuilder::store`].
    pub async fn save_tokens(&self, key: &TokenKey, tokens: TokenSet) -> Result<(), TokenError> {
        let key = &*self.own(key);
        self.manager()?.put(key, tokens).await?;
        self.shared.cache.forget(key);
        Ok(())
    }

    /// A valid access token of `key`, for code outside the templates (a provider's SDK, a
    /// webhook check): the cached one while fresh, else refreshed, on the same single-flight
    /// path the templates' calls take.
    pub async fn access_token(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        let key = &*self.own(key);
        let source = self
            .shared
            .tokens
            .as_deref()
            .ok_or_else(TokenError::no_token_source)?;
        source.access_token(key).await
    }

    /// Refreshes `key`'s token now, whether or not it is due (after changing its scopes at
    /// the provider, say), and returns the new access token. Concurrent calls and template
    /// calls share the one refresh. A token without a refresh token is an error, left as it
    /// is. Needs a runtime built with [`RuntimeBuilder::store`].
    pub async fn refresh_now(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        self.manager()?.refresh_now(&self.own(key)).await
    }

    /// Deletes the tokens of `key` (sign-out); true if there were any. They are revoked at
    /// the provider first when the integration has a revocation endpoint (see
    /// [`Runtime::revoke_tokens`] for what the provider said).
    pub async fn forget_tokens(&self, key: &TokenKey) -> Result<bool, TokenError> {
        let key = &*self.own(key);
        let forgotten = self.manager()?.forget(key).await;
        self.shared.cache.forget(key);
        forgotten
    }

    /// Revokes the tokens of `key` at the provider (RFC 7009: the refresh token, then the
    /// access token) when the integration has a revocation endpoint
    /// ([`IntegrationConfig::revocation_url`](crate::IntegrationConfig::revocation_url)), then deletes them here, even when the provider
    /// could not be asked. Says what the provider answered.
    pub async fn revoke_tokens(&self, key: &TokenKey) -> Result<Revocation, TokenError> {
        let key = &*self.own(key);
        let revoked = self.manager()?.revoke(key).await;
        self.shared.cache.forget(key);
        revoked
    }

    /// Starts an authorization of `integration` for `subject` (the installation for an
    /// `account` integration, a user for an `agent` one): the URL to send them to.
    pub async fn authorize(
        &self,
        integration: &str,
        subject: Subject,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        self.shared
            .manager
            .as_deref()
            .ok_or(AuthorizeError::NoStore)?
            .authorize(&self.installation, integration, subject)
            .await
    }

    /// Forgets the integrations the app's [`IntegrationSource`](crate::IntegrationSource) gave for this handle's
    /// installation: the source is asked again at the next need (after a reinstall, or a
    /// change of the installation's `oauth_iparams`).
    pub fn forget_integrations(&self) {
        if let Some(manager) = self.shared.manager.as_deref() {
            manager.integrations.forget(&self.installation);
        }
    }

    /// Completes an authorization from its callback to `integration`'s redirect URI (for an
    /// `agent` integration, the signed-in `user`): checks the `state`, exchanges the code and
    /// stores the tokens. The user's Cancel is [`CallbackOutcome::Denied`].
    ///
    /// A named installation's handle completes only that installation's authorizations
    /// ([`CallbackError::WrongInstallation`] otherwise); the default handle completes any,
    /// for the installation that started it (a callback route serving every installation,
    /// whose cookie binds the state to the browser).
    pub async fn complete_authorization(
        &self,
        integration: &str,
        user: Option<&UserId>,
        callback: &Callback,
    ) -> Result<CallbackOutcome, CallbackError> {
        match self.shared.manager.as_deref() {
            Some(manager) => {
                // A named installation's handle completes only its own authorizations; the
                // default handle (a callback route serving every installation) any, the
                // `state` saying whose.
                let only = (!self.installation.is_default()).then_some(&self.installation);
                let outcome = manager.complete(integration, user, only, callback).await;
                if let Ok(CallbackOutcome::Authorized {
                    subject,
                    installation,
                    ..
                }) = &outcome
                {
                    self.shared.cache.forget(&TokenKey {
                        installation: installation.clone(),
                        integration: integration.to_string().into(),
                        subject: subject.clone(),
                    });
                }
                outcome
            }
            None => Err(CallbackError::Exchange {
                integration: integration.to_string(),
                source: TokenError::new(
                    "the runtime has no token store (see RuntimeBuilder::store)",
                ),
            }),
        }
    }

    /// Refreshes stored tokens in the background, every `every`, as they come due, so that
    /// they are fresh before a call needs them and a provider that expires refresh tokens
    /// left unused (some do after days or weeks) does not log out an idle installation or
    /// user. Off unless asked for; the task stops when the returned handle is dropped or the
    /// runtime is. Each key goes through the templates' single-flight path, so a call and the
    /// background never refresh the same token twice. Must be called within a Tokio runtime.
    pub fn refresh_in_background(&self, every: Duration) -> Result<BackgroundRefresh, TokenError> {
        let manager = Arc::downgrade(self.shared.manager.as_ref().ok_or_else(|| {
            TokenError::new("the runtime has no token store (see RuntimeBuilder::store)")
        })?);
        if every.is_zero() {
            return Err(TokenError::new(
                "the background refresh needs an interval above zero",
            ));
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            TokenError::new("the background refresh runs on Tokio: call it within a Tokio runtime")
        })?;
        let task = handle.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(manager) = manager.upgrade() else {
                    return;
                };
                manager.refresh_due().await;
            }
        });
        Ok(BackgroundRefresh { task })
    }

    /// Uninstall: deletes every token of this handle's installation, its own and its
    /// users', each revoked at the provider first when its integration has a revocation
    /// endpoint, and the response cache's answers given to it. Other installations' tokens
    /// and answers stay. Returns how many tokens were deleted.
    pub async fn uninstall(&self) -> Result<usize, TokenError> {
        let uninstalled = self.manager()?.uninstall(&self.installation).await;
        self.shared.cache.forget_installation(&self.installation);
        uninstalled
    }

    /// The token store, if the runtime was built with one.
    pub fn store(&self) -> Option<&Arc<dyn TokenStore>> {
        self.shared.manager.as_ref().map(|m| m.store())
    }

    fn manager(&self) -> Result<&TokenManager, TokenError> {
        self.shared.manager.as_deref().ok_or_else(|| {
            TokenError::new("the runtime has no token store (see RuntimeBuilder::store)")
        })
    }
}
