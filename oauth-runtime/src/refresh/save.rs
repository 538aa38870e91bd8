//! Writing to the store: refreshed tokens saved before anyone uses them (kept in memory when
//! the store fails), conflicts with other writers settled, dead tokens marked, and the tokens
//! of an authorization stored or deleted.

use super::slot::{Cached, CachedTokens, Obtained, Slot};
use super::{TokenManager, reauthorize};
use crate::events::TokenEvent;
use crate::oauth::Revocation;
use crate::oauth::revocation;
use crate::store::{StoreError, Versioned};
use crate::tokens::{
    AccessToken, DeadToken, ReauthorizationReason, TokenError, TokenKey, TokenRecord, TokenSet,
};

/// Saves that meet a newer record (a dead mark, another writer) before giving up.
const MAX_CONFLICTS: usize = 3;

impl TokenManager {
    /// Saves refreshed tokens before anyone uses them. If the store fails they are kept in
    /// memory and saved by the next call, never dropped: a rotated refresh token may be the
    /// only one left.
    pub(super) async fn save(
        &self,
        key: &TokenKey,
        slot: &Slot,
        record: TokenRecord,
        current: Versioned,
    ) -> Result<AccessToken, TokenError> {
        let redeemed = current.record.tokens.refresh_token().map(str::to_string);
        let mut expected = current.version;
        for _ in 0..MAX_CONFLICTS {
            match self.store.save(key, &record, Some(expected)).await {
                Ok(version) => {
                    let token = self.checked(key, &record.tokens);
                    self.remember_as(
                        key,
                        slot,
                        Versioned { record, version },
                        Obtained::Refreshed,
                    );
                    // Told here, once saved: a refresh saved later (its first save failed,
                    // or its caller stopped waiting) is told when it is.
                    self.emit(|| TokenEvent::Refreshed { key: key.clone() });
                    if slot.recovered() {
                        self.emit(|| TokenEvent::Recovered { key: key.clone() });
                    }
                    return token;
                }
                Err(StoreError::Conflict { .. }) => {
                    let Some(newer) = self.store.load(key).await? else {
                        // Deleted meanwhile (uninstalled): not brought back.
                        self.with_tokens(slot, CachedTokens::clear);
                        return Err(reauthorize(key, ReauthorizationReason::NotAuthorized));
                    };
                    let ours_are_newer = newer.record.needs_reauthorization.is_some()
                        || newer.record.tokens.refresh_token() == redeemed.as_deref();
                    if !ours_are_newer {
                        // Someone obtained other tokens meanwhile (a new authorization, or a
                        // refresh of their own): theirs win.
                        let token = self.checked(key, &newer.record.tokens);
                        self.remember(key, slot, newer);
                        return token;
                    }
                    // Theirs is a dead mark, or tokens from before our refresh: ours, which
                    // may hold the only live refresh token, go on top.
                    expected = newer.version;
                }
                Err(error) => {
                    tracing::error!(error = %error, "refreshed tokens could not be saved; keeping them in memory");
                    self.with_tokens(slot, |c| c.keep_unsaved(current, record));
                    return Err(error.into());
                }
            }
        }
        Err(StoreError::Conflict {
            integration: key.integration.to_string(),
        }
        .into())
    }

    pub(super) async fn save_unsaved(
        &self,
        key: &TokenKey,
        slot: &Slot,
    ) -> Result<Option<AccessToken>, TokenError> {
        let pending = self.with_tokens(slot, |cached| {
            (cached.get().and_then(Cached::unsaved))
                .map(|unsaved| (unsaved.current.clone(), unsaved.record.clone()))
        });
        match pending {
            Some((current, record)) => self.save(key, slot, record, current).await.map(Some),
            None => Ok(None),
        }
    }

    pub(super) async fn mark_dead(
        &self,
        key: &TokenKey,
        slot: &Slot,
        current: Versioned,
        dead: DeadToken,
    ) -> Result<AccessToken, TokenError> {
        let record = TokenRecord {
            tokens: current.record.tokens.clone(),
            needs_reauthorization: Some(dead),
        };
        match self.store.save(key, &record, Some(current.version)).await {
            Ok(version) => self.remember(key, slot, Versioned { record, version }),
            // Newer tokens arrived meanwhile (a reauthorization): use those.
            Err(StoreError::Conflict { .. }) => {
                let newer = self.load(key, slot).await?;
                return self.checked(key, &newer.record.tokens);
            }
            // The mark is an optimisation: the dead token stays dead without it.
            Err(error) => tracing::warn!(error = %error, "could not record that the token is dead"),
        }
        self.emit_reauthorization(key, ReauthorizationReason::Dead(dead))
            .await;
        Err(reauthorize(key, ReauthorizationReason::Dead(dead)))
    }

