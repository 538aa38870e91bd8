//! Obtaining a token under its slot's lock: the cache, then the store, then a refresh at the
//! token endpoint (in a task of its own, so that no rotated refresh token is lost), all
//! within the policy's `token_wait`; and the renewal after a 401.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::Instrument as _;

use super::slot::{Busy, CachedTokens, FailedRefresh, Slot};
use super::{TokenManager, reauthorize};
use crate::events::{RefreshFailure, TokenEvent};
use crate::oauth::IntegrationConfig;
use crate::oauth::token_endpoint::{self, Resend};
use crate::oauth::token_response::{Failure, Granted};
use crate::store::{RefreshLock, Versioned};
use crate::tokens::{
    AccessToken, DeadToken, ReauthorizationReason, Subject, TokenError, TokenKey, TokenRecord,
    TokenSet,
};

/// The locks a refresh holds: its slot's (this process) and the store's (other processes).
struct Held {
    _busy: Busy,
    _refresh: RefreshLock,
}

/// A 401 this soon after this process refreshed the token is not answered with another refresh.
const RECENT: Duration = Duration::from_secs(30);

/// Whether the access token's expiry has passed.
fn is_expired(tokens: &TokenSet) -> bool {
    tokens
        .expires_at()
        .is_some_and(|at| SystemTime::now() >= at)
}

/// Whether the stored token can still be sent: not rejected by the server, not expired.
fn still_valid(current: &Versioned, rejected: Option<&AccessToken>) -> bool {
    rejected.is_none() && !is_expired(&current.record.tokens)
}

/// What became of the access token `seen` in a slot's `cached` tokens, read while the slot is
/// held ([`Busy`]): replaced (and saved) by someone else, or refreshed by this process moments
/// ago.
fn since_seen(cached: &CachedTokens, seen: &AccessToken) -> (bool, bool) {
    match cached.get() {
        Some(c) => {
            let same = c.access_token.secret() == seen.secret();
            (
                c.unsaved().is_none() && !same,
                same && c.refreshed_within(RECENT),
            )
        }
        None => (false, false),
    }
}

impl TokenManager {
    /// The refresh's outcome, on its span and as a metric (labelled with the integration's
    /// name when it is configured, else `other`, so label values stay the config's).
    fn record_outcome(&self, key: &TokenKey, outcome: &'static str) {
        tracing::Span::current().record("outcome", outcome);
        let configured = self
            .integrations
            .get(&key.installation, key.integration.as_ref());
        let integration = configured.as_ref().map_or("other", |c| c.name.as_str());
        crate::metrics::refresh(integration, outcome);
    }

    /// The token of `key`: the cached one while fresh, else one obtained under the slot's lock.
    pub(super) async fn access_token(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        let slot = self.slot(key);
        if let Some(token) = self.fresh(&slot) {
            return token;
        }
        self.in_time(key, async {
            let busy = slot.hold().await;
            // Whoever held the lock before may have refreshed already.
            if let Some(token) = self.fresh(&slot) {
                return token;
            }
            self.obtain(key, &slot, None, busy).await
        })
        .await
    }

    /// Refreshes `key`'s token now, under the lock the templates' refreshes take: callers
    /// waiting meanwhile get the new token, and a refresh made by someone else after this was
    /// asked counts as this one.
    pub(crate) async fn refresh_now(&self, key: &TokenKey) -> Result<AccessToken, TokenError> {
        let slot = self.slot(key);
        self.in_time(key, async {
            self.integrations.load(&key.installation).await?;
            // The token as it is when asked: a refresh made after this counts as this one.
            // Only read: its tokens change while the slot is held alone (`Busy`).
            let cached = self.with_tokens(&slot, |c| c.get().map(|c| c.access_token.clone()));
            let seen = match cached {
                Some(token) => token,
                None => match self.store.load(key).await? {
                    Some(stored) => stored.record.tokens.access_token().clone(),
                    None => return Err(reauthorize(key, ReauthorizationReason::NotAuthorized)),
                },
            };
            let busy = slot.hold().await;
            if self.with_tokens(&slot, |c| since_seen(c, &seen).0)
                && let Some(token) = self.fresh(&slot)
            {
                return token;
            }
            // Tokens a refresh obtained and could not save are saved first: they are the
            // newest, and redeeming the refresh token they replaced would kill the grant.
            if let Some(token) = self.save_unsaved(key, &slot).await? {
                return Ok(token);
            }
            let current = self.load(key, &slot).await?;
            if current.record.tokens.refresh_token().is_none() {
                return Err(TokenError::Refresh {
                    integration: key.integration.to_string(),
                    reason: "it has no refresh token: only a new authorization renews it"
                        .to_string(),
                });
            }
            self.obtain(key, &slot, Some(&seen), busy).await
        })
        .await
    }

