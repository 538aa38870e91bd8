//! [`TokenManager`]: the tokens of every key, from a [`TokenStore`], and its [`TokenSource`]
//! face, which the requests call.

use std::sync::Arc;
use std::time::Duration;

use super::slot::{Slot, fresh_as};
use super::slots::{ShardedSlots, SlotLimits};
use crate::events::{EventSender, TokenEvent};
use crate::oauth::pending::PendingAuthorizations;
use crate::oauth::source::Integrations;
use crate::store::TokenStore;
use crate::tokens::{
    AccessToken, KeyRef, ReadyToken, ReauthorizationReason, Subject, TokenError, TokenFuture,
    TokenKey, TokenSource,
};

/// When to refresh, and how long to wait for others.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshPolicy {
    /// Refresh this long before the access token expires…
    pub(crate) margin: Duration,
    /// …plus a random part of this, so replicas do not all refresh at the same moment.
    pub(crate) jitter: Duration,
    /// The longest wait for another process's refresh.
    pub(crate) lock_wait: Duration,
    /// The timeout of one token request.
    pub(crate) timeout: Duration,
    /// The longest `Retry-After` honoured.
    pub(crate) max_retry_wait: Duration,
    /// How long a started authorization may take.
    pub(crate) authorization_ttl: Duration,
    /// After a failed refresh, how long calls take its answer before anyone asks the token
    /// endpoint again, so a provider that is down is not hammered by every waiting call.
    pub(crate) backoff: Duration,
    /// The longest a call waits for a token as a whole: locks, token requests and save.
    pub(crate) token_wait: Duration,
    /// How many users' and named installations' keys are kept in memory, and how long.
    pub(crate) slot_limits: SlotLimits,
}

/// The tokens of every key: cached per key in a slot, read from and saved to the store,
/// refreshed when due (see the `refresh` module).
pub(crate) struct TokenManager {
    pub(crate) http: reqwest::Client,
    pub(super) store: Arc<dyn TokenStore>,
    pub(crate) integrations: Integrations,
    pub(crate) policy: RefreshPolicy,
    /// The default installation's token of each integration: found without hashing or
    /// locking, as every call of an `account` integration's template asks for one.
    installation_slots: Vec<(String, Arc<Slot>)>,
    /// Users' tokens (`agent` integrations), named installations' tokens, and keys of
    /// integrations not configured; idle ones let go.
    pub(super) slots: Arc<ShardedSlots>,
    /// Authorizations started and not finished (see `handshake`).
    pub(crate) pending: PendingAuthorizations,
    /// Where lifecycle events go, if the app subscribed.
    pub(crate) events: Option<EventSender>,
}

impl TokenManager {
    pub(crate) fn new(
        http: reqwest::Client,
        store: Arc<dyn TokenStore>,
        integrations: Integrations,
        policy: RefreshPolicy,
        events: Option<EventSender>,
    ) -> Self {
        let installation_slots = integrations
            .fixed()
            .keys()
            .map(|name| {
                let key = TokenKey::installation(name.clone());
                (name.clone(), Arc::new(Slot::with_own_tokens(key)))
            })
            .collect();
        TokenManager {
            http,
            store,
            integrations,
            policy,
            installation_slots,
            slots: Arc::new(ShardedSlots::new(policy.slot_limits)),
            pending: PendingAuthorizations::default(),
            events,
        }
    }

    /// Tells the app's subscriber, if any; never waits.
    pub(crate) fn emit(&self, event: impl FnOnce() -> TokenEvent) {
        if let Some(events) = &self.events {
            events.send(event());
        }
    }

    /// The event of a key whose user must authorize again, with the URL to send them to
    /// for an `agent` integration.
    pub(crate) async fn emit_reauthorization(&self, key: &TokenKey, reason: ReauthorizationReason) {
        if self.events.is_none() {
            return;
        }
        let authorize_url = match &key.subject {
            Subject::User(_) => self.authorize_url_for(key).await,
            Subject::Installation => None,
        };
        self.emit(|| TokenEvent::ReauthorizationRequired {
            authorize_url,
            key: key.clone(),
            reason,
        });
    }

    /// Tells the app, once per stored version, that `key`'s tokens lack scopes the
    /// integration now asks for (calls fail with the same reason until it is reauthorized).
    pub(super) async fn tell_missing_scopes(&self, key: &TokenKey, slot: &Slot) {
        if self.events.is_none() {
            return;
        }
        if let Some(missing) = self.with_tokens(slot, |cached| slot.missing_scopes_to_tell(cached))
        {
            self.emit_reauthorization(key, ReauthorizationReason::MissingScopes(missing))
                .await;
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    fn installation_slot(&self, key: KeyRef<'_>) -> Option<&Arc<Slot>> {
        if *key.subject != Subject::Installation || !key.installation.is_default() {
            return None;
        }
        self.installation_slots
            .iter()
            .find_map(|(name, slot)| (*name == key.integration).then_some(slot))
    }

    /// The slot of `key`, made the first time the key is seen.
    pub(super) fn slot(&self, key: &TokenKey) -> Arc<Slot> {
        if let Some(slot) = self.installation_slot(key.as_ref()) {
            return slot.clone();
        }
        self.slots.get_or_make(key)
    }
}

impl TokenManager {
    /// [`TokenSource::ready_token`] for a request that sends the token in the usual `Bearer`
    /// header alone: that header's value, shared with the cache (the token itself is not
    /// counted once more); the token, when it cannot be a header value (the caller says why
    /// it cannot be sent).
    pub(crate) fn ready_bearer(&self, key: KeyRef<'_>) -> Option<ReadyToken> {
        self.ready_as(
            key,
            |token| match token.bearer() {
                Some(value) => ReadyToken::Bearer(value),
                None => ReadyToken::Token(token.clone()),
            },
            |error| ReadyToken::Failed(Box::new(error)),
        )
    }

    /// The cached token of `key` if it can be used as it is, taken as `take` makes it, or
    /// why it cannot be, as `failed` makes it.
    fn ready_as<T>(
        &self,
        key: KeyRef<'_>,
        take: impl FnOnce(&AccessToken) -> T,
        failed: impl FnOnce(TokenError) -> T,
    ) -> Option<T> {
        match self.installation_slot(key) {
            Some(slot) => {
                let now = super::slots::coarse_wall_millis();
                self.with_tokens(slot, |cached| {
                    fresh_as(&slot.key, cached, now, take, failed)
                })
            }
            None => {
                // Only read: a key never seen has nothing cached, and `access_token` makes
                // its slot.
                self.slots
                    .read(key, |slot, cached, now| {
                        fresh_as(&slot.key, cached, now, take, failed)
                    })
                    .flatten()
            }
        }
    }
}

impl TokenSource for TokenManager {
    fn access_token<'a>(&'a self, key: &'a TokenKey) -> TokenFuture<'a> {
        Box::pin(self.access_token(key))
    }

    fn ready_token(&self, key: &TokenKey) -> Option<Result<AccessToken, TokenError>> {
        self.ready_as(key.as_ref(), |token| Ok(token.clone()), Err)
    }

    fn can_renew(&self) -> bool {
        true
    }

    fn rejected<'a>(&'a self, key: &'a TokenKey, rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(self.rejected(key, rejected))
    }
}