    /// Stores tokens obtained by an authorization, replacing whatever was there.
    pub(crate) async fn put(&self, key: &TokenKey, tokens: TokenSet) -> Result<(), TokenError> {
        // The integration's scopes, to check the new tokens against; without them (the
        // source failing) the tokens are still saved, and checked when next read.
        if let Err(error) = self.integrations.load(&key.installation).await {
            tracing::warn!(installation = key.installation.as_str(), error = %error, "saving tokens without the installation's integrations");
        }
        let slot = self.slot(key);
        let _busy = slot.hold().await;
        let record = TokenRecord::active(tokens);
        for _ in 0..MAX_CONFLICTS {
            let expected = self.store.load(key).await?.map(|v| v.version);
            match self.store.save(key, &record, expected).await {
                Ok(version) => {
                    self.remember_as(key, &slot, Versioned { record, version }, Obtained::Granted);
                    // A new grant: earlier refresh failures are not its.
                    slot.recovered();
                    // Told under the key's lock, so no revocation's event can come between.
                    self.emit(|| TokenEvent::Authorized { key: key.clone() });
                    self.tell_missing_scopes(key, &slot).await;
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict {
            integration: key.integration.to_string(),
        }
        .into())
    }

    /// Deletes the tokens of `key`; true if there were any.
    pub(crate) async fn forget(&self, key: &TokenKey) -> Result<bool, TokenError> {
        Ok(self.revoke(key).await? != Revocation::NothingStored)
    }

    /// Revokes `key`'s tokens at the provider when its integration has a revocation
    /// endpoint, then deletes them here whatever the provider said: a provider that is down
    /// never keeps tokens an app was asked to forget. Under the key's locks, this process's
    /// and the store's, so no refresh anywhere replaces the tokens while they are revoked;
    /// tokens obtained but not yet saved are revoked too. A new authorization stored by
    /// another process meanwhile is kept.
    pub(crate) async fn revoke(&self, key: &TokenKey) -> Result<Revocation, TokenError> {
        let slot = self.slot(key);
        let _busy = slot.hold().await;
        let _refresh = self.store.lock_refresh(key, self.policy.lock_wait).await?;
        let unsaved = self.with_tokens(&slot, |c| c.get().and_then(|c| c.unsaved().cloned()));
        let stored = self.store.load(key).await?;
        let mut tokens: Vec<&TokenSet> = stored.iter().map(|s| &s.record.tokens).collect();
        tokens.extend(unsaved.as_ref().map(|unsaved| &unsaved.record.tokens));
        let integration = match tokens.is_empty() {
            true => None,
            false => {
                self.integrations.load(&key.installation).await?;
                self.integrations
                    .get(&key.installation, key.integration.as_ref())
            }
        };
        let revocation = match (tokens.is_empty(), integration) {
            (true, _) => Revocation::NothingStored,
            (false, Some(integration)) => match &integration.revocation_url {
                Some(url) => {
                    revocation::revoke(&self.http, &integration, url, &tokens, self.policy.timeout)
                        .await
                }
                None => Revocation::NotSupported,
            },
            (false, None) => Revocation::NotSupported,
        };
        if let Revocation::Failed { reason } = &revocation {
            tracing::warn!(
                installation = key.installation.as_str(), integration = %key.integration,
                reason = %reason,
                "revocation at the provider failed; the tokens are deleted here anyway"
            );
        }
        self.with_tokens(&slot, CachedTokens::clear);
        slot.recovered();
        let now = self.store.load(key).await?;
        if now.as_ref().map(|v| v.version) == stored.as_ref().map(|v| v.version) {
            self.store.delete(key).await?;
        }
        if !tokens.is_empty() {
            self.emit(|| TokenEvent::Revoked {
                key: key.clone(),
                revocation: revocation.clone(),
            });
        }
        Ok(revocation)
    }
}