    /// Refreshes the stored tokens that are due, each on the single-flight path; tokens that
    /// need a new authorization, or whose refresh fails, are left for the calls to report.
    pub(crate) async fn refresh_due(&self) {
        let keys = match self.store.keys().await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(error = %error, "background refresh: the token store cannot be listed");
                return;
            }
        };
        for key in keys {
            if let Err(error) = self.access_token(&key).await {
                tracing::debug!(installation = key.installation.as_str(), integration = %key.integration, error = %error, "background refresh left a key as it is");
            }
        }
    }

    /// `acquiring`, given up after the policy's `token_wait`. Giving up loses nothing: a
    /// token request under way goes on in its own task and leaves its tokens to be saved.
    async fn in_time(
        &self,
        key: &TokenKey,
        acquiring: impl Future<Output = Result<AccessToken, TokenError>>,
    ) -> Result<AccessToken, TokenError> {
        match tokio::time::timeout(self.policy.token_wait, acquiring).await {
            Ok(result) => result,
            Err(_) => {
                self.record_outcome(key, "timed_out");
                Err(TokenError::Refresh {
                    integration: key.integration.to_string(),
                    reason: format!(
                        "no token within {} ms (the token endpoint, the token store or another \
                         process's refresh is slow); a refresh under way goes on and is saved",
                        self.policy.token_wait.as_millis()
                    ),
                })
            }
        }
    }

    /// After a 401 on `rejected`: its replacement, within the policy's `token_wait`.
    pub(super) async fn rejected(
        &self,
        key: &TokenKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let slot = self.slot(key);
        self.in_time(key, self.renew(key, &slot, rejected)).await
    }

    /// After a 401 on `rejected`: its replacement, under the slot's lock.
    async fn renew(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let busy = slot.hold().await;
        let (replaced, just_refreshed) = self.with_tokens(slot, |c| since_seen(c, rejected));
        if replaced && let Some(token) = self.fresh(slot) {
            return token;
        }
        if just_refreshed {
            return Err(TokenError::NotRenewed {
                integration: key.integration.to_string(),
            });
        }
        self.obtain(key, slot, Some(rejected), busy).await
    }

    /// Under the slot's lock: the freshest usable token, refreshing when it must.
    async fn obtain(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        rejected: Option<&AccessToken>,
        busy: Busy,
    ) -> Result<AccessToken, TokenError> {
        // A named installation's integrations, from the app's source, before anything needs
        // them (the scopes checked on reading, the token URL of a refresh).
        self.integrations.load(&key.installation).await?;
        if let Some(token) = self.save_unsaved(key, slot).await? {
            return Ok(token);
        }
        let current = self.load(key, slot).await?;
        if let Some(token) = self.usable(slot, &current, rejected) {
            return token;
        }
        if let Some(failed) = self.with_tokens(slot, |c| c.backing_off()) {
            // The last attempt failed moments ago: its answer stands for everyone waiting.
            if still_valid(&current, rejected) {
                return self.checked(key, &current.record.tokens);
            }
            return Err(failed.error(key));
        }
        let refresh_lock = self.store.lock_refresh(key, self.policy.lock_wait).await?;
        // Another process may have refreshed while we waited for its lock.
        let current = self.load(key, slot).await?;
        if let Some(token) = self.usable(slot, &current, rejected) {
            return token;
        }
        let held = Held {
            _busy: busy,
            _refresh: refresh_lock,
        };
        let span = tracing::info_span!(
            "oauth_runtime.refresh",
            installation = key.installation.as_str(), integration = %key.integration,
            subject = subject_kind(&key.subject),
            outcome = tracing::field::Empty,
        );
        self.refresh(key, slot, current, rejected, held)
            .instrument(span)
            .await
    }

    /// Reads the store into the slot; an absent or dead record is the caller's error.
    pub(super) async fn load(&self, key: &TokenKey, slot: &Slot) -> Result<Versioned, TokenError> {
        let Some(current) = self.store.load(key).await? else {
            self.with_tokens(slot, CachedTokens::clear);
            return Err(reauthorize(key, ReauthorizationReason::NotAuthorized));
        };
        let dead = current.record.needs_reauthorization;
        self.remember(key, slot, current.clone());
        self.tell_missing_scopes(key, slot).await;
        match dead {
            Some(dead) => Err(reauthorize(key, ReauthorizationReason::Dead(dead))),
            None => Ok(current),
        }
    }

    /// The stored access token (just remembered in `slot`), if it can be used without a
    /// refresh: the server has not rejected it and its refresh time has not come.
    fn usable(
        &self,
        slot: &Slot,
        current: &Versioned,
        rejected: Option<&AccessToken>,
    ) -> Option<Result<AccessToken, TokenError>> {
        if rejected.is_some_and(|r| current.record.tokens.same_access_token(r)) {
            return None;
        }
        self.fresh(slot)
    }

    async fn refresh(
        &self,
        key: &TokenKey,
        slot: &Arc<Slot>,
        current: Versioned,
        rejected: Option<&AccessToken>,
        held: Held,
    ) -> Result<AccessToken, TokenError> {
        let tokens = &current.record.tokens;
        let still_valid = still_valid(&current, rejected);
        let Some(refresh_token) = tokens.refresh_token() else {
            if still_valid {
                return self.checked(key, tokens);
            }
            if tokens.expires_at().is_none() {
                // A token that does not expire, rejected, with nothing to renew it: most likely
                // revoked (GitHub OAuth apps' tokens live until the user revokes them). Not
                // marked dead in the store: a 401 may also be about the call (a header the
                // template writes wrong), and the token may still be good.
                self.record_outcome(key, "access_token_rejected");
                let reason = ReauthorizationReason::Dead(DeadToken::AccessTokenRejected);
                // Not marked in the store (see above), so told once per stored version, not at
                // every call's 401.
                if slot.first_rejection(current.version) {
                    self.emit_reauthorization(key, reason.clone()).await;
                }
                return Err(reauthorize(key, reason));
            }
            if !is_expired(tokens) {
                // A 401 on an unexpired token without a refresh token may be about the call
                // (a scope it lacks): return it, and leave the token as it is.
                return Err(TokenError::NotRenewed {
                    integration: key.integration.to_string(),
                });
            }
            self.record_outcome(key, "no_refresh_token");
            return self
                .mark_dead(key, slot, current, DeadToken::NoRefreshToken)
                .await;
        };
        let Some(integration) = self
            .integrations
            .get(&key.installation, key.integration.as_ref())
        else {
            self.record_outcome(key, "not_configured");
            return Err(TokenError::Refresh {
                integration: key.integration.to_string(),
                reason: "the runtime has no IntegrationConfig for it, so it cannot refresh"
                    .to_string(),
            });
        };
        let (_held, granted) = self
            .redeem(slot, &current, &integration, refresh_token, held)
            .await;
        match granted {
            Ok(record) => {
                self.record_outcome(key, "refreshed");
                self.save(key, slot, record, current).await
            }
            Err(Failure::GrantRejected) => {
                self.record_outcome(key, "refresh_token_rejected");
                self.mark_dead(key, slot, current, DeadToken::RefreshTokenRejected)
                    .await
            }
            Err(Failure::ClientRejected(reason) | Failure::ClientAuthRefused(reason)) => {
                self.record_outcome(key, "client_rejected");
                let failed = FailedRefresh {
                    reason,
                    client_rejected: true,
                };
                self.refresh_failed(key, slot, tokens, still_valid, failed)
            }
            Err(Failure::Refused(reason) | Failure::Transient(reason)) => {
                self.record_outcome(key, "failed");
                let failed = FailedRefresh {
                    reason,
                    client_rejected: false,
                };
                self.refresh_failed(key, slot, tokens, still_valid, failed)
            }
        }
    }

    /// Redeems `refresh_token` in a task of its own, which holds the locks until it has left
    /// the new tokens in the slot to be saved: a caller that stops waiting (its timeout, a
    /// dropped request) loses no rotated refresh token, and no one redeems the old one
    /// meanwhile. The locks come back with the answer (none if the task panicked).
    async fn redeem(
        &self,
        slot: &Arc<Slot>,
        current: &Versioned,
        integration: &IntegrationConfig,
        refresh_token: &str,
        held: Held,
    ) -> (Option<Held>, Result<TokenRecord, Failure>) {
        let http = self.http.clone();
        let integration = integration.clone();
        let refresh_token = refresh_token.to_string();
        let policy = self.policy;
        let slot = slot.clone();
        let slots = self.slots.clone();
        let current = current.clone();
        let task = tokio::spawn(
            async move {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.as_str()),
                ];
                let granted = token_endpoint::request(
                    &http,
                    &integration,
                    &form,
                    policy.timeout,
                    policy.max_retry_wait,
                    Resend::Allowed,
                )
                .await;
                let record = granted
                    .map(|granted| TokenRecord::active(renewed(&current.record.tokens, granted)));
                if let Ok(record) = &record {
                    slots.with_tokens(&slot, |c| c.keep_unsaved(current, record.clone()));
                }
                (Some(held), record)
            }
            .in_current_span(),
        );
        task.await.unwrap_or_else(|_| {
            (
                None,
                Err(Failure::Transient(
                    "the token request's task ended without an answer".to_string(),
                )),
            )
        })
    }

    /// A refresh that failed without killing the token: backs off, and uses the current token
    /// while it is still valid. The token is kept either way.
    fn refresh_failed(
        &self,
        key: &TokenKey,
        slot: &Slot,
        tokens: &TokenSet,
        still_valid: bool,
        failed: FailedRefresh,
    ) -> Result<AccessToken, TokenError> {
        let error = failed.error(key);
        let failure = if failed.client_rejected {
            RefreshFailure::ClientRejected
        } else {
            RefreshFailure::Transient
        };
        slot.refresh_failed();
        self.emit(|| TokenEvent::RefreshFailed {
            key: key.clone(),
            failure,
        });
        self.with_tokens(slot, |c| c.back_off(self.policy.backoff, failed));
        if still_valid {
            // Refreshing early failed; the token itself still works.
            tracing::warn!(reason = %error, "early refresh failed; using the current token");
            return self.checked(key, tokens);
        }
        Err(error)
    }
}

/// The new tokens: a response without a refresh token keeps the old one (RFC 6749 §6),
/// without `scope` keeps the scopes granted before, and without other fields keeps the old
/// ones; the scopes asked for are those of the authorization, which a refresh does not change.
fn renewed(old: &TokenSet, granted: Granted) -> TokenSet {
    let mut tokens = TokenSet::new(granted.access_token);
    if let Some(refresh) = granted.refresh_token.as_deref().or(old.refresh_token()) {
        tokens = tokens.with_refresh_token(refresh);
    }
    if let Some(lifetime) = granted.expires_in {
        tokens = tokens.expires_in(lifetime);
    }
    if let Some(requested) = old.requested_scopes() {
        tokens = tokens.with_requested_scopes(requested.iter().cloned());
    }
    tokens = match granted.scopes {
        Some(scopes) => tokens.with_granted_scopes(scopes),
        None => match old.granted_scopes() {
            Some(scopes) => tokens.with_granted_scopes(scopes.iter().cloned()),
            None => tokens,
        },
    };
    if granted.extra.is_empty() {
        tokens.with_extra(old.extra().clone())
    } else {
        tokens.with_extra(granted.extra)
    }
}

fn subject_kind(subject: &Subject) -> &'static str {
    match subject {
        Subject::Installation => "installation",
        Subject::User(_) => "user",
    }
}
